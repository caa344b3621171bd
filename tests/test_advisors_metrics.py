"""Advice from the right metric: autoscaled counts, serverless busy time, a model cache's health.

Each case is a fixture an ML-ops engineer would recognise, with the wrong answer the advisors used
to give named in the test so it cannot come back.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from advisors.cost import endpoint_monthly_cost, serverless_usage
from advisors.finding import Finding, FindingKind, Severity
from advisors.registry import run_advisors
from advisors.scaling import scaling_plan
from advisors.settings import AdvisorSettings
from ground.catalog import spec_for
from ground.domain import DeploymentOption, FleetSnapshot, MetricStore
from ground.pricing import PriceBook
from ground.requirements import RequirementsSettings, requirements_for
from tests.fleet_factory import (
    EndpointPlan,
    Pattern,
    VariantPlan,
    business_hours_endpoint,
    fleet_of,
    scaling,
)
from tests.test_advisors import advise, findings_of, one

PRICES = PriceBook.load()
HOURS = 14 * 24  # the fixtures are older than the 14-day lookback


def _day_and_night(name: str = "search-ranker", tags: dict[str, str] | None = None,
                   cpu_peak_pct: float = 18.0) -> EndpointPlan:
    """Autoscaled 2-8: two instances at night, six by day. The snapshot is taken at 12:00 UTC,
    in the busy part of the day, when six are running."""
    variant = VariantPlan(instance_type="ml.c5.2xlarge", instance_count=6, scaled_counts=(2, 6),
                          cpu_idle_pct=4.0, cpu_peak_pct=cpu_peak_pct, memory_pct=22.0,
                          autoscaling=scaling(2, 8))
    return EndpointPlan(name=name, pattern=Pattern.DIURNAL, peak_requests_per_hour=60_000,
                        variants=(variant,), tags=tags or {"env": "production"},
                        data_capture=True)


def _advise(fleet: FleetSnapshot) -> dict[str, list[Finding]]:
    resolved = RequirementsSettings.from_config({}, "config.toml")
    by_key = {e.key: requirements_for(e, resolved) for e in fleet.endpoints}
    return run_advisors(fleet, AdvisorSettings(), PRICES, by_key)


def _words_follow_numbers(text: str) -> None:
    """"lower X from a to b" must have b < a, "raise X from a to b" b > a."""
    for verb, old, new in re.findall(r"(lower|raise) [^,;:]*? from ([\d,.]+) to ([\d,.]+)", text):
        before, after = float(old.replace(",", "")), float(new.replace(",", ""))
        assert (after < before) if verb == "lower" else (after > before), (verb, old, new, text)


def _changes(finding: Finding) -> dict[str, tuple[object, object]]:
    return {c.characteristic: (c.current, c.proposed) for c in finding.suggested}


# --- autoscaled variants ------------------------------------------------------------------------


def test_autoscaled_variant_is_costed_at_its_time_weighted_count_not_the_snapshot_count() -> None:
    fleet = fleet_of(_day_and_night())
    endpoint = fleet.endpoints[0]
    assert endpoint.variants[0].current_instance_count == 6  # what DescribeEndpoint says now
    hourly = fleet.metrics.hourly["instance_count"][(endpoint.key, "AllTraffic")]
    assert hourly.min() == 2 and hourly.max() == 6
    mean = float(hourly.mean())
    assert 3 < mean < 5
    price = PRICES.hourly("ml.c5.2xlarge", "us-east-1")
    assert price is not None
    cost = endpoint_monthly_cost(endpoint, fleet, PRICES)
    assert cost.usd == pytest.approx(mean * price.usd_per_hour * 730)
    assert cost.usd != pytest.approx(6 * price.usd_per_hour * 730)  # the snapshot count
    assert "time-weighted" in cost.source


def test_autoscaled_over_provisioning_speaks_in_capacity_and_target_never_in_a_count() -> None:
    fleet = fleet_of(_day_and_night())
    finding = one(_advise(fleet), "search-ranker", FindingKind.OVER_PROVISIONED)
    exact_mean = fleet.metrics.window_value(fleet.endpoints[0].key, "AllTraffic",
                                            "instance_count_mean")
    assert exact_mean is not None
    changes = _changes(finding)
    assert set(changes) <= {"instance_type", "instance_count", "min_instances",
                            "max_instances", "scaling_target_value"}
    assert {"min_instances", "max_instances"} & set(changes) or "scaling_target_value" in changes
    # The count is the average the policy settles at, against the time-weighted mean (4.0) in
    # whole instances, not the six instances the snapshot happened to see.
    assert changes["instance_count"][0] == round(exact_mean)
    assert "MinCapacity" in finding.summary and "MaxCapacity" in finding.summary
    _words_follow_numbers(finding.summary)
    _words_follow_numbers(finding.rationale)
    mean = finding.evidence["instance_count_mean"]
    assert isinstance(mean, float) and 3 < mean < 5
    assert finding.evidence["instance_count_now"] == 6
    assert (finding.evidence["instances_hourly_min"], finding.evidence["instances_hourly_max"]) \
        == (2.0, 6.0)
    price = PRICES.hourly("ml.c5.2xlarge", "us-east-1")
    assert price is not None
    assert finding.evidence["current_monthly_usd"] == pytest.approx(
        exact_mean * price.usd_per_hour * 730)
    assert mean == round(exact_mean, 2)
    # It scales out by day: without a higher target it would keep doing so on any size.
    assert "scaling_target_value" in changes
    current_target, proposed_target = changes["scaling_target_value"]
    assert current_target == 700.0
    if "instance_type" not in changes:
        assert isinstance(proposed_target, float) and proposed_target > 700.0
    assert finding.monthly_savings_usd is not None and finding.monthly_savings_usd > 0


def test_lower_min_capacity_never_comes_with_a_count_that_goes_up() -> None:
    """Same type, sitting at MinCapacity: MinCapacity comes down, and nothing goes up."""
    variant = VariantPlan(instance_type="ml.c5.xlarge", instance_count=6, cpu_peak_pct=8.0,
                          memory_pct=15.0, autoscaling=scaling(6, 10))
    plan = EndpointPlan(name="floor-too-high", pattern=Pattern.DIURNAL,
                        peak_requests_per_hour=6_000, variants=(variant,), data_capture=True)
    finding = one(advise(plan), "floor-too-high", FindingKind.OVER_PROVISIONED)
    changes = _changes(finding)
    assert "lower MinCapacity from 6 to" in finding.summary
    low, new_low = changes["min_instances"]
    assert isinstance(new_low, int) and isinstance(low, int) and 2 <= new_low < low
    for name, (before, after) in changes.items():
        if name in ("min_instances", "max_instances", "instance_count"):
            assert isinstance(before, int | float) and isinstance(after, int)
            assert after <= before, (name, before, after)
    _words_follow_numbers(finding.summary)


def test_scaling_plan_keeps_its_words_and_numbers_consistent() -> None:
    policy_scaling = scaling(4, 8)
    # Same type, the variant sits at MinCapacity 4, the load needs 2: lower MinCapacity only.
    plan = scaling_plan(policy_scaling, 4.0, same_type=True, needed=2, floor=2)
    assert plan is not None and (plan.new_min, plan.new_max) == (2, 8)
    assert plan.new_target_value is None
    assert plan.describe() == "lower MinCapacity from 4 to 2, keep MaxCapacity 8"
    # Same type, scales out (mean 5 > 4): the target must rise too, by the same ratio.
    plan = scaling_plan(policy_scaling, 5.0, same_type=True, needed=4, floor=2)
    assert plan is not None and plan.new_min == 4 and plan.new_target_value == 875.0
    assert "raise the target value" in plan.describe()
    # A sizing above today's MinCapacity never raises it on the same type.
    plan = scaling_plan(scaling(2, 8), 4.0, same_type=True, needed=3, floor=2)
    assert plan is not None and plan.new_min == 2
    # A step policy on a variant that scales out: nothing to change that reaches the saving.
    steps = policy_scaling.model_copy(update={"policies": ()})
    assert scaling_plan(steps, 5.0, same_type=True, needed=4, floor=2) is None
    # Sitting at MinCapacity with a peak per instance that would pass the target on fewer.
    plan = scaling_plan(policy_scaling, 4.0, same_type=True, needed=2, floor=2,
                        peak_load_per_instance=500.0)
    assert plan is not None and plan.new_target_value == 1400.0


def test_fixed_variant_is_still_told_a_count() -> None:
    variant = VariantPlan(instance_type="ml.c5.2xlarge", instance_count=4, cpu_peak_pct=10.0,
                          memory_pct=18.0)
    plan = EndpointPlan(name="fixed-four", pattern=Pattern.DIURNAL,
                        peak_requests_per_hour=6_000, variants=(variant,), data_capture=True)
    finding = one(advise(plan), "fixed-four", FindingKind.OVER_PROVISIONED)
    assert "min_instances" not in _changes(finding)
    assert "MinCapacity" not in finding.summary
    price = PRICES.hourly("ml.c5.2xlarge", "us-east-1")
    assert price is not None
    assert finding.evidence["current_monthly_usd"] == pytest.approx(
        4 * price.usd_per_hour * 730)


# --- serverless ----------------------------------------------------------------------------------


def test_serverless_candidate_is_priced_from_the_latency_sum_and_data_processed() -> None:
    plan = business_hours_endpoint(tags={"env": "dev", "sagetop:max-payload-mb": "1"},
                                   variants=(VariantPlan(instance_type="ml.c5.xlarge",
                                                         instance_count=1, cpu_peak_pct=12.0,
                                                         memory_pct=20.0, latency_p50_ms=20.0,
                                                         latency_mean_ms=35.0),))
    fleet = fleet_of(plan)
    finding = one(advise(plan), "backoffice-classifier", FindingKind.SERVERLESS_CANDIDATE)
    key = fleet.endpoints[0].key
    requests = fleet.metrics.window_value(key, "AllTraffic", "requests")
    assert requests is not None and requests > 0
    memory_gb = 2048 / 1024  # 20 % of 8 GiB with 25 % headroom: 2048 MB
    to_month = 730 / HOURS
    by_hand = (requests * 0.035 * to_month * memory_gb * 0.00002  # ModelLatency Sum
               + requests * 1 / 1024 * to_month * 0.016)  # 1 MB per request at $0.016/GB
    serverless = finding.options[1]
    assert serverless.monthly_cost_usd == pytest.approx(by_hand)
    assert serverless.monthly_cost_usd != pytest.approx(  # requests x p50, the old figure
        requests * 0.020 * to_month * memory_gb * 0.00002)
    assert "ModelLatency Sum" in finding.rationale
    assert finding.evidence["data_processed_gb_per_month"] == pytest.approx(
        requests / 1024 * to_month, rel=1e-3)
    # One function computes it for the rule and for the cost of an existing serverless variant.
    usage = serverless_usage(2048, fleet.metrics.window_value(key, "AllTraffic",
                                                              "model_latency_sum_us"),
                             requests, HOURS, 1.0, PRICES)
    assert usage.cost.usd == pytest.approx(serverless.monthly_cost_usd)


def test_serverless_candidate_without_busy_time_is_not_priced_on_a_guess() -> None:
    fleet = fleet_of(business_hours_endpoint(tags={"env": "dev"}))
    key = fleet.endpoints[0].key
    assert findings_of(_advise(fleet), "backoffice-classifier", FindingKind.SERVERLESS_CANDIDATE)
    fleet.metrics.window.loc[(key, "AllTraffic"), "model_latency_sum_us"] = np.nan
    fleet = fleet.model_copy(update={"metrics": MetricStore(
        window=fleet.metrics.window, hourly=fleet.metrics.hourly,
        window_start=fleet.metrics.window_start, window_end=fleet.metrics.window_end)})
    # No ModelLatency Sum answered: no figure from requests x a latency percentile instead.
    assert not findings_of(_advise(fleet), "backoffice-classifier",
                           FindingKind.SERVERLESS_CANDIDATE)


# --- existing multi-model endpoints --------------------------------------------------------------


def _mme(name: str, hit: float, wait_avg_ms: float, wait_max_ms: float,
         tolerance_ms: str = "2000") -> EndpointPlan:
    variant = VariantPlan(instance_type="ml.c5.xlarge", instance_count=2, cpu_peak_pct=35.0,
                          memory_pct=76.0, model_cache_hit_ratio=hit,
                          model_loading_wait_avg_ms=wait_avg_ms,
                          model_loading_wait_max_ms=wait_max_ms, loaded_models_avg=6.0,
                          model_unloads=1_400_000.0)
    return EndpointPlan(name=name, pattern=Pattern.DIURNAL, peak_requests_per_hour=24_000,
                        variants=(variant,), deployment=DeploymentOption.MULTI_MODEL,
                        data_capture=True,
                        tags={"env": "production", "sagetop:cold-start-tolerance-ms":
                              tolerance_ms})


def test_thrashing_model_cache_gets_more_memory_of_the_same_kind() -> None:
    result = advise(_mme("tenant-models", hit=0.55, wait_avg_ms=4_200, wait_max_ms=10_400))
    finding = one(result, "tenant-models", FindingKind.MULTI_MODEL_CACHE)
    assert finding.severity is Severity.WARNING  # a typical miss waits past the tolerance
    (change,) = finding.suggested
    assert change.characteristic == "instance_type" and change.current == "ml.c5.xlarge"
    proposed = spec_for(str(change.proposed))
    current = spec_for("ml.c5.xlarge")
    assert proposed is not None and current is not None
    assert proposed.memory_gib >= 2 * current.memory_gib and proposed.vcpu >= current.vcpu
    assert not proposed.has_accelerator
    assert finding.monthly_savings_usd is not None and finding.monthly_savings_usd < 0
    assert finding.evidence["model_cache_hit_ratio"] == 0.55
    assert finding.evidence["model_loading_wait_max_ms"] == 10_400
    assert finding.evidence["cold_start_tolerance_ms"] == 2000
    assert "55%" in finding.summary and "ModelLoadingWaitTime" in finding.rationale


@pytest.mark.parametrize(("hit", "wait_avg_ms", "wait_max_ms", "tolerance_ms"), [
    (0.985, 600, 1_500, "2000"),  # healthy: nearly every request finds its model
    (0.6, 300, 900, "2000"),  # many misses, but they load within what callers tolerate
])
def test_healthy_or_tolerated_model_cache_is_left_alone(hit: float, wait_avg_ms: float,
                                                        wait_max_ms: float,
                                                        tolerance_ms: str) -> None:
    result = advise(_mme("tenant-models", hit, wait_avg_ms, wait_max_ms, tolerance_ms))
    assert not findings_of(result, "tenant-models", FindingKind.MULTI_MODEL_CACHE)


def test_model_cache_rule_needs_the_endpoints_own_metrics() -> None:
    # A single-model endpoint publishes no ModelCacheHit: nothing to judge, nothing said.
    variant = VariantPlan(instance_type="ml.c5.xlarge", instance_count=2, cpu_peak_pct=35.0,
                          memory_pct=76.0)
    plan = EndpointPlan(name="single-model", variants=(variant,), data_capture=True)
    assert not findings_of(advise(plan), "single-model", FindingKind.MULTI_MODEL_CACHE)
