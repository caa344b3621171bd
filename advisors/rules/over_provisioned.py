"""`over-provisioned`: the busiest resource would stay under target on fewer or cheaper instances.

Sizing is per instance-based variant (shadow variants cost too), from the p95 of CPU, memory, GPU
and GPU memory. Production keeps its minimum instance count; GPU models move only to the same GPU
model, or to CPU when the GPU is nearly unused. Inference-component endpoints are left alone:
managed instance scaling may already consolidate them.
"""

from __future__ import annotations

from advisors.context import AdvisorContext
from advisors.cost import CostEstimate, instances_monthly_cost
from advisors.finding import CostedOption, Finding, FindingKind, ProfileChange
from advisors.rules.common import (
    number,
    opportunity_severity,
    option,
    resource_name,
    rows,
    savings,
    usd,
)
from advisors.sizing import Sized, demand_of, sized_candidates
from ground.catalog import spec_for
from ground.domain import DeploymentOption

# Options shown besides the current sizing and the suggestion.
MAX_OTHER_OPTIONS = 3


def _pick(current_type: str, current_count: int, current: CostEstimate,
          sized: list[Sized], min_savings: float) -> Sized | None:
    """The cheapest fit worth the change; with the current price unknown, only fewer instances
    of the same type are surely cheaper."""
    same_type = next((s for s in sized if s.spec.instance_type == current_type), None)
    priced = sorted((s for s in sized if s.monthly_usd is not None),
                    key=lambda s: (s.monthly_usd or 0.0, s.count))
    if current.usd is not None and priced:
        best = priced[0]
        if current.usd - (best.monthly_usd or 0.0) >= min_savings:
            return best
        return None
    if same_type is not None and same_type.count < current_count:
        return same_type
    return None


def find_over_provisioned(ctx: AdvisorContext) -> list[Finding]:
    variants = ctx.features.variants
    endpoints = ctx.features.endpoints
    if variants.empty:
        return []
    keys = variants.index.get_level_values("endpoint")
    judged = endpoints.reindex(keys)
    mask = (
        ~variants["serverless"].astype(bool)
        & (variants["instance_count"] > 0)
        & (variants["busiest_pct"] < ctx.settings.target_utilisation_pct)
        & (judged["deployment"] != DeploymentOption.INFERENCE_COMPONENTS.value).to_numpy()
        & ~judged["too_new"].astype(bool).to_numpy()
        & judged["serving"].astype(bool).to_numpy()
        & (judged["requests"] > 0).to_numpy()  # idle endpoints get `idle`, not a smaller size
    )
    findings: list[Finding] = []
    for (key, variant_name), row in rows(variants, mask):
        spec = spec_for(row["instance_type"])
        if spec is None:
            continue
        count = int(row["instance_count"])
        demand = demand_of(row, spec, count, ctx.settings)
        if demand is None:
            continue  # a metric is missing: no data is not idle capacity
        requirements = ctx.requirements_of(key)
        floor = 1 if row["shadow"] else max(1, requirements.min_instances)
        sized = sized_candidates(spec, demand, str(row["region"]), ctx.prices, ctx.settings,
                                 floor)
        current = instances_monthly_cost(spec.instance_type, count, str(row["region"]),
                                         ctx.prices)
        choice = _pick(spec.instance_type, count, current, sized,
                       ctx.settings.min_monthly_savings_usd)
        if choice is None:
            continue
        saved = savings(current, choice.cost.usd)
        others = sorted((s for s in sized if s is not choice and s.monthly_usd is not None
                         and (s.spec.instance_type, s.count) != (spec.instance_type, count)),
                        key=lambda s: s.monthly_usd or 0.0)[:MAX_OTHER_OPTIONS]
        options: list[CostedOption] = [
            option(f"current: {count}x {spec.instance_type}", current, fits=True,
                   note=f"busiest: {resource_name(row['busiest_resource'])} at "
                        f"{row['busiest_pct']:.0f} %"),
            option(choice.label, choice.cost, fits=True,
                   note=f"busiest resource projected at {choice.busiest_pct:.0f} %"),
            *(option(s.label, s.cost, fits=True,
                     note=f"busiest resource projected at {s.busiest_pct:.0f} %")
              for s in others),
        ]
        changes: list[ProfileChange] = []
        if choice.spec.instance_type != spec.instance_type:
            changes.append(ProfileChange(characteristic="instance_type",
                                         current=spec.instance_type,
                                         proposed=choice.spec.instance_type,
                                         variant=str(variant_name)))
        if choice.count != count:
            changes.append(ProfileChange(characteristic="instance_count", current=count,
                                         proposed=choice.count, variant=str(variant_name)))
        if not changes:
            continue
        scaling_note = (" The variant autoscales: lower its MinCapacity with the count."
                        if row["autoscaling_target"] else "")
        gpu_note = (" The GPU is nearly unused, so CPU instances are considered."
                    if spec.has_gpu and not demand.needs_gpu else "")
        price_note = (f" The price of {spec.instance_type} is unknown, so only fewer instances "
                      "of the same type are suggested (surely cheaper)."
                      if current.usd is None else "")
        findings.append(Finding(
            kind=FindingKind.OVER_PROVISIONED,
            severity=opportunity_severity(saved, current),
            endpoint=key,
            variant=str(variant_name),
            summary=(f"{count}x {spec.instance_type} could be {choice.label}: saves "
                     f"{usd(saved)}"),
            rationale=(
                f"At p95 over {ctx.fleet.lookback_days} days, per instance: CPU "
                f"{row['cpu_p95_pct']:.0f} %, memory {row['memory_p95_pct']:.0f} %"
                + (f", GPU {row['gpu_p95_pct']:.0f} %, GPU memory "
                   f"{row['gpu_memory_p95_pct']:.0f} %" if spec.has_gpu else "")
                + f". That is {demand.cpu_vcpu:.1f} busy vCPUs across the variant and "
                f"{demand.memory_gib:.1f} GiB of memory on each instance (the model is loaded "
                f"on every one); {choice.label} keeps the busiest resource at "
                f"{choice.busiest_pct:.0f} %, within the targets (CPU and GPU "
                f"{ctx.settings.target_utilisation_pct:.0f} %, memory "
                f"{ctx.settings.target_memory_pct:.0f} %), with at least {floor} "
                f"instance(s). Current {usd(current.usd)}, proposed {usd(choice.cost.usd)} "
                f"({choice.cost.source})." + gpu_note + scaling_note + price_note),
            evidence={
                "cpu_p95_pct": number(row["cpu_p95_pct"]),
                "memory_p95_pct": number(row["memory_p95_pct"]),
                "gpu_p95_pct": number(row["gpu_p95_pct"]),
                "gpu_memory_p95_pct": number(row["gpu_memory_p95_pct"]),
                "busiest_pct": number(row["busiest_pct"]),
                "busy_vcpu": round(demand.cpu_vcpu, 2),
                "memory_used_gib": round(demand.memory_gib, 2),
                "target_utilisation_pct": ctx.settings.target_utilisation_pct,
                "min_instances": floor,
                "current_monthly_usd": current.usd,
                "proposed_monthly_usd": choice.cost.usd,
                "projected_busiest_pct": round(choice.busiest_pct, 1),
            },
            suggested=tuple(changes),
            options=tuple(options),
            monthly_savings_usd=saved,
        ))
    return findings
