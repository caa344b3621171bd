"""`multi-model-candidate`: several low-traffic endpoints in one region running the same container.

One multi-model endpoint loads each model on demand and serves them all from shared instances,
sized here for the combined CPU work and for every model held in memory at once (the worst case
of the model cache). Models then wait for a load after a cache miss, so only endpoints that
tolerate that delay qualify. GPU multi-model endpoints need Triton on single-GPU types: left out.
"""

from __future__ import annotations

from advisors.carbon import Load, shape_footprint
from advisors.context import AdvisorContext
from advisors.cost import CostEstimate
from advisors.finding import Finding, FindingKind, ProfileChange
from advisors.rules.common import (
    carbon_clause,
    carbon_saved,
    opportunity_severity,
    option,
    rows,
    savings,
    usd,
)
from advisors.sizing import Demand, sized_candidates
from ground.catalog import spec_for
from ground.domain import DeploymentOption
from ground.energy import combine


def find_multi_model_candidates(ctx: AdvisorContext) -> list[Finding]:
    frame = ctx.features.endpoints
    s = ctx.settings
    tolerant = frame.index.map(
        lambda k: ctx.requirements_of(str(k)).cold_start_tolerance_ms
        >= s.multi_model_load_estimate_ms).to_numpy(dtype=bool)
    low = (
        (frame["deployment"] == DeploymentOption.REAL_TIME.value)
        & frame["serving"] & ~frame["too_new"]
        & (frame["serving_variant_count"] == 1) & (frame["shadow_variant_count"] == 0)
        & ~frame["has_gpu"] & ~frame["has_accelerator"] & ~frame["unknown_type"]
        & (frame["image"] != "")
        & (frame["requests"] > 0)
        & (frame["mean_requests_per_hour"] <= s.multi_model_max_requests_per_hour)
        & (frame["busiest_pct"] <= s.multi_model_max_utilisation_pct)
        & frame["busy_vcpu"].notna() & frame["memory_used_gib"].notna()
        & tolerant
    )
    members = frame[low.fillna(False).astype(bool)]
    if members.empty:
        return []
    sizes = members.groupby(["region", "image"])["name"].transform("size")
    grouped = members[sizes >= s.multi_model_min_endpoints]
    findings: list[Finding] = []
    for (region, image), group in grouped.groupby(["region", "image"]):
        specs = [spec_for(t) for t in group["instance_type"]]
        known = [spec for spec in specs if spec is not None]
        if not known:
            continue
        reference = max(known, key=lambda spec: (spec.vcpu, spec.memory_gib))
        demand = Demand(cpu_vcpu=float(group["busy_vcpu"].sum()),
                        memory_gib=float(group["memory_used_gib"].sum()))
        floor = max(max(1, ctx.requirements_of(str(k)).min_instances) for k in group.index)
        sized = [c for c in sized_candidates(reference, demand, str(region), ctx.prices,
                                             ctx.settings, floor)
                 if c.monthly_usd is not None]
        if not sized:
            continue
        host = min(sized, key=lambda c: (c.monthly_usd or 0.0, c.count))
        share = CostEstimate(usd=(host.cost.usd or 0.0) / len(group),
                             source=host.cost.source, estimated=host.cost.estimated)
        costs = {str(k): ctx.current_cost(str(k)) for k in group.index}
        group_usd = (None if any(c.usd is None for c in costs.values())
                     else sum(c.usd or 0.0 for c in costs.values()))
        names = ", ".join(sorted(group["name"]))
        # Carbon the same way: the group's footprints against one host carrying their load.
        loads = [ctx.load(str(k), v.name) for k in group.index
                 for v in ctx.endpoint(str(k)).serving_variants]
        busy = [load.busy_vcpus for load in loads]
        host_load = Load(None if any(b is None for b in busy)
                         else sum(b or 0.0 for b in busy), None)
        host_carbon = shape_footprint(host.spec.instance_type, host.count, str(region),
                                      host_load)
        group_carbon = combine(ctx.footprint(str(k)) for k in group.index)
        share_carbon = None if host_carbon is None else host_carbon.scaled(1.0 / len(group))
        for key, row in rows(group, group["name"].notna()):
            current = costs[key]
            saved = savings(current, share.usd)
            carbon_now = ctx.footprint(key)
            findings.append(Finding(
                kind=FindingKind.MULTI_MODEL_CANDIDATE,
                severity=opportunity_severity(saved, current),
                endpoint=key,
                summary=(f"One of {len(group)} low-traffic endpoints with the same image in "
                         f"{region}: one multi-model endpoint ({host.label}) would serve them "
                         f"for {usd(host.cost.usd)} instead of {usd(group_usd)}"),
                rationale=(
                    f"{len(group)} endpoints in {region} run {image} with at most "
                    f"{s.multi_model_max_requests_per_hour:g} requests per hour and the busiest "
                    f"resource under {s.multi_model_max_utilisation_pct:g} %: {names}. Together "
                    f"they keep {demand.cpu_vcpu:.1f} vCPUs busy and hold "
                    f"{demand.memory_gib:.1f} GiB of models; {host.label} keeps the busiest "
                    f"resource at {host.busiest_pct:.0f} % with every model loaded "
                    f"({host.cost.source}). This endpoint averages "
                    f"{row['mean_requests_per_hour']:.1f} requests per hour and costs "
                    f"{usd(current.usd)}; its share of the shared endpoint is "
                    f"{usd(share.usd)}. Models load on a cache miss (about "
                    f"{s.multi_model_load_estimate_ms:,.0f} ms), which its requirements allow."
                    + carbon_clause(carbon_now, share_carbon)),
                evidence={
                    "group_size": len(group),
                    "image": str(image),
                    "group_monthly_usd": group_usd,
                    "multi_model_monthly_usd": host.cost.usd,
                    "group_busy_vcpu": round(demand.cpu_vcpu, 2),
                    "group_memory_gib": round(demand.memory_gib, 2),
                    "mean_requests_per_hour": round(float(row["mean_requests_per_hour"]), 2),
                    "current_monthly_usd": current.usd,
                },
                suggested=(
                    ProfileChange(characteristic="deployment_option", current="real-time",
                                  proposed="multi-model"),
                    ProfileChange(characteristic="models_per_endpoint", current=1,
                                  proposed=len(group)),
                    ProfileChange(characteristic="instance_type", current=row["instance_type"],
                                  proposed=host.spec.instance_type),
                    ProfileChange(characteristic="instance_count",
                                  current=int(row["instance_count"]), proposed=host.count),
                ),
                options=(
                    option("keep separate endpoints",
                           CostEstimate(usd=group_usd, source=current.source,
                                        estimated=current.estimated), fits=True,
                           note=f"{len(group)} endpoints", carbon=group_carbon),
                    option(f"one multi-model endpoint, {host.label}", host.cost, fits=True,
                           note=f"busiest resource projected at {host.busiest_pct:.0f} %",
                           carbon=host_carbon),
                ),
                monthly_savings_usd=saved,
                monthly_savings_kgco2e=carbon_saved(carbon_now, share_carbon),
            ))
    return findings
