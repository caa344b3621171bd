"""Advice on the expensive endpoints: GPUs, LLM servers, Inferentia.

Each case is an endpoint an ML-ops engineer meets, with the wrong answer sagetop used to give
named in the test: an LLM server called saturated for the GPU memory it preallocates and sent to
a one-GPU ml.g5.16xlarge, an Inferentia2 model sent to ml.m5.large, a CUDA build sent to
ml.m5.2xlarge. The property test at the end runs random accelerator endpoints over the whole
catalogue and checks every type any finding names can host the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisors.finding import Finding, FindingKind, Severity
from advisors.sizing import larger_in_family, more_accelerator_memory
from ground.catalog import AcceleratorKind, InstanceSpec, bundled_specs, spec_for
from ground.images import ImageBuild, image_facts
from tests.fleet_factory import EndpointPlan, Pattern, VariantPlan, scaling
from tests.test_advisors import advise, findings_of, kinds_of, one

DLC = "763104351884.dkr.ecr.us-east-1.amazonaws.com"
TGI = f"{DLC}/huggingface-pytorch-tgi-inference:2.3.0-tgi2.2.0-gpu-py310-cu121-ubuntu22.04"
TORCH_GPU = f"{DLC}/pytorch-inference:2.3.0-gpu-py311-cu121-ubuntu20.04-sagemaker"
TORCH_CPU = f"{DLC}/pytorch-inference:2.3.0-cpu-py311-ubuntu20.04-sagemaker"
NEURONX = f"{DLC}/pytorch-inference-neuronx:2.1.2-neuronx-py310-sdk2.20.0-ubuntu20.04"
OWN = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ranking/reranker:2026.10"
LLM_SLO = {"env": "production", "sagetop:p99-latency-ms": "12000"}
_TYPE = re.compile(r"ml\.[a-z0-9-]+\.[a-z0-9]+")


def named_types(finding: Finding) -> set[str]:
    """Every instance type a finding proposes: in its changes and in its options."""
    names = {str(c.proposed) for c in finding.suggested if c.characteristic == "instance_type"}
    for option in finding.options:
        if not option.label.startswith("current"):
            names.update(_TYPE.findall(option.label))
    return names


def all_named(findings: Iterable[Finding]) -> set[str]:
    return set().union(*(named_types(f) for f in findings))


def llm_endpoint(name: str = "chat-llm", gpu_peak: float = 50.0, count: int = 2,
                 image: str = TGI, env: tuple[str, ...] = ("HF_MODEL_ID", "SM_NUM_GPUS"),
                 tags: dict[str, str] | None = None) -> EndpointPlan:
    """An LLM sharded over the 4 A10G of each ml.g5.12xlarge: GPU memory at 91 % because the
    server preallocates its KV cache, GPUs moderately busy, generation in seconds."""
    variant = VariantPlan(instance_type="ml.g5.12xlarge", instance_count=count,
                          cpu_peak_pct=14.0, memory_pct=30.0, gpu_idle_pct=8.0,
                          gpu_peak_pct=gpu_peak, gpu_memory_pct=91.0, latency_p50_ms=1800.0,
                          latency_p99_ms=6000.0, autoscaling=scaling(2, 6))
    return EndpointPlan(name=name, pattern=Pattern.DIURNAL, peak_requests_per_hour=5400,
                        variants=(variant,), image=image, environment_keys=env,
                        data_capture=True, tags=tags or dict(LLM_SLO))


# --- LLM servers ------------------------------------------------------------------------------


def test_preallocating_llm_server_is_not_under_provisioned() -> None:
    """Was: critical under-provisioned on GPU memory 91 %, with ml.g5.16xlarge (one GPU) as the
    fix. The model is sharded over four GPUs: it would not even load there."""
    for plan in (llm_endpoint(),
                 # An own image: only the environment (LMI's OPTION_*) says it is an LLM server.
                 llm_endpoint(name="chat-own", image=OWN,
                              env=("OPTION_MAX_MODEL_LEN", "OPTION_ROLLING_BATCH"))):
        result = advise(plan)
        assert FindingKind.UNDER_PROVISIONED not in kinds_of(result, plan.name)
        named = all_named(findings_of(result, plan.name))
        assert "ml.g5.16xlarge" not in named
        assert all((spec_for(t) or _NONE).gpu_count >= 4 for t in named), named


def test_the_same_figures_without_an_llm_server_are_gpu_memory_saturation() -> None:
    """The look-alike: a plain PyTorch model really filling its GPUs' memory."""
    plan = llm_endpoint(name="vision-batch", image=TORCH_GPU, env=())
    finding = one(advise(plan), "vision-batch", FindingKind.UNDER_PROVISIONED)
    assert finding.severity is Severity.CRITICAL
    assert "GPU memory p95 is 91 %" in finding.summary
    proposed = spec_for(str(finding.suggested[0].proposed))
    assert proposed is not None and proposed.accelerator is AcceleratorKind.NVIDIA
    assert proposed.gpu_count >= 4 and (proposed.memory_per_device_gib or 0) > 24
    assert "ml.g5.16xlarge" not in named_types(finding)


