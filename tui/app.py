"""The Textual app: a fleet table fed by a collector worker, updated in place.

The worker owns the AWS session and posts immutable snapshots by message; widgets only render
what arrives. A failed refresh leaves the last data on screen, marked stale, with the error below.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from collectors.aws import AwsContext, AwsTarget
from collectors.failures import describe
from collectors.fleet import FleetCollector
from sagetop.config import SagetopConfig
from sagetop.domain import EndpointSnapshot, FleetSnapshot
from sagetop.errors import SagetopError
from tui.messages import CollectionFailed, FleetUpdated

COLUMNS: tuple[tuple[str, str], ...] = (
    ("endpoint", "Endpoint"),
    ("status", "Status"),
    ("option", "Option"),
    ("shape", "Instances"),
    ("requests", "Req/14d"),
    ("p99", "p99 ms"),
    ("busiest", "Busiest %"),
    ("errors", "5XX"),
    ("drift", "Drift"),
)


def _number(value: float | None, digits: int = 0) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def endpoint_cells(endpoint: EndpointSnapshot, fleet: FleetSnapshot) -> dict[str, str | Text]:
    """The row of one endpoint: variants summed for counts, the worst variant for peaks."""
    store = fleet.metrics

    def worst(series: str) -> float | None:
        values = [store.window_value(endpoint.key, v.name, series) for v in endpoint.variants]
        present = [v for v in values if v is not None]
        return max(present) if present else None

    def total(series: str) -> float | None:
        values = [store.window_value(endpoint.key, v.name, series) for v in endpoint.variants]
        present = [v for v in values if v is not None]
        return sum(present) if present else None

    shapes = []
    for variant in endpoint.serving_variants:
        if variant.serverless:
            shapes.append(f"serverless {variant.serverless.memory_mb}MB")
        else:
            shapes.append(f"{variant.current_instance_count}x{variant.instance_type or '?'}")
    busiest = [worst(s) for s in ("cpu_p95_pct", "memory_p95_pct", "gpu_p95_pct")]
    present = [b for b in busiest if b is not None]
    p99 = worst("model_latency_p99_us")
    monitor = endpoint.monitor
    drift = "violations" if monitor.violation_count else ("watched" if monitor.schedules else "-")
    # Names and tags come from the account: render them as plain text, never as markup.
    return {
        "endpoint": Text(endpoint.name),
        "status": Text(endpoint.status, style="red" if endpoint.status == "Failed" else ""),
        "option": endpoint.deployment.value,
        "shape": Text(", ".join(shapes) or "-"),
        "requests": _number(total("requests")),
        "p99": _number(None if p99 is None else p99 / 1000.0, 1),
        "busiest": _number(max(present) if present else None),
        "errors": _number(total("errors_5xx")),
        "drift": drift,
    }


class SagetopApp(App[None]):
    """sagetop's dashboard."""

    CSS_PATH = "app.tcss"
    TITLE = "sagetop"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("r", "refresh_now", "Refresh"),
    ]

    def __init__(self, config: SagetopConfig, target: AwsTarget) -> None:
        super().__init__()
        self.config = config
        self.target = target
        self.fleet: FleetSnapshot | None = None
        self.stale = False
        self._wake = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Collecting the fleet: endpoints, configurations, 14 days of metrics...",
                     id="loading")
        table: DataTable[str | Text] = DataTable(cursor_type="row", zebra_stripes=True)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static("", id="problems")
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        regions = ", ".join(self.target.regions) or "default region"
        self.sub_title = ("DEMO: simulated account" if self.target.simulated
                          else f"{self.target.profile or 'default credentials'} @ {regions}")
        self.poll()

    @work(exclusive=True, group="collector")
    async def poll(self) -> None:
        """Collect forever; every snapshot goes to the UI by message."""
        try:
            async with AwsContext(self.config, self.target) as aws:
                collector = FleetCollector(aws)
                while True:
                    try:
                        fleet = await collector.collect()
                    except SagetopError as exc:
                        self.post_message(CollectionFailed(str(exc)))
                    except Exception as exc:
                        message, _ = describe(exc, "aws", None)
                        self.post_message(CollectionFailed(message))
                    else:
                        self.post_message(FleetUpdated(fleet))
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(),
                                               timeout=self.config.refresh.live_seconds)
        except SagetopError as exc:
            self.post_message(CollectionFailed(str(exc)))

    def action_refresh_now(self) -> None:
        self._wake.set()

    def on_fleet_updated(self, message: FleetUpdated) -> None:
        self.fleet = message.fleet
        self.stale = False
        self.query_one("#loading", Static).display = False
        self._apply(message.fleet)
        self._show_status()

    def on_collection_failed(self, message: CollectionFailed) -> None:
        self.stale = True
        self.query_one("#problems", Static).update(Text(f"refresh failed: {message.message}"))
        self._show_status()

    def _apply(self, fleet: FleetSnapshot) -> None:
        """Update the table in place: rows added, removed and changed by key, never rebuilt."""
        table: DataTable[str | Text] = self.query_one(DataTable)
        wanted = {e.key: e for e in sorted(fleet.endpoints, key=lambda e: e.name)}
        for row_key in list(table.rows):
            if row_key.value not in wanted:
                table.remove_row(row_key)
        for key, endpoint in wanted.items():
            cells = endpoint_cells(endpoint, fleet)
            if key in table.rows:
                for column, value in cells.items():
                    if str(table.get_cell(key, column)) != str(value):
                        table.update_cell(key, column, value)
            else:
                table.add_row(*(cells[c] for c, _ in COLUMNS), key=key)
        problems = [f"{e.region}: {e.message}" for e in fleet.errors]
        self.query_one("#problems", Static).update(Text("\n".join(problems[:3])))

    def _show_status(self) -> None:
        fleet = self.fleet
        if fleet is None:
            return
        age = int((dt.datetime.now(dt.UTC) - fleet.collected_at).total_seconds())
        requests = fleet.requests
        stale = "STALE " if self.stale else ""
        self.query_one("#status", Static).update(Text(
            f"{stale}{len(fleet.endpoints)} endpoints | data {age}s old | "
            f"{requests.total_calls} requests, {requests.throttles} throttled, "
            f"{requests.errors} errors | CloudWatch ${requests.cloudwatch_usd:.4f} this session"))
