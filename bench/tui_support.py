"""What `bench/fleet.py` measures of the dashboard: the event-loop time of one table refresh."""

from __future__ import annotations

import asyncio
import time

from rich.text import Text
from textual.app import App, ComposeResult

from pipeline.analysis import Analyst, FleetAnalysis
from pipeline.live import LiveSession
from tui.app import SagetopApp
from tui.rows import columns_for_width, fleet_rows
from tui.table_model import TableView, arrange
from tui.widgets.fleet.table import FleetTable
from tui.widgets.tables import Cell

BENCH_SIZE = (160, 48)


class _TableOnly(App[None]):
    def compose(self) -> ComposeResult:
        yield FleetTable(id="fleet")


async def table_apply_seconds(first: FleetAnalysis, following: FleetAnalysis) -> float:
    """Seconds the event loop spends applying `following` to a table showing `first`.

    The same work FleetScreen does on the event loop when a refresh arrives: the view arranged
    and the difference applied. The rows themselves are built in a thread worker (not counted).
    """
    app = _TableOnly()
    async with app.run_test(size=BENCH_SIZE) as pilot:
        table = app.query_one(FleetTable)
        columns = columns_for_width(BENCH_SIZE[0])
        table.set_columns(columns, {c.key: Text(c.label) for c in columns})
        view = TableView()

        def variants_of(_: str) -> list[tuple[str, dict[str, Cell]]]:
            return []

        table.show(arrange(fleet_rows(first.fleet, first), view, variants_of))
        await pilot.pause()
        rows = fleet_rows(following.fleet, following)
        started = time.perf_counter()
        table.show(arrange(rows, view, variants_of))
        elapsed = time.perf_counter() - started
        await pilot.pause()
    return elapsed


async def key_press_seconds(session: LiveSession, seconds: float = 20.0,
                            timeout_s: float = 120.0) -> list[float]:
    """How long a key press would wait for the real dashboard while it is polling.

    A key is handled at the event loop's next turn, so the wait is the loop's lag: from the
    moment rows are on screen (collector and analysis still at work) the loop is asked to wake
    every 10 ms for `seconds`, and each late wake-up is recorded. (Pilot's own `press` waits for
    the screen to settle, which measures the test harness rather than the app.)
    """
    app = SagetopApp(session, Analyst())
    lags: list[float] = []
    async with app.run_test(size=BENCH_SIZE) as pilot:
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            tables = app.screen.query(FleetTable)
            if tables and tables.first().row_count > 1:
                break
            await pilot.pause(0.05)
        until = time.perf_counter() + seconds
        while time.perf_counter() < until:
            asked = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(max(0.0, time.perf_counter() - asked - 0.01))
        await pilot.press("j")  # and the keys still work
        await pilot.press("q")
    return lags
