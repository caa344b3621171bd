"""`over-provisioned`: the busiest resource would stay under target on fewer or cheaper instances.

Sizing is per instance-based variant (shadow variants cost too), from the p95 of CPU, memory, GPU
and GPU memory. Production keeps its minimum instance count. A model moves only to types that can
host it (`advisors.sizing`): an accelerator model keeps its accelerator kind and model, its
devices per instance and its accelerator memory. A nearly idle GPU model's move to CPU is never
the suggestion: it is listed as an option naming what it takes (a CPU build, a load test holding
the p99 objective), and not at all when the image is built for the GPU or for Neuron. LLM servers'
GPU memory is not read as load. An autoscaled variant is sized and costed from its
time-weighted instance count over the lookback, and the suggestion is its MinCapacity,
MaxCapacity and target value (`advisors.scaling`); a fixed variant gets a count.
Inference-component endpoints are not sized by utilisation: their instances hold what the copies
reserve, so `empty_instances` judges them by their reservations (and leaves alone those managed
instance scaling consolidates itself).
"""

from __future__ import annotations

from typing import Any

from advisors.context import AdvisorContext
from advisors.cost import CostEstimate, instances_monthly_cost
from advisors.finding import CostedOption, Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.limits import MICROSECONDS_PER_MS
from advisors.rules.common import (
    carbon_clause,
    keep,
    number,
    opportunity_severity,
    option,
    resource_name,
    rows,
    savings,
    usd,
)
from advisors.rules.empty_instances import find_empty_instances
from advisors.scaling import ScalingPlan, per_instance_policy, scaling_plan
from advisors.sizing import Demand, Sized, demand_of, sized_candidates
from ground.catalog import AcceleratorKind, InstanceSpec, spec_for
from ground.domain import AutoscalingInfo, DeploymentOption, VariantSnapshot
from ground.energy import Footprint
from ground.images import ImageBuild, Workload
from ground.requirements import Requirements

# Options shown besides the current sizing and the suggestion.
MAX_OTHER_OPTIONS = 3
# CPU types listed for a nearly idle GPU model (options only, never the suggestion).
MAX_CPU_OPTIONS = 2


