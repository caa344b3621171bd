"""GetMetricData's fast paths (collectors.fastparse) send what botocore would send.

A real botocore client, its request caught at `before-send` (the last moment before bytes leave):
the body written with the fast path, and the body botocore's own serializer writes, for the same
call, compare equal as JSON, for any queries a property test makes up, plain or not.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import botocore.config
import botocore.session
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors import fastparse
from collectors.aws import AwsContext, AwsTarget
from collectors.failures import UnreadableAnswer
from collectors.fleet import FleetCollector
from ground.config import AwsSettings
from simulator import SimulatedAccount


class Caught(Exception):
    """The request, stopped before it is sent."""

    def __init__(self, body: bytes) -> None:
        super().__init__("caught")
        self.body = body


def catch(request: Any, **_: Any) -> None:
    raise Caught(request.body)


def cloudwatch(fast: bool) -> Any:
    session = botocore.session.get_session()
    if fast:
        fastparse.install(session)
    session.register("before-send", catch)
    return session.create_client("cloudwatch", region_name="us-east-1",
                                 aws_access_key_id="AKIDEXAMPLE",
                                 aws_secret_access_key="secret",
                                 config=botocore.config.Config(parameter_validation=False))


CLIENTS = {fast: cloudwatch(fast) for fast in (True, False)}


def sent(fast: bool, **params: Any) -> dict[str, Any]:
    with pytest.raises(Caught) as caught:
        CLIENTS[fast].get_metric_data(**params)
    body: dict[str, Any] = json.loads(caught.value.body)
    return body


text = st.text(max_size=12)
dimension = st.fixed_dictionaries({"Name": text, "Value": text})
metric = st.fixed_dictionaries({"Namespace": text, "MetricName": text},
                               optional={"Dimensions": st.lists(dimension, max_size=3)})
stat = st.fixed_dictionaries({"Metric": metric, "Stat": text},
                             optional={"Period": st.integers(1, 86_400), "Unit": text})
query = st.fixed_dictionaries(
    {"Id": text},
    optional={"MetricStat": stat, "Expression": text, "Label": text,
              "ReturnData": st.booleans(),
              "Period": st.integers(1, 86_400) | st.floats(allow_nan=False, allow_infinity=False),
              "AccountId": text,
              # Not plain: botocore leaves a None out; the fast path must not send a null.
              "Label ": st.none()})


def without_odd_keys(q: dict[str, Any]) -> dict[str, Any]:
    # "Label " stands for a None value of a real member: put it under "Label".
    if "Label " in q:
        q = {k: v for k, v in q.items() if k != "Label "}
        q["Label"] = None
    return q


@settings(max_examples=150, deadline=None)
@given(st.lists(query.map(without_odd_keys), max_size=6), st.one_of(st.none(), text))
def test_the_fast_body_is_the_body_botocore_would_send(queries: list[dict[str, Any]],
                                                      token: str | None) -> None:
    params: dict[str, Any] = {
        "MetricDataQueries": queries,
        "StartTime": dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC),
        "EndTime": dt.datetime(2026, 12, 1, 11, 0, tzinfo=dt.UTC)}
    if token is not None:
        params["NextToken"] = token
    fast = sent(True, **params)
    slow = sent(False, **params)
    assert fast == slow


def test_plain_queries_skip_botocores_walker_and_others_do_not() -> None:
    start = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    plain = [{"Id": "q0", "MetricStat": {"Metric": {
        "Namespace": "AWS/SageMaker", "MetricName": "Invocations",
        "Dimensions": [{"Name": "EndpointName", "Value": "a"}]}, "Period": 60, "Stat": "Sum"},
        "ReturnData": True}]
    model = CLIENTS[True].meta.service_model.operation_model("GetMetricData")
    context: dict[str, Any] = {}
    params: dict[str, Any] = {"MetricDataQueries": plain, "StartTime": start}
    fastparse.hold_plain_queries(params, model, context)
    assert "MetricDataQueries" not in params and context  # held for the body
    with_none = [{"Id": "q0", "Label": None}]
    context, params = {}, {"MetricDataQueries": with_none, "StartTime": start}
    fastparse.hold_plain_queries(params, model, context)
    assert params["MetricDataQueries"] is with_none and not context  # botocore's to write
    # Sent either way, the same.
    assert sent(True, MetricDataQueries=plain, StartTime=start, EndTime=start) == sent(
        False, MetricDataQueries=plain, StartTime=start, EndTime=start)


async def test_the_queries_sagetop_plans_all_take_the_fast_path() -> None:
    # A query of the planner's with a float or a None in it would quietly cost botocore's walk.
    now = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    left_to_botocore: list[bool] = []

    def prepare(session: Any) -> None:
        account.install(session)
        # After fastparse's own handler (installed first): what it left in the parameters.
        session.get_component("event_emitter").register(
            "before-parameter-build.cloudwatch.GetMetricData",
            lambda params, **_: left_to_botocore.append("MetricDataQueries" in params))

    account = SimulatedAccount(endpoints=40, seed=5, clock=lambda: now)
    target = AwsTarget(regions=account.regions, simulated=True, prepare_session=prepare)
    async with AwsContext(AwsSettings(), target) as aws:
        fleet = await FleetCollector(aws, clock=lambda: now).collect(force=True, focus=[])
    assert left_to_botocore and not any(left_to_botocore)
    # And the account read the queries from the body: the window holds every variant.
    variants = {(e.key, v.name) for e in fleet.endpoints for v in e.variants}
    assert variants and variants <= set(fleet.metrics.window.index)


# The answer's side: number lists read straight into arrays, or by the general path, the same.

number = st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
tricky = st.sampled_from(['"Timestamps":[1,2]', "]", "[", '\\"Values\\":[3]', "{}", ""]) | text
result = st.fixed_dictionaries({
    "Id": tricky, "Label": tricky,
    "Timestamps": st.lists(number, max_size=8), "Values": st.lists(number, max_size=8),
    "StatusCode": st.sampled_from(["Complete", "PartialData"])})


def parsed(body: bytes) -> list[dict[str, Any]] | None:
    """The results as sagetop reads them; None when left to botocore."""
    customized: dict[str, Any] = {}
    fastparse.parse_metric_data({"status_code": 200, "body": body}, customized)
    results: list[dict[str, Any]] | None = customized.get("MetricDataResults")
    return results


@settings(max_examples=300, deadline=None)
@given(st.lists(result, max_size=5), st.booleans())
def test_number_lists_read_as_json_reads_them(results: list[dict[str, Any]],
                                             spaced: bool) -> None:
    separators = (", ", ": ") if spaced else (",", ":")
    body = json.dumps({"MetricDataResults": results, "Messages": []},
                      separators=separators).encode()
    assert fastparse._arrays_first(body) is not None  # read by numpy, no text mistaken
    got = parsed(body)
    assert got is not None
    assert [r["Id"] for r in got] == [r["Id"] for r in results]
    for mine, theirs in zip(got, results, strict=True):
        assert mine["Label"] == theirs["Label"]
        for key in ("Timestamps", "Values"):
            assert mine[key].dtype == np.float64
            assert mine[key].tolist() == [float(x) for x in theirs[key]]


@pytest.mark.parametrize("listed", ["[1,true]", "[1,null]", '[1,"2"]', "[1,2,]", "[NaN]",
                                    "[1e999]", "[[1]]", '{"sagetop-parsed":0}'])
def test_a_number_list_that_is_not_numbers_fails_the_call_it_came_in(listed: str) -> None:
    body = ('{"MetricDataResults":[{"Id":"q0","Timestamps":[1,2],"Values":' + listed
            + ',"StatusCode":"Complete"}]}').encode()
    try:
        got = parsed(body)
    except UnreadableAnswer:
        return
    # What json itself refuses to read is botocore's to parse (and refuse): never a number.
    assert listed == "[1,2,]" and got is None
