"""ML profiles: building current and target profiles, files, rationale, diff and snapshot."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from advisors.finding import CostedOption, Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.registry import advise
from advisors.settings import AdvisorSettings
from ground.atomic import write_files_atomically
from ground.domain import (
    AutoscalingInfo,
    ContainerInfo,
    DataCaptureInfo,
    DeploymentOption,
    EndpointSnapshot,
    FleetSnapshot,
    MetricStore,
    ModelInfo,
    ProvisioningRow,
    ScalingPolicyInfo,
    VariantSnapshot,
)
from ground.errors import ExitCode, SagetopError
from ground.images import image_facts
from ground.pricing import PriceBook
from ground.requirements import Environment, Requirements
from pipeline.analysis import Analyst
from pipeline.planner import Decisions, EndpointPlanner
from profiles.build import current_profile, latency_class_for
from profiles.diff import diff_profiles, render_diff
from profiles.errors import ProfileError
from profiles.files import (
    SCHEMA_FILE,
    profile_from_yaml,
    profile_json_schema,
    profile_schema_text,
    profile_to_yaml,
    read_profile,
    write_profile,
)
from profiles.maturity import Maturity, MaturitySettings, assess
from profiles.model import (
    Bound,
    ContainerSource,
    LatencyClass,
    MLProfile,
    Origin,
    PipelineShape,
    ProfileKind,
    TrafficPattern,
)
from profiles.plan import EndpointPlan, OptionStatus, Outcome
from profiles.rationale import escape_markdown, format_usd, render_rationale
from profiles.snapshot import endpoint_paths, safe_file_stem
from profiles.target import target_profile

NOW = dt.datetime(2026, 9, 15, 12, 0, tzinfo=dt.UTC)
LOOKBACK_DAYS = 14
REGION = "us-east-1"
DLC_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.3-cpu-py311"


# ------------------------------------------------------------------------------------ fixtures

def diurnal_hours(days: int = LOOKBACK_DAYS, peak: float = 3000.0, seed: int = 7) -> pd.Series:
    """Business-hours traffic: a sine over the day peaking at 14:00 UTC, Poisson noise."""
    index = pd.date_range(NOW - dt.timedelta(days=days), periods=days * 24, freq="h")
    rng = np.random.default_rng(seed)
    hour = np.asarray(index.hour)
    rate = peak * (0.55 + 0.45 * np.cos((hour - 14) / 24 * 2 * np.pi))
    return pd.Series(rng.poisson(rate).astype(float), index=index)


def make_endpoint(name: str = "web-fraud", *, instance_type: str = "ml.c5.2xlarge",
                  count: int = 4, image: str = DLC_IMAGE, tags: dict[str, str] | None = None,
                  autoscaling: bool = False, vpc: bool = False, kms: str | None = None,
                  deployment: DeploymentOption = DeploymentOption.REAL_TIME,
                  model_bytes: int | None = 524_288_000,
                  config_history: tuple[dt.datetime, ...] = ()) -> EndpointSnapshot:
    model = ModelInfo(
        name=f"{name}-model",
        containers=(ContainerInfo(image=image, model_data_url=f"s3://models/{name}/model.tar.gz",
                                  model_bytes=model_bytes),),
        vpc=vpc, creation_time=NOW - dt.timedelta(days=40))
    scaling = AutoscalingInfo(
        min_capacity=2, max_capacity=6,
        policies=(ScalingPolicyInfo(name="tt", policy_type="TargetTrackingScaling",
                                    target_value=70.0),)) if autoscaling else None
    variant = VariantSnapshot(name="AllTraffic", model_name=model.name,
                              instance_type=instance_type, current_instance_count=count,
                              desired_instance_count=count, model=model, autoscaling=scaling)
    return EndpointSnapshot(
        name=name, arn=f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{name}",
        region=REGION, status="InService", deployment=deployment,
        creation_time=NOW - dt.timedelta(days=120), last_modified_time=NOW - dt.timedelta(days=20),
        config_history=config_history, variants=(variant,), tags=tags or {},
        data_capture=DataCaptureInfo(enabled=False), kms_key_id=kms)


def make_fleet(endpoints: list[EndpointSnapshot], hourly: dict[str, pd.Series] | None = None,
               window: dict[str, dict[str, float]] | None = None,
               provisioning: tuple[ProvisioningRow, ...] = ()) -> FleetSnapshot:
    """A fleet whose metrics hold `window` statistics and `hourly` requests per endpoint key."""
    rows = {(e.key, "AllTraffic"): (window or {}).get(e.key, {}) for e in endpoints}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index = pd.MultiIndex.from_tuples(list(rows), names=["endpoint", "variant"])
    hourly_frame = pd.DataFrame({(key, "AllTraffic"): series
                                 for key, series in (hourly or {}).items()})
    metrics = MetricStore(window=frame, hourly={"requests": hourly_frame},
                          window_start=NOW - dt.timedelta(days=LOOKBACK_DAYS), window_end=NOW)
    return FleetSnapshot(collected_at=NOW, account_id="123456789012", regions=(REGION,),
                         lookback_days=LOOKBACK_DAYS, endpoints=tuple(endpoints),
                         provisioning=provisioning, metrics=metrics)


def busy_window(requests: float = 4_000_000.0) -> dict[str, float]:
    return {"requests": requests, "errors_5xx": 40.0, "model_latency_p99_us": 45_200.0,
            "model_latency_p50_us": 12_000.0, "cpu_p95_pct": 12.5, "memory_p95_pct": 22.0,
            "concurrency_max": 9.0}


def production_requirements(**overrides: Any) -> Requirements:
    values: dict[str, Any] = {
        "environment": Environment.PRODUCTION, "p99_latency_ms": 200.0,
        "cold_start_tolerance_ms": 0.0, "max_payload_mb": 1.5, "min_instances": 2,
        "sources": {"environment": "tag sagetop:environment",
                    "p99_latency_ms": "config.toml [[requirements.rules]] pattern 'web-*'",
                    "min_instances": "default for production"}}
    values.update(overrides)
    return Requirements(**values)


def profile_of(endpoint: EndpointSnapshot, fleet: FleetSnapshot,
               requirements: Requirements) -> MLProfile:
    """The current profile as the analysis builds it: from the advisors' features and costs."""
    advice = advise(fleet, AdvisorSettings(), PriceBook(), {endpoint.key: requirements})
    return current_profile(endpoint, fleet, advice.features, requirements,
                           advice.costs[endpoint.key], advice.component_costs[endpoint.key])


