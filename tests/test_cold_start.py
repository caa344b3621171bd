"""The cold start: describe concurrency adapts to throttling, metrics start while the inventory is
still being described, and datapoints are applied page by page with the same result."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator.account as simulated
from collectors.aws import AwsContext, AwsTarget
from collectors.concurrency import AdaptiveLimiter, ConcurrencyController
from collectors.fleet import FleetCollector
from ground.config import AwsSettings, SagetopConfig, load_config
from ground.domain import MetricStore
from ground.errors import ConfigError
from simulator import SimulatedAccount

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)

events = st.lists(st.sampled_from(["answer", "throttle"]), max_size=300)


@settings(max_examples=200, deadline=None)
@given(start=st.integers(1, 64), headroom=st.integers(0, 64), sequence=events)
def test_the_limit_stays_between_one_and_the_ceiling(start: int, headroom: int,
                                                     sequence: list[str]) -> None:
    ceiling = min(64, start + headroom)
    controller = ConcurrencyController(start, ceiling)
    assert controller.limit == start
    for event in sequence:
        before = controller.limit
        if event == "throttle":
            controller.on_throttle()
            assert controller.limit <= before  # a throttle never lets more calls start
        else:
            controller.on_answer()
            assert controller.limit >= before
        assert 1 <= controller.limit <= ceiling


@settings(max_examples=200, deadline=None)
@given(start=st.integers(1, 40), sequence=events)
def test_a_throttle_after_a_round_of_answers_halves_the_limit(start: int,
                                                              sequence: list[str]) -> None:
    controller = ConcurrencyController(start, 40)
    for event in sequence:
        controller.on_throttle() if event == "throttle" else controller.on_answer()
    for _ in range(controller.ceiling):  # a round of answers: the last cut's burst is over
        controller.on_answer()
    before = controller.limit
    controller.on_throttle()
    assert controller.limit == max(1, before // 2) or controller.limit == max(1, before // 2) + 1
    if before > 1:
        assert controller.limit < before


def test_one_burst_of_throttles_cuts_once_and_answers_grow_it_back() -> None:
    controller = ConcurrencyController(16, 20)
    for _ in range(8):  # the calls in flight when the quota was met, throttled together
        controller.on_throttle()
    assert controller.limit == 8
    for _ in range(200):
        controller.on_answer()
    assert controller.limit == 20  # additive increase, bounded by the ceiling


def test_the_start_must_be_within_the_ceiling() -> None:
    with pytest.raises(ValueError, match="ceiling"):
        ConcurrencyController(9, 8)
    with pytest.raises(ValueError, match="describe_concurrency_max"):
        AwsSettings(describe_concurrency=12, describe_concurrency_max=10)


def test_the_ceiling_is_a_documented_setting(tmp_path: Any) -> None:
    assert SagetopConfig().aws.describe_concurrency_max >= SagetopConfig().aws.describe_concurrency
    path = tmp_path / "config.toml"
    path.write_text("[aws]\ndescribe_concurrency = 30\ndescribe_concurrency_max = 10\n")
    with pytest.raises(ConfigError, match="describe_concurrency"):
        load_config(str(path))


async def test_the_limiter_never_lets_more_in_than_the_limit() -> None:
    controller = ConcurrencyController(4, 10)
    limiter = AdaptiveLimiter(controller)
    most = 0

    async def call(index: int) -> None:
        nonlocal most
        async with limiter:
            most = max(most, limiter.in_flight)
            assert limiter.in_flight <= controller.limit
            await asyncio.sleep(0.001)
            if index % 7 == 3:
                controller.on_throttle()
            else:
                controller.on_answer()

    await asyncio.gather(*(call(i) for i in range(300)))
    assert limiter.in_flight == 0
    assert 1 <= most <= 10


def _target(account: SimulatedAccount, *also: Any) -> AwsTarget:
    def prepare(session: Any) -> None:
        account.install(session)
        for install in also:
            install(session)

    return AwsTarget(regions=account.regions, simulated=True, prepare_session=prepare)


async def test_describe_concurrency_falls_on_throttling_and_grows_without() -> None:
    calm = SimulatedAccount(endpoints=120, seed=3, clock=lambda: NOW, latency_s=0.002)
    async with AwsContext(AwsSettings(), _target(calm)) as aws:
        collector = FleetCollector(aws, clock=lambda: NOW)
        await collector.collect(force=True)
        grown = collector.inventories["us-east-1"]._semaphore.controller.limit
    assert grown == AwsSettings().describe_concurrency_max  # no throttle: up to the ceiling

    throttled = SimulatedAccount(endpoints=40, seed=3, clock=lambda: NOW, latency_s=0.002)
    # SageMaker's quota met: the first describes in flight are throttled (botocore retries them).
    throttled.faults.throttle("sagemaker:DescribeEndpoint", times=3)
    async with AwsContext(AwsSettings(), _target(throttled)) as aws:
        collector = FleetCollector(aws, clock=lambda: NOW)
        controller = collector.inventories["us-east-1"]._semaphore.controller
        limits: list[int] = []
        cut = controller.on_throttle

        def watched() -> None:
            cut()
            limits.append(controller.limit)

        controller.on_throttle = watched  # type: ignore[method-assign]
        snapshot = await collector.collect(force=True)
        throttles = aws.ledger.throttles
    assert throttles == 3
    # Cut to half of where it started at the first throttle, and kept below that start.
    start = AwsSettings().describe_concurrency
    assert limits[0] == start // 2
    assert max(limits) < start
    assert len(snapshot.endpoints) == 40  # botocore's retries still got every answer
    assert all(e.described for e in snapshot.endpoints)


def _recording(order: list[str]) -> Callable[[Any], None]:
    """A session hook that appends each operation to `order` as its request is sent."""
    def record(session: Any) -> None:
        def on_send(event_name: str, **_: Any) -> None:
            order.append(event_name.split(".")[2])
        session.get_component("event_emitter").register_first(
            "before-send", on_send, unique_id="test-order")

    return record


async def test_metrics_are_asked_before_the_inventory_is_described() -> None:
    order: list[str] = []
    account = SimulatedAccount(endpoints=300, seed=5, clock=lambda: NOW, latency_s=0.005)
    async with AwsContext(AwsSettings(), _target(account, _recording(order))) as aws:
        # The CloudWatch clients made first: on a busy machine making one can take longer than
        # the whole inventory, and the order of the calls, not the client's birth, is tested.
        for region in account.regions:
            await aws.client("cloudwatch", region)
        collector = FleetCollector(aws, clock=lambda: NOW)
        await collector.collect(force=True, focus=[])
        first_pass = collector.metrics.last_pass
        describes = [i for i, op in enumerate(order) if op.startswith("Describe")
                     and op in ("DescribeEndpoint", "DescribeEndpointConfig", "DescribeModel")]
        fetches = [i for i, op in enumerate(order) if op == "GetMetricData"]
        # The first call went out once 500 queries were planned, long before the last describe.
        assert fetches[0] < describes[-1]
        assert sum(1 for i in fetches if i < describes[-1]) >= 3
        assert first_pass.calls >= first_pass.minimum_calls > 3

        # The steady-state refresh a minute later: the fewest calls the 500-query limit allows.
        later = NOW + dt.timedelta(minutes=1)
        collector.clock = lambda: later
        account.clock = lambda: later
        await collector.collect(focus=[])
        refresh = collector.metrics.last_pass
        assert refresh.calls == refresh.minimum_calls >= -(-refresh.queries // 500)


def _frames_equal(left: MetricStore, right: MetricStore) -> None:
    pd.testing.assert_frame_equal(left.window.sort_index(), right.window.sort_index())
    for name in ("hourly", "live"):
        mine, theirs = getattr(left, name), getattr(right, name)
        assert sorted(mine) == sorted(theirs)
        for series in mine:
            pd.testing.assert_frame_equal(mine[series], theirs[series], check_freq=False)


async def _store(monkeypatch: pytest.MonkeyPatch, datapoints_per_page: int) -> tuple[
        MetricStore, int]:
    monkeypatch.setattr(simulated, "MAX_DATAPOINTS", datapoints_per_page)
    account = SimulatedAccount(endpoints=60, seed=11, clock=lambda: NOW)
    async with AwsContext(AwsSettings(), _target(account)) as aws:
        collector = FleetCollector(aws, clock=lambda: NOW)
        snapshot = await collector.collect(force=True)
        return snapshot.metrics, collector.metrics.last_pass.calls


async def test_the_store_is_the_same_however_the_answers_are_paged(
        monkeypatch: pytest.MonkeyPatch) -> None:
    whole, calls = await _store(monkeypatch, simulated.MAX_DATAPOINTS)
    paged, paged_calls = await _store(monkeypatch, 700)
    assert paged_calls > 3 * calls  # many NextToken pages, each applied as it came
    assert not whole.hourly["requests"].empty
    _frames_equal(whole, paged)


async def test_a_first_load_asks_model_monitor_while_the_inventory_is_described() -> None:
    # Its four round trips a schedule (schedule, executions, job, report) were the last thing
    # of a cold start, after the whole inventory; they need the listed names only.
    order: list[str] = []
    account = SimulatedAccount(endpoints=300, seed=5, clock=lambda: NOW, latency_s=0.005)
    async with AwsContext(AwsSettings(), _target(account, _recording(order))) as aws:
        collector = FleetCollector(aws, clock=lambda: NOW)
        await collector.collect_listing()
        fleet = await collector.collect(force=True, focus=[])
        first_load = list(order)
        after = await FleetCollector(aws, clock=lambda: NOW).collect(force=True, focus=[])
    schedules = [i for i, op in enumerate(first_load) if op == "DescribeMonitoringSchedule"]
    described = [i for i, op in enumerate(first_load) if op == "DescribeEndpoint"]
    assert schedules and schedules[-1] < described[-1]
    # What it found is what a pass without a listing finds, asking after the inventory.
    assert any(e.monitor.schedules for e in fleet.endpoints)
    assert {e.key: e.monitor for e in fleet.endpoints} == {
        e.key: e.monitor for e in after.endpoints}
