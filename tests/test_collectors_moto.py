"""The collectors against moto's server: real HTTP, real signing, the real API shapes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from typing import Any

import pytest

from collectors.aws import AwsContext, AwsTarget
from collectors.fleet import FleetCollector
from collectors.metrics import plan_endpoint
from ground.config import AwsSettings, SagetopConfig
from ground.domain import DeploymentOption, FleetSnapshot
from ground.errors import ReadOnlyViolation
from ground.series import Tier
from tests.conftest import REGION, Moto

VARIANT = "AllTraffic"


def now_minute() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def minutes(count: int, value: float, end: dt.datetime | None = None
            ) -> list[tuple[dt.datetime, float]]:
    end = end or now_minute()
    return [(end - dt.timedelta(minutes=i), value) for i in range(1, count + 1)]


def dims(endpoint: str, variant: str = VARIANT) -> dict[str, str]:
    return {"EndpointName": endpoint, "VariantName": variant}


async def collect(moto: Moto, config: SagetopConfig | None = None, rounds: int = 1
                  ) -> tuple[FleetSnapshot, AwsContext]:
    target = AwsTarget(regions=(REGION,), endpoint_url=moto.url)
    async with AwsContext((config := config or SagetopConfig()).aws, target) as aws:
        collector = FleetCollector(aws, config.refresh, config.history)
        fleet = await collector.collect(force=True)
        for _ in range(rounds - 1):
            fleet = await collector.collect(force=True)
        return fleet, aws


def test_report_json_against_moto_prints_endpoints_and_metrics(moto: Moto) -> None:
    moto.create_endpoint("fraud-scoring-prod", "ml.c5.xlarge", 2, tags={"env": "prod"})
    moto.create_endpoint("ab-test", "ml.m5.xlarge", 1, variants=("VariantA", "VariantB"))
    moto.put_metric("AWS/SageMaker", "Invocations", dims("fraud-scoring-prod"), minutes(30, 12))
    moto.put_metric("AWS/SageMaker", "ModelLatency", dims("fraud-scoring-prod"),
                    minutes(30, 40_000), unit="Microseconds")
    # CPUUtilization is summed over cores: 200 on a 4-vCPU c5.xlarge is 50 % of the instance.
    moto.put_metric("/aws/sagemaker/Endpoints", "CPUUtilization", dims("fraud-scoring-prod"),
                    minutes(30, 200))
    moto.put_metric("/aws/sagemaker/Endpoints", "MemoryUtilization", dims("fraud-scoring-prod"),
                    minutes(30, 35))
    result = subprocess.run(
        [sys.executable, "-m", "sagetop", "report", "--format", "json", "--endpoint-url",
         moto.url, "--region", REGION],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    by_name = {e["name"]: e for e in report["endpoints"]}
    assert set(by_name) == {"fraud-scoring-prod", "ab-test"}
    fraud = by_name["fraud-scoring-prod"]
    assert fraud["tags"] == {"env": "prod"}
    assert fraud["deployment"] == "real-time"
    (variant,) = fraud["variants"]
    assert variant["instance_type"] == "ml.c5.xlarge"
    assert variant["instance_count"] == 2
    metrics = variant["metrics"]
    assert metrics["requests"] == 360
    assert metrics["cpu_max_pct"] == pytest.approx(50.0)
    assert metrics["cpu_p95_pct"] == pytest.approx(50.0)
    assert metrics["model_latency_p99_us"] == pytest.approx(40_000)
    assert metrics["memory_p95_pct"] == pytest.approx(35)
    assert metrics["errors_5xx"] == 0  # serving, measured, and no 5XX published: zero
    assert [v["name"] for v in by_name["ab-test"]["variants"]] == ["VariantA", "VariantB"]
    assert by_name["ab-test"]["variants"][0]["metrics"] == {}  # no data is not zero
    assert report["requests"]["metrics_requested"] > 0
    assert report["requests"]["cloudwatch_usd"] == pytest.approx(
        report["requests"]["metrics_requested"] * 0.01 / 1000)
    # Advice against moto: both endpoints were created a moment ago, so the traffic-based
    # kinds must wait ("too new to judge"); configuration-based ones apply at once.
    kinds = {e["name"]: {f["kind"] for f in e["findings"]} for e in report["endpoints"]}
    assert "no-autoscaling" in kinds["fraud-scoring-prod"]
    assert "single-instance" not in kinds["fraud-scoring-prod"]  # two instances
    assert "single-instance" in kinds["ab-test"]  # untagged: production by default
    assert not kinds["fraud-scoring-prod"] & {"idle", "over-provisioned", "serverless-candidate"}
    profile = by_name["fraud-scoring-prod"]["profile"]
    assert profile["current"]["variants"][0]["instance_type"]["value"] == "ml.c5.xlarge"
    assert {"current", "target"} <= set(profile["maturity"])


async def test_invocations_need_the_exact_dimension_set(moto: Moto) -> None:
    # Published without VariantName: CloudWatch would not match it to the variant's query.
    moto.create_endpoint("partial-dims")
    moto.put_metric("AWS/SageMaker", "Invocations", {"EndpointName": "partial-dims"},
                    minutes(10, 5))
    fleet, _ = await collect(moto)
    assert fleet.metrics.window_value("us-east-1/partial-dims", VARIANT, "requests") is None


async def test_list_endpoints_follows_pages(moto: Moto) -> None:
    sagemaker = moto.client("sagemaker")
    sagemaker.create_model(ModelName="shared", ExecutionRoleArn="arn:aws:iam::1:role/r",
                           PrimaryContainer={"Image": "img"})
    sagemaker.create_endpoint_config(EndpointConfigName="shared", ProductionVariants=[
        {"VariantName": VARIANT, "ModelName": "shared", "InstanceType": "ml.c5.large",
         "InitialInstanceCount": 1}])
    for index in range(105):
        sagemaker.create_endpoint(EndpointName=f"ep-{index:03d}", EndpointConfigName="shared")
    moto.log.clear()
    fleet, aws = await collect(moto, SagetopConfig.model_validate(
        {"history": {"live_window_minutes": 5}}))
    assert len(fleet.endpoints) == 105
    assert moto.operations("ListEndpoints") == 2  # 100 per page, the API's maximum
    assert moto.operations("DescribeEndpointConfig") == 1  # configs are immutable: cached
    assert aws.ledger.requests["sagemaker:ListEndpoints"] == 2


async def test_describes_only_new_or_changed_endpoints(moto: Moto) -> None:
    moto.create_endpoint("steady")
    moto.create_endpoint("changing")
    target = AwsTarget(regions=(REGION,), endpoint_url=moto.url)
    async with AwsContext(AwsSettings(), target) as aws:
        collector = FleetCollector(aws)
        await collector.collect(force=True)
        assert moto.operations("DescribeEndpoint") == 2
        moto.log.clear()
        fleet = await collector.collect(force=True)
        assert moto.operations("DescribeEndpoint") == 0
        assert moto.operations("DescribeEndpointConfig") == 0
        assert moto.operations("DescribeModel") == 0
        assert len(fleet.endpoints) == 2

        sagemaker = moto.client("sagemaker")
        sagemaker.create_endpoint_config(EndpointConfigName="changing-v2", ProductionVariants=[
            {"VariantName": VARIANT, "ModelName": "changing-model",
             "InstanceType": "ml.c5.2xlarge", "InitialInstanceCount": 3}])
        # moto has no UpdateEndpoint; a re-created endpoint changes LastModifiedTime the same way.
        sagemaker.delete_endpoint(EndpointName="changing")
        sagemaker.create_endpoint(EndpointName="changing", EndpointConfigName="changing-v2")
        sagemaker.delete_endpoint(EndpointName="steady")
        moto.log.clear()
        fleet = await collector.collect(force=True)
        assert moto.operations("DescribeEndpoint") == 1
        (changed,) = fleet.endpoints
        assert changed.name == "changing"
        assert changed.variants[0].instance_type == "ml.c5.2xlarge"
        assert changed.variants[0].current_instance_count == 3


async def test_metric_queries_go_in_calls_of_at_most_500(moto: Moto) -> None:
    sagemaker = moto.client("sagemaker")
    sagemaker.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::1:role/r",
                           PrimaryContainer={"Image": "img"})
    sagemaker.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[
        {"VariantName": VARIANT, "ModelName": "m", "InstanceType": "ml.c5.large",
         "InitialInstanceCount": 1}])
    for index in range(45):
        sagemaker.create_endpoint(EndpointName=f"small-{index}", EndpointConfigName="c")
    moto.log.clear()
    fleet, aws = await collect(moto)
    calls = moto.operations("GetMetricData")
    queries = fleet.requests.metrics_requested
    assert queries > 500  # window, hourly and live series of 45 endpoints
    # Each time range's queries travel in as few calls as the 500-query limit allows.
    assert calls == sum(-(-n // 500) for n in _queries_per_tier(45))
    assert aws.ledger.calls["cloudwatch:GetMetricData"] == calls


def _queries_per_tier(endpoints: int) -> list[int]:
    from ground.domain import EndpointSnapshot

    probe = EndpointSnapshot.model_validate({
        "name": "x", "arn": "arn", "region": REGION, "status": "InService",
        "deployment": "real-time", "creation_time": now_minute(),
        "last_modified_time": now_minute(),
        "variants": [{"name": VARIANT, "instance_type": "ml.c5.large",
                      "current_instance_count": 1}]})
    return [endpoints * len(plan_endpoint(probe, tier)) for tier in Tier]


async def test_get_metric_data_follows_next_token_pages(moto: Moto) -> None:
    moto.create_endpoint("paged")
    moto.put_metric("AWS/SageMaker", "Invocations", dims("paged"), minutes(50, 3))
    moto.put_metric("/aws/sagemaker/Endpoints", "MemoryUtilization", dims("paged"),
                    minutes(50, 20))
    moto.middleware.page_datapoints = 7
    fleet, _ = await collect(moto)
    live = fleet.metrics.series("live", "requests", "us-east-1/paged")
    assert live.sum().sum() == 150  # all 50 minutes arrived, over several pages
    assert moto.operations("GetMetricData") > 8
    assert fleet.metrics.window_value("us-east-1/paged", VARIANT, "requests") == 150


async def test_missing_invocations_are_zero_only_while_serving_and_measured(moto: Moto) -> None:
    moto.create_endpoint("quiet")
    moto.create_endpoint("unmeasured")
    # moto cannot backdate an endpoint, so the collector's clock runs 25 minutes ahead instead.
    later = now_minute() + dt.timedelta(minutes=25)
    moto.put_metric("/aws/sagemaker/Endpoints", "MemoryUtilization", dims("quiet"),
                    minutes(20, 30, end=later))
    target = AwsTarget(regions=(REGION,), endpoint_url=moto.url)
    async with AwsContext(AwsSettings(), target) as aws:
        fleet = await FleetCollector(aws, clock=lambda: later).collect(force=True)
    assert fleet.metrics.window_value("us-east-1/quiet", VARIANT, "requests") == 0
    assert fleet.metrics.window_value("us-east-1/unmeasured", VARIANT, "requests") is None
    live = fleet.metrics.series("live", "requests", "us-east-1/quiet")
    assert (live.dropna() == 0).all().all() and len(live.dropna()) > 0


async def test_read_only_guard_refuses_writes_before_they_are_sent(moto: Moto) -> None:
    moto.create_endpoint("precious")
    target = AwsTarget(regions=(REGION,), endpoint_url=moto.url)
    async with AwsContext(AwsSettings(), target) as aws:
        sagemaker = await aws.client("sagemaker", REGION)
        moto.log.clear()
        with pytest.raises(ReadOnlyViolation, match="sagemaker:DeleteEndpoint"):
            await sagemaker.delete_endpoint(EndpointName="precious")
        s3 = await aws.client("s3", REGION)
        with pytest.raises(ReadOnlyViolation):
            await s3.put_object(Bucket="b", Key="k", Body=b"x")
        autoscaling = await aws.client("application-autoscaling", REGION)
        with pytest.raises(ReadOnlyViolation):
            await autoscaling.register_scalable_target(
                ServiceNamespace="sagemaker", ResourceId="endpoint/precious/variant/AllTraffic",
                ScalableDimension="sagemaker:variant:DesiredInstanceCount", MinCapacity=0,
                MaxCapacity=0)
        assert moto.log == []  # nothing left the process
        assert aws.ledger.total_requests() == 0
        listed = await sagemaker.list_endpoints()
        assert [e["EndpointName"] for e in listed["Endpoints"]] == ["precious"]


async def test_guard_holds_when_another_handler_answers_before_call(moto: Moto) -> None:
    target = AwsTarget(regions=(REGION,), endpoint_url=moto.url)

    def answer_everything(**_: Any) -> tuple[Any, dict[str, Any]]:
        raise AssertionError("a write reached a later before-call handler")

    async with AwsContext(AwsSettings(), target) as aws:
        aws.session.register("before-call", answer_everything)
        sagemaker = await aws.client("sagemaker", REGION)
        with pytest.raises(ReadOnlyViolation):
            await sagemaker.create_endpoint(EndpointName="x", EndpointConfigName="y")


async def test_access_denied_on_one_api_leaves_the_rest_working(moto: Moto) -> None:
    moto.create_endpoint("fine")
    moto.middleware.denied |= {"sagemaker:ListMonitoringSchedules",
                               "application-autoscaling:DescribeScalableTargets"}
    fleet, _ = await collect(moto)
    (endpoint,) = fleet.endpoints
    assert endpoint.monitor.error == "no permission for sagemaker:ListMonitoringSchedules"
    messages = {e.message for e in fleet.errors}
    assert "no permission for application-autoscaling:DescribeScalableTargets" in messages
    assert all(e.permission for e in fleet.errors)
    assert endpoint.variants[0].instance_type == "ml.c5.xlarge"


async def test_tags_come_100_endpoints_a_call_and_from_listtags_where_that_is_refused(
        moto: Moto) -> None:
    tagged = {f"team-{i}": {"env": "prod" if i % 2 else "dev", "team": f"t{i}"}
              for i in range(5)}
    for name, tags in tagged.items():
        moto.create_endpoint(name, tags=tags)
    moto.create_endpoint("untagged")
    moto.log.clear()
    fleet, _ = await collect(moto)
    assert {e.name: e.tags for e in fleet.endpoints} == {**tagged, "untagged": {}}
    assert fleet.errors == ()
    # Six endpoints, one GetResources call; ListTags not at all.
    assert moto.operations("GetResources") == 1 and moto.operations("ListTags") == 0

    moto.middleware.denied.add("tag:GetResources")
    moto.log.clear()
    config = SagetopConfig()
    # Tags due at every round (their cadence is tags_minutes): the second round asks again.
    config = config.model_copy(update={
        "refresh": config.refresh.model_copy(update={"tags_minutes": 0})})
    fleet, _ = await collect(moto, config, rounds=2)
    assert {e.name: e.tags for e in fleet.endpoints} == {**tagged, "untagged": {}}
    assert fleet.errors == ()  # a policy without tag:GetResources still reads every tag
    # Refused once, then not asked again: one ListTags per endpoint in each round.
    assert moto.operations("GetResources") == 1
    assert moto.operations("ListTags") == 2 * len(fleet.endpoints)


async def test_listing_failure_keeps_the_last_inventory(moto: Moto) -> None:
    moto.create_endpoint("kept")
    target = AwsTarget(regions=(REGION,), endpoint_url=moto.url)
    async with AwsContext(AwsSettings(), target) as aws:
        collector = FleetCollector(aws)
        await collector.collect(force=True)
        moto.middleware.denied.add("sagemaker:ListEndpoints")
        fleet = await collector.collect(force=True)
        assert [e.name for e in fleet.endpoints] == ["kept"]
        assert any(e.operation == "ListEndpoints" for e in fleet.errors)


async def test_autoscaling_targets_and_policies_per_variant(moto: Moto) -> None:
    moto.create_endpoint("scaled")
    moto.create_endpoint("target-only")
    autoscaling = moto.client("application-autoscaling")
    for name in ("scaled", "target-only"):
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=f"endpoint/{name}/variant/{VARIANT}",
            ScalableDimension="sagemaker:variant:DesiredInstanceCount", MinCapacity=2,
            MaxCapacity=6)
    autoscaling.put_scaling_policy(
        PolicyName="invocations", ServiceNamespace="sagemaker",
        ResourceId=f"endpoint/scaled/variant/{VARIANT}",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 70.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})
    fleet, _ = await collect(moto)
    by_name = {e.name: e for e in fleet.endpoints}
    scaled = by_name["scaled"].variants[0].autoscaling
    assert scaled is not None and scaled.scales
    assert (scaled.min_capacity, scaled.max_capacity) == (2, 6)
    assert scaled.policies[0].metric == "SageMakerVariantInvocationsPerInstance"
    target_only = by_name["target-only"].variants[0].autoscaling
    assert target_only is not None and not target_only.scales  # no policy: it does not scale


async def test_model_monitor_schedules_violations_and_drift_metrics(moto: Moto) -> None:
    moto.create_endpoint("drifting")
    moto.create_endpoint("unmonitored")
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="monitoring")
    s3.put_object(Bucket="monitoring", Key="drifting/run-7/constraint_violations.json",
                  Body=json.dumps({"violations": [
                      {"feature_name": "amount", "constraint_check_type": "baseline_drift_check",
                       "description": "distance 0.41 exceeds threshold 0.1"}]}).encode())
    job = "model-monitoring-202611230800-abc"
    monitor = moto.middleware.monitor
    monitor.processing_jobs[job] = {
        "ProcessingJobName": job,
        "ProcessingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:processing-job/{job}",
        "ProcessingJobStatus": "Completed",
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "result", "S3Output": {
            "S3Uri": "s3://monitoring/drifting/run-7", "LocalPath": "/opt/ml/processing/output",
            "S3UploadMode": "EndOfJob"}}]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1,
                                                  "InstanceType": "ml.m5.xlarge",
                                                  "VolumeSizeInGB": 20}},
        "AppSpecification": {"ImageUri": "img"},
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "CreationTime": 1_700_000_000.0,
    }
    monitor.add_schedule("drifting-data-quality", "drifting", executions=[
        {"MonitoringScheduleName": "drifting-data-quality", "ScheduledTime": 1_700_003_600.0,
         "CreationTime": 1_700_003_600.0, "LastModifiedTime": 1_700_003_700.0,
         "MonitoringExecutionStatus": "CompletedWithViolations",
         "ProcessingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:processing-job/{job}"},
        {"MonitoringScheduleName": "drifting-data-quality", "ScheduledTime": 1_700_000_000.0,
         "CreationTime": 1_700_000_000.0, "LastModifiedTime": 1_700_000_100.0,
         "MonitoringExecutionStatus": "Completed"},
    ])
    moto.put_metric("aws/sagemaker/Endpoints/data-metrics", "feature_baseline_drift_amount",
                    {"Endpoint": "drifting", "Feature": "amount",
                     "MonitoringSchedule": "drifting-data-quality"}, minutes(3, 0.41))
    fleet, _ = await collect(moto)
    by_name = {e.name: e for e in fleet.endpoints}
    state = by_name["drifting"].monitor
    (schedule,) = state.schedules
    assert schedule.schedule_expression == "cron(0 * ? * * *)"
    assert [e.status for e in schedule.executions] == ["CompletedWithViolations", "Completed"]
    assert schedule.violations[0].feature_name == "amount"
    assert schedule.violations[0].check_type == "baseline_drift_check"
    assert schedule.violations_source == \
        "s3://monitoring/drifting/run-7/constraint_violations.json"
    (drift,) = state.drift_metrics
    assert drift.metric_name == "feature_baseline_drift_amount"
    assert drift.latest_value == pytest.approx(0.41)
    # Absence of Model Monitor is normal: no schedules, no error.
    assert by_name["unmonitored"].monitor.schedules == ()
    assert by_name["unmonitored"].monitor.error is None
    assert not [e for e in fleet.errors if e.source == "model-monitor"]


async def test_provisioning_matrix_counts_endpoints_and_notebooks(moto: Moto) -> None:
    moto.create_endpoint("a", "ml.c5.xlarge", 2)
    moto.create_endpoint("b", "ml.c5.xlarge", 3)
    moto.client("sagemaker").create_notebook_instance(
        NotebookInstanceName="research", InstanceType="ml.t3.medium",
        RoleArn="arn:aws:iam::123456789012:role/r")
    fleet, _ = await collect(moto)
    rows = {(r.workload, r.instance_type): r for r in fleet.provisioning}
    assert rows[("real-time", "ml.c5.xlarge")].instance_count == 5
    assert rows[("real-time", "ml.c5.xlarge")].jobs == 2
    assert rows[("notebook", "ml.t3.medium")].instance_count == 1


async def test_serverless_endpoint_is_told_apart(moto: Moto) -> None:
    moto.create_endpoint("on-demand", serverless={"MemorySizeInMB": 2048, "MaxConcurrency": 5})
    fleet, _ = await collect(moto)
    (endpoint,) = fleet.endpoints
    assert endpoint.deployment is DeploymentOption.SERVERLESS
    variant = endpoint.variants[0]
    assert variant.instance_type is None
    assert variant.serverless is not None and variant.serverless.memory_mb == 2048


async def test_second_refresh_asks_only_for_new_minutes(moto: Moto) -> None:
    moto.create_endpoint("live")
    target = AwsTarget(regions=(REGION,), endpoint_url=moto.url)
    moments = [now_minute()]
    async with AwsContext(AwsSettings(), target) as aws:
        collector = FleetCollector(aws, clock=lambda: moments[-1])
        await collector.collect(force=True)
        moments.append(moments[0] + dt.timedelta(minutes=1))
        first = aws.ledger.metrics_requested
        await collector.collect()
        second = aws.ledger.metrics_requested - first
        # History (window and hourly) is not asked again; only the live series are.
        assert 0 < second < first
        assert second == len(plan_endpoint(collector.snapshot().endpoints[0], Tier.LIVE))


async def test_model_size_by_s3_head_and_config_history(moto: Moto) -> None:
    s3 = moto.client("s3")
    s3.create_bucket(Bucket="models")
    s3.put_object(Bucket="models", Key="ranker/model.tar.gz", Body=b"x" * 4096)
    moto.create_endpoint("ranker")
    moto.create_endpoint("unsized")  # its artefact is missing: size unknown, not an error
    moto.client("sagemaker").create_endpoint_config(
        EndpointConfigName="ranker-2026-10-01", ProductionVariants=[
            {"VariantName": VARIANT, "ModelName": "ranker-model",
             "InstanceType": "ml.c5.xlarge", "InitialInstanceCount": 1}])
    fleet, aws = await collect(moto, rounds=2)
    by_name = {e.name: e for e in fleet.endpoints}
    ranker = by_name["ranker"].variants[0].model
    assert ranker is not None and ranker.containers[0].model_bytes == 4096
    unsized = by_name["unsized"].variants[0].model
    assert unsized is not None and unsized.containers[0].model_bytes is None
    assert len(by_name["ranker"].config_history) == 2  # ranker-config and ranker-2026-10-01
    assert len(by_name["unsized"].config_history) == 1
    assert fleet.errors == ()
    # Once per artefact, not once per refresh.
    assert aws.ledger.requests["s3:HeadObject"] == 2


async def test_forbidden_status_code_is_an_error_not_zero_traffic(moto: Moto) -> None:
    """CloudWatch answers the call but a query with StatusCode Forbidden: that is no answer.

    The endpoint serves and is measured (MemoryUtilization), so a missing Invocations datapoint
    would read as zero traffic; a refused one must not: no zeros, an error naming the metric.
    """
    moto.create_endpoint("locked-down")
    moto.put_metric("/aws/sagemaker/Endpoints", "MemoryUtilization", dims("locked-down"),
                    minutes(30, 40))
    moto.put_metric("AWS/SageMaker", "Invocations", dims("locked-down"), minutes(30, 12))
    moto.middleware.refused.update({"AWS/SageMaker:Invocations": "Forbidden",
                                    "/aws/sagemaker/Endpoints:CPUUtilization": "InternalError"})
    target = AwsTarget(regions=(REGION,), endpoint_url=moto.url)
    key = f"{REGION}/locked-down"
    moments = [now_minute() + dt.timedelta(seconds=30)]
    async with AwsContext(SagetopConfig().aws, target) as aws:
        collector = FleetCollector(aws, clock=lambda: moments[-1])
        fleet = await collector.collect(force=True)
        assert fleet.metrics.window_value(key, VARIANT, "requests") is None  # not 0
        assert fleet.metrics.window_value(key, VARIANT, "memory_max_pct") == pytest.approx(40)
        live = fleet.metrics.series("live", "requests", key)
        assert live.empty or live.isna().all().all()  # no zero-filled minutes either
        assert fleet.metrics.window_value(key, VARIANT, "cpu_max_pct") is None
        forbidden = [e for e in fleet.errors if "Forbidden" in e.message]
        internal = [e for e in fleet.errors if "InternalError" in e.message]
        # One line per refused metric, whatever the number of queries refused.
        assert len(forbidden) == 1 and len(internal) == 1, [e.message for e in fleet.errors]
        assert forbidden[0].permission and "Invocations in AWS/SageMaker" in forbidden[0].message
        assert "CPUUtilization in /aws/sagemaker/Endpoints" in internal[0].message
        assert not internal[0].permission
        # Once CloudWatch answers again, the refused series are asked again and arrive (the
        # InternalError, transient, has the endpoint's lookback statistics asked again at once).
        moto.middleware.refused.clear()
        moments.append(moments[0] + dt.timedelta(minutes=1))
        fleet = await collector.collect(force=True)
    assert fleet.metrics.series("live", "requests", key).sum().sum() == 360
    assert fleet.metrics.window_value(key, VARIANT, "requests") == 360
    assert fleet.metrics.window_value(key, VARIANT, "cpu_max_pct") is None  # never published
    assert not [e for e in fleet.errors if e.source == "metrics"]
