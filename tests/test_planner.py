"""The planner: one coherent plan per endpoint, targets valid by construction, one savings figure.

Each contradiction issue 10 found on the demo is a fixture here, named after the wrong answer so
it cannot come back; `assert_coherent` is what "no contradictory suggestions" means, checked on
every fixture, on the demo fleet end to end (export, `profile validate`, the fleet screen's
figures) and, with hypothesis, on generated fleets no test wrote by hand.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from advisors.finding import HOSTING_KINDS, FindingKind, OptionKind
from collectors.aws import AwsContext, AwsTarget
from collectors.fleet import FleetCollector
from ground.config import AwsSettings
from ground.domain import AutoscalingInfo, DeploymentOption, FleetSnapshot
from ground.pricing import PriceBook
from pipeline.analysis import Analyst, EndpointAnalysis, FleetAnalysis
from pipeline.report import findings_table, fleet_report
from profiles.files import read_profile
from profiles.model import MLProfile
from profiles.plan import OptionStatus, Outcome, PlannedOption
from profiles.rationale import format_usd
from profiles.shape import owners_of, target_problems
from sagetop.cli import main
from simulator import SimulatedAccount
from tests.fleet_factory import (
    CPU_IMAGE,
    GPU_IMAGE,
    EndpointPlan,
    Pattern,
    VariantPlan,
    business_hours_endpoint,
    fleet_of,
    healthy_production,
    nightly_batch,
    saturated_endpoint,
    scaling,
)
from tests.test_tui_support import fixed_clock
from tui.rows import fleet_rows
from tui.state import DashboardState
from tui.widgets.chrome import status_text

PRICES = PriceBook.load()
REGION = "us-east-1"
# Told to production endpoints whose owners accept a slow first answer (forecasts, dashboards).
TOLERANT = {"env": "production", "sagetop:cold-start-tolerance-ms": "10000"}
# Options that size a variant's instances or a component's copies (at most one of each).
SIZING = frozenset({OptionKind.RESIZE, OptionKind.SCHEDULE, OptionKind.REMOVE})
# Hostings that replace today's instances, leaving no off-hours schedule anything to lower.
REPLACING = frozenset({OptionKind.SERVERLESS, OptionKind.BATCH, OptionKind.MULTI_MODEL,
                       OptionKind.REAL_TIME})


def analyst() -> Analyst:
    return Analyst(prices=PRICES)


def analyse(*plans: EndpointPlan, seed: int = 7) -> tuple[Analyst, FleetAnalysis]:
    who = analyst()
    return who, who.analyse(fleet_of(*plans, seed=seed))


def item(analysis: FleetAnalysis, name: str) -> EndpointAnalysis:
    return analysis.endpoints[f"{REGION}/{name}"]


def chosen_kinds(endpoint: EndpointAnalysis) -> list[OptionKind]:
    return [o.kind for o in endpoint.plan.chosen]


def _hosting(planned: PlannedOption) -> bool:
    if planned.kind is OptionKind.REMOVE:
        return planned.variant is None and planned.component is None
    return planned.kind in HOSTING_KINDS


def _words_follow_the_numbers(text: str, name: str, current: Any, proposed: Any) -> str | None:
    """'lower MinCapacity' with a count going up (or 'raise' going down) is a contradiction."""
    if not isinstance(current, int) or not isinstance(proposed, int) or current == proposed:
        return None
    wrong = "lower" if proposed > current else "raise"
    if re.search(rf"\b{wrong} {name}\b", text, re.IGNORECASE):
        return f"says {wrong!r} {name} while it goes from {current} to {proposed}: {text!r}"
    return None


def assert_coherent(endpoint: EndpointAnalysis) -> None:
    """No contradictory suggestions on one endpoint, and a target that says what the plan says.

    At most one way of hosting it; each finding with at most one chosen option and its outcome
    agreeing with it; no two chosen options setting the same characteristic; every chosen
    change in the target (never dropped as "not applied"); a target that passes the same
    validation `profile validate` runs, costed at today's cost minus the plan's savings; words
    that go the way the numbers go."""
    plan = endpoint.plan
    key = endpoint.key
    chosen = plan.chosen
    hostings = [o for o in chosen if _hosting(o)]
    assert len(hostings) <= 1, (key, [o.id for o in hostings])
    by_finding: dict[tuple[str, str | None, str | None], list[str]] = {}
    for planned in chosen:
        by_finding.setdefault((planned.finding, planned.variant, planned.component),
                              []).append(planned.id)
    assert all(len(ids) == 1 for ids in by_finding.values()), (key, by_finding)
    today = endpoint.current.shape()
    target = endpoint.target
    claims: dict[tuple[tuple[str, str], str], str] = {}
    for planned in chosen:
        for change in planned.option.changes:
            for claim in owners_of(today, change):
                assert claim not in claims, (key, claim, claims.get(claim), planned.id)
                claims[claim] = planned.id
    # Each variant or component takes at most one sizing option (a resize, an off-hours
    # schedule, a removal): each is priced against today's instances, so two would not add up.
    # A schedule and a resize of one variant set different characteristics, yet both size it.
    sized: dict[tuple[str, str], str] = {}
    for planned in chosen:
        if planned.kind not in SIZING:
            continue
        for owner in {owner for change in planned.option.changes
                      for owner, _ in owners_of(today, change)}:
            assert owner not in sized, (key, owner, sized.get(owner), planned.id)
            sized[owner] = planned.id
    # An off-hours schedule lowers today's instances at night: a hosting that replaces them
    # (serverless, batch, a multi-model group, another endpoint) leaves nothing to schedule.
    if OptionKind.SCHEDULE in chosen_kinds(endpoint):
        assert not [o for o in hostings if o.kind in REPLACING], (key, [o.id for o in chosen])
        scheduled = [v for v in target.variants if v.off_hours_schedule.value is not None] + [
            c for c in target.inference_components if c.off_hours_schedule.value is not None]
        assert scheduled, key  # the chosen schedule is written into the target, typed
    chosen_ids = {o.id for o in chosen}
    for outcome in plan.findings:
        if outcome.outcome is Outcome.RESOLVED:
            assert outcome.by in chosen_ids, (key, outcome)
        elif outcome.by is not None and outcome.outcome is not Outcome.COVERED:
            assert outcome.by not in chosen_ids or outcome.outcome is Outcome.EXCLUDED, \
                (key, outcome)
    for finding in endpoint.findings:
        mine = [o for o in plan.options if o.finding is finding.kind
                and o.variant == finding.variant and o.component == finding.component]
        outcome = plan.outcome_of(finding)
        assert outcome is not None, (key, finding.kind)
        if outcome.outcome in (Outcome.COVERED, Outcome.EXCLUDED, Outcome.DECLINED,
                               Outcome.UNRESOLVED, Outcome.REJECTED):
            assert not [o for o in mine if o.status is OptionStatus.CHOSEN], (key, outcome)
    # A serverless endpoint needs no extra instance; a queue needs no second one either.
    if OptionKind.SERVERLESS in chosen_kinds(endpoint):
        assert not [o for o in chosen if o.finding is FindingKind.SINGLE_INSTANCE], key
    # The validator `profile validate` runs on a file's contents (the schema and the
    # cross-field rules); the YAML itself is read back in the demo's export below.
    again = MLProfile.model_validate(target.model_dump(mode="json"))
    assert again.monthly_cost_usd.value == target.monthly_cost_usd.value
    assert target_problems(target.shape()) == [], key
    for planned in chosen:
        for change in planned.option.changes:
            written = [c for c in target.changes if c.option == planned.label
                       and c.finding == planned.finding.value
                       and c.characteristic == change.characteristic
                       and c.variant == change.variant and c.component == change.component]
            assert written and all(c.applied for c in written), (key, planned.id, change)
    taken = {(o.finding.value, o.label, c.characteristic, c.variant, c.component)
             for o in chosen for c in o.option.changes}
    assert not [c for c in target.changes if not c.applied and (
        c.finding, c.option, c.characteristic, c.variant, c.component) in taken], key
    if plan.current_monthly_usd is not None and chosen:
        assert target.monthly_cost_usd.value == plan.target_monthly_usd, key
    if target.deployment_option.value is DeploymentOption.BATCH:
        assert (target.monthly_cost_usd.value or 0.0) > 0, key
    if target.deployment_option.value is DeploymentOption.MULTI_MODEL:
        assert all(v.serverless_memory_mb.value is None for v in target.variants), key
        if OptionKind.MULTI_MODEL in chosen_kinds(endpoint):  # an existing one: uncounted
            assert (target.models_per_endpoint.value or 0) >= 2, key
    for finding in endpoint.findings:
        for option in finding.options:
            for change in option.changes:
                for name, field in (("MinCapacity", "min_instances"),
                                    ("MaxCapacity", "max_instances")):
                    if change.characteristic != field:
                        continue
                    texts = [option.label, option.note]
                    if option is finding.preferred:
                        texts.append(finding.summary)
                    for text in texts:
                        wrong = _words_follow_the_numbers(text, name, change.current,
                                                          change.proposed)
                        assert wrong is None, (key, finding.kind, wrong)


def assert_one_savings_figure(analysis: FleetAnalysis, tmp_path: Path) -> None:
    """The status bar, the report, the findings table and fleet-summary.md show one figure:
    the sum of the endpoint plans, which the kinds add up to."""
    plans = [a.plan for a in analysis.endpoints.values()]
    cents = sum(round(p.monthly_savings_usd * 100) for p in plans)
    total = analysis.total_savings_usd
    assert round(total * 100) == cents
    assert sum(round(v * 100) for v in analysis.savings_by_kind.values()) == cents
    for plan in plans:
        assert sum(round(v * 100) for v in plan.savings_by_kind.values()) == \
            round(plan.monthly_savings_usd * 100)
    state = DashboardState(fleet=analysis.fleet, analysis=analysis)
    status = status_text(state).plain
    words = (f"plans save ${total:,.0f}/month" if total >= 0.005
             else f"plans cost ${-total:,.0f}/month more" if total <= -0.005
             else "plans no change in cost")
    assert words in status, status
    report = fleet_report(analysis.fleet, analysis)
    assert report["summary"]["monthly_savings_usd"] == round(total, 2)
    assert sum(report["summary"]["savings_by_kind"].values()) == pytest.approx(total, abs=0.01)
    table = findings_table(analysis)
    if total >= 0:
        assert f"save ${total:,.0f}/month" in table
    files = analyst().snapshot_files(analysis, tmp_path)
    markdown = files[tmp_path / "fleet-summary.md"]
    assert f"| total | {format_usd(total)} |" in markdown
    assert format_usd(abs(total)) in markdown.split("## Totals", 1)[1].split("##", 1)[0]


# ------------------------------------------------------------------- the fixtures

def look_alike(name: str, pattern: Pattern = Pattern.STEADY, requests_per_hour: float = 120,
               **changes: Any) -> EndpointPlan:
    """A small model on its own ml.c5.large: 2 requests a minute, 4 % CPU, one image."""
    plan = EndpointPlan(
        name=name, pattern=pattern, peak_requests_per_hour=requests_per_hour,
        variants=(VariantPlan(instance_type="ml.c5.large", instance_count=1, cpu_idle_pct=3.0,
                              cpu_peak_pct=4.0, memory_pct=10.0),),
        tags=dict(TOLERANT))
    for key, value in changes.items():
        setattr(plan, key, value)
    return plan


def test_serverless_multi_model_and_a_second_instance_are_never_taken_together() -> None:
    """The contradiction: one endpoint told to go serverless (+$149), to join a multi-model
    endpoint and to add an instance (-$149), all at once."""
    _, analysis = analyse(*(look_alike(f"tenant-{i}", Pattern.BURSTY, 600) for i in range(4)))
    endpoint = item(analysis, "tenant-0")
    kinds = {f.kind for f in endpoint.findings}
    assert {FindingKind.SERVERLESS_CANDIDATE, FindingKind.MULTI_MODEL_CANDIDATE,
            FindingKind.SINGLE_INSTANCE} <= kinds
    assert chosen_kinds(endpoint) == [OptionKind.SERVERLESS]
    outcomes = {o.kind: o for o in endpoint.plan.findings}
    # The second instance is covered (said why), the group lost (with both totals).
    assert outcomes[FindingKind.SINGLE_INSTANCE].outcome is Outcome.COVERED
    assert "serverless" in outcomes[FindingKind.SINGLE_INSTANCE].why
    group = outcomes[FindingKind.MULTI_MODEL_CANDIDATE]
    assert group.outcome is Outcome.DECLINED and "for the group of 4" in group.why
    # Serverless endpoints cannot capture data: excluded, not chosen beside it.
    assert outcomes[FindingKind.NO_DATA_CAPTURE].outcome is Outcome.EXCLUDED
    for name in (f"tenant-{i}" for i in range(4)):
        assert_coherent(item(analysis, name))


def test_an_async_endpoint_is_not_told_to_add_an_instance() -> None:
    """Its requests wait in the queue while an instance is replaced: none is lost."""
    queued = EndpointPlan(
        name="captions-async", deployment=DeploymentOption.ASYNC, pattern=Pattern.BURSTY,
        peak_requests_per_hour=200,
        variants=(VariantPlan(instance_type="ml.g4dn.xlarge", instance_count=1,
                              cpu_peak_pct=25.0, memory_pct=47.0, gpu_idle_pct=1.0,
                              gpu_peak_pct=80.0, gpu_memory_pct=58.0, latency_p50_ms=60_000,
                              latency_p99_ms=90_000),),
        image=GPU_IMAGE)
    _, analysis = analyse(queued)
    endpoint = item(analysis, "captions-async")
    assert FindingKind.SINGLE_INSTANCE not in {f.kind for f in endpoint.findings}
    assert endpoint.target.variants[0].instance_count.value == 1
    assert_coherent(endpoint)


def test_a_target_tracking_policy_is_not_told_to_attach_one() -> None:
    """A variant with its policy but min = max is told to give it room, not to attach one;
    one that scales hears nothing about scaling."""
    pinned = healthy_production("pinned", variants=(VariantPlan(
        instance_count=2, cpu_peak_pct=60.0, memory_pct=62.0, autoscaling=scaling(2, 2)),))
    _, analysis = analyse(pinned, healthy_production("scaling"))
    endpoint = item(analysis, "pinned")
    finding = next(f for f in endpoint.findings if f.kind is FindingKind.NO_AUTOSCALING)
    assert "attach" not in finding.rationale.lower()
    assert {c.characteristic for c in finding.suggested} == {"max_instances"}
    assert endpoint.target.variants[0].max_instances.value == 4
    assert endpoint.target.variants[0].autoscaling.value is True
    assert FindingKind.NO_AUTOSCALING not in {f.kind for f in item(analysis, "scaling").findings}
    assert_coherent(endpoint)


def test_minimum_capacity_words_follow_the_count() -> None:
    """"lower its MinCapacity" came with a count going up from 4 to 5."""
    churn = healthy_production("churn", peak_requests_per_hour=18_000, variants=(VariantPlan(
        instance_type="ml.c5.4xlarge", instance_count=4, cpu_idle_pct=2.0, cpu_peak_pct=9.0,
        memory_pct=14.0, autoscaling=scaling(4, 8), scaled_counts=(4, 6)),))
    who, analysis = analyse(churn)
    endpoint = item(analysis, "churn")
    assert_coherent(endpoint)
    # Pick the smaller type that takes more instances than today's floor: still "raise".
    more = next(o for o in endpoint.plan.options if o.pickable and any(
        c.characteristic == "min_instances" and (c.proposed or 0) > (c.current or 0)
        for c in o.option.changes))
    assert who.decide(analysis, endpoint.key, "choose", more.id) is None
    again = item(who.analyse(analysis.fleet), "churn")
    assert [o.id for o in again.plan.chosen if o.finding is FindingKind.OVER_PROVISIONED] == \
        [more.id]
    assert (again.target.variants[0].min_instances.value or 0) > 4
    assert_coherent(again)


def test_accepted_changes_are_written_into_the_target() -> None:
    """Dropped when the target was written: "'target tracking' is invalid: input should be a
    valid boolean", "'serverless (new endpoint)' is invalid", while the fleet counted them."""
    fixed = healthy_production("fixed", variants=(VariantPlan(
        instance_count=2, cpu_peak_pct=60.0, memory_pct=62.0),))
    _, analysis = analyse(fixed, *(look_alike(f"tenant-{i}", Pattern.BURSTY, 600)
                                   for i in range(3)))
    scaled = item(analysis, "fixed")
    assert scaled.target.variants[0].autoscaling.value is True
    assert any(c.characteristic == "autoscaling" and c.applied for c in scaled.target.changes)
    serverless = item(analysis, "tenant-0").target
    assert serverless.deployment_option.value is DeploymentOption.SERVERLESS
    assert serverless.variants[0].serverless_memory_mb.value is not None
    for endpoint in analysis.endpoints.values():
        assert not [c for c in endpoint.target.changes if "invalid" in c.reason], endpoint.key
        assert_coherent(endpoint)


