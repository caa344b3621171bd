"""How mature an endpoint's ML profile is, per characteristic and per Well-Architected pillar.

Four levels: 1 initial (ad hoc, a known gap), 2 managed (works, by defaults or by hand),
3 defined (a deliberate, documented setting), 4 optimised (the setting also fits the workload).
Each judgeable characteristic gets a level and a one-line reason with its numbers; a pillar's level
is the floored mean of its characteristics, never more than one level above the weakest, so a
single serious gap still shows. Thresholds come from `[maturity]` in config.toml; whether the
busiest resource is saturated is the advisors' `saturation_pct` (`[advisors]`), handed in, so that
a finding and the maturity never disagree on it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from enum import IntEnum, StrEnum
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ground.domain import DeploymentOption
from ground.errors import ConfigError
from ground.requirements import Environment
from ground.validation import describe_validation
from profiles.model import (
    Bound,
    ContainerSource,
    MLProfile,
    ScaleToZero,
    TrafficPattern,
    VariantProfile,
)

DAYS_PER_MONTH = 730.0 / 24.0  # the 730-hour month the prices use


class MaturityLevel(IntEnum):
    INITIAL = 1
    MANAGED = 2
    DEFINED = 3
    OPTIMISED = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class Pillar(StrEnum):
    OPERATIONAL_EXCELLENCE = "operational-excellence"
    SECURITY = "security"
    RELIABILITY = "reliability"
    PERFORMANCE_EFFICIENCY = "performance-efficiency"
    COST_OPTIMISATION = "cost-optimisation"
    SUSTAINABILITY = "sustainability"

    @property
    def display_name(self) -> str:
        return self.value.replace("-", " ").capitalize()


class MaturitySettings(BaseModel):
    """`[maturity]` thresholds. Each key is the bar a value must clear to reach that level."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Instances (per serving variant, the autoscaling minimum if any) needed to be "managed":
    # 2 is the smallest fleet SageMaker spreads over two Availability Zones.
    min_instances_managed: int = Field(default=2, ge=1, le=100)
    # 5XX share of requests (percent) at or under which reliability is managed / defined /
    # optimised. 1 % spends a 99 % success SLO; 0.1 % and 0.01 % are the next two nines.
    error_rate_pct_managed: float = Field(default=1.0, ge=0, le=100)
    error_rate_pct_defined: float = Field(default=0.1, ge=0, le=100)
    error_rate_pct_optimised: float = Field(default=0.01, ge=0, le=100)
    # Observed p99 / objective p99 at or under which latency is "defined": 0.8 leaves 20 % headroom
    # for a load step before the objective is missed.
    latency_ratio_defined: float = Field(default=0.8, gt=0, le=1)
    # Busiest resource (p95 percent per instance, as the advisors judge it) at or above which the
    # instances are used at a managed / defined / optimised level. Below 10 % nine tenths of what
    # is paid for idles; 50 % is as full as a fleet can run while keeping headroom for a failure.
    utilisation_pct_managed: float = Field(default=10.0, ge=0, le=100)
    utilisation_pct_defined: float = Field(default=30.0, ge=0, le=100)
    utilisation_pct_optimised: float = Field(default=50.0, ge=0, le=100)
    # USD per 1,000 requests at or under which cost is managed / defined / optimised. A CPU
    # instance (~$0.2/h) answering one request a second costs ~$0.06 per 1,000; $1 means it
    # mostly waits, $0.01 means it is busy.
    cost_per_1k_requests_usd_managed: float = Field(default=1.0, ge=0)
    cost_per_1k_requests_usd_defined: float = Field(default=0.1, ge=0)
    cost_per_1k_requests_usd_optimised: float = Field(default=0.01, ge=0)
    # Days between endpoint updates (new endpoint configs) at or under which deployment is
    # managed / defined / optimised: yearly, quarterly, monthly. Regular updates mean patched
    # containers and a deployment path that is exercised.
    update_interval_days_managed: float = Field(default=365.0, gt=0)
    update_interval_days_defined: float = Field(default=90.0, gt=0)
    update_interval_days_optimised: float = Field(default=30.0, gt=0)
    # Days between model versions (model creation times) at or under which retraining is
    # managed / defined / optimised: models older than a year rarely match today's data.
    retraining_interval_days_managed: float = Field(default=365.0, gt=0)
    retraining_interval_days_defined: float = Field(default=90.0, gt=0)
    retraining_interval_days_optimised: float = Field(default=30.0, gt=0)
    # Sustainability. Mean use of the capacity paid for (the busier of CPU and GPU, percent,
    # averaged over the lookback) at or above which it is managed / defined / optimised. Means
    # run well under p95s: at 5 % nineteen twentieths of the energy keeps idle silicon warm;
    # 30 % on average is a well-filled fleet with headroom for its peaks.
    capacity_utilisation_pct_managed: float = Field(default=5.0, ge=0, le=100)
    capacity_utilisation_pct_defined: float = Field(default=15.0, ge=0, le=100)
    capacity_utilisation_pct_optimised: float = Field(default=30.0, ge=0, le=100)
    # Share of hours without a request (percent) at or under which capacity kept around the
    # clock is managed / defined / optimised. Idle three hours in four (75 %) is office hours
    # on weekdays; 25 % is a night's lull.
    idle_hours_pct_managed: float = Field(default=75.0, ge=0, le=100)
    idle_hours_pct_defined: float = Field(default=50.0, ge=0, le=100)
    idle_hours_pct_optimised: float = Field(default=25.0, ge=0, le=100)

    @classmethod
    def from_config(cls, raw: dict[str, Any], origin: str) -> MaturitySettings:
        """Validate the raw `[maturity]` table; every error is one line naming file and key."""
        try:
            settings = cls.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(describe_validation(exc, origin, section="maturity")) from None
        problem = settings.ordering_problem()
        if problem is not None:
            raise ConfigError(f"{origin}: maturity.{problem}")
        return settings

    def ordering_problem(self) -> str | None:
        """The first level bar out of order ("<key>: expected …, got …"), or None."""
        # Lower is better for these: managed >= defined >= optimised.
        descending = ("error_rate_pct", "cost_per_1k_requests_usd", "update_interval_days",
                      "retraining_interval_days", "idle_hours_pct")
        for stem in descending:
            problem = self._ordered(stem, lower_is_better=True)
            if problem:
                return problem
        for stem in ("utilisation_pct", "capacity_utilisation_pct"):
            problem = self._ordered(stem, lower_is_better=False)
            if problem:
                return problem
        return None

    def _ordered(self, stem: str, lower_is_better: bool) -> str | None:
        levels = ("managed", "defined", "optimised")
        for easier, harder in itertools.pairwise(levels):
            easier_bar = float(getattr(self, f"{stem}_{easier}"))
            harder_bar = float(getattr(self, f"{stem}_{harder}"))
            wrong = harder_bar > easier_bar if lower_is_better else harder_bar < easier_bar
            if wrong:
                relation = "at most" if lower_is_better else "at least"
                return (f"{stem}_{harder}: expected {relation} {stem}_{easier} "
                        f"({easier_bar}), got {harder_bar}")
        return None