def test_llm_server_with_busy_gpus_scales_out_and_keeps_its_gpus() -> None:
    finding = one(advise(llm_endpoint(gpu_peak=96.0)), "chat-llm",
                  FindingKind.UNDER_PROVISIONED)
    assert finding.summary.startswith("Short of capacity: GPU p95")
    assert "GPU memory (91 %) is not read as saturation" in finding.rationale
    assert "KV cache" in finding.rationale
    assert finding.evidence["llm_server"] == "tgi"
    # More instances of the type is among the options (the planner takes the cheapest).
    out = [c for o in finding.changing for c in o.changes if c.characteristic == "instance_count"]
    assert out and out[0].proposed > 2
    for name in named_types(finding):
        spec = spec_for(name)
        assert spec is not None and spec.gpu_model == "A10G" and spec.gpu_count >= 4, name


def test_llm_server_with_spare_gpus_sheds_instances_not_gpus() -> None:
    plan = llm_endpoint(gpu_peak=20.0, count=4)
    finding = one(advise(plan), "chat-llm", FindingKind.OVER_PROVISIONED)
    # Autoscaled 2-6 at four instances: its policy sets the count, so the way to two on average
    # is a higher per-instance target (MinCapacity is already 2), never another type.
    assert [(c.characteristic, c.proposed) for c in finding.suggested] == [
        ("scaling_target_value", 1400.0), ("instance_count", 2)]
    assert "raise the target value" in finding.summary
    assert "GPU memory (91 %) is set aside" in finding.rationale
    assert "preallocates" in finding.rationale and "KV cache" in finding.rationale
    for name in named_types(finding):
        spec = spec_for(name)
        assert spec is not None and spec.gpu_count >= 4 and (spec.gpu_memory_gib or 0) >= 96


def test_fleet_table_does_not_show_preallocated_gpu_memory_as_busiest() -> None:
    """The table's "busiest" cell read 'gmem 91%' in red for a healthy LLM server."""
    from pipeline.analysis import Analyst
    from tests.fleet_factory import fleet_of
    from tui.rows import fleet_measures

    fleet = fleet_of(llm_endpoint(), llm_endpoint(name="vision-batch", image=TORCH_GPU, env=()))
    measures = fleet_measures(fleet, Analyst().analyse(fleet))
    llm = measures["us-east-1/chat-llm"].busiest
    plain = measures["us-east-1/vision-batch"].busiest
    assert llm is not None and llm.label == "gpu" and not llm.saturated
    assert plain is not None and plain.label == "gmem" and plain.pct >= 90 and plain.saturated


# --- Inferentia -------------------------------------------------------------------------------


def _inf2(name: str, instance_type: str, count: int, tags: dict[str, str]) -> EndpointPlan:
    variant = VariantPlan(instance_type=instance_type, instance_count=count, cpu_peak_pct=3.0,
                          memory_pct=8.0, latency_p50_ms=9.0, latency_p99_ms=25.0,
                          autoscaling=scaling(count, count * 2))
    return EndpointPlan(name=name, pattern=Pattern.DIURNAL, peak_requests_per_hour=2700,
                        variants=(variant,), image=NEURONX, tags=tags)