def maturity_of(current: MLProfile, target: MLProfile) -> tuple[Maturity, Maturity]:
    saturation = AdvisorSettings().saturation_pct
    return (assess(current, MaturitySettings(), saturation),
            assess(target, MaturitySettings(), saturation))


def built_profile(**endpoint_options: Any) -> MLProfile:
    endpoint = make_endpoint(**endpoint_options)
    fleet = make_fleet([endpoint], hourly={endpoint.key: diurnal_hours()},
                       window={endpoint.key: busy_window()})
    return profile_of(endpoint, fleet, production_requirements())


def downsize_finding(key: str = "us-east-1/web-fraud") -> Finding:
    return Finding(
        kind=FindingKind.OVER_PROVISIONED, severity=Severity.WARNING, endpoint=key,
        variant="AllTraffic", summary="4 x ml.c5.2xlarge run at 12.5 % CPU",
        rationale="CPU p95 12.5 % per instance over 14 days; 2 x ml.c5.xlarge would run at 50 %.",
        evidence={"cpu_p95_pct": 12.5, "model_latency_p99_us": 45_200.0, "instances": 4,
                  "requests": 4_000_000},
        options=(CostedOption(kind=OptionKind.KEEP, label="4x ml.c5.2xlarge (today)",
                              monthly_cost_usd=1191.36, price_source="catalogue us-east-1",
                              fits=True),
                 CostedOption(kind=OptionKind.RESIZE, label="2x ml.c5.xlarge",
                              monthly_cost_usd=297.84, price_source="catalogue us-east-1",
                              fits=True, changes=(
                                  ProfileChange(characteristic="instance_type",
                                                current="ml.c5.2xlarge", proposed="ml.c5.xlarge",
                                                variant="AllTraffic"),
                                  ProfileChange(characteristic="instance_count", current=4,
                                                proposed=2, variant="AllTraffic"))),
                 CostedOption(kind=OptionKind.RESIZE, label="1x ml.c5.xlarge",
                              monthly_cost_usd=148.92, price_source="catalogue us-east-1",
                              fits=False, note="below the 2-instance minimum", changes=(
                                  ProfileChange(characteristic="instance_type",
                                                current="ml.c5.2xlarge", proposed="ml.c5.xlarge",
                                                variant="AllTraffic"),
                                  ProfileChange(characteristic="instance_count", current=4,
                                                proposed=1, variant="AllTraffic")))),
        monthly_savings_usd=893.52)


def capture_finding(key: str = "us-east-1/web-fraud") -> Finding:
    return Finding(kind=FindingKind.NO_DATA_CAPTURE, severity=Severity.INFO, endpoint=key,
                   summary="no data capture", rationale="Production endpoint without capture.",
                   options=(CostedOption(kind=OptionKind.KEEP, label="no capture",
                                         monthly_cost_usd=None, price_source="-", fits=True),
                            CostedOption(kind=OptionKind.CONFIGURE, label="capture",
                                         monthly_cost_usd=None, price_source="-", fits=True,
                                         changes=(ProfileChange(characteristic="data_capture",
                                                                current=False, proposed=True),))))


