"""Warm start: the live session restores the stored fleet before any AWS call, then the truth.

moto's server over HTTP is the account; the store is a real file in the test's temp dir. The
app's marks (the stored age per row and in the header) are read through the Pilot.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from collectors.aws import AwsContext, AwsTarget
from collectors.ledger import RequestLedger
from ground.config import AwsSettings, SagetopConfig
from ground.domain import FleetSnapshot
from pipeline.analysis import Analyst
from pipeline.live import Collected, Listing, LiveEvent, LiveSession, Restored, StoreNotice
from pipeline.store import SET_ASIDE_MARK, StateStore
from simulator import SimulatedAccount
from tests.conftest import REGION, Moto
from tests.test_tui_support import wait_until
from tui.app import SagetopApp
from tui.widgets.chrome import HeaderLine
from tui.widgets.fleet.table import FleetTable

NOW = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
CONFIG = SagetopConfig(aws=AwsSettings(max_attempts=1))


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _sim_session(account: SimulatedAccount, store: Path, clock: _Clock) -> LiveSession:
    target = AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)
    return LiveSession(AwsContext(CONFIG.aws, target, CONFIG.cost), CONFIG.refresh,
                       CONFIG.history, clock=clock, store=store)


def _session(moto: Moto | None, store: Path, clock: Callable[[], dt.datetime],
             url: str | None = None) -> LiveSession:
    target = AwsTarget(regions=(REGION,), endpoint_url=url or (moto.url if moto else None))
    return LiveSession(AwsContext(CONFIG.aws, target, CONFIG.cost), CONFIG.refresh,
                       CONFIG.history, clock=clock, store=store)


async def _first_refresh(session: LiveSession) -> list[LiveEvent]:
    """Every event up to the first refresh (the session then saves and ends)."""
    events: list[LiveEvent] = []
    async with contextlib.aclosing(session.events()) as stream:
        async for event in stream:
            if not isinstance(event, Collected | Listing | Restored | StoreNotice):
                continue
            events.append(event)
            if isinstance(event, Collected):
                session.stop()
    return events


def _describes(ledger: RequestLedger) -> int:
    return ledger.requests["sagemaker:DescribeEndpoint"]


async def test_a_warm_start_shows_the_store_then_the_truth(moto: Moto, tmp_path: Path) -> None:
    for name in ("steady", "changing", "doomed"):
        moto.create_endpoint(name)
    store = tmp_path / "fleet-test.db"
    cold = _session(moto, store, lambda: NOW)
    cold_events = await _first_refresh(cold)
    assert not any(isinstance(e, Restored) for e in cold_events)  # nothing stored yet
    assert _describes(cold.aws.ledger) == 3

    sagemaker = moto.client("sagemaker")
    sagemaker.create_endpoint_config(EndpointConfigName="changing-config-2", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "changing-model",
         "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    # moto has no UpdateEndpoint; a re-created endpoint changes LastModifiedTime the same way
    # (the simulator's in-place update is the next test).
    sagemaker.delete_endpoint(EndpointName="changing")
    sagemaker.create_endpoint(EndpointName="changing", EndpointConfigName="changing-config-2")
    sagemaker.delete_endpoint(EndpointName="doomed")
    moto.create_endpoint("newcomer")
    moto.log.clear()

    later = NOW + dt.timedelta(minutes=10)
    warm = _session(moto, store, lambda: later)
    events = await _first_refresh(warm)
    restored = next(e for e in events if isinstance(e, Restored))
    assert events.index(restored) == 0  # before the listing, before any call
    assert restored.saved_at == NOW
    stored = restored.fleet
    assert {e.name for e in stored.endpoints} == {"steady", "changing", "doomed"}
    assert stored.unconfirmed == {e.key for e in stored.endpoints}
    assert stored.endpoint("changing").variants[0].instance_type == "ml.c5.xlarge"  # type: ignore[union-attr]

    truth = next(e for e in events if isinstance(e, Collected)).fleet
    assert {e.name for e in truth.endpoints} == {"steady", "changing", "newcomer"}
    changed = truth.endpoint("changing")
    assert changed is not None and changed.config_name == "changing-config-2"
    assert changed.variants[0].instance_type == "ml.m5.large"
    assert not truth.unconfirmed and truth.stored_at is None
    # Describe only for what is new or changed; the steady endpoint is not asked again.
    assert _describes(warm.aws.ledger) == 2

    # Saved again: a third start restores the truth.
    again = await _first_refresh(_session(moto, store, lambda: later))
    third = next(e for e in again if isinstance(e, Restored))
    assert {e.name for e in third.fleet.endpoints} == {"steady", "changing", "newcomer"}


async def test_an_endpoint_updated_in_place_is_described_again(tmp_path: Path) -> None:
    """UpdateEndpoint keeps the creation time and moves LastModifiedTime (the simulator at the
    wire level has it; moto has not)."""
    clock = _Clock(NOW)
    account = SimulatedAccount(endpoints=6, seed=3, clock=clock)
    store = tmp_path / "fleet-test.db"
    await _first_refresh(_sim_session(account, store, clock))
    name = sorted(account.fleet)[0][1]
    clock.now += dt.timedelta(minutes=10)
    current = account.endpoint(name)
    resized = [replace(v, instance_type="ml.m5.4xlarge") for v in current.variants]
    account.update_endpoint(name, variants=resized)
    warm = _sim_session(account, store, clock)
    events = await _first_refresh(warm)
    restored = next(e for e in events if isinstance(e, Restored)).fleet
    truth = next(e for e in events if isinstance(e, Collected)).fleet
    before, after = restored.endpoint(f"{REGION}/{name}"), truth.endpoint(f"{REGION}/{name}")
    assert before is not None and after is not None
    assert {v.instance_type for v in after.variants} == {"ml.m5.4xlarge"}
    assert before.variants[0].instance_type != "ml.m5.4xlarge"
    assert after.last_modified_time > before.last_modified_time
    assert _describes(warm.aws.ledger) == 1
    assert len(truth.endpoints) == len(restored.endpoints) == 6


async def test_a_warm_start_asks_cloudwatch_a_small_fraction_of_a_cold_one(
        moto: Moto, tmp_path: Path) -> None:
    for index in range(4):
        moto.create_endpoint(f"model-{index}")
    store = tmp_path / "fleet-test.db"
    cold = _session(moto, store, lambda: NOW)
    cold_fleet = next(e for e in await _first_refresh(cold) if isinstance(e, Collected)).fleet
    cold_metrics = cold.aws.ledger.metrics_requested
    warm = _session(moto, store, lambda: NOW + dt.timedelta(minutes=10))
    events = await _first_refresh(warm)
    assert isinstance(events[0], Restored)
    # The stored fleet is analysed like any other, and says what the saved one said.
    analyst = Analyst()
    def findings(fleet: FleetSnapshot) -> dict[str, list[tuple[str, str]]]:
        analysis = analyst.analyse(fleet)
        return {key: sorted((f.kind.value, f.severity.value) for f in advice.findings)
                for key, advice in analysis.endpoints.items()}
    assert findings(events[0].fleet) == findings(cold_fleet)
    assert any(findings(cold_fleet).values())
    warm_metrics = warm.aws.ledger.metrics_requested
    assert cold_metrics > 0
    # The lookback statistics and the hourly shape are still current: only what is due is
    # asked (here nothing off screen: the store is younger than a whole-fleet refresh).
    assert warm_metrics <= 0.05 * cold_metrics
    assert warm.aws.ledger.cloudwatch_usd <= 0.05 * cold.aws.ledger.cloudwatch_usd
    # The stored series are on screen meanwhile, not blanks.
    truth = next(e for e in events if isinstance(e, Collected)).fleet
    assert not truth.metrics.window.empty


async def test_a_warm_start_across_an_hour_asks_history_only_of_what_has_none(
        moto: Moto, tmp_path: Path) -> None:
    # The hour turns between the two sessions: the whole fleet's hourly shape is due, and is
    # left to the first whole-fleet refresh (the restore counts as one), while an endpoint
    # created meanwhile, with no history at all, gets its own at once.
    for index in range(4):
        moto.create_endpoint(f"model-{index}")
    store = tmp_path / "fleet-test.db"
    cold_at = NOW - dt.timedelta(minutes=5)
    cold = _session(moto, store, lambda: cold_at)
    await _first_refresh(cold)
    moto.create_endpoint("created-since")
    dims = {"EndpointName": "created-since", "VariantName": "AllTraffic"}
    moto.put_metric("AWS/SageMaker", "Invocations", dims,
                    [(NOW - dt.timedelta(minutes=i), 7.0) for i in range(1, 90)])
    warm = _session(moto, store, lambda: NOW + dt.timedelta(minutes=5))
    events = await _first_refresh(warm)
    assert isinstance(events[0], Restored)
    truth = next(e for e in events if isinstance(e, Collected))
    assert not truth.plan.whole_fleet
    # At most what a cold start asks of one endpoint of the four: the new one's history, and
    # nothing of the others' (their due hour alone would be a dozen metrics more).
    assert warm.aws.ledger.metrics_requested <= cold.aws.ledger.metrics_requested / 4
    key = f"{REGION}/created-since"
    assert truth.fleet.metrics.window_value(key, "AllTraffic", "requests") == 7.0 * 89
    assert not truth.fleet.metrics.series("hourly", "requests", key).empty


async def test_an_unreadable_store_is_one_notice_and_a_cold_start(moto: Moto,
                                                                  tmp_path: Path) -> None:
    moto.create_endpoint("steady")
    store = tmp_path / "fleet-test.db"
    store.write_bytes(b"not a database at all")
    events = await _first_refresh(_session(moto, store, lambda: NOW))
    notices = [e for e in events if isinstance(e, StoreNotice)]
    assert len(notices) == 1 and "set aside" in notices[0].message
    assert not any(isinstance(e, Restored) for e in events)
    assert any(SET_ASIDE_MARK in p.name for p in tmp_path.iterdir())
    saved = StateStore(store).load()  # rebuilt from AWS
    assert saved is not None and saved.endpoint_count == 1


async def test_what_comes_from_the_store_is_marked_until_confirmed(moto: Moto,
                                                                  tmp_path: Path) -> None:
    moto.create_endpoint("steady")
    store = tmp_path / "fleet-test.db"
    await _first_refresh(_session(moto, store, lambda: NOW - dt.timedelta(hours=3)))

    # AWS unreachable: the stored rows stay on screen, marked with their age.
    offline = _session(None, store, _utc_now, url="http://127.0.0.1:9")
    app = SagetopApp(offline, Analyst())
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_until(pilot, lambda: app.state.analysis is not None, "the stored analysis")
        await wait_until(pilot, lambda: app.state.failure is not None
                         or bool(app.state.fleet and app.state.fleet.errors), "the failure")
        fleet = app.state.fleet
        assert fleet is not None, "no fleet"
        assert fleet.unconfirmed == {f"{REGION}/steady"}
        header = str(app.screen.query_one(HeaderLine).render())
        assert "STALE" in header and "◷ 3h stored" in header
        table = app.screen.query_one(FleetTable)
        await wait_until(pilot, lambda: table.row_count == 1, "the stored row")
        status = table.get_row_at(0)[[c.key for c in table.shown_columns].index("status")]
        assert "◷3h" in str(status)
        offline.stop()

    # Reachable: the listing confirms the row and the marks go.
    online = _session(moto, store, _utc_now)
    app = SagetopApp(online, Analyst())
    async with app.run_test(size=(160, 30)) as pilot:
        def confirmed() -> bool:
            shown = app.state.fleet
            return shown is not None and not shown.unconfirmed and not app.state.partial \
                and shown.stored_at is None
        await wait_until(pilot, confirmed, "the confirmed fleet")
        table = app.screen.query_one(FleetTable)
        await wait_until(pilot, lambda: table.row_count == 1
                         and "◷" not in str(table.get_row_at(0)), "the unmarked row")
        assert "◷" not in str(app.screen.query_one(HeaderLine).render())
        online.stop()
