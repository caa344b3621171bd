"""Advice on inference-component endpoints: traffic summed over components, idle components,
instances their reservations leave empty, copies that never scale, cost shares and profiles."""

from __future__ import annotations

import pytest

from advisors.components import component_costs, copies_of, instances_needed
from advisors.features import build_features
from advisors.finding import FindingKind
from advisors.registry import run_advisors
from advisors.settings import AdvisorSettings
from ground.catalog import spec_for
from ground.domain import AutoscalingInfo, ManagedInstanceScaling
from ground.pricing import PriceBook
from ground.requirements import RequirementsSettings, requirements_for
from pipeline.analysis import Analyst
from profiles.build import current_profile
from profiles.diff import diff_profiles
from tests.fleet_factory import (
    GPU_IMAGE,
    ComponentPlan,
    EndpointPlan,
    Pattern,
    VariantPlan,
    fleet_of,
    scaling,
)
from tests.test_advisors import advise, findings_of, kinds_of, one

G5_12XL = "ml.g5.12xlarge"  # 4 A10G GPUs, 48 vCPUs, 192 GiB; $7.09 an hour
G5_12XL_MONTH = 7.09 * 730


def copies_scale(low: int = 1, high: int = 3) -> AutoscalingInfo:
    """A scalable target on a component's copies, with a target-tracking policy."""
    found = scaling(low, high)
    return found.model_copy(update={
        "scalable_dimension": "sagemaker:inference-component:DesiredCopyCount"})


def llm_endpoint(name: str = "llm-pair", *components: ComponentPlan, instances: int = 1,
                 managed: ManagedInstanceScaling | None = None,
                 pattern: Pattern = Pattern.STEADY, **changes: object) -> EndpointPlan:
    """An endpoint whose models are inference components on one GPU variant (~80 req/min)."""
    plan = EndpointPlan(
        name=name, pattern=pattern, peak_requests_per_hour=5_400, image=GPU_IMAGE,
        variants=(VariantPlan(instance_type=G5_12XL, instance_count=instances, cpu_peak_pct=18,
                              memory_pct=46, gpu_idle_pct=20, gpu_peak_pct=72,
                              gpu_memory_pct=81),),
        components=components or (
            ComponentPlan("chat", copies=2, traffic_share=0.55, autoscaling=copies_scale()),
            ComponentPlan("summarize", copies=2, traffic_share=0.45,
                          autoscaling=copies_scale())),
        managed_scaling=managed)
    for key, value in changes.items():
        setattr(plan, key, value)
    return plan


def test_busy_component_endpoint_is_not_idle_whatever_its_variant_says() -> None:
    """The bug: no Invocations per variant read as 0 requests, "idle, $5,176/month"."""
    result = advise(llm_endpoint())
    assert FindingKind.IDLE not in kinds_of(result, "llm-pair")
    fleet = fleet_of(llm_endpoint())
    key = "us-east-1/llm-pair"
    assert fleet.metrics.window_value(key, "AllTraffic", "requests") is None
    # Even a variant read as a measured zero (what the old collector made of it) does not
    # make it idle: every source of traffic is summed first.
    fleet.metrics.window.loc[(key, "AllTraffic"), "requests"] = 0.0
    fleet.metrics.hourly["requests"][(key, "AllTraffic")] = 0.0
    prices = PriceBook.load()
    resolved = RequirementsSettings.from_config({}, "config.toml")
    found = run_advisors(fleet, AdvisorSettings(), prices,
                         {e.key: requirements_for(e, resolved) for e in fleet.endpoints})
    assert FindingKind.IDLE not in {f.kind for f in found[key]}
    # The endpoint's traffic is the sum of its components'.
    frame = build_features(fleet).endpoints
    chat = fleet.metrics.window_value(key, "ic:chat", "requests")
    summarize = fleet.metrics.window_value(key, "ic:summarize", "requests")
    assert chat and summarize
    assert frame.at[key, "requests"] == pytest.approx(chat + summarize)
    assert frame.at[key, "inference_components"] == 2


