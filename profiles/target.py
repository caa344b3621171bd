"""The target profile: the current profile with the endpoint's plan applied, valid by construction.

The plan (`profiles.plan`, chosen by `pipeline.planner`) says which options are taken; this module
applies their typed changes in the plan's order, derives what they imply and did not say
(`profiles.shape.settle`: a fixed variant's bounds follow its count, a serverless target has no
instances...), re-estimates utilisation on the new capacity, costs the target at what the plan
says (today's cost minus the plan's savings, the figure every screen shows) and checks the
cross-field rules. Every changed characteristic names the finding kind and the change id that
justify it; changes the plan does not take are recorded with why, so the rationale explains them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from advisors.finding import Finding, ProfileChange
from ground.catalog import spec_for
from ground.domain import DeploymentOption
from ground.schedule import OffHoursSchedule
from profiles.model import (
    AppliedChange,
    Characteristic,
    ComponentProfile,
    MLProfile,
    NetworkSecurity,
    Origin,
    ProfileKind,
    ScaleToZero,
    VariantProfile,
    characteristic_fields,
)
from profiles.plan import EndpointPlan, OptionStatus, Outcome, PlannedOption, option_id
from profiles.shape import apply, owners_of, settle, target_problems

VARIANT_CHARACTERISTICS = characteristic_fields(VariantProfile)
COMPONENT_CHARACTERISTICS = characteristic_fields(ComponentProfile)
SECURITY_CHARACTERISTICS = characteristic_fields(NetworkSecurity)
ENDPOINT_CHARACTERISTICS = characteristic_fields(MLProfile)


class TargetError(ValueError):
    """A plan whose target breaks the profile's rules: the planner should never offer one."""


def change_id(finding: Finding, change: ProfileChange) -> str:
    """Stable id of one change: "<kind>:<characteristic>:<variant>" ("-" = whole endpoint).

    SageMaker variant names are letters, digits and inner dashes, so "-" cannot be one. A change
    to an inference component names the component instead (their characteristics are their own).
    """
    return f"{finding.kind}:{change.characteristic}:{change.component or change.variant or '-'}"


def _holders(profile: MLProfile, name: str, owner: tuple[str, str]
             ) -> tuple[list[BaseModel], type[Characteristic[Any]]]:
    """The profile objects holding one characteristic of one owner, and its type."""
    kind, which = owner
    if kind == "component":
        return ([c for c in profile.inference_components if c.name == which],
                COMPONENT_CHARACTERISTICS[name])
    if name in VARIANT_CHARACTERISTICS:
        return [v for v in profile.variants if v.name == which], VARIANT_CHARACTERISTICS[name]
    if name in SECURITY_CHARACTERISTICS:
        return [profile.network_security], SECURITY_CHARACTERISTICS[name]
    return [profile], ENDPOINT_CHARACTERISTICS[name]


def _write(profile: MLProfile, owner: tuple[str, str], name: str, value: Any, *, kind: str,
           ident: str | None, note: str, source: str) -> None:
    holders, characteristic = _holders(profile, name, owner)
    for holder in holders:
        old: Characteristic[Any] = getattr(holder, name)
        setattr(holder, name, characteristic.model_validate({
            "value": value, "origin": Origin.INFERRED, "unit": old.unit, "source": source,
            "note": note, "rationale": kind, "change": ident}))


def _scaled(old: Characteristic[float], ratio: float | None, why: str, kind: str,
            ident: str) -> Characteristic[float]:
    if old.value is None:
        return old
    if ratio is None:
        return Characteristic[float](value=None, origin=Origin.INFERRED, unit=old.unit,
                                     source=old.source, note=f"unknown after the change: {why}",
                                     rationale=kind, change=ident)
    return Characteristic[float](
        value=round(old.value * ratio, 2), origin=Origin.INFERRED, unit=old.unit,
        source=old.source, note=f"observed {old.value} scaled by {ratio:.3g}: {why}",
        rationale=kind, change=ident)


def _capacity_ratio(old_count: int | None, old_units: int, new_count: int,
                    new_units: int) -> float | None:
    """Old capacity / new capacity, in vCPUs or GPUs summed over the instances."""
    if not old_count or new_count <= 0 or old_units <= 0 or new_units <= 0:
        return None
    return old_count * old_units / (new_count * new_units)


