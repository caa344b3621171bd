"""CloudWatch metrics of the simulated fleet, computed on demand from each endpoint's parameters.

Values are a deterministic function of (seed, endpoint, variant, metric, time): asking twice gives
the same numbers, and the live minutes keep moving because time does. Traffic is modelled per hour
for long periods and per minute for short ones; statistics within a bucket (percentiles, maxima)
come from the sub-values, as CloudWatch computes them from the samples it holds.

What SageMaker publishes is kept: no `Invocations` datapoint when nobody called, CPU and GPU
utilisation summed over cores, latencies in microseconds, exact dimension sets, nothing before the
endpoint existed or while it is not in service. Every instance publishes one utilisation datapoint
per publish period (MetricsConfig, 60 s by default), so their SampleCount counts the instances,
which follow the load of an autoscaled variant; an endpoint publishing every 300 s has datapoints
only on its 5-minute grid. Multi-model endpoints publish their model-cache metrics.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ground.catalog import spec_for
from simulator.fleet import Pattern, SimComponent, SimEndpoint, SimVariant, gpus, vcpus

Array = npt.NDArray[np.float64]

INVOCATIONS_NS = "AWS/SageMaker"
INSTANCE_NS = "/aws/sagemaker/Endpoints"
DRIFT_NS = "aws/sagemaker/Endpoints/data-metrics"
COMPONENT_NS = "/aws/sagemaker/InferenceComponents"

# Metrics per namespace, and which endpoints publish them.
INVOCATION_METRICS = ("Invocations", "Invocation5XXErrors", "Invocation4XXErrors",
                      "ModelLatency", "OverheadLatency", "InvocationsPerInstance",
                      "ConcurrentRequestsPerModel")
SERVERLESS_METRICS = ("ModelSetupTime", "ServerlessConcurrentExecutionsUtilization")
MULTI_MODEL_METRICS = ("ModelCacheHit", "ModelLoadingWaitTime", "ModelUnloadingTime",
                       "ModelDownloadingTime", "ModelLoadingTime")
MULTI_MODEL_HOST_METRICS = ("LoadedModelCount",)  # per instance, in the instance namespace
ASYNC_METRICS = ("ApproximateBacklogSize",)  # dims: EndpointName only
HOST_METRICS = ("CPUUtilization", "MemoryUtilization", "DiskUtilization")
GPU_METRICS = ("GPUUtilization", "GPUMemoryUtilization")
# Inference-component endpoints: invocation metrics per component, per-copy utilisation in its
# own namespace, and the share of each instance the copies reserve (per variant).
COMPONENT_INVOCATION_METRICS = ("Invocations", "Invocation5XXErrors", "Invocation4XXErrors",
                                "ModelLatency", "OverheadLatency", "InvocationsPerCopy",
                                "ConcurrentRequestsPerCopy")
COPY_METRICS = ("CPUUtilizationNormalized", "MemoryUtilizationNormalized")
COPY_GPU_METRICS = ("GPUUtilizationNormalized", "GPUMemoryUtilizationNormalized")
RESERVATION_METRICS = ("CPUReservation", "MemoryReservation", "CPUUtilizationNormalized")
GPU_RESERVATION_METRICS = ("GPUReservation", "GPUUtilizationNormalized",
                           "GPUMemoryUtilizationNormalized")

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def noise(key: int, ticks: npt.NDArray[np.int64]) -> Array:
    """Uniform [0, 1) per (key, tick): a splitmix64 hash, vectorised and deterministic."""
    with np.errstate(over="ignore"):
        x = ticks.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x = x + np.uint64(key & 0xFFFFFFFFFFFF) * np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(31)
        x = x * np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(29)
        x = x * np.uint64(0xD6E8FEB86659FD93)
        x ^= x >> np.uint64(32)
    result: Array = (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return result


def traffic_shape(pattern: Pattern, seconds: npt.NDArray[np.int64], key: int) -> Array:
    """Fraction of the peak rate at each moment (0..1)."""
    hours = seconds // 3600
    hour_of_day = (seconds % 86400) / 3600.0
    weekday = ((seconds // 86400) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    hour_noise = noise(key * 7 + 1, hours)
    if pattern is Pattern.STEADY:
        return 0.8 + 0.2 * hour_noise
    if pattern is Pattern.DIURNAL:
        day = np.clip(np.sin(np.pi * (hour_of_day - 5.0) / 16.0), 0.0, 1.0) ** 1.5
        weekend = np.where(weekday >= 5, 0.7, 1.0)
        shape: Array = (0.12 + 0.88 * day) * weekend * (0.92 + 0.08 * hour_noise)
        return shape
    if pattern is Pattern.BUSINESS_HOURS:
        open_ = (weekday < 5) & (hour_of_day >= 9) & (hour_of_day < 18)
        return np.where(open_, 0.6 + 0.4 * hour_noise, 0.0)
    if pattern is Pattern.NIGHTLY:
        return np.where((hour_of_day >= 2) & (hour_of_day < 3), 0.9 + 0.1 * hour_noise, 0.0)
    if pattern is Pattern.SPIKY:
        return np.where(hour_noise > 0.93, 0.6 + 0.4 * noise(key * 7 + 2, hours), 0.04)
    if pattern is Pattern.SPARSE:
        return np.where(hour_noise > 0.8, 0.3 + 0.7 * noise(key * 7 + 3, hours), 0.0)
    return np.zeros(seconds.shape, dtype=np.float64)


@dataclass(frozen=True)
class MetricTarget:
    """One published metric of one endpoint (and variant, for variant-scoped metrics)."""

    endpoint: SimEndpoint
    variant: SimVariant | None
    namespace: str
    metric: str
    feature: str | None = None  # drift metrics
    component: SimComponent | None = None  # inference-component metrics


@dataclass
class _Traffic:
    """The traffic of one variant over a grid of sub-buckets."""

    starts: npt.NDArray[np.int64]  # sub-bucket start times, epoch seconds
    step: int  # sub-bucket length, seconds
    shape: Array  # fraction of peak
    counts: Array  # requests per sub-bucket
    alive: npt.NDArray[np.bool_]  # the endpoint existed and served


class MetricModel:
    """Answers "the values of this metric, this statistic, these buckets" for the fleet."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._traffic_cache: dict[tuple[int, str, int, int, int], _Traffic] = {}

    # Which metrics exist --------------------------------------------------------------------

    def published(self, endpoint: SimEndpoint) -> Iterator[tuple[str, str, dict[str, str]]]:
        """(namespace, metric, dimensions) of every metric the endpoint publishes."""
        if endpoint.status == "Failed":
            return
        if endpoint.components:
            yield from self._published_components(endpoint)
            return
        for variant in endpoint.variants:
            dims = {"EndpointName": endpoint.name, "VariantName": variant.name}
            for metric in INVOCATION_METRICS:
                if endpoint.async_endpoint and metric in ("Invocations", "OverheadLatency"):
                    continue  # async endpoints publish no Invocations
                yield INVOCATIONS_NS, metric, dims
            if endpoint.multi_model:
                for metric in MULTI_MODEL_METRICS:
                    yield INVOCATIONS_NS, metric, dims
                for metric in MULTI_MODEL_HOST_METRICS:
                    yield INSTANCE_NS, metric, dims
            if variant.instance_type is None:
                for metric in SERVERLESS_METRICS:
                    yield INVOCATIONS_NS, metric, dims
                yield INSTANCE_NS, "MemoryUtilization", dims
                continue
            for metric in HOST_METRICS:
                yield INSTANCE_NS, metric, dims
            if gpus(variant.instance_type):
                for metric in GPU_METRICS:
                    yield INSTANCE_NS, metric, dims
        if endpoint.async_endpoint:
            yield INVOCATIONS_NS, "ApproximateBacklogSize", {"EndpointName": endpoint.name}
        if endpoint.monitor is not None:
            for feature in endpoint.monitor.drift:
                yield DRIFT_NS, f"feature_baseline_drift_{feature}", {
                    "Endpoint": endpoint.name,
                    "MonitoringSchedule": endpoint.monitor.schedule_name}

    def _published_components(self, endpoint: SimEndpoint
                              ) -> Iterator[tuple[str, str, dict[str, str]]]:
        for variant in endpoint.variants:
            dims = {"EndpointName": endpoint.name, "VariantName": variant.name}
            for metric in (*HOST_METRICS, *RESERVATION_METRICS):
                yield INSTANCE_NS, metric, dims
            if gpus(variant.instance_type):
                for metric in (*GPU_METRICS, *GPU_RESERVATION_METRICS):
                    yield INSTANCE_NS, metric, dims
        for component in endpoint.components:
            dims = {"InferenceComponentName": component.name}
            for metric in COMPONENT_INVOCATION_METRICS:
                yield INVOCATIONS_NS, metric, dims
            for metric in COPY_METRICS:
                yield COMPONENT_NS, metric, dims
            if component.accelerators:
                for metric in COPY_GPU_METRICS:
                    yield COMPONENT_NS, metric, dims

    def resolve(self, endpoint: SimEndpoint, namespace: str, metric: str,
                dims: dict[str, str]) -> MetricTarget | None:
        """The metric a query names, or None when nothing is published under exactly those dims."""
        for ns, name, published_dims in self.published(endpoint):
            if ns == namespace and name == metric and published_dims == dims:
                component = next((c for c in endpoint.components
                                  if c.name == dims.get("InferenceComponentName")), None)
                if component is not None:
                    return MetricTarget(endpoint, None, namespace, metric, component=component)
                variant = next((v for v in endpoint.variants
                                if v.name == dims.get("VariantName")), None)
                feature = metric.removeprefix("feature_baseline_drift_") \
                    if namespace == DRIFT_NS else None
                return MetricTarget(endpoint, variant, namespace, metric, feature)
        return None

    # Values ----------------------------------------------------------------------------------

    def forget(self) -> None:
        """Drop cached traffic grids: one GetMetricData call reuses them, the next does not."""
        self._traffic_cache.clear()

    def datapoints(self, target: MetricTarget, stat: str, start: int, end: int, period: int
                   ) -> tuple[npt.NDArray[np.int64], Array]:
        """Bucket start times and values, oldest first, only where CloudWatch would have data."""
        if end <= start or period <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        step = 3600 if period >= 3600 and period % 3600 == 0 else 60
        endpoint = target.endpoint
        first = start
        if endpoint.metric_publish_frequency_s > step:
            # A coarse publisher: one datapoint per publish period, on its own grid (multiples
            # of the period since the epoch); asked per minute, the other minutes are empty.
            step = endpoint.metric_publish_frequency_s
            first = -(-start // step) * step
        buckets = (end - start) // period
        if buckets <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        subs = max(0, (start + buckets * period - first) // step)
        if subs == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        if target.component is not None:
            traffic = self._traffic(endpoint, target.component, first, step, subs)
        elif target.variant is not None:
            traffic = self._traffic(endpoint, target.variant, first, step, subs)
        else:  # endpoint-scoped: all serving variants together
            parts = [self._traffic(endpoint, v, first, step, subs) for v in endpoint.variants]
            traffic = _Traffic(parts[0].starts, step,
                               np.mean([p.shape for p in parts], axis=0),
                               np.sum([p.counts for p in parts], axis=0), parts[0].alive)
        sub_values, present = self._sub_values(target, traffic, stat)
        grid, has = _by_bucket(traffic.starts, sub_values, present, start, period, buckets)
        keep = has.any(axis=1)
        values = _aggregate(grid, has, stat, _is_count(target.metric))
        stamps = start + np.arange(buckets, dtype=np.int64) * period
        return stamps[keep], values[keep]

    def instances(self, endpoint: SimEndpoint, variant: SimVariant, shape: Array) -> Array:
        """Instances running at each load (fraction of peak): the scalable target's policy
        keeps them between MinCapacity and MaxCapacity, in step with the load."""
        scaling = endpoint.scales(variant)
        if scaling is None or variant.peak_instances is None:
            return np.full(shape.shape, float(variant.instance_count))
        low, high = scaling
        wanted = np.ceil(variant.peak_instances * shape - 1e-9)
        result: Array = np.clip(wanted, low, high).astype(np.float64)
        return result

    def instances_now(self, endpoint: SimEndpoint, variant: SimVariant, now: int) -> int:
        """CurrentInstanceCount at `now` (epoch seconds): the count of the current minute."""
        minute = np.array([now - now % 60], dtype=np.int64)
        shape = traffic_shape(variant.pattern, minute, self._key(endpoint, variant, 0))
        return int(self.instances(endpoint, variant, shape)[0])

    def _traffic(self, endpoint: SimEndpoint, variant: SimVariant | SimComponent, start: int,
                 step: int, subs: int) -> _Traffic:
        kind = "component" if isinstance(variant, SimComponent) else "variant"
        cache_key = (endpoint.index, f"{kind}:{variant.name}", start, step, subs)
        cached = self._traffic_cache.get(cache_key)
        if cached is not None:
            return cached
        if len(self._traffic_cache) > 2_000:
            self._traffic_cache.clear()  # bounded: only the series of one call share a grid
        key = self._key(endpoint, variant, 0)
        starts = start + np.arange(subs, dtype=np.int64) * step
        shape = traffic_shape(variant.pattern, starts, key)
        expected = variant.peak_rpm * shape * (step / 60.0)
        jitter = noise(key + 11, starts // step)
        counts = np.floor(expected * (0.9 + 0.2 * jitter) + jitter)
        alive = (starts + step > int(endpoint.created.timestamp())) & (
            endpoint.status in ("InService", "Updating", "SystemUpdating"))
        if isinstance(variant, SimComponent):
            alive = alive & self._has_copies(endpoint, variant, starts)
        elif endpoint.components and endpoint.managed_scaling and not endpoint.managed_scaling[0]:
            # Managed instance scaling down to 0: no instance while no component has a copy.
            alive = alive & np.any([self._has_copies(endpoint, c, starts)
                                    for c in endpoint.components], axis=0)
        counts = np.where(alive, counts, 0.0)
        until = variant.traffic_until if isinstance(variant, SimVariant) else None
        if until is not None:
            # Routed nothing from then on (weight 0): the instances run, nobody calls them.
            routed = starts < int(until.timestamp())
            counts = np.where(routed, counts, 0.0)
            shape = np.where(routed, shape, 0.0)
        traffic = _Traffic(starts, step, np.where(alive, shape, 0.0), counts,
                           np.broadcast_to(alive, starts.shape))
        self._traffic_cache[cache_key] = traffic
        return traffic

    def _has_copies(self, endpoint: SimEndpoint, component: SimComponent,
                    moments: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Whether the component has copies at each moment (scale-to-zero ones not while idle)."""
        if not component.scale_to_zero:
            return np.ones(moments.shape, dtype=bool)
        shape = traffic_shape(component.pattern, moments, self._key(endpoint, component, 0))
        has: npt.NDArray[np.bool_] = shape > 0
        return has

    def copies_at(self, endpoint: SimEndpoint, component: SimComponent, moment: int) -> int:
        """Copies the component runs at `moment` (epoch seconds)."""
        has = self._has_copies(endpoint, component, np.array([moment], dtype=np.int64))
        return component.copies if bool(has[0]) else 0

    def last_scaled(self, endpoint: SimEndpoint, component: SimComponent, moment: int
                    ) -> int | None:
        """When a scale-to-zero component last went to or from zero copies (epoch seconds,
        hour-aligned, within a week), or None when it never did."""
        if not component.scale_to_zero:
            return None
        hours = (moment // 3600 - np.arange(0, 24 * 7, dtype=np.int64)) * 3600
        has = self._has_copies(endpoint, component, hours)
        changed = np.nonzero(has != has[0])[0]
        return int(hours[changed[0] - 1]) if len(changed) else None

    def _key(self, endpoint: SimEndpoint, variant: SimVariant | SimComponent | None,
             stream: int) -> int:
        if isinstance(variant, SimComponent):
            variant_index = 16 + endpoint.components.index(variant)
        else:
            variant_index = endpoint.variants.index(variant) if variant is not None else 7
        return (self.seed * 1_000_003 + endpoint.index) * 64 + variant_index * 8 + stream

    def _sub_values(self, target: MetricTarget, traffic: _Traffic, stat: str
                    ) -> tuple[Array, npt.NDArray[np.bool_]]:
        """A value per sub-bucket for the statistic asked, and where a datapoint exists."""
        if target.component is not None:
            return self._component_values(target, target.component, traffic, stat)
        if target.variant is not None and target.metric in (
                "CPUReservation", "GPUReservation", "MemoryReservation"):
            return self._reservation(target, target.variant, traffic, stat)
        variant = target.variant
        metric = target.metric
        ticks = traffic.starts // traffic.step
        # crc32, not hash(): str hashes change between processes.
        key = self._key(target.endpoint, variant, 1 + zlib.crc32(metric.encode()) % 5)
        jitter = noise(key, ticks)
        load = traffic.shape
        served = traffic.counts > 0
        alive = traffic.alive
        if target.feature is not None and target.endpoint.monitor is not None:
            drift = target.endpoint.monitor.drift.get(target.feature, 0.0)
            hourly = alive & (traffic.starts % 3600 == 0)
            return drift * (0.9 + 0.2 * jitter), hourly
        if metric == "ApproximateBacklogSize":
            return np.round(load * 40 * (0.5 + jitter)), alive
        assert variant is not None
        if target.namespace == INSTANCE_NS and stat == "SampleCount":
            # One datapoint per instance and publish period: the sample count counts instances.
            samples = traffic.step // max(1, target.endpoint.metric_publish_frequency_s)
            running = (self.instances(target.endpoint, variant, load)
                       if variant.instance_type is not None else np.ones(load.shape))
            return running * max(1, samples), alive
        if metric in ("Invocations", "InvocationsPerInstance"):
            per = (np.maximum(self.instances(target.endpoint, variant, load), 1.0)
                   if metric == "InvocationsPerInstance" else 1.0)
            return traffic.counts / per, served
        if metric in MULTI_MODEL_METRICS or metric in MULTI_MODEL_HOST_METRICS:
            return _model_cache(variant, metric, stat, traffic, jitter)
        if metric in ("Invocation5XXErrors", "Invocation4XXErrors"):
            base = variant.error_5xx_ratio if "5XX" in metric else variant.error_4xx_ratio
            ratio = np.full(load.shape, base)
            if "5XX" in metric and variant.errors_grow_with_load:
                ratio = base * (1.0 + 14.0 * load ** 4)
            return np.floor(traffic.counts * ratio + jitter), served
        if metric in ("ModelLatency", "OverheadLatency", "ConcurrentRequestsPerModel"):
            cpu = variant.cpu_idle_pct + (variant.cpu_peak_pct - variant.cpu_idle_pct) * load
            saturation = 1.0 + 3.0 * np.clip((cpu / 100.0 - 0.75) / 0.25, 0.0, None)
            mean_us = variant.latency_ms * 1000.0 * saturation * (0.9 + 0.2 * jitter)
            if metric == "OverheadLatency":
                mean_us = 1_200.0 * (0.8 + 0.4 * jitter) + 0.0 * mean_us
            if stat == "SampleCount":
                return traffic.counts, served
            if stat == "Sum":  # the latencies of every request added up
                return traffic.counts * mean_us, served
            if metric == "ConcurrentRequestsPerModel":
                per_second = traffic.counts / traffic.step
                return np.ceil(per_second * mean_us / 1e6 * 3.0), served
            return _latency_stat(mean_us, stat, variant.latency_spread), served
        if metric == "ModelSetupTime":
            previous = np.concatenate(([0.0], traffic.counts[:-1]))
            cold = served & ((previous == 0) | (traffic.step >= 3600))
            setup_us = variant.cold_start_ms * 1000.0 * (0.85 + 0.3 * jitter)
            if stat == "SampleCount":
                starts = np.where(previous == 0, 2.0, 1.0) if traffic.step >= 3600 else 1.0
                return np.where(cold, starts, 0.0), cold
            return _latency_stat(setup_us, stat, 1.4), cold
        if metric == "ServerlessConcurrentExecutionsUtilization":
            limit = float(variant.serverless_max_concurrency or 1)
            busy = traffic.counts / traffic.step * variant.latency_ms / 1000.0 * 20.0
            return np.clip(np.maximum(busy, 1.0) / limit, 0.0, 1.0), served
        if metric in ("CPUUtilization", "CPUUtilizationNormalized"):
            per_instance = variant.cpu_idle_pct + (variant.cpu_peak_pct - variant.cpu_idle_pct) \
                * load
            per_instance = np.clip(per_instance * (0.93 + 0.14 * jitter), 0.0, 100.0)
            if metric == "CPUUtilizationNormalized":
                return per_instance, alive
            return per_instance * vcpus(variant.instance_type), alive
        if metric == "MemoryUtilization":
            return np.clip(variant.memory_pct + 3.0 * jitter + 2.0 * load, 0, 100), alive
        if metric == "DiskUtilization":
            return variant.disk_pct + 0.5 * jitter, alive
        if metric in ("GPUUtilization", "GPUUtilizationNormalized"):
            per_gpu = variant.gpu_idle_pct + (variant.gpu_peak_pct - variant.gpu_idle_pct) * load
            per_gpu = np.clip(per_gpu * (0.9 + 0.2 * jitter), 0, 100)
            if metric == "GPUUtilizationNormalized":
                return per_gpu, alive
            return per_gpu * gpus(variant.instance_type), alive
        if metric in ("GPUMemoryUtilization", "GPUMemoryUtilizationNormalized"):
            scale = 1 if metric.endswith("Normalized") else gpus(variant.instance_type)
            return (variant.gpu_memory_pct + 2.0 * jitter) * scale, alive
        return np.zeros(ticks.shape), np.zeros(ticks.shape, dtype=bool)

    def _component_values(self, target: MetricTarget, component: SimComponent,
                          traffic: _Traffic, stat: str) -> tuple[Array, npt.NDArray[np.bool_]]:
        """Invocation and per-copy metrics of one inference component."""
        metric = target.metric
        ticks = traffic.starts // traffic.step
        key = self._key(target.endpoint, component, 1 + zlib.crc32(metric.encode()) % 5)
        jitter = noise(key, ticks)
        load = traffic.shape
        served = traffic.counts > 0
        alive = traffic.alive
        if metric in ("Invocations", "InvocationsPerCopy"):
            per = max(component.copies, 1) if metric == "InvocationsPerCopy" else 1
            return traffic.counts / per, served
        if metric in ("Invocation5XXErrors", "Invocation4XXErrors"):
            base = component.error_5xx_ratio if "5XX" in metric else component.error_4xx_ratio
            ratio = np.full(load.shape, base)
            if "5XX" in metric and component.errors_grow_with_load:
                ratio = base * (1.0 + 14.0 * load ** 4)
            return np.floor(traffic.counts * ratio + jitter), served
        if metric in ("ModelLatency", "OverheadLatency", "ConcurrentRequestsPerCopy"):
            gpu = component.gpu_idle_pct + (component.gpu_peak_pct - component.gpu_idle_pct) * load
            saturation = 1.0 + 3.0 * np.clip((gpu / 100.0 - 0.85) / 0.15, 0.0, None)
            mean_us = component.latency_ms * 1000.0 * saturation * (0.9 + 0.2 * jitter)
            if metric == "OverheadLatency":
                mean_us = 2_000.0 * (0.8 + 0.4 * jitter) + 0.0 * mean_us
            if stat == "SampleCount":
                return traffic.counts, served
            if stat == "Sum":  # the latencies of every request added up
                return traffic.counts * mean_us, served
            if metric == "ConcurrentRequestsPerCopy":
                per_second = traffic.counts / traffic.step / max(component.copies, 1)
                return np.ceil(per_second * mean_us / 1e6 * 2.0), served
            return _latency_stat(mean_us, stat, component.latency_spread), served
        if metric == "CPUUtilizationNormalized":
            cpu = component.cpu_idle_pct + (component.cpu_peak_pct - component.cpu_idle_pct) * load
            return np.clip(cpu * (0.93 + 0.14 * jitter), 0.0, 100.0), alive
        if metric == "MemoryUtilizationNormalized":
            return np.clip(component.memory_pct + 3.0 * jitter + 2.0 * load, 0, 100), alive
        if metric == "GPUUtilizationNormalized":
            gpu = component.gpu_idle_pct + (component.gpu_peak_pct - component.gpu_idle_pct) * load
            return np.clip(gpu * (0.9 + 0.2 * jitter), 0, 100), alive
        if metric == "GPUMemoryUtilizationNormalized":
            return np.clip(component.gpu_memory_pct + 2.0 * jitter, 0, 100), alive
        return np.zeros(ticks.shape), np.zeros(ticks.shape, dtype=bool)

    def _reservation(self, target: MetricTarget, variant: SimVariant, traffic: _Traffic,
                     stat: str) -> tuple[Array, npt.NDArray[np.bool_]]:
        """The share of each instance the copies reserve: the statistic is across instances
        (Maximum the fullest, Minimum the emptiest), as CloudWatch aggregates per instance."""
        per_instance = reserved_per_instance(target.endpoint, variant)
        spec = spec_for(variant.instance_type)
        if not per_instance or spec is None:
            return np.zeros(traffic.starts.shape), np.zeros(traffic.starts.shape, dtype=bool)
        if target.metric == "GPUReservation":
            shares = [a / max(spec.gpu_count, 1) * 100.0 for a, _, _ in per_instance]
        elif target.metric == "CPUReservation":
            shares = [c / spec.vcpu * 100.0 for _, c, _ in per_instance]
        else:
            shares = [m / (spec.memory_gib * 1024.0) * 100.0 for _, _, m in per_instance]
        value = {"Minimum": min(shares), "Average": float(np.mean(shares)),
                 "SampleCount": float(len(shares))}.get(stat, max(shares))
        return np.full(traffic.starts.shape, value), traffic.alive



def reserved_per_instance(endpoint: SimEndpoint, variant: SimVariant
                          ) -> list[tuple[float, float, float]]:
    """(accelerators, cores, memory MB) reserved on each instance of the variant: copies placed
    instance by instance, each on the first with room, as SageMaker packs them."""
    spec = spec_for(variant.instance_type)
    if spec is None:
        return []
    instances = [[0.0, 0.0, 0.0] for _ in range(max(variant.instance_count, 0))]
    capacity = (float(spec.gpu_count), float(spec.vcpu), spec.memory_gib * 1024.0)
    for component in endpoint.components:
        if component.variant != variant.name:
            continue
        need = (float(component.accelerators), component.cpu_cores, float(component.memory_mb))
        for _ in range(component.copies):
            for used in instances:
                if all(u + n <= c for u, n, c in zip(used, need, capacity, strict=True)):
                    for i, n in enumerate(need):
                        used[i] += n
                    break
    return [(a, c, m) for a, c, m in instances]


def _model_cache(variant: SimVariant, metric: str, stat: str, traffic: _Traffic, jitter: Array
                 ) -> tuple[Array, npt.NDArray[np.bool_]]:
    """A multi-model endpoint's cache: hits, the wait for a model to load on a miss, evictions."""
    served = traffic.counts > 0
    hit = np.clip(variant.model_cache_hit + 0.03 * (jitter - 0.5), 0.0, 1.0)
    if metric == "LoadedModelCount":
        return variant.models_per_instance * (0.95 + 0.1 * jitter), traffic.alive
    if metric == "ModelCacheHit":  # 1 per hit, 0 per miss: the Average is the hit ratio
        values = {"Sum": traffic.counts * hit, "SampleCount": traffic.counts,
                  "Maximum": np.where(hit > 0, 1.0, 0.0), "Minimum": np.where(hit < 1, 0.0, 1.0)}
        return values.get(stat, hit), served
    misses = np.floor(traffic.counts * (1.0 - hit) + jitter)
    loaded = served & (misses > 0)
    # Every miss loads a model; once the cache is full (it is, in steady state) one is evicted.
    share = {"ModelLoadingWaitTime": 1.0, "ModelDownloadingTime": 0.45,
             "ModelLoadingTime": 0.5, "ModelUnloadingTime": 0.08}[metric]
    mean_us = variant.model_load_ms * 1000.0 * share * (0.85 + 0.3 * jitter)
    if stat == "SampleCount":
        return misses, loaded
    if stat == "Sum":
        return misses * mean_us, loaded
    return _latency_stat(mean_us, stat, 1.6), loaded


def _by_bucket(starts: npt.NDArray[np.int64], values: Array, present: npt.NDArray[np.bool_],
               start: int, period: int, buckets: int) -> tuple[Array, npt.NDArray[np.bool_]]:
    """Sub-bucket values laid out as rows of buckets (padded with NaN where a bucket has fewer:
    a coarse publisher has none in most one-minute buckets)."""
    bucket_of = (starts - start) // period
    inside = (bucket_of >= 0) & (bucket_of < buckets)
    bucket_of, values, present = bucket_of[inside], values[inside], present[inside]
    first = np.searchsorted(bucket_of, np.arange(buckets), side="left")
    position = np.arange(len(bucket_of)) - first[bucket_of]
    width = int(position.max()) + 1 if len(position) else 1
    grid = np.full((buckets, width), np.nan)
    has = np.zeros((buckets, width), dtype=bool)
    grid[bucket_of, position] = values
    has[bucket_of, position] = present
    return grid, has


def _is_count(metric: str) -> bool:
    return metric in ("Invocations", "InvocationsPerInstance", "Invocation5XXErrors",
                      "Invocation4XXErrors", "InvocationsPerCopy")


def _latency_stat(mean: Array, stat: str, spread: float) -> Array:
    """Within a sub-bucket: latency of one statistic from the mean and the p99/mean spread."""
    factors = {"Average": 1.0, "Minimum": 0.45, "Maximum": spread * 1.35, "SampleCount": 1.0,
               "Sum": 1.0}
    if stat in factors:
        return mean * factors[stat]
    if stat.startswith("p"):
        quantile = float(stat[1:]) / 100.0
        # Log-normal-ish: the median under the mean, p99 at `spread` times the mean.
        return mean * (0.85 + (spread - 0.85) * quantile ** 6)
    return mean


def _aggregate(grid: Array, present: npt.NDArray[np.bool_], stat: str, is_count: bool) -> Array:
    """One statistic per bucket from its sub-values (rows = buckets)."""
    masked = np.where(present, grid, np.nan)
    with np.errstate(all="ignore"), _quiet():
        # Sub-values of SampleCount are already sample counts (see MetricModel._sub_values).
        if stat in ("Sum", "SampleCount") or (
                is_count and stat not in ("Average", "Maximum", "Minimum")):
            result: Array = np.nansum(masked, axis=1)
        elif stat == "Maximum":
            result = np.nanmax(masked, axis=1)
        elif stat == "Minimum":
            result = np.nanmin(masked, axis=1)
        elif stat.startswith("p"):
            result = _row_percentile(masked, float(stat[1:]))
        else:
            result = np.nanmean(masked, axis=1)
    return np.nan_to_num(result)


def _row_percentile(masked: Array, percent: float) -> Array:
    """np.nanpercentile(axis=1), vectorised: nanpercentile loops over rows in Python."""
    ordered = np.sort(masked, axis=1)  # NaN sorts last
    valid = np.sum(~np.isnan(masked), axis=1)
    last = np.maximum(valid - 1, 0)
    position = percent / 100.0 * last
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, last)
    rows = np.arange(masked.shape[0])
    below, above = ordered[rows, low], ordered[rows, high]
    result: Array = below + (above - below) * (position - low)
    return np.where(valid > 0, result, np.nan)


class _quiet:
    """numpy warns on all-NaN rows; those buckets are dropped anyway."""

    def __enter__(self) -> None:
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._catch.__exit__(None, None, None)