def plan_for(profile: MLProfile, findings: list[Finding],
             decisions: Decisions | None = None) -> EndpointPlan:
    """The planner's plan for one endpoint from its current profile (no multi-model group)."""
    planner = EndpointPlanner(profile.key, findings, profile.shape(),
                              profile.monthly_cost_usd.value, decisions or Decisions())
    return planner.plan()[0]


def target_of(profile: MLProfile, findings: list[Finding],
              decisions: Decisions | None = None) -> MLProfile:
    return target_profile(profile, plan_for(profile, findings, decisions), findings)


# ------------------------------------------------------------------------- current profile

def test_current_profile_reads_every_characteristic_with_its_origin() -> None:
    profile = built_profile(tags={"team": "fraud"}, config_history=(
        NOW - dt.timedelta(days=20), NOW - dt.timedelta(days=50), NOW - dt.timedelta(days=80)))

    assert profile.kind is ProfileKind.CURRENT
    assert profile.deployment_option.value is DeploymentOption.REAL_TIME
    assert profile.model_size_bytes.value == 524_288_000
    assert profile.models_per_endpoint.value == 1
    assert profile.frameworks.value == ["pytorch"]
    assert profile.container.value is ContainerSource.AWS_PREBUILT
    assert profile.pipeline_shape.value is PipelineShape.SINGLE
    variant = profile.variants[0]
    assert (variant.instance_type.value, variant.instance_count.value) == ("ml.c5.2xlarge", 4)
    assert variant.cpu_p95_pct.value == 12.5 and variant.cpu_p95_pct.origin is Origin.OBSERVED
    assert profile.update_frequency_days.value == 30.0
    assert profile.update_frequency_days.bound is None
    # One model version 40 days old: the retraining interval is at least 40 days.
    assert profile.retraining_frequency_days.value == 40.0
    assert profile.retraining_frequency_days.bound is Bound.AT_LEAST
    assert profile.traffic_pattern.value is TrafficPattern.DIURNAL
    assert profile.p99_latency_ms.value == pytest.approx(45.2)
    assert profile.latency_class.value is LatencyClass.REAL_TIME_INTERACTIVE
    assert profile.requests_per_day.value == pytest.approx(4_000_000 / 14)
    assert profile.error_rate_5xx_pct.value == pytest.approx(0.001)
    assert profile.concurrency.value == 9.0
    assert profile.payload_size_mb.value == 1.5
    assert profile.payload_size_mb.origin is Origin.REQUIRED
    assert profile.cold_start_tolerance_ms.value == 0.0
    # 4 x ml.c5.2xlarge at the catalogue's us-east-1 price, 730 h.
    assert profile.monthly_cost_usd.value == pytest.approx(4 * 0.408 * 730, rel=0.01)
    assert profile.monthly_cost_usd.source
    assert profile.requirements.sources["p99_latency_ms"].startswith("config.toml")
    assert profile.tags == {"team": "fraud"}


def test_payload_size_is_unknown_without_a_requirement() -> None:
    endpoint = make_endpoint()
    fleet = make_fleet([endpoint], window={endpoint.key: busy_window()})
    profile = profile_of(endpoint, fleet, production_requirements(max_payload_mb=None))
    assert profile.payload_size_mb.value is None
    assert "not observable" in profile.payload_size_mb.note
    # No hourly series at all: the pattern is unknown, never "idle".
    assert profile.traffic_pattern.value is None


def test_unknown_model_size_stays_unknown() -> None:
    assert built_profile(model_bytes=None).model_size_bytes.value is None


@pytest.mark.parametrize(("p99_ms", "expected"), [
    (99.9, LatencyClass.REAL_TIME_INTERACTIVE), (100.0, LatencyClass.REAL_TIME),
    (999.0, LatencyClass.REAL_TIME), (1000.0, LatencyClass.NEAR_REAL_TIME),
    (59_999.0, LatencyClass.NEAR_REAL_TIME), (60_000.0, LatencyClass.OFFLINE),
])
def test_latency_class_boundaries(p99_ms: float, expected: LatencyClass) -> None:
    assert latency_class_for(p99_ms) is expected


# ------------------------------------------------------------------------- images

