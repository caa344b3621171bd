"""`multi-model-candidate`: lightly used endpoints in one region, same container, that fit together
on fewer shared instances.

Only endpoints of one account (and region) are grouped: a multi-model endpoint serves the models
of the account it runs in, so a group across accounts could not be built.

One multi-model endpoint loads each model on demand and serves them all from shared instances.
Whether endpoints belong on one is a matter of fit, not of a request count: each uses little of
its instance (its busiest resource under `multi_model_max_utilisation_pct`), each model is small
enough to share the cache (at most `multi_model_max_model_memory_pct` of a shared instance's
memory), and the group's combined busy vCPUs and models, every one held in memory at once (the
cache's worst case), fit on fewer instances than the members run today, within the utilisation
targets. Models then wait for a load after a cache miss, so only endpoints that tolerate that
delay qualify. GPU multi-model endpoints need Triton on single-GPU types: left out.

Each member's options are its own: today's cost, and its share of the shared endpoint (the group
cost divided equally). The options name the group: the planner takes it for every member or for
none.
"""

from __future__ import annotations

from advisors.carbon import Load, shape_footprint
from advisors.context import AdvisorContext
from advisors.cost import CostEstimate
from advisors.finding import Finding, FindingKind, OptionKind, ProfileChange
from advisors.rules.common import (
    carbon_clause,
    keep,
    opportunity_severity,
    option,
    rows,
    savings,
    usd,
)
from advisors.sizing import Demand, Sized, sized_candidates
from ground.catalog import spec_for
from ground.domain import DeploymentOption


def _fits_cache(host: Sized, largest_model_gib: float, share_pct: float) -> bool:
    return largest_model_gib <= host.spec.memory_gib * share_pct / 100.0


