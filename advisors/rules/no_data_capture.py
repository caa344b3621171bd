"""`no-data-capture` (information): a production endpoint keeps no record of what it served.

Serverless endpoints cannot capture data, so they are never flagged for it.
"""

from __future__ import annotations

from advisors.context import AdvisorContext
from advisors.finding import Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.rules.common import rows, unpriced


def find_no_data_capture(ctx: AdvisorContext) -> list[Finding]:
    frame = ctx.features.endpoints
    mask = frame["serving"] & ~frame["serverless"].astype(bool) & ~frame["data_capture"].astype(
        bool)
    findings: list[Finding] = []
    for key, _ in rows(frame, mask):
        if not ctx.is_production(key):
            continue
        findings.append(Finding(
            kind=FindingKind.NO_DATA_CAPTURE,
            severity=Severity.INFO,
            endpoint=key,
            summary="Production endpoint without data capture",
            rationale=(
                "Data capture is off, so there is no sample of real requests and responses to "
                "debug a bad prediction, build a monitoring baseline or retrain on. A few "
                "percent sampling to S3 is usually enough."),
            evidence={"data_capture": "disabled"},
            options=(
                unpriced(OptionKind.KEEP, "no data capture", fits=True,
                         note="nothing recorded to debug or retrain on"),
                unpriced(OptionKind.CONFIGURE, "capture a few percent of requests to S3",
                         fits=True, note="S3 storage of the captured data is not priced",
                         changes=(ProfileChange(characteristic="data_capture", current=False,
                                                proposed=True),)),
            ),
        ))
    return findings
