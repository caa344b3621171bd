"""The measures of the whole fleet, computed once per snapshot with pandas and numpy.

Every consumer reads them from here: the rules filter these frames instead of walking time series
endpoint by endpoint (an advisor pass over a thousand endpoints stays well under a second), the
analysis carries them, the profile takes its traffic, errors, latency and busiest resource from
them, and the dashboard shows them. None of them recomputes a measure from the raw series.
Three frames:

* `variants`: one row per (endpoint key, variant): what the variant runs on and what its containers
  are (`ground.images`), joined with its window statistics (utilisation already per instance,
  latency in microseconds), the instances it is billed for (`billed_instances`: the time-weighted
  mean of an autoscaled variant) and its busiest resource.
* `endpoints`: one row per endpoint key: inventory facts, traffic over what answers callers (its
  serving variants and inference components), the hourly shape and traffic pattern
  (`advisors.traffic`) and the busiest resource of its serving variants.
* `components`: one row per (endpoint key, inference component): its copies and reservation per
  copy, joined with its window statistics (traffic, latency, per-copy utilisation).
* `carbon`: the estimated energy and kgCO2e a month of every variant and endpoint as it runs
  (`advisors.carbon`), also joined to `endpoints` as `energy_kwh_month` and
  `carbon_kgco2e_month` (with `_low` / `_high`); the mean use of the capacity paid for is
  joined as `capacity_cpu_mean_pct` and `capacity_gpu_mean_pct`.

What counts as the endpoint's traffic, and why: the serving variants and the inference
components answer the callers. A shadow variant receives copies of (some of) the production
requests and its answers are dropped, so its requests would count each call twice and its 5XX
errors are no caller's errors: `requests`, `errors_5xx`, `error_ratio`, `requests_per_day` and
the hourly shape count what callers saw, and the finding, the profile and the dashboard all say
that 5XX rate. A shadow variant's own errors are the shadow test's business (`advisors.variants`).
Only `requests_all_variants` adds the shadow variants: an endpoint is idle when nothing at all,
shadow included, was called.

The busiest resource is the highest per-instance utilisation (p95) of CPU, memory, GPU and GPU
memory; GPU memory is left out for LLM servers, which preallocate it for their KV cache whatever
the load. It is saturated at `saturation_pct` (`advisors.settings`), the one saturation threshold.

"No data" stays NaN everywhere: it is never read as zero traffic or zero utilisation.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from advisors.carbon import FleetCarbon, empty_fleet_carbon, fleet_carbon
from advisors.cost import autoscales, billed_instances, observed_hours
from advisors.settings import AdvisorSettings
from advisors.traffic import hourly_shape
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
    "loaded_models_avg", "cpu_mean_pct", "gpu_mean_pct",
    # What the inference components' copies reserve of the fullest instance (the pane shows it).
    "gpu_reservation_max_pct", "cpu_reservation_max_pct", "memory_reservation_max_pct",
)
# Per-instance utilisation percentages; the busiest of them decides sizing.
UTILISATION_COLUMNS = ("cpu_p95_pct", "memory_p95_pct", "gpu_p95_pct", "gpu_memory_p95_pct")
# Per-copy utilisation of an inference component (percent of what one copy reserves).
COPY_UTILISATION_COLUMNS = ("copy_cpu_p95_pct", "copy_memory_p95_pct", "copy_gpu_p95_pct",
                            "copy_gpu_memory_p95_pct")
# Every utilisation column as people say it, and as a cell shows it: column -> (name, label).
RESOURCES: dict[str, tuple[str, str]] = {
    "cpu_p95_pct": ("CPU", "cpu"), "memory_p95_pct": ("memory", "mem"),
    "gpu_p95_pct": ("GPU", "gpu"), "gpu_memory_p95_pct": ("GPU memory", "gmem"),
    "copy_cpu_p95_pct": ("CPU", "cpu"), "copy_memory_p95_pct": ("memory", "mem"),
    "copy_gpu_p95_pct": ("GPU", "gpu"), "copy_gpu_memory_p95_pct": ("GPU memory", "gmem"),
}
# GPU memory, which LLM servers fill at start-up whatever the load.
_PREALLOCATED = frozenset({"gpu_memory_p95_pct", "copy_gpu_memory_p95_pct"})


COMPONENT_WINDOW_COLUMNS = (
    "requests", "errors_5xx", "model_latency_p50_us", "model_latency_p99_us",
    "model_latency_max_us", *COPY_UTILISATION_COLUMNS,
)
_COMPONENT_ATTRIBUTES = (
    "region", "variant", "status", "age_hours", "current_copies", "desired_copies",
    "accelerators", "cpu_cores", "memory_mb", "adapter", "autoscaling_target",
    "autoscaling_scales", "llm_server",
)
_COMPONENT_MEASURES = ("busiest_pct", "busiest_resource", "saturated", "error_ratio",
                       "requests_per_day")


def empty_component_frame() -> pd.DataFrame:
    index = pd.MultiIndex.from_arrays([[], []], names=["endpoint", "component"])
    return pd.DataFrame({name: [] for name in (*_COMPONENT_ATTRIBUTES,
                                               *COMPONENT_WINDOW_COLUMNS,
                                               *_COMPONENT_MEASURES)}, index=index)


def measured(value: Any) -> float | None:
    """A frame cell as a float, None for NaN/None: "no data" is never a number."""
    if value is None:
        return None
    result = float(value)
    return None if math.isnan(result) else result


@dataclass(frozen=True, eq=False)
class FleetFeatures:
    """The three frames of one snapshot, and the settings they were computed with (equal only
    to itself: frames have no single truth value)."""

    endpoints: pd.DataFrame
    variants: pd.DataFrame
    lookback_hours: float
    now: dt.datetime
    components: pd.DataFrame = field(default_factory=empty_component_frame)
    carbon: FleetCarbon = field(default_factory=empty_fleet_carbon)
    settings: AdvisorSettings = field(default_factory=AdvisorSettings)
    # Rows as dictionaries, made on first use: a label lookup on a frame costs far more.
    _rows: dict[str, dict[Any, dict[str, Any]]] = field(default_factory=dict, repr=False,
                                                       compare=False)

    def _row(self, frame: str, label: Any) -> dict[str, Any] | None:
        rows = self._rows.get(frame)
        if rows is None:
            rows = self._rows[frame] = getattr(self, frame).to_dict("index")
        return rows.get(label)

    def endpoint(self, key: str) -> dict[str, Any] | None:
        """One endpoint's measures (None: the endpoint is not in this snapshot)."""
        return self._row("endpoints", key)

    def variant(self, key: str, name: str) -> dict[str, Any] | None:
        return self._row("variants", (key, name))

    def component(self, key: str, name: str) -> dict[str, Any] | None:
        return self._row("components", (key, name))


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
            # On an inference-component endpoint the components' models fill the instances:
            # an LLM server among them preallocates the variant's GPU memory just the same.
            server = workload.llm_server or next(
                (w.llm_server for c in endpoint.components_on(variant.name)
                 if (w := workload_of(c.model.containers if c.model else ())).llm_server),
                None)
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
                server.value if server else None,
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


