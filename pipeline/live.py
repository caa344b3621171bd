"""The live session: the collection loop and its tiered cadence, one for the dashboard and the
benchmark, so what the benchmark counts is what the dashboard asks AWS for.

A `LiveSession` owns the AWS session, the fleet collector and the refresh planner. It yields what
happens as typed events: progress while a refresh is under way, the first listing, each snapshot
with the plan it followed, a failure. What the screen shows comes in from any thread as one
immutable value (`LiveView`: the rows on screen, the endpoint open in its pane), replaced whole;
the collector reads it at the start of each refresh, so no field is shared while it changes.

The cadence: the endpoint open in its pane gets its minute detail, per-instance utilisation
included, every `refresh.live_seconds`; the rows on screen their traffic, errors and latency on
the same beat; the whole fleet every `refresh.fleet_seconds`. History is asked once and then only
for what is new (the metrics collector's own bookkeeping).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Coroutine,
)
from dataclasses import dataclass, field, replace
from typing import Any

from collectors.aws import AwsContext
from collectors.failures import describe
from collectors.fleet import FleetCollector, utc_now
from ground.config import HistorySettings, RefreshSettings
from ground.domain import FleetSnapshot
from ground.errors import SagetopError

Clock = Callable[[], dt.datetime]
# Waits `seconds` between refreshes, or less when the event is set (a refresh asked for, an
# endpoint opened, the session stopped). The benchmark's pause advances a simulated clock instead.
Pause = Callable[[float, asyncio.Event], Awaitable[None]]
PROGRESS_INTERVAL_S = 0.25


# The plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshPlan:
    """What one refresh asks for."""

    at: dt.datetime
    live: tuple[str, ...] | None  # endpoint keys whose row series to refresh; None: every one
    focus: tuple[str, ...]  # endpoint keys whose utilisation too (the open pane)
    force: bool = False  # every part now (inventory, Model Monitor, ...), whatever is due

    @property
    def whole_fleet(self) -> bool:
        return self.live is None


@dataclass
class RefreshPlanner:
    """Which endpoints to refresh when: the tiered cadence that keeps CloudWatch charges low."""

    refresh: RefreshSettings
    _whole_fleet_at: dt.datetime | None = field(default=None, repr=False)

    def plan(self, now: dt.datetime, visible: Collection[str], focused: str | None = None,
             force: bool = False) -> RefreshPlan:
        focus = (focused,) if focused else ()
        last = self._whole_fleet_at
        if force or last is None or (now - last).total_seconds() >= self.refresh.fleet_seconds:
            return RefreshPlan(now, None, focus, force)
        return RefreshPlan(now, tuple(dict.fromkeys([*focus, *sorted(visible)])), focus)

    def collected(self, plan: RefreshPlan) -> None:
        """`plan` succeeded: a whole-fleet refresh that failed is due again at once."""
        if plan.whole_fleet:
            self._whole_fleet_at = plan.at


# What comes in, what goes out -----------------------------------------------------------------


@dataclass(frozen=True)
class LiveView:
    """What the person is looking at: these endpoints refresh on the live cadence."""

    rows: frozenset[str] = frozenset()  # endpoint keys on screen
    focus: str | None = None  # the endpoint open in its pane


@dataclass(frozen=True)
class Progress:
    """A refresh is under way: AWS requests made so far, seconds since it started, and how long
    AWS has not answered once that is past the read timeout (None before: still in time)."""

    requests: int
    elapsed_s: float
    unanswered_s: float | None = None


@dataclass(frozen=True)
class Listing:
    """The first ListEndpoints: names and status only, details and metrics on their way.

    `unlisted`: it failed everywhere (no credentials, AWS unreachable), so it is the first
    refresh's answer, and the next is asked a beat later rather than at once.
    """

    fleet: FleetSnapshot
    unlisted: bool = False


@dataclass(frozen=True)
class Collected:
    """A refresh finished (its parts' own errors are in the snapshot)."""

    fleet: FleetSnapshot
    plan: RefreshPlan


@dataclass(frozen=True)
class Failed:
    """A whole refresh failed: one line saying why."""

    message: str


LiveEvent = Progress | Listing | Collected | Failed


async def wait_or_wake(seconds: float, wake: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), timeout=seconds)


# The session ----------------------------------------------------------------------------------


