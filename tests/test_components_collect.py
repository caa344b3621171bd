"""Inference components collected for real: against moto's server with the stand-in for the API
moto lacks (real HTTP, signing, the API's parameters, filters and pages), and against the
simulated account (an LLM pair sharing a GPU instance, one that scales to zero at night)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError

from advisors.finding import FindingKind
from collectors.aws import AwsContext, AwsTarget
from collectors.fleet import FleetCollector
from collectors.metrics import plan_endpoint
from ground.config import SagetopConfig
from ground.domain import DeploymentOption, FleetSnapshot
from ground.series import Tier
from pipeline.analysis import Analyst, FleetAnalysis
from simulator import SimulatedAccount
from tests.conftest import IMAGE, REGION, ROLE, Moto
from tui.rows import fleet_measures

VARIANT = "AllTraffic"
TGI = ("763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
       "2.3.0-tgi2.2.0-gpu-py310-cu121-ubuntu22.04")
G4DN_12XL_MONTH = 3.912 * 730  # catalogue price of ml.g4dn.12xlarge (4 T4 GPUs)


def component_endpoint(moto: Moto, name: str, instance_type: str = "ml.g4dn.12xlarge",
                       count: int = 1) -> None:
    """An endpoint whose variant names no model, as inference-component endpoints are.

    moto insists on a ModelName per variant, so the stored config loses it after creation.
    """
    from moto.sagemaker.models import sagemaker_backends

    sagemaker = moto.client("sagemaker")
    sagemaker.create_model(ModelName=f"{name}-placeholder", ExecutionRoleArn=ROLE,
                           PrimaryContainer={"Image": IMAGE})
    sagemaker.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[{
        "VariantName": VARIANT, "ModelName": f"{name}-placeholder",
        "InstanceType": instance_type, "InitialInstanceCount": count,
        "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": count,
                                   "MaxInstanceCount": count + 1},
        "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}}])
    stored = sagemaker_backends["123456789012"][REGION].endpoint_configs[f"{name}-config"]
    stored.production_variants[0].pop("ModelName")
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def component_model(moto: Moto, name: str) -> None:
    moto.client("sagemaker").create_model(
        ModelName=name, ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": TGI, "ModelDataUrl": f"s3://models/{name}/model.tar.gz"})


def per_minute(count: int, value: float, end: dt.datetime) -> list[tuple[dt.datetime, float]]:
    return [(end - dt.timedelta(minutes=i), value) for i in range(1, count + 1)]


async def collect_at(moto: Moto, moment: dt.datetime, rounds: int = 1) -> FleetSnapshot:
    target = AwsTarget(regions=(REGION,), endpoint_url=moto.url)
    async with AwsContext(SagetopConfig().aws, target) as aws:
        collector = FleetCollector(aws, clock=lambda: moment)
        fleet = await collector.collect(force=True)
        for _ in range(rounds - 1):
            fleet = await collector.collect(force=True)
        return fleet


def analyse(fleet: FleetSnapshot) -> FleetAnalysis:
    return Analyst().analyse(fleet)


def kinds(analysis: FleetAnalysis, key: str) -> dict[FindingKind, list[str | None]]:
    found: dict[FindingKind, list[str | None]] = {}
    for finding in analysis.endpoints[key].findings:
        found.setdefault(finding.kind, []).append(finding.component)
    return found


# --- moto's server and the stand-in ------------------------------------------------------------


async def test_busy_component_endpoint_is_not_idle_and_lists_its_components(
        moto: Moto) -> None:
    """The bug this guards: 80 requests a minute, reported "idle, $X/month"."""
    component_endpoint(moto, "llm-pair")
    for model in ("chat-model", "summarize-model", "rerank-model"):
        component_model(moto, model)
    stand_in = moto.middleware.components
    stand_in.add("chat", "llm-pair", model="chat-model", accelerators=1, cpu_cores=4,
                 memory_mb=32_768, copies=2)
    stand_in.add("summarize", "llm-pair", model="summarize-model", accelerators=1, cpu_cores=4,
                 memory_mb=32_768, copies=1)
    stand_in.add("rerank", "llm-pair", model="rerank-model", accelerators=1, copies=1)
    stand_in.scale("chat", 1, 3)
    # moto cannot backdate an endpoint: the collector's clock runs 15 days ahead instead, so
    # the endpoint has existed for the whole 14-day lookback.
    later = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(days=15)
    minutes = 20
    for name, rpm in (("chat", 45), ("summarize", 35)):
        dims = {"InferenceComponentName": name}
        moto.put_metric("AWS/SageMaker", "Invocations", dims, per_minute(minutes, rpm, later))
        moto.put_metric("AWS/SageMaker", "ModelLatency", dims,
                        per_minute(minutes, 1_500_000, later), unit="Microseconds")
    for name in ("chat", "summarize", "rerank"):  # every copy is up and measured
        moto.put_metric("/aws/sagemaker/InferenceComponents", "CPUUtilizationNormalized",
                        {"InferenceComponentName": name}, per_minute(minutes, 30, later))
    host = {"EndpointName": "llm-pair", "VariantName": VARIANT}
    moto.put_metric("/aws/sagemaker/Endpoints", "MemoryUtilization", host,
                    per_minute(minutes, 40, later))
    moto.put_metric("/aws/sagemaker/Endpoints", "GPUReservation", host,
                    per_minute(minutes, 100, later))
    moto.log.clear()

    fleet = await collect_at(moto, later)
    endpoint = fleet.endpoint("llm-pair")
    assert endpoint is not None and fleet.errors == ()
    assert endpoint.deployment is DeploymentOption.INFERENCE_COMPONENTS
    variant = endpoint.variants[0]
    assert variant.model_name is None and variant.managed_instance_scaling is not None
    assert variant.managed_instance_scaling.enabled and variant.routing_strategy
    by_name = {c.name: c for c in endpoint.inference_components}
    assert set(by_name) == {"chat", "summarize", "rerank"}
    chat = by_name["chat"]
    assert (chat.current_copies, chat.resources.accelerators, chat.resources.cpu_cores,
            chat.resources.min_memory_mb) == (2, 1, 4.0, 32_768)
    assert chat.image == TGI and chat.model is not None  # DescribeModel of its ModelName
    assert chat.autoscaling is not None and chat.autoscaling.scales
    assert chat.autoscaling.scalable_dimension == \
        "sagemaker:inference-component:DesiredCopyCount"
    assert by_name["summarize"].autoscaling is None

    key = endpoint.key
    metrics = fleet.metrics
    assert metrics.window_value(key, "ic:chat", "requests") == 45 * minutes
    assert metrics.window_value(key, "ic:summarize", "requests") == 35 * minutes
    assert metrics.window_value(key, "ic:rerank", "requests") == 0  # measured, not called
    assert metrics.window_value(key, VARIANT, "requests") is None  # never asked per variant
    assert metrics.window_value(key, VARIANT, "gpu_reservation_max_pct") == pytest.approx(100)
    assert fleet_measures(fleet, None)[key].rpm == 80  # the endpoint's traffic: its components'

    analysis = analyse(fleet)
    found = kinds(analysis, key)
    assert FindingKind.IDLE not in found  # the wrong answer this test exists for
    assert found[FindingKind.IDLE_COMPONENT] == ["rerank"]
    assert "summarize" in found[FindingKind.NO_AUTOSCALING]
    assert "chat" not in found[FindingKind.NO_AUTOSCALING]

    # The API as the collector spoke it: one listing page of at most 100, one describe each.
    listings = [p for op, p in stand_in.requests if op == "ListInferenceComponents"]
    assert listings == [{"MaxResults": 100}]
    described = sorted(p["InferenceComponentName"] for op, p in stand_in.requests
                       if op == "DescribeInferenceComponent")
    assert described == ["chat", "rerank", "summarize"]


def test_component_queries_use_the_published_dimension_set() -> None:
    """Invocations of a component are published with InferenceComponentName alone."""
    from ground.domain import EndpointSnapshot, InferenceComponentSnapshot

    moment = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    component = InferenceComponentSnapshot(
        name="chat", arn="arn", variant=VARIANT, status="InService", creation_time=moment,
        last_modified_time=moment, current_copies=1)
    endpoint = EndpointSnapshot(
        name="llm", arn="arn", region=REGION, status="InService",
        deployment=DeploymentOption.INFERENCE_COMPONENTS, creation_time=moment,
        last_modified_time=moment, inference_components=(component,),
        variants=({"name": VARIANT, "instance_type": "ml.g5.12xlarge",  # type: ignore[arg-type]
                   "current_instance_count": 1},))
    for tier in Tier:
        for query, target in plan_endpoint(endpoint, tier):
            metric = query["MetricStat"]["Metric"]
            names = [d["Name"] for d in metric["Dimensions"]]
            if metric["Namespace"] in ("AWS/SageMaker", "/aws/sagemaker/InferenceComponents"):
                assert names == ["InferenceComponentName"], (tier, metric)
                assert target.variant == "ic:chat"
            else:
                assert names == ["EndpointName", "VariantName"], (tier, metric)


async def test_components_are_paged_and_described_only_when_new_or_changed(moto: Moto) -> None:
    component_endpoint(moto, "many")
    component_model(moto, "shared-model")
    stand_in = moto.middleware.components
    for index in range(105):
        stand_in.add(f"adapter-{index:03d}", "many", model="shared-model", cpu_cores=0.25,
                     memory_mb=128, created=1_700_000_000.0 + index)
    stand_in.add("elsewhere", "not-an-endpoint-here", model="shared-model")
    target = AwsTarget(regions=(REGION,), endpoint_url=moto.url)
    async with AwsContext(SagetopConfig().aws, target) as aws:
        collector = FleetCollector(aws)
        fleet = await collector.collect(force=True)
        endpoint = fleet.endpoint("many")
        assert endpoint is not None and len(endpoint.inference_components) == 105
        operations = [op for op, _ in stand_in.requests]
        assert operations.count("ListInferenceComponents") == 2  # 100 a page, the maximum
        assert operations.count("DescribeInferenceComponent") == 105  # not "elsewhere"
        second_page = [p for op, p in stand_in.requests if op == "ListInferenceComponents"][1]
        assert second_page == {"MaxResults": 100, "NextToken": "100"}

        stand_in.requests.clear()
        await collector.collect(force=True)
        assert [op for op, _ in stand_in.requests] == ["ListInferenceComponents"] * 2

        stand_in.requests.clear()
        changed = next(c for c in stand_in.components
                       if c["InferenceComponentName"] == "adapter-007")
        changed["LastModifiedTime"] += 60
        changed["RuntimeConfig"] = {"DesiredCopyCount": 3, "CurrentCopyCount": 3}
        stand_in.components.remove(next(c for c in stand_in.components
                                        if c["InferenceComponentName"] == "adapter-100"))
        fleet = await collector.collect(force=True)
        described = [p for op, p in stand_in.requests if op == "DescribeInferenceComponent"]
        assert described == [{"InferenceComponentName": "adapter-007"}]
        endpoint = fleet.endpoint("many")
        assert endpoint is not None and len(endpoint.inference_components) == 104
        assert next(c for c in endpoint.inference_components
                    if c.name == "adapter-007").current_copies == 3


async def test_stand_in_answers_filters_pages_and_errors_as_the_api_does(moto: Moto) -> None:
    stand_in = moto.middleware.components
    stand_in.add("a", "one", variant="Blue")
    stand_in.add("b", "one", variant="Green", status="Creating")
    stand_in.add("c", "two")
    sagemaker = moto.client("sagemaker")  # botocore checks every parameter against the model
    names = [c["InferenceComponentName"] for c in sagemaker.list_inference_components(
        EndpointNameEquals="one")["InferenceComponents"]]
    assert sorted(names) == ["a", "b"]
    assert [c["InferenceComponentName"] for c in sagemaker.list_inference_components(
        EndpointNameEquals="one", VariantNameEquals="Green")["InferenceComponents"]] == ["b"]
    assert [c["InferenceComponentName"] for c in sagemaker.list_inference_components(
        StatusEquals="InService")["InferenceComponents"]] == ["c", "a"]  # newest first
    pages = list(sagemaker.get_paginator("list_inference_components").paginate(
        PaginationConfig={"PageSize": 1}))
    assert [len(p["InferenceComponents"]) for p in pages] == [1, 1, 1]
    with pytest.raises(ClientError, match="maxResults"):
        sagemaker.list_inference_components(MaxResults=101)
    with pytest.raises(ClientError, match="Could not find inference component"):
        sagemaker.describe_inference_component(InferenceComponentName="missing")
    described = sagemaker.describe_inference_component(InferenceComponentName="a")
    assert described["RuntimeConfig"]["CurrentCopyCount"] == 1


async def test_no_permission_to_list_components_is_no_data_not_idle(moto: Moto) -> None:
    component_endpoint(moto, "llm-secret")
    moto.middleware.denied.add("sagemaker:ListInferenceComponents")
    later = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(days=15)
    moto.put_metric("/aws/sagemaker/Endpoints", "MemoryUtilization",
                    {"EndpointName": "llm-secret", "VariantName": VARIANT},
                    per_minute(30, 40, later))
    fleet = await collect_at(moto, later)
    assert "no permission for sagemaker:ListInferenceComponents" in {
        e.message for e in fleet.errors}
    endpoint = fleet.endpoint("llm-secret")
    assert endpoint is not None
    # The config names no model: still an inference-component endpoint, traffic unknown.
    assert endpoint.deployment is DeploymentOption.INFERENCE_COMPONENTS
    assert fleet.metrics.window_value(endpoint.key, VARIANT, "requests") is None
    assert FindingKind.IDLE not in kinds(analyse(fleet), endpoint.key)


# --- the simulated account ---------------------------------------------------------------------

TUESDAY_AFTERNOON = dt.datetime(2026, 11, 17, 14, 30, tzinfo=dt.UTC)
TUESDAY_NIGHT = dt.datetime(2026, 11, 17, 2, 30, tzinfo=dt.UTC)
PAIR = "us-east-1/llm-assistants-prod"
NIGHTLY = "us-east-1/code-review-llm"


async def sim_collect(moment: dt.datetime) -> tuple[FleetSnapshot, SimulatedAccount]:
    account = SimulatedAccount(clock=lambda: moment)
    target = AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)
    async with AwsContext(SagetopConfig().aws, target) as aws:
        fleet = await FleetCollector(aws, clock=lambda: moment).collect(force=True)
    return fleet, account


async def test_simulated_llm_pair_is_busy_and_each_component_has_its_traffic() -> None:
    fleet, account = await sim_collect(TUESDAY_AFTERNOON)
    assert fleet.errors == ()
    endpoint = fleet.endpoint(PAIR)
    assert endpoint is not None
    assert endpoint.deployment is DeploymentOption.INFERENCE_COMPONENTS
    assert [(v.instance_type, v.current_instance_count) for v in endpoint.variants] == [
        ("ml.g5.12xlarge", 1)]
    components = {c.name: c for c in endpoint.inference_components}
    assert set(components) == {"chat-llama-8b", "summarize-mistral-7b"}
    assert all(c.current_copies == 2 and c.resources.accelerators == 1
               for c in components.values())
    # The components' artefacts are sized like any model's (S3 HEAD): the variant names none.
    assert all(c.model is not None and c.model.containers[0].model_bytes
               for c in components.values())
    live = fleet.metrics.series("live", "requests", PAIR)
    per_minute_total = live.sum(axis=1, min_count=1).dropna()
    assert 60 <= per_minute_total.mean() <= 100  # ~80 requests a minute in all
    assert set(live.columns.get_level_values(1)) == {"ic:chat-llama-8b",
                                                     "ic:summarize-mistral-7b"}
    analysis = analyse(fleet)
    item = analysis.endpoints[PAIR]
    assert FindingKind.IDLE not in {f.kind for f in item.findings}  # not "idle, $5,176"
    assert item.monthly_cost_usd == pytest.approx(7.09 * 730)
    assert {n: c.usd for n, c in item.component_costs.items()} == pytest.approx(
        {"chat-llama-8b": 7.09 * 730 / 2, "summarize-mistral-7b": 7.09 * 730 / 2}, abs=0.01)
    assert kinds(analysis, PAIR)[FindingKind.NO_AUTOSCALING] == ["summarize-mistral-7b"]
    assert account.requests["sagemaker:ListInferenceComponents"] == 1
    assert account.requests["sagemaker:DescribeInferenceComponent"] == 3  # every component


async def test_scale_to_zero_at_night_is_no_data_not_zero() -> None:
    """At night neither instances nor copies run: nothing is published, and nothing is read as
    zero traffic or zero utilisation (no idle, no over-provisioned, no "0 req/min")."""
    fleet, _ = await sim_collect(TUESDAY_NIGHT)
    endpoint = fleet.endpoint(NIGHTLY)
    assert endpoint is not None
    assert endpoint.variants[0].current_instance_count == 0
    (component,) = endpoint.inference_components
    assert component.current_copies == 0
    live = fleet.metrics.series("live", "requests", NIGHTLY)
    assert len(live) and live.isna().all().all()  # no data, not zeros
    assert fleet_measures(fleet, None)[NIGHTLY].rpm is None
    hourly = fleet.metrics.series("hourly", "requests", NIGHTLY).iloc[:, 0]
    night = hourly[hourly.index.hour < 6]
    assert len(night) and night.isna().all()
    assert (hourly.dropna() > 0).all()  # only hours with copies, and those served traffic
    analysis = analyse(fleet)
    item = analysis.endpoints[NIGHTLY]
    # Billed for the instance-hours it ran (time-weighted over the lookback): not nothing
    # because none runs now, and not a whole month because one runs by day.
    full_month = 1.515 * 730
    assert item.monthly_cost_usd is not None
    assert 0.15 * full_month < item.monthly_cost_usd < 0.45 * full_month
    assert "time-weighted" in item.cost_source
    assert item.component_costs["code-review-qwen-7b"].usd == pytest.approx(
        item.monthly_cost_usd, abs=0.01)  # its only component holds all of it
    assert not {f.kind for f in item.findings} & {
        FindingKind.IDLE, FindingKind.IDLE_COMPONENT, FindingKind.OVER_PROVISIONED}
    assert "scales to zero" in item.current.traffic_pattern.note

    day, _ = await sim_collect(TUESDAY_AFTERNOON)
    running = day.endpoint(NIGHTLY)
    assert running is not None and running.inference_components[0].current_copies == 1
    assert running.variants[0].current_instance_count == 1
    assert (fleet_measures(day, None)[NIGHTLY].rpm or 0) > 0


async def test_simulated_account_speaks_the_component_api() -> None:
    # Enough endpoints for the scaled fleet to copy the component endpoints too.
    account = SimulatedAccount(endpoints=80, clock=lambda: TUESDAY_AFTERNOON)
    target = AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)
    async with AwsContext(SagetopConfig().aws, target) as aws:
        sagemaker = await aws.client("sagemaker", REGION)
        paginator = sagemaker.get_paginator("list_inference_components")
        pages = [page async for page in paginator.paginate(
            EndpointNameEquals="llm-assistants-prod", SortBy="Name", SortOrder="Ascending",
            PaginationConfig={"PageSize": 1})]
        assert [[c["InferenceComponentName"] for c in p["InferenceComponents"]]
                for p in pages] == [["chat-llama-8b"], ["summarize-mistral-7b"]]
        everything = await sagemaker.list_inference_components(MaxResults=100)
        names = [c["InferenceComponentName"] for c in everything["InferenceComponents"]]
        assert len(names) > 3 and len(set(names)) == len(names)  # copies renamed, unique
        with pytest.raises(ClientError, match="maxResults"):
            await sagemaker.list_inference_components(MaxResults=101)
        described = await sagemaker.describe_inference_component(
            InferenceComponentName="chat-llama-8b")
        compute = described["Specification"]["ComputeResourceRequirements"]
        assert compute["NumberOfAcceleratorDevicesRequired"] == 1
        assert described["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}
        scaling = await aws.client("application-autoscaling", REGION)
        targets = await scaling.describe_scalable_targets(ServiceNamespace="sagemaker")
        copies = {t["ResourceId"]: t["ScalableDimension"] for t in targets["ScalableTargets"]
                  if t["ResourceId"].startswith("inference-component/")}
        assert copies["inference-component/chat-llama-8b"] == \
            "sagemaker:inference-component:DesiredCopyCount"
        cloudwatch = await aws.client("cloudwatch", REGION)
        end = TUESDAY_AFTERNOON.replace(minute=0)
        answer = await cloudwatch.get_metric_data(
            StartTime=end - dt.timedelta(hours=2), EndTime=end,
            MetricDataQueries=[_query("q0", "AWS/SageMaker", "Invocations",
                                      {"InferenceComponentName": "chat-llama-8b"}),
                               _query("q1", "AWS/SageMaker", "Invocations",
                                      {"EndpointName": "llm-assistants-prod",
                                       "VariantName": VARIANT}),
                               _query("q2", "/aws/sagemaker/InferenceComponents",
                                      "GPUUtilizationNormalized",
                                      {"InferenceComponentName": "chat-llama-8b"}),
                               _query("q3", "/aws/sagemaker/Endpoints", "GPUReservation",
                                      {"EndpointName": "llm-assistants-prod",
                                       "VariantName": VARIANT})])
        values = {r["Id"]: list(r["Values"]) for r in answer["MetricDataResults"]}
        assert len(values["q0"]) == 2 and all(v > 0 for v in values["q0"])
        assert values["q1"] == []  # not published per variant
        assert values["q2"] and values["q3"] == [100.0, 100.0]


def _query(ident: str, namespace: str, metric: str, dims: dict[str, str]) -> dict[str, Any]:
    return {"Id": ident, "MetricStat": {
        "Metric": {"Namespace": namespace, "MetricName": metric,
                   "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
        "Period": 3600, "Stat": "Sum" if metric == "Invocations" else "Maximum"}}