def test_a_target_count_stays_within_its_autoscaling_bounds() -> None:
    """A target count of 4 with autoscaling min = max = 2."""
    _, analysis = analyse(saturated_endpoint())
    endpoint = item(analysis, "fraud-scorer")
    variant = endpoint.target.variants[0]
    count, low, high = (variant.instance_count.value, variant.min_instances.value,
                        variant.max_instances.value)
    assert count == 4 and low is not None and high is not None and low <= count <= high
    assert_coherent(endpoint)


def test_a_multi_model_target_has_no_serverless_memory() -> None:
    """A multi-model target with serverless memory set: both options had been applied. Taking
    the group for one member takes it for all, and drops the serverless option everywhere."""
    who, analysis = analyse(*(look_alike(f"tenant-{i}", Pattern.BURSTY, 600) for i in range(4)))
    first = item(analysis, "tenant-0")
    group = next(o for o in first.plan.options if o.kind is OptionKind.MULTI_MODEL)
    assert group.pickable
    assert who.decide(analysis, first.key, "choose", group.id) is None
    again = who.analyse(analysis.fleet)
    for i in range(4):
        endpoint = item(again, f"tenant-{i}")
        assert chosen_kinds(endpoint)[0] is OptionKind.MULTI_MODEL, endpoint.key
        target = endpoint.target
        assert target.deployment_option.value is DeploymentOption.MULTI_MODEL
        assert target.models_per_endpoint.value == 4
        assert target.variants[0].serverless_memory_mb.value is None
        assert_coherent(endpoint)