def test_lightly_used_inferentia2_endpoint_is_never_sent_to_cpu() -> None:
    """Was: 1x ml.inf2.xlarge -> ml.m5.large. The model is compiled for Inferentia2."""
    plan = _inf2("embed-inf2", "ml.inf2.xlarge", 1, {"env": "staging"})
    result = advise(plan)
    kinds = kinds_of(result, "embed-inf2")
    assert not kinds & {FindingKind.OVER_PROVISIONED, FindingKind.SERVERLESS_CANDIDATE,
                        FindingKind.MULTI_MODEL_CANDIDATE}
    assert "ml.m5.large" not in all_named(findings_of(result, "embed-inf2"))


def test_oversized_inferentia_host_shrinks_within_inf2() -> None:
    finding = one(advise(_inf2("embed-inf2", "ml.inf2.8xlarge", 2, {"env": "production"})),
                  "embed-inf2", FindingKind.OVER_PROVISIONED)
    assert finding.summary.startswith("2x ml.inf2.8xlarge could be 2x ml.inf2.xlarge")
    assert "publishes no Inferentia2 utilisation" in finding.rationale
    for name in named_types(finding):
        spec = spec_for(name)
        assert spec is not None and spec.family == "inf2", name


def test_inf1_model_never_moves_to_inf2() -> None:
    variant = VariantPlan(instance_type="ml.inf1.6xlarge", instance_count=3, cpu_peak_pct=4.0,
                          memory_pct=10.0, autoscaling=scaling(3, 6))
    plan = EndpointPlan(name="legacy-inf1", variants=(variant,), peak_requests_per_hour=3000,
                        image=f"{DLC}/pytorch-inference-neuron:1.13.1-neuron-py310-sdk2.18.0")
    for name in all_named(findings_of(advise(plan), "legacy-inf1")):
        spec = spec_for(name)
        assert spec is not None and spec.family == "inf1" and spec.gpu_count >= 4, name


# --- GPU models -------------------------------------------------------------------------------


def _reranker(image: str) -> EndpointPlan:
    variant = VariantPlan(instance_type="ml.g5.2xlarge", instance_count=2, cpu_peak_pct=11.0,
                          memory_pct=24.0, gpu_idle_pct=0.5, gpu_peak_pct=3.0,
                          gpu_memory_pct=19.0, autoscaling=scaling(2, 4))
    return EndpointPlan(name="reranker", variants=(variant,), peak_requests_per_hour=14_000,
                        image=image, data_capture=True)


def test_gpu_build_is_never_sent_to_cpu() -> None:
    """Was: 2x ml.g5.2xlarge -> ml.m5.2xlarge for a `-gpu` PyTorch image: a CUDA build."""
    finding = one(advise(_reranker(TORCH_GPU)), "reranker", FindingKind.OVER_PROVISIONED)
    assert finding.summary.startswith("2x ml.g5.2xlarge could be 2x ml.g5.xlarge")
    named = named_types(finding)
    assert "ml.m5.2xlarge" not in named
    assert all((spec_for(t) or _NONE).has_gpu for t in named), named
    assert "the image is a GPU build: CPU types are not considered" in finding.rationale


def test_unknown_build_gets_cpu_as_an_option_behind_a_gpu_suggestion() -> None:
    finding = one(advise(_reranker(OWN)), "reranker", FindingKind.OVER_PROVISIONED)
    suggested = [c.proposed for c in finding.suggested if c.characteristic == "instance_type"]
    assert suggested == ["ml.g5.xlarge"]  # the headline stays on the GPU
    cpu = [o for o in finding.options if _TYPE.findall(o.label)
           and not (spec_for(_TYPE.findall(o.label)[0]) or _NONE).has_accelerator]
    assert cpu, [o.label for o in finding.options]
    for option in cpu:
        assert not option.fits  # unproven: it is never the chosen one
        assert "CPU build" in option.note and "load test" in option.note
        assert "Inference Recommender" in option.note and "p99" in option.note
    assert "listed as options, not suggested" in finding.rationale