def test_idle_component_on_a_busy_endpoint_is_idle_component_not_idle() -> None:
    plan = llm_endpoint("llm-trio",
                        ComponentPlan("chat", copies=2, traffic_share=1.0,
                                      autoscaling=copies_scale()),
                        ComponentPlan("forgotten-rerank", copies=2, traffic_share=0.0,
                                      autoscaling=copies_scale()),
                        instances=2, tags={"env": "staging"})
    result = advise(plan)
    assert FindingKind.IDLE not in kinds_of(result, "llm-trio")  # the wrong answer
    finding = one(result, "llm-trio", FindingKind.IDLE_COMPONENT)
    assert finding.component == "forgotten-rerank"
    assert finding.evidence["requests"] == 0
    assert finding.evidence["reserved_share_pct"] == pytest.approx(25.0)  # 2 of 8 GPUs
    assert finding.evidence["cost_share_monthly_usd"] == pytest.approx(
        2 * G5_12XL_MONTH * 0.25, abs=0.01)
    # Without its copies the busy ones (2 GPUs) fit on one instance: one instance freed.
    assert finding.monthly_savings_usd == pytest.approx(G5_12XL_MONTH, abs=0.01)
    changes = {(c.characteristic, c.component, c.variant): c.proposed
               for c in finding.suggested}
    assert changes == {("copies", "forgotten-rerank", None): 0,
                       ("instance_count", None, "AllTraffic"): 1}


def test_every_component_idle_is_an_idle_endpoint_not_idle_components() -> None:
    plan = llm_endpoint("llm-quiet", ComponentPlan("a", traffic_share=0.0),
                        ComponentPlan("b", traffic_share=0.0), pattern=Pattern.IDLE,
                        tags={"env": "dev"})
    result = advise(plan)
    finding = one(result, "llm-quiet", FindingKind.IDLE)
    assert finding.evidence["inference_components"] == 2
    assert "inference component" in finding.rationale
    assert FindingKind.IDLE_COMPONENT not in kinds_of(result, "llm-quiet")


def test_component_without_invocation_data_is_not_idle() -> None:
    """No datapoints is "no data", never zero: missing traffic is not an idle component."""
    plan = llm_endpoint("llm-unmeasured", missing_invocations=False)
    fleet = fleet_of(plan)
    window = fleet.metrics.window
    window.loc[("us-east-1/llm-unmeasured", "ic:summarize"), "requests"] = float("nan")
    prices = PriceBook.load()
    resolved = RequirementsSettings.from_config({}, "config.toml")
    found = run_advisors(fleet, AdvisorSettings(), prices,
                         {e.key: requirements_for(e, resolved) for e in fleet.endpoints})
    assert not [f for f in found["us-east-1/llm-unmeasured"]
                if f.kind in (FindingKind.IDLE, FindingKind.IDLE_COMPONENT)]


def test_instances_left_empty_by_reservations_are_over_provisioned() -> None:
    # 4 copies of 1 GPU on 3 instances of 4 GPUs: one instance holds them all; production
    # keeps two.
    plan = llm_endpoint("llm-spread", instances=3)
    finding = one(advise(plan), "llm-spread", FindingKind.OVER_PROVISIONED)
    assert finding.variant == "AllTraffic"
    assert finding.evidence["instances_needed"] == 1
    assert finding.evidence["reserved_accelerators"] == 4
    assert finding.evidence["offered_accelerators"] == 12
    change = next(c for c in finding.suggested if c.characteristic == "instance_count")
    assert (change.current, change.proposed) == (3, 2)
    assert finding.monthly_savings_usd == pytest.approx(G5_12XL_MONTH, abs=0.01)


def test_instances_the_copies_fill_are_not_over_provisioned() -> None:
    plan = llm_endpoint("llm-full",
                        ComponentPlan("chat", accelerators=2, copies=3,
                                      autoscaling=copies_scale(3, 4)),
                        ComponentPlan("summarize", accelerators=1, copies=2,
                                      autoscaling=copies_scale(2, 3)),
                        instances=2)  # 8 GPUs reserved of 8
    assert FindingKind.OVER_PROVISIONED not in kinds_of(advise(plan), "llm-full")


def test_managed_instance_scaling_releases_empty_instances_itself() -> None:
    """Pitfall: an endpoint that consolidates itself needs no advice to do so."""
    releases = ManagedInstanceScaling(enabled=True, min_instances=1, max_instances=4,
                                      scale_in_strategy="IDLE_RELEASE")
    quiet = llm_endpoint("llm-managed", instances=3, managed=releases)
    assert FindingKind.OVER_PROVISIONED not in kinds_of(advise(quiet), "llm-managed")
    holds = ManagedInstanceScaling(enabled=True, min_instances=3, max_instances=4)
    finding = one(advise(llm_endpoint("llm-held", instances=3, managed=holds)), "llm-held",
                  FindingKind.OVER_PROVISIONED)
    minimum = next(c for c in finding.suggested if c.characteristic == "min_instances")
    assert (minimum.current, minimum.proposed) == (3, 2)