def test_a_batch_target_costs_its_job() -> None:
    """A batch target costed at $0.00 while the finding said $28/month."""
    _, analysis = analyse(nightly_batch())
    endpoint = item(analysis, "nightly-scoring")
    batch = next(o for o in endpoint.plan.chosen if o.kind is OptionKind.BATCH)
    job = batch.option.monthly_cost_usd
    assert job is not None and job > 0
    assert endpoint.target.monthly_cost_usd.value == pytest.approx(job, abs=0.01)
    assert endpoint.target.deployment_option.value is DeploymentOption.BATCH
    assert_coherent(endpoint)


def test_an_option_is_priced_as_a_whole() -> None:
    """Rejecting the type but keeping the count priced the new count at the old total: an
    option is taken whole, at its own price, or left out and today's cost stays."""
    oversized = healthy_production("oversized", variants=(VariantPlan(
        instance_type="ml.c5.4xlarge", instance_count=4, cpu_peak_pct=10.0, memory_pct=12.0,
        autoscaling=None),), data_capture=True)
    who, analysis = analyse(oversized)
    endpoint = item(analysis, "oversized")
    resize = [o for o in endpoint.plan.options if o.finding is FindingKind.OVER_PROVISIONED]
    other = next(o for o in resize if o.pickable and o.status is OptionStatus.ALTERNATIVE)
    assert who.decide(analysis, endpoint.key, "choose", other.id) is None
    again = item(who.analyse(analysis.fleet), "oversized")
    variant = again.target.variants[0]
    proposed = {c.characteristic: c.proposed for c in other.option.changes}
    assert variant.instance_type.value == proposed.get("instance_type",
                                                       "ml.c5.4xlarge")
    assert variant.instance_count.value == proposed["instance_count"]
    assert again.target.monthly_cost_usd.value == pytest.approx(other.option.monthly_cost_usd,
                                                                abs=0.01)
    assert_coherent(again)
    left = next(o for o in again.plan.chosen if o.finding is FindingKind.OVER_PROVISIONED)
    assert who.decide(analysis, endpoint.key, "leave", left.id) is None
    kept = item(who.analyse(analysis.fleet), "oversized")
    assert kept.target.variants[0].instance_type.value == "ml.c5.4xlarge"
    assert kept.target.variants[0].instance_count.value == 4
    assert kept.target.monthly_cost_usd.value == pytest.approx(kept.monthly_cost_usd, abs=0.01)
    assert_coherent(kept)