def _reestimate_utilisation(before: VariantProfile, after: VariantProfile, kind: str,
                            ident: str) -> None:
    """Utilisation after a resize: the same load over the new capacity (an estimate)."""
    old_type, new_type = before.instance_type.value, after.instance_type.value
    old_count, new_count = before.instance_count.value, after.instance_count.value
    if (old_type, old_count) == (new_type, new_count):
        return
    old_spec, new_spec = spec_for(old_type), spec_for(new_type)
    cpu_ratio = memory_ratio = gpu_ratio = gpu_memory_ratio = None
    why = "no instances in the target"
    if new_count is not None and new_type is not None:
        why = f"instance specs of {old_type} or {new_type} unknown"
        if old_spec is not None and new_spec is not None:
            cpu_ratio = _capacity_ratio(old_count, old_spec.vcpu, new_count, new_spec.vcpu)
            # Each instance holds the whole model: memory use follows the instance, not the count.
            memory_ratio = old_spec.memory_gib / new_spec.memory_gib
            gpu_ratio = _capacity_ratio(old_count, old_spec.gpu_count, new_count,
                                        new_spec.gpu_count)
            if old_spec.gpu_memory_gib and new_spec.gpu_memory_gib:
                gpu_memory_ratio = old_spec.gpu_memory_gib / new_spec.gpu_memory_gib
    estimates = (("cpu_p95_pct", cpu_ratio, "same load over the new vCPUs"),
                 ("memory_p95_pct", memory_ratio, "same model in the new instance memory"),
                 ("gpu_p95_pct", gpu_ratio, "same load over the new GPUs"))
    for name, ratio, reason in estimates:
        setattr(after, name, _scaled(getattr(before, name), ratio,
                                     reason if ratio is not None else why, kind, ident))
    # The busiest resource stays the one the advisors named; its load scales like that
    # resource's (the advisors' own projection is in the finding's evidence).
    by_resource = {"CPU": (cpu_ratio, estimates[0][2]), "memory": (memory_ratio, estimates[1][2]),
                   "GPU": (gpu_ratio, estimates[2][2]),
                   "GPU memory": (gpu_memory_ratio, "same model in the new GPU memory")}
    resource = before.busiest_resource.value
    if resource in by_resource:
        ratio, reason = by_resource[resource]
        after.busiest_resource_pct = _scaled(before.busiest_resource_pct, ratio,
                                             reason if ratio is not None else why, kind, ident)


def _record(finding_kind: str, change: ProfileChange, ident: str, applied: bool, reason: str,
            option: str | None) -> AppliedChange:
    return AppliedChange(id=ident, finding=finding_kind, characteristic=change.characteristic,
                         variant=change.variant, component=change.component,
                         current=change.current, proposed=change.proposed, applied=applied,
                         reason=reason, option=option)