def test_copies_that_never_scale_are_no_autoscaling_on_the_component() -> None:
    plan = llm_endpoint("llm-fixed",
                        ComponentPlan("chat", copies=2, autoscaling=copies_scale()),
                        ComponentPlan("summarize", copies=2, autoscaling=None),
                        ComponentPlan("embed", copies=0, accelerators=None, cpu_cores=2,
                                      autoscaling=scaling(1, 3, with_policy=False)),
                        managed=ManagedInstanceScaling(enabled=True, min_instances=1,
                                                       max_instances=3))
    result = advise(plan)
    found = findings_of(result, "llm-fixed", FindingKind.NO_AUTOSCALING)
    by_component = {f.component: f for f in found}
    assert set(by_component) == {"summarize", "embed"}  # chat scales
    assert by_component["summarize"].evidence["scalable_target"] == "no"
    assert "without a scaling policy" in by_component["embed"].summary
    assert by_component["summarize"].suggested[0].characteristic == "copies_autoscaling"
    # Not the variant-level finding: instances follow the copies (managed instance scaling).
    assert all(f.component is not None for f in found)


def test_instances_that_follow_their_copies_are_not_single_instance() -> None:
    """The wrong advice: a production LLM pair under managed instance scaling on one
    ml.g5.12xlarge was told to raise MinInstanceCount to 2 (+$5,176/month) or move to four
    smaller instances; SageMaker sizes and replaces those instances from the copies."""
    managed = ManagedInstanceScaling(enabled=True, min_instances=1, max_instances=2)
    result = advise(llm_endpoint("llm-managed-one", managed=managed),
                    llm_endpoint("llm-fixed-one"))
    assert FindingKind.SINGLE_INSTANCE not in kinds_of(result, "llm-managed-one")
    # A fixed count on one instance is the team's to raise: a second instance, or one copy
    # per smaller instance of the same GPU so each model with two copies is on two.
    fixed = one(result, "llm-fixed-one", FindingKind.SINGLE_INSTANCE)
    labels = [o.label for o in fixed.changing]
    assert labels[0] == f"2x {G5_12XL}"
    spread = [o for o in fixed.changing if o.label.endswith("one copy each")]
    assert spread, labels
    for choice in spread:
        proposed = {c.characteristic: c.proposed for c in choice.changes}
        spec = spec_for(str(proposed["instance_type"]))
        assert spec is not None and spec.gpu_model == "A10G" and spec.gpu_count == 1
        assert proposed["instance_count"] == 4  # four copies, one GPU each
        assert (choice.monthly_cost_usd or 0) < fixed.changing[0].monthly_cost_usd  # type: ignore[operator]


def test_staging_components_are_not_told_to_autoscale() -> None:
    plan = llm_endpoint("llm-staging", ComponentPlan("chat", autoscaling=None),
                        tags={"env": "staging"})
    assert FindingKind.NO_AUTOSCALING not in kinds_of(advise(plan), "llm-staging")


def test_copies_that_outgrow_fixed_instances_need_managed_instance_scaling() -> None:
    # At its maximum of 6 copies of 1 GPU, chat needs 2 instances; the variant has 1 and no
    # managed instance scaling.
    plan = llm_endpoint("llm-cramped",
                        ComponentPlan("chat", copies=2, autoscaling=copies_scale(2, 6)))
    found = [f for f in findings_of(advise(plan), "llm-cramped", FindingKind.NO_AUTOSCALING)
             if f.component is None]
    assert len(found) == 1 and found[0].evidence["instances_needed_at_max_copies"] == 2
    managed = ManagedInstanceScaling(enabled=True, min_instances=1, max_instances=2)
    ok = llm_endpoint("llm-roomy", ComponentPlan("chat", copies=2,
                                                 autoscaling=copies_scale(2, 6)),
                      managed=managed)
    assert not [f for f in findings_of(advise(ok), "llm-roomy", FindingKind.NO_AUTOSCALING)
                if f.component is None]


