"""`serverless-candidate`: a CPU real-time endpoint, idle most hours, cheaper on serverless.

Serverless cannot have a GPU, VPC config, network isolation, data capture, Model Monitor or more
than one variant, caps payloads at 4 MB, memory at 6144 MB and MaxConcurrency at 200 (or the
account's quota), and adds cold starts. A real-time endpoint cannot be converted in place: the
suggestion is a new serverless endpoint. Its cost is what the endpoint's own usage would bill:
busy seconds from the ModelLatency Sum plus data processed (`advisors.cost.serverless_usage`).
"""

from __future__ import annotations

import math

from advisors.context import AdvisorContext
from advisors.cost import observed_hours, serverless_usage
from advisors.finding import Finding, FindingKind, ProfileChange
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
    carbon_saved,
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


def find_serverless_candidates(ctx: AdvisorContext) -> list[Finding]:
    frame = ctx.features.endpoints
    s = ctx.settings
    latency_limit_us = s.async_latency_fraction * INVOCATION_TIMEOUT_S * MICROSECONDS_PER_S
    mask = (
        (frame["deployment"] == DeploymentOption.REAL_TIME.value)
        & frame["serving"] & ~frame["too_new"]
        & (frame["serving_variant_count"] == 1) & (frame["shadow_variant_count"] == 0)
        & ~frame["has_gpu"] & ~frame["has_accelerator"] & ~frame["unknown_type"]
        & ~frame["vpc"] & ~frame["network_isolation"]
        & ~frame["data_capture"].astype(bool) & (frame["monitor_schedules"] == 0)
        & (frame["requests"] > 0)
        & (frame["idle_hour_fraction"] >= s.serverless_min_idle_hour_fraction)
        & (frame["model_latency_p99_us"] < latency_limit_us)
        & frame["memory_used_gib"].notna()
    )
    findings: list[Finding] = []
    for key, row in rows(frame, mask):
        requirements = ctx.requirements_of(key)
        if requirements.cold_start_tolerance_ms < s.serverless_cold_start_estimate_ms:
            continue
        payload_mb = requirements.max_payload_mb
        if payload_mb is not None and payload_mb > SERVERLESS_MAX_PAYLOAD_MB:
            continue
        memory_mb = serverless_memory_mb(float(row["memory_used_gib"]),
                                         s.serverless_memory_headroom)
        if memory_mb > SERVERLESS_MAX_MEMORY_MB:
            continue
        latency_p99_s = float(row["model_latency_p99_us"]) / MICROSECONDS_PER_S
        peak = number(row["concurrency_max"])
        concurrency_source = "ConcurrentRequestsPerModel maximum"
        if peak is None:
            # Little's law over the busiest hour, doubled for bursts inside the hour.
            peak = 2.0 * float(row["peak_requests_per_hour"]) / 3600.0 * latency_p99_s
            concurrency_source = "estimated from the busiest hour and latency p99"
        peak = max(peak, 1.0)
        if peak > s.serverless_max_concurrency:
            continue
        max_concurrency = min(s.serverless_max_concurrency,
                              math.ceil(peak * s.serverless_concurrency_headroom))

        endpoint = ctx.endpoint(key)
        usage = serverless_usage(memory_mb, number(row["model_latency_sum_us"]),
                                 float(row["requests"]), observed_hours(endpoint, ctx.fleet),
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
            suggested=(
                ProfileChange(characteristic="deployment_option", current="real-time",
                              proposed="serverless (new endpoint)", variant=variant.name),
                ProfileChange(characteristic="serverless_memory_mb", current=None,
                              proposed=memory_mb, variant=variant.name),
                ProfileChange(characteristic="serverless_max_concurrency", current=None,
                              proposed=max_concurrency, variant=variant.name),
            ),
            options=(
                option(f"current: {row['instance_count']:.0f}x {row['instance_type']}", current,
                       fits=True, carbon=carbon_now),
                option(f"serverless {memory_mb} MB, MaxConcurrency {max_concurrency}", proposed,
                       fits=True, note="cold starts after idle periods", carbon=carbon_after),
            ),
            monthly_savings_usd=saved,
            monthly_savings_kgco2e=carbon_saved(carbon_now, carbon_after),
        ))
    return findings
