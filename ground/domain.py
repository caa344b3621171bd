"""The typed snapshot of a SageMaker inference fleet: what collectors produce, everyone reads.

Nothing here imports boto. Time series live in `MetricStore` as pandas frames; everything else is
pydantic so that the report, the profiles and the TUI all see the same validated shapes.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ground.untrusted import inert

# An error message is one line on a terminal: long enough for an AWS explanation, never a page.
ERROR_MESSAGE_CHARACTERS = 300


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

# Endpoint statuses in which an endpoint answers requests: Updating, SystemUpdating and
# RollingBack keep the running variants serving while they change. A count metric's missing
# datapoint means zero requests only then; any other status (Creating, Failed, OutOfService...)
# serves nothing, so no datapoint there is "no data".
SERVING_STATUSES = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack"})


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
    # A model built from a Model Registry package names it here (name or versioned ARN).
    model_package_name: str | None = None


class ModelInfo(Frozen):
    name: str
    containers: tuple[ContainerInfo, ...]
    # Serial = inference pipeline, Direct = multi-container direct invocation, None = one container.
    inference_mode: str | None = None
    vpc: bool = False
    network_isolation: bool = False
    creation_time: dt.datetime | None = None
    execution_role_arn: str | None = None


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


class ManagedInstanceScaling(Frozen):
    """Managed instance scaling of a variant (inference-component endpoints): SageMaker adds and
    releases instances as the components' copies need them, down to none when the minimum is 0."""

    enabled: bool
    min_instances: int | None = None
    max_instances: int | None = None
    scale_in_strategy: str | None = None  # IDLE_RELEASE | CONSOLIDATION


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
    managed_instance_scaling: ManagedInstanceScaling | None = None
    routing_strategy: str | None = None  # RoutingConfig.RoutingStrategy


# Inference components share the window and series frames with variants: their column is
# "ic:<name>" (SageMaker names allow letters, digits and dashes only, so no variant is called so).
COMPONENT_COLUMN_PREFIX = "ic:"


def component_column(name: str) -> str:
    return f"{COMPONENT_COLUMN_PREFIX}{name}"


def is_component_column(column: str) -> bool:
    return column.startswith(COMPONENT_COLUMN_PREFIX)


class ComponentResources(Frozen):
    """What one copy of an inference component reserves on its instance (None: not set)."""

    accelerators: int | None = None  # NumberOfAcceleratorDevicesRequired
    cpu_cores: float | None = None  # NumberOfCpuCoresRequired
    min_memory_mb: int | None = None  # MinMemoryRequiredInMb
    max_memory_mb: int | None = None  # MaxMemoryRequiredInMb


class InferenceComponentSnapshot(Frozen):
    """One inference component: a model with its copies on the instances of one variant."""

    name: str
    arn: str
    variant: str
    status: str  # InService | Creating | Updating | Failed | Deleting
    creation_time: dt.datetime
    last_modified_time: dt.datetime
    model_name: str | None = None
    image: str | None = None  # the container image (the model's, or the component's own)
    model: ModelInfo | None = None
    # An adapter component rides on its base component's copies and reserves nothing itself.
    base_component: str | None = None
    resources: ComponentResources = ComponentResources()
    desired_copies: int = 0
    current_copies: int = 0
    autoscaling: AutoscalingInfo | None = None  # target inference-component/<name>
    failure_reason: str | None = None

    @property
    def column(self) -> str:
        return component_column(self.name)


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


class CapacityStep(Frozen):
    """A share of the fleet moved per step of a deployment: instances or percent of capacity."""

    unit: str  # INSTANCE_COUNT | CAPACITY_PERCENT
    value: int

    @property
    def text(self) -> str:
        return f"{self.value} %" if self.unit == "CAPACITY_PERCENT" else f"{self.value} instance(s)"


class DeploymentGuardrails(Frozen):
    """DescribeEndpoint's LastDeploymentConfig: how the last update was rolled out.

    `strategy` is blue-green (SageMaker's default for every update) or rolling; `traffic` is how
    blue/green shifted traffic (all-at-once, canary, linear); `rollback_alarms` are the CloudWatch
    alarms that roll the update back automatically when they fire.
    """

    strategy: str  # blue-green | rolling
    traffic: str | None = None  # all-at-once | canary | linear (blue/green only)
    step: CapacityStep | None = None  # canary size, linear step, or rolling batch
    wait_s: int | None = None  # baking time between steps
    termination_wait_s: int | None = None  # blue fleet kept this long after the shift
    max_execution_s: int | None = None
    rollback_batch: CapacityStep | None = None  # rolling only
    rollback_alarms: tuple[str, ...] = ()


class RecommenderMetrics(Frozen):
    """What one Inference Recommender benchmark measured (ModelLatency in milliseconds)."""

    cost_per_hour_usd: float | None = None
    cost_per_inference_usd: float | None = None
    max_invocations_per_minute: int | None = None  # per instance, at the latency it reports
    model_latency_ms: float | None = None
    cpu_utilisation_pct: float | None = None
    memory_utilisation_pct: float | None = None


