"""`error-rate`: the share of requests answered with a 5XX error is over the threshold."""

from __future__ import annotations

from advisors.context import AdvisorContext
from advisors.finding import Finding, FindingKind, Severity
from advisors.rules.common import number, rows


def find_error_rate(ctx: AdvisorContext) -> list[Finding]:
    frame = ctx.features.endpoints
    s = ctx.settings
    mask = ((frame["requests"] >= s.error_rate_min_requests)
            & (frame["error_ratio"] >= s.error_rate_warning_ratio))
    findings: list[Finding] = []
    for key, row in rows(frame, mask):
        ratio = float(row["error_ratio"])
        critical = ratio >= s.error_rate_critical_ratio
        threshold = s.error_rate_critical_ratio if critical else s.error_rate_warning_ratio
        findings.append(Finding(
            kind=FindingKind.ERROR_RATE,
            severity=Severity.CRITICAL if critical else Severity.WARNING,
            endpoint=key,
            summary=f"{ratio:.1%} of requests failed with a 5XX error",
            rationale=(
                f"{row['errors_5xx']:,.0f} of {row['requests']:,.0f} requests over "
                f"{ctx.fleet.lookback_days} days returned a 5XX error ({ratio:.2%}, threshold "
                f"{threshold:.0%}). Look at the endpoint's CloudWatch logs; if errors rise in "
                "the busiest hours the endpoint is short of capacity."),
            evidence={"errors_5xx": number(row["errors_5xx"]), "requests": number(row["requests"]),
                      "error_ratio": round(ratio, 5), "threshold": threshold},
        ))
    return findings
