"""Every advisor rule in one list, and the pass that runs them over a fleet snapshot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from advisors.carbon import FleetCarbon
from advisors.context import AdvisorContext, Rule
from advisors.cost import CostEstimate
from advisors.features import FleetFeatures, build_features
from advisors.finding import Finding, FindingKind, Severity
from advisors.opinions import (
    OpinionsSummary,
    RecommenderComparison,
    VerdictComparison,
    second_opinions,
)
from advisors.rules.async_candidate import find_async_candidates
from advisors.rules.batch_candidate import find_batch_candidates
from advisors.rules.cold_start_risk import find_cold_start_risk
from advisors.rules.drift import find_drift
from advisors.rules.error_rate import find_error_rate
from advisors.rules.finished_ab_test import find_finished_ab_tests
from advisors.rules.idle import find_idle
from advisors.rules.idle_component import find_idle_components
from advisors.rules.multi_model_cache import find_multi_model_cache
from advisors.rules.multi_model_candidate import find_multi_model_candidates
from advisors.rules.no_autoscaling import find_no_autoscaling
from advisors.rules.no_data_capture import find_no_data_capture
from advisors.rules.no_deployment_guardrails import find_no_deployment_guardrails
from advisors.rules.off_hours_candidate import find_off_hours_candidates
from advisors.rules.over_provisioned import find_over_provisioned
from advisors.rules.serverless_candidate import find_serverless_candidates
from advisors.rules.single_instance import find_single_instance
from advisors.rules.under_provisioned import find_under_provisioned
from advisors.settings import AdvisorSettings
from advisors.variants import VariantComparison
from ground.domain import FleetSnapshot
from ground.pricing import PriceBook
from ground.requirements import Requirements

RULES: tuple[tuple[FindingKind, Rule], ...] = (
    (FindingKind.IDLE, find_idle),
    (FindingKind.IDLE_COMPONENT, find_idle_components),
    (FindingKind.OVER_PROVISIONED, find_over_provisioned),
    (FindingKind.UNDER_PROVISIONED, find_under_provisioned),
    (FindingKind.SERVERLESS_CANDIDATE, find_serverless_candidates),
    (FindingKind.ASYNC_CANDIDATE, find_async_candidates),
    (FindingKind.BATCH_CANDIDATE, find_batch_candidates),
    (FindingKind.OFF_HOURS_CANDIDATE, find_off_hours_candidates),
    (FindingKind.MULTI_MODEL_CANDIDATE, find_multi_model_candidates),
    (FindingKind.MULTI_MODEL_CACHE, find_multi_model_cache),
    (FindingKind.SINGLE_INSTANCE, find_single_instance),
    (FindingKind.NO_AUTOSCALING, find_no_autoscaling),
    (FindingKind.DRIFT, find_drift),
    (FindingKind.NO_DATA_CAPTURE, find_no_data_capture),
    (FindingKind.COLD_START_RISK, find_cold_start_risk),
    (FindingKind.ERROR_RATE, find_error_rate),
    (FindingKind.FINISHED_AB_TEST, find_finished_ab_tests),
    (FindingKind.NO_DEPLOYMENT_GUARDRAILS, find_no_deployment_guardrails),
)
# Not a rule over the snapshot alone: added by the second-opinion pass, which needs the plan.
SECOND_OPINION_KINDS = (FindingKind.RECOMMENDER_DISAGREES,)

_SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
_KIND_RANK = {kind: rank for rank, kind in enumerate(
    [*(kind for kind, _ in RULES), *SECOND_OPINION_KINDS])}


def worst_first(finding: Finding) -> tuple[int, float, int, str]:
    """Severity first, then the larger saving, then the registry order."""
    saving = finding.monthly_savings_usd
    return (_SEVERITY_RANK[finding.severity], -(saving if saving is not None else 0.0),
            _KIND_RANK[finding.kind], f"{finding.variant or ''}/{finding.component or ''}")


@dataclass(frozen=True)
class Advice:
    """Everything the advisors conclude about a snapshot, computed once and carried."""

    features: FleetFeatures  # the measures every consumer reads
    findings: dict[str, list[Finding]]  # per endpoint key, worst first
    costs: dict[str, CostEstimate]  # per endpoint key: what it costs a month today
    component_costs: dict[str, dict[str, CostEstimate]]  # endpoint key -> component -> share
    comparisons: dict[str, VariantComparison]  # A/B and shadow tests, multi-variant endpoints
    recommender: dict[str, list[RecommenderComparison]]  # per endpoint key, per variant
    verdicts: dict[str, list[VerdictComparison]]  # AWS's verdicts beside sagetop's findings
    opinions: OpinionsSummary

    @property
    def carbon(self) -> FleetCarbon:
        """Energy and carbon of every endpoint and variant as it runs (the features' one figure)."""
        return self.features.carbon


def run_advisors(fleet: FleetSnapshot, settings: AdvisorSettings, prices: PriceBook,
                 requirements: Mapping[str, Requirements],
                 now: dt.datetime | None = None) -> dict[str, list[Finding]]:
    """Findings per endpoint key (every endpoint present, maybe with none), worst first.

    `requirements` is keyed by endpoint key; an endpoint missing from it is judged on the
    built-in default requirements.
    """
    return advise(fleet, settings, prices, requirements, now).findings


def advise(fleet: FleetSnapshot, settings: AdvisorSettings, prices: PriceBook,
           requirements: Mapping[str, Requirements], now: dt.datetime | None = None) -> Advice:
    """The rules, then the second opinions that need their plan (recommender, AWS)."""
    features = build_features(fleet, now, settings)
    context = AdvisorContext(fleet=fleet, features=features, settings=settings, prices=prices,
                             requirements=requirements, now=features.now)
    by_endpoint: dict[str, list[Finding]] = {e.key: [] for e in fleet.endpoints}
    for _, rule in RULES:
        for finding in rule(context):
            by_endpoint.setdefault(finding.endpoint, []).append(finding)
    recommender, verdicts, opinions = second_opinions(context, by_endpoint)
    for findings in by_endpoint.values():
        findings.sort(key=worst_first)
    keys = [e.key for e in fleet.endpoints]
    return Advice(features=features, findings=by_endpoint,
                  costs={key: context.current_cost(key) for key in keys},
                  component_costs={key: context.component_costs(key) for key in keys},
                  comparisons=context.comparisons(), recommender=recommender,
                  verdicts=verdicts, opinions=opinions)
