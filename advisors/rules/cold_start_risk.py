"""`cold-start-risk`: serverless cold starts take longer than the endpoint's requirements allow.

ModelSetupTime is reported in microseconds; requirements are in milliseconds.
"""

from __future__ import annotations

from advisors.context import AdvisorContext
from advisors.finding import CostedOption, Finding, FindingKind, ProfileChange, Severity
from advisors.limits import MICROSECONDS_PER_MS
from advisors.rules.common import kgco2e, number, rows


def find_cold_start_risk(ctx: AdvisorContext) -> list[Finding]:
    variants = ctx.features.variants
    if variants.empty:
        return []
    mask = variants["serverless"].astype(bool) & variants["cold_start_p99_us"].notna()
    findings: list[Finding] = []
    for (key, name), row in rows(variants, mask):
        tolerance_ms = ctx.requirements_of(key).cold_start_tolerance_ms
        cold_ms = float(row["cold_start_p99_us"]) / MICROSECONDS_PER_MS
        if cold_ms <= tolerance_ms:
            continue
        cost = ctx.current_cost(key)
        cold_starts = number(row["cold_starts"]) or 0.0
        findings.append(Finding(
            kind=FindingKind.COLD_START_RISK,
            severity=Severity.WARNING,
            endpoint=key,
            variant=str(name),
            summary=(f"Serverless cold starts take {cold_ms:,.0f} ms (p99), over the "
                     f"{tolerance_ms:,.0f} ms the endpoint tolerates"),
            rationale=(
                f"ModelSetupTime p99 is {cold_ms:,.0f} ms over {cold_starts:.0f} cold "
                f"start(s) in the lookback, and requests that hit one wait that long on top "
                f"of the model latency. The requirements allow {tolerance_ms:,.0f} ms. Provisioned "
                "concurrency keeps instances warm; a real-time endpoint has no cold starts."),
            evidence={"cold_start_p99_ms": round(cold_ms, 1),
                      "cold_start_tolerance_ms": tolerance_ms,
                      "cold_starts": number(row["cold_starts"])},
            suggested=(ProfileChange(characteristic="deployment_option", current="serverless",
                                     proposed="real-time", variant=str(name)),),
            options=(
                CostedOption(label="current serverless", monthly_cost_usd=cost.usd,
                             price_source=cost.source, fits=False, note="cold starts too long",
                             monthly_kgco2e=kgco2e(ctx.variant_footprint(key, str(name)))),
                CostedOption(label="serverless with provisioned concurrency",
                             monthly_cost_usd=None, price_source="price unknown", fits=True,
                             note="provisioned concurrency rates are not sourced"),
            ),
        ))
    return findings
