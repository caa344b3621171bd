"""`drift`: Model Monitor found constraint violations or a feature drifted past the threshold.

Having no Model Monitor at all is normal (the service is closed to new customers) and is never a
finding by itself.
"""

from __future__ import annotations

from advisors.context import AdvisorContext
from advisors.finding import Finding, FindingKind, Severity

DRIFT_METRIC_PREFIX = "feature_baseline_drift_"


def find_drift(ctx: AdvisorContext) -> list[Finding]:
    threshold = ctx.settings.drift_distance_threshold
    findings: list[Finding] = []
    for endpoint in ctx.fleet.endpoints:
        monitor = endpoint.monitor
        if not monitor.schedules and not monitor.drift_metrics:
            continue
        violations = [(s.name, v) for s in monitor.schedules for v in s.violations]
        drifted = [m for m in monitor.drift_metrics
                   if m.metric_name.startswith(DRIFT_METRIC_PREFIX)
                   and m.latest_value is not None and m.latest_value > threshold]
        if not violations and not drifted:
            continue
        parts: list[str] = []
        if violations:
            checks = sorted({v.check_type for _, v in violations})
            features = sorted({v.feature_name for _, v in violations if v.feature_name})
            parts.append(f"{len(violations)} constraint violation(s) ({', '.join(checks)})"
                         + (f" on {', '.join(features[:5])}" if features else ""))
        if drifted:
            worst = max(drifted, key=lambda m: m.latest_value or 0.0)
            parts.append(f"{len(drifted)} feature(s) drifted past {threshold:g}, worst "
                         f"{worst.metric_name.removeprefix(DRIFT_METRIC_PREFIX)} at "
                         f"{worst.latest_value:.3f}")
        findings.append(Finding(
            kind=FindingKind.DRIFT,
            severity=Severity.WARNING,
            endpoint=endpoint.key,
            summary="Model Monitor: " + "; ".join(parts),
            rationale=(
                "The latest Model Monitor results show " + "; ".join(parts) + ". Inputs no "
                "longer look like the baseline, so predictions may be off: compare with the "
                "training data and retrain or update the baseline."),
            evidence={"violations": len(violations), "drifted_features": len(drifted),
                      "drift_threshold": threshold,
                      "max_drift": max((m.latest_value or 0.0 for m in drifted), default=None)},
        ))
    return findings
