"""From a fleet snapshot to what sagetop advises: findings, costs, profiles and maturity.

One `Analyst` per session holds the validated settings, the price book and the user's decisions
on suggested changes; `analyse()` is a pure function of a snapshot and those, shared by the report,
the snapshot export and the dashboard. Every suggestion is accepted until the user rejects it, so
a headless report shows the target profile sagetop proposes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from advisors.components import component_costs
from advisors.cost import CostEstimate, endpoint_monthly_cost
from advisors.finding import Finding, ProfileChange
from advisors.opinions import OpinionsSummary, RecommenderComparison, VerdictComparison
from advisors.registry import advise
from advisors.settings import AdvisorSettings
from advisors.variants import VariantComparison
from ground.atomic import write_files_atomically
from ground.config import SagetopConfig
from ground.domain import EndpointSnapshot, FleetSnapshot
from ground.energy import Footprint, coefficients
from ground.pricing import PriceBook
from ground.requirements import Requirements, RequirementsSettings, requirements_for
from pipeline.export_guard import refuse_export
from profiles.build import change_id, current_profile, target_profile
from profiles.files import model_to_yaml, profile_to_yaml
from profiles.maturity import Maturity, MaturitySettings, Pillar, assess
from profiles.model import MLProfile
from profiles.rationale import render_rationale
from profiles.snapshot import (
    SUMMARY_MARKDOWN,
    SUMMARY_YAML,
    endpoint_paths,
    fleet_summary,
    ranked_changes,
    summary_markdown,
)


@dataclass(frozen=True)
class SuggestedChange:
    change_id: str
    finding: Finding
    change: ProfileChange
    accepted: bool


@dataclass(frozen=True)
class EndpointAnalysis:
    """Findings and costs at once; the profiles and their maturity when first asked for.

    Building a profile takes milliseconds (traffic classification, deep copies): for thousands
    of endpoints that is seconds the fleet table does not need, so they wait for the pane, the
    export or the report.
    """

    key: str
    requirements: Requirements
    findings: tuple[Finding, ...]  # worst first
    monthly_cost_usd: float | None
    cost_source: str
    changes: tuple[SuggestedChange, ...]
    _endpoint: EndpointSnapshot = field(repr=False)
    _fleet: FleetSnapshot = field(repr=False)
    _prices: PriceBook = field(repr=False)
    _maturity_settings: MaturitySettings = field(repr=False)
    # Experiments and second opinions (advisors' comparisons, carried, never recomputed).
    comparison: VariantComparison | None = None  # A/B or shadow test
    recommender: tuple[RecommenderComparison, ...] = ()  # per variant with a finished job
    verdicts: tuple[VerdictComparison, ...] = ()  # AWS's own advisors beside the findings
    # Inference component -> its monthly share of the instances it shares.
    component_costs: dict[str, CostEstimate] = field(default_factory=dict)
    # Estimated energy and carbon a month as it runs (the advisors', carried); None: unknown.
    footprint: Footprint | None = None

    @property
    def worst(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    @property
    def possible_savings_kgco2e(self) -> float | None:
        """The greenest single suggestion's kgCO2e a month (alternatives do not add up)."""
        saved = [f.monthly_savings_kgco2e for f in self.findings
                 if f.monthly_savings_kgco2e is not None and f.monthly_savings_kgco2e > 0]
        return max(saved) if saved else None

    @property
    def monthly_savings_kgco2e(self) -> float | None:
        """What the accepted suggestions save in estimated kgCO2e a month (None: unknown)."""
        before = self.current.monthly_carbon_kgco2e.value
        after = self.target.monthly_carbon_kgco2e.value
        if before is None or after is None:
            return None
        return round(before - after, 3)

    @property
    def possible_savings_usd(self) -> float | None:
        """The best single suggestion's monthly saving (alternatives do not add up)."""
        savings = [f.monthly_savings_usd for f in self.findings
                   if f.monthly_savings_usd is not None and f.monthly_savings_usd > 0]
        return max(savings) if savings else None

    @cached_property
    def current(self) -> MLProfile:
        return current_profile(self._endpoint, self._fleet, self.requirements, self._prices,
                               self.recommender, self.footprint)

    @cached_property
    def target(self) -> MLProfile:
        accepted = {c.change_id for c in self.changes if c.accepted}
        return target_profile(self.current, self.findings, accepted)

    @cached_property
    def maturity_current(self) -> Maturity:
        return assess(self.current, self._maturity_settings)

    @cached_property
    def maturity_target(self) -> Maturity:
        return assess(self.target, self._maturity_settings)

    @property
    def monthly_savings_usd(self) -> float | None:
        """What the accepted suggestions save a month (None: price unknown)."""
        return _savings(self.current, self.target)


