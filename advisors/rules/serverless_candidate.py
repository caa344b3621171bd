"""`serverless-candidate`: a CPU real-time endpoint, idle most hours, cheaper on serverless.

Serverless cannot have a GPU, VPC config, network isolation, data capture, Model Monitor or more
than one variant, caps payloads at 4 MB, memory at 6144 MB and MaxConcurrency at 200 (or the
account's quota), and adds cold starts. A real-time endpoint cannot be converted in place: the
suggestion is a new serverless endpoint. Its cost is what the endpoint's own usage would bill:
busy seconds from the ModelLatency Sum plus data processed (`advisors.cost.serverless_usage`).
"""

from __future__ import annotations

import math
from typing import Any

from advisors.context import AdvisorContext
from advisors.cost import CostEstimate, serverless_usage
from advisors.finding import Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.limits import (
    INVOCATION_TIMEOUT_S,
    MIB_PER_GIB,
    MICROSECONDS_PER_S,
    SERVERLESS_MAX_MEMORY_MB,
    SERVERLESS_MAX_PAYLOAD_MB,
    SERVERLESS_MEMORY_STEP_MB,
    SERVERLESS_MIN_MEMORY_MB,
)
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
from ground.domain import DeploymentOption
from ground.energy import serverless_footprint


def serverless_memory_mb(memory_used_gib: float, headroom: float) -> int:
    """The smallest serverless size (1 GB steps) holding what the model uses plus headroom."""
    needed_mb = memory_used_gib * MIB_PER_GIB * headroom
    steps = math.ceil(needed_mb / SERVERLESS_MEMORY_STEP_MB - 1e-9)
    return max(SERVERLESS_MIN_MEMORY_MB, steps * SERVERLESS_MEMORY_STEP_MB)


def _limits(ctx: AdvisorContext, key: str, row: dict[str, Any]) -> list[str]:
    """The limits of serverless inference the endpoint runs into, each in a few words."""
    s = ctx.settings
    requirements = ctx.requirements_of(key)
    stopped: list[str] = []
    if row["serving_variant_count"] != 1 or row["shadow_variant_count"]:
        stopped.append("variants: serverless endpoints have exactly one")
    if row["has_gpu"]:
        stopped.append("GPU: serverless has none")
    elif row["has_accelerator"]:
        stopped.append("accelerator: serverless runs on CPU only")
    if row["vpc"]:
        stopped.append("VPC: serverless endpoints cannot use a VPC config")
    if row["network_isolation"]:
        stopped.append("network isolation: not supported on serverless")
    if row["data_capture"]:
        stopped.append("data capture: serverless endpoints cannot capture data")
    if row["monitor_schedules"]:
        stopped.append("Model Monitor: not supported on serverless")
    latency_limit_us = s.async_latency_fraction * INVOCATION_TIMEOUT_S * MICROSECONDS_PER_S
    p99 = number(row["model_latency_p99_us"])
    if p99 is not None and p99 >= latency_limit_us:
        stopped.append(f"latency: p99 {p99 / MICROSECONDS_PER_S:,.0f} s is near the "
                       f"{INVOCATION_TIMEOUT_S:.0f} s limit")
    if requirements.cold_start_tolerance_ms < s.serverless_cold_start_estimate_ms:
        stopped.append(f"cold start: the endpoint tolerates "
                       f"{requirements.cold_start_tolerance_ms:,.0f} ms, a serverless cold "
                       f"start takes about {s.serverless_cold_start_estimate_ms:,.0f} ms")
    payload = requirements.max_payload_mb
    if payload is not None and payload > SERVERLESS_MAX_PAYLOAD_MB:
        stopped.append(f"payload: {payload:g} MB, over the {SERVERLESS_MAX_PAYLOAD_MB:g} MB "
                       "serverless limit")
    used = number(row["memory_used_gib"])
    if used is not None:
        memory_mb = serverless_memory_mb(used, s.serverless_memory_headroom)
        if memory_mb > SERVERLESS_MAX_MEMORY_MB:
            stopped.append(f"memory: the model needs {memory_mb:,} MB with headroom, over the "
                           f"{SERVERLESS_MAX_MEMORY_MB:,} MB serverless maximum")
    peak = _peak_concurrency(row)[0]
    if peak is not None and peak > s.serverless_max_concurrency:
        stopped.append(f"concurrency: peaks of {peak:.0f} concurrent requests, over "
                       f"MaxConcurrency {s.serverless_max_concurrency}")
    return stopped