def target_profile(current: MLProfile, plan: EndpointPlan,
                   findings: Sequence[Finding] = ()) -> MLProfile:
    """The current profile with `plan` applied; `findings` (the endpoint's) let the target
    list the changes the plan does not take and why. Raises TargetError when the result would
    break the profile's rules (the planner checks the same rules first)."""
    target = current.model_copy(deep=True)
    target.kind = ProfileKind.TARGET
    target.changes = []
    before = current.shape()
    shape = current.shape()
    explicit: set[tuple[tuple[str, str], str]] = set()
    made_by: dict[tuple[str, str], PlannedOption] = {}
    chosen = list(plan.chosen)
    for planned in chosen:
        kind = str(planned.finding)
        changes = sorted(planned.option.changes,
                         key=lambda c: c.characteristic != "deployment_option")
        for change in changes:
            ident = f"{planned.finding}:{change.characteristic}:" \
                    f"{change.component or change.variant or '-'}"
            problem = apply(shape, change)
            if problem is not None:
                raise TargetError(f"{current.key}: {planned.label}: {problem}")
            for owner, name in owners_of(before, change):
                explicit.add((owner, name))
                made_by.setdefault(owner, planned)
                _write(target, owner, name, change.proposed, kind=kind, ident=ident,
                       note=planned.label, source=f"plan: {planned.finding}")
            target.changes.append(_record(kind, change, ident, True, "", planned.label))
    for derived in settle(before, shape, explicit):
        planned_by = made_by.get(derived.owner) or (chosen[0] if chosen else None)
        kind = str(planned_by.finding) if planned_by else "plan"
        where = derived.owner[1] or None
        change = ProfileChange.model_construct(
            characteristic=derived.characteristic, current=derived.before,
            proposed=derived.after,
            variant=where if derived.owner[0] == "variant" else None,
            component=where if derived.owner[0] == "component" else None)
        ident = f"{kind}:{derived.characteristic}:{where or '-'}"
        _write(target, derived.owner, derived.characteristic, derived.after, kind=kind,
               ident=ident, note=derived.why, source=f"plan: {kind}")
        target.changes.append(_record(kind, change, ident, True, f"follows: {derived.why}",
                                      planned_by.label if planned_by else None))
    _record_not_taken(target, plan, findings)
    befores = {v.name: v for v in current.variants}
    for variant in target.variants:
        resized = made_by.get(("variant", variant.name))
        if resized is not None:
            ident = f"{resized.finding}:instance_count:{variant.name}"
            _reestimate_utilisation(befores[variant.name], variant, str(resized.finding), ident)
    _target_cost(target, current, plan)
    _target_carbon(target, current, plan)
    _target_sustainability(target, current, plan)
    problems = target_problems(target.shape())
    if problems:
        raise TargetError(f"{current.key}: the plan's target breaks the profile's rules: "
                          + "; ".join(problems))
    return target


def _record_not_taken(target: MLProfile, plan: EndpointPlan,
                      findings: Sequence[Finding]) -> None:
    """The changes of each finding's preferred option the plan does not take, with why."""
    taken = {o.id for o in plan.chosen}
    for finding in findings:
        preferred = finding.preferred
        if preferred is None:
            continue
        outcome = plan.outcome_of(finding)
        planned = plan.option(option_id(finding, preferred))
        if planned is not None and planned.id in taken:
            continue
        if outcome is None:
            reason = "not planned"
        elif outcome.outcome is Outcome.RESOLVED:
            reason = "the plan takes another of its options"
        else:
            reason = f"{outcome.outcome}: {outcome.why}".rstrip(": ")
        status = planned.status if planned is not None else None
        if status is OptionStatus.REJECTED:
            reason = "rejected by you"
        for change in preferred.changes:
            target.changes.append(_record(str(finding.kind), change, change_id(finding, change),
                                          False, reason, preferred.label))


def _target_cost(target: MLProfile, current: MLProfile, plan: EndpointPlan) -> None:
    base = current.monthly_cost_usd
    if not plan.chosen:
        return
    saving = plan.monthly_savings_usd
    kinds = ", ".join(dict.fromkeys(str(o.finding) for o in plan.chosen))
    note = f"today's cost minus the plan's savings ({saving:,.2f} USD a month: {plan.summary})"
    if plan.unpriced:
        note += f"; {plan.unpriced} chosen option(s) whose effect on the bill is not priced"
    target.monthly_cost_usd = Characteristic[float](
        value=plan.target_monthly_usd, origin=Origin.INFERRED, unit=base.unit,
        source=base.source, note=note if base.value is not None else "current cost unknown",
        rationale=kinds, change=None)


