"""`finished-ab-test`: one variant of an A/B test has sat at weight 0 without traffic for a week.

The test is over: the variant's instances bill by the hour for nobody. Removing it (an endpoint
config without it, then UpdateEndpoint) saves what it costs. Shadow variants have no weight of
their own and are never flagged here.
"""

from __future__ import annotations

from advisors.context import AdvisorContext
from advisors.cost import variant_monthly_cost
from advisors.finding import CostedOption, Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.rules.common import keep, usd


def find_finished_ab_tests(ctx: AdvisorContext) -> list[Finding]:
    findings: list[Finding] = []
    days = ctx.settings.finished_test_days
    for key, comparison in ctx.comparisons().items():
        endpoint = ctx.endpoint(key)
        if endpoint.status not in ("InService", "Updating", "SystemUpdating"):
            continue
        winners = [v for v in comparison.variants if not v.shadow and v.weight > 0]
        for stats in comparison.variants:
            if stats.shadow or stats.weight != 0 or stats.idle_hours < days * 24 or not winners:
                continue
            variant = next(v for v in endpoint.variants if v.name == stats.name)
            cost = variant_monthly_cost(endpoint, variant, ctx.fleet, ctx.prices)
            keeps = ", ".join(v.name for v in winners)
            carbon = ctx.variant_footprint(key, variant.name)
            changes = (ProfileChange(characteristic="instance_count",
                                     current=variant.current_instance_count, proposed=0,
                                     variant=variant.name),) \
                if variant.serverless is None and variant.current_instance_count else ()
            findings.append(Finding(
                kind=FindingKind.FINISHED_AB_TEST,
                severity=Severity.WARNING if cost.usd else Severity.INFO,
                endpoint=key,
                variant=variant.name,
                summary=(f"A/B test over: {variant.name} at weight 0 without a request for "
                         f"{stats.idle_hours / 24:.0f} days; it costs {usd(cost.usd)}"),
                rationale=(
                    f"{variant.name} ({stats.shape}) has weight 0 and has received no request "
                    f"for the last {stats.idle_hours} hours, while {keeps} serves all traffic: "
                    f"the test has ended. Its instances still bill by the hour: "
                    f"{usd(cost.usd)} ({cost.source}). Remove the variant with a new endpoint "
                    f"config that keeps {keeps}, then UpdateEndpoint (blue/green, no downtime)."),
                evidence={
                    "weight": stats.weight,
                    "idle_hours": stats.idle_hours,
                    "finished_test_days": days,
                    "instances": variant.current_instance_count,
                    "monthly_cost_usd": cost.usd,
                },
                options=(keep(f"keep {variant.name} at weight 0", cost, fits=True,
                              note="pays for instances nobody calls", carbon=carbon),
                         CostedOption(kind=OptionKind.REMOVE,
                                      label=f"remove variant {variant.name}",
                                      monthly_cost_usd=0.0, price_source="nothing runs",
                                      fits=True, note=f"{keeps} keeps serving",
                                      changes=changes, monthly_kgco2e=0.0)),
                monthly_savings_usd=cost.usd,
            ))
    return findings