class CharacteristicMaturity(BaseModel):
    model_config = ConfigDict(frozen=True)

    characteristic: str
    pillars: tuple[Pillar, ...]
    level: MaturityLevel | None  # None: not judged (unknown, or not applicable)
    reason: str


class PillarMaturity(BaseModel):
    model_config = ConfigDict(frozen=True)

    pillar: Pillar
    level: MaturityLevel | None
    judged: int
    weakest: str | None  # the characteristic holding the level down


class Maturity(BaseModel):
    model_config = ConfigDict(frozen=True)

    endpoint: str  # endpoint key
    profile_kind: str
    characteristics: tuple[CharacteristicMaturity, ...]
    pillars: tuple[PillarMaturity, ...]

    def pillar(self, pillar: Pillar) -> PillarMaturity:
        for entry in self.pillars:
            if entry.pillar is pillar:
                return entry
        raise KeyError(pillar)

    def characteristic(self, name: str) -> CharacteristicMaturity:
        for entry in self.characteristics:
            if entry.characteristic == name:
                return entry
        raise KeyError(name)


Judgement = tuple[MaturityLevel | None, str]
L = MaturityLevel


def _at_most(value: float, bars: tuple[float, float, float]) -> MaturityLevel:
    """Lower is better: the highest level whose bar the value is at or under."""
    managed, defined, optimised = bars
    if value <= optimised:
        return L.OPTIMISED
    if value <= defined:
        return L.DEFINED
    if value <= managed:
        return L.MANAGED
    return L.INITIAL


def _at_least(value: float, bars: tuple[float, float, float]) -> MaturityLevel:
    """Higher is better: the highest level whose bar the value is at or above."""
    managed, defined, optimised = bars
    if value >= optimised:
        return L.OPTIMISED
    if value >= defined:
        return L.DEFINED
    if value >= managed:
        return L.MANAGED
    return L.INITIAL


