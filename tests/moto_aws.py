"""moto's server on 127.0.0.1 for the tests, with small stand-ins where moto has no API.

Requests travel over real HTTP and are signed by botocore as for AWS. Two stand-ins sit in front
of moto as WSGI middleware, each for something moto does not do:
* Model Monitor (ListMonitoringSchedules, DescribeMonitoringSchedule, ListMonitoringExecutions,
  and DescribeProcessingJob for the monitoring jobs): moto answers 500 "not implemented".
* GetMetricData percentiles (pNN): moto computes none (its server fails on them). The stand-in
  computes them from the datapoints moto stored, per period bucket, as CloudWatch would.
* GetMetricData pages: AWS splits answers over 100,800 datapoints with NextToken; moto never
  does. With `page_datapoints` set, the stand-in splits moto's answers the way AWS would.
* Inference Recommender (ListInferenceRecommendationsJobs, DescribeInferenceRecommendationsJob,
  ListInferenceRecommendationsJobSteps), Compute Optimizer (GetIdleRecommendations) and Cost
  Optimization Hub (ListEnrollmentStatuses, ListRecommendations): moto has none of them. By
  default the account is not opted in to either advisor, as most accounts are.
* DescribeEndpoint's LastDeploymentConfig: moto has no UpdateEndpoint, so no endpoint ever has
  one; the stand-in adds the configurations a test sets.
* GetMetricData StatusCodes: moto answers every query `Complete`. Metrics named in `refused`
  ("Namespace:MetricName" -> "Forbidden" | "InternalError") come back with that StatusCode, a
  Messages entry and no datapoints, as CloudWatch answers a query it will not serve.
* Inference components (ListInferenceComponents with its filters and pages,
  DescribeInferenceComponent): moto has none. Their Application Auto Scaling targets and
  policies (dimension sagemaker:inference-component:DesiredCopyCount, which moto refuses) are
  added to moto's DescribeScalableTargets / DescribeScalingPolicies answers.
* IAM Identity Center (sso GetRoleCredentials, sso-oidc CreateToken): moto has neither. The
  stand-in hands out role credentials for a bearer token it issued, and refreshes tokens.
* CloudWatch cross-account observability (oam ListSinks / ListAttachedLinks, GetMetricData's
  AccountId): `tests.fake_servers.OamStandIn`.
Every request is logged (operation and service) so tests can see what left the process.
"""

from __future__ import annotations

import io
import json
import re
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from tests.fake_servers import OamStandIn

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass
class MonitorStandIn:
    """Model Monitor state the stand-in serves, in the API's own shapes."""

    schedules: list[dict[str, Any]] = field(default_factory=list)
    executions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    processing_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_schedule(self, name: str, endpoint: str, monitoring_type: str = "DataQuality",
                     executions: list[dict[str, Any]] | None = None) -> None:
        self.schedules.append({
            "MonitoringScheduleName": name,
            "MonitoringScheduleArn": f"arn:aws:sagemaker:us-east-1:123456789012:"
                                     f"monitoring-schedule/{name}",
            "CreationTime": 1_700_000_000.0,
            "LastModifiedTime": 1_700_000_000.0,
            "MonitoringScheduleStatus": "Scheduled",
            "EndpointName": endpoint,
            "MonitoringType": monitoring_type,
        })
        self.executions[name] = executions or []

    def answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if operation == "ListMonitoringSchedules":
            found = [s for s in self.schedules
                     if "EndpointName" not in params or s["EndpointName"] == params["EndpointName"]]
            return {"MonitoringScheduleSummaries": found}
        if operation == "DescribeMonitoringSchedule":
            name = params["MonitoringScheduleName"]
            summary = next(s for s in self.schedules if s["MonitoringScheduleName"] == name)
            return {**summary, "MonitoringScheduleConfig": {
                "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                "MonitoringJobDefinitionName": f"{name}-definition",
                "MonitoringType": summary["MonitoringType"]}}
        if operation == "ListMonitoringExecutions":
            runs = self.executions.get(params.get("MonitoringScheduleName", ""), [])
            runs = sorted(runs, key=lambda r: r["ScheduledTime"], reverse=True)
            return {"MonitoringExecutionSummaries": runs[: params.get("MaxResults", 10)]}
        if operation == "DescribeProcessingJob":
            return self.processing_jobs.get(params["ProcessingJobName"])
        return None


