"""`async-candidate`: requests that run close to the 60 s limit or carry payloads too large for it.

Real-time and serverless invocations time out at 60 s and cap payloads at 6 MB (4 MB serverless);
async inference takes payloads up to 1 GB through S3 and runs up to an hour, and can scale to zero
between bursts where the environment allows it.
"""

from __future__ import annotations

import pandas as pd

from advisors.carbon import NO_LOAD
from advisors.context import AdvisorContext
from advisors.cost import CostEstimate
from advisors.finding import Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.limits import (
    ASYNC_MAX_PAYLOAD_MB,
    ASYNC_MAX_PROCESSING_S,
    INVOCATION_TIMEOUT_S,
    MIB_PER_GIB,
    MICROSECONDS_PER_S,
    REAL_TIME_MAX_PAYLOAD_MB,
    SERVERLESS_MAX_PAYLOAD_MB,
)
from advisors.rules.common import (
    carbon_clause,
    keep,
    number,
    option,
    rows,
    savings,
    sentence,
    usd,
)
from advisors.sizing import cpu_host_for
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
        endpoint = ctx.endpoint(str(key))
        changes = [ProfileChange(characteristic="deployment_option",
                                 current=str(row["deployment"]), proposed="async")]
        label = "async, same instances"
        host = None
        if serverless:
            # Async runs on instances: the smallest CPU type holding the serverless memory.
            variant = endpoint.serving_variants[0]
            memory = (variant.serverless.memory_mb if variant.serverless else 0) / MIB_PER_GIB
            host = cpu_host_for(memory, endpoint.region, ctx.prices, ctx.settings,
                                max(1, requirements.min_instances))
            if host is None:
                proposed = CostEstimate(usd=None, source="no instance type holds the model",
                                        estimated=True)
            else:
                proposed = host.cost
                label = f"async on {host.label}"
                changes += [ProfileChange(characteristic="instance_type",
                                          proposed=host.spec.instance_type, variant=variant.name),
                            ProfileChange(characteristic="instance_count", proposed=host.count,
                                          variant=variant.name)]
        elif scale_to_zero and current.usd is not None and idle is not None:
            proposed = CostEstimate(usd=current.usd * (1.0 - idle),
                                    source=f"{current.source}; hours with traffic only",
                                    estimated=True)
            label = "async, same instances, scaling to zero between bursts"
            changes += [ProfileChange(characteristic="autoscaling", proposed=True,
                                      variant=v.name) for v in endpoint.serving_variants]
            changes += [ProfileChange(characteristic="min_instances", proposed=0,
                                      variant=v.name) for v in endpoint.serving_variants]
        else:
            proposed = current
        saved = savings(current, proposed.usd)
        carbon_now = ctx.footprint(str(key))
        # The same instances: only the hours they run change (with scale-to-zero); from
        # serverless, the host's instances at a utilisation nothing measured.
        carbon_after: Footprint | None
        if serverless:
            carbon_after = (None if host is None else ctx.shape_footprint(
                str(key), endpoint.serving_variants[0].name, host.spec.instance_type,
                host.count, load=NO_LOAD))
        elif carbon_now is not None and scale_to_zero and idle is not None:
            carbon_after = carbon_now.scaled(1.0 - idle)
        else:
            carbon_after = carbon_now
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
                + (carbon_clause(carbon_now, carbon_after) if scale_to_zero or serverless
                   else "")),
            evidence={
                "model_latency_p99_us": p99_us,
                "model_latency_max_us": max_us,
                "max_payload_mb": payload,
                "payload_limit_mb": payload_limit,
                "idle_hour_fraction": idle,
            },
            options=(keep("current", current, fits=False, note=reasons[0], carbon=carbon_now),
                     option(label, proposed, fits=proposed.usd is not None or not serverless,
                            kind=OptionKind.ASYNC, changes=changes, carbon=carbon_after)),
            monthly_savings_usd=saved,
        ))
    return findings