@pytest.mark.parametrize(("image", "mode", "frameworks", "source"), [
    ("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.3.0-gpu-py311-cu121"
     "-ubuntu20.04-sagemaker", "Platform", ("pytorch",), ContainerSource.AWS_PREBUILT),
    ("763104351884.dkr.ecr.eu-west-1.amazonaws.com/tensorflow-inference:2.13.0-cpu",
     "Platform", ("tensorflow",), ContainerSource.AWS_PREBUILT),
    ("123456789012.dkr.ecr.us-west-2.amazonaws.com/team/tensorflow-serving:2.16",
     "Platform", ("tensorflow",), ContainerSource.OWN_IMAGE),
    ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "Platform",
     ("xgboost",), ContainerSource.AWS_PREBUILT),
    ("141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
     "Platform", ("sklearn",), ContainerSource.AWS_PREBUILT),
    ("763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
     "2.1.1-tgi2.0.0-gpu-py310-cu121-ubuntu22.04", "Platform",
     ("huggingface", "tgi", "pytorch"), ContainerSource.AWS_PREBUILT),
    ("763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.29.0-lmi11.0.0-cu124",
     "Platform", ("djl-lmi",), ContainerSource.AWS_PREBUILT),
    ("727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/pytorch-inference:2.1.0-cpu-py310",
     "Platform", ("pytorch",), ContainerSource.AWS_PREBUILT),
    ("382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1", "Platform",
     ("builtin:linear-learner",), ContainerSource.AWS_PREBUILT),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud/scorer:2026-09-01", "Platform", (),
     ContainerSource.OWN_IMAGE),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "Platform",
     ("xgboost",), ContainerSource.OWN_IMAGE),
    ("registry.example.com:5000/ml/sklearn-model:3", "Vpc", ("sklearn",),
     ContainerSource.THIRD_PARTY_REGISTRY),
    ("registry.example.com/ml/scorer@sha256:0123abcd", "Vpc", (),
     ContainerSource.THIRD_PARTY_REGISTRY),
])
def test_framework_and_container_from_image_uri(image: str, mode: str,
                                                 frameworks: tuple[str, ...],
                                                 source: ContainerSource) -> None:
    facts = image_facts(image, mode)
    assert facts.frameworks == frameworks
    assert facts.source is source


# ------------------------------------------------------------------------- target profile

def test_target_applies_the_plan_with_every_change_it_implies() -> None:
    current = built_profile()
    target = target_of(current, [downsize_finding(), capture_finding()])

    assert target.kind is ProfileKind.TARGET
    variant = target.variants[0]
    assert (variant.instance_type.value, variant.instance_count.value) == ("ml.c5.xlarge", 2)
    assert variant.instance_type.rationale == "over-provisioned"
    assert variant.instance_type.change == "over-provisioned:instance_type:AllTraffic"
    # A fixed variant's bounds are its count: they follow it, said so.
    assert (variant.min_instances.value, variant.max_instances.value) == (2, 2)
    follows = {c.characteristic: c for c in target.changes if c.reason.startswith("follows")}
    assert set(follows) == {"min_instances", "max_instances"}
    assert target.network_security.data_capture.value is True
    assert target.network_security.data_capture.change == "no-data-capture:data_capture:-"
    # Same load on a quarter of the vCPUs (2 x 4 instead of 4 x 8).
    assert variant.cpu_p95_pct.value == pytest.approx(50.0)
    assert variant.cpu_p95_pct.origin is Origin.INFERRED
    # Memory per instance follows the instance: 16 GiB → 8 GiB doubles the share.
    assert variant.memory_p95_pct.value == pytest.approx(44.0)
    assert target.monthly_cost_usd.value == pytest.approx(
        (current.monthly_cost_usd.value or 0) - 893.52, abs=0.01)
    assert all(change.applied for change in target.changes)
    # The current profile is untouched.
    assert current.variants[0].instance_count.value == 4


def test_an_option_is_taken_whole_or_not_at_all() -> None:
    """The old per-change acceptance let a new count be priced at the old type's total:
    options are now atomic, and leaving one out leaves its finding's changes all out."""
    current = built_profile()
    findings = [downsize_finding(), capture_finding()]
    left = Decisions(rejected=frozenset({"over-provisioned:AllTraffic"}))
    target = target_of(current, findings, left)

    variant = target.variants[0]
    assert (variant.instance_type.value, variant.instance_count.value) == ("ml.c5.2xlarge", 4)
    assert variant.instance_type.rationale is None
    assert target.network_security.data_capture.value is True
    assert {c.id: (c.applied, c.reason) for c in target.changes if not c.applied} == {
        "over-provisioned:instance_type:AllTraffic": (False, "rejected by you"),
        "over-provisioned:instance_count:AllTraffic": (False, "rejected by you"),
    }
    # Nothing saved, nothing guessed: the target costs what today costs.
    assert target.monthly_cost_usd.value == current.monthly_cost_usd.value