def _is_serverless(profile: MLProfile) -> bool:
    return profile.deployment_option.value is DeploymentOption.SERVERLESS


def _instance_variants(profile: MLProfile) -> list[VariantProfile]:
    return [v for v in profile.serving_variants if v.instance_type.value is not None]


def busiest_utilisation(profile: MLProfile) -> tuple[float, str] | None:
    """The busiest serving instance variant's busiest resource: (percent, "CPU on X").

    Which resource is busiest on a variant is the advisors' answer, recorded in the profile;
    here only the variants are compared.
    """
    best: tuple[float, str] | None = None
    for variant in _instance_variants(profile):
        value = variant.busiest_resource_pct.value
        if value is not None and (best is None or value > best[0]):
            best = (float(value), f"{variant.busiest_resource.value or 'resource'} on "
                                  f"{variant.name}")
    return best


def _judge_instance_count(profile: MLProfile, settings: MaturitySettings) -> Judgement:
    if _is_serverless(profile):
        return None, "serverless: SageMaker manages capacity and availability"
    variants = _instance_variants(profile)
    if not variants:
        return None, "no instance-based serving variant"
    minimums = [(v.min_instances.value if v.min_instances.value is not None
                 else v.instance_count.value, v) for v in variants]
    known = [(m, v) for m, v in minimums if m is not None]
    if not known:
        return None, "instance count unknown"
    smallest, variant = min(known, key=lambda pair: pair[0])
    required = profile.requirements.min_instances
    scales = all(v.autoscaling.value for v in variants)
    if profile.deployment_option.value is DeploymentOption.ASYNC and scales:
        return L.OPTIMISED, "async with autoscaling: the queue holds requests while it scales"
    if smallest < settings.min_instances_managed:
        return L.INITIAL, (f"{variant.name} can run on {smallest} instance(s): no redundancy "
                           f"(at least {settings.min_instances_managed} spread over zones)")
    if required is not None and smallest < required:
        return L.MANAGED, (f"{variant.name} minimum {smallest} instances, below the required "
                           f"{required}")
    if not scales:
        return L.MANAGED, f"at least {smallest} instances, fixed: no autoscaling policy"
    headroom = all((v.max_instances.value or 0) > (v.min_instances.value or 0) for v in variants)
    if not headroom:
        return L.DEFINED, f"at least {smallest} instances with autoscaling, but max = min"
    return L.OPTIMISED, f"at least {smallest} instances, autoscaling with room to grow"


def _judge_error_rate(profile: MLProfile, settings: MaturitySettings) -> Judgement:
    rate = profile.error_rate_5xx_pct.value
    if rate is None:
        return None, "no requests to measure errors on"
    level = _at_most(rate, (settings.error_rate_pct_managed, settings.error_rate_pct_defined,
                            settings.error_rate_pct_optimised))
    return level, f"5XX errors {rate:.4g} % of requests"


def _judge_boolean(value: bool | None, yes: Judgement, no: Judgement) -> Judgement:
    if value is None:
        return None, "unknown"
    return yes if value else no


def _judge_kms(profile: MLProfile, _: MaturitySettings) -> Judgement:
    return _judge_boolean(profile.network_security.kms_key.value,
                          (L.OPTIMISED, "customer managed KMS key on the storage volume"),
                          (L.MANAGED, "AWS managed encryption only (no customer KMS key)"))


def _judge_vpc(profile: MLProfile, _: MaturitySettings) -> Judgement:
    if _is_serverless(profile):
        return None, "serverless endpoints cannot run in a VPC"
    return _judge_boolean(profile.network_security.vpc.value,
                          (L.OPTIMISED, "models run in the account's VPC"),
                          (L.INITIAL, "models outside a VPC: no security groups on their traffic"))


def _judge_isolation(profile: MLProfile, _: MaturitySettings) -> Judgement:
    if _is_serverless(profile):
        return None, "serverless endpoints cannot use network isolation"
    return _judge_boolean(profile.network_security.network_isolation.value,
                          (L.OPTIMISED, "containers isolated from the network"),
                          (L.MANAGED, "containers may make outbound calls"))


