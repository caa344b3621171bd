"""The live session: its planner, its inputs, and one simulated hour of the real dashboard.

The hour is the point: the benchmark drives the same LiveSession, so if the metrics the app asks
CloudWatch for in an hour equal what the refresh planner says for that hour, the benchmark's
CloudWatch cost per hour is the app's.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from aiobotocore.session import AioSession

from collectors.aws import AwsContext, AwsTarget
from collectors.metrics import plan_endpoint
from ground.config import AwsSettings, HistorySettings, RefreshSettings
from ground.domain import EndpointSnapshot
from ground.series import INSTANCE_NS, Tier
from pipeline.live import (
    Collected,
    Failed,
    Listing,
    LiveEvent,
    LiveSession,
    LiveView,
    Progress,
    RefreshPlan,
    RefreshPlanner,
)
from simulator import SimulatedAccount
from tests.conftest import REGION, Moto
from tests.fake_servers import fake_aws
from tests.test_tui_support import NOW, demo_app, wait_for_analysis, wait_until
from tui.screens.endpoint import EndpointScreen
from tui.widgets.fleet.table import FleetTable

REFRESH = RefreshSettings()  # the defaults: live every minute, the whole fleet every 30 minutes
MINUTE = dt.timedelta(minutes=1)
# The hour of the app refreshes every two minutes rather than every minute: half the refreshes
# to wait for, and the count must equal the planner's at any cadence.
HOUR_REFRESH = RefreshSettings(live_seconds=120, model_monitor_minutes=1440)


class MovingClock:
    """Simulated time for the account and the app; it moves only when the session waits."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


class HeldHour:
    """The live session's wait between refreshes, in simulated time.

    Until `go` it holds the clock (a refresh asked for, such as an endpoint opened, still runs at
    once, as in the app); then each of `steps` waits passes at once; then it holds again and
    sets `done`. It runs on the collector's own thread, so what it records is exact.
    """

    def __init__(self, clock: MovingClock, steps: int) -> None:
        self.clock = clock
        self.steps = self.left = steps
        self.go = threading.Event()
        self.done = threading.Event()
        self.metrics: Callable[[], int] = lambda: 0
        self.view: Callable[[], LiveView] = LiveView
        self.at_start = self.at_end = 0
        self.views: list[LiveView] = []

    async def __call__(self, seconds: float, wake: asyncio.Event) -> None:
        while not (self.go.is_set() and self.left):
            if self.go.is_set() and not self.done.is_set():
                self.at_end = self.metrics()
                self.done.set()
            if wake.is_set():
                return
            await asyncio.sleep(0.01)
        if not self.views:
            self.at_start = self.metrics()
        self.views.append(self.view())
        self.left -= 1
        self.clock.now += dt.timedelta(seconds=seconds)


class MetricQueries:
    """Every GetMetricData query sent: (namespace, endpoint, period) -> how many."""

    def __init__(self) -> None:
        self.seen: Counter[tuple[str, str, int]] = Counter()

    def install(self, session: AioSession) -> None:
        session.get_component("event_emitter").register(
            "provide-client-params.cloudwatch.GetMetricData", self.on_params)

    def on_params(self, params: dict[str, Any], **_: Any) -> None:
        for query in params.get("MetricDataQueries", ()):
            stat = query["MetricStat"]
            dims = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
            endpoint = dims.get("EndpointName", "")  # Model Monitor's drift metrics have none
            self.seen[(stat["Metric"]["Namespace"], endpoint, stat["Period"])] += 1


def planned_metrics(plan: RefreshPlan, endpoints: list[EndpointSnapshot]) -> int:
    """The live-tier metrics `plan` asks for: row series for its rows, utilisation for its focus."""
    rows = endpoints if plan.live is None else [e for e in endpoints if e.key in plan.live]
    focus = [e for e in endpoints if e.key in plan.focus]
    return (sum(len(plan_endpoint(e, Tier.LIVE, "row")) for e in rows)
            + sum(len(plan_endpoint(e, Tier.LIVE, "pane")) for e in focus))


# The planner ----------------------------------------------------------------------------------