def test_what_cannot_be_applied_is_refused_with_the_reason_and_changes_nothing() -> None:
    """Never shown as accepted: the analyst says why at the moment of asking."""
    who, analysis = analyse(nightly_batch())
    endpoint = item(analysis, "nightly-scoring")
    unfit = next(o for o in endpoint.plan.options if o.kind is OptionKind.SERVERLESS)
    assert unfit.status is OptionStatus.UNFIT and not unfit.pickable
    why = who.decide(analysis, endpoint.key, "choose", unfit.id)
    assert why is not None and "6,144 MB serverless maximum" in why
    assert who.decide(analysis, endpoint.key, "choose", "no-such:option") is not None
    assert who.decisions == {}
    assert chosen_kinds(item(who.analyse(analysis.fleet), "nightly-scoring")) == \
        [OptionKind.BATCH]


def test_one_savings_figure_everywhere(tmp_path: Path) -> None:
    """Three totals with no explanation: the status bar $4,345, summary and report $3,118,
    the rows by kind $3,510."""
    _, analysis = analyse(
        *(look_alike(f"tenant-{i}", Pattern.BURSTY, 600) for i in range(3)),
        saturated_endpoint(), nightly_batch(),
        healthy_production("oversized", variants=(VariantPlan(
            instance_type="ml.c5.4xlarge", instance_count=4, cpu_peak_pct=10.0,
            memory_pct=12.0),)))
    assert analysis.totals.endpoints_costing >= 1  # a requirement that costs is netted in
    assert_one_savings_figure(analysis, tmp_path)


