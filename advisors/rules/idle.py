"""`idle`: an endpoint that existed through the whole lookback and nobody called.

Traffic is summed over every variant, shadow variants included, and every inference component
(whose invocations are published per component only): `requests_all_variants` of the features.
A missing `Invocations` series is "no data", not zero traffic: only a measured zero makes an
endpoint idle.
"""

from __future__ import annotations

from advisors.context import AdvisorContext
from advisors.finding import CostedOption, Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.rules.common import carbon_clause, keep, number, rows, usd
from ground.energy import no_footprint


def find_idle(ctx: AdvisorContext) -> list[Finding]:
    frame = ctx.features.endpoints
    # NaN == 0 is False: endpoints without invocation data never pass.
    mask = frame["serving"] & ~frame["too_new"] & (frame["requests_all_variants"] == 0)
    findings: list[Finding] = []
    for key, row in rows(frame, mask):
        endpoint = ctx.endpoint(key)
        cost = ctx.current_cost(key)
        if cost.usd == 0.0:
            continue  # serverless without provisioned concurrency or async scaled to zero
        days = ctx.fleet.lookback_days
        carbon = ctx.footprint(key)
        gone = no_footprint()
        changes = tuple(
            ProfileChange(characteristic="instance_count", current=v.current_instance_count,
                          proposed=0, variant=v.name)
            for v in endpoint.variants if v.serverless is None and v.current_instance_count)
        components = len(endpoint.inference_components)
        summed = (f"all {len(endpoint.variants)} variant(s) including shadow variants"
                  if not components else
                  f"its {components} inference component(s) on {len(endpoint.variants)} "
                  "variant(s)")
        findings.append(Finding(
            kind=FindingKind.IDLE,
            severity=Severity.WARNING,
            endpoint=key,
            summary=f"No requests in {days} days on any variant; it costs {usd(cost.usd)}",
            rationale=(
                f"{endpoint.name} has been in service for {row['age_hours'] / 24:.0f} days and "
                f"received 0 requests over the {days}-day lookback, summed over {summed}. "
                "Instances bill "
                f"per hour whether called or not: {usd(cost.usd)} ({cost.source}). Delete it "
                "(its endpoint config can recreate it), or move it to serverless or async with "
                "scale-to-zero if it must stay reachable." + carbon_clause(carbon, gone)),
            evidence={
                "requests": number(row["requests_all_variants"]),
                "lookback_days": days,
                "age_days": round(float(row["age_hours"]) / 24.0, 1),
                "variants": len(endpoint.variants),
                "inference_components": components,
                "instances": int(row["instance_count"]),
                "monthly_cost_usd": cost.usd,
            },
            options=(
                keep("keep as is", cost, fits=True, carbon=carbon),
                CostedOption(kind=OptionKind.REMOVE, label="delete the endpoint",
                             monthly_cost_usd=0.0, price_source="nothing runs", fits=True,
                             note="its endpoint config can recreate it", changes=changes,
                             monthly_kgco2e=0.0),
            ),
            monthly_savings_usd=cost.usd,
        ))
    return findings