def _pick(current_type: str, current_count: float, current: CostEstimate,
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


def _cpu_moves(sized: list[Sized], current: CostEstimate, choice: Sized | None,
               min_savings: float) -> list[Sized]:
    """CPU types that would save at least `min_savings` more than the suggestion does."""
    if current.usd is None:
        return []
    bar = current.usd - min_savings
    if choice is not None and choice.monthly_usd is not None:
        bar = min(bar, choice.monthly_usd - min_savings)
    found = [s for s in sized if s.off_accelerator and s.monthly_usd is not None
             and s.monthly_usd <= bar]
    return sorted(found, key=lambda s: (s.monthly_usd or 0.0, s.count))[:MAX_CPU_OPTIONS]


def _objective_text(requirements: Requirements, row: dict[str, Any]) -> str:
    if requirements.p99_latency_ms is not None:
        return f"p99 within the {requirements.p99_latency_ms:,.0f} ms objective"
    p99 = number(row["model_latency_p99_us"])
    if p99 is not None:
        return f"p99 near today's {p99 / MICROSECONDS_PER_MS:,.0f} ms (no objective stated)"
    return "a p99 objective to hold (none stated, none measured)"


def _cpu_needs(workload: Workload, requirements: Requirements, row: dict[str, Any]) -> str:
    """What moving off the GPU takes, as a clause: 'it needs a CPU build of the image, ...'."""
    image = ("the image is a CPU build already; it needs" if workload.build is ImageBuild.CPU
             else "it needs a CPU build of the image (today's tag names none),")
    return (f"{image} a load test at today's peak (e.g. an Inference Recommender job) and "
            f"{_objective_text(requirements, row)}")


def _cpu_note(workload: Workload, requirements: Requirements, row: dict[str, Any]) -> str:
    return f"not proven: off the GPU {_cpu_needs(workload, requirements, row)}"


def _gib(amount: float) -> str:
    return f"{amount:.1f}" if amount < 10 else f"{amount:,.0f}"


def _accelerator_note(spec: InstanceSpec, demand: Demand) -> str:
    if spec.accelerator is AcceleratorKind.NVIDIA:
        if spec.gpu_count == 1:
            return (f" Only types with {spec.gpu_model} GPUs and at least "
                    f"{_gib(demand.accelerator_memory_gib)} GiB of GPU memory are considered: "
                    "utilisation does not translate between GPU models.")
        return (f" Only types with at least {spec.gpu_count} {spec.gpu_model} GPUs per instance "
                f"and {_gib(demand.accelerator_memory_gib)} GiB of GPU memory are considered: "
                "utilisation does not translate between GPU models, and a model sharded over "
                f"{spec.gpu_count} GPUs needs every one.")
    if spec.has_accelerator:
        return (f" Only {spec.gpu_model} types with at least {spec.gpu_count} device(s) per "
                f"instance are considered: the model is built for {spec.gpu_model}. CloudWatch "
                f"publishes no {spec.gpu_model} utilisation, so the variant keeps at least its "
                f"{demand.total_devices} device(s) and {spec.gpu_memory_gib:g} GiB of "
                "accelerator memory per instance.")
    return ""


def _llm_note(workload: Workload, row: dict[str, Any], demand: Demand) -> str:
    if workload.llm_server is None:
        return ""
    gpu_memory = number(row["gpu_memory_p95_pct"])
    concurrency = number(row["concurrency_max"])
    return (f" GPU memory{f' ({gpu_memory:.0f} %)' if gpu_memory is not None else ''} is set "
            f"aside: the LLM server ({workload.llm_server}, from {workload.llm_evidence}) "
            "preallocates most of it for its KV cache at start-up, so load is read from GPU "
            "utilisation, concurrent requests"
            f"{f' (peak {concurrency:.0f} per model)' if concurrency is not None else ''} and "
            f"latency; a new type needs at least today's {_gib(demand.accelerator_memory_gib)} GiB "
            "of GPU memory.")


def _gpu_note(spec: InstanceSpec, row: dict[str, Any], workload: Workload,
              cpu_moves: list[Sized], idle_pct: float) -> str:
    gpu = number(row["gpu_p95_pct"])
    if not spec.has_gpu or gpu is None or gpu > idle_pct:
        return ""
    if cpu_moves:
        return (f" The GPU is nearly unused (p95 {gpu:.0f} %): CPU types are listed as options, "
                "not suggested, until a CPU build passes a load test.")
    if workload.accelerator_build or workload.llm_server is not None:
        what = (f"an LLM server ({workload.llm_server})" if workload.llm_server is not None
                else f"a {workload.build.value.upper()} build")
        return (f" The GPU is nearly unused (p95 {gpu:.0f} %), but the image is {what}: CPU "
                "types are not considered, the model would need another image.")
    return ""


def _evidence(row: dict[str, Any], spec: InstanceSpec, demand: Demand, workload: Workload,
              floor: int, target_pct: float) -> dict[str, float | int | str | None]:
    return {
        "cpu_p95_pct": number(row["cpu_p95_pct"]),
        "memory_p95_pct": number(row["memory_p95_pct"]),
        "gpu_p95_pct": number(row["gpu_p95_pct"]),
        "gpu_memory_p95_pct": number(row["gpu_memory_p95_pct"]),
        "busiest_pct": number(row["busiest_pct"]),
        "busy_vcpu": round(demand.cpu_vcpu, 2),
        "memory_used_gib": round(demand.memory_gib, 2),
        "accelerator": spec.accelerator.value,
        "accelerators_per_instance": spec.gpu_count,
        "accelerator_memory_needed_gib": round(demand.accelerator_memory_gib, 2),
        "image_build": workload.build.value,
        "llm_server": workload.llm_server.value if workload.llm_server else None,
        "concurrency_max": number(row["concurrency_max"]),
        "target_utilisation_pct": target_pct,
        "min_instances": floor,
    }


def _carbon(ctx: AdvisorContext, key: str, variant: str, sized: Sized) -> Footprint | None:
    """The sized shape carrying the variant's load of today."""
    return ctx.shape_footprint(key, variant, sized.spec.instance_type, sized.count)


def _count_text(count: float) -> str:
    """Instances as said: whole when whole, else a time-weighted mean to one decimal."""
    return f"{count:.0f}" if count == int(count) else f"{count:.1f}"


def _cpu_only_finding(ctx: AdvisorContext, key: str, variant: str, row: dict[str, Any],
                      spec: InstanceSpec, count: float, current: CostEstimate,
                      cpu_moves: list[Sized], evidence: dict[str, float | int | str | None],
                      workload: Workload, requirements: Requirements) -> Finding:
    """A nearly idle GPU with no cheaper GPU type: the CPU move is worth knowing, not applying."""
    best = cpu_moves[0]
    potential = savings(current, best.cost.usd)
    note = _cpu_note(workload, requirements, row)
    return Finding(
        kind=FindingKind.OVER_PROVISIONED,
        severity=Severity.INFO,
        endpoint=key,
        variant=variant,
        summary=(f"GPU nearly unused (p95 {row['gpu_p95_pct']:.0f} %): {best.label} could "
                 f"save {usd(potential)} once a CPU build passes a load test"),
        rationale=(
            f"At p95 over {ctx.fleet.lookback_days} days, per instance: GPU "
            f"{row['gpu_p95_pct']:.0f} %, GPU memory {row['gpu_memory_p95_pct']:.0f} %, CPU "
            f"{row['cpu_p95_pct']:.0f} %, memory {row['memory_p95_pct']:.0f} %. No cheaper "
            f"{spec.gpu_model} type fits, and nothing is suggested: moving off the GPU is not "
            f"proven by these figures. {best.label} would keep the busiest resource at "
            f"{best.busiest_pct:.0f} % with the GPU's memory moved to host memory, for "
            f"{usd(best.cost.usd)} against {usd(current.usd)} today ({best.cost.source}); "
            f"before that, {_cpu_needs(workload, requirements, row)}."),
        evidence={**evidence, "current_monthly_usd": current.usd,
                  "cpu_option_monthly_usd": best.cost.usd,
                  "cpu_option_savings_usd": potential},
        options=(
            keep(f"current: {_count_text(count)}x {spec.instance_type}", current, fits=True,
                 note=f"GPU p95 {row['gpu_p95_pct']:.0f} %",
                 carbon=ctx.variant_footprint(key, variant)),
            *(option(s.label, s.cost, fits=False, note=note, kind=OptionKind.RESIZE,
                     changes=_cpu_move_changes(variant, spec, count, s),
                     carbon=_carbon(ctx, key, variant, s)) for s in cpu_moves),
        ),
        monthly_savings_usd=None,  # nothing is suggested until the CPU move is proven
    )


def find_over_provisioned(ctx: AdvisorContext) -> list[Finding]:
    variants = ctx.features.variants
    endpoints = ctx.features.endpoints
    if variants.empty:
        return []
    keys = variants.index.get_level_values("endpoint")
    judged = endpoints.reindex(keys)
    mask = (
        ~variants["serverless"].astype(bool)
        & (variants["billed_instances"] > 0)
        & (variants["busiest_pct"] < ctx.settings.target_utilisation_pct)
        & (judged["deployment"] != DeploymentOption.INFERENCE_COMPONENTS.value).to_numpy()
        & ~judged["too_new"].astype(bool).to_numpy()
        & judged["serving"].astype(bool).to_numpy()
        & (judged["requests_all_variants"] > 0).to_numpy()  # idle ones get `idle`, not a size
    )
    settings = ctx.settings
    findings: list[Finding] = []
    for (key, variant_name), row in rows(variants, mask):
        spec = spec_for(row["instance_type"])
        if spec is None:
            continue
        # Autoscaled: the time-weighted mean over the lookback, not the count of the moment.
        count = float(row["billed_instances"])
        workload = ctx.workload(key, str(variant_name))
        demand = demand_of(row, spec, count, settings, workload)
        if demand is None:
            continue  # a metric is missing: no data is not idle capacity
        requirements = ctx.requirements_of(key)
        floor = 1 if row["shadow"] else max(1, requirements.min_instances)
        region = str(row["region"])
        sized = sized_candidates(spec, demand, region, ctx.prices, settings, floor)
        current = instances_monthly_cost(spec.instance_type, count, region, ctx.prices)
        hosted = [s for s in sized if not s.off_accelerator]
        choice = _pick(spec.instance_type, count, current, hosted,
                       settings.min_monthly_savings_usd)
        cpu_moves = _cpu_moves(sized, current, choice, settings.min_monthly_savings_usd)
        evidence = _evidence(row, spec, demand, workload, floor,
                             settings.target_utilisation_pct)
        if choice is None:
            if cpu_moves:
                findings.append(_cpu_only_finding(ctx, key, str(variant_name), row, spec, count,
                                                  current, cpu_moves, evidence, workload,
                                                  requirements))
            continue
        variant = next(v for v in ctx.endpoint(key).variants if v.name == variant_name)
        price_note = (f" The price of {spec.instance_type} is unknown, so only fewer instances "
                      "of the same type are suggested (surely cheaper)."
                      if current.usd is None else "")
        notes = (_accelerator_note(spec, demand) + _llm_note(workload, row, demand)
                 + _gpu_note(spec, row, workload, cpu_moves, settings.gpu_to_cpu_max_gpu_pct)
                 + price_note)
        if row["time_weighted"] and variant.autoscaling is not None:
            plan = scaling_plan(variant.autoscaling, count,
                                choice.spec.instance_type == spec.instance_type, choice.count,
                                floor, _peak_invocations_per_instance(ctx, key, variant))
            if plan is not None:
                cpu_options = [
                    option(s.label, s.cost, fits=False, note=_cpu_note(workload, requirements, row),
                           kind=OptionKind.RESIZE,
                           changes=_scaled_changes(ctx, key, variant, spec, count, s, floor),
                           carbon=_carbon(ctx, key, str(variant_name), s))
                    for s in cpu_moves]
                findings.append(_autoscaled_finding(ctx, key, variant, row, spec, demand,
                                                    current, choice, hosted, plan, floor,
                                                    notes, evidence, cpu_options))
            continue
        count = int(count)
        saved = savings(current, choice.cost.usd)
        carbon_now = ctx.variant_footprint(key, str(variant_name))
        carbon_after = _carbon(ctx, key, str(variant_name), choice)
        others = sorted((s for s in hosted if s is not choice and s.monthly_usd is not None
                         and (s.spec.instance_type, s.count) != (spec.instance_type, count)),
                        key=lambda s: s.monthly_usd or 0.0)[:MAX_OTHER_OPTIONS]
        pinned = variant.autoscaling
        name = str(variant_name)
        changes = _fixed_changes(name, spec, count, choice, pinned)
        if not changes:
            continue
        options: list[CostedOption] = [
            keep(f"current: {count}x {spec.instance_type}", current, fits=True,
                 note=f"busiest: {resource_name(row['busiest_resource'])} at "
                      f"{row['busiest_pct']:.0f} %", carbon=carbon_now),
            option(choice.label, choice.cost, fits=True,
                   note=f"busiest resource projected at {choice.busiest_pct:.0f} %",
                   kind=OptionKind.RESIZE, changes=changes, carbon=carbon_after),
            *(option(s.label, s.cost, fits=True,
                     note=f"busiest resource projected at {s.busiest_pct:.0f} %",
                     kind=OptionKind.RESIZE, changes=_fixed_changes(name, spec, count, s, pinned),
                     carbon=_carbon(ctx, key, name, s))
              for s in others),
            *(option(s.label, s.cost, fits=False, note=_cpu_note(workload, requirements, row),
                     kind=OptionKind.RESIZE, changes=_fixed_changes(name, spec, count, s, pinned),
                     carbon=_carbon(ctx, key, name, s))
              for s in cpu_moves),
        ]
        scaling_note = ""
        if pinned is not None and choice.count < pinned.min_capacity:
            # A scalable target that does not scale still holds the count at its MinCapacity.
            scaling_note = (f" Its scalable target holds at least {pinned.min_capacity}: lower "
                            f"MinCapacity to {choice.count} with the count.")
        elif pinned is not None and choice.count > pinned.max_capacity:
            scaling_note = (f" Its scalable target allows at most {pinned.max_capacity}: raise "
                            f"MaxCapacity to {choice.count} with the count.")
        gpu_figures = ""
        if spec.has_gpu:
            gpu_figures = (f", GPU {row['gpu_p95_pct']:.0f} %, GPU memory "
                           + (f"{row['gpu_memory_p95_pct']:.0f} %"
                              if number(row["gpu_memory_p95_pct"]) is not None else "no data"))
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
                + gpu_figures
                + f". That is {demand.cpu_vcpu:.1f} busy vCPUs across the variant and "
                f"{demand.memory_gib:.1f} GiB of memory on each instance (the model is loaded "
                f"on every one); {choice.label} keeps the busiest resource at "
                f"{choice.busiest_pct:.0f} %, within the targets (CPU and GPU "
                f"{settings.target_utilisation_pct:.0f} %, memory "
                f"{settings.target_memory_pct:.0f} %), with at least {floor} "
                f"instance(s). Current {usd(current.usd)}, proposed {usd(choice.cost.usd)} "
                f"({choice.cost.source})." + notes + scaling_note
                + carbon_clause(carbon_now, carbon_after)),
            evidence={**evidence,
                      "current_monthly_usd": current.usd,
                      "proposed_monthly_usd": choice.cost.usd,
                      "projected_busiest_pct": round(choice.busiest_pct, 1)},
            options=tuple(options),
            monthly_savings_usd=saved,
        ))
    return findings + find_empty_instances(ctx)


