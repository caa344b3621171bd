"""What an endpoint costs a month today, with the source of every price (UI, profiles, advisors).

Instance-based variants (real-time, async, multi-model, shadow included) bill per instance-hour
while they exist, whatever the traffic: instances x hourly price x 730 h, where an autoscaled
variant's instances are its time-weighted mean over the lookback (not the count of the moment).
Serverless variants bill per second of inference plus data processed: busy seconds are the
ModelLatency Sum (every request's model time added up), scaled to a month from the lookback.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from advisors.limits import MIB_PER_GIB, MICROSECONDS_PER_S
from ground.domain import EndpointSnapshot, FleetSnapshot, VariantSnapshot
from ground.pricing import HOURS_PER_MONTH, PriceBook

PRICE_UNKNOWN = "price unknown"
TIME_WEIGHTED = "time-weighted instance count over the lookback"


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


def instances_monthly_cost(instance_type: str, count: float, region: str,
                           prices: PriceBook) -> CostEstimate:
    """`count` instances (a time-weighted mean may be fractional) for a month."""
    if count <= 0:
        return CostEstimate(usd=0.0, source="no instances", estimated=False)
    price = prices.hourly(instance_type, region)
    if price is None:
        return CostEstimate(usd=None, source=PRICE_UNKNOWN, estimated=True)
    return CostEstimate(usd=price.usd_per_hour * count * HOURS_PER_MONTH, source=price.source,
                        estimated=price.estimated)


def autoscales(variant: VariantSnapshot) -> bool:
    """Its count moves: a policy, not suspended, and room between MinCapacity and MaxCapacity
    (min = max cannot move, whatever its policies say)."""
    scaling = variant.autoscaling
    return bool(scaling and scaling.scales and scaling.max_capacity > scaling.min_capacity)


@dataclass(frozen=True)
class BilledInstances:
    """The instances a variant is billed for on average, and how that was known."""

    count: float
    time_weighted: bool  # the lookback's mean (autoscaled), not the count of the moment


def billed_instances(endpoint: EndpointSnapshot, variant: VariantSnapshot,
                     fleet: FleetSnapshot) -> BilledInstances:
    """An autoscaled variant's time-weighted mean count over the lookback (from its
    CPUUtilization samples); otherwise, or without samples, the current count. Managed instance
    scaling (inference components) moves the count too: instances follow the copies, down to
    none for an endpoint that scales to zero."""
    if variant.serverless is not None:
        return BilledInstances(0.0, time_weighted=False)
    managed = variant.managed_instance_scaling
    if autoscales(variant) or (managed is not None and managed.enabled):
        mean = fleet.metrics.window_value(endpoint.key, variant.name, "instance_count_mean")
        if mean is not None:
            return BilledInstances(mean, time_weighted=True)
    return BilledInstances(float(variant.current_instance_count), time_weighted=False)


@dataclass(frozen=True)
class ServerlessUsage:
    """Serverless inference at the usage the lookback saw, per month."""

    busy_seconds_per_month: float | None  # None: no ModelLatency Sum to read it from
    gb_processed_per_month: float | None  # None: payload size unknown, data processed not priced
    cost: CostEstimate


def serverless_usage(memory_mb: int, latency_sum_us: float | None, requests: float | None,
                     hours_observed: float, max_payload_mb: float | None,
                     prices: PriceBook) -> ServerlessUsage:
    """Monthly serverless cost from the ModelLatency Sum and the data processed.

    Busy seconds: the Sum of ModelLatency is every request's model time added up (billed
    duration is close to it, not equal: always an estimate). Data processed ($/GB, aws-facts.md
    6.3): CloudWatch has no bytes metric, so requests are priced at the requirement's payload
    size (`sagetop:max-payload-mb`, an upper bound; responses not counted) where it is known,
    and the source says data processed is not priced where it is not.
    """
    if requests is None:
        return ServerlessUsage(None, None, CostEstimate(usd=None, source="no traffic data",
                                                        estimated=True))
    if latency_sum_us is None and requests > 0:
        return ServerlessUsage(None, None, CostEstimate(
            usd=None, source="no ModelLatency Sum (busy time) data", estimated=True))
    scale = HOURS_PER_MONTH / hours_observed
    busy = (latency_sum_us or 0.0) / MICROSECONDS_PER_S * scale
    gb = None if max_payload_mb is None else requests * max_payload_mb / MIB_PER_GIB * scale
    usd = prices.serverless_monthly(memory_mb, busy, gb or 0.0)
    if gb is None:
        data = "data processed not priced (payload size unknown)"
    else:
        data = (f"data processed priced at {max_payload_mb:g} MB per request "
                "(sagetop:max-payload-mb, an upper bound; responses not counted)")
    source = f"{prices.serverless_source}; busy time from the ModelLatency Sum; {data}"
    return ServerlessUsage(busy, gb, CostEstimate(usd=usd, source=source, estimated=True))


def variant_monthly_cost(endpoint: EndpointSnapshot, variant: VariantSnapshot,
                         fleet: FleetSnapshot, prices: PriceBook,
                         max_payload_mb: float | None = None) -> CostEstimate:
    """A variant's monthly cost; `max_payload_mb` (the requirement) prices serverless data."""
    if variant.serverless is None:
        if variant.instance_type is None:
            return CostEstimate(usd=None, source=PRICE_UNKNOWN, estimated=True)
        billed = billed_instances(endpoint, variant, fleet)
        cost = instances_monthly_cost(variant.instance_type, billed.count, endpoint.region,
                                      prices)
        if billed.time_weighted and cost.usd:
            return cost.model_copy(update={"source": f"{cost.source} x {TIME_WEIGHTED}"})
        return cost
    metrics = fleet.metrics
    estimate = serverless_usage(
        variant.serverless.memory_mb,
        metrics.window_value(endpoint.key, variant.name, "model_latency_sum_us"),
        metrics.window_value(endpoint.key, variant.name, "requests"),
        observed_hours(endpoint, fleet), max_payload_mb, prices).cost
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
                          prices: PriceBook, max_payload_mb: float | None = None
                          ) -> CostEstimate:
    """Current monthly cost of every variant of the endpoint, shadow variants included."""
    return combine([variant_monthly_cost(endpoint, v, fleet, prices, max_payload_mb)
                    for v in endpoint.variants])