def test_low_traffic_look_alikes_are_a_multi_model_group_by_fit() -> None:
    """Four endpoints on one image at 2 requests a minute, 4 % CPU on a c5.large each were
    turned away by a fixed 100-requests-per-hour ceiling; they fit on shared instances."""
    _, analysis = analyse(*(look_alike(f"tenant-{i}") for i in range(4)))
    shares = []
    for i in range(4):
        endpoint = item(analysis, f"tenant-{i}")
        finding = next(f for f in endpoint.findings
                       if f.kind is FindingKind.MULTI_MODEL_CANDIDATE)
        evidence = finding.evidence
        assert evidence["group_size"] == 4
        assert float(evidence["mean_requests_per_hour"] or 0) > 100  # above the old ceiling
        assert int(evidence["multi_model_instances"] or 0) < 4  # fewer instances than today
        assert int(evidence["multi_model_instances"] or 0) >= 2  # production keeps two
        chosen = endpoint.plan.chosen[0]
        assert chosen.kind is OptionKind.MULTI_MODEL
        shares.append(chosen.option.monthly_cost_usd or 0.0)
        # The second instance is there on the shared endpoint: covered, not added.
        single = endpoint.plan.outcome_of(next(
            f for f in endpoint.findings if f.kind is FindingKind.SINGLE_INSTANCE))
        assert single is not None and single.outcome is Outcome.COVERED
        assert any("RegisterScalableTarget" in step for step in endpoint.plan.actions)
        assert any("ModelCacheHit" in w for w in endpoint.plan.watch)
        assert_coherent(endpoint)
    # Each member's share of the group's plan: the shared endpoint's cost split four ways.
    host = float(evidence["multi_model_monthly_usd"] or 0)
    assert sum(shares) == pytest.approx(host, abs=0.02)


