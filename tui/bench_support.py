"""What `bench/fleet.py` measures of the dashboard: the event-loop time of one table refresh."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import App, ComposeResult

from sagetop.analysis import FleetAnalysis
from tui.rows import columns_for_width, fleet_rows
from tui.table_model import TableView, arrange
from tui.widgets.fleet_table import Cell, FleetTable

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
