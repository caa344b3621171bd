"""`single-instance`: a production variant that can run on one instance, so one failure takes it
down.

SageMaker spreads instances over Availability Zones only when there are at least two. A fixed
variant on one instance needs a second one; a variant whose count Application Auto Scaling moves
needs its floor (MinCapacity) raised, and is billed the difference only for the hours it ran below
it (its count is time-weighted, not the count of the moment). Async endpoints are left alone:
their requests wait in the queue while an instance is replaced, none is lost.

Instances that follow their copies (managed instance scaling on an inference-component endpoint)
are left alone too: SageMaker derives their count from the copies, places the copies and brings
up the instances they need, so the variant's count is not the lever (as `no_autoscaling` leaves
such variants to their components). A second instance of MinInstanceCount would not by itself put
any model's copies on two instances, and it doubles the largest line of the bill.

On an inference-component endpoint with a fixed count, a second instance only helps a model whose
copies sit on both, which SageMaker does not promise when one instance holds several copies: the
finding also offers smaller instances of the same accelerator that hold one copy each, so every
model with two copies runs on two instances (often for less than a second large instance).
"""

from __future__ import annotations

import pandas as pd

from advisors.components import capacity_of, copies_of, per_copy
from advisors.context import AdvisorContext
from advisors.cost import instances_monthly_cost
from advisors.finding import CostedOption, Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.rules.common import keep, option, rows, savings, usd
from ground.catalog import spec_for
from ground.domain import DeploymentOption, EndpointSnapshot, VariantSnapshot

# Options of smaller instances holding one copy each, besides a second instance of today's type.
MAX_SPREAD_OPTIONS = 2


def _floor_of(variant: VariantSnapshot) -> int | None:
    """The floor a count Application Auto Scaling moves has (MinCapacity); None when fixed."""
    scaling = variant.autoscaling
    if scaling is not None and scaling.scales and scaling.max_capacity > scaling.min_capacity:
        return scaling.min_capacity
    return None


def _follows_copies(variant: VariantSnapshot) -> bool:
    """Managed instance scaling sizes the variant from its inference components' copies."""
    managed = variant.managed_instance_scaling
    return variant.autoscaling is None and managed is not None and managed.enabled


def _hours_below(ctx: AdvisorContext, key: str, variant: VariantSnapshot, wanted: int,
                 mean: float) -> float:
    """Instances a month the raised floor adds on average: per hour, how far under `wanted`
    the count ran (from the hourly counts; without them, from the time-weighted mean)."""
    hourly = ctx.fleet.metrics.series("hourly", "instance_count", key)
    column = (key, variant.name)
    if column in hourly.columns:
        counts = pd.to_numeric(hourly[column], errors="coerce").dropna()
        if not counts.empty:
            return float((wanted - counts).clip(lower=0.0).mean())
    return max(wanted - mean, 0.0)


def find_single_instance(ctx: AdvisorContext) -> list[Finding]:
    variants = ctx.features.variants
    if variants.empty:
        return []
    judged = ctx.features.endpoints.reindex(variants.index.get_level_values("endpoint"))
    serving = judged["serving"].fillna(False).astype(bool).to_numpy()
    queued = (judged["deployment"] == DeploymentOption.ASYNC.value).to_numpy()
    mask = (~variants["serverless"].astype(bool) & ~variants["shadow"].astype(bool) & serving
            & ~queued)
    findings: list[Finding] = []
    for (key, name), row in rows(variants, mask):
        if not ctx.is_production(key):
            continue
        endpoint = ctx.endpoint(key)
        variant = next(v for v in endpoint.variants if v.name == name)
        if _follows_copies(variant):
            continue
        wanted = max(2, ctx.requirements_of(key).min_instances)
        floor = _floor_of(variant)
        if floor is None and variant.current_instance_count == 1:
            findings.append(_fixed(ctx, endpoint, variant, wanted))
        elif floor is not None and floor < wanted and variant.instance_type:
            findings.append(_moving(ctx, endpoint, variant, floor, wanted,
                                    float(row["billed_instances"])))
    return findings


def _fixed(ctx: AdvisorContext, endpoint: EndpointSnapshot, variant: VariantSnapshot,
           wanted: int) -> Finding:
    instance_type = str(variant.instance_type)
    current = instances_monthly_cost(instance_type, 1, endpoint.region, ctx.prices)
    proposed = instances_monthly_cost(instance_type, wanted, endpoint.region, ctx.prices)
    saved = savings(current, proposed.usd)
    carbon_now = ctx.shape_footprint(endpoint.key, variant.name, instance_type, 1)
    carbon_after = ctx.shape_footprint(endpoint.key, variant.name, instance_type, wanted)
    spread = _one_copy_each(ctx, endpoint, variant, wanted)
    spread_text = ("" if not spread else
                   f" Or {spread[0].label}: one copy per instance, so each model with two "
                   f"copies runs on two instances, for {usd(spread[0].monthly_cost_usd)}.")
    return Finding(
        kind=FindingKind.SINGLE_INSTANCE,
        severity=Severity.WARNING,
        endpoint=endpoint.key,
        variant=variant.name,
        summary=f"Production variant on a single {instance_type}",
        rationale=(
            f"Variant {variant.name} serves production traffic from one instance: an instance "
            "failure, a host replacement or a deployment leaves it without capacity. With "
            f"{wanted} instances SageMaker spreads them over Availability Zones. Extra cost "
            f"{usd(None if saved is None else -saved)} ({proposed.source})." + spread_text),
        evidence={"instance_count": 1, "instance_type": instance_type,
                  "proposed_instance_count": wanted,
                  "current_monthly_usd": current.usd, "proposed_monthly_usd": proposed.usd},
        options=(keep(f"1x {instance_type}", current, fits=False, note="no redundancy",
                      carbon=carbon_now),
                 option(f"{wanted}x {instance_type}", proposed, fits=True,
                        note="spread over Availability Zones", kind=OptionKind.RESIZE,
                        changes=(ProfileChange(characteristic="instance_count", current=1,
                                               proposed=wanted, variant=variant.name),),
                        carbon=carbon_after),
                 *spread),
        monthly_savings_usd=saved,
    )