class InferenceRecommendation(Frozen):
    recommendation_id: str | None = None
    instance_type: str | None = None  # None: a serverless recommendation
    instance_count: int | None = None
    serverless_memory_mb: int | None = None
    serverless_max_concurrency: int | None = None
    metrics: RecommenderMetrics = RecommenderMetrics()
    environment: tuple[tuple[str, str], ...] = ()  # tuned container variables

    @property
    def label(self) -> str:
        if self.instance_type is None:
            return f"serverless {self.serverless_memory_mb or '?'} MB"
        return f"{self.instance_count or 1}x {self.instance_type}"


class RecommenderBenchmark(Frozen):
    """One step of a job (ListInferenceRecommendationsJobSteps): a configuration load-tested."""

    instance_type: str | None = None
    status: str
    failure_reason: str | None = None
    metrics: RecommenderMetrics = RecommenderMetrics()


class RecommenderJob(Frozen):
    """An Inference Recommender job, as listed and (for finished ones) described."""

    name: str
    arn: str
    region: str
    job_type: str  # Default (instance recommendation) | Advanced (load test)
    status: str  # PENDING | IN_PROGRESS | COMPLETED | FAILED | STOPPING | STOPPED ...
    created: dt.datetime
    completed: dt.datetime | None = None
    failure_reason: str | None = None
    model_name: str | None = None
    model_package_version_arn: str | None = None
    # The job's model as DescribeModel tells it (image and artefact), for matching a model
    # deployed under another name.
    model_image: str | None = None
    model_data_url: str | None = None
    sample_payload_url: str | None = None
    content_types: tuple[str, ...] = ()
    endpoint_names: tuple[str, ...] = ()  # existing endpoints it load-tested
    instance_types_tested: tuple[str, ...] = ()  # EndpointConfigurations asked for
    max_invocations_per_minute: int | None = None  # StoppingConditions: the load it assumed
    latency_thresholds_ms: tuple[tuple[str, int], ...] = ()  # (percentile, ms)
    recommendations: tuple[InferenceRecommendation, ...] = ()
    benchmarks: tuple[RecommenderBenchmark, ...] = ()
    # Set once the job is matched to an endpoint: how, and which variants it speaks for.
    matched_by: str | None = None
    variants: tuple[str, ...] = ()

    @property
    def finished_at(self) -> dt.datetime:
        return self.completed or self.created


class RecommenderState(Frozen):
    jobs: tuple[RecommenderJob, ...] = ()  # newest first
    error: str | None = None  # e.g. "no permission for sagemaker:ListInferenceRecommendationsJobs"


class AwsVerdict(Frozen):
    """A recommendation AWS itself makes: Compute Optimizer or Cost Optimization Hub."""

    source: str  # compute-optimizer | cost-optimization-hub
    resource_arn: str | None = None
    resource_type: str  # SageMakerEndpoint | SageMakerSavingsPlans
    region: str | None = None
    action: str  # Idle | Unused | Delete | Stop | Rightsize | ScaleIn | PurchaseSavingsPlans...
    description: str = ""
    monthly_savings_usd: float | None = None
    savings_pct: float | None = None
    lookback_days: float | None = None
    refreshed_at: dt.datetime | None = None
    current_summary: str | None = None
    recommended_summary: str | None = None
    recommended_resource_type: str | None = None
    origin: str | None = None  # Cost Optimization Hub: the service the recommendation comes from


class VerdictSourceStatus(Frozen):
    """Whether an AWS advisor could be read: enabled, not enabled (opt-in), or failing."""

    source: str  # compute-optimizer | cost-optimization-hub
    region: str
    status: str  # enabled | not enabled | no permission | failed
    message: str = ""
    checked_at: dt.datetime | None = None


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
    inference_components: tuple[InferenceComponentSnapshot, ...] = ()
    # False while only ListEndpoints has answered: name, status and times are known, the
    # configuration (variants, deployment option) is not yet.
    described: bool = True
    # LastDeploymentConfig of DescribeEndpoint; None when the last update (if any) named none,
    # which means SageMaker's default: blue/green, all at once, no rollback alarms.
    deployment_config: DeploymentGuardrails | None = None
    recommender: RecommenderState = RecommenderState()
    aws_verdicts: tuple[AwsVerdict, ...] = ()
    # The account it is in (its name, or id), when more than one account is watched; None for
    # the one account of a single-account session, whose keys stay `region/name`.
    account: str | None = None

    @property
    def key(self) -> str:
        """Endpoint names are unique per region and account, not across accounts."""
        where = f"{self.region}/{self.name}"
        return f"{self.account}/{where}" if self.account is not None else where

    @property
    def serving_variants(self) -> tuple[VariantSnapshot, ...]:
        return tuple(v for v in self.variants if not v.shadow)

    @property
    def instance_count(self) -> int:
        return sum(v.current_instance_count for v in self.variants if v.serverless is None)

    def components_on(self, variant: str) -> tuple[InferenceComponentSnapshot, ...]:
        return tuple(c for c in self.inference_components if c.variant == variant)


