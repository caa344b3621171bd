"""Energy and carbon of what runs today and of what a finding proposes, from the snapshot.

`ground.energy` holds the coefficients and the physics; this module feeds it what sagetop
measured: the instances a variant is billed for (time-weighted for autoscaled ones), their mean
CPU and GPU utilisation over the lookback, and for serverless the busy seconds (ModelLatency Sum)
it bills. A proposed shape keeps today's load: the same busy vCPUs and GPUs spread over its
capacity. Computed once per analysis in the features (`FleetFeatures.footprints`), read by the
rules, the profiles and the dashboard, never recomputed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from advisors.cost import billed_instances, observed_hours
from advisors.limits import MICROSECONDS_PER_S
from ground.catalog import spec_for
from ground.domain import EndpointSnapshot, FleetSnapshot, VariantSnapshot
from ground.energy import (
    Footprint,
    combine,
    instances_footprint,
    no_footprint,
    serverless_footprint,
)
from ground.pricing import HOURS_PER_MONTH

PERCENT = 100.0


@dataclass(frozen=True)
class Load:
    """What a variant keeps busy on average over the lookback, summed over its instances."""

    busy_vcpus: float | None  # None: CPU utilisation not measured
    busy_accelerators: float | None  # None: not measured (Inferentia, Trainium publish none)


NO_LOAD = Load(None, None)


def _fraction(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value / PERCENT


def variant_load(endpoint: EndpointSnapshot, variant: VariantSnapshot,
                 fleet: FleetSnapshot) -> Load:
    spec = spec_for(variant.instance_type)
    if spec is None or variant.serverless is not None:
        return NO_LOAD
    count = billed_instances(endpoint, variant, fleet).count
    metrics = fleet.metrics
    cpu = _fraction(metrics.window_value(endpoint.key, variant.name, "cpu_mean_pct"))
    gpu = _fraction(metrics.window_value(endpoint.key, variant.name, "gpu_mean_pct"))
    return Load(busy_vcpus=None if cpu is None else cpu * spec.vcpu * count,
                busy_accelerators=(None if gpu is None or not spec.gpu_count
                                   else gpu * spec.gpu_count * count))


def shape_footprint(instance_type: str | None, count: float, region: str, load: Load,
                    hours: float = HOURS_PER_MONTH) -> Footprint | None:
    """`count` instances of `instance_type` carrying `load` (today's busy vCPUs and GPUs spread
    over the new capacity, at most 100 %); None when the type has no coefficients."""
    spec = spec_for(instance_type)
    if spec is None:
        return None
    if count <= 0:
        return no_footprint()
    cpu = (None if load.busy_vcpus is None
           else min(load.busy_vcpus / (spec.vcpu * count), 1.0))
    gpu = (None if load.busy_accelerators is None or not spec.gpu_count
           else min(load.busy_accelerators / (spec.gpu_count * count), 1.0))
    return instances_footprint(instance_type, count, region, cpu, gpu, hours)


def serverless_variant_footprint(endpoint: EndpointSnapshot, variant: VariantSnapshot,
                                 fleet: FleetSnapshot) -> Footprint | None:
    """What serverless bills, in energy: the lookback's busy seconds scaled to a month."""
    assert variant.serverless is not None
    metrics = fleet.metrics
    requests = metrics.window_value(endpoint.key, variant.name, "requests")
    busy_us = metrics.window_value(endpoint.key, variant.name, "model_latency_sum_us")
    if requests is None or (busy_us is None and requests > 0):
        return None  # no traffic data, or no ModelLatency Sum to read busy time from
    busy_s = (busy_us or 0.0) / MICROSECONDS_PER_S * HOURS_PER_MONTH / observed_hours(
        endpoint, fleet)
    footprint = serverless_footprint(variant.serverless.memory_mb, busy_s, endpoint.region)
    if variant.serverless.provisioned_concurrency:
        return footprint.model_copy(update={"notes": (
            *footprint.notes, "provisioned concurrency kept warm is not estimated")})
    return footprint


def variant_footprint(endpoint: EndpointSnapshot, variant: VariantSnapshot,
                      fleet: FleetSnapshot) -> Footprint | None:
    """A variant's month: billed instances at their measured utilisation, or serverless busy
    time. None when unknown (a type without coefficients, no busy-time data)."""
    if variant.serverless is not None:
        return serverless_variant_footprint(endpoint, variant, fleet)
    if variant.instance_type is None:
        return None
    count = billed_instances(endpoint, variant, fleet).count
    return shape_footprint(variant.instance_type, count, endpoint.region,
                           variant_load(endpoint, variant, fleet))


def endpoint_footprint(endpoint: EndpointSnapshot, fleet: FleetSnapshot) -> Footprint | None:
    """Every variant, shadow variants included (they run and draw power too)."""
    return combine(variant_footprint(endpoint, v, fleet) for v in endpoint.variants)


@dataclass(frozen=True)
class FleetCarbon:
    """Footprints of the fleet as it runs, computed once per analysis."""

    endpoints: dict[str, Footprint | None]  # endpoint key -> month
    variants: dict[tuple[str, str], Footprint | None]  # (endpoint key, variant) -> month
    loads: dict[tuple[str, str], Load]

    def endpoint(self, key: str) -> Footprint | None:
        return self.endpoints.get(key)

    def variant(self, key: str, variant: str) -> Footprint | None:
        return self.variants.get((key, variant))

    def load(self, key: str, variant: str) -> Load:
        return self.loads.get((key, variant), NO_LOAD)


def fleet_carbon(fleet: FleetSnapshot) -> FleetCarbon:
    variants: dict[tuple[str, str], Footprint | None] = {}
    loads: dict[tuple[str, str], Load] = {}
    endpoints: dict[str, Footprint | None] = {}
    for endpoint in fleet.endpoints:
        for variant in endpoint.variants:
            loads[(endpoint.key, variant.name)] = variant_load(endpoint, variant, fleet)
            variants[(endpoint.key, variant.name)] = variant_footprint(endpoint, variant, fleet)
        endpoints[endpoint.key] = combine(variants[(endpoint.key, v.name)]
                                          for v in endpoint.variants)
    return FleetCarbon(endpoints=endpoints, variants=variants, loads=loads)


def empty_fleet_carbon() -> FleetCarbon:
    return FleetCarbon(endpoints={}, variants={}, loads={})
