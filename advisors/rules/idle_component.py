"""`idle-component`: an inference component nobody called through the lookback, on an endpoint
whose other components serve traffic.

The endpoint is busy, so it is not `idle` (that is for an endpoint where every component is
quiet): the idle component's copies hold accelerators, cores and memory that the busy ones, or
fewer instances, could use. A missing `Invocations` series is "no data", not zero traffic: only a
measured zero makes a component idle.
"""

from __future__ import annotations

from advisors.components import (
    BASIS_LABELS,
    copies_of,
    instances_needed,
    reserved_fraction,
    share_basis,
)
from advisors.context import AdvisorContext
from advisors.cost import CostEstimate, instances_monthly_cost
from advisors.finding import CostedOption, Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.rules.common import carbon_clause, keep, kgco2e, number, rows, savings, usd
from ground.catalog import spec_for


def find_idle_components(ctx: AdvisorContext) -> list[Finding]:
    components = ctx.features.components
    if components.empty:
        return []
    judged = ctx.features.endpoints.reindex(components.index.get_level_values("endpoint"))
    # NaN == 0 is False: components without invocation data never pass.
    mask = ((components["requests"] == 0) & (components["current_copies"] > 0)
            & (components["status"] == "InService")
            & (components["age_hours"] >= ctx.features.lookback_hours)
            & judged["serving"].fillna(False).astype(bool).to_numpy()
            & ~judged["too_new"].fillna(True).astype(bool).to_numpy()
            # An endpoint nobody calls at all is `idle`, the whole of it.
            & (judged["requests"] > 0).to_numpy())
    findings: list[Finding] = []
    for (key, name), row in rows(components, mask):
        endpoint = ctx.endpoint(key)
        component = next(c for c in endpoint.inference_components if c.name == name)
        variant = next((v for v in endpoint.variants if v.name == component.variant), None)
        spec = spec_for(variant.instance_type) if variant else None
        if variant is None or spec is None:
            continue
        share = ctx.component_costs(key).get(
            name, CostEstimate(usd=None, source="unknown", estimated=True))
        siblings = endpoint.components_on(variant.name)
        basis = share_basis(spec, siblings)
        fraction = reserved_fraction(component, variant, spec, basis) if basis else None
        count = variant.current_instance_count
        requirements = ctx.requirements_of(key)
        scaling = variant.managed_instance_scaling
        floor = max(1, requirements.min_instances,
                    scaling.min_instances or 0 if scaling and scaling.enabled else 0)
        needed = instances_needed(spec, copies_of(siblings, without=str(name)))
        proposed = count if needed is None else min(count, max(needed, floor))
        current = instances_monthly_cost(spec.instance_type, count, endpoint.region, ctx.prices)
        after = instances_monthly_cost(spec.instance_type, proposed, endpoint.region, ctx.prices)
        saved = savings(current, after.usd)
        carbon_now = ctx.shape_footprint(key, variant.name, spec.instance_type, count)
        carbon_after = ctx.shape_footprint(key, variant.name, spec.instance_type, proposed)
        days = ctx.fleet.lookback_days
        held = (f"{fraction * 100:.0f} % of the instances' {BASIS_LABELS[basis]}"
                if fraction is not None and basis else "part of the instances")
        changes = [ProfileChange(characteristic="copies", current=component.current_copies,
                                 proposed=0, component=str(name))]
        if proposed < count:
            changes.append(ProfileChange(characteristic="instance_count", current=count,
                                         proposed=proposed, variant=variant.name))
            freed = (f" Without its copies the other components fit on {proposed} "
                     f"instance(s) instead of {count}: {usd(saved)} less"
                     + (", released by managed instance scaling itself."
                        if scaling and scaling.enabled else
                        "; lower the instance count with it (no managed instance scaling)."))
        else:
            freed = (" The other components still need every instance, so deleting it frees "
                     "capacity for them (more copies at peak) rather than an instance.")
        findings.append(Finding(
            kind=FindingKind.IDLE_COMPONENT,
            severity=Severity.WARNING,
            endpoint=key,
            variant=variant.name,
            component=str(name),
            summary=(f"Inference component {name}: no requests in {days} days; its "
                     f"{component.current_copies} copies hold {held} ({usd(share.usd)})"),
            rationale=(
                f"{name} has existed for {row['age_hours'] / 24:.0f} days and received 0 "
                f"requests over the {days}-day lookback, while the endpoint's other components "
                f"served {number(ctx.features.endpoints.at[key, 'requests']) or 0:,.0f}. Its "
                f"{component.current_copies} copies reserve {held}: its share of the cost is "
                f"{usd(share.usd)} ({share.source}). Delete it (DeleteInferenceComponent) or "
                "set its copies to 0." + freed
                + (carbon_clause(carbon_now, carbon_after) if proposed < count else "")),
            evidence={
                "requests": number(row["requests"]),
                "lookback_days": days,
                "age_days": round(float(row["age_hours"]) / 24.0, 1),
                "copies": component.current_copies,
                "accelerators_per_copy": component.resources.accelerators,
                "cpu_cores_per_copy": component.resources.cpu_cores,
                "memory_mb_per_copy": component.resources.min_memory_mb,
                "reserved_share_pct": None if fraction is None else round(fraction * 100, 1),
                "cost_share_monthly_usd": share.usd,
                "instances": count,
                "instances_without_it": needed,
            },
            options=(
                keep(f"keep {component.current_copies} idle copies", current, fits=True,
                     note=f"{count}x {spec.instance_type}; the idle copies' share "
                          f"{usd(share.usd)}", carbon=carbon_now),
                CostedOption(kind=OptionKind.REMOVE, label="delete the component",
                             monthly_cost_usd=after.usd, price_source=after.source, fits=True,
                             note=f"{proposed}x {spec.instance_type} for the others",
                             changes=tuple(changes), monthly_kgco2e=kgco2e(carbon_after)),
            ),
            monthly_savings_usd=saved,
        ))
    return findings
