"""The simulated account keeps AWS's shapes and limits, and the real collectors read it."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pandas as pd
import pytest
from botocore.exceptions import ClientError

from collectors.aws import AwsContext, AwsTarget
from collectors.fleet import FleetCollector
from ground.config import AwsSettings
from ground.domain import DeploymentOption, FleetSnapshot
from ground.errors import ReadOnlyViolation
from simulator import SimulatedAccount
from simulator.fleet import archetypes

REGION = "us-east-1"


def _target(account: SimulatedAccount) -> AwsTarget:
    return AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)


async def _collect(account: SimulatedAccount) -> FleetSnapshot:
    async with AwsContext(AwsSettings(), _target(account)) as aws:
        return await FleetCollector(aws).collect(force=True)


async def _with_client(account: SimulatedAccount, service: str, call: Any) -> Any:
    async with AwsContext(AwsSettings(), _target(account)) as aws:
        client = await aws.client(service, REGION)
        return await call(client), aws


def _query(index: int, endpoint: str, metric: str, stat: str, period: int,
           variant: str | None = "AllTraffic",
           namespace: str = "AWS/SageMaker") -> dict[str, Any]:
    dims = [{"Name": "EndpointName", "Value": endpoint}]
    if variant:
        dims.append({"Name": "VariantName", "Value": variant})
    return {"Id": f"q{index}", "MetricStat": {
        "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dims},
        "Period": period, "Stat": stat}}


def test_archetypes_cover_what_a_real_account_has() -> None:
    fleet = archetypes(REGION, dt.datetime.now(dt.UTC))
    kinds = {e.archetype for e in fleet}
    assert len(kinds) >= 16
    for wanted in ("over-provisioned CPU", "idle GPU", "business-hours traffic", "nightly bursts",
                   "slow large requests", "idle for weeks", "small look-alike (shared image)",
                   "saturated with 5XX", "single-instance production",
                   "serverless with cold starts", "drift violations", "multi-variant A/B"):
        assert wanted in kinds
    shared = [e for e in fleet if e.archetype == "small look-alike (shared image)"]
    assert len(shared) >= 5 and len({e.image for e in shared}) == 1


async def test_collectors_read_the_whole_simulated_fleet() -> None:
    account = SimulatedAccount()
    fleet = await _collect(account)
    assert fleet.errors == ()
    assert fleet.account_id == "123456789012"
    by_name = {e.name: e for e in fleet.endpoints}
    assert len(by_name) == len(account.fleet)
    assert by_name["faq-bot-serverless"].deployment is DeploymentOption.SERVERLESS
    assert by_name["video-captions-async"].deployment is DeploymentOption.ASYNC
    assert by_name["recs-multi-model"].deployment is DeploymentOption.MULTI_MODEL
    assert by_name["ner-pipeline-prod"].deployment is DeploymentOption.MULTI_CONTAINER
    assert len(by_name["pricing-ab-prod"].variants) == 2
    assert by_name["web-ranker-prod"].variants[0].autoscaling is not None
    assert by_name["web-ranker-prod"].variants[0].autoscaling.scales
    assert not by_name["nightly-scoring"].variants[0].autoscaling.scales  # type: ignore[union-attr]
    assert by_name["credit-risk-prod"].monitor.violation_count == 2
    assert by_name["credit-risk-prod"].monitor.drift_metrics
    assert by_name["speech-to-text-beta"].status == "Failed"
    workloads = {row.workload for row in fleet.provisioning}
    assert {"training", "batch-transform", "notebook", "real-time"} <= workloads


async def test_idle_endpoint_has_no_invocation_datapoints_but_host_metrics() -> None:
    account = SimulatedAccount()
    end = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    start = end - dt.timedelta(days=14)

    async def ask(client: Any) -> Any:
        return await client.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[
            _query(0, "legacy-recs-v1", "Invocations", "Sum", 3600),
            _query(1, "legacy-recs-v1", "CPUUtilization", "Average", 3600,
                   namespace="/aws/sagemaker/Endpoints"),
            # Without VariantName nothing is published: "no data", not zero traffic.
            _query(2, "web-ranker-prod", "Invocations", "Sum", 3600, variant=None),
            _query(3, "web-ranker-prod", "Invocations", "Sum", 3600)])

    response, _ = await _with_client(account, "cloudwatch", ask)
    # sagetop's clients read Timestamps and Values as arrays (collectors.fastparse).
    results = {r["Id"]: {**r, "Values": list(r["Values"])} for r in response["MetricDataResults"]}
    assert results["q0"]["Values"] == []
    assert len(results["q1"]["Values"]) == 14 * 24
    assert results["q2"]["Values"] == []
    assert sum(results["q3"]["Values"]) > 0


async def test_cpu_is_published_summed_over_vcpus_and_normalised_by_the_collector() -> None:
    account = SimulatedAccount()
    end = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)

    async def ask(client: Any) -> Any:
        return await client.get_metric_data(
            StartTime=end - dt.timedelta(hours=6), EndTime=end, MetricDataQueries=[
                _query(0, "payments-fraud-prod", "CPUUtilization", "Maximum", 3600,
                       namespace="/aws/sagemaker/Endpoints")])

    response, _ = await _with_client(account, "cloudwatch", ask)
    raw = max(response["MetricDataResults"][0]["Values"])
    assert raw > 100  # 4 vCPUs of ml.c5.xlarge, near saturation
    fleet = await _collect(account)
    key = f"{REGION}/payments-fraud-prod"
    cpu = fleet.metrics.window_value(key, "AllTraffic", "cpu_max_pct")
    assert cpu is not None and 80 < cpu <= 100


async def test_get_metric_data_limits_and_newest_first_pages() -> None:
    account = SimulatedAccount(endpoints=60)
    end = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    start = end - dt.timedelta(days=3)
    # Endpoints publishing every minute (a 300 s publisher has a fifth of the datapoints), and
    # not the one scaling to zero at night.
    names = [e.name for e in account.fleet.values()
             if e.status == "InService" and e.variants[0].instance_type
             and len(e.variants) == 1 and e.metric_publish_frequency_s == 60
             and not any(c.scale_to_zero for c in e.components)][:50]
    # 50 endpoints x 3 metrics x 4,320 minutes = 648,000 datapoints: several pages.
    queries = [_query(i * 3 + j, name, metric, "Average", 60,
                      namespace="/aws/sagemaker/Endpoints")
               for i, name in enumerate(names)
               for j, metric in enumerate(("CPUUtilization", "MemoryUtilization",
                                           "DiskUtilization"))]

    async def pages(client: Any) -> list[dict[str, Any]]:
        collected = []
        paginator = client.get_paginator("get_metric_data")
        async for page in paginator.paginate(MetricDataQueries=queries, StartTime=start,
                                             EndTime=end):
            collected.append(page)
        return collected

    result, _ = await _with_client(account, "cloudwatch", pages)
    sizes = [sum(len(r["Values"]) for r in page["MetricDataResults"]) for page in result]
    assert len(result) == 7 and max(sizes) == 100_800
    assert sum(sizes) == len(queries) * 3 * 24 * 60
    first = list(result[0]["MetricDataResults"][0]["Timestamps"])
    assert first == sorted(first, reverse=True)

    async def too_many(client: Any) -> Any:
        return await client.get_metric_data(StartTime=start, EndTime=end,
                                            MetricDataQueries=(queries * 4)[:501])

    with pytest.raises(ClientError, match="greater than 500"):
        await _with_client(account, "cloudwatch", too_many)


async def test_list_endpoints_pages_by_100() -> None:
    account = SimulatedAccount(endpoints=250)
    fleet = await _collect(account)
    assert len(fleet.endpoints) == 250
    assert account.requests["sagemaker:ListEndpoints"] == 3


async def test_same_seed_same_numbers() -> None:
    # One fixed moment for both: two runs a second apart may straddle a minute boundary.
    moment = dt.datetime(2026, 11, 2, 10, 30, tzinfo=dt.UTC)

    async def collect_at(account: SimulatedAccount) -> FleetSnapshot:
        async with AwsContext(AwsSettings(), _target(account)) as aws:
            return await FleetCollector(aws, clock=lambda: moment).collect(force=True)

    first = await collect_at(SimulatedAccount(seed=3, clock=lambda: moment))
    second = await collect_at(SimulatedAccount(seed=3, clock=lambda: moment))
    assert not first.metrics.window.empty
    assert first.metrics.window.sort_index().equals(second.metrics.window.sort_index())


async def test_throttling_at_the_quota_is_retried_and_counted() -> None:
    account = SimulatedAccount(getmetricdata_tps=2.0)
    end = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)

    async def burst(client: Any) -> Any:
        calls = [client.get_metric_data(StartTime=end - dt.timedelta(hours=1), EndTime=end,
                                        MetricDataQueries=[_query(0, "web-ranker-prod",
                                                                  "Invocations", "Sum", 60)])
                 for _ in range(6)]
        return await asyncio.gather(*calls)

    responses, aws = await _with_client(account, "cloudwatch", burst)
    assert all(len(r["MetricDataResults"][0]["Values"]) for r in responses)
    assert account.throttled >= 1
    assert aws.ledger.throttles == account.throttled


async def test_writes_never_reach_the_simulated_account() -> None:
    account = SimulatedAccount()

    async def delete(client: Any) -> Any:
        return await client.delete_endpoint(EndpointName="web-ranker-prod")

    with pytest.raises(ReadOnlyViolation):
        await _with_client(account, "sagemaker", delete)
    assert not any("Delete" in op for op in account.requests)
    assert ("us-east-1", "web-ranker-prod") in account.fleet


async def test_endpoints_created_updated_and_deleted_between_refreshes() -> None:
    account = SimulatedAccount()
    async with AwsContext(AwsSettings(), _target(account)) as aws:
        collector = FleetCollector(aws)
        await collector.collect(force=True)
        described = account.requests["sagemaker:DescribeEndpoint"]
        await collector.collect(force=True)
        assert account.requests["sagemaker:DescribeEndpoint"] == described  # nothing changed
        template = account.endpoint("checkout-upsell-prod")
        account.delete_endpoint("legacy-recs-v1")
        account.create_endpoint(template.__class__(**{**template.__dict__,
                                                      "name": "checkout-upsell-v2"}))
        account.update_endpoint("churn-predictor-prod", status="Updating")
        fleet = await collector.collect(force=True)
    names = {e.name: e for e in fleet.endpoints}
    assert "legacy-recs-v1" not in names and "checkout-upsell-v2" in names
    assert names["churn-predictor-prod"].status == "Updating"
    assert account.requests["sagemaker:DescribeEndpoint"] == described + 2


async def test_fast_metric_data_path_matches_botocore_parsing() -> None:
    """The before-parse fast path gives exactly what botocore's own parser gives."""
    import json as json_module

    from botocore.parsers import create_parser
    from botocore.session import get_session

    from collectors.failures import UnreadableAnswer
    from collectors.fastparse import epoch_seconds, parse_metric_data

    body = json_module.dumps({
        "MetricDataResults": [{"Id": "q0", "Label": "Invocations",
                               "Timestamps": [1_700_000_060.0, 1_700_000_000.0],
                               "Values": [3.0, 4.5], "StatusCode": "Complete"},
                              {"Id": "q1", "Label": "x", "Timestamps": [], "Values": [],
                               "StatusCode": "PartialData"}],
        "NextToken": "abc", "Messages": []}).encode()
    model = get_session().get_service_model("cloudwatch").operation_model("GetMetricData")
    parser = create_parser(model.service_model.resolved_protocol)
    plain = parser.parse({"status_code": 200, "headers": {}, "body": body}, model.output_shape)
    fast_dict = {"status_code": 200, "headers": {}, "body": body}
    customized: dict[str, Any] = {}
    parse_metric_data(response_dict=fast_dict, customized_response_dict=customized)
    fast = parser.parse(fast_dict, model.output_shape)
    fast.update(customized)
    for parsed in (plain, fast):
        parsed.pop("ResponseMetadata", None)
    assert fast["NextToken"] == plain["NextToken"] == "abc"
    # The same numbers, as float64 arrays of epoch seconds and values (not datetimes).
    assert [r["Values"].tolist() for r in fast["MetricDataResults"]] == \
        [r["Values"] for r in plain["MetricDataResults"]]
    assert [r["Timestamps"].tolist() for r in fast["MetricDataResults"]] == \
        [[t.timestamp() for t in r["Timestamps"]] for r in plain["MetricDataResults"]]
    assert [epoch_seconds(r["Timestamps"]).tolist() for r in plain["MetricDataResults"]] == \
        [r["Timestamps"].tolist() for r in fast["MetricDataResults"]]
    assert all(r["Timestamps"].dtype == r["Values"].dtype == "float64"
               for r in fast["MetricDataResults"])
    for wrong in ('["1700000000"]', "[null]", "[true]", "[NaN]", '"abc"'):
        odd = body.replace(b"[1700000060.0, 1700000000.0]", wrong.encode())
        with pytest.raises(UnreadableAnswer):
            parse_metric_data(response_dict={"status_code": 200, "headers": {}, "body": odd},
                              customized_response_dict={})
    error = {"status_code": 400, "headers": {}, "body": b'{"__type": "Throttling"}'}
    untouched: dict[str, Any] = {}
    parse_metric_data(response_dict=error, customized_response_dict=untouched)
    assert untouched == {} and error["body"] == b'{"__type": "Throttling"}'


