"""The shape of a target: what the cross-field rules of a target profile are about, in one place.

A target profile is valid only if its characteristics agree with each other: a count within its
autoscaling bounds, serverless settings only on a serverless target (and no instances there),
a multi-model target that says how many models it holds, a batch target with its job's cost.
`target_problems` states those rules once; the profile model checks them on every target
(`sagetop profile validate` included), and the planner checks them on a plan before it offers
it, on the same small shape, read from a snapshot (`shape_of_endpoint`, cheap: no profile
built) or from a profile.

`apply` sets one typed change on a shape; `settle` then derives what the changes imply and did
not say (a fixed variant's bounds follow its count, a serverless target has no instances, a
variant that starts to autoscale gets room to move), each derived value with the reason, so the
target builder writes exactly what the planner checked.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from advisors.finding import ProfileChange
from advisors.limits import (
    MULTI_MODEL_MIN_MODELS,
    SERVERLESS_MAX_CONCURRENCY,
    SERVERLESS_MAX_MEMORY_MB,
    SERVERLESS_MEMORY_STEP_MB,
    SERVERLESS_MIN_MEMORY_MB,
)
from advisors.scaling import per_instance_policy
from ground.domain import DeploymentOption, EndpointSnapshot
from ground.schedule import OffHoursSchedule

VARIANT_FIELDS = ("instance_type", "instance_count", "min_instances", "max_instances",
                  "autoscaling", "scaling_target_value", "serverless_memory_mb",
                  "serverless_max_concurrency", "off_hours_schedule")
COMPONENT_FIELDS = ("copies", "min_copies", "max_copies", "copies_autoscaling",
                    "off_hours_schedule")
ENDPOINT_FIELDS = ("deployment_option", "models_per_endpoint", "data_capture", "auto_rollback")
INSTANCE_FIELDS = ("instance_type", "instance_count", "min_instances", "max_instances",
                   "scaling_target_value")


@dataclass
class VariantShape:
    name: str
    shadow: bool = False
    instance_type: str | None = None
    instance_count: int | None = None
    min_instances: int | None = None
    max_instances: int | None = None
    autoscaling: bool | None = None
    scaling_target_value: float | None = None
    serverless_memory_mb: int | None = None
    serverless_max_concurrency: int | None = None
    # Scheduled actions lowering the instances outside working hours (None: none known).
    off_hours_schedule: OffHoursSchedule | None = None


@dataclass
class ComponentShape:
    name: str
    copies: int | None = None
    min_copies: int | None = None
    max_copies: int | None = None
    copies_autoscaling: bool | None = None
    off_hours_schedule: OffHoursSchedule | None = None


@dataclass
class TargetShape:
    deployment_option: DeploymentOption | None
    variants: list[VariantShape]
    components: list[ComponentShape] = field(default_factory=list)
    models_per_endpoint: int | None = None
    data_capture: bool | None = None
    auto_rollback: bool | None = None
    monthly_cost_usd: float | None = None
    # The deployment option is a proposal (a planned change), not the configuration as it is.
    deployment_changed: bool = False

    def copy(self) -> TargetShape:
        # By hand: a deep copy per candidate plan would cost more than the planning itself.
        return dataclasses.replace(
            self, variants=[dataclasses.replace(v) for v in self.variants],
            components=[dataclasses.replace(c) for c in self.components])

    # Loops, not next() over a generator: the planner asks these for every change of every
    # candidate plan, and the generator's setup was a fifteenth of a fleet's analysis.
    def variant(self, name: str) -> VariantShape | None:
        for variant in self.variants:
            if variant.name == name:
                return variant
        return None

    def component(self, name: str) -> ComponentShape | None:
        for component in self.components:
            if component.name == name:
                return component
        return None

    def value(self, owner: tuple[str, str], characteristic: str) -> Any:
        holder = self._holder(owner)
        return None if holder is None else getattr(holder, characteristic, None)

    def _holder(self, owner: tuple[str, str]) -> Any:
        kind, name = owner
        if kind == "variant":
            return self.variant(name)
        if kind == "component":
            return self.component(name)
        return self


@dataclass(frozen=True)
class Derived:
    """A value the changes imply: where, what, from and to, and why."""

    owner: tuple[str, str]
    characteristic: str
    before: Any
    after: Any
    why: str


# ------------------------------------------------------------------------ from a snapshot

def shape_of_endpoint(endpoint: EndpointSnapshot) -> TargetShape:
    """The endpoint as its current profile describes it (the same values, read directly)."""
    variants: list[VariantShape] = []
    for v in endpoint.variants:
        serverless = v.serverless
        scaling = v.autoscaling
        managed = v.managed_instance_scaling
        count = None if serverless else v.current_instance_count
        low: int | None
        high: int | None
        if scaling is not None:
            low, high = scaling.min_capacity, scaling.max_capacity
        elif managed is not None and managed.enabled:
            low, high = managed.min_instances, managed.max_instances
        else:
            low = high = count
        policy = per_instance_policy(scaling) if scaling is not None else None
        variants.append(VariantShape(
            name=v.name, shadow=v.shadow, instance_type=v.instance_type, instance_count=count,
            min_instances=low, max_instances=high,
            autoscaling=bool(scaling and scaling.scales) or bool(
                scaling is None and managed is not None and managed.enabled),
            scaling_target_value=policy.target_value if policy else None,
            serverless_memory_mb=serverless.memory_mb if serverless else None,
            serverless_max_concurrency=serverless.max_concurrency if serverless else None))
    components: list[ComponentShape] = []
    for c in endpoint.inference_components:
        scaling = c.autoscaling
        components.append(ComponentShape(
            name=c.name, copies=c.current_copies,
            min_copies=scaling.min_capacity if scaling else c.current_copies,
            max_copies=scaling.max_capacity if scaling else c.current_copies,
            copies_autoscaling=bool(scaling and scaling.scales
                                    and scaling.max_capacity > scaling.min_capacity)))
    config = endpoint.deployment_config
    return TargetShape(
        deployment_option=endpoint.deployment, variants=variants, components=components,
        models_per_endpoint=_models_count(endpoint), data_capture=endpoint.data_capture.enabled,
        auto_rollback=(bool(config.rollback_alarms) if config else False)
        if endpoint.described else None)


def _models_count(endpoint: EndpointSnapshot) -> int | None:
    if endpoint.inference_components:
        return len(endpoint.inference_components)
    models = {m.name: m for m in [*(v.model for v in endpoint.variants),
                                  *(c.model for c in endpoint.inference_components)]
              if m is not None}
    if endpoint.deployment is DeploymentOption.MULTI_MODEL or any(
            c.mode == "MultiModel" for m in models.values() for c in m.containers):
        return None  # loaded on demand from S3: nothing published counts them
    return len(models)


# ------------------------------------------------------------------------ changes

def apply(shape: TargetShape, change: ProfileChange) -> str | None:
    """Set one change on the shape; None when set, else why it cannot be."""
    name = change.characteristic
    if change.component is not None:
        component = shape.component(change.component)
        if component is None:
            return f"the endpoint has no inference component named {change.component!r}"
        if name not in COMPONENT_FIELDS:
            return f"{name!r} is not a characteristic of an inference component"
        setattr(component, name, change.proposed)
        return None
    if name in VARIANT_FIELDS:
        if change.variant is None:
            targets = [v for v in shape.variants if not v.shadow]
        else:
            found = shape.variant(change.variant)
            if found is None:
                return f"the endpoint has no variant named {change.variant!r}"
            targets = [found]
        if not targets:
            return "the endpoint has no serving variant to change"
        for variant in targets:
            setattr(variant, name, change.proposed)
        return None
    if name in ENDPOINT_FIELDS:
        setattr(shape, name, change.proposed)
        if name == "deployment_option":
            shape.deployment_changed = True
        return None
    return f"{name!r} is not a characteristic the target shape holds"


def owners_of(shape: TargetShape, change: ProfileChange) -> list[tuple[tuple[str, str], str]]:
    """(owner, characteristic) pairs a change sets: what two options may not both set."""
    name = change.characteristic
    if change.component is not None:
        return [(("component", change.component), name)]
    if name in VARIANT_FIELDS:
        names = ([change.variant] if change.variant is not None
                 else [v.name for v in shape.variants if not v.shadow])
        return [(("variant", n), name) for n in names]
    return [(("endpoint", ""), name)]


def settle(before: TargetShape, after: TargetShape,
           explicit: set[tuple[tuple[str, str], str]]) -> list[Derived]:
    """Derive, in `after`, what its changes imply; returns each derived value."""
    derived: list[Derived] = []

    def put(owner: tuple[str, str], holder: Any, name: str, value: Any, why: str,
            force: bool = False) -> None:
        old = getattr(holder, name)
        if old != value and (force or (owner, name) not in explicit):
            setattr(holder, name, value)
            derived.append(Derived(owner, name, old, value, why))

    deployment = after.deployment_option
    for variant in after.variants:
        owner = ("variant", variant.name)
        old = before.variant(variant.name)
        if deployment is DeploymentOption.SERVERLESS:
            for name in INSTANCE_FIELDS:
                put(owner, variant, name, None, "serverless: no instances to manage")
            put(owner, variant, "autoscaling", False, "serverless scales by itself")
            put(owner, variant, "off_hours_schedule", None,
                "serverless scales to zero by itself: no instances to schedule")
            continue
        for name in ("serverless_memory_mb", "serverless_max_concurrency"):
            if getattr(variant, name) is not None:
                put(owner, variant, name, None, "not serverless")
        if deployment is DeploymentOption.BATCH:
            for name in ("min_instances", "max_instances", "scaling_target_value",
                         "off_hours_schedule"):
                put(owner, variant, name, None, "a batch job has no endpoint to scale")
            put(owner, variant, "autoscaling", False, "a batch job has no endpoint to scale")
            continue
        count = variant.instance_count
        if count is None:
            continue
        # A variant without a scalable target states its count as its bounds.
        was_fixed = old is None or old.min_instances == old.max_instances == old.instance_count
        started = bool(variant.autoscaling) and old is not None and not old.autoscaling
        if not variant.autoscaling and was_fixed:
            put(owner, variant, "min_instances", count, "no scalable target: the bounds are "
                                                        "the count")
            put(owner, variant, "max_instances", count, "no scalable target: the bounds are "
                                                        "the count")
        elif started and was_fixed:
            put(owner, variant, "min_instances", count,
                "MinCapacity: the count, so scaling never lowers capacity below it")
            put(owner, variant, "max_instances", max(2 * count, count + 1),
                "MaxCapacity: room to scale out to twice the count")
        elif started and variant.max_instances is not None \
                and variant.min_instances == variant.max_instances:
            top = variant.max_instances
            put(owner, variant, "max_instances", max(2 * top, top + 1),
                "MaxCapacity above MinCapacity, or the policy cannot move the count")
        low, high = variant.min_instances, variant.max_instances
        if (owner, "instance_count") in explicit:
            if low is not None and count < low:
                put(owner, variant, "min_instances", count, "MinCapacity follows the count")
            if high is not None and count > high:
                put(owner, variant, "max_instances", count, "MaxCapacity follows the count")
        elif low is not None and count < low:
            put(owner, variant, "instance_count", low, "at least MinCapacity")
        elif high is not None and count > high:
            put(owner, variant, "instance_count", high, "at most MaxCapacity")
        _follow(owner, variant, variant.min_instances, variant.max_instances, put)
    for component in after.components:
        owner = ("component", component.name)
        copies = component.copies
        if copies is None:
            continue
        old_component = before.component(component.name)
        fixed = old_component is None or (
            old_component.min_copies == old_component.max_copies == old_component.copies)
        if component.copies_autoscaling and old_component is not None and \
                not old_component.copies_autoscaling and copies > 0:
            if fixed:
                put(owner, component, "min_copies", copies, "today's copies as the floor")
            put(owner, component, "max_copies", max(2 * copies, copies + 1,
                                                    component.max_copies or 0),
                "room to scale out to twice the copies")
        elif not component.copies_autoscaling and fixed:
            put(owner, component, "min_copies", copies, "no scalable target: the bounds are "
                                                         "the copies")
            put(owner, component, "max_copies", copies, "no scalable target: the bounds are "
                                                         "the copies")
        if component.min_copies is not None and copies < component.min_copies:
            put(owner, component, "min_copies", copies, "the floor follows the copies")
        if component.max_copies is not None and copies > component.max_copies:
            put(owner, component, "max_copies", copies, "the ceiling follows the copies")
        _follow(owner, component, component.min_copies, component.max_copies, put)
    if deployment is DeploymentOption.SERVERLESS and after.data_capture:
        put(("endpoint", ""), after, "data_capture", False,
            "serverless endpoints cannot capture data")
    return derived


def _follow(owner: tuple[str, str], holder: VariantShape | ComponentShape, low: int | None,
            high: int | None, put: Any) -> None:
    """An off-hours schedule restores the target's bounds each morning: when other changes
    move them, the schedule's day bounds follow (its night never above them), even when the
    schedule itself is a change of the plan."""
    schedule = holder.off_hours_schedule
    if schedule is None or low is None or high is None or low > high:
        return
    if (schedule.day_min, schedule.day_max) != (low, high):
        put(owner, holder, "off_hours_schedule", schedule.following(low, high),
            f"the morning action restores MinCapacity {low} / MaxCapacity {high}", True)


# ------------------------------------------------------------------------ the rules

def target_problems(shape: TargetShape) -> list[str]:
    """Every cross-field rule a target breaks, each naming the field (empty: valid)."""
    problems: list[str] = []
    deployment = shape.deployment_option
    serverless = deployment is DeploymentOption.SERVERLESS
    for v in shape.variants:
        where = f"variants[{v.name}]"
        problems += _schedule_problems(where, v.off_hours_schedule, v.min_instances,
                                       v.max_instances, "instances", deployment)
        if serverless:
            for name in ("instance_type", "instance_count", "min_instances", "max_instances"):
                if getattr(v, name) is not None:
                    problems.append(f"{where}.{name}: a serverless target has no instances "
                                    f"(found {getattr(v, name)!r})")
            if v.serverless_memory_mb is None or v.serverless_max_concurrency is None:
                problems.append(f"{where}: a serverless target needs serverless_memory_mb and "
                                "serverless_max_concurrency")
            memory = v.serverless_memory_mb
            if memory is not None and (
                    not SERVERLESS_MIN_MEMORY_MB <= memory <= SERVERLESS_MAX_MEMORY_MB
                    or memory % SERVERLESS_MEMORY_STEP_MB):
                problems.append(f"{where}.serverless_memory_mb: {memory} is not one of "
                                f"{SERVERLESS_MIN_MEMORY_MB}-{SERVERLESS_MAX_MEMORY_MB} MB in "
                                f"{SERVERLESS_MEMORY_STEP_MB} MB steps")
            concurrency = v.serverless_max_concurrency
            if concurrency is not None and not 1 <= concurrency <= SERVERLESS_MAX_CONCURRENCY:
                problems.append(f"{where}.serverless_max_concurrency: {concurrency} is outside "
                                f"1-{SERVERLESS_MAX_CONCURRENCY}")
            continue
        for name in ("serverless_memory_mb", "serverless_max_concurrency"):
            if getattr(v, name) is not None:
                problems.append(f"{where}.{name}: serverless settings only on a serverless "
                                f"target (this one is {deployment or 'of unknown deployment'})")
        count, low, high = v.instance_count, v.min_instances, v.max_instances
        if count is not None and count < 0:
            problems.append(f"{where}.instance_count: {count} is negative")
        if count and v.instance_type is None:
            problems.append(f"{where}.instance_type: {count} instances of no type")
        if deployment is DeploymentOption.BATCH:
            if v.autoscaling:
                problems.append(f"{where}.autoscaling: a batch job has no endpoint to scale")
            continue
        if low is not None and high is not None and low > high:
            problems.append(f"{where}: min_instances {low} is above max_instances {high}")
        elif count is not None and low is not None and high is not None \
                and not low <= count <= high:
            problems.append(f"{where}.instance_count: {count} is outside min_instances "
                            f"{low} .. max_instances {high}")
    if serverless:
        if len(shape.variants) != 1:
            problems.append(f"variants: a serverless endpoint has exactly one variant "
                            f"(found {len(shape.variants)})")
        if shape.data_capture:
            problems.append("network_security.data_capture: serverless endpoints cannot "
                            "capture data")
    if deployment is DeploymentOption.MULTI_MODEL and shape.deployment_changed and (
            shape.models_per_endpoint is None
            or shape.models_per_endpoint < MULTI_MODEL_MIN_MODELS):
        problems.append(f"models_per_endpoint: a multi-model target holds at least "
                        f"{MULTI_MODEL_MIN_MODELS} models (found {shape.models_per_endpoint!r})")
    if deployment is DeploymentOption.BATCH and (
            shape.monthly_cost_usd is None or shape.monthly_cost_usd <= 0):
        problems.append("monthly_cost_usd: a batch target needs its job's monthly cost "
                        f"(found {shape.monthly_cost_usd!r})")
    for c in shape.components:
        where = f"inference_components[{c.name}]"
        problems += _schedule_problems(where, c.off_hours_schedule, c.min_copies, c.max_copies,
                                       "copies", deployment)
        if c.min_copies is not None and c.max_copies is not None and c.min_copies > c.max_copies:
            problems.append(f"{where}: min_copies {c.min_copies} is above max_copies "
                            f"{c.max_copies}")
        elif c.copies is not None and c.min_copies is not None and c.max_copies is not None \
                and not c.min_copies <= c.copies <= c.max_copies:
            problems.append(f"{where}.copies: {c.copies} is outside min_copies {c.min_copies} "
                            f".. max_copies {c.max_copies}")
    return problems


def _schedule_problems(where: str, schedule: OffHoursSchedule | None, low: int | None,
                       high: int | None, unit: str,
                       deployment: DeploymentOption | None) -> list[str]:
    """An off-hours schedule agrees with the target it schedules: it moves what the target
    holds (instances or copies), on a deployment that keeps capacity to lower, restores the
    target's own bounds each morning, and goes to zero instances only where SageMaker can."""
    if schedule is None:
        return []
    at = f"{where}.off_hours_schedule"
    if deployment in (DeploymentOption.SERVERLESS, DeploymentOption.BATCH):
        return [f"{at}: a {deployment} target has no instances to schedule"]
    problems: list[str] = []
    if schedule.unit != unit:
        problems.append(f"{at}: schedules {schedule.unit}, but this target holds {unit}")
    if low is not None and high is not None and (schedule.day_min, schedule.day_max) != (
            low, high):
        problems.append(f"{at}: restores {schedule.day_min}-{schedule.day_max} each morning, "
                        f"but the target's bounds are {low}-{high}")
    if unit == "instances" and schedule.night == 0 and deployment is not DeploymentOption.ASYNC:
        problems.append(f"{at}: a {deployment or 'real-time'} variant cannot scale to 0 "
                        "instances (async endpoints and inference components can)")
    return problems
