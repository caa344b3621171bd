"""The ML profile of one endpoint (AWS Well-Architected ML Lens MLOE-05) and the fleet summary.

Every characteristic carries where its value comes from (`origin`), its unit and a note, so a reader
of the YAML can tell a measured number from a configured one, a guess or a business requirement.
Field order is the file's key order: keep it meaningful (what, where, how big, how busy, how safe,
how much) and append rather than reorder, since people diff these files.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from advisors.traffic import TrafficPattern as TrafficPattern  # part of the profile schema
from ground.domain import DeploymentOption
from ground.images import ContainerSource as ContainerSource  # part of the profile schema
from ground.requirements import Environment
from ground.schedule import OffHoursSchedule
from profiles.errors import PROFILE_RULE
from profiles.shape import ComponentShape, TargetShape, VariantShape, target_problems

SCHEMA_VERSION: Literal[1] = 1

ValueT = TypeVar("ValueT")


class Origin(StrEnum):
    OBSERVED = "observed"  # measured: CloudWatch, Describe* answers, S3 HEAD
    CONFIGURED = "configured"  # read from the endpoint's configuration as deployed
    INFERRED = "inferred"  # derived by sagetop from other values (rules, estimates)
    REQUIRED = "required"  # a business requirement from sagetop's configuration
    RECOMMENDED = "recommended"  # measured by an Inference Recommender load test


class Bound(StrEnum):
    """The value is a bound, not a measurement: the true value is at least / at most this."""

    AT_LEAST = "at-least"
    AT_MOST = "at-most"


class ScaleToZero(StrEnum):
    """Whether capacity goes away when nobody calls (sustainability: idle capacity switched off)."""

    SCALES_TO_ZERO = "scales to zero"  # serverless, async or components at MinCapacity 0
    OFF_HOURS = "off-hours schedule"  # capacity lowered outside working hours
    POSSIBLE = "possible, not used"  # the deployment and requirements allow it
    NOT_POSSIBLE = "not possible"  # real-time production capacity the requirements keep


class ProfileKind(StrEnum):
    CURRENT = "current"
    TARGET = "target"


class PipelineShape(StrEnum):
    SINGLE = "single"  # one container answers the request
    CHAINED = "chained"  # an inference pipeline: containers run in series


class LatencyClass(StrEnum):
    REAL_TIME_INTERACTIVE = "real-time-interactive"  # p99 < 100 ms
    REAL_TIME = "real-time"  # p99 < 1 s
    NEAR_REAL_TIME = "near-real-time"  # p99 < 60 s
    OFFLINE = "offline"  # p99 >= 60 s: beyond what a real-time invocation may take


class ProfileModel(BaseModel):
    # Hand-edited files: a misspelt key must be an error, not silently ignored.
    model_config = ConfigDict(extra="forbid")


class Characteristic(ProfileModel, Generic[ValueT]):
    """One characteristic of the profile: its value (None = unknown) and where it comes from."""

    value: ValueT | None = None
    origin: Origin
    unit: str | None = None
    bound: Bound | None = None
    source: str | None = None  # what was read or which rule decided, e.g. "CloudWatch ModelLatency"
    note: str = ""
    # Target profiles only: the finding kind whose accepted change set this value, and its change id
    # (the link into the rationale document).
    rationale: str | None = None
    change: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_value_is_shorthand(cls, data: Any) -> Any:
        # People editing a target by hand write `instance_count: 2`; read it as a configured value
        # so that the mistake that matters (a wrong value) is the one reported.
        if isinstance(data, dict):
            return data
        return {"value": data, "origin": Origin.CONFIGURED}


class VariantProfile(ProfileModel):
    name: str
    shadow: bool = False
    weight: float | None = None
    instance_type: Characteristic[str]
    instance_count: Characteristic[int]
    min_instances: Characteristic[int]
    max_instances: Characteristic[int]
    autoscaling: Characteristic[bool]
    serverless_memory_mb: Characteristic[int]
    serverless_max_concurrency: Characteristic[int]
    cpu_p95_pct: Characteristic[float]
    memory_p95_pct: Characteristic[float]
    gpu_p95_pct: Characteristic[float]
    # The instance size "as suggested by the inference recommender" (MLOE-05): the first
    # recommendation of the latest finished job for this variant's model, origin `recommended`.
    recommended_instance_type: Characteristic[str] = Field(
        default_factory=lambda: Characteristic[str](value=None, origin=Origin.RECOMMENDED,
                                                    note="not recorded"))
    recommended_instance_count: Characteristic[int] = Field(
        default_factory=lambda: Characteristic[int](value=None, origin=Origin.RECOMMENDED,
                                                    unit="instances", note="not recorded"))
    # The target value of the variant's per-instance target-tracking policy. A default, so that
    # profiles written before it existed still read.
    scaling_target_value: Characteristic[float] = Field(
        default_factory=lambda: Characteristic[float](
            value=None, origin=Origin.CONFIGURED, source="Application Auto Scaling",
            note="not recorded"))
    # Application Auto Scaling scheduled actions lowering the capacity outside working hours
    # (None: none known; sagetop reads no scheduled actions, so a current profile says so). A
    # target holds the two actions as one typed schedule (`ground.schedule`).
    off_hours_schedule: Characteristic[OffHoursSchedule] = Field(
        default_factory=lambda: Characteristic[OffHoursSchedule](
            value=None, origin=Origin.CONFIGURED, source="Application Auto Scaling",
            note="scheduled actions are not read"))
    # The busiest per-instance resource (p95) as the advisors size on it: CPU, memory, GPU or
    # GPU memory (left out for LLM servers, which preallocate it), and its utilisation. Defaults,
    # so that profiles written before they existed still read.
    busiest_resource: Characteristic[str] = Field(
        default_factory=lambda: Characteristic[str](value=None, origin=Origin.OBSERVED,
                                                    note="not recorded"))
    busiest_resource_pct: Characteristic[float] = Field(
        default_factory=lambda: Characteristic[float](value=None, origin=Origin.OBSERVED,
                                                      unit="percent per instance",
                                                      note="not recorded"))


class ComponentProfile(ProfileModel):
    """One inference component: a model with its copies on the instances of a variant."""

    name: str
    variant: str
    model: Characteristic[str]
    copies: Characteristic[int]
    min_copies: Characteristic[int]
    max_copies: Characteristic[int]
    copies_autoscaling: Characteristic[bool]
    accelerators_per_copy: Characteristic[int]
    cpu_cores_per_copy: Characteristic[float]
    memory_mb_per_copy: Characteristic[int]
    reserved_share_pct: Characteristic[float]
    requests_per_day: Characteristic[float]
    p99_latency_ms: Characteristic[float]
    monthly_cost_usd: Characteristic[float]
    off_hours_schedule: Characteristic[OffHoursSchedule] = Field(
        default_factory=lambda: Characteristic[OffHoursSchedule](
            value=None, origin=Origin.CONFIGURED, source="Application Auto Scaling",
            note="scheduled actions are not read"))


class CarbonEstimate(ProfileModel):
    """Estimated energy and emissions a month, with the range and what they rest on."""

    kwh: float
    kwh_low: float
    kwh_high: float
    kgco2e: float
    kgco2e_low: float
    kgco2e_high: float
    embodied_kgco2e: float
    coefficients: str  # the coefficient set, its version and retrieval date
    method: str = ""
    notes: list[str] = Field(default_factory=list)


class NetworkSecurity(ProfileModel):
    kms_key: Characteristic[bool]
    vpc: Characteristic[bool]
    network_isolation: Characteristic[bool]
    multi_variant: Characteristic[bool]
    third_party_registry: Characteristic[bool]
    data_capture: Characteristic[bool]


class BusinessRequirements(ProfileModel):
    """The requirements the profile was judged against, with where each came from."""

    environment: Environment | None = None
    p99_latency_ms: float | None = None
    cold_start_tolerance_ms: float | None = None
    max_payload_mb: float | None = None
    min_instances: int | None = None
    sources: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)


class AppliedChange(ProfileModel):
    """A suggested change considered for the target profile, applied or not, and why."""

    id: str
    finding: str  # finding kind
    characteristic: str
    variant: str | None = None
    component: str | None = None
    current: Any = None
    proposed: Any = None
    applied: bool
    reason: str = ""
    # The plan's option that made (or would have made) it; a value the plan's changes imply
    # says so in `reason`.
    option: str | None = None


class MLProfile(ProfileModel):
    schema_version: Literal[1] = SCHEMA_VERSION
    kind: ProfileKind
    endpoint: str
    region: str
    generated_at: dt.datetime
    deployment_option: Characteristic[DeploymentOption]
    location: Characteristic[str]
    pipeline_shape: Characteristic[PipelineShape]
    models_per_endpoint: Characteristic[int]
    model_size_bytes: Characteristic[int]
    frameworks: Characteristic[list[str]]
    container: Characteristic[ContainerSource]
    variants: list[VariantProfile]
    # Inference-component endpoints: the models sharing the variants' instances (older files
    # have none).
    inference_components: list[ComponentProfile] = Field(default_factory=list)
    retraining_frequency_days: Characteristic[float]
    update_frequency_days: Characteristic[float]
    traffic_pattern: Characteristic[TrafficPattern]
    requests_per_day: Characteristic[float]
    error_rate_5xx_pct: Characteristic[float]
    p99_latency_ms: Characteristic[float]
    latency_class: Characteristic[LatencyClass]
    concurrency: Characteristic[float]
    payload_size_mb: Characteristic[float]
    cold_start_tolerance_ms: Characteristic[float]
    network_security: NetworkSecurity
    model_monitor_schedules: Characteristic[int]
    monthly_cost_usd: Characteristic[float]
    requirements: BusinessRequirements
    tags: dict[str, str] = Field(default_factory=dict)
    changes: list[AppliedChange] = Field(default_factory=list)
    # How updates are rolled out (DescribeEndpoint LastDeploymentConfig) and whether they roll
    # back on their own: blue-green-all-at-once | blue-green-canary | blue-green-linear | rolling.
    deployment_strategy: Characteristic[str] = Field(
        default_factory=lambda: Characteristic[str](value=None, origin=Origin.CONFIGURED,
                                                    note="not recorded"))
    auto_rollback: Characteristic[bool] = Field(
        default_factory=lambda: Characteristic[bool](value=None, origin=Origin.CONFIGURED,
                                                     note="not recorded"))
    # Sustainability (estimates, `ground.energy`): energy and carbon a month, the mean use of the
    # capacity paid for, the hours it idles, and whether it scales to zero. Defaults, so that
    # profiles written before them still read.
    monthly_energy_kwh: Characteristic[float] = Field(
        default_factory=lambda: Characteristic[float](value=None, origin=Origin.INFERRED,
                                                      unit="kWh per month",
                                                      note="not recorded"))
    monthly_carbon_kgco2e: Characteristic[float] = Field(
        default_factory=lambda: Characteristic[float](value=None, origin=Origin.INFERRED,
                                                      unit="kgCO2e per month",
                                                      note="not recorded"))
    carbon: CarbonEstimate | None = None
    capacity_utilisation_pct: Characteristic[float] = Field(
        default_factory=lambda: Characteristic[float](value=None, origin=Origin.OBSERVED,
                                                      unit="percent", note="not recorded"))
    idle_hours_pct: Characteristic[float] = Field(
        default_factory=lambda: Characteristic[float](value=None, origin=Origin.OBSERVED,
                                                      unit="percent of hours",
                                                      note="not recorded"))
    scale_to_zero: Characteristic[ScaleToZero] = Field(
        default_factory=lambda: Characteristic[ScaleToZero](value=None,
                                                            origin=Origin.INFERRED,
                                                            note="not recorded"))

    @model_validator(mode="after")
    def _target_agrees_with_itself(self) -> MLProfile:
        """A target's characteristics must agree (profiles.shape.target_problems): what the
        planner checks before it offers a plan, and what `profile validate` checks by hand."""
        if self.kind is ProfileKind.TARGET:
            problems = target_problems(self.shape())
            if problems:
                raise PydanticCustomError(PROFILE_RULE, "{problems}",
                                          {"problems": "; ".join(problems),
                                           "each": tuple(problems)})
        return self

    def shape(self) -> TargetShape:
        """What the cross-field rules read: the values, without origins and notes."""
        deployment = self.deployment_option
        return TargetShape(
            deployment_option=deployment.value,
            variants=[VariantShape(
                name=v.name, shadow=v.shadow, instance_type=v.instance_type.value,
                instance_count=v.instance_count.value, min_instances=v.min_instances.value,
                max_instances=v.max_instances.value, autoscaling=v.autoscaling.value,
                scaling_target_value=v.scaling_target_value.value,
                serverless_memory_mb=v.serverless_memory_mb.value,
                serverless_max_concurrency=v.serverless_max_concurrency.value,
                off_hours_schedule=v.off_hours_schedule.value)
                for v in self.variants],
            components=[ComponentShape(name=c.name, copies=c.copies.value,
                                       min_copies=c.min_copies.value,
                                       max_copies=c.max_copies.value,
                                       copies_autoscaling=c.copies_autoscaling.value,
                                       off_hours_schedule=c.off_hours_schedule.value)
                        for c in self.inference_components],
            models_per_endpoint=self.models_per_endpoint.value,
            data_capture=self.network_security.data_capture.value,
            auto_rollback=self.auto_rollback.value,
            monthly_cost_usd=self.monthly_cost_usd.value,
            # Read from the account (configured, with its source) or proposed.
            deployment_changed=not (deployment.origin is Origin.CONFIGURED
                                    and deployment.source is not None))

    @property
    def key(self) -> str:
        return f"{self.region}/{self.endpoint}"

    @property
    def serving_variants(self) -> list[VariantProfile]:
        return [v for v in self.variants if not v.shadow]


def characteristic_fields(model: type[BaseModel]) -> dict[str, type[Characteristic[Any]]]:
    """The fields of `model` that are characteristics, with their (parametrised) types."""
    fields: dict[str, type[Characteristic[Any]]] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Characteristic):
            fields[name] = annotation
    return fields


def characteristic_names() -> frozenset[str]:
    """Every characteristic name in the profile, wherever it sits."""
    return frozenset(characteristic_fields(MLProfile)) | frozenset(
        characteristic_fields(VariantProfile)) | frozenset(
        characteristic_fields(NetworkSecurity)) | frozenset(
        characteristic_fields(ComponentProfile))


class PillarLevelCount(ProfileModel):
    """How many endpoints sit at each maturity level for one pillar."""

    initial: int = 0
    managed: int = 0
    defined: int = 0
    optimised: int = 0
    not_judged: int = 0
    median_level: int | None = None


class ProvisioningEntry(ProfileModel):
    region: str
    workload: str
    instance_type: str
    instance_count: int
    jobs: int


class FleetSummary(ProfileModel):
    schema_version: Literal[1] = SCHEMA_VERSION
    generated_at: dt.datetime
    collected_at: dt.datetime
    account_id: str | None = None
    regions: list[str]
    endpoints: int
    instances: int
    serverless_endpoints: int
    monthly_cost_usd: float
    endpoints_without_price: int
    price_sources: list[str]
    target_monthly_cost_usd: float
    # The plans' savings by the finding kind that opened the chosen option: the values add up
    # to accepted_savings_usd, the one savings figure the dashboard and the report show too.
    savings_usd_by_finding_kind: dict[str, float]
    accepted_savings_usd: float
    # Estimated energy and carbon a month of the fleet today and after the accepted changes,
    # and the changes ranked by what they save (each: endpoint, finding kind, summary,
    # monthly_savings_usd, monthly_savings_kgco2e).
    monthly_energy_kwh: float | None = None
    monthly_carbon_kgco2e: float | None = None
    monthly_carbon_kgco2e_low: float | None = None
    monthly_carbon_kgco2e_high: float | None = None
    endpoints_without_carbon: int = 0
    target_monthly_carbon_kgco2e: float | None = None
    carbon_coefficients: str = ""
    top_changes_by_usd: list[dict[str, Any]] = Field(default_factory=list)
    greenest_changes: list[dict[str, Any]] = Field(default_factory=list)
    maturity_by_pillar: dict[str, PillarLevelCount]
    provisioning: list[ProvisioningEntry]
    # Second opinions: AWS's advisors and Inference Recommender against sagetop, counted
    # (agree, aws_only, sagetop_only, recommender_agree, production_wins, load_test_wins,
    # experiments_suggested), and the state of each AWS advisor ("compute-optimizer us-east-1":
    # enabled | not enabled | no permission | failed).
    second_opinions: dict[str, int] = Field(default_factory=dict)
    aws_advisors: dict[str, str] = Field(default_factory=dict)
    # How the plans' savings come about (older summaries have none).
    endpoints_saving: int = 0
    endpoints_costing_more: int = 0  # plans that cost more to meet a requirement
    unpriced_options: int = 0  # chosen options whose effect on the bill is not priced
    covered_findings: int = 0  # findings whose change another option already makes
    monthly_kgco2e_saved: float | None = None  # None: no option carries a carbon figure