class LiveSession:
    """The collection loop: iterate `events()` once, on the event loop that is to do the I/O.

    `show`, `open`, `refresh_now` and `stop` may be called from any thread.
    """

    def __init__(self, aws: AwsContext, refresh: RefreshSettings, history: HistorySettings, *,
                 clock: Clock = utc_now, pause: Pause = wait_or_wake,
                 progress_interval_s: float = PROGRESS_INTERVAL_S) -> None:
        self.aws = aws
        self.refresh = refresh
        self.history = history
        self.clock = clock
        self.planner = RefreshPlanner(refresh)
        self._pause = pause
        self._progress_interval_s = progress_interval_s
        self._lock = threading.Lock()
        self._view = LiveView()
        self._refresh_asked = False
        self._stopped = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()

    # Inputs, from any thread -----------------------------------------------------------------

    @property
    def view(self) -> LiveView:
        return self._view

    def show(self, rows: Collection[str]) -> None:
        """The rows now on screen (a scroll is not worth a refresh of its own)."""
        with self._lock:
            self._view = replace(self._view, rows=frozenset(rows))

    def open(self, key: str | None) -> None:
        """The endpoint open in its pane (None: closed); a newly opened one refreshes now."""
        with self._lock:
            opened = key is not None and key != self._view.focus
            self._view = replace(self._view, focus=key)
        if opened:
            self._wake_up()

    def refresh_now(self) -> None:
        """Re-read everything now, inventory included, whatever is due."""
        with self._lock:
            self._refresh_asked = True
        self._wake_up()

    def stop(self) -> None:
        """End `events()` soon: the refresh under way is cancelled, the wait cut short."""
        with self._lock:
            self._stopped = True
        self._wake_up()

    def _wake_up(self) -> None:
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to wake
                loop.call_soon_threadsafe(self._wake.set)

    def _take_inputs(self) -> tuple[LiveView, bool]:
        with self._lock:
            asked, self._refresh_asked = self._refresh_asked, False
            return self._view, asked

    # The loop ---------------------------------------------------------------------------------

    async def events(self) -> AsyncGenerator[LiveEvent, None]:
        """Listing first, then a refresh every `live_seconds` until `stop()`."""
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        try:
            async with contextlib.AsyncExitStack() as stack:
                try:
                    await stack.enter_async_context(self.aws)
                except SagetopError as exc:  # no region: the dashboard says so in its header
                    yield Failed(str(exc))
                    return
                collector = FleetCollector(self.aws, self.refresh, self.history, clock=self.clock)
                # The listing alone takes a second or two even for thousands of endpoints: rows
                # on screen while the details and the lookback's metrics load.
                unlisted = False
                async for event in self._attempt(collector.collect_listing()):
                    if isinstance(event, FleetSnapshot):
                        # Failed everywhere: asking again at once would only wait the same
                        # timeouts twice.
                        unlisted = event.unseen
                        yield Listing(event, unlisted)
                    else:
                        yield event
                if unlisted and not self._stopped:
                    await self._pause(self.refresh.live_seconds, self._wake)
                while not self._stopped:
                    # Cleared before the inputs are read: anything asked during the refresh
                    # below cuts the next wait short instead of waiting a whole beat.
                    self._wake.clear()
                    view, forced = self._take_inputs()
                    plan = self.planner.plan(self.clock(), view.rows, view.focus, forced)
                    collection = collector.collect(
                        force=plan.force, live=None if plan.live is None else list(plan.live),
                        focus=list(plan.focus))
                    async for event in self._attempt(collection):
                        if isinstance(event, FleetSnapshot):
                            self.planner.collected(plan)
                            yield Collected(event, plan)
                        else:
                            yield event
                    if not self._stopped:
                        await self._pause(self.refresh.live_seconds, self._wake)
        finally:
            self._loop = None

    async def _attempt(self, collection: Coroutine[Any, Any, FleetSnapshot]
                       ) -> AsyncIterator[LiveEvent | FleetSnapshot]:
        """Progress while `collection` runs, then its snapshot, or why it failed as a whole."""
        started = time.monotonic()
        ledger = self.aws.ledger
        at_start = ledger.total_requests()
        # A healthy answer comes within the read timeout by definition: silence past it means
        # the data on screen is going stale now, not when the refresh finally gives up.
        overdue_s = self.aws.settings.read_timeout_s
        task = asyncio.ensure_future(collection)
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=self._progress_interval_s)
                if self._stopped:
                    return
                if not task.done():
                    now = time.monotonic()
                    silent_s = now - max(started, ledger.last_answer_at or started)
                    yield Progress(ledger.total_requests() - at_start, now - started,
                                   silent_s if silent_s >= overdue_s else None)
            try:
                snapshot = task.result()
            except SagetopError as exc:
                yield Failed(str(exc))
            except Exception as exc:  # one failing refresh must not end the session
                yield Failed(describe(exc, "aws", None)[0])
            else:
                yield snapshot
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