def test_a_rejected_plan_leaves_the_target_equal_to_the_current_values() -> None:
    current = built_profile()
    target = target_of(current, [downsize_finding()], Decisions(rejected_plan=True))
    assert [d for d in diff_profiles(current, target)
            if d.path not in ("kind", "changes")] == []


def test_changes_are_typed_when_they_are_made() -> None:
    # What the old free text did: "target tracking" for a boolean, "serverless (new endpoint)"
    # for an enum, "two" for a count. A rule cannot even build such a change now.
    for characteristic, value in (("autoscaling", "target tracking"),
                                  ("deployment_option", "serverless (new endpoint)"),
                                  ("instance_count", "two"), ("instance_count", 2.5),
                                  ("colour", "blue")):
        with pytest.raises(ValueError):
            ProfileChange(characteristic=characteristic, proposed=value, variant="AllTraffic")
    assert ProfileChange(characteristic="deployment_option",
                         proposed="serverless").proposed is DeploymentOption.SERVERLESS


def test_a_requirement_wins_over_a_saving_on_the_same_characteristic() -> None:
    current = built_profile()
    third = Finding(kind=FindingKind.UNDER_PROVISIONED, severity=Severity.CRITICAL,
                    endpoint=current.key, variant="AllTraffic", summary="short", rationale="r",
                    options=(CostedOption(kind=OptionKind.KEEP, label="today",
                                          monthly_cost_usd=1191.36, price_source="c",
                                          fits=False),
                             CostedOption(kind=OptionKind.RESIZE, label="6x ml.c5.2xlarge",
                                          monthly_cost_usd=1787.04, price_source="c", fits=True,
                                          changes=(ProfileChange(characteristic="instance_count",
                                                                 current=4, proposed=6,
                                                                 variant="AllTraffic"),))))
    plan = plan_for(current, [downsize_finding(), third])
    assert [o.label for o in plan.chosen] == ["6x ml.c5.2xlarge"]
    downsize = plan.option("over-provisioned:AllTraffic:2x ml.c5.xlarge")
    assert downsize is not None and downsize.status is OptionStatus.ALTERNATIVE
    assert "sets what 6x ml.c5.2xlarge (under-provisioned) sets" in downsize.why
    assert plan.monthly_savings_usd == pytest.approx(-595.68)
    target = target_profile(current, plan, [downsize_finding(), third])
    assert target.variants[0].instance_count.value == 6


def test_an_option_for_a_variant_the_endpoint_lacks_cannot_be_applied() -> None:
    current = built_profile()
    odd = Finding(kind=FindingKind.SINGLE_INSTANCE, severity=Severity.WARNING,
                  endpoint=current.key, variant="Missing", summary="x", rationale="y",
                  options=(CostedOption(kind=OptionKind.RESIZE, label="2x", monthly_cost_usd=1.0,
                                        price_source="c", fits=True,
                                        changes=(ProfileChange(characteristic="instance_count",
                                                               proposed=2, variant="Missing"),)),))
    plan = plan_for(current, [downsize_finding(), odd])
    planned = plan.option("single-instance:Missing:2x")
    assert planned is not None and planned.status is OptionStatus.UNFIT
    assert "no variant named 'Missing'" in planned.why
    assert [o.label for o in plan.chosen] == ["2x ml.c5.xlarge"]


def test_serverless_target_has_no_instances() -> None:
    current = built_profile()
    finding = Finding(kind=FindingKind.SERVERLESS_CANDIDATE, severity=Severity.INFO,
                      endpoint=current.key, summary="s", rationale="r",
                      options=(CostedOption(kind=OptionKind.KEEP, label="today",
                                            monthly_cost_usd=1191.36, price_source="c",
                                            fits=True),
                               CostedOption(kind=OptionKind.SERVERLESS, label="serverless",
                                            monthly_cost_usd=3.0, price_source="c", fits=True,
                                            changes=(
                                   ProfileChange(characteristic="deployment_option",
                                                 current="real-time", proposed="serverless"),
                                   ProfileChange(characteristic="serverless_memory_mb",
                                                 proposed=2048, variant="AllTraffic"),
                                   ProfileChange(characteristic="serverless_max_concurrency",
                                                 proposed=5, variant="AllTraffic")))))
    target = target_of(current, [finding, capture_finding()])
    variant = target.variants[0]
    assert target.deployment_option.value is DeploymentOption.SERVERLESS
    assert variant.instance_type.value is None and variant.instance_count.value is None
    assert variant.min_instances.value is None and variant.autoscaling.value is False
    assert variant.serverless_memory_mb.value == 2048
    assert variant.cpu_p95_pct.value is None
    # Serverless endpoints cannot capture data: the plan says so rather than set it.
    assert target.network_security.data_capture.value is False
    plan = plan_for(current, [finding, capture_finding()])
    outcome = plan.outcome_of(capture_finding())
    assert outcome is not None and outcome.outcome is Outcome.EXCLUDED
    assert "cannot capture data" in outcome.why


