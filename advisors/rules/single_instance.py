"""`single-instance`: a production variant on one instance, so one failure takes it down.

SageMaker spreads instances over Availability Zones only when there are at least two.
"""

from __future__ import annotations

from advisors.context import AdvisorContext
from advisors.cost import instances_monthly_cost
from advisors.finding import Finding, FindingKind, ProfileChange, Severity
from advisors.rules.common import carbon_saved, option, rows, savings, usd


def find_single_instance(ctx: AdvisorContext) -> list[Finding]:
    variants = ctx.features.variants
    if variants.empty:
        return []
    serving = ctx.features.endpoints["serving"].reindex(
        variants.index.get_level_values("endpoint")).fillna(False).astype(bool).to_numpy()
    mask = (~variants["serverless"].astype(bool) & ~variants["shadow"].astype(bool)
            & (variants["instance_count"] == 1) & serving)
    findings: list[Finding] = []
    for (key, name), row in rows(variants, mask):
        if not ctx.is_production(key):
            continue
        wanted = max(2, ctx.requirements_of(key).min_instances)
        region = str(row["region"])
        current = instances_monthly_cost(str(row["instance_type"]), 1, region, ctx.prices)
        proposed = instances_monthly_cost(str(row["instance_type"]), wanted, region, ctx.prices)
        saved = savings(current, proposed.usd)
        carbon_now = ctx.shape_footprint(key, str(name), str(row["instance_type"]), 1)
        carbon_after = ctx.shape_footprint(key, str(name), str(row["instance_type"]), wanted)
        findings.append(Finding(
            kind=FindingKind.SINGLE_INSTANCE,
            severity=Severity.WARNING,
            endpoint=key,
            variant=str(name),
            summary=f"Production variant on a single {row['instance_type']}",
            rationale=(
                f"Variant {name} serves production traffic from one instance: an instance "
                "failure, a host replacement or a deployment leaves it without capacity. With "
                f"{wanted} instances SageMaker spreads them over Availability Zones. Extra cost "
                f"{usd(None if saved is None else -saved)} ({proposed.source})."),
            evidence={"instance_count": 1, "instance_type": str(row["instance_type"]),
                      "proposed_instance_count": wanted,
                      "current_monthly_usd": current.usd, "proposed_monthly_usd": proposed.usd},
            suggested=(ProfileChange(characteristic="instance_count", current=1,
                                     proposed=wanted, variant=str(name)),),
            options=(option(f"1x {row['instance_type']}", current, fits=False,
                            note="no redundancy", carbon=carbon_now),
                     option(f"{wanted}x {row['instance_type']}", proposed, fits=True,
                            carbon=carbon_after)),
            monthly_savings_usd=saved,
            monthly_savings_kgco2e=carbon_saved(carbon_now, carbon_after),
        ))
    return findings