class ProvisioningRow(Frozen):
    """Instances in use in one region by one kind of workload."""

    region: str
    workload: str  # training | batch-transform | real-time | async | notebook
    instance_type: str
    instance_count: int
    jobs: int = 1
    account: str | None = None  # which account, when more than one is watched


class CollectorError(Frozen):
    """One failure of one part of the collection, kept so the UI can show it without blanking."""

    source: str  # inventory | metrics | model-monitor | autoscaling | provisioning | tags
    region: str
    operation: str | None
    message: str
    at: dt.datetime
    permission: bool = False  # AccessDenied: "no permission for <action>"
    account: str | None = None  # which account, when more than one is watched

    @field_validator("message")
    @classmethod
    def _one_inert_line(cls, message: str) -> str:
        # Messages carry text from answers (any proxy or emulator can put escapes in them):
        # made inert here, once, whoever built the error.
        return inert(message, one_line=True, limit=ERROR_MESSAGE_CHARACTERS)


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
    Endpoint-level metrics (async backlog) use the variant name "". Inference components have
    their own rows and columns, named `component_column(name)`.
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
        # The advisors ask for the same endpoint's columns many times in one analysis, and a
        # positional take on a wide frame costs a millisecond or more each time.
        self._slices: dict[tuple[str, str, str], pd.DataFrame] = {}

    def window_value(self, endpoint_key: str, variant: str, series: str) -> float | None:
        rows = self._window_rows
        if rows is None:
            rows = self._window_rows = (self.window.to_dict("index") if not self.window.empty
                                        else {})
        row = rows.get((endpoint_key, variant))
        value = None if row is None else row.get(series)
        return None if value is None or pd.isna(value) else float(value)

    def series(self, tier: str, series: str, endpoint_key: str) -> pd.DataFrame:
        """The columns of one endpoint (one per variant) in an hourly or live series."""
        sliced = self._slices.get((tier, series, endpoint_key))
        if sliced is not None:
            return sliced
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
        wanted = positions.get(endpoint_key, [])
        # An endpoint's columns side by side (as merged frames keep them, sorted): a view of
        # the frame, not a copy held for the snapshot's life.
        contiguous = bool(wanted) and wanted == list(range(wanted[0], wanted[0] + len(wanted)))
        sliced = self._slices[(tier, series, endpoint_key)] = (
            frame.iloc[:, wanted[0]:wanted[0] + len(wanted)] if contiguous
            else frame.iloc[:, wanted])
        return sliced

    def datapoints(self) -> int:
        total = int(self.window.notna().sum().sum()) if not self.window.empty else 0
        for frames in (self.hourly, self.live):
            for frame in frames.values():
                total += int(frame.notna().sum().sum())
        return total


def empty_window_frame() -> pd.DataFrame:
    index = pd.MultiIndex.from_tuples([], names=["endpoint", "variant"])
    return pd.DataFrame(index=index)


class AccountStatus(Frozen):
    """One of the accounts watched together: who it is and whether its data is current."""

    name: str  # the configured or Organizations name; the account id when none is known
    account_id: str | None = None  # from STS GetCallerIdentity (None until it has answered)
    # Why its last refresh saw nothing of it (expired credentials, a role that cannot be
    # assumed, AccessDenied on every region's listing); None while it is live. Its last good
    # endpoints stay on screen, marked stale; the other accounts are unaffected.
    problem: str | None = None
    # The monitoring account its CloudWatch metrics are asked from (cross-account
    # observability), with the regions when not all of them; None: through its own credentials.
    metrics_via: str | None = None

    @property
    def stale(self) -> bool:
        return self.problem is not None


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
    # AWS's own advisors: whether each could be read, and what is not about one endpoint
    # (SageMaker Savings Plans purchases).
    verdict_sources: tuple[VerdictSourceStatus, ...] = ()
    account_verdicts: tuple[AwsVerdict, ...] = ()
    # The accounts watched together (empty for a single-account session).
    accounts: tuple[AccountStatus, ...] = ()
    # Endpoint keys shown from the local state store (saved at `stored_at`) that AWS has not
    # confirmed yet this session: each such row carries its age until its listing answers.
    unconfirmed: frozenset[str] = frozenset()
    stored_at: dt.datetime | None = None

    @property
    def unseen(self) -> bool:
        """The collection saw nothing of the fleet: no credentials, or no region could be
        listed (in every account, when several are watched). Its empty endpoint list is then
        not an empty account."""
        if self.accounts:
            return all(a.stale for a in self.accounts)
        unlisted = {e.region for e in self.errors if e.operation == "ListEndpoints"}
        return any(e.source == "credentials" for e in self.errors) or (
            bool(unlisted) and set(self.regions) <= unlisted)

    def endpoint(self, key: str) -> EndpointSnapshot | None:
        for endpoint in self.endpoints:
            if endpoint.key == key or endpoint.name == key:
                return endpoint
        return None