# ------------------------------------------------------------------------- files

def test_profile_round_trips_through_yaml(tmp_path: Path) -> None:
    current = built_profile(tags={"owner": "a: b # c", "note": "line1\nline2", "yes": "no",
                                  "!!python/object:os.system": "&anchor *ref"})
    target = target_of(current, [downsize_finding(), capture_finding()])
    for profile in (current, target):
        path = tmp_path / f"web-fraud.{profile.kind}.yaml"
        write_profile(path, profile)
        assert read_profile(path) == profile
        # The same profile always gives the same bytes.
        assert path.read_text("utf-8") == profile_to_yaml(read_profile(path))


def test_untrusted_tags_stay_plain_strings() -> None:
    tags = {"!!python/object/apply:os.system": "['echo pwned']", "key\u0007bell": "v\x1b[31m",
            "multi": "a\n- b: c", "yes": "on"}
    text = profile_to_yaml(built_profile(tags=tags))
    assert "!!python" not in text.replace("'!!python", "").replace('"!!python', "")
    assert yaml.safe_load(text)["tags"] == dict(sorted(tags.items()))
    assert "\x1b" not in text and "\x07" not in text  # control characters are escaped


def test_hand_edited_mistake_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "web-fraud.target.yaml"
    write_profile(path, built_profile())
    text = path.read_text("utf-8").replace("value: 4\n", "value: two\n", 1)
    assert "value: two" in text
    path.write_text(text, "utf-8")

    with pytest.raises(ProfileError) as caught:
        read_profile(path)
    assert str(caught.value) == (
        f"{path}: variants[0].instance_count: expected a whole number, got 'two'")
    assert caught.value.exit_code is ExitCode.USAGE
    assert isinstance(caught.value, SagetopError)


