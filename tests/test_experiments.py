"""A/B and shadow tests, Inference Recommender beside the plan and AWS's verdicts, end to end on
the simulated account, where every answer is known; and the two statistical tests against scipy.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import numpy as np
import pytest
from scipy import stats as scipy_stats

from advisors.finding import FindingKind
from advisors.stats import mann_whitney_u, two_proportion_z
from collectors.aws import AwsContext, AwsTarget
from collectors.fleet import FleetCollector
from ground.config import SagetopConfig
from ground.domain import FleetSnapshot
from pipeline.analysis import Analyst, EndpointAnalysis, FleetAnalysis
from pipeline.report import fleet_report
from profiles.model import Environment
from profiles.rationale import render_rationale
from simulator import SimulatedAccount


def _collect(account: SimulatedAccount) -> FleetSnapshot:
    async def run() -> FleetSnapshot:
        target = AwsTarget(regions=account.regions, simulated=True,
                           prepare_session=account.install)
        async with AwsContext(SagetopConfig().aws, target) as aws:
            return await FleetCollector(aws).collect(force=True)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def demo() -> tuple[FleetSnapshot, FleetAnalysis, Analyst]:
    fleet = _collect(SimulatedAccount())
    analyst = Analyst()
    return fleet, analyst.analyse(fleet), analyst


def _item(analysis: FleetAnalysis, name: str) -> EndpointAnalysis:
    return analysis.endpoints[f"us-east-1/{name}"]


# --- the statistics --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_mann_whitney_matches_scipy_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = np.round(rng.lognormal(3.0, 0.3, 40 + seed * 10), 1)  # rounding makes ties
    b = np.round(rng.lognormal(3.05, 0.3, 35 + seed * 7), 1)
    ours = mann_whitney_u(a, b)
    theirs = scipy_stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic",
                                      use_continuity=True)
    assert ours is not None
    assert ours.statistic == pytest.approx(theirs.statistic)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)


def test_two_proportion_z_is_the_uncorrected_chi_square() -> None:
    result = two_proportion_z(30, 10_000, 12, 9_500)
    assert result is not None
    table = [[30, 10_000 - 30], [12, 9_500 - 12]]
    chi2, p_value, _, _ = scipy_stats.chi2_contingency(table, correction=False)
    assert result.statistic ** 2 == pytest.approx(chi2)
    assert result.p_value == pytest.approx(p_value)
    assert two_proportion_z(0, 100, 0, 100) is None  # no errors anywhere: nothing to test
    assert two_proportion_z(1, 0, 1, 10) is None


def test_equal_samples_rarely_differ_and_shifted_ones_always_do() -> None:
    rng = np.random.default_rng(11)
    false_alarms = sum(
        (r := mann_whitney_u(rng.lognormal(3, 0.2, 96), rng.lognormal(3, 0.2, 96))) is not None
        and r.p_value < 0.05 for _ in range(60))
    assert false_alarms <= 7  # 5 % of 60 is 3; a level test stays near it
    shifted = [mann_whitney_u(rng.lognormal(3, 0.2, 96), rng.lognormal(3.12, 0.2, 96))
               for _ in range(20)]  # 12 % slower
    assert all(r is not None and r.p_value < 0.05 for r in shifted)


# --- A/B and shadow tests on the simulated account ------------------------------------------


def test_a_truly_slower_variant_is_found_and_the_faster_one_called_better(
        demo: tuple[FleetSnapshot, FleetAnalysis, Analyst]) -> None:
    _, analysis, _ = demo
    comparison = _item(analysis, "pricing-ab-prod").comparison
    assert comparison is not None and comparison.kind == "a/b"
    assert comparison.age_days == pytest.approx(4.0, abs=0.1)
    (verdict,) = comparison.verdicts
    assert (verdict.baseline, verdict.challenger, verdict.better) == ("ModelA", "ModelB",
                                                                      "ModelA")
    p99 = next(c for c in verdict.comparisons if c.metric == "p99")
    assert p99.significant and p99.relative_change == pytest.approx(0.35, abs=0.05)
    assert re.fullmatch(r"ModelB is 3\d % slower at p99 and 3\d % slower at p50 than ModelA "
                        r"\(significant over 4 days, p < 0.001\)", verdict.summary)
    errors = next(c for c in verdict.comparisons if c.metric == "5XX")
    assert not errors.significant  # both variants have the same 5XX ratio
    shares = {v.name: v.traffic_share for v in comparison.variants}
    assert shares["ModelA"] == pytest.approx(0.5, abs=0.02)
    assert all(v.cost_per_1k_requests_usd and v.cost_per_1k_requests_usd > 0
               for v in comparison.variants)


def test_two_equal_variants_do_not_differ(
        demo: tuple[FleetSnapshot, FleetAnalysis, Analyst]) -> None:
    _, analysis, _ = demo
    comparison = _item(analysis, "ranker-ab-equal").comparison
    assert comparison is not None
    (verdict,) = comparison.verdicts
    assert verdict.enough_data and verdict.better is None
    assert not any(c.significant for c in verdict.comparisons)
    assert verdict.summary.startswith("ModelB and ModelA do not differ significantly over 6 days")


def test_too_little_traffic_is_not_enough_to_tell(
        demo: tuple[FleetSnapshot, FleetAnalysis, Analyst]) -> None:
    _, analysis, _ = demo
    comparison = _item(analysis, "upsell-ab-canary").comparison
    assert comparison is not None
    (verdict,) = comparison.verdicts
    assert not verdict.enough_data and verdict.comparisons == ()
    assert verdict.summary.startswith("not enough traffic yet to tell: ModelB has ")
    weights = {v.name: v.weight_share for v in comparison.variants}
    assert weights == {"ModelA": pytest.approx(0.99), "ModelB": pytest.approx(0.01)}


def test_shadow_test_compares_the_copy_with_production(
        demo: tuple[FleetSnapshot, FleetAnalysis, Analyst]) -> None:
    _, analysis, _ = demo
    comparison = _item(analysis, "search-rerank-shadow").comparison
    assert comparison is not None and comparison.kind == "shadow"
    (verdict,) = comparison.verdicts
    assert verdict.baseline == "Production" and verdict.challenger == "Candidate"
    by_metric = {c.metric: c for c in verdict.comparisons}
    assert by_metric["5XX"].significant and (by_metric["5XX"].relative_change or 0) > 5
    assert by_metric["p99"].significant and (by_metric["p99"].relative_change or 0) < 0
    assert verdict.better is None  # faster but failing more: a trade-off, no winner
    shadow = comparison.variant("Candidate")
    assert shadow is not None and shadow.shadow
    assert shadow.traffic_share == pytest.approx(0.5, abs=0.02)  # of production's requests


def test_finished_test_becomes_a_finding_to_remove_the_idle_variant(
        demo: tuple[FleetSnapshot, FleetAnalysis, Analyst]) -> None:
    _, analysis, _ = demo
    item = _item(analysis, "recs-ab-finished")
    (finding,) = [f for f in item.findings if f.kind == FindingKind.FINISHED_AB_TEST]
    assert finding.variant == "ModelB"
    assert finding.monthly_savings_usd and finding.monthly_savings_usd > 100
    (change,) = finding.suggested
    assert (change.characteristic, change.proposed, change.variant) == ("instance_count", 0,
                                                                        "ModelB")
    assert item.target.variants[1].instance_count.value == 0
    for name in ("pricing-ab-prod", "ranker-ab-equal", "upsell-ab-canary",
                 "search-rerank-shadow"):
        assert all(f.kind != FindingKind.FINISHED_AB_TEST for f in _item(analysis, name).findings)


# --- Inference Recommender beside the plan --------------------------------------------------


def test_load_test_sized_for_more_traffic_loses_to_production(
        demo: tuple[FleetSnapshot, FleetAnalysis, Analyst]) -> None:
    _, analysis, _ = demo
    item = _item(analysis, "churn-predictor-prod")
    (comparison,) = item.recommender
    assert comparison.winner == "production traffic" and not comparison.agree
    assert comparison.plan_source == "over-provisioned finding"
    assert "of the load the test assumed (4,500/min)" in comparison.reason
    assert comparison.load_ratio is not None and comparison.load_ratio < 0.1
    (finding,) = [f for f in item.findings if f.kind == FindingKind.RECOMMENDER_DISAGREES]
    assert finding.suggested == ()  # production wins: sagetop's own finding carries the plan
    assert finding.evidence["max_invocations_per_minute"] == 4500
    assert finding.evidence["model_latency_ms"] == 14
    recommended = item.current.variants[0].recommended_instance_type
    assert recommended.value == "ml.c5.2xlarge" and recommended.origin == "recommended"
    assert "payload s3://sim-payloads-" in recommended.note


def test_load_test_at_production_load_wins_and_suggests_its_type(
        demo: tuple[FleetSnapshot, FleetAnalysis, Analyst]) -> None:
    _, analysis, _ = demo
    item = _item(analysis, "invoice-ocr-prod")
    (comparison,) = item.recommender
    assert comparison.winner == "load test"
    assert comparison.test_load_rpm == 300  # the Advanced job's stopping condition
    (finding,) = [f for f in item.findings if f.kind == FindingKind.RECOMMENDER_DISAGREES]
    assert {(c.characteristic, c.proposed) for c in finding.suggested} == {
        ("instance_type", "ml.c5.xlarge")}
    chosen = [o for o in finding.options if o.fits]
    assert [o.evidence_source for o in chosen] == [
        "Inference Recommender job invoice-ocr-load-test, " + comparison.job_finished.strftime(
            "%Y-%m-%d")]
    text = render_rationale(item.current, item.target, item.findings,
                            (item.maturity_current, item.maturity_target),
                            recommender=item.recommender)
    assert "Evidence that wins: load test" in text


def test_failed_job_is_recorded_with_its_reason(
        demo: tuple[FleetSnapshot, FleetAnalysis, Analyst]) -> None:
    _, analysis, _ = demo
    item = _item(analysis, "search-embed-prod")
    (comparison,) = item.recommender
    assert comparison.winner == "no result" and "HTTP 415" in comparison.reason
    assert "job search-embed-prod-ir-g5 failed" in \
        item.current.variants[0].recommended_instance_type.note
    assert all(f.kind != FindingKind.RECOMMENDER_DISAGREES for f in item.findings)


def test_close_sizing_choices_offer_a_load_test_with_its_command(
        demo: tuple[FleetSnapshot, FleetAnalysis, Analyst]) -> None:
    _, analysis, _ = demo
    experiments = [(item, f, o) for item in analysis.endpoints.values() for f in item.findings
                   for o in f.options if o.experiment]
    assert experiments and analysis.opinions.experiments_suggested == len(experiments)
    for item, finding, option in experiments:
        assert finding.kind in (FindingKind.OVER_PROVISIONED, FindingKind.UNDER_PROVISIONED)
        assert option.label.startswith("run Inference Recommender on ml.")
        assert option.command is not None
        assert option.command.startswith("aws sagemaker create-inference-recommendations-job "
                                         "--region us-east-1 --job-name ")
        assert '"EndpointConfigurations":[{"InstanceType":"ml.' in option.command
        assert option.one_time_cost_usd is not None and option.one_time_cost_usd > 0
        today = next(o for o in finding.options if o.label.startswith("current: "))
        assert option.monthly_cost_usd == today.monthly_cost_usd  # nothing changes meanwhile
        # Endpoints with a finished load test are compared with it instead.
        assert not any(j.status == "COMPLETED" for j in item._endpoint.recommender.jobs)
    item, finding, option = experiments[0]
    text = render_rationale(item.current, item.target, item.findings,
                            (item.maturity_current, item.maturity_target), plan=item.plan)
    assert "| experiment |" in text and "create-inference-recommendations-job" in text
    row = next(line for line in text.splitlines() if line.startswith(f"| {option.label} |"))
    assert "**chosen**" in text and "**chosen**" not in row and "| experiment: " in row
    planned = item.plan.option(f"{finding.kind}:{finding.variant}:{option.label}")
    assert planned is not None and planned.status.value == "experiment"


# --- AWS's own verdicts ---------------------------------------------------------------------


def test_aws_verdicts_agree_and_disagree_and_are_counted(
        demo: tuple[FleetSnapshot, FleetAnalysis, Analyst]) -> None:
    _, analysis, _ = demo
    legacy = {(v.source, v.agreement) for v in _item(analysis, "legacy-recs-v1").verdicts}
    assert legacy == {("compute-optimizer", "agree"), ("cost-optimization-hub", "agree")}
    tagger = _item(analysis, "image-tagger-dev").verdicts
    assert {v.agreement for v in tagger} == {"aws only"}
    assert "not idle by its rule" in tagger[0].note
    summary = analysis.opinions
    assert (summary.verdicts_agree, summary.verdicts_aws_only) == (2, 2)
    assert summary.recommender_production_wins == 1 and summary.recommender_load_test_wins == 1
    assert [v.action for v in summary.account_verdicts] == ["PurchaseSavingsPlans"]


def test_accounts_without_the_advisors_say_not_enabled_and_no_error() -> None:
    fleet = _collect(SimulatedAccount(compute_optimizer_opted_in=False, cost_hub_enrolled=False))
    assert fleet.errors == ()
    assert {(s.source, s.status) for s in fleet.verdict_sources} == {
        ("compute-optimizer", "not enabled"), ("cost-optimization-hub", "not enabled")}
    assert all(e.aws_verdicts == () for e in fleet.endpoints)
    assert "opt in" in next(s.message for s in fleet.verdict_sources
                            if s.source == "compute-optimizer")


# --- deployment guardrails --------------------------------------------------------------------


def test_every_production_profile_says_how_it_deploys_and_whether_it_rolls_back(
        demo: tuple[FleetSnapshot, FleetAnalysis, Analyst]) -> None:
    fleet, analysis, _ = demo
    for item in analysis.endpoints.values():
        endpoint = fleet.endpoint(item.key)
        if item.current.requirements.environment is not Environment.PRODUCTION or \
                endpoint is None or endpoint.status != "InService":
            continue
        assert item.current.deployment_strategy.value in (
            "blue-green-all-at-once", "blue-green-canary", "blue-green-linear", "rolling")
        assert item.current.auto_rollback.value is not None
        guarded = bool(endpoint.deployment_config and endpoint.deployment_config.rollback_alarms)
        flagged = any(f.kind == FindingKind.NO_DEPLOYMENT_GUARDRAILS for f in item.findings)
        assert flagged is not guarded, item.key
    web = _item(analysis, "web-ranker-prod")
    assert web.current.deployment_strategy.value == "blue-green-canary"
    assert web.maturity_current.characteristic("deployment_strategy").level == 4
    credit = _item(analysis, "credit-risk-prod")
    assert credit.current.deployment_strategy.value == "blue-green-all-at-once"
    assert credit.maturity_current.characteristic("deployment_strategy").level == 1
    rolling = _item(analysis, "payments-fraud-prod")
    assert rolling.current.deployment_strategy.value == "rolling"
    assert rolling.current.auto_rollback.value is True


# --- reliability, report and export ---------------------------------------------------------


def test_a_failing_recommender_listing_keeps_its_jobs_and_is_asked_again_next_refresh() -> None:
    account = SimulatedAccount()

    async def run() -> tuple[FleetSnapshot, FleetSnapshot, FleetSnapshot, int]:
        target = AwsTarget(regions=account.regions, simulated=True,
                           prepare_session=account.install)
        config = SagetopConfig.model_validate({"aws": {"max_attempts": 1}})
        async with AwsContext(config.aws, target) as aws:
            collector = FleetCollector(aws)
            good = await collector.collect(force=True)
            account.faults.add("sagemaker:ListInferenceRecommendationsJobs", "unavailable")
            account.faults.add("compute-optimizer:GetIdleRecommendations", "unavailable")
            failed = await collector.collect(force=True, history=False)
            account.faults.clear()
            before = aws.ledger.requests["sagemaker:ListInferenceRecommendationsJobs"]
            recovered = await collector.collect(history=False)
            after = aws.ledger.requests["sagemaker:ListInferenceRecommendationsJobs"]
            return good, failed, recovered, after - before

    good, failed, recovered, listed = asyncio.run(run())
    churn = "us-east-1/churn-predictor-prod"
    assert sorted(e.source for e in failed.errors) == ["aws-verdicts", "recommender"]
    assert all("ServiceUnavailable" in e.message for e in failed.errors)
    # The last good jobs stay (with the error shown) instead of vanishing for a cadence.
    assert failed.endpoint(churn).recommender.jobs == good.endpoint(churn).recommender.jobs  # type: ignore[union-attr]
    assert failed.endpoint(churn).recommender.error is not None  # type: ignore[union-attr]
    legacy = "us-east-1/legacy-recs-v1"
    assert failed.endpoint(legacy).aws_verdicts == good.endpoint(legacy).aws_verdicts  # type: ignore[union-attr]
    assert recovered.errors == ()
    assert listed == 1  # asked again at the next refresh, not a cadence (an hour) later
    assert recovered.endpoint(churn).recommender.jobs == good.endpoint(churn).recommender.jobs  # type: ignore[union-attr]
    assert recovered.endpoint(churn).recommender.error is None  # type: ignore[union-attr]


def test_report_and_export_carry_experiments_and_second_opinions(
        demo: tuple[FleetSnapshot, FleetAnalysis, Analyst], tmp_path: Any) -> None:
    fleet, analysis, analyst = demo
    report = fleet_report(fleet, analysis)
    by_name = {e["name"]: e for e in report["endpoints"]}
    assert by_name["pricing-ab-prod"]["experiment"]["verdicts"][0]["better"] == "ModelA"
    assert by_name["churn-predictor-prod"]["recommender"][0]["winner"] == "production traffic"
    assert by_name["churn-predictor-prod"]["recommender_jobs"][0]["status"] == "COMPLETED"
    assert by_name["legacy-recs-v1"]["aws_verdicts"][0]["agreement"] == "agree"
    assert by_name["web-ranker-prod"]["deployment_config"]["traffic"] == "canary"
    assert by_name["web-ranker-prod"]["experiment"] is None
    opinions = report["summary"]["second_opinions"]
    assert opinions["verdicts_agree"] == 2 and opinions["recommender_load_test_wins"] == 1
    json.dumps(report)  # JSON all the way down
    written = analyst.write_snapshot(analysis, tmp_path).files
    files = {path: path.read_text("utf-8") for path in written}
    summary = files[tmp_path / "fleet-summary.md"]
    assert "## Second opinions" in summary and "| aws agrees | 2 |" in summary
    rationale = files[tmp_path / "us-east-1" / "pricing-ab-prod.rationale.md"]
    assert "### A/B test" in rationale and "ModelB is 3" in rationale
    shadow = files[tmp_path / "us-east-1" / "search-rerank-shadow.rationale.md"]
    assert "### Shadow test" in shadow
    churn = files[tmp_path / "us-east-1" / "churn-predictor-prod.rationale.md"]
    assert "Benchmark on ml.inf1.xlarge failed" in churn
    assert "Evidence that wins: production traffic" in churn