# Instance counts, publish frequency, refused queries, model caches -----------------------------

MOMENT = dt.datetime(2026, 11, 2, 10, 30, tzinfo=dt.UTC)


async def _collect_at(account: SimulatedAccount, moment: dt.datetime = MOMENT) -> FleetSnapshot:
    async with AwsContext(AwsSettings(), _target(account)) as aws:
        return await FleetCollector(aws, clock=lambda: moment).collect(force=True)


async def test_cpu_samples_count_the_instances_of_an_autoscaled_variant() -> None:
    """Every instance publishes one CPUUtilization datapoint per minute: the SampleCount over an
    hour is 60 x the instances, which follow web-ranker-prod's load between MinCapacity 3 and
    its peak of 6 over the day."""
    account = SimulatedAccount(clock=lambda: MOMENT)
    end = MOMENT.replace(minute=0)

    async def ask(client: Any) -> Any:
        return await client.get_metric_data(
            StartTime=end - dt.timedelta(days=1), EndTime=end, MetricDataQueries=[
                _query(0, "web-ranker-prod", "CPUUtilization", "SampleCount", 3600,
                       namespace="/aws/sagemaker/Endpoints")])

    response, _ = await _with_client(account, "cloudwatch", ask)
    per_hour = [v / 60 for v in response["MetricDataResults"][0]["Values"]]
    assert len(per_hour) == 24 and all(v == int(v) for v in per_hour)
    # MinCapacity at night, more by day (up to 6 at a weekday peak; this was a Sunday).
    assert min(per_hour) == 3 and 4 <= max(per_hour) <= 6
    fleet = await _collect_at(account)
    key = f"{REGION}/web-ranker-prod"
    mean = fleet.metrics.window_value(key, "AllTraffic", "instance_count_mean")
    assert mean is not None and 3 < mean < 6
    hourly = fleet.metrics.hourly["instance_count"][(key, "AllTraffic")].dropna()
    assert mean == pytest.approx(hourly.mean(), rel=0.02)
    assert set(hourly.tail(24).tolist()) <= {3.0, 4.0, 5.0, 6.0}
    # DescribeEndpoint reports the count of the moment (10:30, busy): not what was billed.
    (variant,) = fleet.endpoint(key).variants  # type: ignore[union-attr]
    assert variant.current_instance_count != pytest.approx(mean)
    # A fixed variant's samples count its instances exactly.
    assert fleet.metrics.window_value(f"{REGION}/churn-predictor-prod", "AllTraffic",
                                      "instance_count_mean") == pytest.approx(4.0)