def _target_carbon(target: MLProfile, current: MLProfile, plan: EndpointPlan) -> None:
    """Today's estimate minus the kgCO2e the plan saves (like the cost: the plan's figure),
    the range and the energy scaled with it."""
    base = current.monthly_carbon_kgco2e.value
    saved = plan.monthly_kgco2e_saved
    if not plan.chosen or base is None or saved is None:
        return
    kinds = ", ".join(dict.fromkeys(str(o.finding) for o in plan.chosen
                                    if o.monthly_kgco2e_saved is not None))
    value = round(max(base - saved, 0.0), 3)
    target.monthly_carbon_kgco2e = Characteristic[float](
        value=value, origin=Origin.INFERRED, unit=current.monthly_carbon_kgco2e.unit,
        source=current.monthly_carbon_kgco2e.source,
        note=f"estimate: today's minus what the plan saves ({saved:,.3f} kgCO2e a month: "
             f"{kinds})", rationale=kinds)
    estimate = current.carbon
    if estimate is None or estimate.kgco2e <= 0:
        return
    ratio = value / estimate.kgco2e
    target.carbon = estimate.model_copy(update={
        "kgco2e": value, "kgco2e_low": round(estimate.kgco2e_low * ratio, 3),
        "kgco2e_high": round(estimate.kgco2e_high * ratio, 3),
        "kwh": round(estimate.kwh * ratio, 3), "kwh_low": round(estimate.kwh_low * ratio, 3),
        "kwh_high": round(estimate.kwh_high * ratio, 3),
        "embodied_kgco2e": round(estimate.embodied_kgco2e * ratio, 3),
        "notes": [*estimate.notes, f"scaled from today's by what the plan saves ({kinds})"]})
    energy = current.monthly_energy_kwh
    if energy.value is not None:
        target.monthly_energy_kwh = Characteristic[float](
            value=round(energy.value * ratio, 3), origin=Origin.INFERRED, unit=energy.unit,
            source=energy.source, note="estimate: scaled with the carbon the plan saves",
            rationale=kinds)


def _capacity(profile: MLProfile) -> float | None:
    """vCPUs of the serving instances, for re-estimating utilisation after a resize."""
    total = 0.0
    for variant in profile.serving_variants:
        spec = spec_for(variant.instance_type.value)
        count = variant.instance_count.value
        if variant.instance_type.value is None:
            continue
        if spec is None or count is None:
            return None
        total += spec.vcpu * count
    return total


def _target_sustainability(target: MLProfile, current: MLProfile, plan: EndpointPlan) -> None:
    """Whether the target scales to zero (serverless, async at MinCapacity 0, an off-hours
    schedule down to nothing) or follows working hours, and the use of its capacity after a
    resize: what the sustainability pillar judges."""
    for planned in plan.chosen:
        for change in planned.option.changes:
            ident = f"{planned.finding}:{change.characteristic}:" \
                    f"{change.component or change.variant or '-'}"
            value: ScaleToZero | None = None
            note = ""
            if change.characteristic == "deployment_option" and \
                    change.proposed is DeploymentOption.SERVERLESS:
                value, note = ScaleToZero.SCALES_TO_ZERO, "serverless: nothing runs between " \
                                                          "requests"
                target.capacity_utilisation_pct = Characteristic[float](
                    value=None, origin=Origin.INFERRED, unit="percent",
                    note="serverless: capacity exists only while requests run",
                    rationale=str(planned.finding), change=ident)
            elif change.characteristic == "min_instances" and change.proposed == 0 and \
                    target.deployment_option.value is DeploymentOption.ASYNC:
                value, note = ScaleToZero.SCALES_TO_ZERO, "async at MinCapacity 0"
            elif change.characteristic == "off_hours_schedule" and \
                    isinstance(change.proposed, OffHoursSchedule):
                schedule = change.proposed
                value = (ScaleToZero.SCALES_TO_ZERO if schedule.night == 0
                         else ScaleToZero.OFF_HOURS)
                note = schedule.text
            if value is not None and target.scale_to_zero.value is not \
                    ScaleToZero.SCALES_TO_ZERO:
                target.scale_to_zero = Characteristic[ScaleToZero](
                    value=value, origin=Origin.INFERRED, source=f"plan: {planned.finding}",
                    note=note, rationale=str(planned.finding), change=ident)
    resized = next((c for c in target.changes if c.applied
                    and c.characteristic in ("instance_type", "instance_count")), None)
    before, after = _capacity(current), _capacity(target)
    old = current.capacity_utilisation_pct
    if resized is not None and old.value is not None and before and after and \
            target.capacity_utilisation_pct.value is not None:
        target.capacity_utilisation_pct = _scaled(old, before / after,
                                                  "same load over the new vCPUs",
                                                  resized.finding, resized.id)