def _fixed_changes(variant: str, spec: InstanceSpec, count: int, sized: Sized,
                   pinned: AutoscalingInfo | None) -> list[ProfileChange]:
    """Type and count of a variant whose count does not move, and the bounds of a scalable
    target that would otherwise hold it where it is."""
    changes: list[ProfileChange] = []
    if sized.spec.instance_type != spec.instance_type:
        changes.append(ProfileChange(characteristic="instance_type", current=spec.instance_type,
                                     proposed=sized.spec.instance_type, variant=variant))
    if sized.count != count:
        changes.append(ProfileChange(characteristic="instance_count", current=count,
                                     proposed=sized.count, variant=variant))
    if pinned is not None and changes and sized.count < pinned.min_capacity:
        changes.append(ProfileChange(characteristic="min_instances", current=pinned.min_capacity,
                                     proposed=sized.count, variant=variant))
    elif pinned is not None and changes and sized.count > pinned.max_capacity:
        changes.append(ProfileChange(characteristic="max_instances", current=pinned.max_capacity,
                                     proposed=sized.count, variant=variant))
    return changes


def _peak_invocations_per_instance(ctx: AdvisorContext, key: str, variant: VariantSnapshot
                                   ) -> float | None:
    """The busiest hour's invocations per instance per minute (what the predefined
    SageMakerVariantInvocationsPerInstance target tracks), from the hourly requests and counts;
    None for another policy metric or without the hourly series."""
    policy = variant.autoscaling and per_instance_policy(variant.autoscaling)
    if not policy or policy.metric != "SageMakerVariantInvocationsPerInstance":
        return None
    return ctx.peak_invocations_per_instance(key, variant.name)