async def test_a_300_second_publisher_has_no_zero_traffic_minutes() -> None:
    """ner-pipeline-prod's MetricsConfig publishes every 300 s. Asked per minute and zero-filled,
    four minutes in five would read as zero traffic on an endpoint that is never idle."""
    account = SimulatedAccount(clock=lambda: MOMENT)
    end = MOMENT

    async def ask(client: Any) -> Any:
        return await client.get_metric_data(
            StartTime=end - dt.timedelta(hours=1), EndTime=end, MetricDataQueries=[
                _query(0, "ner-pipeline-prod", "Invocations", "Sum", 60)])

    response, _ = await _with_client(account, "cloudwatch", ask)
    stamps = response["MetricDataResults"][0]["Timestamps"]
    assert len(stamps) == 12  # one datapoint per 5 minutes, whatever the period asked
    assert all(int(s) % 300 == 0 for s in stamps)  # epoch seconds (collectors.fastparse)
    raw_total = sum(response["MetricDataResults"][0]["Values"])
    fleet = await _collect_at(account)
    key = f"{REGION}/ner-pipeline-prod"
    assert fleet.endpoint(key).metric_publish_frequency_s == 300  # type: ignore[union-attr]
    live = fleet.metrics.series("live", "requests", key)[(key, "AllTraffic")]
    minutes = live[live.index < pd.Timestamp(MOMENT)].dropna()
    assert len(minutes) == 60 and (minutes > 0).all(), minutes[minutes <= 0]
    assert minutes.sum() == pytest.approx(raw_total)  # the 5-minute sums, spread per minute
    # Its CPU samples come every 300 s too: divided by 300-s periods they still count 2.
    assert fleet.metrics.window_value(key, "AllTraffic", "instance_count_mean") == \
        pytest.approx(2.0)


