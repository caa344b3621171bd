"""A simulated AWS account served to sagetop's real aiobotocore clients.

`SimulatedAccount.install(session)` registers one async handler on the session's `before-send`
event: botocore builds, signs and serialises every request as for AWS, and the handler answers it
with a wire-format HTTP response (JSON for SageMaker, CloudWatch and Application Auto Scaling,
XML for STS, raw bytes for S3) that botocore parses as usual. Collectors, paginators, retries and
the read-only guard therefore run exactly as against AWS.

AWS's limits are kept: 500 queries and 100,800 datapoints per GetMetricData with NextToken pages,
newest-first datapoints by default, 100 endpoints per ListEndpoints page, 50 items per Application
Auto Scaling page, optional per-request latency and a GetMetricData transactions-per-second quota
that answers `Throttling` when exceeded. `FaultPlan` injects the failures ops engineers meet.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.exceptions import EndpointConnectionError

from ground.pricing import HOURS_PER_MONTH, PriceBook
from simulator.faults import Fault, FaultPlan
from simulator.fleet import (
    ACCOUNT_ID,
    SimComponent,
    SimDeployment,
    SimEndpoint,
    SimRecommenderJob,
    SimVariant,
    scaled_fleet,
)
from simulator.metrics import MetricModel, MetricTarget
from simulator.oam import Sink, list_attached_links, list_sinks

MAX_QUERIES = 500
# What a refused query's Messages say (a MetricDataResult's StatusCode and MessageData).
_STATUS_MESSAGES = {
    "Forbidden": "Insufficient permissions to read this metric's data.",
    "InternalError": "An internal error occurred while retrieving this metric's data.",
}
MAX_DATAPOINTS = 100_800
LIST_ENDPOINTS_PAGE = 100
AUTOSCALING_PAGE = 50
LIST_METRICS_PAGE = 500
LIST_INFERENCE_COMPONENTS_PAGE = 100  # MaxResults 1-100, default 10
SERVING = ("InService", "Updating", "SystemUpdating")
# Access key, secret and session token the simulated account's clients sign with.
SIMULATED_CREDENTIALS = ("ASIASIMULATEDKEY0000", "simulated-secret-key",
                         "simulated-session-token")

Clock = Callable[[], dt.datetime]
Answer = tuple[int, Any, dict[str, str]]  # status, body (dict -> JSON, bytes, str), headers


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Content:
    """The `content` stream aiobotocore reads streaming bodies (S3 objects) from."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    async def read(self, amount: int = -1) -> bytes:
        end = len(self._data) if amount is None or amount < 0 else self._offset + amount
        chunk = self._data[self._offset:end]
        self._offset += len(chunk)
        return chunk

    def at_eof(self) -> bool:
        return self._offset >= len(self._data)


class _RawResponse:
    """Stands where aiohttp's response would: `read()` for bodies, `content` for streams."""

    def __init__(self, url: str, data: bytes) -> None:
        self.url = url
        self._data = data
        self.content = _Content(data)

    async def read(self) -> bytes:
        return self._data

    def close(self) -> None:
        return None


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """Tags in AWS's Key/Value list, as ListTags and GetResources both answer them."""
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _token(offset: int, *more: int) -> str:
    text = ":".join(str(n) for n in (offset, *more))
    return base64.urlsafe_b64encode(f"sim:{text}".encode()).decode()


def _untoken(token: str | None) -> list[int] | None:
    if not token:
        return None
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if not text.startswith("sim:"):
            return None
        return [int(part) for part in text[4:].split(":")]
    except (ValueError, UnicodeDecodeError):
        return None