@pytest.mark.parametrize(("name", "variant", "plan_kind"), [
    # Too large for serverless: the schedule is the plan.
    ("office-large", VariantPlan(instance_type="ml.c5.2xlarge", instance_count=2,
                                 cpu_peak_pct=40.0, memory_pct=60.0), OptionKind.SCHEDULE),
    # Serverless is cheaper: it replaces the instances, the schedule is an alternative.
    ("office-small", VariantPlan(instance_type="ml.c5.2xlarge", instance_count=2,
                                 cpu_peak_pct=40.0, memory_pct=20.0), OptionKind.SERVERLESS),
    # A resize of the same variant saves more: never both sizings of one variant.
    ("office-oversized", VariantPlan(instance_type="ml.c5.9xlarge", instance_count=2,
                                     cpu_peak_pct=4.0, memory_pct=12.0), OptionKind.RESIZE),
])
def test_an_off_hours_schedule_is_one_sizing_of_a_coherent_plan(
        name: str, variant: VariantPlan, plan_kind: OptionKind) -> None:
    """The off-hours schedule competes as a sizing option: chosen, it is the only sizing of its
    variant and written into the target; every pick among the endpoint's options (the schedule
    over serverless or a resize, or back) keeps the plan coherent or is refused."""
    office = business_hours_endpoint(name, variants=(variant,), tags={"env": "dev"})
    who, analysis = analyse(office)
    endpoint = item(analysis, name)
    assert FindingKind.OFF_HOURS_CANDIDATE in {f.kind for f in endpoint.findings}
    assert plan_kind in chosen_kinds(endpoint)
    assert_coherent(endpoint)
    schedule = next(o for o in endpoint.plan.options if o.kind is OptionKind.SCHEDULE)
    for planned in [schedule, *(o for o in endpoint.plan.options if o.pickable)]:
        why = who.choose(analysis, endpoint.key, planned.id)
        analysis = who.analyse(analysis.fleet)
        again = item(analysis, name)
        assert_coherent(again)
        if why is None:
            assert planned.id in {o.id for o in again.plan.chosen}, planned.id


def test_look_alikes_a_cache_cannot_share_or_a_cold_start_cannot_wait_for_stay_apart() -> None:
    big = [look_alike(f"big-{i}", image="a/big:1", variants=(VariantPlan(
        instance_type="ml.m5.2xlarge", instance_count=1, cpu_idle_pct=1.0, cpu_peak_pct=4.0,
        memory_pct=60.0),)) for i in range(4)]
    strict = [look_alike(f"strict-{i}", image="a/strict:1", tags={"env": "production"})
              for i in range(4)]
    _, analysis = analyse(*big, *strict)
    for name in ("big-0", "strict-0"):
        endpoint = item(analysis, name)
        assert FindingKind.MULTI_MODEL_CANDIDATE not in {f.kind for f in endpoint.findings}
        assert_coherent(endpoint)


def test_the_rationale_tells_one_story() -> None:
    _, analysis = analyse(*(look_alike(f"tenant-{i}", Pattern.BURSTY, 600) for i in range(4)))
    endpoint = item(analysis, "tenant-0")
    text = analyst().snapshot_files(analysis, Path("/nonexistent"),
                                    keys=[endpoint.key])
    rationale = next(v for k, v in text.items() if k.name.endswith(".rationale.md"))
    story = rationale.split("## Plan", 1)[1].split("## Findings", 1)[0]
    order = ["**What is wrong.**", "**Ways weighed.**", "**Chosen.**", "**The other findings.**",
             "**What the team does.**", "**What to watch after the change.**"]
    places = [story.index(part) for part in order]
    assert places == sorted(places)
    assert "CreateEndpointConfig with ServerlessConfig" in story  # in AWS terms
    assert "single-instance: covered" in story and "/month" in story
    assert "ModelSetupTime" in story


# ------------------------------------------------------------------- the demo, end to end

@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[FleetAnalysis, Path]:
    account = SimulatedAccount(clock=fixed_clock)
    target = AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)

    async def collect() -> FleetSnapshot:
        async with AwsContext(AwsSettings(max_attempts=1), target) as aws:
            return await FleetCollector(aws, clock=fixed_clock).collect(force=True)

    fleet = asyncio.run(collect())
    who = Analyst(prices=PRICES)
    analysis = who.analyse(fleet)
    out = tmp_path_factory.mktemp("demo-profiles")
    who.write_snapshot(analysis, out)
    return analysis, out


def test_demo_plans_agree_with_themselves(demo: tuple[FleetAnalysis, Path]) -> None:
    analysis, _ = demo
    for endpoint in analysis.endpoints.values():
        assert_coherent(endpoint)
    # Managed instance scaling sizes llm-assistants-prod's instances from its copies.
    llm = analysis.endpoints[f"{REGION}/llm-assistants-prod"]
    assert FindingKind.SINGLE_INSTANCE not in {f.kind for f in llm.findings}
    assert llm.plan.monthly_savings_usd >= 0


