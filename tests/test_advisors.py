"""Each advisor rule: cases that must fire and look-alikes that must not, plus the pitfalls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from advisors.finding import Finding, FindingKind, Severity
from advisors.registry import run_advisors
from advisors.settings import AdvisorSettings
from ground.catalog import spec_for
from ground.domain import DeploymentOption
from ground.pricing import PriceBook
from ground.requirements import RequirementsSettings, requirements_for
from tests.fleet_factory import (
    GPU_IMAGE,
    EndpointPlan,
    Pattern,
    VariantPlan,
    bursty_endpoint,
    business_hours_endpoint,
    fleet_of,
    healthy_production,
    idle_endpoint,
    monitor_with_drift,
    monitor_with_violations,
    nightly_batch,
    saturated_endpoint,
    scaling,
)

COST_AND_SIZING = {
    FindingKind.IDLE, FindingKind.OVER_PROVISIONED, FindingKind.UNDER_PROVISIONED,
    FindingKind.SERVERLESS_CANDIDATE, FindingKind.ASYNC_CANDIDATE, FindingKind.BATCH_CANDIDATE,
    FindingKind.MULTI_MODEL_CANDIDATE, FindingKind.SINGLE_INSTANCE,
}


def advise(*plans: EndpointPlan, settings: AdvisorSettings | None = None,
           requirements: Mapping[str, Any] | None = None) -> dict[str, list[Finding]]:
    fleet = fleet_of(*plans)
    resolved = RequirementsSettings.from_config(dict(requirements or {}), "config.toml")
    by_key = {e.key: requirements_for(e, resolved) for e in fleet.endpoints}
    return run_advisors(fleet, settings or AdvisorSettings(), PriceBook.load(), by_key)


def findings_of(result: dict[str, list[Finding]], name: str,
                kind: FindingKind | None = None) -> list[Finding]:
    found = result[f"us-east-1/{name}"]
    return [f for f in found if kind is None or f.kind == kind]


def kinds_of(result: dict[str, list[Finding]], name: str) -> set[FindingKind]:
    return {f.kind for f in findings_of(result, name)}


def one(result: dict[str, list[Finding]], name: str, kind: FindingKind) -> Finding:
    found = findings_of(result, name, kind)
    assert len(found) == 1, [f.summary for f in findings_of(result, name)]
    return found[0]


# --- healthy --------------------------------------------------------------------------------


def test_healthy_busy_production_endpoint_gets_no_finding() -> None:
    result = advise(healthy_production())
    assert findings_of(result, "checkout-ranker") == []


def test_every_endpoint_is_keyed_and_findings_come_worst_first() -> None:
    result = advise(healthy_production(), saturated_endpoint(), idle_endpoint())
    assert set(result) == {"us-east-1/checkout-ranker", "us-east-1/fraud-scorer",
                           "us-east-1/forgotten-poc"}
    ranks = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
    for findings in result.values():
        order = [ranks[f.severity] for f in findings]
        assert order == sorted(order)


# --- idle -----------------------------------------------------------------------------------


def test_idle_fires_for_an_old_endpoint_nobody_called_with_its_cost_as_saving() -> None:
    finding = one(advise(idle_endpoint()), "forgotten-poc", FindingKind.IDLE)
    # 1x ml.c5.xlarge at the us-east-1 list price, 730 h a month.
    assert finding.monthly_savings_usd == pytest.approx(0.204 * 730)
    assert finding.evidence["requests"] == 0
    assert "list price" in finding.options[0].price_source
    assert finding.suggested[0].characteristic == "instance_count"
    assert finding.suggested[0].proposed == 0


def test_missing_invocation_datapoints_are_not_idle() -> None:
    """Pitfall: no datapoints (e.g. a query without VariantName) is "no data", not zero."""
    result = advise(idle_endpoint(missing_invocations=True))
    assert FindingKind.IDLE not in kinds_of(result, "forgotten-poc")


def test_endpoint_younger_than_the_lookback_is_too_new_to_judge() -> None:
    result = advise(idle_endpoint(age_days=5), business_hours_endpoint(age_days=5),
                    nightly_batch(age_days=5))
    assert not kinds_of(result, "forgotten-poc") & COST_AND_SIZING
    assert FindingKind.SERVERLESS_CANDIDATE not in kinds_of(result, "backoffice-classifier")
    assert FindingKind.BATCH_CANDIDATE not in kinds_of(result, "nightly-scoring")


def test_shadow_variant_traffic_counts_so_the_endpoint_is_not_idle() -> None:
    """Pitfall: sum all variants, shadow included, before calling an endpoint idle."""
    plan = idle_endpoint(pattern=Pattern.DIURNAL, peak_requests_per_hour=2000, variants=(
        VariantPlan(name="Production", instance_count=1, traffic_share=0.0),
        VariantPlan(name="Shadow", instance_count=1, traffic_share=1.0, shadow=True)))
    assert FindingKind.IDLE not in kinds_of(advise(plan), "forgotten-poc")


def test_idle_serverless_endpoint_costs_nothing_and_is_not_flagged() -> None:
    plan = idle_endpoint(deployment=DeploymentOption.SERVERLESS,
                         variants=(VariantPlan(instance_type=None, memory_pct=30.0),))
    assert FindingKind.IDLE not in kinds_of(advise(plan), "forgotten-poc")


# --- over-provisioned -----------------------------------------------------------------------


def _oversized(**changes: Any) -> EndpointPlan:
    variant = VariantPlan(instance_type="ml.c5.2xlarge", instance_count=4, cpu_peak_pct=12.0,
                          memory_pct=20.0, autoscaling=scaling(4, 8))
    return healthy_production(name="oversized", **{"variants": (variant,), **changes})


def test_over_provisioned_suggests_the_cheapest_fit_and_keeps_production_minimum() -> None:
    finding = one(advise(_oversized()), "oversized", FindingKind.OVER_PROVISIONED)
    proposed_count = next((c.proposed for c in finding.suggested
                           if c.characteristic == "instance_count"), 4)
    assert proposed_count >= 2  # production keeps two instances
    # The variant autoscales: its floor is MinCapacity, which keeps two as well.
    proposed_min = next(c.proposed for c in finding.suggested
                        if c.characteristic == "min_instances")
    assert proposed_min >= 2
    assert finding.monthly_savings_usd is not None and finding.monthly_savings_usd > 0
    fits = [o for o in finding.options if o.fits and o.monthly_cost_usd is not None]
    # The suggestion is the cheapest fitting option listed after the current one.
    assert finding.options[1].monthly_cost_usd == min(o.monthly_cost_usd or 0 for o in fits[1:])
    assert finding.evidence["projected_busiest_pct"] is not None
    assert float(finding.evidence["projected_busiest_pct"]) <= 60.0


def test_development_endpoint_may_go_down_to_one_instance() -> None:
    finding = one(advise(_oversized(tags={"env": "dev"})), "oversized",
                  FindingKind.OVER_PROVISIONED)
    counts = [c.proposed for c in finding.suggested if c.characteristic == "instance_count"]
    assert counts == [1]
    # Autoscaled (4-8): the way down to one instance is MinCapacity 1.
    mins = [c.proposed for c in finding.suggested if c.characteristic == "min_instances"]
    assert mins == [1]


def test_well_used_instances_are_not_over_provisioned() -> None:
    assert FindingKind.OVER_PROVISIONED not in kinds_of(advise(healthy_production()),
                                                        "checkout-ranker")


def test_missing_utilisation_metrics_are_not_spare_capacity() -> None:
    variant = VariantPlan(instance_type="ml.c5.2xlarge", instance_count=4, cpu_peak_pct=None,
                          memory_pct=20.0)
    result = advise(healthy_production(name="oversized", variants=(variant,)))
    assert FindingKind.OVER_PROVISIONED not in kinds_of(result, "oversized")


def test_unknown_price_keeps_the_finding_with_savings_none() -> None:
    """ml.r5 has no sourced price in the catalogue: fewer instances are still surely cheaper."""
    variant = VariantPlan(instance_type="ml.r5.xlarge", instance_count=6, cpu_peak_pct=10.0,
                          memory_pct=15.0, autoscaling=scaling(6, 8))
    plan = healthy_production(name="memory-box", variants=(variant,))
    finding = one(advise(plan), "memory-box", FindingKind.OVER_PROVISIONED)
    assert finding.monthly_savings_usd is None
    assert "price unknown" in finding.summary
    assert finding.options[0].monthly_cost_usd is None
    assert finding.suggested[-1].characteristic == "instance_count"
    assert finding.suggested[-1].proposed < 6
    # Autoscaled 6-8, sitting at 6: fewer instances means a lower MinCapacity too.
    (change,) = [c for c in finding.suggested if c.characteristic == "min_instances"]
    assert change.current == 6 and change.proposed < 6
    assert "lower MinCapacity from 6" in finding.summary


def test_busy_gpu_stays_on_the_same_gpu_model() -> None:
    variant = VariantPlan(instance_type="ml.g5.2xlarge", instance_count=3, cpu_peak_pct=10.0,
                          memory_pct=20.0, gpu_idle_pct=5.0, gpu_peak_pct=22.0,
                          gpu_memory_pct=40.0, autoscaling=scaling(3, 6))
    plan = healthy_production(name="vision", image=GPU_IMAGE, variants=(variant,))
    finding = one(advise(plan), "vision", FindingKind.OVER_PROVISIONED)
    types = [c.proposed for c in finding.suggested if c.characteristic == "instance_type"]
    proposed = spec_for(types[0] if types else "ml.g5.2xlarge")
    assert proposed is not None and proposed.gpu_model == "A10G"


def test_nearly_idle_gpu_gets_cpu_only_as_an_unproven_option() -> None:
    """Issue 9: a nearly idle GPU used to be *sent* to CPU (ml.m5.*) as the suggestion. Moving
    off the GPU is an option naming what it takes, never the suggestion."""
    variant = VariantPlan(instance_type="ml.g5.xlarge", instance_count=2, cpu_peak_pct=10.0,
                          memory_pct=15.0, gpu_idle_pct=0.5, gpu_peak_pct=3.0,
                          gpu_memory_pct=10.0, autoscaling=scaling(2, 4))
    own_image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/tiny-model:3"
    plan = healthy_production(name="tiny-gpu", image=own_image, variants=(variant,))
    finding = one(advise(plan), "tiny-gpu", FindingKind.OVER_PROVISIONED)
    assert finding.suggested == ()  # no ml.g5 is smaller: nothing to apply
    assert finding.severity is Severity.INFO and finding.monthly_savings_usd is None
    cpu = [o for o in finding.options if not o.label.startswith("current")]
    assert cpu and all(not o.fits for o in cpu)
    moved = spec_for(cpu[0].label.split("x ", 1)[1])
    assert moved is not None and not moved.has_accelerator
    assert "CPU build" in cpu[0].note and "load test" in cpu[0].note
    assert "GPU nearly unused" in finding.summary

    # The same endpoint on a GPU build of PyTorch: no CPU type anywhere.
    gpu_build = healthy_production(name="tiny-gpu", image=GPU_IMAGE, variants=(variant,))
    assert FindingKind.OVER_PROVISIONED not in kinds_of(advise(gpu_build), "tiny-gpu")


def test_inference_component_endpoints_are_not_right_sized() -> None:
    """Managed instance scaling may already consolidate them."""
    plan = _oversized(deployment=DeploymentOption.INFERENCE_COMPONENTS)
    assert FindingKind.OVER_PROVISIONED not in kinds_of(advise(plan), "oversized")


# --- under-provisioned ----------------------------------------------------------------------


def test_saturated_endpoint_is_under_provisioned_and_critical() -> None:
    finding = one(advise(saturated_endpoint()), "fraud-scorer", FindingKind.UNDER_PROVISIONED)
    assert finding.severity is Severity.CRITICAL
    change = finding.suggested[0]
    assert change.characteristic == "instance_count" and change.proposed > change.current
    assert finding.monthly_savings_usd is not None and finding.monthly_savings_usd < 0


def test_broken_latency_objective_in_milliseconds_against_microsecond_metrics() -> None:
    """Pitfall: ModelLatency is microseconds; the objective is milliseconds."""
    tags = {"env": "production", "sagetop:p99-latency-ms": "100"}
    slow = healthy_production(name="slow", tags=tags, variants=(VariantPlan(
        instance_count=2, cpu_peak_pct=60.0, memory_pct=62.0, latency_p99_ms=250.0,
        autoscaling=scaling()),))
    fast = healthy_production(name="fast", tags=tags, variants=(VariantPlan(
        instance_count=2, cpu_peak_pct=60.0, memory_pct=62.0, latency_p99_ms=80.0,
        autoscaling=scaling()),))
    result = advise(slow, fast)
    finding = one(result, "slow", FindingKind.UNDER_PROVISIONED)
    assert finding.evidence["model_latency_p99_ms"] == pytest.approx(250.0)
    assert "250 ms" in finding.rationale
    # 80 ms is 80,000 µs: read as milliseconds it would break the objective.
    assert FindingKind.UNDER_PROVISIONED not in kinds_of(result, "fast")


def test_errors_rising_with_load_are_under_provisioning() -> None:
    variant = VariantPlan(instance_count=2, cpu_peak_pct=60.0, memory_pct=62.0,
                          errors_grow_with_load=True, autoscaling=scaling())
    plan = healthy_production(name="flaky-at-peak", variants=(variant,))
    finding = one(advise(plan), "flaky-at-peak", FindingKind.UNDER_PROVISIONED)
    assert "rise with load" in finding.rationale
    assert finding.evidence["busy_hour_error_ratio"] is not None


def test_steady_errors_are_an_error_rate_not_under_provisioning() -> None:
    variant = VariantPlan(instance_count=2, cpu_peak_pct=60.0, memory_pct=62.0,
                          error_ratio=0.03, autoscaling=scaling())
    result = advise(healthy_production(name="buggy", variants=(variant,)))
    assert FindingKind.UNDER_PROVISIONED not in kinds_of(result, "buggy")
    assert FindingKind.ERROR_RATE in kinds_of(result, "buggy")


def test_memory_saturation_asks_for_a_larger_type() -> None:
    variant = VariantPlan(instance_count=2, cpu_peak_pct=40.0, memory_pct=93.0,
                          autoscaling=scaling())
    finding = one(advise(healthy_production(name="big-model", variants=(variant,))),
                  "big-model", FindingKind.UNDER_PROVISIONED)
    assert finding.suggested[0].characteristic == "instance_type"
    assert finding.suggested[0].proposed == "ml.c5.2xlarge"


def test_serverless_concurrency_saturation_raises_max_concurrency() -> None:
    variant = VariantPlan(instance_type=None, memory_pct=40.0, serverless_max_concurrency=10,
                          serverless_concurrency_max_fraction=1.0)
    plan = bursty_endpoint(name="throttled", deployment=DeploymentOption.SERVERLESS,
                           variants=(variant,))
    finding = one(advise(plan), "throttled", FindingKind.UNDER_PROVISIONED)
    assert finding.suggested[0].characteristic == "serverless_max_concurrency"
    assert finding.suggested[0].proposed == 15


# --- serverless-candidate -------------------------------------------------------------------


def test_mostly_idle_development_endpoint_is_a_serverless_candidate() -> None:
    finding = one(advise(business_hours_endpoint()), "backoffice-classifier",
                  FindingKind.SERVERLESS_CANDIDATE)
    changes = {c.characteristic: c.proposed for c in finding.suggested}
    # Typed as the profile types it: a new endpoint is what the actions and rationale say.
    assert changes["deployment_option"] is DeploymentOption.SERVERLESS
    assert changes["serverless_memory_mb"] == 2048  # 20 % of 8 GiB with 25 % headroom
    assert 1 <= changes["serverless_max_concurrency"] <= 200
    assert finding.monthly_savings_usd is not None and finding.monthly_savings_usd > 100
    assert "cannot be converted in place" in finding.rationale


@pytest.mark.parametrize("changes", [
    {"tags": {"env": "production"}},  # production tolerates no cold start
    {"data_capture": True},
    {"monitor": monitor_with_violations(0)},
    {"tags": {"env": "dev", "sagetop:max-payload-mb": "5"}},
    {"variants": (VariantPlan(instance_count=1, cpu_peak_pct=12.0, memory_pct=20.0, vpc=True),)},
    {"variants": (VariantPlan(name="A", instance_count=1, cpu_peak_pct=12.0, memory_pct=20.0,
                              traffic_share=0.5),
                  VariantPlan(name="B", instance_count=1, cpu_peak_pct=12.0, memory_pct=20.0,
                              traffic_share=0.5))},
    {"variants": (VariantPlan(instance_type="ml.m5.xlarge", instance_count=1, cpu_peak_pct=12.0,
                              memory_pct=90.0),)},  # 14 GiB does not fit 6144 MB
    {"variants": (VariantPlan(instance_type="ml.g4dn.xlarge", instance_count=1,
                              cpu_peak_pct=12.0, memory_pct=20.0, gpu_peak_pct=30.0,
                              gpu_memory_pct=30.0),)},
    {"pattern": Pattern.DIURNAL},  # busy every hour
], ids=["production", "data-capture", "model-monitor", "payload", "vpc", "two-variants",
        "memory", "gpu", "busy"])
def test_serverless_look_alikes_are_not_candidates(changes: dict[str, Any],
                                                    request: pytest.FixtureRequest) -> None:
    result = advise(business_hours_endpoint(**changes))
    found = [f for f in result["us-east-1/backoffice-classifier"]
             if f.kind is FindingKind.SERVERLESS_CANDIDATE]
    # Never an option to take; idle most hours, the finding says which limit stopped it.
    assert not any(o.fits for f in found for o in f.changing)
    limit = {"production": "cold start", "data-capture": "data capture",
             "model-monitor": "Model Monitor", "payload": "payload", "vpc": "VPC",
             "two-variants": "variants", "memory": "memory", "gpu": "GPU",
             "busy": None}[request.node.callspec.id]
    if limit is None:
        assert not found
    else:
        assert len(found) == 1 and found[0].severity is Severity.INFO
        assert f"serverless does not fit: {limit}" in found[0].summary
        assert limit in str(found[0].evidence["serverless_stopped_by"])


def test_serverless_candidate_with_unknown_instance_price_keeps_savings_none() -> None:
    plan = business_hours_endpoint(variants=(VariantPlan(
        instance_type="ml.m6i.xlarge", instance_count=1, cpu_peak_pct=12.0, memory_pct=10.0),))
    finding = one(advise(plan), "backoffice-classifier", FindingKind.SERVERLESS_CANDIDATE)
    assert finding.monthly_savings_usd is None
    assert "price unknown" in finding.summary
    assert finding.options[1].monthly_cost_usd is not None  # serverless itself is priced


def test_applied_concurrency_quota_caps_serverless() -> None:
    """Pitfall: read applied quotas, not documented defaults (accounts may get 10, not 200)."""
    plan = business_hours_endpoint(variants=(VariantPlan(
        instance_count=1, cpu_peak_pct=12.0, memory_pct=20.0, concurrency_max=30.0),))
    finding = one(advise(plan), "backoffice-classifier", FindingKind.SERVERLESS_CANDIDATE)
    changes = {c.characteristic: c.proposed for c in finding.suggested}
    assert changes["serverless_max_concurrency"] == 45  # 30 with 50 % headroom
    quota = AdvisorSettings(serverless_max_concurrency=20)
    stopped = one(advise(plan, settings=quota), "backoffice-classifier",
                  FindingKind.SERVERLESS_CANDIDATE)
    assert "does not fit: concurrency" in stopped.summary
    assert not any(o.fits for o in stopped.changing)


# --- async-candidate ------------------------------------------------------------------------


def test_latency_near_the_60_second_limit_suggests_async() -> None:
    variant = VariantPlan(instance_count=2, cpu_peak_pct=60.0, memory_pct=62.0,
                          latency_p50_ms=20_000.0, latency_p99_ms=52_000.0,
                          autoscaling=scaling())
    finding = one(advise(healthy_production(name="doc-ocr", variants=(variant,),
                                            peak_requests_per_hour=200)),
                  "doc-ocr", FindingKind.ASYNC_CANDIDATE)
    assert finding.suggested[0].proposed == "async"
    assert finding.evidence["model_latency_p99_us"] == pytest.approx(52_000_000.0)


def test_payloads_over_the_real_time_limit_suggest_async() -> None:
    plan = healthy_production(name="video", tags={"env": "production",
                                                  "sagetop:max-payload-mb": "40"})
    finding = one(advise(plan), "video", FindingKind.ASYNC_CANDIDATE)
    assert "40 MB" in finding.summary


def test_ordinary_latency_and_payloads_stay_real_time() -> None:
    variant = VariantPlan(instance_count=2, cpu_peak_pct=60.0, memory_pct=62.0,
                          latency_p99_ms=30_000.0, autoscaling=scaling())
    plan = healthy_production(name="report", variants=(variant,),
                              tags={"env": "production", "sagetop:max-payload-mb": "5"})
    assert FindingKind.ASYNC_CANDIDATE not in kinds_of(advise(plan), "report")


# --- batch-candidate ------------------------------------------------------------------------


def test_nightly_bursts_are_a_batch_candidate() -> None:
    finding = one(advise(nightly_batch()), "nightly-scoring", FindingKind.BATCH_CANDIDATE)
    assert finding.suggested[0].proposed == "batch"
    assert float(finding.evidence["hour_of_day_share"] or 0) >= 0.9
    assert finding.monthly_savings_usd is not None and finding.monthly_savings_usd > 0


@pytest.mark.parametrize("plan", [bursty_endpoint(), business_hours_endpoint(),
                                  healthy_production()], ids=["bursty", "business", "diurnal"])
def test_bursts_without_a_schedule_are_not_batch(plan: EndpointPlan) -> None:
    assert FindingKind.BATCH_CANDIDATE not in kinds_of(advise(plan), plan.name)


# --- multi-model-candidate ------------------------------------------------------------------


def _quiet(name: str, **changes: Any) -> EndpointPlan:
    plan = EndpointPlan(name=name, pattern=Pattern.DIURNAL, peak_requests_per_hour=60,
                        variants=(VariantPlan(instance_type="ml.c5.xlarge", instance_count=1,
                                              cpu_peak_pct=8.0, memory_pct=10.0),),
                        tags={"env": "dev"})
    for key, value in changes.items():
        setattr(plan, key, value)
    return plan


def test_ten_quiet_endpoints_with_one_image_make_one_multi_model_endpoint() -> None:
    result = advise(*(_quiet(f"tenant-{i}") for i in range(10)))
    findings = [one(result, f"tenant-{i}", FindingKind.MULTI_MODEL_CANDIDATE)
                for i in range(10)]
    group = findings[0].evidence
    assert group["group_size"] == 10
    # Ten 1x ml.c5.xlarge at list price, against one shared endpoint.
    assert group["group_monthly_usd"] == pytest.approx(10 * 0.204 * 730)
    assert float(group["multi_model_monthly_usd"] or 0) < float(group["group_monthly_usd"] or 0)
    assert all((f.monthly_savings_usd or 0) > 0 for f in findings)
    assert {c.characteristic for c in findings[0].suggested} >= {"deployment_option",
                                                                 "models_per_endpoint"}


def test_too_few_or_different_images_or_production_are_not_multi_model() -> None:
    result = advise(
        _quiet("pair-1"), _quiet("pair-2"),
        _quiet("img-1", image="a/one:1"), _quiet("img-2", image="a/two:1"),
        _quiet("img-3", image="a/three:1"),
        *(_quiet(f"prod-{i}", image="a/prod:1", tags={"env": "production"}) for i in range(4)))
    for name in ("pair-1", "img-1", "prod-0"):
        assert FindingKind.MULTI_MODEL_CANDIDATE not in kinds_of(result, name)


# --- single-instance, no-autoscaling --------------------------------------------------------


def test_single_instance_production_variant() -> None:
    plan = healthy_production(name="solo", variants=(VariantPlan(
        instance_count=1, cpu_peak_pct=55.0, memory_pct=62.0, autoscaling=scaling(1, 4)),))
    result = advise(plan, idle_endpoint(name="dev-solo", pattern=Pattern.DIURNAL))
    finding = one(result, "solo", FindingKind.SINGLE_INSTANCE)
    assert finding.suggested[0].proposed == 2
    assert finding.monthly_savings_usd == pytest.approx(-0.204 * 730)
    assert FindingKind.SINGLE_INSTANCE not in kinds_of(result, "dev-solo")


def test_scalable_target_without_policy_does_not_scale() -> None:
    """Pitfall: a scalable target without a scaling policy does not scale."""
    plan = healthy_production(name="no-policy", variants=(VariantPlan(
        instance_count=2, cpu_peak_pct=60.0, memory_pct=62.0,
        autoscaling=scaling(2, 6, with_policy=False)),))
    finding = one(advise(plan), "no-policy", FindingKind.NO_AUTOSCALING)
    assert "without a scaling policy" in finding.rationale
    assert finding.evidence["scalable_target"] == "yes"


def test_no_scalable_target_in_production_but_not_in_development() -> None:
    bare = VariantPlan(instance_count=2, cpu_peak_pct=60.0, memory_pct=62.0)
    result = advise(healthy_production(name="fixed", variants=(bare,)),
                    healthy_production(name="fixed-dev", variants=(bare,), tags={"env": "dev"}))
    assert "no scalable target" in one(result, "fixed", FindingKind.NO_AUTOSCALING).summary
    assert FindingKind.NO_AUTOSCALING not in kinds_of(result, "fixed-dev")
    assert FindingKind.NO_AUTOSCALING not in kinds_of(advise(healthy_production()),
                                                      "checkout-ranker")


# --- drift, data capture, cold starts, errors -----------------------------------------------


def test_model_monitor_violations_and_drift_over_threshold() -> None:
    result = advise(healthy_production(name="violated", monitor=monitor_with_violations(3)),
                    healthy_production(name="drifted", monitor=monitor_with_drift(0.32)),
                    healthy_production(name="stable", monitor=monitor_with_drift(0.04)),
                    healthy_production(name="unmonitored"))
    assert one(result, "violated", FindingKind.DRIFT).evidence["violations"] == 3
    assert one(result, "drifted", FindingKind.DRIFT).evidence["max_drift"] == pytest.approx(0.32)
    # Model Monitor absence alone is never a finding.
    assert findings_of(result, "stable") == []
    assert findings_of(result, "unmonitored") == []


def test_production_without_data_capture_is_information_only() -> None:
    result = advise(healthy_production(name="blind", data_capture=False),
                    healthy_production(name="blind-dev", data_capture=False,
                                       tags={"env": "dev"}))
    assert one(result, "blind", FindingKind.NO_DATA_CAPTURE).severity is Severity.INFO
    assert FindingKind.NO_DATA_CAPTURE not in kinds_of(result, "blind-dev")


def test_serverless_is_never_flagged_for_data_capture_autoscaling_or_instances() -> None:
    """Pitfall: serverless cannot have data capture, VPC, Model Monitor or a GPU."""
    plan = healthy_production(name="lambda-like", deployment=DeploymentOption.SERVERLESS,
                              data_capture=False, variants=(VariantPlan(
                                  instance_type=None, memory_pct=40.0),))
    assert kinds_of(advise(plan), "lambda-like") == set()


def test_cold_starts_longer_than_tolerated() -> None:
    # Development tolerates 10 s cold starts; ModelSetupTime is stored in microseconds.
    def serverless(name: str, cold_ms: float) -> EndpointPlan:
        return bursty_endpoint(name=name, deployment=DeploymentOption.SERVERLESS,
                               tags={"env": "dev"}, variants=(VariantPlan(
                                   instance_type=None, memory_pct=40.0,
                                   cold_start_p99_ms=cold_ms, cold_starts=40),))
    result = advise(serverless("slow-start", 14_000.0), serverless("quick-start", 3_000.0))
    finding = one(result, "slow-start", FindingKind.COLD_START_RISK)
    assert finding.evidence["cold_start_p99_ms"] == pytest.approx(14_000.0)
    assert FindingKind.COLD_START_RISK not in kinds_of(result, "quick-start")


@pytest.mark.parametrize(("ratio", "severity"), [
    (0.03, Severity.WARNING), (0.08, Severity.CRITICAL), (0.002, None)])
def test_error_rate_thresholds(ratio: float, severity: Severity | None) -> None:
    variant = VariantPlan(instance_count=2, cpu_peak_pct=60.0, memory_pct=62.0,
                          error_ratio=ratio, autoscaling=scaling())
    found = findings_of(advise(healthy_production(name="api", variants=(variant,))), "api",
                        FindingKind.ERROR_RATE)
    assert [f.severity for f in found] == ([severity] if severity else [])


def test_a_handful_of_requests_is_too_few_for_an_error_rate() -> None:
    variant = VariantPlan(instance_count=2, cpu_peak_pct=60.0, memory_pct=62.0,
                          error_ratio=0.5, autoscaling=scaling())
    plan = healthy_production(name="rare", peak_requests_per_hour=0.4, variants=(variant,))
    assert FindingKind.ERROR_RATE not in kinds_of(advise(plan), "rare")


def test_missing_requirements_fall_back_to_production_defaults() -> None:
    fleet = fleet_of(healthy_production(name="untagged", tags={}, data_capture=False))
    result = run_advisors(fleet, AdvisorSettings(), PriceBook.load(), {})
    assert FindingKind.NO_DATA_CAPTURE in {f.kind for f in result["us-east-1/untagged"]}
