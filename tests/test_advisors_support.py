"""The advisors' plumbing: settings, current cost, the fleet feature frame, the registry."""

from __future__ import annotations

import numpy as np
import pytest

from advisors.cost import endpoint_monthly_cost
from advisors.features import build_features
from advisors.finding import FindingKind
from advisors.registry import RULES, SECOND_OPINION_KINDS, run_advisors
from advisors.settings import AdvisorSettings
from ground.config import parse_config_data
from ground.domain import DeploymentOption, ServerlessSettings
from ground.errors import ConfigError
from ground.pricing import HOURS_PER_MONTH, PriceBook
from ground.requirements import RequirementsSettings, requirements_for
from tests.fleet_factory import (
    VariantPlan,
    bursty_endpoint,
    fleet_of,
    healthy_production,
    idle_endpoint,
    large_fleet,
    nightly_batch,
)

# --- settings -------------------------------------------------------------------------------


def test_settings_defaults_and_overrides_from_the_config_section() -> None:
    config = parse_config_data({"advisors": {"target_utilisation_pct": 50,
                                             "multi_model_min_endpoints": 5}}, "config.toml")
    settings = AdvisorSettings.from_config(config.advisors, "config.toml")
    assert settings.target_utilisation_pct == 50.0
    assert settings.multi_model_min_endpoints == 5
    assert settings.saturation_pct == AdvisorSettings().saturation_pct


