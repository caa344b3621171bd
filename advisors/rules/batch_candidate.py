"""`batch-candidate`: traffic that comes only in periodic bursts, such as a nightly scoring run.

An always-on endpoint whose traffic is periodic (`advisors.traffic`: requests in the same few
hours of most days) is a scheduled job in disguise: a batch transform job pays for the instances
only while it runs. Random bursts (intermittent: no fixed hours) are not batch work. The profile's
traffic pattern says "periodic" for exactly these endpoints.
"""

from __future__ import annotations

from advisors.context import AdvisorContext
from advisors.cost import CostEstimate
from advisors.finding import Finding, FindingKind, OptionKind, ProfileChange
from advisors.rules.common import (
    carbon_clause,
    keep,
    number,
    opportunity_severity,
    option,
    rows,
    savings,
    usd,
)
from advisors.traffic import TrafficPattern
from ground.domain import DeploymentOption

_ELIGIBLE = (DeploymentOption.REAL_TIME.value, DeploymentOption.ASYNC.value)


def find_batch_candidates(ctx: AdvisorContext) -> list[Finding]:
    frame = ctx.features.endpoints
    s = ctx.settings
    mask = (
        frame["deployment"].isin(_ELIGIBLE) & frame["serving"] & ~frame["too_new"]
        & (frame["requests"] > 0) & (frame["traffic_pattern"] == TrafficPattern.PERIODIC)
    )
    findings: list[Finding] = []
    for key, row in rows(frame, mask):
        current = ctx.current_cost(key)
        active = float(row["active_hour_fraction"])
        # A transform job runs the same instances only for the hours that had traffic.
        batch = CostEstimate(
            usd=None if current.usd is None else current.usd * active,
            source=f"{current.source}; hosting price for the active hours only",
            estimated=True)
        saved = savings(current, batch.usd)
        if saved is not None and saved < s.min_monthly_savings_usd:
            continue
        carbon_now = ctx.footprint(key)
        # The same instances for the active hours only.
        carbon_batch = None if carbon_now is None else carbon_now.scaled(active)
        production_note = (
            " It is marked production: confirm no online caller depends on it before replacing "
            "it with a scheduled job." if ctx.is_production(key) else "")
        findings.append(Finding(
            kind=FindingKind.BATCH_CANDIDATE,
            severity=opportunity_severity(saved, current),
            endpoint=key,
            summary=(f"Called {active:.0%} of hours, always at the same hours: a batch transform "
                     f"job would cost {usd(batch.usd)} instead of {usd(current.usd)}"),
            rationale=(
                f"Only {row['active_hours']:.0f} of {row['hours_observed']:.0f} observed hours had "
                f"requests; {row['hour_of_day_share']:.0%} of them fell into the same "
                f"{s.periodic_hours_of_day} hours of the day, on {row['burst_day_fraction']:.0%} "
                f"of the days. The busiest hour carried {row['burstiness']:.0f}x the average. A "
                "scheduled batch transform job over the same data pays for instances only while "
                f"it runs.{production_note}" + carbon_clause(carbon_now, carbon_batch)),
            evidence={
                "active_hour_fraction": round(active, 3),
                "hour_of_day_share": round(float(row["hour_of_day_share"]), 3),
                "burst_day_fraction": round(float(row["burst_day_fraction"]), 3),
                "burstiness": number(row["burstiness"]),
                "requests": number(row["requests"]),
                "current_monthly_usd": current.usd,
                "batch_monthly_usd": batch.usd,
            },
            options=(keep("current endpoint", current, fits=True, carbon=carbon_now),
                     option("batch transform job at the same hours", batch, fits=True,
                            note="plus a few minutes of start-up per job", kind=OptionKind.BATCH,
                            changes=(ProfileChange(characteristic="deployment_option",
                                                   current=str(row["deployment"]),
                                                   proposed="batch"),),
                            carbon=carbon_batch)),
            monthly_savings_usd=saved,
        ))
    return findings