@dataclass(frozen=True)
class FleetAnalysis:
    fleet: FleetSnapshot
    endpoints: dict[str, EndpointAnalysis]
    price_source: str
    total_monthly_cost_usd: float
    savings_by_kind: dict[str, float]
    warnings: tuple[str, ...] = ()
    opinions: OpinionsSummary = field(default_factory=OpinionsSummary)

    @cached_property
    def total_savings_usd(self) -> float:
        """What accepting the suggestions saves a month (builds every target profile)."""
        return sum(a.monthly_savings_usd or 0.0 for a in self.endpoints.values())

    @cached_property
    def total_savings_kgco2e(self) -> float:
        """Estimated kgCO2e a month the accepted suggestions save (builds every target)."""
        return round(sum(a.monthly_savings_kgco2e or 0.0 for a in self.endpoints.values()), 3)

    @property
    def carbon(self) -> FleetCarbonTotals:
        return fleet_carbon_totals(self.endpoints.values())

    def ranked_changes(self, by: str, limit: int = 10) -> list[dict[str, Any]]:
        """The suggestions ranked by what they save a month: `by` "usd" or "kgco2e"."""
        return ranked_changes([f for a in self.endpoints.values() for f in a.findings], by,
                              limit)

    @cached_property
    def maturity_by_pillar(self) -> dict[str, float]:
        """Mean maturity level (1-4) of the current profiles, per pillar."""
        return _pillar_means(a.maturity_current for a in self.endpoints.values())


@dataclass
class Analyst:
    """Settings, prices and decisions for one session; analyses any number of snapshots."""

    config: SagetopConfig
    prices: PriceBook | None = None
    origin: str = "config.toml"
    # endpoint key -> change ids the user rejected (everything else is accepted).
    rejected: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Validated here, once: a bad section is a one-line ConfigError before anything runs.
        self.advisor_settings = AdvisorSettings.from_config(self.config.advisors, self.origin)
        self.maturity_settings = MaturitySettings.from_config(self.config.maturity, self.origin)
        self.requirement_settings = RequirementsSettings.from_config(self.config.requirements,
                                                                     self.origin)
        if self.prices is None:
            self.prices = PriceBook.load()

    @property
    def price_book(self) -> PriceBook:
        assert self.prices is not None  # set in __post_init__
        return self.prices

    def accept(self, endpoint_key: str, change: str, accepted: bool) -> None:
        rejected = self.rejected.setdefault(endpoint_key, set())
        if accepted:
            rejected.discard(change)
        else:
            rejected.add(change)

    def requirements(self, fleet: FleetSnapshot) -> dict[str, Requirements]:
        return {e.key: requirements_for(e, self.requirement_settings) for e in fleet.endpoints}

    def analyse(self, fleet: FleetSnapshot, now: dt.datetime | None = None) -> FleetAnalysis:
        prices = self.price_book
        requirements = self.requirements(fleet)
        advice = advise(fleet, self.advisor_settings, prices, requirements,
                        now or fleet.collected_at)
        findings = advice.findings
        endpoints: dict[str, EndpointAnalysis] = {}
        warnings: list[str] = list(prices.warnings)
        for endpoint in fleet.endpoints:
            key = endpoint.key
            found = tuple(findings.get(key, ()))
            needs = requirements[key]
            warnings += [f"{key}: {w}" for w in needs.warnings]
            changes = tuple(
                SuggestedChange(ident, finding, change,
                                ident not in self.rejected.get(key, set()))
                for finding in found for change in finding.suggested
                for ident in (change_id(finding, change),))
            cost = endpoint_monthly_cost(endpoint, fleet, prices, needs.max_payload_mb)
            endpoints[key] = EndpointAnalysis(
                key=key, requirements=needs, findings=found, monthly_cost_usd=cost.usd,
                cost_source=cost.source, changes=changes, _endpoint=endpoint, _fleet=fleet,
                _prices=prices, _maturity_settings=self.maturity_settings,
                comparison=advice.comparisons.get(key),
                recommender=tuple(advice.recommender.get(key, ())),
                verdicts=tuple(advice.verdicts.get(key, ())),
                component_costs=(component_costs(endpoint, fleet, prices)
                                 if endpoint.inference_components else {}),
                footprint=advice.carbon.endpoint(key))
        by_kind: dict[str, float] = {}
        for analysis in endpoints.values():
            for finding in analysis.findings:
                if finding.monthly_savings_usd:
                    kind = str(finding.kind)
                    by_kind[kind] = by_kind.get(kind, 0.0) + finding.monthly_savings_usd
        return FleetAnalysis(
            fleet=fleet, endpoints=endpoints, price_source=prices.source,
            total_monthly_cost_usd=sum(a.monthly_cost_usd or 0.0 for a in endpoints.values()),
            savings_by_kind=dict(sorted(by_kind.items(), key=lambda kv: -kv[1])),
            warnings=tuple(warnings), opinions=advice.opinions)

    def snapshot_files(self, analysis: FleetAnalysis, out_dir: Path,
                       keys: Collection[str] | None = None) -> dict[Path, str]:
        """Profile files and rationale of `keys` (all endpoints and the summary when None)."""
        files: dict[Path, str] = {}
        chosen = [a for k, a in sorted(analysis.endpoints.items()) if keys is None or k in keys]
        for item in chosen:
            current_path, target_path, rationale_path = endpoint_paths(
                out_dir, item.current.region, item.current.endpoint)
            files[current_path] = profile_to_yaml(item.current)
            files[target_path] = profile_to_yaml(item.target)
            files[rationale_path] = render_rationale(
                item.current, item.target, item.findings, self.maturity_settings,
                comparison=item.comparison, recommender=item.recommender,
                verdicts=item.verdicts)
        if keys is None:
            summary = fleet_summary(
                analysis.fleet, [a.current for a in chosen], [a.target for a in chosen],
                [f for a in chosen for f in a.findings], [a.maturity_current for a in chosen],
                analysis.fleet.collected_at, analysis.opinions)
            files[out_dir / SUMMARY_YAML] = model_to_yaml(summary)
            files[out_dir / SUMMARY_MARKDOWN] = summary_markdown(summary)
        return files

    def write_snapshot(self, analysis: FleetAnalysis, out_dir: Path,
                       keys: Collection[str] | None = None, *,
                       allow_empty: bool = False) -> list[Path]:
        """Write atomically, all or nothing; returns every file of the export.

        Raises `ExportRefused` (and writes nothing) when the collection failed, or found no
        endpoints where `out_dir` holds an export, unless `allow_empty`.
        """
        refuse_export(analysis.fleet, out_dir, whole_fleet=keys is None, allow_empty=allow_empty)
        files = self.snapshot_files(analysis, out_dir, keys)
        write_files_atomically(files)
        return sorted(files)


