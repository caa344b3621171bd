"""What every rule reads: the snapshot, its features, thresholds, prices and requirements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from advisors.carbon import Load, shape_footprint
from advisors.components import component_costs
from advisors.cost import CostEstimate, endpoint_monthly_cost
from advisors.features import FleetFeatures
from advisors.finding import Finding
from advisors.settings import AdvisorSettings
from advisors.variants import HourlyMatrix, VariantComparison, compare_variants, hourly_matrices
from ground.domain import EndpointSnapshot, FleetSnapshot
from ground.energy import Footprint
from ground.images import NO_WORKLOAD, Workload, workload_of
from ground.pricing import PriceBook
from ground.requirements import Environment, Requirements, RequirementsSettings, requirements_for


@dataclass
class AdvisorContext:
    fleet: FleetSnapshot
    features: FleetFeatures
    settings: AdvisorSettings
    prices: PriceBook
    requirements: Mapping[str, Requirements]
    now: dt.datetime
    _endpoints: dict[str, EndpointSnapshot] = field(default_factory=dict)
    _costs: dict[str, CostEstimate] = field(default_factory=dict)
    _component_costs: dict[str, dict[str, CostEstimate]] = field(default_factory=dict)
    _fallback: dict[str, Requirements] = field(default_factory=dict)
    _defaults: RequirementsSettings | None = None
    _comparisons: dict[str, VariantComparison | None] = field(default_factory=dict)
    _hourly: dict[str, HourlyMatrix] | None = None
    _peaks: dict[tuple[str, str], float] | None = None

    def __post_init__(self) -> None:
        self._endpoints = {e.key: e for e in self.fleet.endpoints}

    def endpoint(self, key: str) -> EndpointSnapshot:
        return self._endpoints[key]

    def workload(self, key: str, variant: str) -> Workload:
        """What the variant's containers are (image build, LLM server), read once in ground."""
        found = next((v for v in self.endpoint(key).variants if v.name == variant), None)
        if found is None or found.model is None:
            return NO_WORKLOAD
        return workload_of(found.model.containers)

    def requirements_of(self, key: str) -> Requirements:
        """The caller's requirements; the built-in defaults for an endpoint it did not resolve."""
        found = self.requirements.get(key)
        if found is not None:
            return found
        if key not in self._fallback:
            if self._defaults is None:
                self._defaults = RequirementsSettings.from_config({}, "built-in defaults")
            self._fallback[key] = requirements_for(self.endpoint(key), self._defaults)
        return self._fallback[key]

    def is_production(self, key: str) -> bool:
        return self.requirements_of(key).environment == Environment.PRODUCTION

    def current_cost(self, key: str) -> CostEstimate:
        """What the endpoint costs a month today: computed once, carried into the analysis."""
        if key not in self._costs:
            self._costs[key] = endpoint_monthly_cost(
                self.endpoint(key), self.fleet, self.prices,
                self.requirements_of(key).max_payload_mb)
        return self._costs[key]

    def footprint(self, key: str) -> Footprint | None:
        """The endpoint's estimated month as it runs (computed once, in the features)."""
        return self.features.carbon.endpoint(key)

    def variant_footprint(self, key: str, variant: str) -> Footprint | None:
        return self.features.carbon.variant(key, variant)

    def load(self, key: str, variant: str) -> Load:
        return self.features.carbon.load(key, variant)

    def shape_footprint(self, key: str, variant: str, instance_type: str | None,
                        count: float, load: Load | None = None) -> Footprint | None:
        """A proposed shape for `variant` carrying its load of today (or `load`)."""
        return shape_footprint(instance_type, count, self.endpoint(key).region,
                               self.load(key, variant) if load is None else load)

    def component_costs(self, key: str) -> dict[str, CostEstimate]:
        """Each inference component's monthly share of its instances (none: no components)."""
        if key not in self._component_costs:
            endpoint = self.endpoint(key)
            self._component_costs[key] = (component_costs(endpoint, self.fleet, self.prices)
                                          if endpoint.inference_components else {})
        return self._component_costs[key]

    def variant_comparison(self, key: str) -> VariantComparison | None:
        """The A/B or shadow comparison of a multi-variant endpoint, computed once."""
        if key not in self._comparisons:
            if self._hourly is None:
                self._hourly = hourly_matrices(self.fleet)
            self._comparisons[key] = compare_variants(self.endpoint(key), self.fleet,
                                                      self.prices, self.settings, self._hourly)
        return self._comparisons[key]

    def peak_invocations_per_instance(self, key: str, variant: str) -> float | None:
        """The busiest hour's invocations per instance per minute of one variant, from the
        hourly requests and instance counts (None without both). Several sizings of the same
        variant ask for it, so the whole fleet's are computed at once, on first use."""
        if self._peaks is None:
            self._peaks = _peak_invocations_per_instance(self.fleet)
        return self._peaks.get((key, variant))

    def comparisons(self) -> dict[str, VariantComparison]:
        """Every multi-variant endpoint's comparison (computed on first use)."""
        found = {e.key: self.variant_comparison(e.key) for e in self.fleet.endpoints
                 if len(e.variants) > 1}
        return {k: v for k, v in found.items() if v is not None}


Rule = Callable[[AdvisorContext], list[Finding]]


def _peak_invocations_per_instance(fleet: FleetSnapshot) -> dict[tuple[str, str], float]:
    """(endpoint key, variant) -> the busiest hour's invocations per instance per minute, for
    every variant with both hourly series; hours without a running instance do not count."""
    requests = fleet.metrics.hourly.get("requests")
    instances = fleet.metrics.hourly.get("instance_count")
    if requests is None or instances is None or requests.empty or instances.empty:
        return {}
    columns = requests.columns.intersection(instances.columns)
    if columns.empty:
        return {}
    calls = requests[columns].to_numpy(dtype=float)
    counts = instances.reindex(index=requests.index)[columns].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_minute = calls / np.where(counts > 0, counts, np.nan) / 60.0
    has = ~np.isnan(per_minute)
    highest = np.max(np.where(has, per_minute, -np.inf), axis=0)
    seen = np.asarray(has.any(axis=0), dtype=bool)
    return {(str(column[0]), str(column[1])): float(highest[i])
            for i, column in enumerate(columns) if seen[i]}