class SimulationError(Exception):
    """An answer the simulated service gives as an AWS error."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class _Job:
    name: str
    instance_type: str
    instance_count: int
    region: str


@dataclass
class SimulatedAccount:
    """A seeded, deterministic account; `endpoints=None` serves the archetypes of each region."""

    endpoints: int | None = None
    seed: int = 7
    regions: tuple[str, ...] = ("us-east-1",)
    clock: Clock = _utc_now
    latency_s: float = 0.0  # added to every request, as a network round trip would
    getmetricdata_tps: float | None = None  # None: no quota; AWS's default quota is 50
    faults: FaultPlan = field(default_factory=FaultPlan)
    # AWS's opt-in advisors: off answers OptInRequiredException / an inactive enrollment.
    compute_optimizer_opted_in: bool = True
    cost_hub_enrolled: bool = True
    # Who STS GetCallerIdentity says this is: each account of a simulated organisation its own.
    account_id: str = ACCOUNT_ID
    # A CloudWatch monitoring account's sink and the source accounts linked to it
    # (`simulator.oam.link_accounts`); None: not a monitoring account.
    sink: Sink | None = None
    requests: Counter[str] = field(default_factory=Counter)
    throttled: int = 0
    busy_seconds: float = 0.0  # CPU spent answering (the benchmark separates it from sagetop's)
    # GetMetricData answered in a worker thread: AWS answers one call while serving others, so a
    # served account (simulator.server) must not hold every describe behind a 500-query answer.
    metrics_in_thread: bool = False

    def __post_init__(self) -> None:
        self.metrics = MetricModel(self.seed)
        self.fleet: dict[tuple[str, str], SimEndpoint] = {}
        for endpoint in scaled_fleet(self.endpoints, self.seed, self.regions, self.clock()):
            self.fleet[(endpoint.region, endpoint.name)] = endpoint
        self._metric_index: dict[str, dict[tuple[str, str, tuple[tuple[str, str], ...]],
                                           MetricTarget]] = {}
        self._names: dict[str, dict[str, SimEndpoint]] = {}
        self._last_look = (time.monotonic(), self.clock().timestamp())
        self._passed = 0.0
        self._tokens = float(self.getmetricdata_tps or 0.0)
        self._tokens_at = self._elapsed()
        self._worker: ThreadPoolExecutor | None = None
        self.training_jobs = [_Job("bert-finetune-2026-11", "ml.p3.2xlarge", 1, r)
                              for r in self.regions] + [
            _Job("llm-distill-nightly", "ml.g5.12xlarge", 2, self.regions[0])]
        self.transform_jobs = [_Job("monthly-churn-batch", "ml.m5.4xlarge", 3, self.regions[0])]
        self.notebooks = [_Job("ds-alice", "ml.t3.medium", 1, self.regions[0]),
                          _Job("ds-bob", "ml.g4dn.xlarge", 1, self.regions[0])]

    # Installing ------------------------------------------------------------------------------

    def install(self, session: Any) -> None:
        """Serve every request of this session's clients; no request leaves the process."""
        session.set_credentials(*SIMULATED_CREDENTIALS)
        emitter = session.get_component("event_emitter")
        emitter.register("before-send", self._on_send, unique_id="sagetop-simulated-account")

    # Changing the account (tests, the demo) -------------------------------------------------

    def endpoint(self, name: str, region: str | None = None) -> SimEndpoint:
        return self.fleet[(region or self.regions[0], name)]

    def create_endpoint(self, endpoint: SimEndpoint) -> None:
        now = self.clock()
        index = max((e.index for e in self.fleet.values()), default=-1) + 1
        created = replace(endpoint, index=index, created=now, last_modified=now)
        self.fleet[(created.region, created.name)] = created
        self._invalidate(created.region)

    def delete_endpoint(self, name: str, region: str | None = None) -> None:
        key = (region or self.regions[0], name)
        del self.fleet[key]
        self._invalidate(key[0])

    def update_endpoint(self, name: str, region: str | None = None, *,
                        status: str | None = None, variants: list[SimVariant] | None = None
                        ) -> SimEndpoint:
        """Change an endpoint as UpdateEndpoint would: new config, new LastModifiedTime."""
        key = (region or self.regions[0], name)
        current = self.fleet[key]
        changes: dict[str, Any] = {"last_modified": self.clock()}
        if status is not None:
            changes["status"] = status
        if variants is not None:
            changes["variants"] = variants
            changes["config_generation"] = current.config_generation + 1
        updated = replace(current, **changes)
        self.fleet[key] = updated
        self._invalidate(key[0])
        return updated

    def _invalidate(self, region: str) -> None:
        self._metric_index.pop(region, None)
        self._names.pop(region, None)

    def _named(self, region: str) -> dict[str, SimEndpoint]:
        """Endpoints of a region by config name and by model name, for the Describe calls."""
        names = self._names.get(region)
        if names is None:
            names = {}
            for e in self._region_fleet(region):
                names[f"config:{e.config_name}"] = e
                for v in e.variants:
                    names[f"model:{e.model_name(v)}"] = e
                for c in e.components:
                    names[f"model:{c.model_name}"] = e
                    names[f"component:{c.name}"] = e
            self._names[region] = names
        return names

    # The wire ------------------------------------------------------------------------------

    async def _on_send(self, request: Any, event_name: str, **_: Any) -> Any:
        from aiobotocore.awsrequest import AioAWSResponse

        service, operation = event_name.split(".")[1:3]
        status, headers, data = await self.respond(service, operation, request)
        return AioAWSResponse(request.url, status, headers, _RawResponse(request.url, data))

    async def respond(self, service: str, operation: str, request: Any
                      ) -> tuple[int, dict[str, str], bytes]:
        """The wire answer (status, headers, body) to one signed request: what the in-process
        hook hands botocore and what `simulator.server` sends over HTTP, so both are one.

        `service` is botocore's hyphenated service id (its event names), `request` anything with
        botocore's `url`, `headers` and `body`. A `network` fault raises EndpointConnectionError.
        """
        self.requests[f"{service}:{operation}"] += 1
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        started = time.perf_counter()
        region = _region_of(request)
        fault = self.faults.take(service, operation)
        body: Any
        try:
            if fault is not None:
                status, body, headers = self._fault(fault, service, operation, request)
            elif (service, operation) == ("cloudwatch", "GetMetricData") and self._throttle():
                self.throttled += 1
                status, body, headers = self._error(service, SimulationError(
                    "Throttling", "Rate exceeded", 400))
            elif self.metrics_in_thread and (service, operation) == (
                    "cloudwatch", "GetMetricData"):
                waited = time.perf_counter()
                (status, body, headers), worked = await asyncio.get_running_loop(
                    ).run_in_executor(self._metrics_worker(), self._timed_answer, service,
                                      operation, region, request)
                # The worker's own CPU time, not the wait (other requests were served in it).
                started += time.perf_counter() - waited - worked
            else:
                status, body, headers = self._answer(service, operation, region, request)
        except SimulationError as error:
            status, body, headers = self._error(service, error)
        if isinstance(body, dict):
            data = json.dumps(body, default=_json_default).encode()
            content_type = ("application/x-amz-json-1.0" if service in (
                "cloudwatch", "compute-optimizer", "cost-optimization-hub")
                else "application/x-amz-json-1.1")
            headers = {"Content-Type": content_type, **headers}
        elif isinstance(body, str):
            data = body.encode()
            headers = {"Content-Type": "text/xml", **headers}
        else:
            data = body
        headers = {"x-amzn-RequestId": f"sim-{sum(self.requests.values())}",
                   "Content-Length": str(len(data)), **headers}
        self.busy_seconds += time.perf_counter() - started
        return status, headers, data

    def _timed_answer(self, service: str, operation: str, region: str, request: Any
                      ) -> tuple[Answer, float]:
        started = time.thread_time()
        answer = self._answer(service, operation, region, request)
        return answer, time.thread_time() - started

    def _metrics_worker(self) -> ThreadPoolExecutor:
        # One thread: the metric model's caches are shared by the calls it answers.
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="sim-getmetricdata")
        return self._worker

    def _elapsed(self) -> float:
        """Seconds passed: real time, plus the simulated clock's jumps (a benchmark that
        simulates an hour in seconds must not meet a quota real minutes would refill)."""
        # Each step counts the larger of the two moves since the last look, so real time still
        # refills the quota while the simulated clock stands ahead of it (a load at a fixed
        # simulated moment, hours after the account was made).
        real, simulated = time.monotonic(), self.clock().timestamp()
        last_real, last_simulated = self._last_look
        self._last_look = (real, simulated)
        self._passed += max(real - last_real, simulated - last_simulated, 0.0)
        return self._passed

    def _throttle(self) -> bool:
        """A token bucket at the GetMetricData quota, as CloudWatch enforces it per account."""
        if not self.getmetricdata_tps:
            return False
        now = self._elapsed()
        rate = self.getmetricdata_tps
        self._tokens = min(rate, self._tokens + (now - self._tokens_at) * rate)
        self._tokens_at = now
        if self._tokens < 1.0:
            return True
        self._tokens -= 1.0
        return False

    def _fault(self, fault: Fault, service: str, operation: str, request: Any) -> Answer:
        if fault.kind == "network":
            raise EndpointConnectionError(endpoint_url=request.url)
        codes = {
            "throttle": ("ThrottlingException" if service != "cloudwatch" else "Throttling",
                         "Rate exceeded"),
            "deny": ("AccessDeniedException" if service != "cloudwatch" else "AccessDenied",
                     f"User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/ops/session is not "
                     f"authorized to perform: {_action(service)}:{operation}"),
            "expired": ("ExpiredTokenException" if service != "cloudwatch" else "ExpiredToken",
                        "The security token included in the request is expired"),
            "unavailable": ("ServiceUnavailable", "Service Unavailable"),
            "error": (fault.code or "InternalFailure", fault.message or "Internal failure"),
        }
        code, message = codes[fault.kind]
        status = fault.status or {"deny": 400, "expired": 400, "unavailable": 503,
                                  "throttle": 400, "error": 500}[fault.kind]
        return self._error(service, SimulationError(code, message, status))

    def _error(self, service: str, error: SimulationError) -> Answer:
        headers: dict[str, str] = {}
        if service in ("s3", "sts"):
            xml = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{error.code}</Code>"
                   f"<Message>{error.message}</Message></Error></ErrorResponse>")
            if service == "s3":
                xml = f"<Error><Code>{error.code}</Code><Message>{error.message}</Message></Error>"
            return error.status, xml, headers
        if service == "cloudwatch":
            # CloudWatch speaks JSON but keeps its Query error codes in this header.
            headers["x-amzn-query-error"] = f"{error.code};Sender"
        return error.status, {"__type": error.code, "message": error.message}, headers

    def _answer(self, service: str, operation: str, region: str, request: Any) -> Answer:
        if service == "s3":
            return self._s3(operation, request)
        if service == "sts":
            return 200, _caller_identity(self.account_id), {}
        params = json.loads(request.body or b"{}") if request.body else {}
        # Application Auto Scaling's service id is "application-auto-scaling".
        prefix = service.replace("auto-scaling", "autoscaling").replace("-", "_")
        handler = getattr(self, f"_{prefix}_{_snake(operation)}", None)
        if handler is None:
            raise SimulationError("UnknownOperationException",
                                  f"{service}:{operation} is not simulated")
        body: dict[str, Any] = handler(region, params)
        return 200, body, {}

    # SageMaker -------------------------------------------------------------------------------

    def _region_fleet(self, region: str) -> list[SimEndpoint]:
        return [e for (r, _), e in self.fleet.items() if r == region]

    def _find(self, region: str, name: str) -> SimEndpoint:
        endpoint = self.fleet.get((region, name))
        if endpoint is None:
            raise SimulationError("ValidationException", f'Could not find endpoint "{name}".')
        return endpoint

    def _sagemaker_list_endpoints(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        page = min(int(params.get("MaxResults", LIST_ENDPOINTS_PAGE)), LIST_ENDPOINTS_PAGE)
        endpoints = self._region_fleet(region)
        if params.get("NameContains"):
            endpoints = [e for e in endpoints if params["NameContains"] in e.name]
        if params.get("StatusEquals"):
            endpoints = [e for e in endpoints if e.status == params["StatusEquals"]]
        by_name = params.get("SortBy") == "Name"
        endpoints.sort(key=lambda e: (e.name if by_name else e.created.timestamp(), e.name),
                       reverse=params.get("SortOrder", "Descending") == "Descending")
        start = (_untoken(params.get("NextToken")) or [0])[0]
        chunk = endpoints[start:start + page]
        body: dict[str, Any] = {"Endpoints": [{
            "EndpointName": e.name, "EndpointArn": e.arn, "CreationTime": e.created,
            "LastModifiedTime": self._last_modified(e), "EndpointStatus": e.status}
            for e in chunk]}
        if start + page < len(endpoints):
            body["NextToken"] = _token(start + page)
        return body

    def _sagemaker_describe_endpoint(self, region: str, params: dict[str, Any]
                                     ) -> dict[str, Any]:
        e = self._find(region, params["EndpointName"])
        now = int(self.clock().timestamp())
        counts = {v.name: self._instances_now(e, v, now) for v in e.variants}
        variants = [_variant_summary(e, v, counts[v.name]) for v in e.variants if not v.shadow]
        shadows = [_variant_summary(e, v, counts[v.name]) for v in e.variants if v.shadow]
        body: dict[str, Any] = {
            "EndpointName": e.name, "EndpointArn": e.arn, "EndpointConfigName": e.config_name,
            "EndpointStatus": e.status, "CreationTime": e.created,
            "LastModifiedTime": self._last_modified(e), "ProductionVariants": variants,
        }
        if shadows:
            body["ShadowProductionVariants"] = shadows
        if e.failure_reason:
            body["FailureReason"] = e.failure_reason
        if e.data_capture:
            body["DataCaptureConfig"] = {
                "EnableCapture": True, "CaptureStatus": "Started",
                "CurrentSamplingPercentage": 20,
                "DestinationS3Uri": f"s3://sim-capture-{ACCOUNT_ID}/{e.name}"}
        if e.async_endpoint:
            body["AsyncInferenceConfig"] = _async_config(e)
        if e.deployment is not None:
            body["LastDeploymentConfig"] = _deployment_config(e.deployment)
        if e.metric_publish_frequency_s != 60:
            body["MetricsConfig"] = _metrics_config(e)
        return body

    def _sagemaker_describe_endpoint_config(self, region: str, params: dict[str, Any]
                                            ) -> dict[str, Any]:
        name = params["EndpointConfigName"]
        e = self._named(region).get(f"config:{name}")
        if e is None:
            raise SimulationError("ValidationException",
                                  f'Could not find endpoint configuration "{name}".')
        config: dict[str, Any] = {
            "EndpointConfigName": name,
            "EndpointConfigArn": f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:"
                                 f"endpoint-config/{name}",
            "ProductionVariants": [_variant_config(e, v) for v in e.variants if not v.shadow],
            "CreationTime": e.last_modified,
        }
        shadows = [_variant_config(e, v) for v in e.variants if v.shadow]
        if shadows:
            config["ShadowProductionVariants"] = shadows
        if e.kms_key:
            config["KmsKeyId"] = f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/sim-{e.index:04d}"
        if e.data_capture:
            config["DataCaptureConfig"] = {
                "EnableCapture": True, "InitialSamplingPercentage": 20,
                "DestinationS3Uri": f"s3://sim-capture-{ACCOUNT_ID}/{e.name}",
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]}
        if e.async_endpoint:
            config["AsyncInferenceConfig"] = _async_config(e)
        if e.metric_publish_frequency_s != 60:
            config["MetricsConfig"] = _metrics_config(e)
        return config

    def _sagemaker_list_endpoint_configs(self, region: str, params: dict[str, Any]
                                         ) -> dict[str, Any]:
        configs: list[dict[str, Any]] = []
        now = self.clock()
        for e in self._region_fleet(region):
            configs.append({"EndpointConfigName": e.config_name, "CreationTime": e.last_modified,
                            "EndpointConfigArn": f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:"
                                                 f"endpoint-config/{e.config_name}"})
            for age in e.config_history_days:
                older = f"{e.name}-config-{max(0, e.config_generation - 1 - age // 7):03d}-{age}d"
                configs.append({"EndpointConfigName": older,
                                "CreationTime": now - dt.timedelta(days=age),
                                "EndpointConfigArn": f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:"
                                                     f"endpoint-config/{older}"})
        if params.get("NameContains"):
            configs = [c for c in configs if params["NameContains"] in c["EndpointConfigName"]]
        configs.sort(key=lambda c: c["CreationTime"], reverse=True)
        page = min(int(params.get("MaxResults", 100)), 100)
        start = (_untoken(params.get("NextToken")) or [0])[0]
        body: dict[str, Any] = {"EndpointConfigs": configs[start:start + page]}
        if start + page < len(configs):
            body["NextToken"] = _token(start + page)
        return body

    def _sagemaker_describe_model(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ModelName"]
        e = self._named(region).get(f"model:{name}")
        for v in e.variants if e else ():
            if e is not None and e.model_name(v) == name and not e.components:
                return _model(e, v)
        for c in e.components if e else ():
            if e is not None and c.model_name == name:
                return _component_model(e, c)
        raise SimulationError("ValidationException", f'Could not find model "{name}".')

    # Inference components -------------------------------------------------------------------

    def _now(self) -> int:
        return int(self.clock().timestamp())

    def _instances_now(self, e: SimEndpoint, v: SimVariant, now: int) -> int:
        """The variant's instances at `now`; managed instance scaling down to 0 releases every
        instance while no copy runs."""
        if e.components and e.managed_scaling and not e.managed_scaling[0] and not any(
                self.metrics.copies_at(e, c, now) for c in e.components if c.variant == v.name):
            return 0
        return self.metrics.instances_now(e, v, now)

    def _last_modified(self, e: SimEndpoint) -> dt.datetime:
        """Scaling to and from zero updates the endpoint, as UpdateEndpoint would."""
        moments = [self.metrics.last_scaled(e, c, self._now()) for c in e.components]
        latest = max((m for m in moments if m is not None), default=None)
        if latest is None:
            return e.last_modified
        return max(e.last_modified, dt.datetime.fromtimestamp(latest, dt.UTC))

    def _component_modified(self, e: SimEndpoint, c: SimComponent) -> dt.datetime:
        moment = self.metrics.last_scaled(e, c, self._now())
        if moment is None:
            return e.last_modified
        return max(e.last_modified, dt.datetime.fromtimestamp(moment, dt.UTC))

    def _component_arn(self, region: str, c: SimComponent) -> str:
        return f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:inference-component/{c.name}"

    def _component_summary(self, region: str, e: SimEndpoint, c: SimComponent
                           ) -> dict[str, Any]:
        return {"InferenceComponentName": c.name,
                "InferenceComponentArn": self._component_arn(region, c),
                "EndpointName": e.name, "EndpointArn": e.arn, "VariantName": c.variant,
                "InferenceComponentStatus": "InService" if e.status == "InService"
                else "Updating", "CreationTime": e.created,
                "LastModifiedTime": self._component_modified(e, c)}

    def _sagemaker_list_inference_components(self, region: str, params: dict[str, Any]
                                             ) -> dict[str, Any]:
        page = int(params.get("MaxResults", 10))
        if not 1 <= page <= LIST_INFERENCE_COMPONENTS_PAGE:
            raise SimulationError("ValidationException", "1 validation error detected: Value "
                                  f"'{page}' at 'maxResults' failed to satisfy constraint: "
                                  "Member must have value less than or equal to 100")
        found = [self._component_summary(region, e, c) for e in self._region_fleet(region)
                 for c in e.components if e.status != "Failed"]
        filters = {"EndpointNameEquals": "EndpointName", "VariantNameEquals": "VariantName",
                   "StatusEquals": "InferenceComponentStatus"}
        for parameter, member in filters.items():
            if params.get(parameter):
                found = [s for s in found if s[member] == params[parameter]]
        if params.get("NameContains"):
            found = [s for s in found if params["NameContains"] in s["InferenceComponentName"]]
        sort_by = {"Name": "InferenceComponentName", "Status": "InferenceComponentStatus"}.get(
            params.get("SortBy", "CreationTime"), "CreationTime")
        found.sort(key=lambda s: (s[sort_by], s["InferenceComponentName"]),
                   reverse=params.get("SortOrder", "Descending") == "Descending")
        start = (_untoken(params.get("NextToken")) or [0])[0]
        body: dict[str, Any] = {"InferenceComponents": found[start:start + page]}
        if start + page < len(found):
            body["NextToken"] = _token(start + page)
        return body

    def _sagemaker_describe_inference_component(self, region: str, params: dict[str, Any]
                                                ) -> dict[str, Any]:
        name = params["InferenceComponentName"]
        e = self._named(region).get(f"component:{name}")
        c = next((c for c in e.components if c.name == name), None) if e else None
        if e is None or c is None:
            raise SimulationError("ValidationException",
                                  f'Could not find inference component "{name}".')
        copies = self.metrics.copies_at(e, c, self._now())
        compute: dict[str, Any] = {"NumberOfCpuCoresRequired": c.cpu_cores,
                                   "MinMemoryRequiredInMb": c.memory_mb}
        if c.accelerators:
            compute["NumberOfAcceleratorDevicesRequired"] = float(c.accelerators)
        return {
            **self._component_summary(region, e, c),
            "Specification": {
                "ModelName": c.model_name,
                "StartupParameters": {"ModelDataDownloadTimeoutInSeconds": 1200,
                                      "ContainerStartupHealthCheckTimeoutInSeconds": 600},
                "ComputeResourceRequirements": compute},
            "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": copies},
        }

    def _sagemaker_list_tags(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ResourceArn"].rsplit("/", 1)[-1]
        e = self._find(region, name)
        return {"Tags": _tag_list(e.tags)}

    def _resource_groups_tagging_api_get_resources(self, region: str, params: dict[str, Any]
                                                   ) -> dict[str, Any]:
        """ResourceARNList only (what sagetop asks): the tagged endpoints among 1-100 ARNs;
        an ARN of nothing that exists, or of an untagged endpoint, is left out, as AWS does."""
        arns = params.get("ResourceARNList")
        if not isinstance(arns, list) or not 1 <= len(arns) <= 100:
            raise SimulationError("InvalidParameterException",
                                  "ResourceARNList must hold 1 to 100 ARNs")
        mappings = []
        for arn in arns:
            endpoint = self.fleet.get((region, str(arn).rsplit("/", 1)[-1]))
            if endpoint is not None and endpoint.arn == arn and endpoint.tags:
                mappings.append({"ResourceARN": arn, "Tags": _tag_list(endpoint.tags)})
        return {"ResourceTagMappingList": mappings, "PaginationToken": ""}

    def _sagemaker_list_monitoring_schedules(self, region: str, params: dict[str, Any]
                                             ) -> dict[str, Any]:
        summaries = []
        for e in self._region_fleet(region):
            if e.monitor is None:
                continue
            if params.get("EndpointName") and params["EndpointName"] != e.name:
                continue
            summaries.append({
                "MonitoringScheduleName": e.monitor.schedule_name,
                "MonitoringScheduleArn": f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:"
                                         f"monitoring-schedule/{e.monitor.schedule_name}",
                "CreationTime": e.created, "LastModifiedTime": e.last_modified,
                "MonitoringScheduleStatus": "Scheduled", "EndpointName": e.name,
                "MonitoringType": e.monitor.monitoring_type})
        return {"MonitoringScheduleSummaries": summaries}

    def _schedule_owner(self, region: str, schedule: str) -> SimEndpoint:
        for e in self._region_fleet(region):
            if e.monitor is not None and e.monitor.schedule_name == schedule:
                return e
        raise SimulationError("ResourceNotFound", f"Monitoring schedule {schedule} not found")

    def _sagemaker_describe_monitoring_schedule(self, region: str, params: dict[str, Any]
                                                ) -> dict[str, Any]:
        e = self._schedule_owner(region, params["MonitoringScheduleName"])
        assert e.monitor is not None
        return {
            "MonitoringScheduleName": e.monitor.schedule_name,
            "MonitoringScheduleArn": f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:"
                                     f"monitoring-schedule/{e.monitor.schedule_name}",
            "MonitoringScheduleStatus": "Scheduled", "MonitoringType": e.monitor.monitoring_type,
            "CreationTime": e.created, "LastModifiedTime": e.last_modified,
            "EndpointName": e.name,
            "MonitoringScheduleConfig": {
                "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                "MonitoringJobDefinitionName": f"{e.monitor.schedule_name}-definition",
                "MonitoringType": e.monitor.monitoring_type}}

    def _executions(self, region: str, e: SimEndpoint) -> list[dict[str, Any]]:
        assert e.monitor is not None
        hour = self.clock().replace(minute=0, second=0, microsecond=0)
        runs = []
        for back in range(1, 25):
            scheduled = hour - dt.timedelta(hours=back)
            job = f"model-monitoring-{int(scheduled.timestamp())}-{e.index:04x}"
            runs.append({
                "MonitoringScheduleName": e.monitor.schedule_name,
                "ScheduledTime": scheduled, "CreationTime": scheduled,
                "LastModifiedTime": scheduled + dt.timedelta(minutes=14),
                "MonitoringExecutionStatus": "CompletedWithViolations" if e.monitor.violations
                else "Completed",
                "ProcessingJobArn": f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:"
                                    f"processing-job/{job}",
                "EndpointName": e.name})
        return runs

    def _sagemaker_list_monitoring_executions(self, region: str, params: dict[str, Any]
                                              ) -> dict[str, Any]:
        e = self._schedule_owner(region, params["MonitoringScheduleName"])
        runs = self._executions(region, e)
        if params.get("SortOrder") == "Ascending":
            runs.reverse()
        return {"MonitoringExecutionSummaries": runs[: int(params.get("MaxResults", 10))]}

    def _sagemaker_describe_processing_job(self, region: str, params: dict[str, Any]
                                           ) -> dict[str, Any]:
        name = params["ProcessingJobName"]
        index = int(name.rsplit("-", 1)[-1], 16) if name.startswith("model-monitoring-") else -1
        e = next((x for x in self._region_fleet(region) if x.index == index), None)
        if e is None:
            raise SimulationError("ResourceNotFound", f"Processing job {name} not found")
        created = dt.datetime.fromtimestamp(int(name.split("-")[2]), dt.UTC)
        return {
            "ProcessingJobName": name,
            "ProcessingJobArn": f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:processing-job/{name}",
            "ProcessingJobStatus": "Completed", "CreationTime": created,
            "ProcessingResources": {"ClusterConfig": {
                "InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}},
            "AppSpecification": {"ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/"
                                             "sagemaker-model-monitor-analyzer"},
            "RoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/monitor",
            "ProcessingOutputConfig": {"Outputs": [{
                "OutputName": "result",
                "S3Output": {"S3Uri": f"s3://sim-monitoring-{ACCOUNT_ID}/{e.name}/{name}",
                             "LocalPath": "/opt/ml/processing/output",
                             "S3UploadMode": "EndOfJob"}}]}}

    def _jobs(self, jobs: list[_Job], region: str) -> list[_Job]:
        return [j for j in jobs if j.region == region]

    def _sagemaker_list_training_jobs(self, region: str, params: dict[str, Any]
                                      ) -> dict[str, Any]:
        return {"TrainingJobSummaries": [{
            "TrainingJobName": j.name, "CreationTime": self.clock() - dt.timedelta(hours=3),
            "TrainingJobArn": f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:training-job/{j.name}",
            "TrainingJobStatus": "InProgress"} for j in self._jobs(self.training_jobs, region)]}

    def _sagemaker_describe_training_job(self, region: str, params: dict[str, Any]
                                         ) -> dict[str, Any]:
        job = next(j for j in self.training_jobs if j.name == params["TrainingJobName"])
        return {"TrainingJobName": job.name, "TrainingJobStatus": "InProgress",
                "ResourceConfig": {"InstanceType": job.instance_type,
                                   "InstanceCount": job.instance_count, "VolumeSizeInGB": 100}}

    def _sagemaker_list_transform_jobs(self, region: str, params: dict[str, Any]
                                       ) -> dict[str, Any]:
        return {"TransformJobSummaries": [{
            "TransformJobName": j.name, "CreationTime": self.clock() - dt.timedelta(hours=1),
            "TransformJobArn": f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:transform-job/{j.name}",
            "TransformJobStatus": "InProgress"} for j in self._jobs(self.transform_jobs, region)]}

    def _sagemaker_describe_transform_job(self, region: str, params: dict[str, Any]
                                          ) -> dict[str, Any]:
        job = next(j for j in self.transform_jobs if j.name == params["TransformJobName"])
        return {"TransformJobName": job.name, "TransformJobStatus": "InProgress",
                "TransformResources": {"InstanceType": job.instance_type,
                                       "InstanceCount": job.instance_count}}

    def _sagemaker_list_notebook_instances(self, region: str, params: dict[str, Any]
                                           ) -> dict[str, Any]:
        return {"NotebookInstances": [{
            "NotebookInstanceName": j.name, "NotebookInstanceStatus": "InService",
            "NotebookInstanceArn": f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:"
                                   f"notebook-instance/{j.name}",
            "InstanceType": j.instance_type, "CreationTime": self.clock() - dt.timedelta(days=9)}
            for j in self._jobs(self.notebooks, region)]}

    # Inference Recommender -------------------------------------------------------------------

    def _recommender_jobs(self, region: str) -> list[tuple[SimEndpoint, SimRecommenderJob]]:
        """Jobs run on the models of this region's endpoints (copies of an archetype in a
        scaled fleet deploy other model names: the job is the original's only)."""
        jobs = []
        for e in self._region_fleet(region):
            for variant_name, job in e.recommender_jobs:
                variant = next((v for v in e.variants if v.name == variant_name), None)
                if variant is not None and e.model_name(variant) == job.model_name:
                    jobs.append((e, job))
        return jobs

    def _recommender_job(self, region: str, name: str) -> tuple[SimEndpoint, SimRecommenderJob]:
        for e, job in self._recommender_jobs(region):
            if job.name == name:
                return e, job
        raise SimulationError("ResourceNotFound",
                              f"Inference recommendations job {name} does not exist.")

    def _job_summary(self, region: str, e: SimEndpoint, job: SimRecommenderJob
                     ) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "JobName": job.name, "JobDescription": f"sizing {job.model_name}",
            "JobType": job.job_type,
            "JobArn": f"arn:aws:sagemaker:{region}:{ACCOUNT_ID}:inference-recommendations-job/"
                      f"{job.name}",
            "Status": job.status, "CreationTime": job.created,
            "LastModifiedTime": job.created + dt.timedelta(minutes=job.duration_minutes),
            "RoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/sagemaker-execution",
            "ModelName": job.model_name,
            "SamplePayloadUrl": f"s3://sim-payloads-{ACCOUNT_ID}/{e.name}/payload.tar.gz"}
        if job.status in ("COMPLETED", "FAILED"):
            summary["CompletionTime"] = summary["LastModifiedTime"]
        if job.failure_reason:
            summary["FailureReason"] = job.failure_reason
        return summary

    def _sagemaker_list_inference_recommendations_jobs(self, region: str, params: dict[str, Any]
                                                        ) -> dict[str, Any]:
        jobs = [self._job_summary(region, e, j) for e, j in self._recommender_jobs(region)]
        for key, field_name in (("StatusEquals", "Status"), ("ModelNameEquals", "ModelName")):
            if params.get(key):
                jobs = [j for j in jobs if j.get(field_name) == params[key]]
        if params.get("NameContains"):
            jobs = [j for j in jobs if params["NameContains"] in j["JobName"]]
        jobs.sort(key=lambda j: j["CreationTime"], reverse=True)
        page = min(int(params.get("MaxResults", 100)), 100)
        start = (_untoken(params.get("NextToken")) or [0])[0]
        body: dict[str, Any] = {"InferenceRecommendationsJobs": jobs[start:start + page]}
        if start + page < len(jobs):
            body["NextToken"] = _token(start + page)
        return body

    def _sagemaker_describe_inference_recommendations_job(self, region: str,
                                                          params: dict[str, Any]
                                                          ) -> dict[str, Any]:
        e, job = self._recommender_job(region, params["JobName"])
        body = self._job_summary(region, e, job)
        body["InputConfig"] = {
            "ModelName": job.model_name,
            "ContainerConfig": {"Domain": "MACHINE_LEARNING", "Framework": "XGBOOST",
                                "PayloadConfig": {
                                    "SamplePayloadUrl": body.pop("SamplePayloadUrl"),
                                    "SupportedContentTypes": ["text/csv"]}},
            "EndpointConfigurations": [{"InstanceType": t} for t in job.instance_types]}
        body.pop("ModelName")
        if job.job_type == "Advanced":
            body["InputConfig"]["TrafficPattern"] = {"TrafficType": "PHASES", "Phases": [
                {"InitialNumberOfUsers": 2, "SpawnRate": 2, "DurationInSeconds": 900}]}
            stopping: dict[str, Any] = {}
            if job.max_invocations:
                stopping["MaxInvocations"] = job.max_invocations
            if job.latency_threshold_ms:
                stopping["ModelLatencyThresholds"] = [
                    {"Percentile": "P95", "ValueInMilliseconds": job.latency_threshold_ms}]
            body["StoppingConditions"] = stopping
        if job.status == "COMPLETED":
            body["InferenceRecommendations"] = [{
                "RecommendationId": f"{job.name}/{index}",
                "Metrics": _recommender_metrics(r),
                "EndpointConfiguration": {
                    "EndpointName": f"sm-epc-{job.name}-{index}"[:63], "VariantName": "sm-epc",
                    "InstanceType": r.instance_type, "InitialInstanceCount": r.instance_count},
                "ModelConfiguration": {"EnvironmentParameters": [
                    {"Key": "OMP_NUM_THREADS", "ValueType": "string", "Value": "2"}]},
            } for index, r in enumerate(job.recommendations)]
        return body

    def _sagemaker_list_inference_recommendations_job_steps(self, region: str,
                                                            params: dict[str, Any]
                                                            ) -> dict[str, Any]:
        _, job = self._recommender_job(region, params["JobName"])
        steps: list[dict[str, Any]] = [{
            "StepType": "BENCHMARK", "JobName": job.name, "Status": "COMPLETED",
            "InferenceBenchmark": {
                "Metrics": _recommender_metrics(r),
                "EndpointConfiguration": {"EndpointName": f"sm-epc-{job.name}"[:63],
                                          "VariantName": "sm-epc",
                                          "InstanceType": r.instance_type,
                                          "InitialInstanceCount": r.instance_count},
                "ModelConfiguration": {}}} for r in job.recommendations]
        steps += [{
            "StepType": "BENCHMARK", "JobName": job.name, "Status": "FAILED",
            "InferenceBenchmark": {
                "EndpointConfiguration": {"EndpointName": f"sm-epc-{job.name}"[:63],
                                          "VariantName": "sm-epc", "InstanceType": itype},
                "ModelConfiguration": {}, "FailureReason": reason}}
            for itype, reason in job.failed_types]
        return {"Steps": steps}

    # Compute Optimizer and Cost Optimization Hub ---------------------------------------------

    def _idle_endpoints(self, region: str | None) -> list[SimEndpoint]:
        return [e for e in self.fleet.values() if e.aws_idle_verdict and e.status == "InService"
                and (region is None or e.region == region)]

    def _monthly_usd(self, e: SimEndpoint) -> float:
        book = _price_book()
        total = 0.0
        for v in e.variants:
            price = book.hourly(v.instance_type, e.region) if v.instance_type else None
            if price is not None:
                total += price.usd_per_hour * v.instance_count * HOURS_PER_MONTH
        return round(total, 2)

    def _compute_optimizer_get_idle_recommendations(self, region: str, params: dict[str, Any]
                                                    ) -> dict[str, Any]:
        if not self.compute_optimizer_opted_in:
            raise SimulationError("OptInRequiredException",
                                  "The account is not opted in to AWS Compute Optimizer.")
        wanted = {v for f in params.get("filters", []) if f.get("name") == "ResourceType"
                  for v in f.get("values", [])}
        if wanted and "SageMakerEndpoint" not in wanted:
            return {"idleRecommendations": []}
        refreshed = self.clock().replace(hour=4, minute=0, second=0, microsecond=0)
        return {"idleRecommendations": [{
            "resourceArn": e.arn, "resourceId": e.name, "resourceType": "SageMakerEndpoint",
            "accountId": ACCOUNT_ID, "finding": "Idle",
            "findingDescription": "The endpoint had fewer than 1 invocation per day on average",
            "savingsOpportunity": {"savingsOpportunityPercentage": 100.0,
                                   "estimatedMonthlySavings": {"currency": "USD",
                                                               "value": self._monthly_usd(e)}},
            "utilizationMetrics": [{"name": "Invocations", "statistic": "Maximum",
                                    "value": 0.0 if e.variants[0].peak_rpm == 0 else 3.0}],
            "lookBackPeriodInDays": 14.0, "lastRefreshTimestamp": refreshed,
            "tags": [{"key": k, "value": v} for k, v in e.tags.items()],
        } for e in self._idle_endpoints(region)]}

    def _cost_optimization_hub_list_enrollment_statuses(self, region: str,
                                                        params: dict[str, Any]
                                                        ) -> dict[str, Any]:
        now = self.clock()
        return {"items": [{"accountId": ACCOUNT_ID,
                           "status": "Active" if self.cost_hub_enrolled else "Inactive",
                           "lastUpdatedTimestamp": now - dt.timedelta(days=40),
                           "createdTimestamp": now - dt.timedelta(days=40)}]}

    def _cost_optimization_hub_list_recommendations(self, region: str, params: dict[str, Any]
                                                    ) -> dict[str, Any]:
        if not self.cost_hub_enrolled:
            raise SimulationError("AccessDeniedException",
                                  "The account is not enrolled in Cost Optimization Hub.")
        refreshed = self.clock().replace(hour=4, minute=0, second=0, microsecond=0)
        items: list[dict[str, Any]] = [{
            "recommendationId": f"sim-idle-{e.index:04d}", "accountId": ACCOUNT_ID,
            "region": e.region, "resourceId": e.name, "resourceArn": e.arn,
            "currentResourceType": "SageMakerEndpoint", "recommendedResourceType":
            "SageMakerEndpoint", "estimatedMonthlySavings": self._monthly_usd(e),
            "estimatedSavingsPercentage": 100.0, "estimatedMonthlyCost": self._monthly_usd(e),
            "currencyCode": "USD", "implementationEffort": "VeryLow", "restartNeeded": False,
            "actionType": "Delete", "rollbackPossible": False,
            "currentResourceSummary": f"{e.variants[0].instance_count}x "
                                      f"{e.variants[0].instance_type}",
            "recommendedResourceSummary": "delete the idle endpoint",
            "lastRefreshTimestamp": refreshed, "recommendationLookbackPeriodInDays": 14,
            "source": "ComputeOptimizer"} for e in self._idle_endpoints(None)]
        items.append({
            "recommendationId": "sim-sagemaker-savings-plan", "accountId": ACCOUNT_ID,
            "region": "Global", "resourceId": ACCOUNT_ID, "resourceArn": "",
            "currentResourceType": "SageMakerSavingsPlans",
            "recommendedResourceType": "SageMakerSavingsPlans",
            "estimatedMonthlySavings": 412.5, "estimatedSavingsPercentage": 21.0,
            "estimatedMonthlyCost": 1551.0, "currencyCode": "USD",
            "implementationEffort": "VeryLow", "restartNeeded": False,
            "actionType": "PurchaseSavingsPlans", "rollbackPossible": False,
            "currentResourceSummary": "On-demand SageMaker usage",
            "recommendedResourceSummary": "1-year, no upfront SageMaker Savings Plan at "
                                          "$2.125/hour commitment",
            "lastRefreshTimestamp": refreshed, "recommendationLookbackPeriodInDays": 30,
            "source": "CostExplorer"})
        wanted = set((params.get("filter") or {}).get("resourceTypes") or [])
        if wanted:
            items = [i for i in items if i["currentResourceType"] in wanted]
        start = (_untoken(params.get("nextToken")) or [0])[0]
        page = min(int(params.get("maxResults", 100)), 100)
        body: dict[str, Any] = {"items": items[start:start + page]}
        if start + page < len(items):
            body["nextToken"] = _token(start + page)
        return body

    # Application Auto Scaling ----------------------------------------------------------------

    def _scaling(self, region: str) -> list[tuple[SimEndpoint, str, str, int, int, bool]]:
        """(endpoint, resource id, scalable dimension, min, max, has a policy): variants scale
        instances, inference components their copies."""
        targets = []
        for e in self._region_fleet(region):
            for variant, (low, high, policy) in sorted(e.autoscaling.items()):
                targets.append((e, f"endpoint/{e.name}/variant/{variant}",
                                "sagemaker:variant:DesiredInstanceCount", low, high, policy))
            for c in e.components:
                if c.autoscaling is not None:
                    low, high, policy = c.autoscaling
                    targets.append((e, f"inference-component/{c.name}",
                                    "sagemaker:inference-component:DesiredCopyCount", low, high,
                                    policy))
        return targets

    def _paged(self, items: list[dict[str, Any]], key: str, params: dict[str, Any]
               ) -> dict[str, Any]:
        page = min(int(params.get("MaxResults", AUTOSCALING_PAGE)), AUTOSCALING_PAGE)
        start = (_untoken(params.get("NextToken")) or [0])[0]
        body: dict[str, Any] = {key: items[start:start + page]}
        if start + page < len(items):
            body["NextToken"] = _token(start + page)
        return body

    def _application_autoscaling_describe_scalable_targets(
            self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        targets = [{
            "ServiceNamespace": "sagemaker",
            "ResourceId": resource,
            "ScalableDimension": dimension,
            "MinCapacity": low, "MaxCapacity": high, "CreationTime": e.created,
            "RoleARN": f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/sagemaker."
                       "application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling"
                       "_SageMakerEndpoint",
            "SuspendedState": {"DynamicScalingInSuspended": False,
                               "DynamicScalingOutSuspended": False,
                               "ScheduledScalingSuspended": False},
        } for e, resource, dimension, low, high, _ in self._scaling(region)]
        return self._paged(targets, "ScalableTargets", params)

    def _application_autoscaling_describe_scaling_policies(
            self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        policies = [{
            "PolicyARN": f"arn:aws:autoscaling:{region}:{ACCOUNT_ID}:scalingPolicy:sim:"
                         f"resource/sagemaker/{resource}",
            "PolicyName": f"{resource.replace('/', '-')}-invocations",
            "ServiceNamespace": "sagemaker",
            "ResourceId": resource,
            "ScalableDimension": dimension,
            "PolicyType": "TargetTrackingScaling", "CreationTime": e.created,
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 750.0 if resource.startswith("endpoint/") else 20.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                    if resource.startswith("endpoint/")
                    else "SageMakerInferenceComponentInvocationsPerCopy"}},
        } for e, resource, dimension, _, _, policy in self._scaling(region) if policy]
        return self._paged(policies, "ScalingPolicies", params)

    # CloudWatch ------------------------------------------------------------------------------

    def _index(self, region: str) -> dict[tuple[str, str, tuple[tuple[str, str], ...]],
                                          MetricTarget]:
        index = self._metric_index.get(region)
        if index is None:
            index = {}
            for e in self._region_fleet(region):
                for namespace, metric, dims in self.metrics.published(e):
                    target = self.metrics.resolve(e, namespace, metric, dims)
                    if target is not None:
                        index[(namespace, metric, tuple(sorted(dims.items())))] = target
            self._metric_index[region] = index
        return index

    def metrics_owner(self, account_id: str | None) -> SimulatedAccount | None:
        """Whose metrics a query reads: this account's, or (as a monitoring account) a linked
        source's by its AccountId; None for an account not shared with this one."""
        if not account_id or account_id == self.account_id:
            return self
        source: SimulatedAccount | None = (self.sink.sources.get(account_id)
                                           if self.sink is not None else None)
        return source

    def _oam_list_sinks(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return list_sinks(self, region, params)

    def _oam_list_attached_links(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        links = list_attached_links(self, region, params)
        if links is None:
            raise SimulationError("ResourceNotFoundException",
                                  f"Sink {params.get('SinkIdentifier')} does not exist.", 404)
        return links

    def _cloudwatch_get_metric_data(self, region: str, params: dict[str, Any]
                                    ) -> dict[str, Any]:
        queries = params.get("MetricDataQueries") or []
        self.metrics.forget()
        owners = {self.account_id: self}
        if len(queries) > MAX_QUERIES:
            raise SimulationError("ValidationError", "The collection MetricDataQueries must not "
                                  f"have a size greater than {MAX_QUERIES}.")
        start, end = int(params["StartTime"]), int(params["EndTime"])
        # CloudWatch has nothing after its own now, whatever the caller's clock says.
        end = min(end, int(self.clock().timestamp()))
        newest_first = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"
        budget = min(int(params.get("MaxDatapoints", MAX_DATAPOINTS)), MAX_DATAPOINTS)
        resume = _untoken(params.get("NextToken")) or [0, 0]
        first_query, first_point = resume[0], resume[1]
        results: list[dict[str, Any]] = []
        next_token: str | None = None
        for position, query in enumerate(queries):
            if position < first_query:
                continue
            stat = query.get("MetricStat")
            if stat is None:
                raise SimulationError("ValidationError",
                                      "the simulated account answers MetricStat queries only")
            metric = stat["Metric"]
            period = int(stat["Period"])
            if period < 1 or (period >= 60 and period % 60):
                raise SimulationError("ValidationError",
                                      "The parameter Period must be a multiple of 60.")
            owner = self.metrics_owner(query.get("AccountId"))
            if owner is not None and owner.account_id not in owners:
                owner.metrics.forget()  # a source's grids, as its own calls would
                owners[owner.account_id] = owner
            dims = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
            target = None if owner is None else owner._index(region).get(
                (metric.get("Namespace", ""), metric.get("MetricName", ""), dims))
            stamps: list[float] = []
            values: list[float] = []
            refused = "Forbidden" if owner is None else owner.faults.metric_status(
                metric.get("Namespace", ""), metric.get("MetricName", ""))
            if refused is not None:
                # CloudWatch answers the call but not this query: its StatusCode says why.
                results.append({"Id": query["Id"], "Label": metric.get("MetricName", ""),
                                "Timestamps": [], "Values": [], "StatusCode": refused,
                                "Messages": [{"Code": refused,
                                              "Value": _STATUS_MESSAGES[refused]}]})
                continue
            if target is not None and owner is not None:
                raw_stamps, raw_values = owner.metrics.datapoints(
                    target, stat["Stat"], start - start % 60, end - end % 60, period)
                if newest_first:
                    raw_stamps, raw_values = raw_stamps[::-1], raw_values[::-1]
                stamps = raw_stamps.astype(float).tolist()
                values = raw_values.tolist()
            offset = first_point if position == first_query else 0
            stamps, values = stamps[offset:], values[offset:]
            status = "Complete"
            if len(values) > budget:
                stamps, values = stamps[:budget], values[:budget]
                next_token = _token(position, offset + budget)
                status = "PartialData"
            budget -= len(values)
            results.append({"Id": query["Id"], "Label": query.get("Label") or metric.get(
                "MetricName", ""), "Timestamps": stamps, "Values": values,
                "StatusCode": status})
            if next_token is not None:
                break
        body: dict[str, Any] = {"MetricDataResults": results, "Messages": []}
        if next_token is not None:
            body["NextToken"] = next_token
        return body

    def _cloudwatch_list_metrics(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        wanted_dims = {(d["Name"], d.get("Value")) for d in params.get("Dimensions", [])}
        found = []
        for (namespace, metric, dims), _ in self._index(region).items():
            if params.get("Namespace") and namespace != params["Namespace"]:
                continue
            if params.get("MetricName") and metric != params["MetricName"]:
                continue
            dim_names = dict(dims)
            if any(name not in dim_names or (value is not None and dim_names[name] != value)
                   for name, value in wanted_dims):
                continue
            found.append({"Namespace": namespace, "MetricName": metric,
                          "Dimensions": [{"Name": k, "Value": v} for k, v in dims]})
        start = (_untoken(params.get("NextToken")) or [0])[0]
        body: dict[str, Any] = {"Metrics": found[start:start + LIST_METRICS_PAGE]}
        if start + LIST_METRICS_PAGE < len(found):
            body["NextToken"] = _token(start + LIST_METRICS_PAGE)
        return body

    # S3 --------------------------------------------------------------------------------------

    def _s3(self, operation: str, request: Any) -> Answer:
        bucket, key = _bucket_and_key(request.url)
        headers = {"Content-Type": "application/octet-stream", "ETag": '"sim"',
                   "Last-Modified": "Mon, 02 Nov 2026 10:00:00 GMT"}
        model_size = self._model_size(bucket, key)
        if model_size is not None and operation == "HeadObject":
            return 200, b"", {**headers, "Content-Length": str(model_size)}
        data = self._violations_file(bucket, key)
        if data is None:
            raise SimulationError("NoSuchKey", "The specified key does not exist.", 404)
        if operation == "HeadObject":
            return 200, b"", {**headers, "Content-Length": str(len(data))}
        return 200, data, headers

    def _owner(self, key: str) -> SimEndpoint | None:
        name = key.split("/", 1)[0]
        return next((x for x in self.fleet.values() if x.name == name), None)

    def _violations_file(self, bucket: str, key: str) -> bytes | None:
        if bucket != f"sim-monitoring-{ACCOUNT_ID}" or not key.endswith(
                "/constraint_violations.json"):
            return None
        e = self._owner(key)
        if e is None or e.monitor is None or not e.monitor.violations:
            return None  # a clean run writes no violations file
        return json.dumps({"violations": e.monitor.violations}).encode()

    def _model_size(self, bucket: str, key: str) -> int | None:
        if bucket != f"sim-models-{ACCOUNT_ID}" or not key.endswith("/model.tar.gz"):
            return None
        e = self._owner(key)
        if e is None:
            return None
        folder = key.split("/")[1] if key.count("/") >= 2 else ""
        component = next((c for c in e.components if c.name == folder), None)
        return component.model_bytes if component is not None else e.model_bytes


_PRICES: list[PriceBook] = []


def _price_book() -> PriceBook:
    """The bundled catalogue, loaded once: AWS prices its own savings estimates."""
    if not _PRICES:
        _PRICES.append(PriceBook.load())
    return _PRICES[0]


def _recommender_metrics(r: Any) -> dict[str, Any]:
    return {"CostPerHour": r.cost_per_hour * r.instance_count,
            "CostPerInference": round(r.cost_per_hour / 60.0 / r.max_invocations, 8),
            "MaxInvocations": r.max_invocations, "ModelLatency": r.model_latency_ms,
            "CpuUtilization": r.cpu_pct, "MemoryUtilization": r.memory_pct}


def _deployment_config(d: SimDeployment) -> dict[str, Any]:
    step = {"Type": "CAPACITY_PERCENT", "Value": d.step_percent}
    config: dict[str, Any]
    if d.strategy == "rolling":
        config = {"RollingUpdatePolicy": {"MaximumBatchSize": step,
                                          "WaitIntervalInSeconds": d.wait_s,
                                          "RollbackMaximumBatchSize": step}}
    else:
        routing: dict[str, Any] = {"Type": d.traffic, "WaitIntervalInSeconds": d.wait_s}
        if d.traffic == "CANARY":
            routing["CanarySize"] = step
        elif d.traffic == "LINEAR":
            routing["LinearStepSize"] = step
        config = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing,
                                            "TerminationWaitInSeconds": 300}}
    if d.rollback_alarms:
        config["AutoRollbackConfiguration"] = {
            "Alarms": [{"AlarmName": name} for name in d.rollback_alarms]}
    return config


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _action(service: str) -> str:
    return {"cloudwatch": "cloudwatch", "application-autoscaling": "application-autoscaling",
            "sagemaker": "sagemaker", "s3": "s3", "sts": "sts",
            "compute-optimizer": "compute-optimizer",
            "cost-optimization-hub": "cost-optimization-hub"}.get(service, service)


_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
_HOST_REGION = re.compile(r"\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.")


def _region_of(request: Any) -> str:
    authorization = request.headers.get("Authorization", b"")
    if isinstance(authorization, bytes):
        authorization = authorization.decode()
    scoped = _SCOPE.search(authorization)
    if scoped:
        return scoped.group(1)
    host = _HOST_REGION.search(request.url)
    return host.group(1) if host else "us-east-1"


def _bucket_and_key(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    path = unquote(parts.path.lstrip("/"))
    if ".s3." in host or host.endswith(".s3.amazonaws.com"):
        return host.split(".s3", 1)[0], path
    bucket, _, key = path.partition("/")
    return bucket, key


def _caller_identity(account_id: str) -> str:
    return ('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<GetCallerIdentityResult>"
            f"<Arn>arn:aws:sts::{account_id}:assumed-role/ops-readonly/demo</Arn>"
            "<UserId>AROASIMULATED:demo</UserId>"
            f"<Account>{account_id}</Account>"
            "</GetCallerIdentityResult>"
            "<ResponseMetadata><RequestId>sim</RequestId></ResponseMetadata>"
            "</GetCallerIdentityResponse>")


def _metrics_config(e: SimEndpoint) -> dict[str, Any]:
    return {"EnableEnhancedMetrics": True,
            "MetricPublishFrequencyInSeconds": e.metric_publish_frequency_s}


def _variant_summary(e: SimEndpoint, v: SimVariant, current: int) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "VariantName": v.name, "CurrentWeight": v.weight, "DesiredWeight": v.weight,
    }
    if not e.components:  # the images of an inference-component endpoint are its components'
        summary["DeployedImages"] = [{"SpecifiedImage": e.image,
                                      "ResolvedImage": f"{e.image}@sha256:sim",
                                      "ResolutionTime": e.last_modified}]
    if v.instance_type is None:
        summary["CurrentServerlessConfig"] = {"MemorySizeInMB": v.serverless_memory_mb,
                                              "MaxConcurrency": v.serverless_max_concurrency}
    else:
        # An autoscaled variant runs the count its load asks for at this moment.
        count = current if e.status != "Failed" else 0
        summary["CurrentInstanceCount"] = count
        summary["DesiredInstanceCount"] = current
    summary.update(_instance_scaling(e))
    return summary


def _instance_scaling(e: SimEndpoint) -> dict[str, Any]:
    if e.managed_scaling is None:
        return {}
    low, high = e.managed_scaling
    return {"ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": low,
                                       "MaxInstanceCount": high,
                                       "ScaleInPolicy": {"Strategy": "IDLE_RELEASE"}},
            "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}}


def _variant_config(e: SimEndpoint, v: SimVariant) -> dict[str, Any]:
    config: dict[str, Any] = {"VariantName": v.name, "InitialVariantWeight": v.weight,
                              **_instance_scaling(e)}
    if not e.components:  # inference-component endpoints name no model on the variant
        config["ModelName"] = e.model_name(v)
    if v.instance_type is None:
        config["ServerlessConfig"] = {"MemorySizeInMB": v.serverless_memory_mb,
                                      "MaxConcurrency": v.serverless_max_concurrency}
    else:
        config["InstanceType"] = v.instance_type
        config["InitialInstanceCount"] = v.instance_count
    return config


def _async_config(e: SimEndpoint) -> dict[str, Any]:
    return {"ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
            "OutputConfig": {"S3OutputPath": f"s3://sim-async-{ACCOUNT_ID}/{e.name}/output"}}


def _component_model(e: SimEndpoint, c: SimComponent) -> dict[str, Any]:
    return {
        "ModelName": c.model_name,
        "ModelArn": f"arn:aws:sagemaker:{e.region}:{ACCOUNT_ID}:model/{c.model_name}",
        "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/sagemaker-execution",
        "CreationTime": e.last_modified,
        "EnableNetworkIsolation": e.network_isolation,
        "PrimaryContainer": {
            "Image": c.image, "Mode": "SingleModel",
            "ModelDataUrl": f"s3://sim-models-{ACCOUNT_ID}/{e.name}/{c.name}/model.tar.gz",
            "Environment": {"HF_MODEL_ID": f"/opt/ml/model/{c.name}",
                            "SM_NUM_GPUS": str(max(c.accelerators, 1))}},
    }


def _model(e: SimEndpoint, v: SimVariant) -> dict[str, Any]:
    model_data = f"s3://sim-models-{ACCOUNT_ID}/{e.name}/model.tar.gz"
    container: dict[str, Any] = {"Image": e.image, "ModelDataUrl": model_data,
                                 "Environment": dict(e.framework_env)
                                 or {"SAGEMAKER_PROGRAM": "inference.py"},
                                 "Mode": "MultiModel" if e.multi_model else "SingleModel"}
    if e.multi_model:
        container["ModelDataUrl"] = f"s3://sim-models-{ACCOUNT_ID}/{e.name}/"
    body: dict[str, Any] = {
        "ModelName": e.model_name(v),
        "ModelArn": f"arn:aws:sagemaker:{e.region}:{ACCOUNT_ID}:model/{e.model_name(v)}",
        "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/sagemaker-execution",
        "CreationTime": e.last_modified,
        "EnableNetworkIsolation": e.network_isolation,
    }
    if e.pipeline:
        body["Containers"] = [
            {**container, "ContainerHostname": "preprocess", "Mode": "SingleModel"},
            {**container, "ContainerHostname": "predict", "Mode": "SingleModel"}]
        body["InferenceExecutionConfig"] = {"Mode": "Serial"}
    else:
        body["PrimaryContainer"] = container
    if e.vpc:
        body["VpcConfig"] = {"SecurityGroupIds": ["sg-0sim"],
                             "Subnets": ["subnet-0sima", "subnet-0simb"]}
    return body
