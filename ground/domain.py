"""The typed snapshot of a SageMaker inference fleet: what collectors produce, everyone reads.

Nothing here imports boto. Time series live in `MetricStore` as pandas frames; everything else is
pydantic so that the report, the profiles and the TUI all see the same validated shapes.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeploymentOption(StrEnum):
    REAL_TIME = "real-time"
    SERVERLESS = "serverless"
    ASYNC = "async"
    MULTI_MODEL = "multi-model"
    MULTI_CONTAINER = "multi-container"
    INFERENCE_COMPONENTS = "inference-components"
    BATCH = "batch"


class ContainerInfo(Frozen):
    image: str
    hostname: str | None = None
    mode: str = "SingleModel"  # SingleModel | MultiModel
    model_data_url: str | None = None
    environment_keys: tuple[str, ...] = ()
    repository_access_mode: str = "Platform"  # Platform (ECR) | Vpc (private registry)
    model_bytes: int | None = None  # size of the model artefact (S3 HEAD); None when unknown


class ModelInfo(Frozen):
    name: str
    containers: tuple[ContainerInfo, ...]
    # Serial = inference pipeline, Direct = multi-container direct invocation, None = one container.
    inference_mode: str | None = None
    vpc: bool = False
    network_isolation: bool = False
    creation_time: dt.datetime | None = None


class ServerlessSettings(Frozen):
    memory_mb: int
    max_concurrency: int
    provisioned_concurrency: int | None = None


class ScalingPolicyInfo(Frozen):
    name: str
    policy_type: str
    target_value: float | None = None
    metric: str | None = None


class AutoscalingInfo(Frozen):
    min_capacity: int
    max_capacity: int
    scalable_dimension: str = "sagemaker:variant:DesiredInstanceCount"
    policies: tuple[ScalingPolicyInfo, ...] = ()
    suspended: bool = False

    @property
    def scales(self) -> bool:
        """A scalable target without a policy does not scale."""
        return bool(self.policies) and not self.suspended


class VariantSnapshot(Frozen):
    name: str
    model_name: str | None = None
    instance_type: str | None = None  # None for serverless variants
    current_instance_count: int = 0
    desired_instance_count: int = 0
    serverless: ServerlessSettings | None = None
    weight: float = 1.0
    volume_size_gb: int | None = None
    shadow: bool = False
    model: ModelInfo | None = None
    autoscaling: AutoscalingInfo | None = None


class DataCaptureInfo(Frozen):
    enabled: bool = False
    sampling_percentage: int | None = None
    destination_s3_uri: str | None = None


class AsyncSettings(Frozen):
    max_concurrent_invocations_per_instance: int | None = None
    s3_output_path: str | None = None


class Violation(Frozen):
    feature_name: str | None = None
    check_type: str
    description: str = ""


class MonitoringExecution(Frozen):
    scheduled_time: dt.datetime | None = None
    status: str
    processing_job_arn: str | None = None
    failure_reason: str | None = None


class MonitoringScheduleInfo(Frozen):
    name: str
    monitoring_type: str | None = None
    status: str
    schedule_expression: str | None = None
    executions: tuple[MonitoringExecution, ...] = ()
    violations: tuple[Violation, ...] = ()
    violations_source: str | None = None  # s3:// URI the violations were read from


class DriftMetric(Frozen):
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    latest_value: float | None = None
    latest_time: dt.datetime | None = None


class ModelMonitorState(Frozen):
    schedules: tuple[MonitoringScheduleInfo, ...] = ()
    drift_metrics: tuple[DriftMetric, ...] = ()
    error: str | None = None  # e.g. "no permission for sagemaker:ListMonitoringSchedules"

    @property
    def violation_count(self) -> int:
        return sum(len(s.violations) for s in self.schedules)


class EndpointSnapshot(Frozen):
    name: str
    arn: str
    region: str
    status: str
    deployment: DeploymentOption
    creation_time: dt.datetime
    last_modified_time: dt.datetime
    config_name: str | None = None
    config_creation_time: dt.datetime | None = None
    # Creation times of this endpoint's configs seen in the region (newest first): the history
    # that tells how often the endpoint is updated.
    config_history: tuple[dt.datetime, ...] = ()
    variants: tuple[VariantSnapshot, ...] = ()
    tags: dict[str, str] = Field(default_factory=dict)
    data_capture: DataCaptureInfo = DataCaptureInfo()
    async_settings: AsyncSettings | None = None
    kms_key_id: str | None = None
    failure_reason: str | None = None
    metric_publish_frequency_s: int = 60
    monitor: ModelMonitorState = ModelMonitorState()
    # False while only ListEndpoints has answered: name, status and times are known, the
    # configuration (variants, deployment option) is not yet.
    described: bool = True

    @property
    def key(self) -> str:
        """Endpoint names are unique per region, not per account."""
        return f"{self.region}/{self.name}"

    @property
    def serving_variants(self) -> tuple[VariantSnapshot, ...]:
        return tuple(v for v in self.variants if not v.shadow)

    @property
    def instance_count(self) -> int:
        return sum(v.current_instance_count for v in self.variants if v.serverless is None)


class ProvisioningRow(Frozen):
    """Instances in use in one region by one kind of workload."""

    region: str
    workload: str  # training | batch-transform | real-time | async | notebook
    instance_type: str
    instance_count: int
    jobs: int = 1


class CollectorError(Frozen):
    """One failure of one part of the collection, kept so the UI can show it without blanking."""

    source: str  # inventory | metrics | model-monitor | autoscaling | provisioning | tags
    region: str
    operation: str | None
    message: str
    at: dt.datetime
    permission: bool = False  # AccessDenied: "no permission for <action>"


class RequestStats(Frozen):
    """What the session has asked of AWS so far."""

    calls_by_operation: dict[str, int] = Field(default_factory=dict)
    throttles: int = 0
    errors: int = 0
    metrics_requested: int = 0  # GetMetricData queries: what CloudWatch bills
    datapoints_received: int = 0
    cloudwatch_usd: float = 0.0

    @property
    def total_calls(self) -> int:
        return sum(self.calls_by_operation.values())


class MetricStore:
    """Time series of the fleet, one pandas frame per series and resolution.

    * `window`: one row per (endpoint key, variant), one column per series; statistics over the
      whole lookback, computed by CloudWatch (percentiles included).
    * `hourly[series]` and `live[series]`: index = UTC timestamps (hour or minute), columns =
      (endpoint key, variant). Count series are 0 where the endpoint served but nobody called.

    CPU and GPU values are already per instance (0-100 %), never summed over cores.
    Endpoint-level metrics (async backlog) use the variant name "".
    """

    def __init__(
        self,
        window: pd.DataFrame | None = None,
        hourly: dict[str, pd.DataFrame] | None = None,
        live: dict[str, pd.DataFrame] | None = None,
        window_start: dt.datetime | None = None,
        window_end: dt.datetime | None = None,
    ) -> None:
        self.window = window if window is not None else empty_window_frame()
        self.hourly: dict[str, pd.DataFrame] = hourly or {}
        self.live: dict[str, pd.DataFrame] = live or {}
        self.window_start = window_start
        self.window_end = window_end
        # Per-endpoint lookups are made thousands of times per analysis; label lookups on
        # MultiIndex frames cost ~0.5 ms each, so index them once (frames are never mutated).
        self._window_rows: dict[Any, dict[Any, Any]] | None = None
        self._columns: dict[tuple[str, str], dict[str, list[int]]] = {}

    def window_value(self, endpoint_key: str, variant: str, series: str) -> float | None:
        rows = self._window_rows
        if rows is None:
            rows = self._window_rows = (self.window.to_dict("index") if not self.window.empty
                                        else {})
        row = rows.get((endpoint_key, variant))
        value = None if row is None else row.get(series)
        return None if value is None or pd.isna(value) else float(value)

    def endpoint_window(self, endpoint_key: str) -> pd.DataFrame:
        if self.window.empty:
            return self.window
        try:
            rows: pd.DataFrame = self.window.loc[[endpoint_key]]
            return rows
        except KeyError:
            return self.window.iloc[0:0]

    def series(self, tier: str, series: str, endpoint_key: str) -> pd.DataFrame:
        """The columns of one endpoint (one per variant) in an hourly or live series."""
        frames = self.hourly if tier == "hourly" else self.live
        frame = frames.get(series)
        if frame is None or frame.empty:
            return pd.DataFrame()
        positions = self._columns.get((tier, series))
        if positions is None:
            positions = {}
            for index, column in enumerate(frame.columns):
                positions.setdefault(str(column[0]), []).append(index)
            self._columns[(tier, series)] = positions
        return frame.iloc[:, positions.get(endpoint_key, [])]

    def datapoints(self) -> int:
        total = int(self.window.notna().sum().sum()) if not self.window.empty else 0
        for frames in (self.hourly, self.live):
            for frame in frames.values():
                total += int(frame.notna().sum().sum())
        return total


def empty_window_frame() -> pd.DataFrame:
    index = pd.MultiIndex.from_tuples([], names=["endpoint", "variant"])
    return pd.DataFrame(index=index)


class FleetSnapshot(BaseModel):
    """One consistent view of the fleet at `collected_at`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    collected_at: dt.datetime
    account_id: str | None = None
    regions: tuple[str, ...]
    profile_name: str | None = None
    simulated: bool = False
    lookback_days: int = 14
    endpoints: tuple[EndpointSnapshot, ...] = ()
    provisioning: tuple[ProvisioningRow, ...] = ()
    metrics: MetricStore = Field(default_factory=MetricStore)
    errors: tuple[CollectorError, ...] = ()
    requests: RequestStats = RequestStats()

    def endpoint(self, key: str) -> EndpointSnapshot | None:
        for endpoint in self.endpoints:
            if endpoint.key == key or endpoint.name == key:
                return endpoint
        return None