def test_planner_tiers_rows_focus_and_whole_fleet() -> None:
    planner = RefreshPlanner(REFRESH)
    first = planner.plan(NOW, {"b", "a"}, "z")
    assert first.whole_fleet and first.focus == ("z",)
    planner.collected(first)
    later = planner.plan(NOW + MINUTE, {"b", "a"}, "z")
    assert later.live == ("z", "a", "b") and later.focus == ("z",) and not later.force
    assert planner.plan(NOW + MINUTE, {"a"}).focus == ()
    assert planner.plan(NOW + 30 * MINUTE, {"a"}).whole_fleet
    forced = planner.plan(NOW + MINUTE, {"a"}, force=True)
    assert forced.whole_fleet and forced.force


def test_a_failed_whole_fleet_refresh_is_due_again_at_once() -> None:
    planner = RefreshPlanner(REFRESH)
    assert planner.plan(NOW, ()).whole_fleet  # not collected: it failed
    assert planner.plan(NOW + MINUTE, ()).whole_fleet


# The session on its own -----------------------------------------------------------------------


async def test_session_yields_listing_then_snapshots_and_stops_from_another_thread() -> None:
    clock = MovingClock()
    account = SimulatedAccount(endpoints=3, seed=5, clock=clock)
    target = AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)
    hour = HeldHour(clock, steps=2)
    session = LiveSession(AwsContext(AwsSettings(max_attempts=1), target), REFRESH,
                          HistorySettings(), clock=clock, pause=hour)
    hour.go.set()

    def stop_when_done() -> None:
        # As the app does at exit: from another thread, while the session waits.
        if hour.done.wait(timeout=60):
            session.stop()

    threading.Thread(target=stop_when_done, daemon=True).start()
    seen: list[object] = []
    async with contextlib.aclosing(session.events()) as events:
        async for event in events:
            seen.append(event)
            if isinstance(event, Listing):
                keys = sorted(e.key for e in event.fleet.endpoints)
                session.show(keys[:2])
                session.open(keys[0])
    kinds = [type(e).__name__ for e in seen if type(e).__name__ != "Progress"]
    assert kinds[0] == "Listing" and kinds.count("Collected") == 3 and "Failed" not in kinds
    plans = [e.plan for e in seen if isinstance(e, Collected)]
    assert plans[0].whole_fleet and plans[0].focus == (keys[0],)
    assert [p.at for p in plans] == [NOW, NOW + MINUTE, NOW + 2 * MINUTE]
    assert all(p.live == (keys[0], keys[1]) for p in plans[1:])


async def _events_until_the_first_wait(aws: AwsContext) -> tuple[list[LiveEvent], int]:
    """Every event of a session on `aws` up to its first wait between refreshes (which stops
    it), and how many requests had been made by then."""
    requests: list[int] = []

    async def pause(seconds: float, wake: asyncio.Event) -> None:
        requests.append(aws.ledger.total_requests())
        session.stop()

    session = LiveSession(aws, REFRESH, HistorySettings(), pause=pause)
    seen: list[LiveEvent] = []
    async with contextlib.aclosing(session.events()) as events:
        async for event in events:
            seen.append(event)
    return seen, requests[0] if requests else -1


async def test_a_listing_that_failed_everywhere_is_the_first_answer(
        moto: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without credentials the listing is the refresh's whole answer: the session waits a beat
    # before asking again instead of running a refresh that would meet the same failure.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    seen, requests = await _events_until_the_first_wait(
        AwsContext(AwsSettings(), AwsTarget(regions=(REGION,), endpoint_url=moto.url)))
    listings = [e for e in seen if isinstance(e, Listing)]
    assert len(listings) == 1 and listings[0].unlisted
    assert [e.source for e in listings[0].fleet.errors] == ["credentials"]
    assert not any(isinstance(e, Collected | Failed) for e in seen)
    assert requests == 0 and moto.log == []