def test_demo_targets_validate_and_cost_what_the_fleet_screen_says(
        demo: tuple[FleetAnalysis, Path], capsys: pytest.CaptureFixture[str]) -> None:
    analysis, out = demo
    targets = sorted(out.glob("*/*.target.yaml"))
    assert len(targets) == len(analysis.endpoints)
    capsys.readouterr()
    assert main(["profile", "validate", *map(str, targets)]) == 0
    assert capsys.readouterr().out.count(": valid target profile of ") == len(targets)
    rows = {row.key: row for row in fleet_rows(analysis.fleet, analysis)}
    for path in targets:
        target = read_profile(path)
        row = rows[target.key]
        cost, saves = row.sort_values["cost"], row.sort_values["savings"]
        assert isinstance(cost, float) and isinstance(saves, float)
        if target.monthly_cost_usd.value is None:
            continue
        expected = max(round(cost - saves, 2), 0.0) if cost == cost else None  # NaN: no price
        if expected is not None:
            assert target.monthly_cost_usd.value == pytest.approx(expected, abs=0.01), target.key


def test_demo_shows_one_savings_figure(demo: tuple[FleetAnalysis, Path],
                                       tmp_path: Path) -> None:
    analysis, out = demo
    assert_one_savings_figure(analysis, tmp_path)
    exported = (out / "fleet-summary.md").read_text()
    assert f"| total | {format_usd(analysis.total_savings_usd)} |" in exported


