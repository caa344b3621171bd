"""From a fleet snapshot to what sagetop advises: findings, costs, profiles and maturity.

One `Analyst` per session holds the validated settings, the price book and the user's decisions
on the plans; `analyse()` is a pure function of a snapshot and those, shared by the report, the
snapshot export and the dashboard: the advisors' findings, then one plan per endpoint
(`pipeline.planner`), then the profiles built from the plans. Every plan is accepted until the
user rejects it or picks another option, so a headless report shows the targets sagetop proposes,
and every savings figure is the plans' (`FleetAnalysis.totals`).

The analysis carries the advisors' features (`advisors.features`: every measure of the snapshot,
computed once) and costs: the profiles are built from them and the dashboard shows them, so the
finding, the profile and the fleet row say the same number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from advisors.cost import CostEstimate
from advisors.features import FleetFeatures
from advisors.finding import Finding
from advisors.opinions import OpinionsSummary, RecommenderComparison, VerdictComparison
from advisors.registry import advise
from advisors.settings import AdvisorSettings
from advisors.variants import VariantComparison
from ground.config import SagetopConfig
from ground.domain import EndpointSnapshot, FleetSnapshot
from ground.energy import Footprint, coefficients
from ground.heap import release_free_memory
from ground.pricing import PriceBook
from ground.requirements import Requirements, RequirementsSettings, requirements_for
from pipeline.export_guard import refuse_export
from pipeline.planner import Decisions, finding_id, plan_fleet
from profiles.build import current_profile
from profiles.maturity import Maturity, MaturitySettings, Pillar, assess
from profiles.model import MLProfile
from profiles.plan import EndpointPlan, FleetPlanTotals, Outcome
from profiles.shape import shape_of_endpoint
from profiles.snapshot import (
    RANKED_CHANGES,
    SnapshotResult,
    ranked_changes,
    snapshot_files,
    write_snapshot,
)
from profiles.target import TargetError, target_profile


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
    plan: EndpointPlan  # what sagetop proposes (or the user chose), with its alternatives
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
    def footprint(self) -> Footprint | None:
        """Estimated energy and carbon a month as it runs (the features', carried); None:
        unknown."""
        return self._features.carbon.endpoint(self.key)

    @property
    def worst(self) -> Finding | None:
        return self.findings[0] if self.findings else None

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
        return target_profile(self.current, self.plan, self.findings)

    @cached_property
    def maturity_current(self) -> Maturity:
        return assess(self.current, self._maturity_settings,
                      self._features.settings.saturation_pct)

    @cached_property
    def maturity_target(self) -> Maturity:
        return assess(self.target, self._maturity_settings,
                      self._features.settings.saturation_pct)

    @property
    def monthly_savings_usd(self) -> float:
        """What the endpoint's plan saves a month (negative: it costs more to meet a
        requirement); the same figure the target profile is costed at."""
        return self.plan.monthly_savings_usd

    @property
    def monthly_savings_kgco2e(self) -> float | None:
        """The estimated kgCO2e a month the same plan saves (None: no chosen option carries
        a figure); the target profile's carbon is today's minus it."""
        return self.plan.monthly_kgco2e_saved


@dataclass(frozen=True)
class FleetAnalysis:
    fleet: FleetSnapshot
    features: FleetFeatures  # the advisors' measures of `fleet`, for every consumer
    endpoints: dict[str, EndpointAnalysis]
    price_source: str
    total_monthly_cost_usd: float
    totals: FleetPlanTotals
    warnings: tuple[str, ...] = ()
    opinions: OpinionsSummary = field(default_factory=OpinionsSummary)
    # The thresholds the maturity was judged on (the dashboard colours utilisation by them).
    maturity_settings: MaturitySettings = field(default_factory=MaturitySettings)

    @property
    def total_savings_usd(self) -> float:
        """What the fleet's plans save a month: the one figure the status bar, the summary,
        the report and fleet-summary show (the sum of the endpoint plans)."""
        return self.totals.monthly_savings_usd

    @property
    def savings_by_kind(self) -> dict[str, float]:
        """The plans' savings by finding kind: they add up to `total_savings_usd`."""
        return self.totals.savings_by_kind

    @property
    def total_savings_kgco2e(self) -> float | None:
        """The estimated kgCO2e a month the same plans save: the one carbon figure beside
        `total_savings_usd` (None: no chosen option carries a carbon figure)."""
        return self.totals.monthly_kgco2e_saved

    @property
    def carbon(self) -> FleetCarbonTotals:
        return fleet_carbon_totals(self.endpoints.values())

    def ranked_changes(self, by: str, limit: int = RANKED_CHANGES) -> list[dict[str, Any]]:
        """The plans' chosen changes ranked by what they save a month: `by` "usd" or
        "kgco2e" (the greenest changes)."""
        return ranked_changes([a.plan for a in self.endpoints.values()], by, limit)

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
    # endpoint key -> what the user decided about its plan (nothing: the plan as proposed).
    decisions: dict[str, Decisions] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.prices is None:
            self.prices = PriceBook.load()

    @property
    def price_book(self) -> PriceBook:
        assert self.prices is not None  # set in __post_init__
        return self.prices

    def accept_plan(self, endpoint_key: str) -> None:
        """The plan as sagetop proposes it: every decision on the endpoint forgotten."""
        self.decisions.pop(endpoint_key, None)

    def reject_plan(self, endpoint_key: str) -> None:
        """Nothing changes on the endpoint: its target is today's configuration."""
        self.decisions[endpoint_key] = Decisions(rejected_plan=True)

    def choose(self, analysis: FleetAnalysis, endpoint_key: str, option_id: str) -> str | None:
        """Take `option_id` into the endpoint's plan; None when done, else why it cannot be
        (and nothing is recorded): the plan and the target it gives are checked first."""
        item = analysis.endpoints.get(endpoint_key)
        planned = item.plan.option(option_id) if item else None
        if item is None or planned is None:
            return "no such option in the endpoint's plan"
        if not planned.option.fits or planned.option.experiment:
            return f"{planned.label}: {planned.why or 'it does not meet the requirements'}"
        before = self.decisions.get(endpoint_key, Decisions())
        wanted = Decisions(rejected=frozenset(r for r in before.rejected
                                              if not option_id.startswith(r + ":")),
                           picked=frozenset({*before.picked, option_id}))
        return self._try(analysis, endpoint_key, wanted, option_id)

    def reject(self, analysis: FleetAnalysis, endpoint_key: str, option_id: str) -> str | None:
        """Leave out the finding `option_id` belongs to; None when done, else why not."""
        item = analysis.endpoints.get(endpoint_key)
        planned = item.plan.option(option_id) if item else None
        if item is None or planned is None:
            return "no such option in the endpoint's plan"
        finding = next((f for f in item.findings if f.kind is planned.finding
                        and f.variant == planned.variant and f.component == planned.component),
                       None)
        if finding is None:
            return "its finding is gone"
        before = self.decisions.get(endpoint_key, Decisions())
        ident = finding_id(finding)
        wanted = Decisions(rejected=frozenset({*before.rejected, ident}),
                           picked=frozenset(p for p in before.picked
                                            if not p.startswith(ident + ":")))
        return self._try(analysis, endpoint_key, wanted, None)

    def decide(self, analysis: FleetAnalysis, endpoint_key: str, action: str,
               option_id: str | None = None) -> str | None:
        """One decision from the dashboard: "accept" (the plan as proposed), "reject" (the
        whole plan), "choose" or "leave" (an option); None when done, else why not."""
        if action == "accept":
            self.accept_plan(endpoint_key)
            return None
        if action == "reject":
            self.reject_plan(endpoint_key)
            return None
        if option_id is None:
            return f"{action}: which option?"
        if action == "choose":
            return self.choose(analysis, endpoint_key, option_id)
        if action == "leave":
            return self.reject(analysis, endpoint_key, option_id)
        return f"unknown decision {action!r}"

    def _try(self, analysis: FleetAnalysis, key: str, wanted: Decisions,
             picked: str | None) -> str | None:
        decisions = {**self.decisions, key: wanted}
        planned = plan_fleet({k: a.findings for k, a in analysis.endpoints.items()},
                             {k: shape_of_endpoint(a._endpoint)
                              for k, a in analysis.endpoints.items()},
                             {k: a.monthly_cost_usd for k, a in analysis.endpoints.items()},
                             decisions)
        plan = planned.plans[key]
        if picked is not None:
            taken = plan.option(picked)
            if taken is None or taken not in plan.chosen:
                why = taken.why if taken is not None else "it is gone"
                reasons = [a.why for a in plan.alternatives if not a.chosen
                           and a.label.endswith(taken.label if taken else "")]
                return f"cannot be applied: {reasons[0] if reasons else why}"
            # A pick that gives up a requirement the plan met is refused, saying which: the
            # user leaves that finding out first to take the risk knowingly.
            proposed = analysis.endpoints[key].plan
            before = {(f.kind, f.variant, f.component) for f in proposed.findings
                      if f.outcome is Outcome.UNRESOLVED}
            lost = [f for f in plan.findings if f.outcome is Outcome.UNRESOLVED
                    and (f.kind, f.variant, f.component) not in before]
            if lost:
                return (f"cannot be applied: it leaves {lost[0].kind} unresolved "
                        f"({lost[0].why}); leave that finding out first to accept the risk")
        try:
            target_profile(analysis.endpoints[key].current, plan, analysis.endpoints[key].findings)
        except TargetError as exc:
            return f"cannot be applied: {exc}"
        self.decisions[key] = wanted
        return None

    def requirements(self, fleet: FleetSnapshot) -> dict[str, Requirements]:
        return {e.key: requirements_for(e, self.settings.requirements) for e in fleet.endpoints}

    def analyse(self, fleet: FleetSnapshot, now: dt.datetime | None = None) -> FleetAnalysis:
        prices = self.price_book
        requirements = self.requirements(fleet)
        advice = advise(fleet, self.settings.advisors, prices, requirements,
                        now or fleet.collected_at)
        findings = advice.findings
        planned = plan_fleet({k: tuple(v) for k, v in findings.items()},
                             {e.key: shape_of_endpoint(e) for e in fleet.endpoints},
                             {k: c.usd for k, c in advice.costs.items()}, self.decisions)
        endpoints: dict[str, EndpointAnalysis] = {}
        warnings: list[str] = list(prices.warnings)
        for endpoint in fleet.endpoints:
            key = endpoint.key
            found = tuple(findings.get(key, ()))
            needs = requirements[key]
            warnings += [f"{key}: {w}" for w in needs.warnings]
            cost = advice.costs[key]
            endpoints[key] = EndpointAnalysis(
                key=key, requirements=needs, findings=found, monthly_cost_usd=cost.usd,
                cost_source=cost.source, plan=planned.plans[key], _endpoint=endpoint,
                _fleet=fleet, _features=advice.features, _cost=cost,
                _maturity_settings=self.settings.maturity,
                comparison=advice.comparisons.get(key),
                recommender=tuple(advice.recommender.get(key, ())),
                verdicts=tuple(advice.verdicts.get(key, ())),
                component_costs=advice.component_costs[key])
        analysis = FleetAnalysis(
            fleet=fleet, features=advice.features, endpoints=endpoints,
            price_source=prices.source,
            total_monthly_cost_usd=sum(a.monthly_cost_usd or 0.0 for a in endpoints.values()),
            totals=planned.totals, warnings=tuple(warnings), opinions=advice.opinions,
            maturity_settings=self.settings.maturity)
        # The advisors' scratch (frames, matrices, candidates) is freed: its pages back.
        del advice, planned
        release_free_memory()
        return analysis

    def snapshot_files(self, analysis: FleetAnalysis, out_dir: Path,
                       keys: Collection[str] | None = None) -> dict[Path, str]:
        """The files an export of `keys` would write (every endpoint and the fleet summary
        when None), without writing them."""
        chosen = [a for k, a in analysis.endpoints.items() if keys is None or k in keys]
        files, _ = snapshot_files(analysis.fleet, chosen, out_dir, analysis.totals,
                                  summary=keys is None, opinions=analysis.opinions)
        return files

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
        return write_snapshot(analysis.fleet, chosen, out_dir, analysis.totals,
                              summary=keys is None, opinions=analysis.opinions)


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
        "plan": item.plan.model_dump(mode="json"),
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
