"""A long session in simulated time: hundreds of refreshes, faults from a seeded schedule.

The clock moves 1-5 minutes per refresh (days of watching in a few seconds), endpoints come and
go, and faults are sprinkled in. Nothing may crash, memory and the kept series stay bounded, and
every fault that fired shows up as a reported error or a throttle count.
"""

from __future__ import annotations

import datetime as dt
import random
import tracemalloc
from dataclasses import replace

import pytest

from collectors.aws import AwsContext
from collectors.fleet import FleetCollector
from ground.domain import FleetSnapshot
from simulator import SimulatedAccount
from tests.test_reliability import Clock, fast_config, target

REFRESHES = 240
MEASURED = 30  # the last refreshes (1.5 simulated hours), traced: tracemalloc slows Python 3x
FAULT_RATE = 0.09
# Operations a refresh calls (some only when their part is due) and the kinds of failure.
PATTERNS = ("cloudwatch:GetMetricData", "sagemaker:ListEndpoints",
            "resource-groups-tagging-api:GetResources",
            "sagemaker:DescribeEndpoint", "application-auto-scaling:DescribeScalableTargets",
            "sagemaker:ListMonitoringSchedules", "sagemaker:ListTrainingJobs", "*")
KINDS = ("throttle", "throttle-429", "throttle-burst", "deny", "expired", "network",
         "unavailable", "error")
SHOWN = {  # what the message of each kind says
    "throttle": "throttled after retries", "throttle-429": "throttled after retries",
    "deny": "no permission for", "expired": "credentials expired", "network": "cannot reach",
    "unavailable": "ServiceUnavailable", "error": "InternalFailure",
}


def _inject(account: SimulatedAccount, rng: random.Random) -> str:
    kind = rng.choice(KINDS)
    pattern = rng.choice(PATTERNS)
    if kind == "throttle-burst":
        # Absorbed by the retries: no error, only the throttle count shows it.
        account.faults.throttle(pattern, times=1, status=429)
    elif kind == "throttle-429":
        account.faults.add(pattern, "throttle", status=429)
    else:
        # Until cleared: outlasts the retries of this refresh.
        account.faults.add(pattern, kind)
    return kind


@pytest.fixture
def scaled_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's backoff and adaptive rate limiting in simulated time: a hundredth as long.

    The adaptive limiter recovers its rate over real seconds; a session of days squeezed into
    seconds would otherwise spend them all waiting. Retries and their number are unchanged.
    """
    from aiobotocore.retries.bucket import AsyncTokenBucket
    from botocore.retries.standard import ExponentialBackoff

    delay = ExponentialBackoff.delay_amount
    sleep = AsyncTokenBucket._sleep_amount
    monkeypatch.setattr(ExponentialBackoff, "delay_amount",
                        lambda self, context: delay(self, context) / 100)
    monkeypatch.setattr(AsyncTokenBucket, "_sleep_amount",
                        lambda self, amount: sleep(self, amount) / 100)


def _bounded(fleet: FleetSnapshot, live_minutes: int, lookback_hours: int) -> None:
    variants = sum(len(e.variants) for e in fleet.endpoints) + len(fleet.endpoints)
    assert len(fleet.metrics.window) <= variants
    for frame in fleet.metrics.live.values():
        assert len(frame.index) <= live_minutes + 2
        assert len(frame.columns) <= variants
    for frame in fleet.metrics.hourly.values():
        assert len(frame.index) <= lookback_hours + 2
        assert len(frame.columns) <= variants


@pytest.mark.usefixtures("scaled_waits")
async def test_soak_hundreds_of_refreshes_with_faults() -> None:
    rng = random.Random(20261123)
    clock = Clock()
    account = SimulatedAccount(endpoints=4, seed=11, clock=clock)
    template = next(iter(account.fleet.values()))
    config = fast_config(max_attempts=2)
    live_minutes = config.history.live_window_minutes
    lookback_hours = config.history.lookback_days * 24
    injected = shown = 0
    async with AwsContext(config.aws, target(account)) as aws:
        collector = FleetCollector(aws, config.refresh, config.history, clock=clock)
        await collector.collect(force=True)
        for refresh in range(REFRESHES):
            if refresh == REFRESHES - MEASURED:
                # Well after warm-up (pandas, botocore caches, full live and hourly frames).
                tracemalloc.start()
                baseline = tracemalloc.get_traced_memory()[0]
            clock.advance(rng.randint(1, 5))
            if rng.random() < 0.05:  # the fleet changes under the collector
                name = f"churn-{refresh}"
                account.create_endpoint(replace(template, name=name))
                stale = [n for (_, n) in account.fleet if n.startswith("churn-")]
                if len(stale) > 2:
                    account.delete_endpoint(stale[0])
            kind = _inject(account, rng) if rng.random() < FAULT_RATE else None
            fired_before = account.faults.fired.total()
            throttles_before = aws.ledger.throttles
            fleet = await collector.collect()
            fired = account.faults.fired.total() - fired_before
            account.faults.clear()
            if kind is None or not fired:
                assert fleet.errors == () or (kind is None and all(
                    e.source == "metrics" and e.operation is None for e in fleet.errors)), \
                    [e.message for e in fleet.errors]
                continue
            injected += 1
            if kind == "throttle-burst":
                assert fleet.errors == ()
                assert aws.ledger.throttles - throttles_before == fired
            else:
                messages = [e.message for e in fleet.errors]
                assert any(SHOWN[kind] in m for m in messages), (kind, messages)
                if kind.startswith("throttle"):
                    assert aws.ledger.throttles - throttles_before == fired
            shown += 1
            _bounded(fleet, live_minutes, lookback_hours)
        grown = tracemalloc.get_traced_memory()[0] - baseline
        tracemalloc.stop()
        clock.advance(1)
        final = await collector.collect()
    # A fault is cleared after its refresh: the refresh after it recovers everything.
    assert final.errors == (), [e.message for e in final.errors]
    assert {e.name for e in final.endpoints} == {n for _, n in account.fleet}
    _bounded(final, live_minutes, lookback_hours)
    # Enough faults fired to mean something (how many depends on which parts were due when a
    # fault was planted; a region whose inventory fails skips its other parts).
    assert injected >= 10 and shown == injected
    assert grown < 3_000_000, f"{grown / 1e6:.1f} MB kept over {MEASURED} refreshes"
    # A long session in simulated time: half a day and more.
    assert clock.now - dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC) > dt.timedelta(hours=10)
