"""From a fleet snapshot to what sagetop advises: findings, costs, profiles and maturity.

One `Analyst` per session holds the validated settings, the price book and the user's decisions
on suggested changes; `analyse()` is a pure function of a snapshot and those, shared by the report,
the snapshot export and the dashboard. Every suggestion is accepted until the user rejects it, so
a headless report shows the target profile sagetop proposes.

The analysis carries the advisors' features (`advisors.features`: every measure of the snapshot,
computed once) and costs: the profiles are built from them and the dashboard shows them, so the
finding, the profile and the fleet row say the same number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from advisors.cost import CostEstimate
from advisors.features import FleetFeatures
from advisors.finding import Finding, ProfileChange
from advisors.opinions import OpinionsSummary, RecommenderComparison, VerdictComparison
from advisors.registry import advise
from advisors.settings import AdvisorSettings
from advisors.variants import VariantComparison
from ground.config import SagetopConfig
from ground.domain import EndpointSnapshot, FleetSnapshot
from ground.pricing import PriceBook
from ground.requirements import Requirements, RequirementsSettings, requirements_for
from pipeline.export_guard import refuse_export
from profiles.build import change_id, current_profile, target_profile
from profiles.maturity import Maturity, MaturitySettings, Pillar, assess
from profiles.model import MLProfile
from profiles.snapshot import SnapshotResult, write_snapshot


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
    _features: FleetFeatures = field(repr=False)
    _cost: CostEstimate = field(repr=False)
    _maturity_settings: MaturitySettings = field(repr=False)
    # Experiments and second opinions (advisors' comparisons, carried, never recomputed).
    comparison: VariantComparison | None = None  # A/B or shadow test
    recommender: tuple[RecommenderComparison, ...] = ()  # per variant with a finished job
    verdicts: tuple[VerdictComparison, ...] = ()  # AWS's own advisors beside the findings
    # Inference component -> its monthly share of the instances it shares.
    component_costs: dict[str, CostEstimate] = field(default_factory=dict)

    @property
    def worst(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    @property
    def possible_savings_usd(self) -> float | None:
        """The best single suggestion's monthly saving (alternatives do not add up)."""
        savings = [f.monthly_savings_usd for f in self.findings
                   if f.monthly_savings_usd is not None and f.monthly_savings_usd > 0]
        return max(savings) if savings else None

    @cached_property
    def current(self) -> MLProfile:
        return current_profile(self._endpoint, self._fleet, self._features, self.requirements,
                               self._cost, self.component_costs, self.recommender)

    @property
    def account(self) -> str | None:
        """Its account when several are watched (the export's folder), else None."""
        return self._endpoint.account

    @cached_property
    def target(self) -> MLProfile:
        accepted = {c.change_id for c in self.changes if c.accepted}
        return target_profile(self.current, self.findings, accepted)

    @cached_property
    def maturity_current(self) -> Maturity:
        return assess(self.current, self._maturity_settings,
                      self._features.settings.saturation_pct)

    @cached_property
    def maturity_target(self) -> Maturity:
        return assess(self.target, self._maturity_settings,
                      self._features.settings.saturation_pct)

    @property
    def monthly_savings_usd(self) -> float | None:
        """What the accepted suggestions save a month (None: price unknown)."""
        return _savings(self.current, self.target)


@dataclass(frozen=True)
class FleetAnalysis:
    fleet: FleetSnapshot
    features: FleetFeatures  # the advisors' measures of `fleet`, for every consumer
    endpoints: dict[str, EndpointAnalysis]
    price_source: str
    total_monthly_cost_usd: float
    savings_by_kind: dict[str, float]
    warnings: tuple[str, ...] = ()
    opinions: OpinionsSummary = field(default_factory=OpinionsSummary)
    # The thresholds the maturity was judged on (the dashboard colours utilisation by them).
    maturity_settings: MaturitySettings = field(default_factory=MaturitySettings)

    @cached_property
    def total_savings_usd(self) -> float:
        """What accepting the suggestions saves a month (builds every target profile)."""
        return sum(a.monthly_savings_usd or 0.0 for a in self.endpoints.values())

    @cached_property
    def maturity_by_pillar(self) -> dict[str, float]:
        """Mean maturity level (1-4) of the current profiles, per pillar."""
        return _pillar_means(a.maturity_current for a in self.endpoints.values())


