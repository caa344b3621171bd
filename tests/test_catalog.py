"""The instance catalogue: every hostable type has specs, accelerators are named, families are
read right (Graviton, burstable, Neuron generation), and only NVIDIA GPUs are asked for GPU
metrics, by the collector and by the simulated account alike."""

from __future__ import annotations

import datetime as dt
import json
import re
from importlib import resources

import botocore.session
import pytest

from collectors.metrics import plan_endpoint
from ground.catalog import AcceleratorKind, bundled_specs, instance_specs, spec_for
from ground.domain import DeploymentOption, EndpointSnapshot, VariantSnapshot
from ground.series import Tier
from simulator.fleet import SimEndpoint, SimVariant
from simulator.metrics import MetricModel

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def hostable_types() -> list[str]:
    """Every value of ProductionVariantInstanceType in the botocore installed."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return list(model.shape_for("ProductionVariantInstanceType").enum)


def test_every_type_an_endpoint_accepts_has_specs() -> None:
    types = hostable_types()
    assert len(types) >= 271  # botocore 1.43.11 has 271, 1.43.117 and 1.44.8 have 277
    missing = [t for t in types if spec_for(t) is None]
    assert missing == []
    for name in types:
        spec = spec_for(name)
        assert spec is not None
        assert spec.vcpu > 0 and spec.memory_gib > 0, name
        if spec.has_accelerator:
            assert spec.gpu_count > 0 and spec.gpu_model and spec.gpu_memory_gib, name
        else:
            assert spec.gpu_count == 0 and spec.gpu_model is None, name
        assert "spec:" in spec.source, name  # every row names its sources


def test_the_bundled_table_holds_only_hostable_types() -> None:
    """ml.t3.* are notebook types: no endpoint can run on them."""
    assert set(bundled_specs()) <= set(hostable_types())
    assert spec_for("ml.t3.medium") is None


@pytest.mark.parametrize(("instance_type", "kind", "count", "model", "memory_gib"), [
    ("ml.g5.12xlarge", AcceleratorKind.NVIDIA, 4, "A10G", 96.0),
    ("ml.g5.16xlarge", AcceleratorKind.NVIDIA, 1, "A10G", 24.0),  # not a bigger g5.12xlarge
    ("ml.g6e.xlarge", AcceleratorKind.NVIDIA, 1, "L40S", 48.0),
    ("ml.p4de.24xlarge", AcceleratorKind.NVIDIA, 8, "A100", 640.0),
    ("ml.p5en.48xlarge", AcceleratorKind.NVIDIA, 8, "H200", 1128.0),
    ("ml.inf1.xlarge", AcceleratorKind.INFERENTIA, 1, "Inferentia", 8.0),
    ("ml.inf2.xlarge", AcceleratorKind.INFERENTIA, 1, "Inferentia2", 32.0),
    ("ml.inf2.48xlarge", AcceleratorKind.INFERENTIA, 12, "Inferentia2", 384.0),
    ("ml.trn1.2xlarge", AcceleratorKind.TRAINIUM, 1, "Trainium", 32.0),
    ("ml.trn2.48xlarge", AcceleratorKind.TRAINIUM, 16, "Trainium2", 1536.0),
    ("ml.dl1.24xlarge", AcceleratorKind.HABANA, 8, "Gaudi HL-205", 256.0),
    ("ml.m7i.large", AcceleratorKind.NONE, 0, None, 0.0),
])
def test_accelerators_are_named(instance_type: str, kind: AcceleratorKind, count: int,
                                model: str | None, memory_gib: float) -> None:
    spec = spec_for(instance_type)
    assert spec is not None
    assert (spec.accelerator, spec.gpu_count, spec.gpu_model, spec.gpu_memory_gib) == (
        kind, count, model, memory_gib)
    # GPU metrics are NVIDIA's alone: an Inferentia chip is not a GPU.
    assert spec.has_gpu is (kind is AcceleratorKind.NVIDIA)


def test_neuron_generations() -> None:
    generations = {spec.family: spec.generation for spec in bundled_specs().values()
                   if spec.accelerator in (AcceleratorKind.INFERENTIA, AcceleratorKind.TRAINIUM)}
    assert generations == {"inf1": 1, "inf2": 2, "trn1": 1, "trn1n": 1, "trn2": 2}
    assert all(spec.generation is None for spec in bundled_specs().values()
               if spec.accelerator is AcceleratorKind.NVIDIA)


GRAVITON_FAMILIES = {"c6g", "c6gd", "c6gn", "c7g", "c8g", "m6g", "m6gd", "m8g", "r6g", "r6gd",
                     "r7gd", "r8g"}


def test_graviton_and_cpu_architecture_for_every_family() -> None:
    families = {spec.family: spec for spec in bundled_specs().values()}
    assert {name for name, spec in families.items() if spec.is_graviton} == GRAVITON_FAMILIES
    # GB200 pairs Blackwell GPUs with NVIDIA Grace CPUs: arm64, though not Graviton.
    arm = {name for name, spec in families.items() if spec.cpu_architecture == "arm64"}
    assert arm == GRAVITON_FAMILIES | {"p6e-gb200"}
    # g4dn, g5, g6e are GPU families, not Graviton, whatever their letters.
    assert not any(families[f].is_graviton for f in ("g4dn", "g5", "g6e", "g7e", "inf2"))


def test_trainium_is_not_burstable() -> None:
    """A family check like startswith("t") used to catch trn1 along with t2."""
    burstable = {spec.family for spec in bundled_specs().values() if spec.is_burstable}
    assert burstable == {"t2"}
    for name in ("ml.trn1.2xlarge", "ml.trn1n.32xlarge", "ml.trn2.48xlarge"):
        spec = spec_for(name)
        assert spec is not None and not spec.is_burstable


def test_price_source_keys_are_spelled_out_in_prices_meta() -> None:
    meta = json.loads(resources.files("ground").joinpath("data/prices-meta.json")
                      .read_text("utf-8"))
    used: set[str] = set()
    for spec in bundled_specs().values():
        part = next(p.strip()[len("price:"):] for p in spec.source.split(";")
                    if p.strip().startswith("price:"))
        keys = {re.match(r"[A-Z]+|none", token.strip()).group(0)  # type: ignore[union-attr]
                for token in part.split("+")}
        assert (spec.price_per_hour_usd is None) == (keys == {"none"}), spec.instance_type
        used |= keys - {"none"}
    assert used == set(meta["sources"])  # no key unexplained, none explained for nothing


def test_sourced_prices_kept_from_the_old_table() -> None:
    """The prices the previous bundle had from AWS-authored sources are still there."""
    expected = {"ml.t2.medium": 0.056, "ml.c5.xlarge": 0.204, "ml.g4dn.xlarge": 0.7364,
                "ml.g5.12xlarge": 7.09, "ml.g6.48xlarge": 16.688, "ml.p5.48xlarge": 113.068,
                "ml.inf2.xlarge": 0.99, "ml.m5.large": 0.115, "ml.c5d.xlarge": 0.23}
    for name, usd in expected.items():
        spec = spec_for(name)
        assert spec is not None and spec.price_per_hour_usd == usd, name


def test_instance_specs_is_the_bundle_without_a_refresh() -> None:
    assert instance_specs() == bundled_specs()


def _endpoint(instance_type: str) -> EndpointSnapshot:
    variant = VariantSnapshot(name="AllTraffic", instance_type=instance_type,
                              current_instance_count=1, desired_instance_count=1)
    return EndpointSnapshot(name="e", arn="arn:aws:sagemaker:us-east-1:1:endpoint/e",
                            region="us-east-1", status="InService",
                            deployment=DeploymentOption.REAL_TIME, creation_time=NOW,
                            last_modified_time=NOW, variants=(variant,))


@pytest.mark.parametrize("instance_type", ["ml.inf2.xlarge", "ml.inf1.6xlarge",
                                           "ml.trn1.32xlarge", "ml.dl1.24xlarge"])
def test_no_gpu_metric_is_asked_or_published_for_aws_silicon(instance_type: str) -> None:
    """SageMaker documents GPUUtilization for GPUs only: asking for it on Inferentia would
    return nothing, and nothing is not 0 %."""
    asked = {q["MetricStat"]["Metric"]["MetricName"]
             for q, _ in plan_endpoint(_endpoint(instance_type), Tier.WINDOW)}
    assert "CPUUtilization" in asked and "MemoryUtilization" in asked
    assert not asked & {"GPUUtilization", "GPUMemoryUtilization"}
    sim = SimEndpoint(index=0, name="e", region="us-east-1", archetype="test", created=NOW,
                      last_modified=NOW, variants=[SimVariant("AllTraffic", instance_type)],
                      image="x")
    published = {metric for _, metric, _ in MetricModel(seed=1).published(sim)}
    assert "CPUUtilization" in published
    assert not published & {"GPUUtilization", "GPUMemoryUtilization"}


def test_gpu_metrics_are_normalised_by_the_gpu_count() -> None:
    targets = {t.series: t.divisor for _, t in plan_endpoint(_endpoint("ml.g5.12xlarge"),
                                                             Tier.WINDOW)}
    assert targets["gpu_p95_pct"] == 4.0 and targets["gpu_memory_p95_pct"] == 4.0
    assert targets["cpu_p95_pct"] == 48.0
