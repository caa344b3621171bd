"""One frame of features over the whole fleet, computed at once with pandas and numpy.

Rules filter these frames instead of walking time series endpoint by endpoint, so an advisor pass
over a thousand endpoints stays well under a second. Two frames:

* `variants`: one row per (endpoint key, variant): what the variant runs on and what its containers
  are (`ground.images`), joined with its window statistics (utilisation already per instance,
  latency in microseconds), and the instances it is billed for (`billed_instances`: the
  time-weighted mean of an autoscaled variant). The busiest resource leaves out GPU memory for
  LLM servers, which preallocate it for their KV cache whatever the load.
* `endpoints`: one row per endpoint key: inventory facts, traffic totals over every variant (shadow
  included) and every inference component, the hourly shape (idle hours, burstiness, periodicity,
  errors against load) and the peak per-instance utilisation across variants.
* `components`: one row per (endpoint key, inference component): its copies and reservation per
  copy, joined with its window statistics (traffic, latency, per-copy utilisation).

"No data" stays NaN everywhere: it is never read as zero traffic or zero utilisation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from advisors.cost import autoscales, billed_instances
from ground.catalog import spec_for
from ground.domain import SERVING_STATUSES, FleetSnapshot
from ground.images import workload_of

# Window statistics the rules read; absent columns (no GPU in the fleet...) become NaN.
WINDOW_COLUMNS = (
    "requests", "errors_5xx", "model_latency_p50_us", "model_latency_p99_us",
    "model_latency_max_us", "cpu_p95_pct", "memory_p95_pct", "gpu_p95_pct", "gpu_memory_p95_pct",
    "concurrency_max", "cold_start_p99_us", "cold_starts", "serverless_concurrency_max_fraction",
    "backlog_max", "instance_count_mean", "model_latency_sum_us", "model_cache_hit_ratio",
    "model_loading_wait_avg_us", "model_loading_wait_max_us", "model_unloads",
    "loaded_models_avg",
)
# Per-instance utilisation percentages; the busiest of them decides sizing.
UTILISATION_COLUMNS = ("cpu_p95_pct", "memory_p95_pct", "gpu_p95_pct", "gpu_memory_p95_pct")


COMPONENT_WINDOW_COLUMNS = (
    "requests", "errors_5xx", "model_latency_p50_us", "model_latency_p99_us",
    "model_latency_max_us", "copy_cpu_p95_pct", "copy_memory_p95_pct", "copy_gpu_p95_pct",
    "copy_gpu_memory_p95_pct",
)
_COMPONENT_ATTRIBUTES = (
    "region", "variant", "status", "age_hours", "current_copies", "desired_copies",
    "accelerators", "cpu_cores", "memory_mb", "adapter", "autoscaling_target",
    "autoscaling_scales",
)


def empty_component_frame() -> pd.DataFrame:
    index = pd.MultiIndex.from_arrays([[], []], names=["endpoint", "component"])
    return pd.DataFrame({name: [] for name in (*_COMPONENT_ATTRIBUTES,
                                               *COMPONENT_WINDOW_COLUMNS)}, index=index)


@dataclass(frozen=True)
class FleetFeatures:
    endpoints: pd.DataFrame
    variants: pd.DataFrame
    lookback_hours: float
    now: dt.datetime
    components: pd.DataFrame = field(default_factory=empty_component_frame)


_VARIANT_ATTRIBUTES = (
    "region", "instance_type", "instance_count", "shadow", "serverless", "serverless_memory_mb",
    "serverless_max_concurrency", "vcpu", "memory_gib", "gpu_count", "has_gpu",
    "has_accelerator", "unknown_type", "accelerator", "llm_server", "image_build",
    "autoscaling_target", "autoscaling_scales", "autoscaling_policies", "vpc",
    "network_isolation", "billed_instances", "time_weighted",
)


def _variant_rows(fleet: FleetSnapshot) -> pd.DataFrame:
    columns: dict[str, list[Any]] = {name: [] for name in _VARIANT_ATTRIBUTES}
    index: list[tuple[str, str]] = []
    for endpoint in fleet.endpoints:
        for variant in endpoint.variants:
            spec = spec_for(variant.instance_type)
            scaling = variant.autoscaling
            serverless = variant.serverless
            workload = workload_of(variant.model.containers if variant.model else ())
            # An instance type the catalogue does not know is unknown, never a CPU type.
            unknown = spec is None and variant.instance_type is not None
            billed = billed_instances(endpoint, variant, fleet)
            index.append((endpoint.key, variant.name))
            values = (
                endpoint.region, variant.instance_type, variant.current_instance_count,
                variant.shadow, serverless is not None,
                serverless.memory_mb if serverless else np.nan,
                serverless.max_concurrency if serverless else np.nan,
                spec.vcpu if spec else np.nan, spec.memory_gib if spec else np.nan,
                spec.gpu_count if spec else np.nan, bool(spec and spec.has_gpu),
                bool(spec and spec.has_accelerator), unknown,
                spec.accelerator.value if spec else None,
                workload.llm_server.value if workload.llm_server else None,
                workload.build.value, scaling is not None, autoscales(variant),
                len(scaling.policies) if scaling else 0,
                bool(variant.model and variant.model.vpc),
                bool(variant.model and variant.model.network_isolation),
                billed.count, billed.time_weighted,
            )
            for name, value in zip(_VARIANT_ATTRIBUTES, values, strict=True):
                columns[name].append(value)
    multi = pd.MultiIndex.from_tuples(index, names=["endpoint", "variant"]) if index else \
        pd.MultiIndex.from_arrays([[], []], names=["endpoint", "variant"])
    return pd.DataFrame(columns, index=multi)


def variant_features(fleet: FleetSnapshot) -> pd.DataFrame:
    inventory = _variant_rows(fleet)
    window = fleet.metrics.window.reindex(columns=list(WINDOW_COLUMNS)).astype("float64")
    stats = window.reindex(inventory.index) if len(window.index) else pd.DataFrame(
        np.nan, index=inventory.index, columns=list(WINDOW_COLUMNS))
    frame = pd.concat([inventory, stats], axis=1)
    utilisation = frame[list(UTILISATION_COLUMNS)].copy()
    # LLM servers fill GPU memory with their KV cache at start-up: not a saturation signal.
    utilisation.loc[frame["llm_server"].notna().to_numpy(), "gpu_memory_p95_pct"] = np.nan
    frame["busiest_pct"] = utilisation.max(axis=1, skipna=True)
    # idxmax needs rows: an empty fleet gets an empty column of the right index.
    busiest = (utilisation.fillna(-1.0).idxmax(axis=1) if len(frame.index)
               else pd.Series([], index=frame.index, dtype=object))
    frame["busiest_resource"] = busiest.where(frame["busiest_pct"].notna())
    return frame


def component_features(fleet: FleetSnapshot, now: dt.datetime) -> pd.DataFrame:
    """One row per inference component, its window statistics joined ("no data" stays NaN)."""
    columns: dict[str, list[Any]] = {name: [] for name in _COMPONENT_ATTRIBUTES}
    index: list[tuple[str, str]] = []
    window_keys: list[tuple[str, str]] = []
    for endpoint in fleet.endpoints:
        for component in endpoint.inference_components:
            scaling = component.autoscaling
            resources = component.resources
            index.append((endpoint.key, component.name))
            window_keys.append((endpoint.key, component.column))
            values = (
                endpoint.region, component.variant, component.status,
                (now - component.creation_time).total_seconds() / 3600.0,
                component.current_copies, component.desired_copies,
                resources.accelerators if resources.accelerators is not None else np.nan,
                resources.cpu_cores if resources.cpu_cores is not None else np.nan,
                resources.min_memory_mb if resources.min_memory_mb is not None else np.nan,
                component.base_component is not None, scaling is not None,
                # min = max cannot move, whatever its policies say.
                bool(scaling and scaling.scales and scaling.max_capacity > scaling.min_capacity),
            )
            for name, value in zip(_COMPONENT_ATTRIBUTES, values, strict=True):
                columns[name].append(value)
    if not index:
        return empty_component_frame()
    multi = pd.MultiIndex.from_tuples(index, names=["endpoint", "component"])
    inventory = pd.DataFrame(columns, index=multi)
    window = fleet.metrics.window.reindex(columns=list(COMPONENT_WINDOW_COLUMNS)).astype(
        "float64")
    stats = (window.reindex(pd.MultiIndex.from_tuples(window_keys)) if len(window.index)
             else pd.DataFrame(np.nan, index=range(len(index)),
                               columns=list(COMPONENT_WINDOW_COLUMNS)))
    stats.index = multi
    return pd.concat([inventory, stats], axis=1)


def _with_components(frame: pd.DataFrame, components: pd.DataFrame) -> pd.DataFrame:
    """An endpoint's traffic is its variants' plus its components' (invocation metrics of
    components are published per component only): sum every source before calling it idle."""
    frame["inference_components"] = 0
    if components.empty:
        return frame
    by_endpoint = components.groupby(level="endpoint", sort=False)
    counted = by_endpoint[["requests", "errors_5xx"]].sum(min_count=1).reindex(frame.index)
    for column in ("requests", "errors_5xx"):
        frame[column] = pd.concat([frame[column], counted[column]], axis=1).sum(
            axis=1, min_count=1)
    slowest = by_endpoint[["model_latency_p50_us", "model_latency_p99_us",
                           "model_latency_max_us"]].max().reindex(frame.index)
    for column in slowest.columns:
        frame[column] = pd.concat([frame[column], slowest[column]], axis=1).max(axis=1)
    frame["inference_components"] = by_endpoint.size().reindex(frame.index).fillna(0).astype(
        "int64")
    return frame


_ENDPOINT_ATTRIBUTES = (
    "region", "name", "deployment", "status", "age_hours", "serving_variant_count",
    "shadow_variant_count", "serverless", "instance_type", "instance_count", "data_capture",
    "monitor_schedules", "image", "containers",
)


def _inventory_rows(fleet: FleetSnapshot, now: dt.datetime) -> pd.DataFrame:
    columns: dict[str, list[Any]] = {name: [] for name in _ENDPOINT_ATTRIBUTES}
    keys: list[str] = []
    for endpoint in fleet.endpoints:
        serving = endpoint.serving_variants
        instance_variants = [v for v in serving if v.serverless is None]
        largest = max(instance_variants, key=lambda v: v.current_instance_count, default=None)
        first_model = next((v.model for v in serving if v.model is not None), None)
        image = first_model.containers[0].image if first_model and first_model.containers else ""
        keys.append(endpoint.key)
        values = (
            endpoint.region, endpoint.name, endpoint.deployment.value, endpoint.status,
            (now - endpoint.creation_time).total_seconds() / 3600.0, len(serving),
            len(endpoint.variants) - len(serving),
            any(v.serverless is not None for v in endpoint.variants),
            largest.instance_type if largest else None,
            sum(v.current_instance_count for v in instance_variants),
            endpoint.data_capture.enabled, len(endpoint.monitor.schedules), image,
            len(first_model.containers) if first_model else 0,
        )
        for name, value in zip(_ENDPOINT_ATTRIBUTES, values, strict=True):
            columns[name].append(value)
    frame = pd.DataFrame(columns, index=pd.Index(keys, name="key", dtype=object))
    return frame.astype({"age_hours": "float64", "serving_variant_count": "int64",
                         "shadow_variant_count": "int64", "instance_count": "int64",
                         "monitor_schedules": "int64", "serverless": bool,
                         "data_capture": bool})


def _per_endpoint(frame: pd.DataFrame | None, index: pd.Index) -> pd.DataFrame:
    """Hourly series summed over variants (shadow included): hours x endpoint keys, NaN kept."""
    if frame is None or frame.empty:
        return pd.DataFrame(np.nan, index=pd.DatetimeIndex([], tz="UTC"), columns=index)
    summed = frame.T.groupby(level=0).sum(min_count=1).T
    return summed.reindex(columns=index)


def _hourly_shape(fleet: FleetSnapshot, index: pd.Index, hours_of_day: int,
                  busy_fraction: float) -> pd.DataFrame:
    requests = _per_endpoint(fleet.metrics.hourly.get("requests"), index)
    errors = _per_endpoint(fleet.metrics.hourly.get("errors_5xx"), index).reindex(
        index=requests.index)
    values = requests.to_numpy(dtype="float64")
    observed = ~np.isnan(values)
    active = observed & (values > 0)
    hours_observed = observed.sum(axis=0)
    active_hours = active.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.where(hours_observed > 0, np.nansum(values, axis=0), np.nan)
        mean = total / hours_observed
        # `initial` lets a fleet without any hourly data through (zero rows).
        peak = np.where(hours_observed > 0,
                        np.max(np.where(observed, values, -np.inf), axis=0, initial=-np.inf),
                        np.nan)
        idle_fraction = 1.0 - active_hours / hours_observed

        # Periodicity: the share of traffic that falls into the endpoint's busiest hours of day,
        # and the share of days that saw any traffic at all.
        stamps = pd.DatetimeIndex(requests.index)
        filled = np.nan_to_num(values, nan=0.0)
        by_hour = np.zeros((24, values.shape[1]))
        np.add.at(by_hour, stamps.hour.to_numpy(), filled)
        top_hours = np.sort(by_hour, axis=0)[::-1][:hours_of_day].sum(axis=0)
        hour_of_day_share = top_hours / total
        day_codes, _ = pd.factorize(stamps.normalize())
        days = int(day_codes.max()) + 1 if len(day_codes) else 0
        by_day = np.zeros((days, values.shape[1]))
        day_observed = np.zeros((days, values.shape[1]))
        np.add.at(by_day, day_codes, filled)
        np.add.at(day_observed, day_codes, observed.astype("float64"))
        days_observed = (day_observed > 0).sum(axis=0)
        active_day_fraction = ((by_day > 0) & (day_observed > 0)).sum(axis=0) / days_observed

        # Errors against load: the 5XX ratio in the busiest hours against the other hours.
        # The busy threshold is the (1 - busy_fraction) quantile of the hours with traffic,
        # read from one sort of the whole matrix (NaN sorts last) instead of a quantile per
        # column.
        ranked = np.sort(np.where(active, values, np.nan), axis=0)
        position = np.floor((active_hours - 1) * (1.0 - busy_fraction)).astype(int)
        busy_threshold = np.where(
            active_hours > 0,
            ranked[np.clip(position, 0, None), np.arange(values.shape[1])] if len(ranked)
            else np.nan, np.nan)
        busy = active & (values >= busy_threshold[None, :])
        quiet = active & ~busy
        err = np.nan_to_num(errors.to_numpy(dtype="float64"), nan=0.0)
        busy_error_ratio = (err * busy).sum(axis=0) / (filled * busy).sum(axis=0)
        quiet_error_ratio = (err * quiet).sum(axis=0) / (filled * quiet).sum(axis=0)
        burstiness = peak / mean  # peak hour over mean hour
    return pd.DataFrame({
        "hourly_requests_total": total,
        "hours_observed": hours_observed,
        "active_hours": active_hours,
        "idle_hour_fraction": idle_fraction,
        "mean_requests_per_hour": mean,
        "peak_requests_per_hour": peak,
        "burstiness": burstiness,
        "hour_of_day_share": hour_of_day_share,
        "active_day_fraction": active_day_fraction,
        "busy_hour_error_ratio": busy_error_ratio,
        "quiet_hour_error_ratio": quiet_error_ratio,
    }, index=index)


def endpoint_features(fleet: FleetSnapshot, variants: pd.DataFrame, now: dt.datetime,
                      hours_of_day: int = 4, busy_fraction: float = 0.1,
                      components: pd.DataFrame | None = None) -> pd.DataFrame:
    frame = _inventory_rows(fleet, now)
    index = frame.index
    lookback_hours = fleet.lookback_days * 24.0
    frame["too_new"] = frame["age_hours"] < lookback_hours
    frame["serving"] = frame["status"].isin(SERVING_STATUSES)

    by_endpoint = variants.groupby(level="endpoint", sort=False)
    grouped_all = pd.DataFrame({
        # Every variant, shadow included, counts towards traffic: idle means nobody at all.
        "requests": by_endpoint["requests"].sum(min_count=1),
        "errors_5xx": by_endpoint["errors_5xx"].sum(min_count=1),
        "has_gpu": by_endpoint["has_gpu"].any(),
        "has_accelerator": by_endpoint["has_accelerator"].any(),
        "unknown_type": by_endpoint["unknown_type"].any(),
        "vpc": by_endpoint["vpc"].any(),
        "network_isolation": by_endpoint["network_isolation"].any(),
    }).reindex(index)
    serving_rows = variants[~variants["shadow"].astype(bool)]
    serving_by = serving_rows.groupby(level="endpoint", sort=False)
    grouped_serving = serving_by[[
        "model_latency_p50_us", "model_latency_p99_us", "model_latency_max_us",
        *UTILISATION_COLUMNS, "busiest_pct", "concurrency_max", "cold_start_p99_us",
        "cold_starts", "serverless_concurrency_max_fraction", "backlog_max",
        "model_latency_sum_us",
    ]].max().reindex(index)
    grouped_serving["memory_used_gib"] = (
        serving_rows["memory_p95_pct"] / 100.0 * serving_rows["memory_gib"]
    ).groupby(level="endpoint").max().reindex(index)
    # CPU work spreads over instances: busy vCPUs add up across instances and variants (an
    # autoscaled variant's instances counted time-weighted, as it is billed).
    grouped_serving["busy_vcpu"] = (
        serving_rows["cpu_p95_pct"] / 100.0 * serving_rows["vcpu"]
        * serving_rows["billed_instances"]
    ).groupby(level="endpoint").sum(min_count=1).reindex(index)
    frame = frame.join(grouped_all).join(grouped_serving)
    frame = _with_components(frame, components if components is not None
                             else component_features(fleet, now))
    for column in ("has_gpu", "has_accelerator", "unknown_type", "vpc", "network_isolation"):
        frame[column] = frame[column].fillna(False).astype(bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["error_ratio"] = frame["errors_5xx"] / frame["requests"].where(
            frame["requests"] > 0)
    frame = frame.join(_hourly_shape(fleet, index, hours_of_day, busy_fraction))
    return frame


def build_features(fleet: FleetSnapshot, now: dt.datetime | None = None,
                   hours_of_day: int = 4, busy_fraction: float = 0.1) -> FleetFeatures:
    at = now or fleet.collected_at
    variants = variant_features(fleet)
    components = component_features(fleet, at)
    endpoints = endpoint_features(fleet, variants, at, hours_of_day, busy_fraction, components)
    return FleetFeatures(endpoints=endpoints, variants=variants,
                         lookback_hours=fleet.lookback_days * 24.0, now=at,
                         components=components)