def _judge_container(profile: MLProfile, _: MaturitySettings) -> Judgement:
    source = profile.container.value
    if source is None:
        return None, "no container known"
    levels = {
        ContainerSource.AWS_PREBUILT: (L.OPTIMISED, "AWS prebuilt image, patched by AWS"),
        ContainerSource.OWN_IMAGE: (L.DEFINED, "own image: its owner must patch it"),
        ContainerSource.THIRD_PARTY_REGISTRY: (
            L.MANAGED, "image from a private registry outside ECR (no ECR scanning)"),
    }
    return levels[source]


def _judge_latency(profile: MLProfile, settings: MaturitySettings,
                   saturation_pct: float) -> Judgement:
    observed = profile.p99_latency_ms.value
    objective = profile.requirements.p99_latency_ms
    if observed is None:
        return None, "no latency datapoints"
    if objective is None:
        return L.MANAGED, f"p99 {observed:.4g} ms measured, but no latency objective is defined"
    ratio = observed / objective
    text = f"p99 {observed:.4g} ms against an objective of {objective:.4g} ms ({ratio:.0%})"
    if ratio > 1.0:
        return L.INITIAL, f"{text}: misses it"
    busiest = busiest_utilisation(profile)
    if busiest is not None and busiest[0] >= saturation_pct:
        return L.MANAGED, f"{text}, but {busiest[1]} at {busiest[0]:.0f} %: no headroom"
    if ratio > settings.latency_ratio_defined:
        return L.MANAGED, f"{text}: little headroom"
    if busiest is not None and busiest[0] >= settings.utilisation_pct_defined:
        return L.OPTIMISED, f"{text}, with {busiest[1]} at {busiest[0]:.0f} %"
    return L.DEFINED, f"{text}, with headroom"


def _requests_per_day(profile: MLProfile) -> float | None:
    return profile.requests_per_day.value


def _judge_utilisation(profile: MLProfile, settings: MaturitySettings) -> Judgement:
    if _is_serverless(profile):
        return None, "serverless: billed per request, no instances to fill"
    if _requests_per_day(profile) == 0.0 and _instance_variants(profile):
        return L.INITIAL, "instances running without a single request"
    busiest = busiest_utilisation(profile)
    if busiest is None:
        return None, "no utilisation datapoints"
    level = _at_least(busiest[0], (settings.utilisation_pct_managed,
                                   settings.utilisation_pct_defined,
                                   settings.utilisation_pct_optimised))
    return level, f"busiest resource {busiest[1]} at {busiest[0]:.1f} % (p95)"


def _judge_cost_per_request(profile: MLProfile, settings: MaturitySettings) -> Judgement:
    cost = profile.monthly_cost_usd.value
    per_day = _requests_per_day(profile)
    if cost is None or per_day is None:
        return None, "cost or traffic unknown"
    if per_day <= 0:
        if cost > 0:
            return L.INITIAL, f"${cost:,.2f} a month for no requests"
        return None, "no cost and no requests"
    per_1k = cost / (per_day * DAYS_PER_MONTH) * 1000.0
    level = _at_most(per_1k, (settings.cost_per_1k_requests_usd_managed,
                              settings.cost_per_1k_requests_usd_defined,
                              settings.cost_per_1k_requests_usd_optimised))
    return level, f"${per_1k:.4g} per 1,000 requests (${cost:,.2f} a month)"


def _judge_demand_following(profile: MLProfile, _: MaturitySettings) -> Judgement:
    pattern = profile.traffic_pattern.value
    option = profile.deployment_option.value
    if option is DeploymentOption.SERVERLESS:
        return L.OPTIMISED, "serverless: capacity exists only while requests run"
    variants = _instance_variants(profile)
    scales = bool(variants) and all(v.autoscaling.value for v in variants)
    if pattern is None:
        return None, "traffic pattern unknown"
    if pattern is TrafficPattern.IDLE:
        return L.INITIAL, "idle: instances kept running for no traffic"
    if option is DeploymentOption.ASYNC and scales:
        return L.OPTIMISED, f"{pattern} traffic on async with autoscaling"
    if scales:
        return L.DEFINED, f"{pattern} traffic; capacity follows it through autoscaling"
    if pattern is TrafficPattern.STEADY:
        return L.DEFINED, "steady traffic on a fixed fleet"
    return L.MANAGED, f"{pattern} traffic on a fixed fleet sized for the peak"


def _capacity_follows_traffic(profile: MLProfile) -> bool:
    return profile.scale_to_zero.value in (ScaleToZero.SCALES_TO_ZERO, ScaleToZero.OFF_HOURS)