@dataclass(frozen=True)
class AnalysisSettings:
    """The `[advisors]`, `[maturity]` and `[requirements]` sections, validated."""

    advisors: AdvisorSettings = field(default_factory=AdvisorSettings)
    maturity: MaturitySettings = field(default_factory=MaturitySettings)
    requirements: RequirementsSettings = field(default_factory=RequirementsSettings)

    @classmethod
    def from_config(cls, config: SagetopConfig, origin: str) -> AnalysisSettings:
        """Each section checked by its own model; the first bad one is a one-line ConfigError
        naming `origin` (the file read), before anything connects to AWS."""
        return cls(advisors=AdvisorSettings.from_config(config.advisors, origin),
                   maturity=MaturitySettings.from_config(config.maturity, origin),
                   requirements=RequirementsSettings.from_config(config.requirements, origin))


@dataclass
class Analyst:
    """Settings, prices and decisions for one session; analyses any number of snapshots."""

    settings: AnalysisSettings = field(default_factory=AnalysisSettings)
    prices: PriceBook | None = None
    # endpoint key -> change ids the user rejected (everything else is accepted).
    rejected: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
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
        return {e.key: requirements_for(e, self.settings.requirements) for e in fleet.endpoints}

    def analyse(self, fleet: FleetSnapshot, now: dt.datetime | None = None) -> FleetAnalysis:
        prices = self.price_book
        requirements = self.requirements(fleet)
        advice = advise(fleet, self.settings.advisors, prices, requirements,
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
            cost = advice.costs[key]
            endpoints[key] = EndpointAnalysis(
                key=key, requirements=needs, findings=found, monthly_cost_usd=cost.usd,
                cost_source=cost.source, changes=changes, _endpoint=endpoint, _fleet=fleet,
                _features=advice.features, _cost=cost,
                _maturity_settings=self.settings.maturity,
                comparison=advice.comparisons.get(key),
                recommender=tuple(advice.recommender.get(key, ())),
                verdicts=tuple(advice.verdicts.get(key, ())),
                component_costs=advice.component_costs[key])
        by_kind: dict[str, float] = {}
        for analysis in endpoints.values():
            for finding in analysis.findings:
                if finding.monthly_savings_usd:
                    kind = str(finding.kind)
                    by_kind[kind] = by_kind.get(kind, 0.0) + finding.monthly_savings_usd
        return FleetAnalysis(
            fleet=fleet, features=advice.features, endpoints=endpoints,
            price_source=prices.source,
            total_monthly_cost_usd=sum(a.monthly_cost_usd or 0.0 for a in endpoints.values()),
            savings_by_kind=dict(sorted(by_kind.items(), key=lambda kv: -kv[1])),
            warnings=tuple(warnings), opinions=advice.opinions,
            maturity_settings=self.settings.maturity)

    def write_snapshot(self, analysis: FleetAnalysis, out_dir: Path,
                       keys: Collection[str] | None = None, *,
                       allow_empty: bool = False) -> SnapshotResult:
        """Profiles and rationale of `keys` (every endpoint and the fleet summary when None),
        through the one export writer, all or nothing.

        Raises `ExportRefused` (and writes nothing) when the collection failed, or found no
        endpoints where `out_dir` holds an export, unless `allow_empty`.
        """
        refuse_export(analysis.fleet, out_dir, whole_fleet=keys is None, allow_empty=allow_empty)
        chosen = [a for k, a in analysis.endpoints.items() if keys is None or k in keys]
        return write_snapshot(analysis.fleet, chosen, out_dir, summary=keys is None,
                              opinions=analysis.opinions)


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