async def test_no_region_is_the_sessions_one_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    # Not an exit: the dashboard shows NO REGION in its header (tests/test_tui_faults.py).
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    aws = AwsContext(AwsSettings(), AwsTarget(endpoint_url="http://127.0.0.1:9"))
    assert aws.regions == ()
    seen, _ = await _events_until_the_first_wait(aws)
    assert [type(e) for e in seen] == [Failed]
    assert isinstance(seen[0], Failed) and seen[0].message.startswith("no AWS region")


async def test_progress_says_when_aws_is_silent_past_the_read_timeout() -> None:
    # Before the read timeout silence is only a slow answer; past it the data is going stale.
    with fake_aws(answer=None) as server:
        session = LiveSession(
            AwsContext(AwsSettings(read_timeout_s=1, max_attempts=1),
                       AwsTarget(regions=(REGION,), endpoint_url=server.url)),
            REFRESH, HistorySettings(), progress_interval_s=0.1)
        seen: list[Progress] = []
        async with contextlib.aclosing(session.events()) as events:
            async for event in events:
                if isinstance(event, Progress):
                    seen.append(event)
                    if event.unanswered_s is not None:
                        break
    # Judged by the session's own clock, not by how soon this machine ran the first beat.
    assert all(p.unanswered_s is None for p in seen if p.elapsed_s < 1)
    assert all(p.unanswered_s is None or p.unanswered_s >= 1 for p in seen)
    overdue = seen[-1]
    assert overdue.unanswered_s is not None and 1 <= overdue.unanswered_s <= overdue.elapsed_s


# One simulated hour of the real app -----------------------------------------------------------


async def test_one_simulated_hour_of_the_app_asks_what_the_planner_says() -> None:
    """The real dashboard at 80x24 with one endpoint open, for one hour of simulated time.

    Model Monitor is held back (its drift metrics are on their own hourly cadence, outside the
    tiered refresh); everything else but the live beat runs at the defaults.
    """
    clock = MovingClock()
    beat = dt.timedelta(seconds=HOUR_REFRESH.live_seconds)
    hour = HeldHour(clock, steps=dt.timedelta(hours=1) // beat)
    queries = MetricQueries()
    app, _ = demo_app(SimulatedAccount(clock=clock), clock=clock, pause=hour,
                      refresh=HOUR_REFRESH, observe=queries.install)
    hour.metrics = lambda: app.session.aws.ledger.metrics_requested
    hour.view = lambda: app.session.view
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_analysis(pilot)
        table = app.screen.query_one(FleetTable)
        on_screen = frozenset(k for k in table.keys_on_screen())
        opened = table.selected_key
        assert opened is not None
        fleet = app.state.fleet
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EndpointScreen), "the pane")
        await wait_until(pilot, lambda: app.state.fleet is not fleet, "the pane's refresh")
        endpoints = [e for e in app.state.fleet.endpoints if e.described]
        queries.seen.clear()
        hour.go.set()
        await wait_until(pilot, hour.done.is_set, "an hour of simulated time", timeout_s=120)

    # What the app told the session, the whole hour long: the rows on screen, the open pane.
    assert 0 < len(on_screen) < len(endpoints)
    assert set(hour.views) == {LiveView(rows=on_screen, focus=opened)}
    # What the planner says for that hour, replayed from the first load on.
    planner = RefreshPlanner(HOUR_REFRESH)
    planner.collected(planner.plan(NOW, on_screen, None))
    plans = []
    for step in range(1, hour.steps + 1):
        plans.append(planner.plan(NOW + step * beat, on_screen, opened))
        planner.collected(plans[-1])
    assert len(plans) == 30 and sum(p.whole_fleet for p in plans) == 2  # at 30 and 60 minutes
    live = sum(planned_metrics(p, endpoints) for p in plans)
    hourly = sum(len(plan_endpoint(e, Tier.HOURLY)) for e in endpoints)  # the new hour, once
    assert hour.at_end - hour.at_start == live + hourly
    # Per-instance utilisation by the minute only for the open endpoint, never for every row.
    utilisation = {name for (namespace, name, period) in queries.seen
                   if namespace == INSTANCE_NS and period == 60}
    assert utilisation == {opened.split("/", 1)[1]}
