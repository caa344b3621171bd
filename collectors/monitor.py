"""Model Monitor: schedules per endpoint, their last executions, violations and drift metrics.

Model Monitor is closed to new customers, so most accounts have no schedules: absence is the normal
case. Violations are read the way the SageMaker SDK does: the execution's processing job names its
output prefix, and `constraint_violations.json` sits directly under it. Drift metrics are found with
ListMetrics, because AWS documents their namespace and dimensions three different ways.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from collectors.aws import AwsContext
from collectors.failures import RECOVERABLE, collector_error, error_code
from collectors.fastparse import epoch_seconds
from ground.domain import (
    CollectorError,
    DriftMetric,
    ModelMonitorState,
    MonitoringExecution,
    MonitoringScheduleInfo,
    Violation,
)

DRIFT_NAMESPACES = (
    "aws/sagemaker/Endpoints/data-metrics",  # what the SageMaker SDK's dashboards query
    "/aws/sagemaker/Endpoints/data-metric",  # the interpreting-results page
    "/aws/sagemaker/Endpoint/data-metrics",  # the bring-your-own-container page
    "aws/sagemaker/Endpoints/model-metrics",
)
ENDPOINT_DIMENSIONS = ("Endpoint", "EndpointName")
DRIFT_PREFIX = "feature_baseline_drift_"
VIOLATIONS_FILE = "constraint_violations.json"
EXECUTIONS_KEPT = 5


class _ViolationFile(BaseModel):
    """`constraint_violations.json` as Model Monitor and Clarify write it."""

    model_config = ConfigDict(extra="ignore")

    class Item(BaseModel):
        model_config = ConfigDict(extra="ignore")
        feature_name: str | None = None
        metric_name: str | None = None
        facet: str | None = None
        constraint_check_type: str
        description: str = ""

    violations: list[Item] = []


@dataclass
class MonitorPass:
    by_endpoint: dict[str, ModelMonitorState] = field(default_factory=dict)
    errors: list[CollectorError] = field(default_factory=list)
    error: str | None = None  # region-wide failure, shown on every endpoint of the region


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


class ModelMonitorCollector:
    def __init__(self, aws: AwsContext, region: str) -> None:
        self.aws = aws
        self.region = region

    async def collect(self, endpoint_names: set[str], now: dt.datetime) -> MonitorPass:
        result = MonitorPass()
        sagemaker = await self.aws.client("sagemaker", self.region)
        try:
            schedules: list[dict[str, Any]] = []
            paginator = sagemaker.get_paginator("list_monitoring_schedules")
            async for page in paginator.paginate(PaginationConfig={"PageSize": 100}):
                schedules.extend(page.get("MonitoringScheduleSummaries", []))
        except RECOVERABLE as exc:
            error = collector_error(exc, "model-monitor", self.region, "sagemaker",
                                    "ListMonitoringSchedules", now)
            result.errors.append(error)
            result.error = error.message
            return result
        mine = [s for s in schedules if s.get("EndpointName") in endpoint_names]
        infos = await asyncio.gather(*(self._schedule(sagemaker, s, result, now) for s in mine))
        per_endpoint: dict[str, list[MonitoringScheduleInfo]] = {}
        for summary, info in zip(mine, infos, strict=True):
            per_endpoint.setdefault(summary["EndpointName"], []).append(info)
        drift = await self._drift_metrics(set(per_endpoint), result, now) if per_endpoint else {}
        for name in endpoint_names:
            result.by_endpoint[name] = ModelMonitorState(
                schedules=tuple(per_endpoint.get(name, ())),
                drift_metrics=tuple(drift.get(name, ())),
            )
        return result

    async def _schedule(self, sagemaker: Any, summary: dict[str, Any], result: MonitorPass,
                        now: dt.datetime) -> MonitoringScheduleInfo:
        name = summary["MonitoringScheduleName"]
        expression = None
        executions: list[MonitoringExecution] = []
        violations: tuple[Violation, ...] = ()
        source = None
        operation = "DescribeMonitoringSchedule"
        try:
            described = await sagemaker.describe_monitoring_schedule(MonitoringScheduleName=name)
            config = described.get("MonitoringScheduleConfig") or {}
            expression = (config.get("ScheduleConfig") or {}).get("ScheduleExpression")
            operation = "ListMonitoringExecutions"
            listed = await sagemaker.list_monitoring_executions(
                MonitoringScheduleName=name, SortBy="ScheduledTime", SortOrder="Descending",
                MaxResults=EXECUTIONS_KEPT)
            executions = [
                MonitoringExecution(
                    scheduled_time=e.get("ScheduledTime"),
                    status=e.get("MonitoringExecutionStatus", "Unknown"),
                    processing_job_arn=e.get("ProcessingJobArn"),
                    failure_reason=e.get("FailureReason"),
                )
                for e in listed.get("MonitoringExecutionSummaries", [])
            ]
            latest = next((e for e in executions if e.processing_job_arn and e.status in
                           ("Completed", "CompletedWithViolations")), None)
            if latest is not None and latest.processing_job_arn:
                operation = "DescribeProcessingJob"
                violations, source = await self._violations(sagemaker, latest.processing_job_arn)
        except RECOVERABLE as exc:
            result.errors.append(collector_error(exc, "model-monitor", self.region, "sagemaker",
                                                 operation, now))
        except (ValidationError, ValueError, KeyError) as exc:
            result.errors.append(CollectorError(
                source="model-monitor", region=self.region, operation=operation, at=now,
                message=f"unreadable Model Monitor result for {name}: "
                        f"{str(exc).splitlines()[0][:160]}"))
        return MonitoringScheduleInfo(
            name=name,
            monitoring_type=summary.get("MonitoringType"),
            status=summary.get("MonitoringScheduleStatus", "Unknown"),
            schedule_expression=expression,
            executions=tuple(executions),
            violations=violations,
            violations_source=source,
        )

    async def _violations(self, sagemaker: Any, job_arn: str
                          ) -> tuple[tuple[Violation, ...], str | None]:
        job = await sagemaker.describe_processing_job(ProcessingJobName=job_arn.split("/")[-1])
        outputs = (job.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        if not outputs:
            return (), None
        prefix = outputs[0]["S3Output"]["S3Uri"].rstrip("/")
        uri = f"{prefix}/{VIOLATIONS_FILE}"
        bucket, key = split_s3_uri(uri)
        s3 = await self.aws.client("s3", self.region)
        try:
            response = await s3.get_object(Bucket=bucket, Key=key)
            async with response["Body"] as body:
                raw = await body.read()
        except RECOVERABLE as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return (), None  # a clean run writes no violations file
            raise
        parsed = _ViolationFile.model_validate(json.loads(raw))
        return tuple(
            Violation(feature_name=v.feature_name or v.metric_name or v.facet,
                      check_type=v.constraint_check_type, description=v.description)
            for v in parsed.violations
        ), uri

    async def _drift_metrics(self, endpoints: set[str], result: MonitorPass, now: dt.datetime
                             ) -> dict[str, list[DriftMetric]]:
        cloudwatch = await self.aws.client("cloudwatch", self.region)
        found: list[tuple[str, dict[str, Any]]] = []
        seen: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
        try:
            for namespace in DRIFT_NAMESPACES:
                paginator = cloudwatch.get_paginator("list_metrics")
                async for page in paginator.paginate(Namespace=namespace):
                    for metric in page.get("Metrics", []):
                        dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
                        owner = next((dims[d] for d in ENDPOINT_DIMENSIONS
                                      if dims.get(d) in endpoints), None)
                        identity = (namespace, metric["MetricName"], tuple(sorted(dims.items())))
                        if owner and metric["MetricName"].startswith(DRIFT_PREFIX) and \
                                identity not in seen:
                            seen.add(identity)  # some servers list a metric more than once
                            found.append((owner, metric))
            latest = await self._latest_values(cloudwatch, [m for _, m in found], now)
        except RECOVERABLE as exc:
            result.errors.append(collector_error(exc, "model-monitor", self.region, "cloudwatch",
                                                 "ListMetrics", now))
            return {}
        drift: dict[str, list[DriftMetric]] = {}
        for index, (owner, metric) in enumerate(found):
            value, at = latest.get(index, (None, None))
            drift.setdefault(owner, []).append(DriftMetric(
                namespace=metric["Namespace"], metric_name=metric["MetricName"],
                dimensions=tuple((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])),
                latest_value=value, latest_time=at))
        return drift

    async def _latest_values(self, cloudwatch: Any, metrics: list[dict[str, Any]],
                             now: dt.datetime) -> dict[int, tuple[float, dt.datetime]]:
        """The newest hourly value of each drift metric over the last two days."""
        latest: dict[int, tuple[float, dt.datetime]] = {}
        for offset in range(0, len(metrics), 500):
            chunk = metrics[offset:offset + 500]
            queries = [{"Id": f"d{offset + i}", "ReturnData": True,
                        "MetricStat": {"Metric": m, "Period": 3600, "Stat": "Maximum"}}
                       for i, m in enumerate(chunk)]
            paginator = cloudwatch.get_paginator("get_metric_data")
            async for page in paginator.paginate(
                    MetricDataQueries=queries, StartTime=now - dt.timedelta(days=2), EndTime=now):
                for item in page.get("MetricDataResults", []):
                    stamps = epoch_seconds(item.get("Timestamps"))
                    values = np.asarray(item.get("Values", ()), dtype=np.float64)
                    if not min(len(stamps), len(values)):
                        continue
                    newest = int(np.argmax(stamps[:len(values)]))
                    at = dt.datetime.fromtimestamp(float(stamps[newest]), dt.UTC)
                    index = int(item["Id"][1:])
                    if index not in latest or latest[index][1] < at:
                        latest[index] = (float(values[newest]), at)
        return latest