def _moving(ctx: AdvisorContext, endpoint: EndpointSnapshot, variant: VariantSnapshot,
            floor: int, wanted: int, mean: float) -> Finding:
    instance_type = str(variant.instance_type)
    top = variant.autoscaling.max_capacity if variant.autoscaling else None
    added = _hours_below(ctx, endpoint.key, variant, wanted, mean)
    current = instances_monthly_cost(instance_type, mean, endpoint.region, ctx.prices)
    proposed = instances_monthly_cost(instance_type, mean + added, endpoint.region, ctx.prices)
    saved = savings(current, proposed.usd)
    carbon_now = ctx.shape_footprint(endpoint.key, variant.name, instance_type, mean)
    carbon_after = ctx.shape_footprint(endpoint.key, variant.name, instance_type, mean + added)
    changes = [ProfileChange(characteristic="min_instances", current=floor, proposed=wanted,
                             variant=variant.name)]
    if top is not None and top < wanted:
        changes.append(ProfileChange(characteristic="max_instances", current=top,
                                     proposed=wanted, variant=variant.name))
    return Finding(
        kind=FindingKind.SINGLE_INSTANCE,
        severity=Severity.WARNING,
        endpoint=endpoint.key,
        variant=variant.name,
        summary=(f"Production variant can scale down to {floor} {instance_type}: raise "
                 f"MinCapacity to {wanted}"),
        rationale=(
            f"Variant {variant.name} follows its load with its scalable target between "
            f"{floor} and {top if top is not None else '?'} instances: whenever it runs on "
            "one, an instance failure or a host replacement leaves it without capacity. With "
            f"MinCapacity {wanted} SageMaker keeps at least {wanted} spread over Availability "
            f"Zones. It ran {mean:.1f} instances on average (time-weighted); the raised floor "
            f"adds about {added:.1f} on average, for the hours it ran below {wanted}: extra "
            f"cost {usd(None if saved is None else -saved)} ({proposed.source})."),
        evidence={"min_instances": floor, "instance_type": instance_type,
                  "proposed_min_instances": wanted, "instance_count_mean": round(mean, 2),
                  "added_instances_mean": round(added, 2),
                  "current_monthly_usd": current.usd, "proposed_monthly_usd": proposed.usd},
        options=(keep(f"MinCapacity {floor}, {mean:.1f} instances on average", current,
                      fits=False, note="no redundancy while it runs on one", carbon=carbon_now),
                 option(f"MinCapacity {wanted}", proposed, fits=True,
                        note="billed only for the hours it ran below", kind=OptionKind.RESIZE,
                        changes=tuple(changes), carbon=carbon_after)),
        monthly_savings_usd=saved,
    )


def _one_copy_each(ctx: AdvisorContext, endpoint: EndpointSnapshot, variant: VariantSnapshot,
                   wanted: int) -> list[CostedOption]:
    """Instances of the same accelerator (or none) that hold exactly one copy each, as many as
    there are copies (at least `wanted`): every model with two copies is on two instances.
    For a fixed count (no managed instance scaling): the copies cannot outgrow it."""
    components = endpoint.components_on(variant.name)
    spec = spec_for(variant.instance_type)
    copies = copies_of(components)
    if not components or spec is None or not copies:
        return []
    found: list[CostedOption] = []
    for candidate, price in ctx.prices.candidates(endpoint.region):
        if candidate.instance_type == spec.instance_type or price is None:
            continue
        if candidate.accelerator is not spec.accelerator or \
                candidate.gpu_model != spec.gpu_model:
            continue
        # Memory with the model's headroom: the instance keeps some for itself.
        full = capacity_of(candidate)
        room = type(full)(full.accelerators, full.cpu_cores,
                          full.memory_mb * ctx.settings.target_memory_pct / 100.0)
        if any(not per_copy(c).fits_in(room) for c in components):
            continue
        # One copy each: two of the largest would not fit together.
        largest = max((per_copy(c) for c in components),
                      key=lambda r: (r.accelerators, r.cpu_cores, r.memory_mb))
        doubled = type(largest)(largest.accelerators * 2, largest.cpu_cores * 2,
                                largest.memory_mb * 2)
        if doubled.fits_in(room) and (largest.accelerators or largest.cpu_cores
                                      or largest.memory_mb):
            continue
        count = max(len(copies), wanted)
        cost = instances_monthly_cost(candidate.instance_type, count, endpoint.region,
                                      ctx.prices)
        changes = (ProfileChange(characteristic="instance_type", current=spec.instance_type,
                                 proposed=candidate.instance_type, variant=variant.name),
                   ProfileChange(characteristic="instance_count",
                                 current=variant.current_instance_count, proposed=count,
                                 variant=variant.name))
        found.append(option(f"{count}x {candidate.instance_type}, one copy each", cost,
                            fits=True, note=f"{candidate.accelerator_label} per instance",
                            kind=OptionKind.RESIZE, changes=changes,
                            carbon=ctx.shape_footprint(endpoint.key, variant.name,
                                                       candidate.instance_type, count)))
        if len(found) >= MAX_SPREAD_OPTIONS:
            break
    return found