def find_multi_model_candidates(ctx: AdvisorContext) -> list[Finding]:
    frame = ctx.features.endpoints
    s = ctx.settings
    tolerant = frame.index.map(
        lambda k: ctx.requirements_of(str(k)).cold_start_tolerance_ms
        >= s.multi_model_load_estimate_ms).to_numpy(dtype=bool)
    light = (
        (frame["deployment"] == DeploymentOption.REAL_TIME.value)
        & frame["serving"] & ~frame["too_new"]
        & (frame["serving_variant_count"] == 1) & (frame["shadow_variant_count"] == 0)
        & ~frame["has_gpu"] & ~frame["has_accelerator"] & ~frame["unknown_type"]
        & (frame["image"] != "")
        & (frame["requests"] > 0)
        & (frame["busiest_pct"] <= s.multi_model_max_utilisation_pct)
        & frame["busy_vcpu"].notna() & frame["memory_used_gib"].notna()
        & tolerant
    )
    members = frame[light.fillna(False).astype(bool)]
    if members.empty:
        return []
    sizes = members.groupby(["account", "region", "image"])["name"].transform("size")
    grouped = members[sizes >= s.multi_model_min_endpoints]
    findings: list[Finding] = []
    for (_, region, image), group in grouped.groupby(["account", "region", "image"]):
        specs = [spec_for(t) for t in group["instance_type"]]
        known = [spec for spec in specs if spec is not None]
        if not known:
            continue
        reference = max(known, key=lambda spec: (spec.vcpu, spec.memory_gib))
        demand = Demand(cpu_vcpu=float(group["busy_vcpu"].sum()),
                        memory_gib=float(group["memory_used_gib"].sum()))
        largest = float(group["memory_used_gib"].max())
        today = int(group["instance_count"].sum())
        floor = max(max(1, ctx.requirements_of(str(k)).min_instances) for k in group.index)
        costs = {str(k): ctx.current_cost(str(k)) for k in group.index}
        group_usd = (None if any(c.usd is None for c in costs.values())
                     else sum(c.usd or 0.0 for c in costs.values()))
        # Fewer instances than today, cheaper than today, each model a small part of the cache.
        sized = [c for c in sized_candidates(reference, demand, str(region), ctx.prices,
                                             ctx.settings, floor)
                 if c.monthly_usd is not None and c.count < today
                 and _fits_cache(c, largest, s.multi_model_max_model_memory_pct)
                 and (group_usd is None or (c.monthly_usd or 0.0) < group_usd)]
        if not sized:
            continue
        host = min(sized, key=lambda c: (c.monthly_usd or 0.0, c.count))
        share = CostEstimate(usd=(host.cost.usd or 0.0) / len(group),
                             source=f"{host.cost.source}; the shared endpoint's cost divided by "
                                    f"its {len(group)} models",
                             estimated=host.cost.estimated)
        names = ", ".join(sorted(group["name"]))
        label = f"multi-model {region} {image}"
        # Carbon the same way: one host carrying the group's load, each endpoint its share.
        loads = [ctx.load(str(k), v.name) for k in group.index
                 for v in ctx.endpoint(str(k)).serving_variants]
        busy = [load.busy_vcpus for load in loads]
        host_load = Load(None if any(b is None for b in busy)
                         else sum(b or 0.0 for b in busy), None)
        host_carbon = shape_footprint(host.spec.instance_type, host.count, str(region),
                                      host_load)
        share_carbon = None if host_carbon is None else host_carbon.scaled(1.0 / len(group))
        for key, row in rows(group, group["name"].notna()):
            current = costs[key]
            variant = ctx.endpoint(key).serving_variants[0].name
            saved = savings(current, share.usd)
            carbon_now = ctx.footprint(key)
            findings.append(Finding(
                kind=FindingKind.MULTI_MODEL_CANDIDATE,
                severity=opportunity_severity(saved, current),
                endpoint=key,
                summary=(f"One of {len(group)} lightly used endpoints with the same image in "
                         f"{region}: one multi-model endpoint ({host.label}) would serve them "
                         f"for {usd(host.cost.usd)} instead of {usd(group_usd)}"),
                rationale=(
                    f"{len(group)} endpoints in {region} run {image} on {today} instance(s), "
                    f"each with its busiest resource under {s.multi_model_max_utilisation_pct:g} "
                    f"%: {names}. Together they keep {demand.cpu_vcpu:.1f} vCPUs busy and hold "
                    f"{demand.memory_gib:.1f} GiB of models, the largest {largest:.1f} GiB "
                    f"({largest / host.spec.memory_gib * 100:.0f} % of one "
                    f"{host.spec.instance_type}, at most "
                    f"{s.multi_model_max_model_memory_pct:g} % to share a cache); "
                    f"{host.label} keeps the busiest resource at {host.busiest_pct:.0f} % with "
                    f"every model loaded at once ({host.cost.source}). This endpoint averages "
                    f"{row['mean_requests_per_hour']:.1f} requests per hour and costs "
                    f"{usd(current.usd)}; its share of the shared endpoint is "
                    f"{usd(share.usd)}. Models load on a cache miss (about "
                    f"{s.multi_model_load_estimate_ms:,.0f} ms), which its requirements allow."
                    + carbon_clause(carbon_now, share_carbon)),
                evidence={
                    "group_size": len(group),
                    "image": str(image),
                    "group_instances": today,
                    "group_monthly_usd": group_usd,
                    "multi_model_instances": host.count,
                    "multi_model_monthly_usd": host.cost.usd,
                    "group_busy_vcpu": round(demand.cpu_vcpu, 2),
                    "group_memory_gib": round(demand.memory_gib, 2),
                    "largest_model_gib": round(largest, 2),
                    "mean_requests_per_hour": round(float(row["mean_requests_per_hour"]), 2),
                    "current_monthly_usd": current.usd,
                    "share_monthly_usd": share.usd,
                },
                options=(
                    keep(f"keep its own endpoint ({row['instance_count']}x "
                         f"{row['instance_type']})", current, fits=True,
                         note=f"{len(group)} endpoints cost {usd(group_usd)} together",
                         carbon=carbon_now),
                    option(f"join one multi-model endpoint, {host.label}", share, fits=True,
                           note=f"its share of {usd(host.cost.usd)}; busiest resource "
                                f"projected at {host.busiest_pct:.0f} %",
                           kind=OptionKind.MULTI_MODEL, group=label,
                           changes=(
                               ProfileChange(characteristic="deployment_option",
                                             current="real-time", proposed="multi-model"),
                               ProfileChange(characteristic="models_per_endpoint", current=1,
                                             proposed=len(group)),
                               ProfileChange(characteristic="instance_type",
                                             current=row["instance_type"],
                                             proposed=host.spec.instance_type, variant=variant),
                               ProfileChange(characteristic="instance_count",
                                             current=int(row["instance_count"]),
                                             proposed=host.count, variant=variant)),
                           carbon=share_carbon),
                ),
                monthly_savings_usd=saved,
            ))
    return findings