def _peak_concurrency(row: dict[str, Any]) -> tuple[float | None, str]:
    peak = number(row["concurrency_max"])
    if peak is not None:
        return max(peak, 1.0), "ConcurrentRequestsPerModel maximum"
    latency = number(row["model_latency_p99_us"])
    busiest = number(row["peak_requests_per_hour"])
    if latency is None or busiest is None:
        return None, "unknown"
    # Little's law over the busiest hour, doubled for bursts inside the hour.
    return (max(2.0 * busiest / 3600.0 * latency / MICROSECONDS_PER_S, 1.0),
            "estimated from the busiest hour and latency p99")


def _blocked(ctx: AdvisorContext, key: str, row: dict[str, Any], stopped: list[str]) -> Finding:
    current = ctx.current_cost(key)
    first = stopped[0].split(":")[0]
    return Finding(
        kind=FindingKind.SERVERLESS_CANDIDATE,
        severity=Severity.INFO,
        endpoint=key,
        summary=(f"Idle {row['idle_hour_fraction']:.0%} of hours, but serverless does not fit: "
                 f"{first}"),
        rationale=(
            f"{row['idle_hour_fraction']:.0%} of the {row['hours_observed']:.0f} observed hours "
            f"had no request, yet the instances bill every hour ({usd(current.usd)}). Serverless "
            "would bill only the busy seconds, but it stops at: " + "; ".join(stopped) + "."),
        evidence={"idle_hour_fraction": round(float(row["idle_hour_fraction"]), 3),
                  "serverless_stopped_by": ", ".join(r.split(":")[0] for r in stopped),
                  "current_monthly_usd": current.usd},
        options=(keep("current", current, fits=True, carbon=ctx.footprint(key)),
                 option("a new serverless endpoint",
                        CostEstimate(usd=None, source="not sized: it does not fit",
                                     estimated=True),
                        fits=False, note="; ".join(stopped), kind=OptionKind.SERVERLESS)),
    )