def _autoscaled_finding(ctx: AdvisorContext, key: str, variant: VariantSnapshot,
                        row: dict[str, Any], spec: InstanceSpec, demand: Demand,
                        current: CostEstimate, choice: Sized, hosted: list[Sized],
                        plan: ScalingPlan, floor: int, notes: str,
                        evidence: dict[str, float | int | str | None],
                        cpu_options: list[CostedOption]) -> Finding:
    """The finding of an autoscaled variant: costs at time-weighted counts, changes in
    MinCapacity / MaxCapacity / target value (and the type); the count is the average the
    policy then settles at, not a fixed count."""
    mean = plan.mean_instances
    new_type = choice.spec.instance_type
    hourly = ctx.fleet.metrics.series("hourly", "instance_count", key)
    counts = (hourly[(key, variant.name)].dropna() if (key, variant.name) in hourly.columns
              else None)
    observed = ("" if counts is None or counts.empty else
                f" Hour by hour it ran {counts.min():.0f} to {counts.max():.0f} instances.")
    saved = savings(current, choice.cost.usd)
    carbon_now = ctx.variant_footprint(key, variant.name)
    carbon_after = _carbon(ctx, key, variant.name, choice)
    changes = _plan_changes(variant.name, spec, mean, choice, plan)
    what = plan.describe()
    change = what if new_type == spec.instance_type else f"move to {new_type}, {what}"
    others = sorted((s for s in hosted if s is not choice and s.monthly_usd is not None
                     and s.spec.instance_type != new_type), key=lambda s: s.monthly_usd or 0.0)
    other_options: list[CostedOption] = []
    for new in others[:MAX_OTHER_OPTIONS]:
        new_changes = _scaled_changes(ctx, key, variant, spec, mean, new, floor)
        if new_changes:
            other_options.append(option(
                f"{new.spec.instance_type}: about {new.count} on average", new.cost, fits=True,
                note=f"busiest resource projected at {new.busiest_pct:.0f} %",
                kind=OptionKind.RESIZE, changes=new_changes,
                carbon=_carbon(ctx, key, variant.name, new)))
    options = [
        keep(f"current: {spec.instance_type}, MinCapacity {plan.min_capacity} / MaxCapacity "
             f"{plan.max_capacity}, {mean:.1f} instances on average (time-weighted)", current,
             fits=True, note=f"busiest: {resource_name(row['busiest_resource'])} at "
                             f"{row['busiest_pct']:.0f} %", carbon=carbon_now),
        option(f"{new_type}, {plan.label}: about {choice.count} on average", choice.cost,
               fits=True, note=f"busiest resource projected at {choice.busiest_pct:.0f} %",
               kind=OptionKind.RESIZE, changes=changes, carbon=carbon_after),
        *other_options,
        *cpu_options,
    ]
    gpu_figures = ""
    if spec.has_gpu:
        gpu_figures = (f", GPU {row['gpu_p95_pct']:.0f} %, GPU memory "
                       + (f"{row['gpu_memory_p95_pct']:.0f} %"
                          if number(row["gpu_memory_p95_pct"]) is not None else "no data"))
    return Finding(
        kind=FindingKind.OVER_PROVISIONED,
        severity=opportunity_severity(saved, current),
        endpoint=key,
        variant=variant.name,
        # The fixed variant's wording, in averages: the policy sets the count of the moment.
        summary=(f"{_count_text(round(mean, 1))}x {spec.instance_type} could be "
                 f"{choice.count}x {new_type} on average (autoscaled): {what}; saves "
                 f"{usd(saved)}"),
        rationale=(
            f"Over {ctx.fleet.lookback_days} days the variant ran {mean:.1f} instances on "
            f"average (time-weighted, from its CPUUtilization samples), between MinCapacity "
            f"{plan.min_capacity} and MaxCapacity {plan.max_capacity}.{observed} At p95, per "
            f"instance: CPU {row['cpu_p95_pct']:.0f} %, memory {row['memory_p95_pct']:.0f} %"
            f"{gpu_figures}: {demand.cpu_vcpu:.1f} busy vCPUs across the variant and "
            f"{demand.memory_gib:.1f} GiB on each instance. About {choice.count}x {new_type} "
            f"on average keep the busiest resource at {choice.busiest_pct:.0f} % (targets: "
            f"CPU and GPU {ctx.settings.target_utilisation_pct:.0f} %, memory "
            f"{ctx.settings.target_memory_pct:.0f} %), with at least {floor} instance(s). The "
            f"count is the scaling policy's to set, so the change is to {change}. Costs at the "
            f"time-weighted count: current {usd(current.usd)}, proposed {usd(choice.cost.usd)} "
            f"({choice.cost.source})." + notes + carbon_clause(carbon_now, carbon_after)),
        evidence={
            **evidence,
            "instance_count_mean": round(mean, 2),
            "instance_count_now": int(row["instance_count"]),
            "instances_hourly_min": None if counts is None or counts.empty
            else float(counts.min()),
            "instances_hourly_max": None if counts is None or counts.empty
            else float(counts.max()),
            "min_capacity": plan.min_capacity,
            "max_capacity": plan.max_capacity,
            "proposed_min_capacity": plan.new_min,
            "proposed_max_capacity": plan.new_max,
            "target_value": plan.policy.target_value if plan.policy else None,
            "proposed_target_value": plan.new_target_value,
            "projected_instance_count_mean": choice.count,
            "current_monthly_usd": current.usd,
            "proposed_monthly_usd": choice.cost.usd,
            "projected_busiest_pct": round(choice.busiest_pct, 1),
        },
        options=tuple(options),
        monthly_savings_usd=saved,
    )


