"""`async-candidate`: requests that run close to the 60 s limit or carry payloads too large for it.

Real-time and serverless invocations time out at 60 s and cap payloads at 6 MB (4 MB serverless);
async inference takes payloads up to 1 GB through S3 and runs up to an hour, and can scale to zero
between bursts where the environment allows it.
"""

from __future__ import annotations

import pandas as pd

from advisors.context import AdvisorContext
from advisors.cost import CostEstimate
from advisors.finding import Finding, FindingKind, ProfileChange, Severity
from advisors.limits import (
    ASYNC_MAX_PAYLOAD_MB,
    ASYNC_MAX_PROCESSING_S,
    INVOCATION_TIMEOUT_S,
    MICROSECONDS_PER_S,
    REAL_TIME_MAX_PAYLOAD_MB,
    SERVERLESS_MAX_PAYLOAD_MB,
)
from advisors.rules.common import (
    carbon_clause,
    carbon_saved,
    number,
    option,
    rows,
    savings,
    sentence,
    usd,
)
from ground.domain import DeploymentOption
from ground.energy import Footprint

_ELIGIBLE = (DeploymentOption.REAL_TIME.value, DeploymentOption.SERVERLESS.value)


def find_async_candidates(ctx: AdvisorContext) -> list[Finding]:
    frame = ctx.features.endpoints
    s = ctx.settings
    near_timeout_us = s.async_latency_fraction * INVOCATION_TIMEOUT_S * MICROSECONDS_PER_S
    is_serverless = frame["deployment"] == DeploymentOption.SERVERLESS.value
    payload_mb = pd.Series([ctx.requirements_of(str(k)).max_payload_mb for k in frame.index],
                           index=frame.index, dtype="float64")
    payload_limit_mb = is_serverless.map({True: SERVERLESS_MAX_PAYLOAD_MB,
                                          False: REAL_TIME_MAX_PAYLOAD_MB})
    mask = frame["deployment"].isin(_ELIGIBLE) & frame["serving"] & (
        (frame["model_latency_p99_us"] >= near_timeout_us)
        | (frame["model_latency_max_us"] >= INVOCATION_TIMEOUT_S * MICROSECONDS_PER_S)
        | (payload_mb > payload_limit_mb))
    findings: list[Finding] = []
    for key, row in rows(frame, mask):
        requirements = ctx.requirements_of(str(key))
        serverless = row["deployment"] == DeploymentOption.SERVERLESS.value
        payload_limit = SERVERLESS_MAX_PAYLOAD_MB if serverless else REAL_TIME_MAX_PAYLOAD_MB
        p99_us = number(row["model_latency_p99_us"])
        max_us = number(row["model_latency_max_us"])
        reasons: list[str] = []
        if p99_us is not None and p99_us >= near_timeout_us:
            reasons.append(f"model latency p99 is {p99_us / MICROSECONDS_PER_S:,.1f} s, "
                           f"{p99_us / MICROSECONDS_PER_S / INVOCATION_TIMEOUT_S:.0%} of the "
                           f"{INVOCATION_TIMEOUT_S:.0f} s invocation limit")
        elif max_us is not None and max_us >= INVOCATION_TIMEOUT_S * MICROSECONDS_PER_S:
            reasons.append(f"the slowest request took {max_us / MICROSECONDS_PER_S:,.1f} s, "
                           f"past the {INVOCATION_TIMEOUT_S:.0f} s limit")
        payload = requirements.max_payload_mb
        if payload is not None and payload > payload_limit:
            reasons.append(f"payloads reach {payload:g} MB, over the {payload_limit:g} MB "
                           f"{'serverless' if serverless else 'real-time'} limit")
        if not reasons:
            continue
        current = ctx.current_cost(str(key))
        # Same instances, but outside production the variant can scale to zero between bursts:
        # only the hours with traffic would bill.
        scale_to_zero = not ctx.is_production(str(key)) and requirements.min_instances == 0
        idle = number(row["idle_hour_fraction"])
        if serverless:
            proposed = CostEstimate(usd=None, source="instance type to choose", estimated=True)
        elif scale_to_zero and current.usd is not None and idle is not None:
            proposed = CostEstimate(usd=current.usd * (1.0 - idle),
                                    source=f"{current.source}; hours with traffic only",
                                    estimated=True)
        else:
            proposed = current
        saved = savings(current, proposed.usd)
        carbon_now = ctx.footprint(str(key))
        # The same instances: only the hours they run change (with scale-to-zero).
        carbon_after: Footprint | None = (
            None if serverless or carbon_now is None
            else carbon_now.scaled(1.0 - idle) if scale_to_zero and idle is not None
            else carbon_now)
        findings.append(Finding(
            kind=FindingKind.ASYNC_CANDIDATE,
            severity=Severity.WARNING,
            endpoint=str(key),
            summary=f"Move to async inference: {reasons[0]}",
            rationale=(
                sentence("; ".join(reasons)) + ". Async inference accepts payloads up to "
                f"{ASYNC_MAX_PAYLOAD_MB / 1024:g} GB through S3 and processing up to "
                f"{ASYNC_MAX_PROCESSING_S / 3600:g} hour, queues bursts instead of failing them"
                + (", and can scale to zero instances between them" if scale_to_zero else "")
                + f". Current {usd(current.usd)}, async {usd(proposed.usd)}."
                + (carbon_clause(carbon_now, carbon_after) if scale_to_zero else "")),
            evidence={
                "model_latency_p99_us": p99_us,
                "model_latency_max_us": max_us,
                "max_payload_mb": payload,
                "payload_limit_mb": payload_limit,
                "idle_hour_fraction": idle,
            },
            suggested=(ProfileChange(characteristic="deployment_option",
                                     current=str(row["deployment"]), proposed="async"),),
            options=(option("current", current, fits=False, note=reasons[0],
                            carbon=carbon_now),
                     option("async, same instances" if not serverless else "async", proposed,
                            fits=True, carbon=carbon_after)),
            monthly_savings_usd=saved,
            monthly_savings_kgco2e=carbon_saved(carbon_now, carbon_after),
        ))
    return findings