def _with_busiest(frame: pd.DataFrame, columns: tuple[str, ...], saturation_pct: float) -> None:
    """`busiest_pct`, `busiest_resource` (a column of `columns`) and `saturated`, in place."""
    utilisation = frame[list(columns)].copy()
    # LLM servers fill GPU memory with their KV cache at start-up: not a load signal.
    llm = frame["llm_server"].notna().to_numpy()
    for column in columns:
        if column in _PREALLOCATED:
            utilisation.loc[llm, column] = np.nan
    frame["busiest_pct"] = utilisation.max(axis=1, skipna=True)
    # idxmax needs rows: an empty fleet gets an empty column of the right index.
    busiest = (utilisation.fillna(-1.0).idxmax(axis=1) if len(frame.index)
               else pd.Series([], index=frame.index, dtype=object))
    frame["busiest_resource"] = busiest.where(frame["busiest_pct"].notna())
    frame["saturated"] = frame["busiest_pct"] >= saturation_pct


def variant_features(fleet: FleetSnapshot, settings: AdvisorSettings | None = None
                     ) -> pd.DataFrame:
    inventory = _variant_rows(fleet)
    window = fleet.metrics.window.reindex(columns=list(WINDOW_COLUMNS)).astype("float64")
    stats = window.reindex(inventory.index) if len(window.index) else pd.DataFrame(
        np.nan, index=inventory.index, columns=list(WINDOW_COLUMNS))
    frame = pd.concat([inventory, stats], axis=1)
    _with_busiest(frame, UTILISATION_COLUMNS, (settings or AdvisorSettings()).saturation_pct)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["error_ratio"] = frame["errors_5xx"] / frame["requests"].where(
            frame["requests"] > 0)
    return frame