def _plan_changes(variant: str, spec: InstanceSpec, mean: float, sized: Sized,
                  plan: ScalingPlan) -> list[ProfileChange]:
    """The type, the scalable target's bounds and target value, and the count the policy then
    settles at on average (not a count to set: the scalable target and its policy set it),
    against today's average rounded to whole instances: never up while MinCapacity comes
    down on the same type."""
    changes: list[ProfileChange] = []
    if sized.spec.instance_type != spec.instance_type:
        changes.append(ProfileChange(characteristic="instance_type", current=spec.instance_type,
                                     proposed=sized.spec.instance_type, variant=variant))
    changes += plan.changes(variant)
    today = max(1, round(mean))
    if sized.count != today:
        changes.append(ProfileChange(characteristic="instance_count", current=today,
                                     proposed=sized.count, variant=variant))
    return changes


def _scaled_changes(ctx: AdvisorContext, key: str, variant: VariantSnapshot,
                    spec: InstanceSpec, mean: float, sized: Sized, floor: int
                    ) -> list[ProfileChange]:
    """The changes that bring an autoscaled variant to `sized` (none when no scaling plan
    reaches it)."""
    if variant.autoscaling is None:
        return []
    plan = scaling_plan(variant.autoscaling, mean, sized.spec.instance_type == spec.instance_type,
                        sized.count, floor, _peak_invocations_per_instance(ctx, key, variant))
    return [] if plan is None else _plan_changes(variant.name, spec, mean, sized, plan)


def _cpu_move_changes(variant: str, spec: InstanceSpec, count: float, sized: Sized
                      ) -> list[ProfileChange]:
    today = max(1, round(count))
    changes = [ProfileChange(characteristic="instance_type", current=spec.instance_type,
                             proposed=sized.spec.instance_type, variant=variant)]
    if sized.count != today:
        changes.append(ProfileChange(characteristic="instance_count", current=today,
                                     proposed=sized.count, variant=variant))
    return changes