def _judge_capacity_utilisation(profile: MLProfile, settings: MaturitySettings) -> Judgement:
    if _is_serverless(profile):
        return L.OPTIMISED, "serverless: capacity exists only while requests run"
    mean = profile.capacity_utilisation_pct.value
    if _requests_per_day(profile) == 0.0 and _instance_variants(profile):
        return L.INITIAL, "capacity paid for and not used: no request at all"
    if mean is None:
        return None, "no mean utilisation measured"
    level = _at_least(mean, (settings.capacity_utilisation_pct_managed,
                             settings.capacity_utilisation_pct_defined,
                             settings.capacity_utilisation_pct_optimised))
    carbon = profile.monthly_carbon_kgco2e.value
    tail = f" ({carbon:,.3g} kgCO2e/month, estimate)" if carbon is not None else ""
    return level, f"the capacity paid for is {mean:.1f} % used on average{tail}"


def _judge_idle_hours(profile: MLProfile, settings: MaturitySettings) -> Judgement:
    if _is_serverless(profile):
        return L.OPTIMISED, "serverless: no capacity while idle"
    idle = profile.idle_hours_pct.value
    if idle is None:
        return None, "no hourly traffic"
    if _capacity_follows_traffic(profile):
        return L.OPTIMISED, (f"idle {idle:.0f} % of hours, and capacity follows "
                             f"({profile.scale_to_zero.value})")
    level = _at_most(idle, (settings.idle_hours_pct_managed, settings.idle_hours_pct_defined,
                            settings.idle_hours_pct_optimised))
    return level, f"idle {idle:.0f} % of hours with its capacity running throughout"


def _judge_scale_to_zero(profile: MLProfile, settings: MaturitySettings) -> Judgement:
    value = profile.scale_to_zero.value
    if value is None:
        return None, "unknown"
    if value is ScaleToZero.SCALES_TO_ZERO:
        return L.OPTIMISED, f"scales to zero: {profile.scale_to_zero.note}"
    if value is ScaleToZero.OFF_HOURS:
        return L.DEFINED, f"an off-hours schedule lowers capacity: {profile.scale_to_zero.note}"
    if value is ScaleToZero.NOT_POSSIBLE:
        return None, profile.scale_to_zero.note or "not possible"
    idle = profile.idle_hours_pct.value
    if idle is not None and idle > settings.idle_hours_pct_defined:
        return L.INITIAL, (f"possible but not used, idle {idle:.0f} % of hours: "
                           f"{profile.scale_to_zero.note}")
    return L.MANAGED, f"possible but not used: {profile.scale_to_zero.note}"


def _interval_judgement(value: float | None, bound: Bound | None,
                        bars: tuple[float, float, float], what: str) -> Judgement:
    if value is None:
        return None, f"no {what} history"
    level = _at_most(value, bars)
    if bound is Bound.AT_LEAST and level is not L.INITIAL:
        # One event seen: the interval is at least its age, so any better level is unproven.
        return None, f"only one {what} seen, {value:.0f} days ago: too early to judge"
    return level, f"{what} every {value:.0f} days" + (" or more" if bound else "")


def _judge_updates(profile: MLProfile, settings: MaturitySettings) -> Judgement:
    char = profile.update_frequency_days
    return _interval_judgement(char.value, char.bound, (
        settings.update_interval_days_managed, settings.update_interval_days_defined,
        settings.update_interval_days_optimised), "endpoint update")


def _judge_retraining(profile: MLProfile, settings: MaturitySettings) -> Judgement:
    char = profile.retraining_frequency_days
    return _interval_judgement(char.value, char.bound, (
        settings.retraining_interval_days_managed, settings.retraining_interval_days_defined,
        settings.retraining_interval_days_optimised), "model version")


def _judge_data_capture(profile: MLProfile, _: MaturitySettings) -> Judgement:
    if _is_serverless(profile):
        return None, "serverless endpoints cannot capture data"
    capture = profile.network_security.data_capture.value
    schedules = profile.model_monitor_schedules.value
    if capture is None:
        return None, "unknown"
    if capture and schedules:
        return L.OPTIMISED, f"data capture feeding {schedules} Model Monitor schedule(s)"
    if capture:
        return L.DEFINED, "data capture on: requests can be replayed and audited"
    return L.MANAGED, "CloudWatch metrics only; no data capture"


