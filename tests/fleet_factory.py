"""Realistic fleet snapshots for advisor tests, built from hourly traffic shapes with numpy.

An endpoint is described by a traffic pattern over the lookback (diurnal, business hours,
nightly batch, bursty, idle, steady) and, per variant, its share of that traffic, its instances
and its utilisation at the busiest hour. The hourly `requests`, `errors_5xx`,
`model_latency_p99_us` and `instance_count` frames are generated first; the window statistics
(totals, p95 utilisation, latency percentiles and sum, peak concurrency, the time-weighted
instance count) are then derived from those same hourly series, so the two tiers always agree, as
they do when CloudWatch computes them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd

from ground.domain import (
    AutoscalingInfo,
    CapacityStep,
    ComponentResources,
    ContainerInfo,
    DataCaptureInfo,
    DeploymentGuardrails,
    DeploymentOption,
    DriftMetric,
    EndpointSnapshot,
    FleetSnapshot,
    InferenceComponentSnapshot,
    ManagedInstanceScaling,
    MetricStore,
    ModelInfo,
    ModelMonitorState,
    MonitoringScheduleInfo,
    ScalingPolicyInfo,
    ServerlessSettings,
    VariantSnapshot,
    Violation,
    component_column,
)

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
REGION = "us-east-1"
CPU_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/sklearn-inference:1.2-1-cpu-py3"
GPU_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.3-gpu-py311"


# How a well-run endpoint is updated: canary traffic shifting that rolls back on an alarm. Plans
# default to it so that only the tests about guardrails meet `no-deployment-guardrails`.
GUARDED = DeploymentGuardrails(strategy="blue-green", traffic="canary",
                               step=CapacityStep(unit="CAPACITY_PERCENT", value=10), wait_s=600,
                               rollback_alarms=("errors-5xx",))


class Pattern(StrEnum):
    STEADY = "steady"  # the same load every hour
    DIURNAL = "diurnal"  # busy by day, quiet at night, never zero
    BUSINESS_HOURS = "business-hours"  # weekdays 09-18 UTC only
    NIGHTLY = "nightly"  # one burst at 02:00-03:59 UTC every night
    BURSTY = "bursty"  # idle, with bursts at random hours
    IDLE = "idle"  # nobody calls


def load_shape(pattern: Pattern, hours: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    """Load per hour as a fraction of the peak hour (0-1)."""
    hour = hours.hour.to_numpy()
    weekday = hours.day_of_week.to_numpy()
    n = len(hours)
    if pattern is Pattern.STEADY:
        shape = np.full(n, 0.9) + rng.uniform(0, 0.1, n)
    elif pattern is Pattern.DIURNAL:
        # Peak at 15:00 UTC, a trough of a fifth of it before dawn, a little noise.
        shape = 0.6 + 0.4 * np.cos((hour - 15) / 24.0 * 2 * np.pi)
        shape = shape * rng.uniform(0.95, 1.0, n)
    elif pattern is Pattern.BUSINESS_HOURS:
        working = (weekday < 5) & (hour >= 9) & (hour < 18)
        shape = np.where(working, rng.uniform(0.6, 1.0, n), 0.0)
    elif pattern is Pattern.NIGHTLY:
        shape = np.where((hour == 2) | (hour == 3), rng.uniform(0.8, 1.0, n), 0.0)
    elif pattern is Pattern.BURSTY:
        bursts = rng.random(n) < 0.08  # about two bursty hours a day, at no fixed time
        shape = np.where(bursts, rng.uniform(0.3, 1.0, n), 0.0)
    else:
        shape = np.zeros(n)
    peak = shape.max()
    return shape / peak if peak > 0 else shape


@dataclass
class VariantPlan:
    name: str = "AllTraffic"
    instance_type: str | None = "ml.c5.xlarge"  # None: serverless
    instance_count: int = 2
    traffic_share: float = 1.0  # of the endpoint's requests; shadow variants get a copy
    shadow: bool = False
    serverless_memory_mb: int = 2048
    serverless_max_concurrency: int = 20
    # Utilisation per instance: at no load and at the busiest hour (None: metric missing).
    cpu_idle_pct: float | None = 3.0
    cpu_peak_pct: float | None = 40.0
    memory_pct: float | None = 40.0
    gpu_idle_pct: float | None = None
    gpu_peak_pct: float | None = None
    gpu_memory_pct: float | None = None
    latency_p50_ms: float = 20.0
    latency_mean_ms: float | None = None  # default: 1.25 x p50 (latency is skewed right)
    latency_p99_ms: float = 60.0
    latency_max_ms: float | None = None  # default: 1.5 x p99
    error_ratio: float = 0.0005
    errors_grow_with_load: bool = False  # the 5XX ratio climbs steeply near the peak
    concurrency_max: float | None = None  # default: Little's law at the peak, x4 for bursts
    cold_start_p99_ms: float | None = None  # serverless
    cold_starts: int = 0
    serverless_concurrency_max_fraction: float | None = None
    autoscaling: AutoscalingInfo | None = None
    vpc: bool = False
    # An autoscaled variant's instances at the quietest and the busiest hour; in between they
    # follow the load. None: `instance_count` every hour. `instance_count` stays the count
    # DescribeEndpoint reports at the moment of the snapshot.
    scaled_counts: tuple[int, int] | None = None
    # Multi-model endpoints: ModelCacheHit Average, ModelLoadingWaitTime Average / Maximum,
    # LoadedModelCount Average and the samples of ModelUnloadingTime (None: not published).
    model_cache_hit_ratio: float | None = None
    model_loading_wait_avg_ms: float | None = None
    model_loading_wait_max_ms: float | None = None
    loaded_models_avg: float | None = None
    model_unloads: float | None = None


@dataclass
class ComponentPlan:
    """An inference component: copies with their reservation, and its share of the traffic."""

    name: str
    variant: str = "AllTraffic"
    accelerators: int | None = 1
    cpu_cores: float | None = 4.0
    memory_mb: int | None = 16_384
    copies: int = 1
    traffic_share: float = 0.5  # of the endpoint's requests (invocations are per component)
    latency_p99_ms: float = 2_000.0
    copy_gpu_pct: float = 60.0  # per copy, of what it reserves
    autoscaling: AutoscalingInfo | None = None
    status: str = "InService"


@dataclass
class EndpointPlan:
    name: str
    pattern: Pattern = Pattern.DIURNAL
    peak_requests_per_hour: float = 6000.0
    variants: Sequence[VariantPlan] = field(default_factory=lambda: (VariantPlan(),))
    deployment: DeploymentOption = DeploymentOption.REAL_TIME
    region: str = REGION
    age_days: float = 90.0
    status: str = "InService"
    tags: dict[str, str] = field(default_factory=lambda: {"env": "production"})
    data_capture: bool = False
    image: str = CPU_IMAGE
    environment_keys: tuple[str, ...] = ()  # the container's environment variable names
    monitor: ModelMonitorState = field(default_factory=ModelMonitorState)
    # Invocation metrics absent (the query found no datapoints): NaN, not zero.
    missing_invocations: bool = False
    deployment_config: DeploymentGuardrails | None = GUARDED
    # Inference components: the endpoint's traffic is theirs (none is published per variant).
    components: Sequence[ComponentPlan] = ()
    managed_scaling: ManagedInstanceScaling | None = None


def scaling(min_capacity: int = 2, max_capacity: int = 6, with_policy: bool = True
            ) -> AutoscalingInfo:
    policies = (ScalingPolicyInfo(name="invocations-target", policy_type="TargetTrackingScaling",
                                  target_value=700.0,
                                  metric="SageMakerVariantInvocationsPerInstance"),)
    return AutoscalingInfo(min_capacity=min_capacity, max_capacity=max_capacity,
                           policies=policies if with_policy else ())


def monitor_with_violations(count: int = 2) -> ModelMonitorState:
    violations = tuple(Violation(feature_name=f"feature_{i}", check_type="baseline_drift_check",
                                 description="distance exceeds threshold") for i in range(count))
    return ModelMonitorState(schedules=(MonitoringScheduleInfo(
        name="data-quality-hourly", monitoring_type="DataQuality", status="Scheduled",
        violations=violations),))


def monitor_with_drift(value: float) -> ModelMonitorState:
    metric = DriftMetric(namespace="aws/sagemaker/Endpoints/data-metrics",
                         metric_name="feature_baseline_drift_age",
                         dimensions=(("Endpoint", "x"), ("MonitoringSchedule", "dq")),
                         latest_value=value, latest_time=NOW)
    return ModelMonitorState(schedules=(MonitoringScheduleInfo(
        name="data-quality-hourly", monitoring_type="DataQuality", status="Scheduled"),),
        drift_metrics=(metric,))


class FleetBuilder:
    """Collects endpoint plans and builds one consistent FleetSnapshot."""

    def __init__(self, now: dt.datetime = NOW, lookback_days: int = 14, seed: int = 7) -> None:
        self.now = now
        self.lookback_days = lookback_days
        self.rng = np.random.default_rng(seed)
        self.plans: list[EndpointPlan] = []
        end = now.replace(minute=0, second=0, microsecond=0)
        self.hours = pd.date_range(end - dt.timedelta(days=lookback_days), end, freq="h",
                                   inclusive="left", tz="UTC")

    def add(self, plan: EndpointPlan) -> EndpointPlan:
        self.plans.append(plan)
        return plan

    def _endpoint(self, plan: EndpointPlan) -> EndpointSnapshot:
        created = self.now - dt.timedelta(days=plan.age_days)
        variants = []
        for v in plan.variants:
            serverless = (ServerlessSettings(memory_mb=v.serverless_memory_mb,
                                             max_concurrency=v.serverless_max_concurrency)
                          if v.instance_type is None else None)
            # The variant of an inference-component endpoint names no model.
            model = None if plan.components else ModelInfo(
                name=f"{plan.name}-{v.name}-model".lower(),
                containers=(ContainerInfo(image=plan.image,
                                          environment_keys=plan.environment_keys),),
                vpc=v.vpc)
            count = 0 if serverless else v.instance_count
            variants.append(VariantSnapshot(
                name=v.name, model_name=model.name if model else None,
                instance_type=v.instance_type, current_instance_count=count,
                desired_instance_count=count, serverless=serverless, shadow=v.shadow,
                model=model, autoscaling=v.autoscaling,
                managed_instance_scaling=plan.managed_scaling))
        components = tuple(
            InferenceComponentSnapshot(
                name=c.name, arn=f"arn:aws:sagemaker:{plan.region}:123456789012:"
                                 f"inference-component/{c.name}",
                variant=c.variant, status=c.status, creation_time=created,
                last_modified_time=created, model_name=f"{c.name}-model", image=plan.image,
                model=ModelInfo(name=f"{c.name}-model",
                                containers=(ContainerInfo(
                                    image=plan.image, environment_keys=plan.environment_keys),)),
                resources=ComponentResources(accelerators=c.accelerators,
                                             cpu_cores=c.cpu_cores, min_memory_mb=c.memory_mb),
                desired_copies=c.copies, current_copies=c.copies, autoscaling=c.autoscaling)
            for c in plan.components)
        return EndpointSnapshot(
            name=plan.name,
            arn=f"arn:aws:sagemaker:{plan.region}:123456789012:endpoint/{plan.name}",
            region=plan.region, status=plan.status,
            deployment=DeploymentOption.INFERENCE_COMPONENTS if components else plan.deployment,
            creation_time=created, last_modified_time=created, variants=tuple(variants),
            tags=dict(plan.tags), data_capture=DataCaptureInfo(enabled=plan.data_capture),
            monitor=plan.monitor, deployment_config=plan.deployment_config,
            inference_components=components)

    def build(self) -> FleetSnapshot:
        endpoints = [self._endpoint(plan) for plan in self.plans]
        columns: list[tuple[str, str]] = []
        requests_cols: list[np.ndarray] = []
        errors_cols: list[np.ndarray] = []
        latency_cols: list[np.ndarray] = []
        instance_cols: list[np.ndarray] = []
        window_rows: list[dict[str, float]] = []
        for plan, endpoint in zip(self.plans, endpoints, strict=True):
            shape = load_shape(plan.pattern, self.hours, self.rng)
            # Hours before the endpoint existed have no data at all.
            existed = self.hours >= pd.Timestamp(endpoint.creation_time).floor("h")
            for v in plan.variants:
                requests = np.round(shape * plan.peak_requests_per_hour * v.traffic_share)
                ratio = np.full(len(shape), v.error_ratio)
                if v.errors_grow_with_load:
                    ratio = v.error_ratio + 0.08 * shape ** 6
                errors = np.round(requests * ratio)
                latency_us = np.where(requests > 0,
                                      v.latency_p99_ms * 1000.0 * (0.8 + 0.2 * shape), np.nan)
                requests = np.where(existed, requests, np.nan)
                errors = np.where(existed, errors, np.nan)
                latency_us = np.where(existed, latency_us, np.nan)
                instances = np.full(len(shape), np.nan)
                if v.instance_type is not None:
                    low, high = v.scaled_counts or (v.instance_count, v.instance_count)
                    spread = float(shape.max() - shape.min())
                    between = (shape - shape.min()) / spread if spread > 0 else shape * 0.0
                    instances = np.where(existed, np.round(low + (high - low) * between),
                                         np.nan)
                if plan.missing_invocations or plan.components:
                    requests = np.full(len(shape), np.nan)
                    errors = np.full(len(shape), np.nan)
                    latency_us = np.full(len(shape), np.nan)
                columns.append((endpoint.key, v.name))
                requests_cols.append(requests)
                errors_cols.append(errors)
                latency_cols.append(latency_us)
                instance_cols.append(instances)
                window_rows.append(self._window_row(plan, v, shape[existed], requests, errors,
                                                    instances))
            for c in plan.components:
                requests = np.round(shape * plan.peak_requests_per_hour * c.traffic_share)
                requests = np.where(existed, requests, np.nan)
                errors = np.where(existed, np.round(requests * 0.0005), np.nan)
                latency_us = np.where(requests > 0, c.latency_p99_ms * 1000.0, np.nan)
                columns.append((endpoint.key, component_column(c.name)))
                requests_cols.append(requests)
                errors_cols.append(errors)
                latency_cols.append(latency_us)
                instance_cols.append(np.full(len(shape), np.nan))  # components run copies
                window_rows.append(self._component_row(c, requests, errors))
        index = pd.MultiIndex.from_tuples(columns, names=["endpoint", "variant"])

        def frame(cols: list[np.ndarray]) -> pd.DataFrame:
            data = np.column_stack(cols) if cols else np.empty((len(self.hours), 0))
            return pd.DataFrame(data, index=self.hours, columns=index)

        metrics = MetricStore(
            window=pd.DataFrame(window_rows, index=index),
            hourly={"requests": frame(requests_cols), "errors_5xx": frame(errors_cols),
                    "model_latency_p99_us": frame(latency_cols),
                    "instance_count": frame(instance_cols)},
            window_start=self.hours[0].to_pydatetime(),
            window_end=self.now.replace(minute=0, second=0, microsecond=0))
        return FleetSnapshot(collected_at=self.now, regions=tuple({p.region for p in self.plans}),
                             lookback_days=self.lookback_days, endpoints=tuple(endpoints),
                             metrics=metrics)

    @staticmethod
    def _component_row(c: ComponentPlan, requests: np.ndarray, errors: np.ndarray
                       ) -> dict[str, float]:
        nan = float("nan")
        total = float(np.nansum(requests)) if not np.isnan(requests).all() else nan
        served = total > 0
        return {
            "requests": total,
            "errors_5xx": float(np.nansum(errors)) if not math.isnan(total) else nan,
            "model_latency_p50_us": c.latency_p99_ms * 400.0 if served else nan,
            "model_latency_p99_us": c.latency_p99_ms * 1000.0 if served else nan,
            "model_latency_max_us": c.latency_p99_ms * 1500.0 if served else nan,
            "copy_cpu_p95_pct": 20.0, "copy_memory_p95_pct": 60.0,
            "copy_gpu_p95_pct": c.copy_gpu_pct if served else 0.5,
            "copy_gpu_memory_p95_pct": 70.0,
        }

    @staticmethod
    def _window_row(plan: EndpointPlan, v: VariantPlan, shape: np.ndarray,
                    requests: np.ndarray, errors: np.ndarray, instances: np.ndarray
                    ) -> dict[str, float]:
        nan = float("nan")
        # Utilisation follows load: p95 of the hourly load fraction sets the p95 utilisation.
        load_p95 = float(np.quantile(shape, 0.95)) if len(shape) else 0.0
        load_mean = float(shape.mean()) if len(shape) else 0.0

        def between(idle: float | None, peak: float | None, load: float = load_p95) -> float:
            if peak is None:
                return nan
            low = idle if idle is not None else 0.0
            return low + (peak - low) * load

        total = float(np.nansum(requests)) if not np.isnan(requests).all() else nan
        served = total > 0
        peak_rps = float(np.nanmax(requests)) / 3600.0 if served else 0.0
        mean_ms = v.latency_mean_ms if v.latency_mean_ms is not None else 1.25 * v.latency_p50_ms

        def optional(value: float | None, scale: float = 1.0) -> float:
            return nan if value is None else value * scale

        concurrency = v.concurrency_max
        if concurrency is None and served:
            concurrency = max(1.0, math.ceil(peak_rps * v.latency_p50_ms / 1000.0 * 4))
        row = {
            "requests": total,
            "errors_5xx": float(np.nansum(errors)) if not math.isnan(total) else nan,
            "model_latency_p50_us": v.latency_p50_ms * 1000.0 if served else nan,
            "model_latency_p99_us": v.latency_p99_ms * 1000.0 if served else nan,
            "model_latency_max_us": ((v.latency_max_ms or v.latency_p99_ms * 1.5) * 1000.0
                                     if served else nan),
            "cpu_p95_pct": nan if v.instance_type is None else between(v.cpu_idle_pct,
                                                                      v.cpu_peak_pct),
            "memory_p95_pct": v.memory_pct if v.memory_pct is not None else nan,
            "gpu_p95_pct": between(v.gpu_idle_pct, v.gpu_peak_pct),
            # The mean over the lookback (CPUUtilization / GPUUtilization Average): what
            # energy estimates interpolate by.
            "cpu_mean_pct": nan if v.instance_type is None else between(
                v.cpu_idle_pct, v.cpu_peak_pct, load_mean),
            "gpu_mean_pct": between(v.gpu_idle_pct, v.gpu_peak_pct, load_mean),
            "gpu_memory_p95_pct": v.gpu_memory_pct if v.gpu_memory_pct is not None else nan,
            "concurrency_max": (nan if concurrency is None or v.instance_type is None
                                else float(concurrency)),
            "cold_start_p99_us": (v.cold_start_p99_ms * 1000.0
                                  if v.cold_start_p99_ms is not None else nan),
            "cold_starts": float(v.cold_starts) if v.instance_type is None else nan,
            "serverless_concurrency_max_fraction": (
                v.serverless_concurrency_max_fraction
                if v.serverless_concurrency_max_fraction is not None else nan),
            # Every request's model time added up (ModelLatency Sum); nothing without requests.
            "model_latency_sum_us": total * mean_ms * 1000.0 if served else nan,
            # SampleCount of CPUUtilization over the publish periods: the mean instance count.
            "instance_count_mean": (float(np.nanmean(instances))
                                    if not np.isnan(instances).all() else nan),
            "model_cache_hit_ratio": optional(v.model_cache_hit_ratio),
            "model_loading_wait_avg_us": optional(v.model_loading_wait_avg_ms, 1000.0),
            "model_loading_wait_max_us": optional(v.model_loading_wait_max_ms, 1000.0),
            "loaded_models_avg": optional(v.loaded_models_avg),
            "model_unloads": optional(v.model_unloads),
        }
        if plan.missing_invocations or plan.components:
            for name in ("requests", "errors_5xx", "model_latency_p50_us",
                         "model_latency_p99_us", "model_latency_max_us", "concurrency_max",
                         "model_latency_sum_us"):
                row[name] = nan
        return row


# --- archetypes ------------------------------------------------------------------------------


def healthy_production(name: str = "checkout-ranker", **changes: object) -> EndpointPlan:
    """Busy by day, well sized (CPU p95 near the target), autoscaled, capturing data."""
    plan = EndpointPlan(
        name=name, pattern=Pattern.DIURNAL, peak_requests_per_hour=40_000,
        variants=(VariantPlan(instance_type="ml.c5.xlarge", instance_count=2, cpu_peak_pct=60.0,
                              memory_pct=62.0, autoscaling=scaling()),),
        data_capture=True)
    return _with(plan, changes)


def idle_endpoint(name: str = "forgotten-poc", **changes: object) -> EndpointPlan:
    plan = EndpointPlan(name=name, pattern=Pattern.IDLE,
                        variants=(VariantPlan(instance_count=1, cpu_peak_pct=2.0),),
                        tags={"env": "dev"})
    return _with(plan, changes)


def saturated_endpoint(name: str = "fraud-scorer", **changes: object) -> EndpointPlan:
    plan = EndpointPlan(
        name=name, pattern=Pattern.DIURNAL, peak_requests_per_hour=90_000,
        variants=(VariantPlan(instance_count=2, cpu_peak_pct=99.0, memory_pct=55.0,
                              latency_p99_ms=400.0, errors_grow_with_load=True,
                              autoscaling=scaling(2, 2)),),
        data_capture=True)
    return _with(plan, changes)


def nightly_batch(name: str = "nightly-scoring", **changes: object) -> EndpointPlan:
    plan = EndpointPlan(
        name=name, pattern=Pattern.NIGHTLY, peak_requests_per_hour=50_000,
        variants=(VariantPlan(instance_type="ml.m5.xlarge", instance_count=2, cpu_peak_pct=55.0,
                              memory_pct=50.0),),
        tags={"env": "staging"})
    return _with(plan, changes)


def bursty_endpoint(name: str = "adhoc-embeddings", **changes: object) -> EndpointPlan:
    plan = EndpointPlan(
        name=name, pattern=Pattern.BURSTY, peak_requests_per_hour=20_000,
        variants=(VariantPlan(instance_type="ml.c5.xlarge", instance_count=1, cpu_peak_pct=55.0,
                              memory_pct=50.0),),
        tags={"env": "staging"})
    return _with(plan, changes)


def business_hours_endpoint(name: str = "backoffice-classifier", **changes: object
                            ) -> EndpointPlan:
    plan = EndpointPlan(
        name=name, pattern=Pattern.BUSINESS_HOURS, peak_requests_per_hour=300,
        variants=(VariantPlan(instance_type="ml.c5.xlarge", instance_count=1, cpu_peak_pct=12.0,
                              memory_pct=20.0),),
        tags={"env": "dev"})
    return _with(plan, changes)


def _with(plan: EndpointPlan, changes: dict[str, object]) -> EndpointPlan:
    for key, value in changes.items():
        if not hasattr(plan, key):
            raise AttributeError(f"EndpointPlan has no field {key}")
        setattr(plan, key, value)
    return plan


ARCHETYPES: tuple[Callable[..., EndpointPlan], ...] = (
    healthy_production, idle_endpoint, saturated_endpoint, nightly_batch, bursty_endpoint,
    business_hours_endpoint,
)


def fleet_of(*plans: EndpointPlan, lookback_days: int = 14, seed: int = 7) -> FleetSnapshot:
    builder = FleetBuilder(lookback_days=lookback_days, seed=seed)
    for plan in plans:
        builder.add(plan)
    return builder.build()


def large_fleet(count: int = 1000, seed: int = 11) -> FleetSnapshot:
    """`count` endpoints cycling through every archetype, over three regions."""
    builder = FleetBuilder(seed=seed)
    regions = ("us-east-1", "eu-west-1", "ap-southeast-2")
    for i in range(count):
        archetype = ARCHETYPES[i % len(ARCHETYPES)]
        builder.add(archetype(name=f"ep-{i:04d}", region=regions[i % len(regions)]))
    return builder.build()
