"""The metric series sagetop keeps, and which CloudWatch metric each comes from.

A series has a domain name with its unit (`model_latency_p99_us`), and a source: namespace, metric,
statistic and the exact dimension set SageMaker publishes it with. Which series an endpoint gets
depends on its deployment option (async endpoints publish no `Invocations`, serverless ones no CPU).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Tier(StrEnum):
    WINDOW = "window"  # one statistic over the whole lookback
    HOURLY = "hourly"  # hourly shape over the lookback
    LIVE = "live"  # minute detail over the recent live window


class Scope(StrEnum):
    VARIANT = "variant"  # dims EndpointName, VariantName
    ENDPOINT = "endpoint"  # dims EndpointName only (async queue metrics)
    COMPONENT = "component"  # dims InferenceComponentName only (inference components)


class Normalise(StrEnum):
    NONE = "none"
    PER_VCPU = "per-vcpu"  # CPUUtilization is summed over cores: 0..100 x vCPUs
    PER_GPU = "per-gpu"  # GPU metrics are summed over GPUs: 0..100 x GPUs
    # Every instance publishes one utilisation datapoint per publish period (MetricsConfig), so
    # a SampleCount divided by the publish periods in its bucket is the mean instance count.
    PER_PUBLISH_PERIOD = "per-publish-period"


INVOCATIONS_NS = "AWS/SageMaker"
INSTANCE_NS = "/aws/sagemaker/Endpoints"
COMPONENT_NS = "/aws/sagemaker/InferenceComponents"


@dataclass(frozen=True)
class SeriesSource:
    namespace: str
    metric: str
    stat: str
    scope: Scope = Scope.VARIANT
    normalise: Normalise = Normalise.NONE
    is_count: bool = False  # a missing datapoint means zero (only while the endpoint serves)

    @property
    def additive(self) -> bool:
        """Values of sub-buckets add up (counts, sums, sample counts); others do not."""
        return self.is_count or self.stat in ("Sum", "SampleCount")


@dataclass(frozen=True)
class SeriesSpec:
    name: str
    tier: Tier
    unit: str
    # deployment option -> source; "default" applies to every option not named.
    sources: dict[str, SeriesSource | None]
    gpu_only: bool = False
    # Live series come in two groups: "row" (what a fleet-table row shows: traffic, errors,
    # latency), refreshed for every row on screen, and "pane" (per-instance utilisation),
    # refreshed only for the endpoint open in its pane. Fewer metrics asked, less to pay.
    group: str = "row"
    # Only for endpoints with several variants (shadow included): the A/B comparison needs it,
    # a single-variant endpoint would pay for series nobody compares.
    multi_variant_only: bool = False

    def source_for(self, deployment: str) -> SeriesSource | None:
        if deployment in self.sources:
            return self.sources[deployment]
        return self.sources.get("default")


def _inv(metric: str, stat: str, count: bool = False) -> SeriesSource:
    return SeriesSource(INVOCATIONS_NS, metric, stat, is_count=count)


def _host(metric: str, stat: str, normalise: Normalise = Normalise.NONE) -> SeriesSource:
    return SeriesSource(INSTANCE_NS, metric, stat, normalise=normalise)


# Async endpoints publish no Invocations: the number of ModelLatency samples counts their requests.
_REQUESTS = {
    "default": _inv("Invocations", "Sum", count=True),
    "async": SeriesSource(INVOCATIONS_NS, "ModelLatency", "SampleCount", is_count=True),
}
_ERRORS_5XX = {"default": _inv("Invocation5XXErrors", "Sum", count=True)}
_NO_HOST: dict[str, SeriesSource | None] = {"serverless": None}
# CloudWatch publishes no instance count for a variant; the CPUUtilization samples count them.
_INSTANCES: dict[str, SeriesSource | None] = {
    "default": SeriesSource(INSTANCE_NS, "CPUUtilization", "SampleCount",
                            normalise=Normalise.PER_PUBLISH_PERIOD),
    **_NO_HOST,
}


def _multi_model(source: SeriesSource) -> dict[str, SeriesSource | None]:
    """Model-cache metrics: only multi-model endpoints publish them (aws-facts.md 1.5)."""
    return {"default": None, "multi-model": source}


def _series(name: str, tier: Tier, unit: str, sources: Mapping[str, SeriesSource | None],
            gpu_only: bool = False, group: str = "row",
            multi_variant_only: bool = False) -> SeriesSpec:
    return SeriesSpec(name, tier, unit, dict(sources), gpu_only, group, multi_variant_only)


W, H, L = Tier.WINDOW, Tier.HOURLY, Tier.LIVE
SERIES: tuple[SeriesSpec, ...] = (
    # Whole lookback: what sizing and the rules need, aggregated by CloudWatch.
    _series("requests", W, "count", _REQUESTS),
    _series("errors_5xx", W, "count", _ERRORS_5XX),
    _series("errors_4xx", W, "count", {"default": _inv("Invocation4XXErrors", "Sum", count=True)}),
    _series("model_latency_p50_us", W, "microseconds", {"default": _inv("ModelLatency", "p50")}),
    _series("model_latency_p99_us", W, "microseconds", {"default": _inv("ModelLatency", "p99")}),
    _series("model_latency_max_us", W, "microseconds",
            {"default": _inv("ModelLatency", "Maximum")}),
    _series("overhead_latency_avg_us", W, "microseconds",
            {"default": _inv("OverheadLatency", "Average"), "async": None}),
    _series("cpu_p95_pct", W, "percent per instance",
            {"default": _host("CPUUtilization", "p95", Normalise.PER_VCPU), **_NO_HOST}),
    _series("cpu_max_pct", W, "percent per instance",
            {"default": _host("CPUUtilization", "Maximum", Normalise.PER_VCPU), **_NO_HOST}),
    # Mean utilisation over the lookback: what energy estimates interpolate by (energy is linear
    # in utilisation, so the time-weighted mean is the one that adds up).
    _series("cpu_mean_pct", W, "percent per instance (mean)",
            {"default": _host("CPUUtilization", "Average", Normalise.PER_VCPU), **_NO_HOST}),
    _series("gpu_mean_pct", W, "percent per GPU (mean)",
            {"default": _host("GPUUtilization", "Average", Normalise.PER_GPU), **_NO_HOST},
            gpu_only=True),
    _series("memory_p95_pct", W, "percent", {"default": _host("MemoryUtilization", "p95")}),
    _series("memory_max_pct", W, "percent", {"default": _host("MemoryUtilization", "Maximum")}),
    _series("gpu_p95_pct", W, "percent per GPU",
            {"default": _host("GPUUtilization", "p95", Normalise.PER_GPU), **_NO_HOST},
            gpu_only=True),
    _series("gpu_memory_p95_pct", W, "percent per GPU",
            {"default": _host("GPUMemoryUtilization", "p95", Normalise.PER_GPU), **_NO_HOST},
            gpu_only=True),
    _series("disk_max_pct", W, "percent",
            {"default": _host("DiskUtilization", "Maximum"), **_NO_HOST}),
    _series("concurrency_max", W, "requests",
            {"default": _inv("ConcurrentRequestsPerModel", "Maximum"), "async": None,
             "serverless": None}),
    _series("cold_start_p99_us", W, "microseconds",
            {"default": None, "serverless": _inv("ModelSetupTime", "p99")}),
    _series("cold_starts", W, "count",
            {"default": None, "serverless": _inv("ModelSetupTime", "SampleCount", count=True)}),
    _series("serverless_concurrency_max_fraction", W, "fraction of MaxConcurrency",
            {"default": None,
             "serverless": _inv("ServerlessConcurrentExecutionsUtilization", "Maximum")}),
    _series("backlog_max", W, "requests",
            {"default": None,
             "async": SeriesSource(INVOCATIONS_NS, "ApproximateBacklogSize", "Maximum",
                                   scope=Scope.ENDPOINT)}),
    # Time-weighted mean instance count: what an autoscaled variant is billed for.
    _series("instance_count_mean", W, "instances (time-weighted mean)", _INSTANCES),
    # Busy time of the model: what serverless bills (the serverless-candidate rule prices it).
    _series("model_latency_sum_us", W, "microseconds (sum over requests)",
            {"default": None, "real-time": _inv("ModelLatency", "Sum"),
             "serverless": _inv("ModelLatency", "Sum")}),
    _series("model_cache_hit_ratio", W, "fraction of requests",
            _multi_model(_inv("ModelCacheHit", "Average"))),
    _series("model_loading_wait_avg_us", W, "microseconds",
            _multi_model(_inv("ModelLoadingWaitTime", "Average"))),
    _series("model_loading_wait_max_us", W, "microseconds",
            _multi_model(_inv("ModelLoadingWaitTime", "Maximum"))),
    _series("model_unloads", W, "count",
            _multi_model(_inv("ModelUnloadingTime", "SampleCount", count=True))),
    _series("loaded_models_avg", W, "models per instance",
            _multi_model(_host("LoadedModelCount", "Average"))),
    # Hourly shape over the lookback: traffic pattern, errors against load, latency against load.
    _series("requests", H, "count per hour", _REQUESTS),
    _series("errors_5xx", H, "count per hour", _ERRORS_5XX),
    _series("model_latency_p99_us", H, "microseconds", {"default": _inv("ModelLatency", "p99")}),
    # Per-variant comparisons (A/B and shadow tests): the hourly median and client errors.
    _series("model_latency_p50_us", H, "microseconds", {"default": _inv("ModelLatency", "p50")},
            multi_variant_only=True),
    _series("errors_4xx", H, "count per hour",
            {"default": _inv("Invocation4XXErrors", "Sum", count=True)},
            multi_variant_only=True),
    _series("instance_count", H, "instances (mean over the hour)", _INSTANCES),
    # Minute detail for the live window. An endpoint publishing less often than every minute
    # (MetricsConfig) is asked at its publish period; each bucket is then spread over its
    # minutes (counts as the mean per minute), so no minute between two datapoints reads zero.
    _series("requests", L, "count per minute", _REQUESTS),
    _series("errors_5xx", L, "count per minute", _ERRORS_5XX),
    _series("model_latency_p99_us", L, "microseconds", {"default": _inv("ModelLatency", "p99")}),
    _series("cpu_avg_pct", L, "percent per instance",
            {"default": _host("CPUUtilization", "Average", Normalise.PER_VCPU), **_NO_HOST},
            group="pane"),
    _series("memory_avg_pct", L, "percent", {"default": _host("MemoryUtilization", "Average")},
            group="pane"),
    _series("gpu_avg_pct", L, "percent per GPU",
            {"default": _host("GPUUtilization", "Average", Normalise.PER_GPU), **_NO_HOST},
            gpu_only=True, group="pane"),
)


# Inference components. Their invocation metrics are published per component (dims
# InferenceComponentName only), never per variant, so an endpoint's traffic is the sum of its
# components'; per-copy utilisation is in its own namespace, normalised to the copy's reservation.
# The variant of such an endpoint adds how much of its instances the copies reserve.
IC = "inference-components"  # DeploymentOption.INFERENCE_COMPONENTS (ground.domain)
# A count bucket of a component is zero only where the component was measured in that bucket:
# a component scaled to zero copies publishes nothing, and that is no data, not zero traffic.
COMPONENT_PRESENCE = "copy_cpu_avg_pct"


def _ic(metric: str, stat: str, count: bool = False) -> dict[str, SeriesSource | None]:
    return {"default": None, IC: SeriesSource(INVOCATIONS_NS, metric, stat, scope=Scope.COMPONENT,
                                              is_count=count)}


def _copy(metric: str, stat: str) -> dict[str, SeriesSource | None]:
    return {"default": None, IC: SeriesSource(COMPONENT_NS, metric, stat, scope=Scope.COMPONENT)}


def _reserved(metric: str, stat: str) -> dict[str, SeriesSource | None]:
    return {"default": None, IC: _host(metric, stat)}


_PER_COPY = "percent of the copy's reservation"
_RESERVED = "percent of the instances' capacity"
COMPONENT_SERIES: tuple[SeriesSpec, ...] = (
    _series("requests", W, "count", _ic("Invocations", "Sum", count=True)),
    _series("errors_5xx", W, "count", _ic("Invocation5XXErrors", "Sum", count=True)),
    _series("errors_4xx", W, "count", _ic("Invocation4XXErrors", "Sum", count=True)),
    _series("model_latency_p50_us", W, "microseconds", _ic("ModelLatency", "p50")),
    _series("model_latency_p99_us", W, "microseconds", _ic("ModelLatency", "p99")),
    _series("model_latency_max_us", W, "microseconds", _ic("ModelLatency", "Maximum")),
    _series("copy_cpu_p95_pct", W, _PER_COPY, _copy("CPUUtilizationNormalized", "p95")),
    _series("copy_memory_p95_pct", W, _PER_COPY, _copy("MemoryUtilizationNormalized", "p95")),
    _series("copy_gpu_p95_pct", W, _PER_COPY, _copy("GPUUtilizationNormalized", "p95"),
            gpu_only=True),
    _series("copy_gpu_memory_p95_pct", W, _PER_COPY,
            _copy("GPUMemoryUtilizationNormalized", "p95"), gpu_only=True),
    # Reservations of the variant's instances: the fullest instance (Maximum) and the emptiest
    # (Minimum); an instance no copy reserves anything on shows as a minimum of 0 %.
    _series("gpu_reservation_max_pct", W, _RESERVED, _reserved("GPUReservation", "Maximum"),
            gpu_only=True),
    _series("gpu_reservation_min_pct", W, _RESERVED, _reserved("GPUReservation", "Minimum"),
            gpu_only=True),
    _series("cpu_reservation_max_pct", W, _RESERVED, _reserved("CPUReservation", "Maximum")),
    _series("cpu_reservation_min_pct", W, _RESERVED, _reserved("CPUReservation", "Minimum")),
    _series("memory_reservation_max_pct", W, _RESERVED,
            _reserved("MemoryReservation", "Maximum")),
    _series("requests", H, "count per hour", _ic("Invocations", "Sum", count=True)),
    _series("errors_5xx", H, "count per hour", _ic("Invocation5XXErrors", "Sum", count=True)),
    _series("model_latency_p99_us", H, "microseconds", _ic("ModelLatency", "p99")),
    _series(COMPONENT_PRESENCE, H, _PER_COPY, _copy("CPUUtilizationNormalized", "Average")),
    _series("requests", L, "count per minute", _ic("Invocations", "Sum", count=True)),
    _series("errors_5xx", L, "count per minute", _ic("Invocation5XXErrors", "Sum", count=True)),
    _series("model_latency_p99_us", L, "microseconds", _ic("ModelLatency", "p99")),
    _series(COMPONENT_PRESENCE, L, _PER_COPY, _copy("CPUUtilizationNormalized", "Average")),
)


def series_for(tier: Tier) -> tuple[SeriesSpec, ...]:
    return tuple(s for s in (*SERIES, *COMPONENT_SERIES) if s.tier == tier)