def _judge_deployment(profile: MLProfile, _: MaturitySettings) -> Judgement:
    strategy = profile.deployment_strategy.value
    rollback = profile.auto_rollback.value
    if strategy is None or rollback is None:
        return None, "deployment configuration unknown"
    if "Inf1" in profile.deployment_strategy.note:
        return None, "Inf1 instances cannot use deployment guardrails"
    production = profile.requirements.environment in (Environment.PRODUCTION, None)
    stepped = strategy != "blue-green-all-at-once"
    if rollback:
        if stepped:
            return L.OPTIMISED, f"{strategy} with automatic rollback on alarms"
        return L.DEFINED, "rolls back on alarms, but shifts all traffic at once"
    if not production:
        return L.MANAGED, f"{strategy} without rollback alarms: acceptable outside production"
    if stepped:
        return L.MANAGED, f"production {strategy}, but no alarm rolls a bad update back"
    return L.INITIAL, ("production updates shift all traffic at once and nothing rolls them "
                       "back: no deployment guardrails")


Judge = Callable[[MLProfile, MaturitySettings], Judgement]
P = Pillar


def _judges(saturation_pct: float) -> tuple[tuple[str, tuple[Pillar, ...], Judge], ...]:
    """(characteristic judged, pillars it counts in, judge). Order = the order in reports."""
    return (
        ("update_frequency_days", (P.OPERATIONAL_EXCELLENCE,), _judge_updates),
        ("retraining_frequency_days", (P.OPERATIONAL_EXCELLENCE,), _judge_retraining),
        ("data_capture", (P.OPERATIONAL_EXCELLENCE,), _judge_data_capture),
        ("container", (P.OPERATIONAL_EXCELLENCE, P.SECURITY), _judge_container),
        ("kms_key", (P.SECURITY,), _judge_kms),
        ("vpc", (P.SECURITY,), _judge_vpc),
        ("network_isolation", (P.SECURITY,), _judge_isolation),
        ("instance_count", (P.RELIABILITY,), _judge_instance_count),
        ("error_rate_5xx_pct", (P.RELIABILITY,), _judge_error_rate),
        ("p99_latency_ms", (P.PERFORMANCE_EFFICIENCY,),
         partial(_judge_latency, saturation_pct=saturation_pct)),
        ("utilisation", (P.COST_OPTIMISATION,), _judge_utilisation),
        ("cost_per_1k_requests_usd", (P.COST_OPTIMISATION,), _judge_cost_per_request),
        ("traffic_pattern", (P.SUSTAINABILITY, P.COST_OPTIMISATION), _judge_demand_following),
        # Sustainability (Well-Architected ML Lens): use what is paid for, switch idle capacity
        # off.
        ("capacity_utilisation_pct", (P.SUSTAINABILITY,), _judge_capacity_utilisation),
        ("idle_hours_pct", (P.SUSTAINABILITY,), _judge_idle_hours),
        ("scale_to_zero", (P.SUSTAINABILITY,), _judge_scale_to_zero),
        ("deployment_strategy", (P.RELIABILITY, P.OPERATIONAL_EXCELLENCE), _judge_deployment),
    )


def _roll_up(pillar: Pillar, judged: list[CharacteristicMaturity]) -> PillarMaturity:
    levels = [j for j in judged if j.level is not None and pillar in j.pillars]
    if not levels:
        return PillarMaturity(pillar=pillar, level=None, judged=0, weakest=None)
    weakest = min(levels, key=lambda j: int(j.level or 0))
    lowest = int(weakest.level or 1)
    mean = math.floor(sum(int(j.level or 0) for j in levels) / len(levels))
    return PillarMaturity(pillar=pillar, level=MaturityLevel(min(mean, lowest + 1)),
                          judged=len(levels), weakest=weakest.characteristic)


def assess(profile: MLProfile, settings: MaturitySettings, saturation_pct: float) -> Maturity:
    """Every characteristic's level and each pillar's; `saturation_pct` is the advisors'
    saturation threshold (`AdvisorSettings.saturation_pct`)."""
    judged = []
    for name, pillars, judge in _judges(saturation_pct):
        level, reason = judge(profile, settings)
        judged.append(CharacteristicMaturity(characteristic=name, pillars=pillars, level=level,
                                             reason=reason))
    return Maturity(endpoint=profile.key, profile_kind=str(profile.kind),
                    characteristics=tuple(judged),
                    pillars=tuple(_roll_up(p, judged) for p in Pillar))


def level_label(level: MaturityLevel | None) -> str:
    return "not judged" if level is None else f"{int(level)} {level.label}"