@pytest.mark.parametrize(("raw", "message"), [
    ({"target_utilisation_pct": 150},
     "config.toml: advisors.target_utilisation_pct: expected a number of at most 100, got 150"),
    ({"targte_utilisation_pct": 50}, "config.toml: advisors.targte_utilisation_pct: unknown key"),
    ({"multi_model_min_endpoints": "three"},
     "config.toml: advisors.multi_model_min_endpoints: expected a whole number, got 'three'"),
    ({"error_rate_warning_ratio": 0.1, "error_rate_critical_ratio": 0.05},
     "config.toml: advisors: expected error_rate_critical_ratio >= error_rate_warning_ratio"),
])
def test_bad_settings_are_one_line_errors_naming_the_key(raw: dict[str, object],
                                                         message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        AdvisorSettings.from_config(raw, "config.toml")
    text = str(caught.value)
    assert "\n" not in text
    assert text == message


def test_every_kind_has_exactly_one_rule() -> None:
    # The second-opinion kinds come from the pass after the rules (they need the plan).
    assert [kind for kind, _ in RULES] + list(SECOND_OPINION_KINDS) == list(FindingKind)


# --- cost -----------------------------------------------------------------------------------


def test_monthly_cost_counts_every_variant_including_shadow() -> None:
    plan = healthy_production(variants=(
        VariantPlan(name="Live", instance_type="ml.c5.xlarge", instance_count=2),
        VariantPlan(name="Candidate", instance_type="ml.c5.2xlarge", instance_count=1,
                    shadow=True)))
    fleet = fleet_of(plan)
    cost = endpoint_monthly_cost(fleet.endpoints[0], fleet, PriceBook.load())
    assert cost.usd == pytest.approx((2 * 0.204 + 0.408) * HOURS_PER_MONTH)
    assert "AWS list price, us-east-1" in cost.source
    assert not cost.estimated


def test_monthly_cost_is_unknown_when_one_price_is_unknown() -> None:
    plan = healthy_production(variants=(
        VariantPlan(name="A", instance_type="ml.c5.xlarge", traffic_share=0.5),
        VariantPlan(name="B", instance_type="ml.r5.xlarge", traffic_share=0.5)))
    fleet = fleet_of(plan)
    cost = endpoint_monthly_cost(fleet.endpoints[0], fleet, PriceBook.load())
    assert cost.usd is None
    assert "price unknown" in cost.source


def test_serverless_cost_comes_from_the_model_latency_sum() -> None:
    """Busy seconds are every request's model time added up (ModelLatency Sum), not requests
    x the median latency: with latency skewed right the median undercounts what is billed."""
    plan = bursty_endpoint(deployment=DeploymentOption.SERVERLESS, variants=(VariantPlan(
        instance_type=None, serverless_memory_mb=3072, latency_p50_ms=40.0,
        latency_mean_ms=55.0, memory_pct=30.0),))
    fleet = fleet_of(plan)
    endpoint = fleet.endpoints[0]
    cost = endpoint_monthly_cost(endpoint, fleet, PriceBook.load())
    requests = fleet.metrics.window_value(endpoint.key, "AllTraffic", "requests")
    latency_sum_us = fleet.metrics.window_value(endpoint.key, "AllTraffic",
                                                "model_latency_sum_us")
    assert requests is not None and requests > 0
    assert latency_sum_us == pytest.approx(requests * 55_000)
    to_month = 730 / (14 * 24)  # older than the lookback: the whole window counts
    # By hand: $0.00002 per second per GB of configured memory (3 GB).
    by_hand = latency_sum_us / 1e6 * to_month * 3 * 0.00002
    assert cost.usd == pytest.approx(by_hand)
    wrong = requests * 0.040 * to_month * 3 * 0.00002  # requests x p50: what it used to say
    assert cost.usd != pytest.approx(wrong)
    assert cost.estimated
    assert "ModelLatency Sum" in cost.source and "data processed not priced" in cost.source
    assert endpoint.variants[0].serverless == ServerlessSettings(memory_mb=3072,
                                                                 max_concurrency=20)


def test_serverless_cost_adds_data_processed_where_the_payload_is_known() -> None:
    plan = bursty_endpoint(deployment=DeploymentOption.SERVERLESS,
                           tags={"env": "staging", "sagetop:max-payload-mb": "2"},
                           variants=(VariantPlan(instance_type=None, serverless_memory_mb=2048,
                                                 latency_mean_ms=30.0, memory_pct=30.0),))
    fleet = fleet_of(plan)
    endpoint = fleet.endpoints[0]
    payload = requirements_for(endpoint, RequirementsSettings.from_config(
        {}, "config.toml")).max_payload_mb
    assert payload == 2.0  # from the sagetop:max-payload-mb tag
    cost = endpoint_monthly_cost(endpoint, fleet, PriceBook.load(), max_payload_mb=payload)
    requests = fleet.metrics.window_value(endpoint.key, "AllTraffic", "requests")
    assert requests is not None and requests > 0
    to_month = 730 / (14 * 24)
    compute = requests * 0.030 * to_month * 2 * 0.00002
    data = requests * 2 / 1024 * to_month * 0.016  # $0.016 per GB of request payload
    assert cost.usd == pytest.approx(compute + data)
    assert "data processed priced at 2 MB per request" in cost.source
    assert cost.usd > endpoint_monthly_cost(endpoint, fleet, PriceBook.load()).usd  # type: ignore[operator]


# --- features -------------------------------------------------------------------------------


def test_features_keep_no_data_apart_from_zero_traffic() -> None:
    fleet = fleet_of(idle_endpoint(name="zero"), idle_endpoint(name="unknown",
                                                               missing_invocations=True))
    frame = build_features(fleet).endpoints
    assert frame.loc["us-east-1/zero", "requests"] == 0
    assert frame.loc["us-east-1/zero", "idle_hour_fraction"] == 1.0
    unknown = frame.loc[["us-east-1/unknown"], ["requests", "idle_hour_fraction"]]
    assert unknown.isna().all(axis=None)


def test_features_agree_with_the_hourly_series_they_summarise() -> None:
    fleet = fleet_of(nightly_batch(), healthy_production())
    frame = build_features(fleet).endpoints
    nightly = frame.loc["us-east-1/nightly-scoring"]
    hourly = fleet.metrics.series("hourly", "requests", "us-east-1/nightly-scoring").sum(axis=1)
    assert nightly["hourly_requests_total"] == pytest.approx(nightly["requests"])
    assert nightly["active_hours"] == int((hourly > 0).sum())
    assert nightly["hour_of_day_share"] == pytest.approx(1.0)
    diurnal = frame.loc["us-east-1/checkout-ranker"]
    assert diurnal["idle_hour_fraction"] == 0.0
    assert diurnal["hour_of_day_share"] < 0.5
    assert diurnal["busiest_pct"] == pytest.approx(62.0)  # memory, constant over the day


def test_features_of_an_empty_fleet() -> None:
    fleet = fleet_of()
    features = build_features(fleet)
    assert features.endpoints.empty and features.variants.empty
    assert run_advisors(fleet, AdvisorSettings(), PriceBook.load(), {}) == {}


def test_a_fleet_without_hourly_data_gets_no_traffic_shape_findings() -> None:
    fleet = fleet_of(nightly_batch(), idle_endpoint())
    fleet.metrics.hourly = {}
    frame = build_features(fleet).endpoints
    assert frame["hours_observed"].tolist() == [0, 0]
    result = run_advisors(fleet, AdvisorSettings(), PriceBook.load(), {})
    kinds = {f.kind for findings in result.values() for f in findings}
    assert FindingKind.BATCH_CANDIDATE not in kinds
    assert FindingKind.IDLE in kinds  # the window still says zero requests


# --- the whole pass at fleet scale ----------------------------------------------------------


def test_advisor_pass_runs_over_a_thousand_endpoints() -> None:
    fleet = large_fleet(1000)
    resolved = RequirementsSettings.from_config({}, "config.toml")
    requirements = {e.key: requirements_for(e, resolved) for e in fleet.endpoints}
    result = run_advisors(fleet, AdvisorSettings(), PriceBook.load(), requirements)
    assert len(result) == 1000
    kinds = {f.kind for findings in result.values() for f in findings}
    assert {FindingKind.IDLE, FindingKind.UNDER_PROVISIONED, FindingKind.BATCH_CANDIDATE} <= kinds
    for findings in result.values():
        for finding in findings:
            assert all(not (isinstance(v, float) and np.isnan(v))
                       for v in finding.evidence.values()), finding
            # Every figure names where its price comes from.
            assert all(option.price_source for option in finding.options), finding
