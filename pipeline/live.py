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

With a state store, the session starts warm: before any AWS call the stored inventory, settings
and series go back into the collectors and the stored fleet is yielded (`Restored`), its rows
marked unconfirmed; the first refresh then asks only for what changed since it was saved, and
each whole-fleet refresh is saved again, off the loop, in a thread.
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
from pathlib import Path
from typing import Any

from collectors.aws import AwsContext
from collectors.failures import describe
from collectors.fleet import FleetCollector, utc_now
from collectors.org import AwsOrganisation, OrgCollector
from ground.config import HistorySettings, RefreshSettings
from ground.domain import FleetSnapshot
from ground.errors import SagetopError
from ground.heap import release_free_memory
from pipeline.store import StateStore, StoreError

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

    def restored(self, saved_at: dt.datetime) -> None:
        """A stored fleet was restored: it counts as the last whole-fleet refresh, so a store
        younger than `fleet_seconds` is brought up to date on the live cadence alone."""
        self._whole_fleet_at = saved_at

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


@dataclass(frozen=True)
class Restored:
    """The fleet as the state store last saw it, before any AWS call: rows and findings at
    once, every endpoint in `fleet.unconfirmed` until AWS confirms it."""

    fleet: FleetSnapshot
    saved_at: dt.datetime


@dataclass(frozen=True)
class StoreNotice:
    """The state store was set aside or failed: one line; the session runs on without it."""

    message: str


LiveEvent = Progress | Listing | Collected | Failed | Restored | StoreNotice


async def wait_or_wake(seconds: float, wake: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), timeout=seconds)


# The session ----------------------------------------------------------------------------------


class LiveSession:
    """The collection loop: iterate `events()` once, on the event loop that is to do the I/O.

    `show`, `open`, `refresh_now` and `stop` may be called from any thread.
    """

    def __init__(self, aws: AwsContext | AwsOrganisation, refresh: RefreshSettings,
                 history: HistorySettings, *,
                 clock: Clock = utc_now, pause: Pause = wait_or_wake,
                 progress_interval_s: float = PROGRESS_INTERVAL_S,
                 store: StateStore | Path | None = None) -> None:
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
        self.store = StateStore(store) if isinstance(store, Path) else store
        self._owns_store = isinstance(store, Path)  # opened here from a path: closed here
        self._unconfirmed: frozenset[str] = frozenset()
        self._stored_at: dt.datetime | None = None
        self._saving: asyncio.Future[None] | None = None

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
                collector: FleetCollector | OrgCollector = (
                    OrgCollector(self.aws, self.refresh, self.history, clock=self.clock)
                    if isinstance(self.aws, AwsOrganisation) else
                    FleetCollector(self.aws, self.refresh, self.history, clock=self.clock))
                async for restored in self._restore(collector):
                    yield restored
                # The listing alone takes a second or two even for thousands of endpoints: rows
                # on screen while the details and the lookback's metrics load.
                unlisted = False
                async for event in self._attempt(collector.collect_listing()):
                    if isinstance(event, FleetSnapshot):
                        # Failed everywhere: asking again at once would only wait the same
                        # timeouts twice.
                        unlisted = event.unseen
                        listed = {e.key for e in event.endpoints}
                        yield Listing(self._marked(event, self._unconfirmed & listed), unlisted)
                    else:
                        yield event
                if unlisted and not self._stopped:
                    await self._pause(self.refresh.live_seconds, self._wake)
                first = True
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
                            self._unconfirmed = _still_unconfirmed(event, self._unconfirmed)
                            # The pass's answers are freed: their pages back before analysis.
                            release_free_memory()
                            yield Collected(self._marked(event, self._unconfirmed), plan)
                            if (plan.whole_fleet or first) and not event.unseen:
                                notice = self._save(collector, event.collected_at)
                                if notice is not None:
                                    yield notice
                            first = False
                        else:
                            yield event
                    if not self._stopped:
                        await self._pause(self.refresh.live_seconds, self._wake)
                notice = await self._saved()
                if notice is not None:
                    yield notice
        finally:
            self._loop = None
            if self._owns_store and self.store is not None:
                self.store.close()

    # The state store -------------------------------------------------------------------------

    def _marked(self, fleet: FleetSnapshot, unconfirmed: frozenset[str]) -> FleetSnapshot:
        if not unconfirmed:
            return fleet
        return fleet.model_copy(update={"unconfirmed": unconfirmed,
                                        "stored_at": self._stored_at})

    def _store_failed(self, exc: StoreError) -> StoreNotice:
        self.store = None  # one notice; the session runs on without it
        return StoreNotice(f"{exc}; running without the state store")

    async def _restore(self, collector: FleetCollector | OrgCollector
                       ) -> AsyncIterator[LiveEvent]:
        """The stored fleet into `collector`, before it makes any call."""
        store = self.store
        if store is None:
            return
        try:
            saved = await asyncio.to_thread(store.load)
        except StoreError as exc:
            yield self._store_failed(exc)
            return
        if store.notice is not None:
            yield StoreNotice(store.notice)
            store.notice = None
        if saved is None or not saved.collectors:
            return
        if isinstance(collector, OrgCollector):
            collector.restore_state(saved.collectors)
        else:
            mine = [c for c in saved.collectors if c.account == collector.aws.target.account]
            if not mine:
                return
            collector.restore_state(mine[0])
        fleet = collector.snapshot(saved.saved_at)
        self._stored_at = saved.saved_at
        self._unconfirmed = frozenset(e.key for e in fleet.endpoints)
        self.planner.restored(saved.saved_at)
        yield Restored(self._marked(fleet, self._unconfirmed), saved.saved_at)

    def _save(self, collector: FleetCollector | OrgCollector, at: dt.datetime
              ) -> StoreNotice | None:
        """Save the collectors' state in a thread; the next refresh need not wait for it."""
        store = self.store
        if store is None:
            return None
        if self._saving is not None and not self._saving.done():
            return None  # the previous save is still writing: the next whole fleet will do
        notice = self._save_result()
        if notice is not None or self.store is None:
            return notice
        # Exported here, between refreshes, so no collector changes while it is read.
        exported = collector.export_state()
        states = exported if isinstance(exported, tuple) else (exported,)
        self._saving = asyncio.ensure_future(asyncio.to_thread(store.save, states, at))
        return None

    def _save_result(self) -> StoreNotice | None:
        saving, self._saving = self._saving, None
        if saving is None or not saving.done():
            return None
        exc = saving.exception()
        if isinstance(exc, StoreError):
            return self._store_failed(exc)
        if exc is not None:
            raise exc
        return None

    async def _saved(self) -> StoreNotice | None:
        """The save under way finished (the session is ending: its state must not be lost)."""
        if self._saving is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._saving)
        return self._save_result()

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


def _still_unconfirmed(fleet: FleetSnapshot, unconfirmed: frozenset[str]) -> frozenset[str]:
    """What a refresh left unconfirmed: endpoints of the accounts and regions whose listing
    failed (their rows are still the stored ones); every other stored row is confirmed."""
    if not unconfirmed:
        return unconfirmed
    if any(e.source == "credentials" and e.account is None for e in fleet.errors):
        return unconfirmed & {e.key for e in fleet.endpoints}
    stale = {a.name for a in fleet.accounts if a.stale}
    unlisted = {(e.account, e.region) for e in fleet.errors if e.operation == "ListEndpoints"}
    return frozenset(e.key for e in fleet.endpoints if e.key in unconfirmed and (
        e.account in stale or (e.account, e.region) in unlisted))
