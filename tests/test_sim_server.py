"""The simulated account over HTTP answers as the in-process hook does, moves with the clock it
is given, fails to start in one line, and does not outlive its parent."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from collectors.aws import AwsContext, AwsTarget
from ground.config import SagetopConfig
from simulator import SimulatedAccount
from simulator.server import SimServerError, SimulatedServer, prepare_credentials

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
ACCOUNT = {"endpoints": 12, "seed": 3}


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatedServer]:
    with SimulatedServer(now=NOW, **ACCOUNT) as running:
        yield running


@asynccontextmanager
async def clients(target: AwsTarget) -> AsyncIterator[AwsContext]:
    config = SagetopConfig()
    async with AwsContext(config.aws, target, config.cost) as aws:
        yield aws


def in_process() -> AwsTarget:
    account = SimulatedAccount(clock=lambda: NOW, **ACCOUNT)  # type: ignore[arg-type]
    return AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)


def over_http(server: SimulatedServer) -> AwsTarget:
    return AwsTarget(regions=server.regions, endpoint_url=server.url, simulated=True,
                     prepare_session=prepare_credentials)


def answer(response: dict[str, Any]) -> dict[str, Any]:
    """An answer without its transport metadata (request ids, HTTP headers), GetMetricData's
    arrays (collectors.fastparse) as lists so that answers compare."""
    kept = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    if "MetricDataResults" in kept:
        kept["MetricDataResults"] = [
            {**r, "Timestamps": list(r["Timestamps"]), "Values": list(r["Values"])}
            for r in kept["MetricDataResults"]]
    return kept


async def ask(aws: AwsContext) -> list[dict[str, Any]]:
    sagemaker = await aws.client("sagemaker", "us-east-1")
    cloudwatch = await aws.client("cloudwatch", "us-east-1")
    listed = await sagemaker.list_endpoints(MaxResults=5)
    name = listed["Endpoints"][0]["EndpointName"]
    described = await sagemaker.describe_endpoint(EndpointName=name)
    variant = described["ProductionVariants"][0]["VariantName"]
    metrics = await cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "q0", "MetricStat": {"Metric": {
            "Namespace": "AWS/SageMaker", "MetricName": "Invocations",
            "Dimensions": [{"Name": "EndpointName", "Value": name},
                           {"Name": "VariantName", "Value": variant}]},
            "Period": 60, "Stat": "Sum"}}],
        StartTime=NOW - dt.timedelta(hours=2), EndTime=NOW)
    return [answer(listed), answer(described), answer(metrics)]


async def test_the_server_answers_as_the_in_process_hook(server: SimulatedServer) -> None:
    async with clients(in_process()) as hooked, clients(over_http(server)) as served:
        expected, got = await ask(hooked), await ask(served)
    assert got == expected
    listed, described, metrics = got
    assert len(listed["Endpoints"]) == 5 and "NextToken" in listed  # a page, as AWS pages
    assert described["EndpointName"] == listed["Endpoints"][0]["EndpointName"]
    assert len(metrics["MetricDataResults"][0]["Values"]) == 120  # two hours of minutes
    assert server.stats()["requests"]["cloudwatch:GetMetricData"] == 1


async def test_the_account_moves_with_the_clock_it_is_given(server: SimulatedServer) -> None:
    async with clients(over_http(server)) as aws:
        sagemaker = await aws.client("sagemaker", "us-east-1")
        cloudwatch = await aws.client("cloudwatch", "us-east-1")
        name = (await sagemaker.list_endpoints(MaxResults=1))["Endpoints"][0]["EndpointName"]
        query = [{"Id": "q0", "MetricStat": {"Metric": {
            "Namespace": "AWS/SageMaker", "MetricName": "Invocations",
            "Dimensions": [{"Name": "EndpointName", "Value": name},
                           {"Name": "VariantName", "Value": "AllTraffic"}]},
            "Period": 60, "Stat": "Sum"}}]

        async def minutes() -> int:
            found = await cloudwatch.get_metric_data(
                MetricDataQueries=query, StartTime=NOW, EndTime=NOW + dt.timedelta(minutes=30))
            return len(found["MetricDataResults"][0]["Timestamps"])

        try:
            assert await minutes() == 0  # nothing after the account's own now
            server.set_clock(NOW + dt.timedelta(minutes=10))
            assert await minutes() == 10
        finally:
            server.set_clock(NOW)


def test_a_server_that_cannot_listen_says_so_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SimServerError) as raised, SimulatedServer(port=port, endpoints=1):
            pass
    message = str(raised.value)
    assert "\n" not in message
    assert f"cannot listen on 127.0.0.1:{port}" in message


def alive(pid: int) -> bool:
    """Running (an exited child nobody has reaped yet is a zombie: gone for this purpose)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_server_dies_with_its_parent() -> None:
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import time
        from simulator.server import SimulatedServer
        server = SimulatedServer(endpoints=1)
        server.start()
        print(server.pid, flush=True)
        time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        os.kill(child, 0)  # serving
    finally:
        parent.send_signal(signal.SIGKILL)  # no clean-up runs: the child must notice alone
        parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not alive(child):
            return
        time.sleep(0.1)
    os.kill(child, signal.SIGKILL)
    raise AssertionError("the simulated account's server outlived its parent")