def component_features(fleet: FleetSnapshot, now: dt.datetime,
                       settings: AdvisorSettings | None = None) -> pd.DataFrame:
    """One row per inference component, its window statistics joined ("no data" stays NaN)."""
    columns: dict[str, list[Any]] = {name: [] for name in _COMPONENT_ATTRIBUTES}
    index: list[tuple[str, str]] = []
    window_keys: list[tuple[str, str]] = []
    hours: list[float] = []
    for endpoint in fleet.endpoints:
        covered = observed_hours(endpoint, fleet) if endpoint.inference_components else 0.0
        for component in endpoint.inference_components:
            scaling = component.autoscaling
            resources = component.resources
            workload = workload_of(component.model.containers if component.model else ())
            index.append((endpoint.key, component.name))
            window_keys.append((endpoint.key, component.column))
            hours.append(covered)
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
                workload.llm_server.value if workload.llm_server else None,
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
    frame = pd.concat([inventory, stats], axis=1)
    _with_busiest(frame, COPY_UTILISATION_COLUMNS, (settings or AdvisorSettings()).saturation_pct)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["error_ratio"] = frame["errors_5xx"] / frame["requests"].where(
            frame["requests"] > 0)
    frame["requests_per_day"] = frame["requests"] / np.asarray(hours) * 24.0
    return frame


def _with_components(frame: pd.DataFrame, components: pd.DataFrame) -> pd.DataFrame:
    """An endpoint's traffic is its variants' plus its components' (invocation metrics of
    components are published per component only): sum every source before calling it idle."""
    frame["inference_components"] = 0
    if components.empty:
        return frame
    by_endpoint = components.groupby(level="endpoint", sort=False)
    counted = by_endpoint[["requests", "errors_5xx"]].sum(min_count=1).reindex(frame.index)
    counted["requests_all_variants"] = counted["requests"]
    for column in ("requests", "errors_5xx", "requests_all_variants"):
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
    "monitor_schedules", "image", "containers", "observed_hours", "account",
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
            observed_hours(endpoint, fleet),
            # "" for a single-account session: a grouping key, never across accounts.
            endpoint.account or "",
        )
        for name, value in zip(_ENDPOINT_ATTRIBUTES, values, strict=True):
            columns[name].append(value)
    frame = pd.DataFrame(columns, index=pd.Index(keys, name="key", dtype=object))
    return frame.astype({"age_hours": "float64", "serving_variant_count": "int64",
                         "shadow_variant_count": "int64", "instance_count": "int64",
                         "monitor_schedules": "int64", "serverless": bool,
                         "data_capture": bool, "observed_hours": "float64"})


def _serving_hourly(fleet: FleetSnapshot, series: str, index: pd.Index,
                    shadows: frozenset[tuple[str, str]]) -> pd.DataFrame | None:
    """Hourly series summed over what answers callers (serving variants and inference
    components, never a shadow variant): hours x endpoint keys, NaN kept."""
    frame = fleet.metrics.hourly.get(series)
    if frame is None or frame.empty:
        return None
    if shadows:
        keep = np.array([tuple(column) not in shadows for column in frame.columns], dtype=bool)
        frame = frame.iloc[:, keep]
    summed = frame.T.groupby(level=0).sum(min_count=1).T
    return summed.reindex(columns=index)