def find_serverless_candidates(ctx: AdvisorContext) -> list[Finding]:
    frame = ctx.features.endpoints
    s = ctx.settings
    mask = (
        (frame["deployment"] == DeploymentOption.REAL_TIME.value)
        & frame["serving"] & ~frame["too_new"] & ~frame["unknown_type"]
        & (frame["requests"] > 0)
        & (frame["idle_hour_fraction"] >= s.serverless_min_idle_hour_fraction)
    )
    findings: list[Finding] = []
    for key, row in rows(frame, mask):
        stopped = _limits(ctx, key, row)
        if stopped:
            findings.append(_blocked(ctx, key, row, stopped))
            continue
        if number(row["memory_used_gib"]) is None or number(
                row["model_latency_p99_us"]) is None:
            continue  # no data is not a small model
        requirements = ctx.requirements_of(key)
        payload_mb = requirements.max_payload_mb
        memory_mb = serverless_memory_mb(float(row["memory_used_gib"]),
                                         s.serverless_memory_headroom)
        found_peak, concurrency_source = _peak_concurrency(row)
        if found_peak is None:
            continue
        peak = found_peak
        max_concurrency = min(s.serverless_max_concurrency,
                              math.ceil(peak * s.serverless_concurrency_headroom))
        endpoint = ctx.endpoint(key)
        usage = serverless_usage(memory_mb, number(row["model_latency_sum_us"]),
                                 float(row["requests"]), float(row["observed_hours"]),
                                 payload_mb, ctx.prices)
        proposed = usage.cost
        if usage.busy_seconds_per_month is None:
            continue  # no ModelLatency Sum: what serverless would bill is unknown
        busy_s = usage.busy_seconds_per_month
        current = ctx.current_cost(key)
        saved = savings(current, proposed.usd)
        if saved is not None and saved < s.min_monthly_savings_usd:
            continue
        variant = endpoint.serving_variants[0]
        # Serverless from the compute it would bill: busy seconds x the proposed memory.
        carbon_now = ctx.footprint(key)
        carbon_after = serverless_footprint(memory_mb, busy_s, endpoint.region)
        payload_text = ("payload size unknown: check requests stay under 4 MB"
                        if payload_mb is None else f"payloads up to {payload_mb:g} MB")
        findings.append(Finding(
            kind=FindingKind.SERVERLESS_CANDIDATE,
            severity=opportunity_severity(saved, current),
            endpoint=key,
            variant=variant.name,
            summary=(f"Idle {row['idle_hour_fraction']:.0%} of hours: a new serverless "
                     f"endpoint ({memory_mb} MB) would cost {usd(proposed.usd)} instead of "
                     f"{usd(current.usd)}"),
            rationale=(
                f"{row['idle_hour_fraction']:.0%} of the {row['hours_observed']:.0f} observed "
                f"hours had no request, yet {row['instance_count']:.0f}x {row['instance_type']} "
                f"bill every hour ({current.source}). The model uses "
                f"{row['memory_used_gib']:.1f} GiB (p95), so {memory_mb} MB with "
                f"{s.serverless_memory_headroom - 1:.0%} headroom fits; peak concurrency "
                f"{peak:.0f} ({concurrency_source}) fits MaxConcurrency {max_concurrency}; "
                f"{payload_text}; the endpoint tolerates "
                f"{requirements.cold_start_tolerance_ms:,.0f} ms cold starts (expected about "
                f"{s.serverless_cold_start_estimate_ms:,.0f} ms). "
                f"Busy time {busy_s / 3600:,.1f} h/month: the ModelLatency Sum over the "
                f"lookback scaled to a month ({proposed.source}). Serverless needs a new "
                "endpoint: a real-time endpoint cannot be converted in place."
                + carbon_clause(carbon_now, carbon_after)),
            evidence={
                "idle_hour_fraction": round(float(row["idle_hour_fraction"]), 3),
                "requests": number(row["requests"]),
                "memory_used_gib": round(float(row["memory_used_gib"]), 2),
                "peak_concurrency": round(peak, 1),
                "model_latency_p99_us": number(row["model_latency_p99_us"]),
                "busy_seconds_per_month": round(busy_s, 1),
                "data_processed_gb_per_month": (None if usage.gb_processed_per_month is None
                                                else round(usage.gb_processed_per_month, 3)),
                "cold_start_tolerance_ms": requirements.cold_start_tolerance_ms,
                "current_monthly_usd": current.usd,
                "serverless_monthly_usd": proposed.usd,
            },
            options=(
                keep(f"current: {row['instance_count']:.0f}x {row['instance_type']}", current,
                     fits=True, carbon=carbon_now),
                option(f"serverless {memory_mb} MB, MaxConcurrency {max_concurrency}", proposed,
                       fits=True, note="a new endpoint; cold starts after idle periods",
                       kind=OptionKind.SERVERLESS,
                       changes=(
                           ProfileChange(characteristic="deployment_option",
                                         current="real-time", proposed="serverless"),
                           ProfileChange(characteristic="serverless_memory_mb",
                                         proposed=memory_mb, variant=variant.name),
                           ProfileChange(characteristic="serverless_max_concurrency",
                                         proposed=max_concurrency, variant=variant.name)),
                       carbon=carbon_after),
            ),
            monthly_savings_usd=saved,
        ))
    return findings