def test_accelerator_endpoints_are_never_serverless_or_multi_model() -> None:
    plans = [EndpointPlan(name=f"sparse-gpu-{i}", pattern=Pattern.BURSTY,
                          peak_requests_per_hour=200, image=TORCH_GPU, tags={"env": "dev"},
                          variants=(VariantPlan(instance_type="ml.g4dn.xlarge", instance_count=1,
                                                cpu_peak_pct=3.0, memory_pct=10.0,
                                                gpu_peak_pct=2.0, gpu_memory_pct=10.0),))
             for i in range(4)]
    plans.append(_inf2("sparse-inf2", "ml.inf2.xlarge", 1, {"env": "dev"}))
    result = advise(*plans)
    for plan in plans:
        assert FindingKind.MULTI_MODEL_CANDIDATE not in kinds_of(result, plan.name)
        # Idle most hours: the finding says the accelerator stops serverless, never offers it.
        for finding in result[f"us-east-1/{plan.name}"]:
            if finding.kind is FindingKind.SERVERLESS_CANDIDATE:
                assert not any(o.fits for o in finding.changing)
                assert "serverless does not fit" in finding.summary


def test_an_unknown_type_is_unknown_not_a_cpu_type() -> None:
    """A type neither the table nor the price cache knows gets no sizing and no serverless."""
    variant = VariantPlan(instance_type="ml.x9q.2xlarge", instance_count=1, cpu_peak_pct=2.0,
                          memory_pct=10.0)
    plan = EndpointPlan(name="mystery", pattern=Pattern.BURSTY, peak_requests_per_hour=100,
                        variants=(variant,), tags={"env": "dev"})
    kinds = kinds_of(advise(plan), "mystery")
    assert not kinds & {FindingKind.OVER_PROVISIONED, FindingKind.SERVERLESS_CANDIDATE,
                        FindingKind.MULTI_MODEL_CANDIDATE}


# --- larger sizes keep the accelerators -------------------------------------------------------


@pytest.mark.parametrize(("current", "larger"), [
    ("ml.g5.12xlarge", "ml.g5.24xlarge"),  # was ml.g5.16xlarge: more vCPUs, one GPU of four
    ("ml.g4dn.12xlarge", None),  # ml.g4dn.16xlarge has 1 T4: nothing larger keeps 4
    ("ml.g5.xlarge", "ml.g5.2xlarge"),
    ("ml.p5.4xlarge", "ml.p5.48xlarge"),
    ("ml.inf2.xlarge", "ml.inf2.8xlarge"),
    ("ml.inf2.8xlarge", "ml.inf2.24xlarge"),
    ("ml.trn1.2xlarge", "ml.trn1.32xlarge"),
    ("ml.c5.xlarge", "ml.c5.2xlarge"),
    ("ml.p5e.48xlarge", None),
])
def test_larger_in_family_keeps_the_accelerators(current: str, larger: str | None) -> None:
    spec = spec_for(current)
    assert spec is not None
    found = larger_in_family(spec)
    assert (found.instance_type if found else None) == larger
    for more_memory in (False, True):
        bigger = larger_in_family(spec, more_memory=more_memory)
        if bigger is not None:
            assert bigger.accelerator is spec.accelerator and bigger.gpu_model == spec.gpu_model
            assert bigger.gpu_count >= spec.gpu_count
            assert (bigger.gpu_memory_gib or 0) >= (spec.gpu_memory_gib or 0)


def test_more_accelerator_memory_keeps_the_kind_and_the_devices() -> None:
    g5 = spec_for("ml.g5.12xlarge")
    assert g5 is not None
    bigger = more_accelerator_memory(g5)
    assert bigger is not None and bigger.accelerator is AcceleratorKind.NVIDIA
    assert bigger.gpu_count >= 4 and (bigger.memory_per_device_gib or 0) > 24
    cpu = spec_for("ml.m5.xlarge")
    assert cpu is not None and more_accelerator_memory(cpu) is None


# --- every proposal can host the model ---------------------------------------------------------