def test_cost_shares_follow_reserved_accelerators_or_cores() -> None:
    gpu = llm_endpoint("llm-shares",
                       ComponentPlan("big", accelerators=3, copies=1),
                       ComponentPlan("small", accelerators=1, copies=1))
    cpu = EndpointPlan(
        name="cpu-shares", variants=(VariantPlan(instance_type="ml.c5.4xlarge",
                                                 instance_count=1),),
        components=(ComponentPlan("a", accelerators=None, cpu_cores=12, copies=1),
                    ComponentPlan("b", accelerators=None, cpu_cores=2, copies=1)))
    fleet = fleet_of(gpu, cpu)
    prices = PriceBook.load()
    gpu_costs = component_costs(fleet.endpoint("llm-shares"), fleet, prices)  # type: ignore[arg-type]
    assert gpu_costs["big"].usd == pytest.approx(G5_12XL_MONTH * 0.75, abs=0.01)
    assert gpu_costs["small"].usd == pytest.approx(G5_12XL_MONTH * 0.25, abs=0.01)
    assert "accelerators" in gpu_costs["big"].source
    cpu_costs = component_costs(fleet.endpoint("cpu-shares"), fleet, prices)  # type: ignore[arg-type]
    c5 = prices.hourly("ml.c5.4xlarge", "us-east-1")
    assert c5 is not None
    assert cpu_costs["a"].usd == pytest.approx(c5.usd_per_hour * 730 * 12 / 16, abs=0.01)
    assert "CPU cores" in cpu_costs["a"].source


def test_packing_places_copies_whole_on_instances() -> None:
    spec = spec_for(G5_12XL)
    assert spec is not None
    fleet = fleet_of(llm_endpoint("llm-pack",
                                  ComponentPlan("tp2", accelerators=2, copies=3),
                                  ComponentPlan("tp1", accelerators=1, copies=1)))
    endpoint = fleet.endpoint("llm-pack")
    assert endpoint is not None
    # 7 GPUs, but a 2-GPU copy never splits: 2+2 | 2+1 -> two instances.
    assert instances_needed(spec, copies_of(endpoint.inference_components)) == 2
    too_big = fleet_of(llm_endpoint("llm-huge", ComponentPlan("tp8", accelerators=8)))
    huge = too_big.endpoint("llm-huge")
    assert huge is not None
    assert instances_needed(spec, copies_of(huge.inference_components)) is None


def test_profile_counts_components_as_models_and_applies_their_changes() -> None:
    plan = llm_endpoint("llm-profile",
                        ComponentPlan("chat", copies=2, traffic_share=1.0,
                                      autoscaling=copies_scale()),
                        ComponentPlan("unused", copies=1, traffic_share=0.0,
                                      autoscaling=None),
                        tags={"env": "production"})
    fleet = fleet_of(plan)
    result = Analyst().analyse(fleet)
    item = result.endpoints["us-east-1/llm-profile"]
    current = item.current
    assert current.models_per_endpoint.value == 2
    assert [c.name for c in current.inference_components] == ["chat", "unused"]
    chat = current.inference_components[0]
    assert chat.copies.value == 2 and chat.accelerators_per_copy.value == 1
    assert chat.copies_autoscaling.value is True
    assert chat.requests_per_day.value and chat.requests_per_day.value > 0
    assert chat.monthly_cost_usd.value == pytest.approx(G5_12XL_MONTH * 0.5, abs=0.01)
    assert current.requests_per_day.value and current.requests_per_day.value > 0
    target = item.target
    unused = next(c for c in target.inference_components if c.name == "unused")
    assert unused.copies.value == 0 and unused.copies.rationale == "idle-component"
    # A component the plan deletes is not set up to autoscale: that finding is covered.
    assert unused.copies_autoscaling.value is False
    covered = next(f for f in item.plan.findings
                   if f.kind.value == "no-autoscaling" and f.component == "unused")
    assert covered.outcome.value == "covered"
    assert item.component_costs["chat"].usd == pytest.approx(G5_12XL_MONTH * 0.5, abs=0.01)
    paths = {d.path: d for d in diff_profiles(current, target)}
    copies = paths["inference_components[unused].copies"]
    assert (copies.before, copies.after, copies.rationale) == (1, 0, "idle-component")
    # Built again from what the analysis carries, the profile is the same.
    again = current_profile(fleet.endpoint("llm-profile"), fleet,  # type: ignore[arg-type]
                            result.features, item.requirements, item._cost, item.component_costs)
    assert again == current