@pytest.mark.parametrize("status", ["Forbidden", "InternalError"])
async def test_refused_queries_are_errors_and_never_zeros(status: str) -> None:
    moments = [MOMENT]
    account = SimulatedAccount(clock=lambda: moments[-1])
    account.faults.refuse_metric("AWS/SageMaker:Invocations", status)
    async with AwsContext(AwsSettings(), _target(account)) as aws:
        collector = FleetCollector(aws, clock=lambda: moments[-1])
        fleet = await collector.collect(force=True)
        refused = [e for e in fleet.errors if status in e.message]
        assert len(refused) == 1, [e.message for e in fleet.errors]
        assert "Invocations in AWS/SageMaker" in refused[0].message
        assert refused[0].permission is (status == "Forbidden")
        idle = f"{REGION}/legacy-recs-v1"  # serving and measured: a missing point would be 0
        assert fleet.metrics.window_value(idle, "AllTraffic", "requests") is None
        live = fleet.metrics.live.get("requests")
        assert live is None or not (live == 0).any().any()
        account.faults.clear()
        # Live minutes are asked again at once; the lookback statistics at once after a
        # transient refusal, after a missing permission at their cadence (6 h: asking a whole
        # fleet's window again every minute would be billed for nothing).
        moments.append(MOMENT + dt.timedelta(minutes=1))
        fleet = await collector.collect(force=True)
        busy = f"{REGION}/web-ranker-prod"
        assert fleet.metrics.series("live", "requests", busy).sum().sum() > 0
        recovered = fleet.metrics.window_value(busy, "AllTraffic", "requests")
        assert (recovered is None) is (status == "Forbidden")
        moments.append(MOMENT + dt.timedelta(hours=6, minutes=1))
        fleet = await collector.collect(force=True)
    assert fleet.metrics.window_value(idle, "AllTraffic", "requests") == 0
    assert fleet.metrics.window_value(busy, "AllTraffic", "requests")


async def test_multi_model_endpoints_publish_their_cache_metrics() -> None:
    fleet = await _collect_at(SimulatedAccount(clock=lambda: MOMENT))
    healthy = f"{REGION}/recs-multi-model"
    thrashing = f"{REGION}/ads-tenant-models"

    def value(key: str, series: str) -> float:
        found = fleet.metrics.window_value(key, "AllTraffic", series)
        assert found is not None, (key, series)
        return found

    assert value(healthy, "model_cache_hit_ratio") > 0.95
    assert value(thrashing, "model_cache_hit_ratio") < 0.7
    assert value(thrashing, "model_loading_wait_avg_us") > 2_000_000  # past its 2 s tolerance
    assert value(healthy, "model_loading_wait_max_us") < value(thrashing,
                                                               "model_loading_wait_max_us")
    assert value(thrashing, "model_unloads") > value(healthy, "model_unloads") > 0
    assert 20 < value(healthy, "loaded_models_avg") < 30
    # Single-model endpoints publish none of them (and none are asked for).
    assert fleet.metrics.window_value(f"{REGION}/web-ranker-prod", "AllTraffic",
                                      "model_cache_hit_ratio") is None