_NONE = InstanceSpec("ml.none.none", 1, 1.0, AcceleratorKind.NONE, 0, None, 0.0, None, "")
ACCELERATED = sorted(name for name, spec in bundled_specs().items() if spec.has_accelerator)
# Proposals can only name priced types: drawing these half the time finds wrong moves sooner.
PRICED = [name for name in ACCELERATED if bundled_specs()[name].price_per_hour_usd]
IMAGES = {
    "tgi": (TGI, ()),
    "torch-gpu": (TORCH_GPU, ()),
    "neuronx": (NEURONX, ()),
    "torch-cpu": (TORCH_CPU, ()),
    "own": (OWN, ()),
    "own-lmi": (OWN, ("OPTION_MAX_MODEL_LEN",)),
}


@st.composite
def accelerator_endpoint(draw: st.DrawFn, index: int) -> EndpointPlan:
    instance_type = draw(st.sampled_from(ACCELERATED) | st.sampled_from(PRICED))
    spec = bundled_specs()[instance_type]
    gpu = spec.has_gpu  # only NVIDIA GPUs publish GPU metrics
    # Low figures half the time: small models on big hosts are where wrong moves hide.
    pct = st.floats(min_value=0.5, max_value=12.0) | st.floats(min_value=0.5, max_value=99.0)
    image, env = IMAGES[draw(st.sampled_from(sorted(IMAGES)))]
    variant = VariantPlan(
        instance_type=instance_type, instance_count=draw(st.integers(1, 4)),
        cpu_idle_pct=1.0, cpu_peak_pct=draw(pct), memory_pct=draw(pct),
        gpu_idle_pct=0.0 if gpu else None, gpu_peak_pct=draw(pct) if gpu else None,
        gpu_memory_pct=draw(pct) if gpu else None,
        latency_p99_ms=draw(st.sampled_from([40.0, 900.0, 9000.0])),
        errors_grow_with_load=draw(st.booleans()))
    return EndpointPlan(
        name=f"accel-{index}", variants=(variant,), image=image, environment_keys=env,
        pattern=draw(st.sampled_from([Pattern.DIURNAL, Pattern.STEADY, Pattern.BURSTY])),
        peak_requests_per_hour=draw(st.sampled_from([300.0, 6000.0, 60_000.0])),
        tags={"env": draw(st.sampled_from(["production", "dev"]))})


def _check_can_host(plan: EndpointPlan, findings: list[Finding]) -> None:
    variant = plan.variants[0]
    current = bundled_specs()[str(variant.instance_type)]
    facts = image_facts(plan.image)
    llm = facts.llm_server is not None or bool(plan.environment_keys)
    in_use = current.gpu_memory_gib or 0.0
    if current.has_gpu and not llm and variant.gpu_memory_pct is not None:
        in_use = min(in_use, variant.gpu_memory_pct / 100.0 * in_use)
    for finding in findings:
        assert not any(c.characteristic == "deployment_option" for c in finding.suggested), \
            finding.summary  # never serverless, never multi-model
        suggested = {str(c.proposed) for c in finding.suggested
                     if c.characteristic == "instance_type"}
        for name in named_types(finding):
            spec = spec_for(name)
            assert spec is not None, name
            if not spec.has_accelerator:
                # GPU to CPU: an unproven option for a nearly idle GPU, never the suggestion,
                # never for a GPU or Neuron build, never for an LLM server.
                assert current.has_gpu, (current.instance_type, name)
                assert name not in suggested, finding.summary
                assert facts.build not in (ImageBuild.GPU, ImageBuild.NEURON), plan.image
                assert not llm
                assert all(not o.fits for o in finding.options if name in o.label)
                continue
            assert spec.accelerator is current.accelerator, (current.instance_type, name)
            assert spec.generation == current.generation, (current.instance_type, name)
            assert spec.gpu_count >= current.gpu_count, (current.instance_type, name)
            assert (spec.gpu_memory_gib or 0.0) >= in_use - 1e-6, (current.instance_type, name)


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(), min_size=1, max_size=3).flatmap(
    lambda seeds: st.tuples(*(accelerator_endpoint(i) for i in range(len(seeds))))))
def test_every_proposed_type_can_host_the_model(plans: tuple[EndpointPlan, ...]) -> None:
    result = advise(*plans)
    for plan in plans:
        _check_can_host(plan, findings_of(result, plan.name))
