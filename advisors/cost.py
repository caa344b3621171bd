"""What an endpoint costs a month today, with the source of every price (UI, profiles, advisors).

Instance-based variants (real-time, async, multi-model, shadow included) bill per instance-hour
while they exist, whatever the traffic: instances x hourly price x 730 h. Serverless variants bill
per second of inference: busy seconds = requests x typical model latency, scaled to a month from
what the lookback observed.
"""

from __future__ import annotations

import datetime as dt
import math

from pydantic import BaseModel, ConfigDict

from advisors.limits import MICROSECONDS_PER_S
from ground.domain import EndpointSnapshot, FleetSnapshot, VariantSnapshot
from ground.pricing import HOURS_PER_MONTH, PriceBook

PRICE_UNKNOWN = "price unknown"


class CostEstimate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    usd: float | None  # per month; None: some price is unknown
    source: str  # where the prices come from, e.g. "catalogue us-east-1 list price"
    estimated: bool  # any part is an estimate (serverless duration, unsourced price)


def observed_hours(endpoint: EndpointSnapshot, fleet: FleetSnapshot) -> float:
    """Hours the window statistics cover for this endpoint: the lookback, or its age if younger."""
    metrics = fleet.metrics
    end = metrics.window_end or fleet.collected_at
    start = metrics.window_start or end - dt.timedelta(days=fleet.lookback_days)
    start = max(start, endpoint.creation_time)
    return max((end - start).total_seconds() / 3600.0, 1.0)


def monthly_busy_seconds(requests: float, latency_us: float, hours_observed: float) -> float:
    """Seconds of inference a month: requests x latency, scaled from the observed hours."""
    busy_s = requests * latency_us / MICROSECONDS_PER_S
    return busy_s * HOURS_PER_MONTH / hours_observed


def instances_monthly_cost(instance_type: str, count: int, region: str,
                           prices: PriceBook) -> CostEstimate:
    if count <= 0:
        return CostEstimate(usd=0.0, source="no instances", estimated=False)
    price = prices.hourly(instance_type, region)
    if price is None:
        return CostEstimate(usd=None, source=PRICE_UNKNOWN, estimated=True)
    return CostEstimate(usd=price.usd_per_hour * count * HOURS_PER_MONTH, source=price.source,
                        estimated=price.estimated)


def serverless_monthly_cost(memory_mb: int, busy_seconds_per_month: float,
                            prices: PriceBook) -> CostEstimate:
    usd = prices.serverless_monthly(memory_mb, busy_seconds_per_month)
    # Billed duration is close to, not equal to, ModelLatency: always an estimate.
    return CostEstimate(usd=usd, source=prices.serverless_source, estimated=True)


def variant_monthly_cost(endpoint: EndpointSnapshot, variant: VariantSnapshot,
                         fleet: FleetSnapshot, prices: PriceBook) -> CostEstimate:
    if variant.serverless is None:
        if variant.instance_type is None:
            return CostEstimate(usd=None, source=PRICE_UNKNOWN, estimated=True)
        return instances_monthly_cost(variant.instance_type, variant.current_instance_count,
                                      endpoint.region, prices)
    metrics = fleet.metrics
    requests = metrics.window_value(endpoint.key, variant.name, "requests")
    # The window has p50 and p99, no mean: the median is the typical billed duration.
    latency_us = (metrics.window_value(endpoint.key, variant.name, "model_latency_p50_us")
                  or metrics.window_value(endpoint.key, variant.name, "model_latency_p99_us"))
    if requests is None:
        return CostEstimate(usd=None, source="no traffic data", estimated=True)
    if requests > 0 and latency_us is None:
        return CostEstimate(usd=None, source="no latency data", estimated=True)
    busy = monthly_busy_seconds(requests, latency_us or 0.0, observed_hours(endpoint, fleet))
    estimate = serverless_monthly_cost(variant.serverless.memory_mb, busy, prices)
    if variant.serverless.provisioned_concurrency:
        # Provisioned-concurrency rates could not be sourced: the figure is a lower bound.
        return CostEstimate(usd=estimate.usd,
                            source=f"{estimate.source} (provisioned concurrency not priced)",
                            estimated=True)
    return estimate


def combine(estimates: list[CostEstimate]) -> CostEstimate:
    """Sum of parts; unknown as soon as one part is unknown, sources named once each."""
    if not estimates:
        return CostEstimate(usd=0.0, source="no variants", estimated=False)
    parts = [e.usd for e in estimates]
    usd = None if any(p is None for p in parts) else math.fsum(p for p in parts if p is not None)
    sources = list(dict.fromkeys(e.source for e in estimates if e.source != "no instances"))
    return CostEstimate(usd=usd, source="; ".join(sources) or "no instances",
                        estimated=any(e.estimated for e in estimates))


def endpoint_monthly_cost(endpoint: EndpointSnapshot, fleet: FleetSnapshot,
                          prices: PriceBook) -> CostEstimate:
    """Current monthly cost of every variant of the endpoint, shadow variants included."""
    return combine([variant_monthly_cost(endpoint, v, fleet, prices) for v in endpoint.variants])