@dataclass
class SecondOpinionStandIn:
    """Inference Recommender jobs, AWS's advisors and deployment configs, in the APIs' shapes."""

    jobs: list[dict[str, Any]] = field(default_factory=list)  # DescribeInferenceRecommendationsJob
    steps: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    compute_optimizer: list[dict[str, Any]] | None = None  # None: OptInRequiredException
    cost_hub: list[dict[str, Any]] | None = None  # None: enrollment Inactive
    deployment_configs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def clear(self) -> None:
        self.jobs.clear()
        self.steps.clear()
        self.compute_optimizer = None
        self.cost_hub = None
        self.deployment_configs.clear()

    def answer(self, service: str, operation: str, params: dict[str, Any]
               ) -> tuple[int, dict[str, Any]] | None:
        summary_keys = ("JobName", "JobDescription", "JobType", "JobArn", "Status",
                        "CreationTime", "CompletionTime", "RoleArn", "LastModifiedTime",
                        "FailureReason")
        if operation == "ListInferenceRecommendationsJobs":
            summaries = []
            for job in self.jobs:
                summary = {k: job[k] for k in summary_keys if k in job}
                inputs = job.get("InputConfig", {})
                summary.update({k: inputs[k] for k in ("ModelName", "ModelPackageVersionArn")
                                if k in inputs})
                summary.setdefault("JobDescription", "")
                summaries.append(summary)
            return 200, {"InferenceRecommendationsJobs": summaries}
        if operation == "DescribeInferenceRecommendationsJob":
            job = next((j for j in self.jobs if j["JobName"] == params["JobName"]), None)
            if job is None:
                return 400, {"__type": "ResourceNotFound", "message": "no such job"}
            return 200, job
        if operation == "ListInferenceRecommendationsJobSteps":
            return 200, {"Steps": self.steps.get(params["JobName"], [])}
        if operation == "GetIdleRecommendations":
            if self.compute_optimizer is None:
                return 400, {"__type": "OptInRequiredException",
                             "message": "The account is not opted in to Compute Optimizer."}
            return 200, {"idleRecommendations": self.compute_optimizer, "errors": []}
        if operation == "ListEnrollmentStatuses":
            status = "Inactive" if self.cost_hub is None else "Active"
            return 200, {"items": [{"accountId": "123456789012", "status": status}]}
        if operation == "ListRecommendations":
            return 200, {"items": self.cost_hub or []}
        return None
COPY_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