def test_bare_value_shorthand_and_its_mistake() -> None:
    data = yaml.safe_load(profile_to_yaml(built_profile()))
    data["variants"][0]["instance_count"] = 3
    assert profile_from_yaml(yaml.safe_dump(data), "x.yaml").variants[0].instance_count.value == 3
    data["variants"][0]["instance_count"] = "two"
    with pytest.raises(ProfileError, match=r"^x\.yaml: variants\[0\]\.instance_count: expected "
                                           r"a whole number, got 'two'$"):
        profile_from_yaml(yaml.safe_dump(data), "x.yaml")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.update(traffic_pattern={"value": "bursty", "origin": "inferred"}),
     "traffic_pattern: expected one of 'steady', 'diurnal', 'spiky', 'intermittent', "
     "'periodic' or 'idle', got 'bursty'"),
    (lambda d: d["network_security"].update(vpc={"value": True, "origin": "guessed"}),
     "network_security.vpc.origin: expected one of 'observed', 'configured', 'inferred', "
     "'required' or 'recommended', got 'guessed'"),
    (lambda d: d.update(colour="blue"), "colour: unknown key"),
    (lambda d: d.pop("region"), "region: missing required key"),
    (lambda d: d.update(frameworks={"value": ["pytorch", 3], "origin": "inferred"}),
     "frameworks[1]: expected text, got 3"),
    (lambda d: d.update(schema_version=2), "schema_version: expected 1, got 2"),
])
def test_each_bad_field_gets_one_line(edit: Any, message: str) -> None:
    data = yaml.safe_load(profile_to_yaml(built_profile()))
    edit(data)
    with pytest.raises(ProfileError) as caught:
        profile_from_yaml(yaml.safe_dump(data, sort_keys=False), "p.yaml")
    assert str(caught.value) == f"p.yaml: {message}"
    assert "\n" not in str(caught.value)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("schema_version: 1\nkind: target\nendpoint: [web\nregion: us-east-1\n",
                    "utf-8")
    with pytest.raises(ProfileError) as caught:
        read_profile(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: line ")
    assert "\n" not in message


def test_duplicate_key_is_an_error() -> None:
    with pytest.raises(ProfileError, match=r"^d\.yaml: line 3, column 1: key 'kind' appears twice"):
        profile_from_yaml("schema_version: 1\nkind: current\nkind: target\n", "d.yaml")


@pytest.mark.parametrize(("text", "found"), [("", "nothing"), ("- a\n- b\n", "list")])
def test_not_a_mapping(text: str, found: str) -> None:
    with pytest.raises(ProfileError, match=f"^e.yaml: expected a mapping of profile fields, "
                                           f"got {found}$"):
        profile_from_yaml(text, "e.yaml")


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no such file"):
        read_profile(tmp_path / "nope.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ProfileError, match="not UTF-8"):
        read_profile(binary)


def test_schema_file_is_in_sync() -> None:
    assert SCHEMA_FILE.read_text("utf-8") == profile_schema_text(), (
        "profiles/ml-profile.schema.json is stale: run "
        "`python -c 'from profiles.files import write_profile_schema; write_profile_schema()'`")


def test_written_profiles_validate_against_the_published_schema() -> None:
    # jsonschema arrives with moto[server]; it is not a dependency of sagetop itself.
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_FILE.read_text("utf-8"))
    assert schema == profile_json_schema()
    current = built_profile(tags={"team": "fraud"})
    for profile in (current, target_of(current, [downsize_finding()])):
        jsonschema.validate(yaml.safe_load(profile_to_yaml(profile)), schema)


# ------------------------------------------------------------------------- rationale

def test_rationale_has_the_numbers_options_and_maturity() -> None:
    current = built_profile()
    findings = [downsize_finding(), capture_finding()]
    target = target_of(current, findings)
    text = render_rationale(current, target, findings, maturity_of(current, target),
                            plan=plan_for(current, findings))

    assert text.startswith("# ML profile rationale: web-fraud\n")
    assert "## Business requirements" in text
    assert "config.toml \\[\\[requirements.rules\\]\\] pattern 'web-\\*'" in text
    assert "| p99 latency objective | 200 ms |" in text
    # Read with `cat` as often as rendered: no backslash where Markdown would not act.
    assert "- cpu_p95_pct: 12.5 %" in text
    assert "- model_latency_p99_us: 45,200 µs (45.2 ms)" in text
    # Those options carry no carbon figure: "unknown", never a zero.
    assert ("| 2x ml.c5.xlarge | $297.84 | unknown | catalogue us-east-1 | yes | **chosen** |"
            in text)
    assert ("| 1x ml.c5.xlarge | $148.92 | unknown | catalogue us-east-1 | no | no: below the"
            in text)
    assert "$893.52" in text
    assert "p99 latency objective 200 ms (config.toml" in text
    assert "## Maturity (Well-Architected pillars)" in text
    assert "| Cost optimisation |" in text
    assert "ml.c5.2xlarge → ml.c5.xlarge (in the target)" in text
    # One story: what is wrong, the ways weighed, the choice, what to do and to watch.
    plan = text[text.index("## Plan"):text.index("## Findings and changes")]
    for part in ("**What is wrong.**", "**Ways weighed.**", "**Chosen.**",
                 "**What the team does.**", "**What to watch after the change.**"):
        assert part in plan, part
    assert "CreateEndpointConfig with ml.c5.xlarge for variant AllTraffic" in plan
    assert "saving $893.52 a month" in plan


def test_rationale_escapes_untrusted_text() -> None:
    name = "evil_[link](http://x)"
    endpoint = make_endpoint(name, tags={"<script>": "*bold* | pipe\n# heading"})
    fleet = make_fleet([endpoint], window={endpoint.key: busy_window()})
    current = profile_of(endpoint, fleet, production_requirements())
    finding = downsize_finding(endpoint.key).model_copy(
        update={"summary": "run `rm -rf` <img src=x>", "rationale": "see [here](javascript:x)"})
    target = target_of(current, [finding])
    text = render_rationale(current, target, [finding], maturity_of(current, target))

    # The brackets are escaped, so the parentheses cannot make a link and stay as they are.
    assert "# ML profile rationale: evil\\_\\[link\\](http://x)" in text
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;=\\*bold\\* \\| pipe # heading" in text
    assert "\\`rm \\-rf\\`" not in text and "\\`rm -rf\\`" in text
    assert "[here](javascript" not in text
    assert escape_markdown("a\nb|c") == "a b\\|c"
    assert escape_markdown("guide (2023), cpu_p95_pct") == "guide (2023), cpu_p95_pct"
    assert escape_markdown("# not a heading") == "\\# not a heading"


# ------------------------------------------------------------------------- diff

def test_diff_lists_changed_characteristics_with_their_reason(tmp_path: Path) -> None:
    current = built_profile()
    target = target_of(current, [downsize_finding()])
    differences = diff_profiles(current, target)
    paths = [d.path for d in differences]
    assert "variants[AllTraffic].instance_type" in paths
    assert "variants[AllTraffic].instance_count" in paths
    assert "monthly_cost_usd" in paths

    write_profile(tmp_path / "a.yaml", current)
    write_profile(tmp_path / "b.yaml", target)
    text = render_diff("a.yaml", "b.yaml",
                       diff_profiles(read_profile(tmp_path / "a.yaml"),
                                     read_profile(tmp_path / "b.yaml")))
    assert text.startswith("--- a.yaml\n+++ b.yaml\n")
    assert ("variants[AllTraffic].instance_type: ml.c5.2xlarge → ml.c5.xlarge "
            "(origin configured → inferred) [over-provisioned]") in text
    assert render_diff("a", "a", diff_profiles(current, current)).endswith("no differences\n")


# ------------------------------------------------------------------------- snapshot

def test_snapshot_writes_every_file_once(tmp_path: Path) -> None:
    web = make_endpoint("web-fraud", tags={"env": "production"})
    odd = make_endpoint("../../etc/passwd", instance_type="ml.m5.xlarge", count=1)
    fleet = make_fleet([web, odd], hourly={web.key: diurnal_hours()},
                       window={web.key: busy_window(), odd.key: {"requests": 0.0}},
                       provisioning=(ProvisioningRow(region=REGION, workload="training",
                                                     instance_type="ml.p4d.24xlarge",
                                                     instance_count=2),))
    analyst = Analyst(prices=PriceBook())
    analysis = analyst.analyse(fleet)
    out = tmp_path / "snapshot"

    files = analyst.snapshot_files(analysis, out)
    written = write_files_atomically(files)

    stem = safe_file_stem(odd.name)
    assert "/" not in stem and not stem.startswith(".")
    expected = {
        out / "us-east-1" / "web-fraud.current.yaml", out / "us-east-1" / "web-fraud.target.yaml",
        out / "us-east-1" / "web-fraud.rationale.md",
        out / "us-east-1" / f"{stem}.current.yaml", out / "us-east-1" / f"{stem}.target.yaml",
        out / "us-east-1" / f"{stem}.rationale.md",
        out / "fleet-summary.md", out / "fleet-summary.yaml",
    }
    on_disk = {p for p in out.rglob("*") if p.is_file()}
    assert on_disk == expected == set(files) == set(written)
    web_plan = analysis.endpoints[web.key].plan
    target = read_profile(endpoint_paths(out, REGION, "web-fraud")[1])
    assert target.monthly_cost_usd.value == web_plan.target_monthly_usd
    odd_current = read_profile(endpoint_paths(out, REGION, odd.name)[0])
    assert odd_current.endpoint == odd.name

    # The summary's savings are the plans': the same figure as the analysis, and the kinds
    # add up to it.
    summary = yaml.safe_load((out / "fleet-summary.yaml").read_text("utf-8"))
    assert summary["endpoints"] == 2
    assert summary["accepted_savings_usd"] == analysis.total_savings_usd != 0
    assert sum(summary["savings_usd_by_finding_kind"].values()) == pytest.approx(
        summary["accepted_savings_usd"], abs=0.005)
    matrix = {(r["workload"], r["instance_type"]): r["instance_count"]
              for r in summary["provisioning"]}
    assert matrix == {("training", "ml.p4d.24xlarge"): 2, ("real-time", "ml.c5.2xlarge"): 4,
                      ("real-time", "ml.m5.xlarge"): 1}
    assert set(summary["maturity_by_pillar"]) == {
        "operational-excellence", "security", "reliability", "performance-efficiency",
        "cost-optimisation", "sustainability"}
    markdown = (out / "fleet-summary.md").read_text("utf-8")
    assert "| Region | Workload | Instance type | Instances | Jobs |" in markdown
    assert f"| total | {format_usd(analysis.total_savings_usd)} |" in markdown

    # Running again changes nothing; rejecting a plan rewrites only what it touches.
    assert write_files_atomically(analyst.snapshot_files(analysis, out)) == []
    analyst.reject_plan(web.key)
    fewer = write_files_atomically(analyst.snapshot_files(analyst.analyse(fleet), out))
    assert set(fewer) == {
        out / "us-east-1" / "web-fraud.target.yaml", out / "us-east-1" / "web-fraud.rationale.md",
        out / "fleet-summary.md", out / "fleet-summary.yaml"}


@pytest.mark.parametrize("name", ["web-fraud", "A1"])
def test_safe_names_are_kept(name: str) -> None:
    assert safe_file_stem(name) == name


@pytest.mark.parametrize("name", ["..", ".hidden", "a/b", "a\\b", "con", "", "x\ny", "é"])
def test_odd_names_become_safe_and_distinct(name: str) -> None:
    stem = safe_file_stem(name)
    assert stem and not stem.startswith(".") and "/" not in stem and "\\" not in stem
    assert stem.isascii() and stem.isprintable()
    assert stem != safe_file_stem(name + "x")