def test_hand_edited_targets_break_the_rules_one_line_each(
        demo: tuple[FleetAnalysis, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`profile validate` checks the cross-field rules on files people edit: one line per
    broken rule, naming the file and the field, and exit 2; the good file still says valid."""
    _, out = demo
    good = out / REGION / "churn-predictor-prod.target.yaml"
    text = good.read_text()
    count = re.search(r"  instance_count:\n    value: (\d+)", text)
    memory = "  serverless_memory_mb:\n    value: null"
    assert count is not None and memory in text
    edited = tmp_path / "churn.target.yaml"
    edited.write_text(text.replace(count.group(0), "  instance_count:\n    value: 40", 1)
                      .replace(memory, "  serverless_memory_mb:\n    value: 2048", 1))
    capsys.readouterr()
    assert main(["profile", "validate", str(edited), str(good)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 2, lines
    assert all(line.startswith(f"sagetop: error: {edited}: variants[AllTraffic].")
               for line in lines)
    assert any("instance_count: 40 is outside min_instances" in line for line in lines)
    assert any("serverless_memory_mb: serverless settings only on a serverless target" in line
               for line in lines)
    assert f"{good}: valid target profile" in captured.out


# ------------------------------------------------------------------- generated fleets

INSTANCE_TYPES = ("ml.c5.large", "ml.c5.xlarge", "ml.c5.4xlarge", "ml.m5.xlarge",
                  "ml.m5.2xlarge", "ml.g4dn.xlarge", "ml.g5.2xlarge")
ENVIRONMENTS = ({"env": "production"}, dict(TOLERANT), {"env": "staging"}, {"env": "dev"})


@st.composite
def variants(draw: st.DrawFn, name: str, share: float) -> VariantPlan:
    instance_type = draw(st.sampled_from((*INSTANCE_TYPES, None)))
    count = draw(st.integers(1, 4))
    gpu = instance_type is not None and ".g" in instance_type
    autoscaling: AutoscalingInfo | None = None
    scaled: tuple[int, int] | None = None
    if instance_type is not None and draw(st.booleans()):
        low = draw(st.integers(1, count))
        high = draw(st.integers(count, count + 4))
        autoscaling = scaling(low, high, with_policy=draw(st.booleans()))
        scaled = (low, draw(st.integers(low, high))) if draw(st.booleans()) else None
    peak = draw(st.sampled_from((3.0, 12.0, 30.0, 60.0, 85.0, 99.0)))
    return VariantPlan(
        name=name, instance_type=instance_type, instance_count=count, traffic_share=share,
        cpu_idle_pct=min(peak, 2.0), cpu_peak_pct=peak,
        memory_pct=draw(st.sampled_from((8.0, 30.0, 62.0, 90.0))),
        gpu_idle_pct=1.0 if gpu else None, gpu_peak_pct=peak if gpu else None,
        gpu_memory_pct=40.0 if gpu else None,
        latency_p50_ms=draw(st.sampled_from((10.0, 40.0, 900.0))),
        latency_p99_ms=draw(st.sampled_from((60.0, 400.0, 4_000.0))),
        autoscaling=autoscaling, scaled_counts=scaled,
        cold_start_p99_ms=4_800.0 if instance_type is None else None,
        cold_starts=3 if instance_type is None else 0)


@st.composite
def endpoints(draw: st.DrawFn, name: str) -> EndpointPlan:
    two = draw(st.booleans())
    first = draw(variants("A" if two else "AllTraffic", 0.5 if two else 1.0))
    chosen = [first]
    if two and first.instance_type is not None:
        second = draw(variants("B", 0.5))
        if second.instance_type is not None:
            chosen.append(second)
    serverless = first.instance_type is None
    deployment = (DeploymentOption.SERVERLESS if serverless
                  else draw(st.sampled_from((DeploymentOption.REAL_TIME,
                                             DeploymentOption.REAL_TIME,
                                             DeploymentOption.ASYNC))))
    if serverless or deployment is DeploymentOption.ASYNC:
        chosen = [first]
        first.name = "AllTraffic"
        first.traffic_share = 1.0
    gpu = any(v.instance_type and ".g" in v.instance_type for v in chosen)
    return EndpointPlan(
        name=name, pattern=draw(st.sampled_from(tuple(Pattern))),
        peak_requests_per_hour=draw(st.sampled_from((30.0, 600.0, 6_000.0, 40_000.0))),
        variants=tuple(chosen), deployment=deployment,
        tags=dict(draw(st.sampled_from(ENVIRONMENTS))),
        data_capture=draw(st.booleans()) and not serverless,
        image=GPU_IMAGE if gpu else draw(st.sampled_from((CPU_IMAGE, "a/shared:1"))),
        age_days=draw(st.sampled_from((90.0, 90.0, 3.0))))


@st.composite
def fleets(draw: st.DrawFn) -> list[EndpointPlan]:
    count = draw(st.integers(1, 3))
    plans = [draw(endpoints(f"gen-{i}")) for i in range(count)]
    if draw(st.booleans()):
        # Look-alikes sharing an image, so that multi-model groups are planned too.
        tags = dict(draw(st.sampled_from(ENVIRONMENTS)))
        pattern = draw(st.sampled_from((Pattern.STEADY, Pattern.BURSTY, Pattern.DIURNAL)))
        plans += [look_alike(f"alike-{i}", pattern, draw(st.sampled_from((60.0, 120.0, 600.0))),
                             tags=dict(tags))
                  for i in range(draw(st.integers(3, 4)))]
    return plans


GENERATED = settings(max_examples=40, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@GENERATED
@given(plans=fleets(), seed=st.integers(0, 3), decide=st.integers(0, 1_000))
def test_generated_fleets_get_coherent_plans_and_valid_targets(
        plans: list[EndpointPlan], seed: int, decide: int) -> None:
    """Every accepted plan yields a target the validator accepts; the fleet's one figure is
    the sum of the endpoint plans; a decision the analyst takes keeps all of that true, and
    one it refuses changes nothing."""
    who, analysis = analyse(*plans, seed=seed)
    _check_fleet(analysis)
    for endpoint in analysis.endpoints.values():
        hosting = next((o.kind.value for o in endpoint.plan.chosen if _hosting(o)), "kept")
        event(f"hosting {hosting}")
    # One decision on one endpoint, as the pane would make it.
    keys = sorted(analysis.endpoints)
    endpoint = analysis.endpoints[keys[decide % len(keys)]]
    pickable = [o for o in endpoint.plan.options if o.pickable]
    chosen = list(endpoint.plan.chosen)
    others = [o for o in endpoint.plan.options if not o.pickable and o not in chosen]
    if pickable and (decide % 3 == 0 or not chosen):
        action, option = "choose", pickable[decide % len(pickable)]
    elif chosen and decide % 3 == 1:
        action, option = "leave", chosen[decide % len(chosen)]
    elif others:
        action, option = "choose", others[decide % len(others)]  # may well be refused
    else:
        return
    before = dict(who.decisions)
    why = who.decide(analysis, endpoint.key, action, option.id)
    event(f"{action} {'refused' if why else 'taken'}")
    if why is not None:
        assert who.decisions == before, why
        return
    again = who.analyse(analysis.fleet)
    _check_fleet(again)
    planned = again.endpoints[endpoint.key].plan.option(option.id)
    if action == "choose":
        assert planned is not None and planned.status is OptionStatus.CHOSEN, (option.id, planned)
    else:
        assert planned is None or planned.status is not OptionStatus.CHOSEN


def _check_fleet(analysis: FleetAnalysis) -> None:
    cents = 0
    for endpoint in analysis.endpoints.values():
        assert_coherent(endpoint)
        cents += round(endpoint.plan.monthly_savings_usd * 100)
    assert round(analysis.total_savings_usd * 100) == cents
    assert sum(round(v * 100) for v in analysis.savings_by_kind.values()) == cents
    _groups_whole(analysis.endpoints.values())


def _groups_whole(endpoints: Iterable[EndpointAnalysis]) -> None:
    """A multi-model group is planned for the group: every member joins, or none does."""
    members: dict[str, list[bool]] = {}
    for endpoint in endpoints:
        for planned in endpoint.plan.options:
            if planned.option.group is not None:
                members.setdefault(planned.option.group, []).append(
                    planned.status is OptionStatus.CHOSEN)
    for group, joined in members.items():
        assert all(joined) or not any(joined), (group, joined)