@dataclass(frozen=True)
class FleetCarbonTotals:
    """The fleet's estimated month: sums of the known endpoints, with the range."""

    kwh: float
    kgco2e: float
    kgco2e_low: float
    kgco2e_high: float
    endpoints_without: int  # endpoints whose footprint is unknown (not in the sums)
    coefficients: str


def fleet_carbon_totals(items: Iterable[EndpointAnalysis]) -> FleetCarbonTotals:
    listed = list(items)
    known = [a.footprint for a in listed if a.footprint is not None]
    missing = len(listed) - len(known)
    return FleetCarbonTotals(
        kwh=round(sum(f.kwh for f in known), 3),
        kgco2e=round(sum(f.kgco2e for f in known), 3),
        kgco2e_low=round(sum(f.kgco2e_low for f in known), 3),
        kgco2e_high=round(sum(f.kgco2e_high for f in known), 3),
        endpoints_without=missing, coefficients=coefficients().label)


def _savings(current: MLProfile, target: MLProfile) -> float | None:
    before, after = current.monthly_cost_usd.value, target.monthly_cost_usd.value
    if before is None or after is None:
        return None
    return round(before - after, 2)


def _pillar_means(assessments: Any) -> dict[str, float]:
    levels: dict[str, list[int]] = {}
    for maturity in assessments:
        for pillar in maturity.pillars:
            if pillar.level is not None:
                levels.setdefault(str(pillar.pillar), []).append(int(pillar.level))
    return {str(p): round(sum(levels[str(p)]) / len(levels[str(p)]), 2)
            for p in Pillar if levels.get(str(p))}


def finding_report(finding: Finding) -> dict[str, Any]:
    return finding.model_dump(mode="json")


def endpoint_report(item: EndpointAnalysis) -> dict[str, Any]:
    """The `findings` and `profile` members of one endpoint in the report's JSON contract."""
    return {
        "findings": [finding_report(f) for f in item.findings],
        "component_costs": {name: {"monthly_cost_usd": cost.usd, "source": cost.source}
                            for name, cost in item.component_costs.items()},
        "monthly_cost_usd": item.monthly_cost_usd,
        "cost_source": item.cost_source,
        "monthly_savings_usd": item.monthly_savings_usd,
        # Estimated energy and carbon a month (kWh, kgCO2e with its range); null: unknown.
        "energy": (None if item.footprint is None
                   else {**item.footprint.model_dump(mode="json"), "estimate": True,
                         "text": item.footprint.text}),
        "monthly_savings_kgco2e": item.monthly_savings_kgco2e,
        "requirements": item.requirements.model_dump(mode="json"),
        "experiment": item.comparison.model_dump(mode="json") if item.comparison else None,
        "recommender": [c.model_dump(mode="json") for c in item.recommender],
        "aws_verdicts": [v.model_dump(mode="json") for v in item.verdicts],
        "profile": {
            "current": item.current.model_dump(mode="json"),
            "target": item.target.model_dump(mode="json"),
            "maturity": {
                "current": item.maturity_current.model_dump(mode="json"),
                "target": item.maturity_target.model_dump(mode="json"),
            },
        },
    }


def sorted_findings(analysis: FleetAnalysis) -> Sequence[Finding]:
    return [f for a in analysis.endpoints.values() for f in a.findings]