@dataclass
class ComponentStandIn:
    """Inference components the stand-in serves, in the API's own shapes, and what was asked."""

    components: list[dict[str, Any]] = field(default_factory=list)
    scalable_targets: list[dict[str, Any]] = field(default_factory=list)
    scaling_policies: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def clear(self) -> None:
        for items in (self.components, self.scalable_targets, self.scaling_policies,
                      self.requests):
            items.clear()

    def add(self, name: str, endpoint: str, *, variant: str = "AllTraffic",
            model: str | None = None, accelerators: int | None = None, cpu_cores: float = 1.0,
            memory_mb: int = 1024, copies: int = 1, status: str = "InService",
            created: float = 1_700_000_000.0) -> dict[str, Any]:
        compute: dict[str, Any] = {"NumberOfCpuCoresRequired": cpu_cores,
                                   "MinMemoryRequiredInMb": memory_mb}
        if accelerators is not None:
            compute["NumberOfAcceleratorDevicesRequired"] = float(accelerators)
        component = {
            "InferenceComponentName": name,
            "InferenceComponentArn": f"arn:aws:sagemaker:us-east-1:123456789012:"
                                     f"inference-component/{name}",
            "EndpointName": endpoint,
            "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{endpoint}",
            "VariantName": variant,
            "InferenceComponentStatus": status,
            "CreationTime": created,
            "LastModifiedTime": created,
            "Specification": {"ModelName": model or f"{name}-model",
                              "ComputeResourceRequirements": compute},
            "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": copies},
        }
        self.components.append(component)
        return component

    def scale(self, name: str, low: int, high: int, policy: bool = True) -> None:
        """A scalable target on the component's copies, with a target-tracking policy or not."""
        resource = f"inference-component/{name}"
        self.scalable_targets.append({
            "ServiceNamespace": "sagemaker", "ResourceId": resource,
            "ScalableDimension": COPY_DIMENSION, "MinCapacity": low, "MaxCapacity": high,
            "RoleARN": "arn:aws:iam::123456789012:role/autoscaling",
            "CreationTime": 1_700_000_000.0})
        if policy:
            self.scaling_policies.append({
                "PolicyARN": f"arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x:"
                             f"resource/sagemaker/{resource}:policyName/copies",
                "PolicyName": "copies", "ServiceNamespace": "sagemaker", "ResourceId": resource,
                "ScalableDimension": COPY_DIMENSION, "PolicyType": "TargetTrackingScaling",
                "CreationTime": 1_700_000_000.0,
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": 20.0, "PredefinedMetricSpecification": {
                        "PredefinedMetricType":
                            "SageMakerInferenceComponentInvocationsPerCopy"}}})

    def answer(self, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.requests.append((operation, params))
        if operation == "DescribeInferenceComponent":
            name = params.get("InferenceComponentName")
            found = next((c for c in self.components if c["InferenceComponentName"] == name),
                         None)
            if found is None:
                return 400, {"__type": "ValidationException",
                             "message": f'Could not find inference component "{name}".'}
            return 200, found
        page = params.get("MaxResults", 10)
        if not isinstance(page, int) or not 1 <= page <= 100:
            return 400, {"__type": "ValidationException",
                         "message": f"Value '{page}' at 'maxResults' failed to satisfy "
                                    "constraint: Member must have value less than or equal to "
                                    "100"}
        filters = {"EndpointNameEquals": "EndpointName", "VariantNameEquals": "VariantName",
                   "StatusEquals": "InferenceComponentStatus"}
        found = [c for c in self.components
                 if all(c[member] == params[name] for name, member in filters.items()
                        if name in params)
                 and params.get("NameContains", "") in c["InferenceComponentName"]]
        found.sort(key=lambda c: (c["CreationTime"], c["InferenceComponentName"]),
                   reverse=params.get("SortOrder", "Descending") == "Descending")
        start = int(params.get("NextToken") or 0)
        summaries = [{k: v for k, v in c.items() if k not in ("Specification", "RuntimeConfig")}
                     for c in found[start:start + page]]
        body: dict[str, Any] = {"InferenceComponents": summaries}
        if start + page < len(found):
            body["NextToken"] = str(start + page)
        return 200, body


@dataclass
class SsoStandIn:
    """The IAM Identity Center portal and OIDC endpoints, for the tokens it knows."""

    tokens: set[str] = field(default_factory=lambda: {"sso-access-token"})
    refresh_tokens: set[str] = field(default_factory=lambda: {"sso-refresh-token"})
    issued: int = 0

    def answer(self, method: str, path: str, environ: dict[str, Any]) -> tuple[int, Any] | None:
        if method == "GET" and path == "/federation/credentials":
            token = environ.get("HTTP_X_AMZ_SSO_BEARER_TOKEN", "")
            if token not in self.tokens:
                return 401, {"__type": "UnauthorizedException", "message": "bad token"}
            return 200, {"roleCredentials": {
                "accessKeyId": "ASIASSOROLEKEY000000", "secretAccessKey": "sso-role-secret",
                "sessionToken": "sso-role-session", "expiration": 4_102_444_800_000}}
        if method == "POST" and path == "/token":
            body = json.loads(_read_body(environ) or b"{}")
            if body.get("refreshToken") not in self.refresh_tokens:
                return 400, {"error": "invalid_grant"}
            self.issued += 1
            token = f"sso-access-token-{self.issued}"
            self.tokens.add(token)
            return 200, {"accessToken": token, "tokenType": "Bearer", "expiresIn": 28800,
                         "refreshToken": "sso-refresh-token"}
        return None


class StandInMiddleware:
    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.sso = SsoStandIn()
        self.monitor = MonitorStandIn()
        self.opinions = SecondOpinionStandIn()
        self.components = ComponentStandIn()
        self.oam = OamStandIn()
        self.denied: set[str] = set()  # "sagemaker:ListMonitoringSchedules" -> AccessDenied
        # Role ARNs whose trust policy refuses the caller: moto assumes any role ARN at all
        # (it evaluates no trust policy), AWS answers these AccessDenied.
        self.unassumable: set[str] = set()
        self.page_datapoints: int | None = None
        self.refused: dict[str, str] = {}  # "Namespace:MetricName" -> StatusCode
        self.log: list[str] = []
        self._pages: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        service, _, operation = target.rpartition(".")
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if not target and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
            # The query protocol (STS): the action is a form field.
            form = urllib.parse.parse_qs(_read_body(environ).decode())
            operation, service = form.get("Action", ["?"])[0], "query"
            role = form.get("RoleArn", [""])[0]
            if operation == "AssumeRole" and role in self.unassumable:
                with self._lock:
                    self.log.append(operation)
                return self._xml_error(start_response, 403, "AccessDenied",
                                       f"User is not authorized to perform: sts:AssumeRole on "
                                       f"resource: {role}")
        elif not target:
            # REST services (S3): method and path say what it is.
            operation = f"{method} {path}"
            service = "rest"
        with self._lock:
            self.log.append(operation)
        if service == "rest" and path in ("/ListSinks", "/ListAttachedLinks") and \
                "/oam/aws4_request" in environ.get("HTTP_AUTHORIZATION", ""):
            params = json.loads(_read_body(environ) or b"{}")
            status, answer = self.oam.answer(path[1:], _caller(environ), _scope(environ),
                                             params)
            if status != 200:
                answer = {**answer, "__type": "AccessDeniedException" if status == 403
                          else "ResourceNotFoundException"}
            return self._json(start_response, status, answer, "application/json")
        sso = self.sso.answer(method, path, environ)
        if sso is not None:
            status, body = sso
            return self._json(start_response, status, body, "application/json")
        short = {"SageMaker": "sagemaker", "GraniteServiceVersion20100801": "cloudwatch",
                 "AnyScaleFrontendService": "application-autoscaling",
                 "ComputeOptimizerService": "compute-optimizer",
                 "CostOptimizationHubService": "cost-optimization-hub",
                 "ResourceGroupsTaggingAPI_20170126": "tag"}.get(service, service)
        if f"{short}:{operation}" in self.denied:
            return self._json(start_response, 400, {
                "__type": "AccessDeniedException",
                "message": f"User is not authorized to perform: {short}:{operation}"})
        if service == "SageMaker" and operation in (
                "ListMonitoringSchedules", "DescribeMonitoringSchedule",
                "ListMonitoringExecutions", "DescribeProcessingJob"):
            params = json.loads(_read_body(environ) or b"{}")
            answer = self.monitor.answer(operation, params)
            if answer is not None:
                return self._json(start_response, 200, answer)
            if operation != "DescribeProcessingJob":
                return self._json(start_response, 400, {"__type": "ValidationException",
                                                        "message": "not found"})
        if service == "SageMaker" and operation in ("ListInferenceComponents",
                                                    "DescribeInferenceComponent"):
            params = json.loads(_read_body(environ) or b"{}")
            status, answer = self.components.answer(operation, params)
            return self._json(start_response, status, answer)
        if short == "application-autoscaling" and operation in ("DescribeScalableTargets",
                                                                "DescribeScalingPolicies"):
            return self._with_component_scaling(environ, start_response, operation)
        if operation == "GetMetricData":
            return self._metric_data(environ, start_response)
        if short in ("sagemaker", "compute-optimizer", "cost-optimization-hub"):
            params = json.loads(_read_body(environ) or b"{}")
            answered = self.opinions.answer(short, operation, params)
            if answered is not None:
                json_version = "1.1" if short == "sagemaker" else "1.0"
                return self._json(start_response, answered[0], answered[1],
                                  f"application/x-amz-json-{json_version}")
            if operation == "DescribeEndpoint" and \
                    params.get("EndpointName") in self.opinions.deployment_configs:
                status, _, raw = _call(self.app, environ, _read_body(environ))
                body = json.loads(raw)
                body["LastDeploymentConfig"] = self.opinions.deployment_configs[
                    params["EndpointName"]]
                return self._json(start_response, int(status.split()[0]), body)
        return self.app(environ, start_response)

    @staticmethod
    def _xml_error(start_response: StartResponse, status: int, code: str,
                   message: str) -> Iterable[bytes]:
        """An error of the query protocol (STS), as AWS words it."""
        body = (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
                f"<Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>stand-in</RequestId></ErrorResponse>").encode()
        start_response(f"{status} Forbidden", [("Content-Type", "text/xml"),
                                               ("Content-Length", str(len(body)))])
        return [body]

    def _with_component_scaling(self, environ: dict[str, Any], start_response: StartResponse,
                                operation: str) -> Iterable[bytes]:
        """moto's answer plus the components' targets or policies (on its last page)."""
        body = _read_body(environ)
        status, headers, raw = _call(self.app, environ, body)
        if not status.startswith("200"):
            start_response(status, headers)
            return [raw]
        answer = json.loads(raw)
        key, extra = (("ScalableTargets", self.components.scalable_targets)
                      if operation == "DescribeScalableTargets"
                      else ("ScalingPolicies", self.components.scaling_policies))
        if not answer.get("NextToken"):
            answer[key] = [*answer.get(key, []), *extra]
        return self._json(start_response, 200, answer)

    def _metric_data(self, environ: dict[str, Any],
                     start_response: StartResponse) -> Iterable[bytes]:
        body = _read_body(environ)
        params = json.loads(body)
        token = params.get("NextToken")
        if token:
            results = self._pages.pop(token)
        else:
            queries = params["MetricDataQueries"]
            percentile = [q for q in queries if _is_percentile(q)]
            plain = [q for q in queries if not _is_percentile(q)]
            by_id: dict[str, dict[str, Any]] = {}
            caller = _caller(environ)
            self.oam.metric_calls.append((caller, [q.get("AccountId") for q in queries]))
            by_account: dict[str | None, list[dict[str, Any]]] = {}
            for query in plain:
                by_account.setdefault(query.get("AccountId"), []).append(query)
            for account, group in by_account.items():
                if not self.oam.readable(caller, account):
                    by_id.update({q["Id"]: {
                        "Id": q["Id"], "Label": "", "Timestamps": [], "Values": [],
                        "StatusCode": "Forbidden",
                        "Messages": [{"Code": "Forbidden", "Value": "not a linked account"}]}
                        for q in group})
                    continue
                # moto keeps each account's metrics apart: read the linked one's.
                asked = environ if account in (None, caller) else {
                    **environ, "HTTP_X_MOTO_ACCOUNT_ID": account}
                stripped = [{k: v for k, v in q.items() if k != "AccountId"} for q in group]
                forwarded = json.dumps({**params, "MetricDataQueries": stripped}).encode()
                status, headers, raw = _call(self.app, asked, forwarded)
                if not status.startswith("200"):
                    start_response(status, headers)
                    return [raw]
                by_id.update({r["Id"]: r for r in json.loads(raw)["MetricDataResults"]})
            for query in percentile:
                by_id[query["Id"]] = _percentile_result(query, params)
            for query in queries:
                metric = query.get("MetricStat", {}).get("Metric", {})
                status = self.refused.get(f"{metric.get('Namespace')}:{metric.get('MetricName')}")
                if status is not None:
                    by_id[query["Id"]] = {
                        "Id": query["Id"], "Label": metric.get("MetricName", ""),
                        "Timestamps": [], "Values": [], "StatusCode": status,
                        "Messages": [{"Code": status,
                                      "Value": f"{status} reading {metric.get('MetricName')}"}]}
            results = [by_id[q["Id"]] for q in queries if q["Id"] in by_id]
        if not self.page_datapoints:
            return self._json(start_response, 200, {"MetricDataResults": results},
                              "application/x-amz-json-1.0")
        page: list[dict[str, Any]] = []
        rest: list[dict[str, Any]] = []
        budget = self.page_datapoints or 0
        for result in results:
            values, stamps = result.get("Values", []), result.get("Timestamps", [])
            if budget >= len(values):
                page.append(result)
                budget -= len(values)
            else:
                page.append({**result, "Values": values[:budget], "Timestamps": stamps[:budget],
                             "StatusCode": "PartialData"})
                rest.append({**result, "Values": values[budget:], "Timestamps": stamps[budget:]})
                budget = 0
        answer: dict[str, Any] = {"MetricDataResults": page, "Messages": []}
        if rest:
            next_token = uuid.uuid4().hex
            self._pages[next_token] = rest
            answer["NextToken"] = next_token
        return self._json(start_response, 200, answer, "application/x-amz-json-1.0")

    @staticmethod
    def _json(start_response: StartResponse, status: int, body: dict[str, Any],
              content_type: str = "application/x-amz-json-1.1") -> Iterable[bytes]:
        raw = json.dumps(body).encode()
        reason = "OK" if status == 200 else "Bad Request"
        start_response(f"{status} {reason}", [("Content-Type", content_type),
                                              ("Content-Length", str(len(raw)))])
        return [raw]


def _is_percentile(query: dict[str, Any]) -> bool:
    stat = str(query.get("MetricStat", {}).get("Stat", ""))
    return stat.startswith("p") and stat[1:].replace(".", "", 1).isdigit()


def _percentile_result(query: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """pNN over each period bucket, from the raw datapoints moto keeps (newest bucket first)."""
    from moto.cloudwatch.models import MetricDatum, cloudwatch_backends

    stat = query["MetricStat"]
    metric = stat["Metric"]
    period = int(stat["Period"])
    wanted = {(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])}
    start, end = float(params["StartTime"]), float(params["EndTime"])
    buckets: dict[int, list[float]] = {}
    for backend in cloudwatch_backends.values():
        for region_backend in backend.values():
            for datum in region_backend.get_all_metrics():
                if not isinstance(datum, MetricDatum):
                    continue
                if datum.namespace != metric["Namespace"] or datum.name != metric["MetricName"]:
                    continue
                if {(d.name, d.value) for d in datum.dimensions} != wanted:
                    continue  # CloudWatch matches the exact dimension set
                at = datum.timestamp.timestamp()
                if start <= at < end:
                    buckets.setdefault(int((at - start) // period), []).append(float(datum.value))
    quantile = float(stat["Stat"][1:]) / 100.0
    ordered = sorted(buckets, reverse=True)
    return {
        "Id": query["Id"], "Label": metric["MetricName"], "StatusCode": "Complete",
        "Timestamps": [start + b * period for b in ordered],
        "Values": [float(np.quantile(buckets[b], quantile)) for b in ordered],
    }


def _caller(environ: dict[str, Any]) -> str:
    """The account moto files the request under (its access key's)."""
    from moto.iam.models import get_account_id_from

    match = re.search(r"Credential=([A-Z0-9]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return str(get_account_id_from(match.group(1) if match else "AKIAEXAMPLE"))


def _scope(environ: dict[str, Any]) -> str:
    match = re.search(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/", environ.get("HTTP_AUTHORIZATION",
                                                                           ""))
    return match.group(1) if match else "us-east-1"


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)  # let moto read it again
    return body


def _call(app: WsgiApp, environ: dict[str, Any], body: bytes) -> tuple[str, list[Any], bytes]:
    captured: dict[str, Any] = {}

    def start(status: str, headers: list[Any], exc_info: Any = None) -> None:
        captured["status"], captured["headers"] = status, headers

    environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    raw = b"".join(app(environ, start))
    return captured["status"], captured["headers"], raw


class _RequestHandler(MotoRequestHandler):  # type: ignore[misc]
    """Werkzeug drops headers with an underscore; the SSO portal's bearer token has one."""

    def make_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().make_environ()
        token = self.headers.get("x-amz-sso_bearer_token")
        if token is not None:
            environ["HTTP_X_AMZ_SSO_BEARER_TOKEN"] = token
        return environ


class MotoAws:
    """moto's server in a thread on an ephemeral loopback port, with the stand-ins."""

    def __init__(self) -> None:
        self.middleware = StandInMiddleware(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self.middleware, threaded=True, request_handler=_RequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