def _busiest_of_endpoints(serving_rows: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """The busiest resource over each endpoint's serving variants, and the variant it is on."""
    known = serving_rows[serving_rows["busiest_pct"].notna()]
    top = known.sort_values("busiest_pct", ascending=False, kind="stable").groupby(
        level="endpoint", sort=False).head(1)
    return pd.DataFrame({
        "busiest_pct": top["busiest_pct"].to_numpy(),
        "busiest_resource": top["busiest_resource"].to_numpy(),
        "busiest_variant": top.index.get_level_values("variant"),
    }, index=pd.Index(top.index.get_level_values("endpoint"), dtype=object)).reindex(index)


def endpoint_features(fleet: FleetSnapshot, variants: pd.DataFrame, now: dt.datetime,
                      settings: AdvisorSettings | None = None,
                      components: pd.DataFrame | None = None) -> pd.DataFrame:
    s = settings or AdvisorSettings()
    frame = _inventory_rows(fleet, now)
    index = frame.index
    lookback_hours = fleet.lookback_days * 24.0
    frame["too_new"] = frame["age_hours"] < lookback_hours
    frame["serving"] = frame["status"].isin(SERVING_STATUSES)
    window = fleet.metrics.window
    measured_keys = (set() if window.empty
                     else {str(k) for k in window.index.get_level_values(0)})
    # Whether CloudWatch answered for this endpoint at all: until then every cell is pending.
    frame["window_measured"] = [key in measured_keys for key in index]

    by_endpoint = variants.groupby(level="endpoint", sort=False)
    grouped_all = pd.DataFrame({
        # Anyone at all, shadow variants included: only none of them makes an endpoint idle.
        "requests_all_variants": by_endpoint["requests"].sum(min_count=1),
        "has_gpu": by_endpoint["has_gpu"].any(),
        "has_accelerator": by_endpoint["has_accelerator"].any(),
        "unknown_type": by_endpoint["unknown_type"].any(),
        "vpc": by_endpoint["vpc"].any(),
        "network_isolation": by_endpoint["network_isolation"].any(),
    }).reindex(index)
    serving_rows = variants[~variants["shadow"].astype(bool)]
    serving_by = serving_rows.groupby(level="endpoint", sort=False)
    grouped_serving = serving_by[["requests", "errors_5xx"]].sum(min_count=1).reindex(index)
    peaks = serving_by[[
        "model_latency_p50_us", "model_latency_p99_us", "model_latency_max_us",
        *UTILISATION_COLUMNS, "concurrency_max", "cold_start_p99_us",
        "cold_starts", "serverless_concurrency_max_fraction", "backlog_max",
        "model_latency_sum_us",
    ]].max().reindex(index)
    grouped_serving = grouped_serving.join(peaks).join(_busiest_of_endpoints(serving_rows, index))
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
    frame["saturated"] = frame["busiest_pct"] >= s.saturation_pct
    frame = _with_components(frame, components if components is not None
                             else component_features(fleet, now, s))
    for column in ("has_gpu", "has_accelerator", "unknown_type", "vpc", "network_isolation"):
        frame[column] = frame[column].fillna(False).astype(bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["error_ratio"] = frame["errors_5xx"] / frame["requests"].where(
            frame["requests"] > 0)
    frame["requests_per_day"] = frame["requests"] / frame["observed_hours"] * 24.0
    shadows = frozenset((e.key, v.name) for e in fleet.endpoints for v in e.variants
                        if v.shadow)
    frame = frame.join(hourly_shape(_serving_hourly(fleet, "requests", index, shadows),
                                    _serving_hourly(fleet, "errors_5xx", index, shadows),
                                    index, s))
    return frame


def build_features(fleet: FleetSnapshot, now: dt.datetime | None = None,
                   settings: AdvisorSettings | None = None) -> FleetFeatures:
    at = now or fleet.collected_at
    s = settings or AdvisorSettings()
    variants = variant_features(fleet, s)
    components = component_features(fleet, at, s)
    endpoints = endpoint_features(fleet, variants, at, s, components)
    carbon = fleet_carbon(fleet)
    endpoints = endpoints.join(_carbon_columns(carbon, endpoints.index)).join(
        _capacity_columns(variants, endpoints.index))
    return FleetFeatures(endpoints=endpoints, variants=variants,
                         lookback_hours=fleet.lookback_days * 24.0, now=at,
                         components=components, carbon=carbon, settings=s)


def _carbon_columns(carbon: FleetCarbon, index: pd.Index) -> pd.DataFrame:
    """Each endpoint's estimated month (NaN: unknown, never zero)."""
    names = ("energy_kwh_month", "carbon_kgco2e_month", "carbon_kgco2e_low",
             "carbon_kgco2e_high")
    values: dict[str, list[float]] = {name: [] for name in names}
    for key in index:
        found = carbon.endpoint(str(key))
        row = ((found.kwh, found.kgco2e, found.kgco2e_low, found.kgco2e_high) if found
               else (np.nan, np.nan, np.nan, np.nan))
        for name, value in zip(names, row, strict=True):
            values[name].append(value)
    return pd.DataFrame(values, index=index, dtype="float64")


def _capacity_columns(variants: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Mean use of the capacity paid for, per endpoint: the CPU and GPU means over the lookback
    (percent per instance), weighted by the vCPUs (GPUs) of the billed instances of every serving
    instance-based variant (NaN: nothing measured). Sustainability maturity reads them."""
    serving = variants[~variants["shadow"].astype(bool) & ~variants["serverless"].astype(bool)]
    gpus = serving["gpu_count"].where(serving["has_gpu"].astype(bool), 0.0)
    columns: dict[str, pd.Series] = {}
    for name, units in (("cpu", serving["vcpu"]), ("gpu", gpus)):
        mean = serving[f"{name}_mean_pct"].astype("float64")
        weight = (units.astype("float64") * serving["billed_instances"].astype("float64")).where(
            mean.notna() & (units > 0))
        if len(serving.index):
            total = (mean * weight).groupby(level="endpoint").sum(min_count=1)
            weights = weight.groupby(level="endpoint").sum(min_count=1)
            columns[f"capacity_{name}_mean_pct"] = (total / weights.where(weights > 0)
                                                    ).reindex(index)
        else:
            columns[f"capacity_{name}_mean_pct"] = pd.Series(np.nan, index=index)
    return pd.DataFrame(columns, index=index, dtype="float64")
