"""The pane of one endpoint: live and lookback charts, variants, Model Monitor, findings, profile.

The user accepts or rejects each suggested change here; the decision goes to the Analyst through
the app and the target profile that comes back by message shows what it changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from ground.domain import FleetSnapshot
from pipeline.analysis import EndpointAnalysis, FleetAnalysis, SuggestedChange
from tui.messages import LiveInterest
from tui.render import (
    endpoint_title,
    findings_view,
    maturity_view,
    monitor_view,
    profile_view,
    variants_view,
)
from tui.render_opinions import opinions_view, verdicts_view
from tui.rows import outside
from tui.state import DashboardState
from tui.widgets.charts import HISTORY_CHARTS, LIVE_CHARTS, ChartRow
from tui.widgets.chrome import HeaderLine, ProblemLine, StatusLine
from tui.widgets.fleet_table import VimTable

if TYPE_CHECKING:
    from tui.app import SagetopApp

TABS = ("metrics", "variants", "monitor", "findings", "profile", "maturity", "experiments")
CHANGE_COLUMNS = (("finding", "Finding"), ("characteristic", "Characteristic"),
                  ("variant", "Variant"), ("current", "Current"), ("proposed", "Proposed"),
                  ("decision", "Decision"))


def change_cells(change: SuggestedChange) -> list[str | Text]:
    proposal = change.change
    # Variant names and values come from the account.
    return [Text(change.finding.kind.value), Text(proposal.characteristic),
            Text(outside(proposal.variant or "-")), Text(outside(str(proposal.current))),
            Text(outside(str(proposal.proposed))),
            Text("accepted", style="green") if change.accepted else Text("rejected", style="red")]


class EndpointScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.pop_screen", "Back", show=False),
        Binding("a", "decide(True)", "Accept"),
        Binding("x", "decide(False)", "Reject"),
        Binding("e", "export_endpoint", "Export"),
        Binding("j", "scroll(1)", "Down", show=False),
        Binding("k", "scroll(-1)", "Up", show=False),
        *(Binding(str(n), f"show_tab('{tab}')", tab.capitalize(), show=False)
          for n, tab in enumerate(TABS, start=1)),
    ]

    def __init__(self, endpoint_key: str) -> None:
        super().__init__()
        self.endpoint_key = endpoint_key
        self.state = DashboardState()
        self._rendered: tuple[FleetSnapshot | None, FleetAnalysis | None] = (None, None)

    @property
    def dashboard(self) -> SagetopApp:
        return cast("SagetopApp", self.app)

    def compose(self) -> ComposeResult:
        yield HeaderLine(self.dashboard.source, self.dashboard.clock)
        yield Static(Text(outside(self.endpoint_key)), id="endpoint-title")
        with TabbedContent(initial="metrics", id="tabs"):
            with TabPane("1 Metrics", id="metrics"), VerticalScroll():
                live_minutes = self.dashboard.config.history.live_window_minutes
                yield Static(Text(f"Last {live_minutes} minutes", style="bold"))
                for spec in LIVE_CHARTS:
                    yield ChartRow(spec)
                days = self.dashboard.config.history.lookback_days
                yield Static(Text(f"Last {days} days", style="bold"))
                for spec in HISTORY_CHARTS:
                    yield ChartRow(spec)
            with TabPane("2 Variants", id="variants"), VerticalScroll():
                yield Static(id="variants-view")
            with TabPane("3 Monitor", id="monitor"), VerticalScroll():
                yield Static(id="monitor-view")
            with TabPane("4 Findings", id="findings"), VerticalScroll():
                yield Static(id="findings-view")
            with TabPane("5 Profile", id="profile"):
                yield Static(Text("Suggested changes: a accepts, x rejects; the target follows",
                                  style="dim"))
                changes = VimTable(id="changes", cursor_type="row")
                for key, label in CHANGE_COLUMNS:
                    changes.add_column(label, key=key)
                yield changes
                with VerticalScroll(id="profile-scroll"):
                    yield Static(id="profile-view")
            with TabPane("6 Maturity", id="maturity"), VerticalScroll():
                yield Static(id="maturity-view")
            with TabPane("7 Tests", id="experiments"), VerticalScroll():
                yield Static(id="experiments-view")
        yield ProblemLine()
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.post_message(LiveInterest("endpoint", frozenset({self.endpoint_key})))
        self.watch(self.app, "state", self.show_state)

    def on_unmount(self) -> None:
        self.dashboard.post_message(LiveInterest("endpoint", frozenset()))

    def show_state(self, state: DashboardState) -> None:
        self.state = state
        if state.fleet is self._rendered[0] and state.analysis is self._rendered[1]:
            return  # only progress or an error line changed
        self._rendered = (state.fleet, state.analysis)
        fleet = state.fleet
        endpoint = fleet.endpoint(self.endpoint_key) if fleet else None
        title = self.query_one("#endpoint-title", Static)
        if fleet is None or endpoint is None:
            title.update(Text(f"{outside(self.endpoint_key)}: no longer in the fleet",
                              style="yellow"))
            return
        advice = state.endpoint_analysis(self.endpoint_key)
        title.update(endpoint_title(endpoint, advice))
        for chart in self.query(ChartRow):
            chart.plot(fleet, endpoint)
        self.query_one("#variants-view", Static).update(variants_view(endpoint, fleet))
        self.query_one("#monitor-view", Static).update(monitor_view(endpoint))
        pending = Text("analysis pending", style="yellow")
        self.query_one("#findings-view", Static).update(
            Group(findings_view(advice.findings), verdicts_view(advice.verdicts, endpoint))
            if advice else pending)
        self.query_one("#experiments-view", Static).update(opinions_view(advice, endpoint))
        self.query_one("#profile-view", Static).update(profile_view(advice) if advice else pending)
        self.query_one("#maturity-view", Static).update(
            maturity_view(advice.maturity_current, advice.maturity_target) if advice else pending)
        self._show_changes(advice)

    def _show_changes(self, advice: EndpointAnalysis | None) -> None:
        table: DataTable[str | Text] = self.query_one("#changes", DataTable)
        changes = {c.change_id: c for c in advice.changes} if advice else {}
        for row_key in list(table.rows):
            if row_key.value not in changes:
                table.remove_row(row_key)
        for change_id, change in changes.items():
            cells = change_cells(change)
            if change_id in table.rows:
                for (column, _), value in zip(CHANGE_COLUMNS, cells, strict=True):
                    if str(table.get_cell(change_id, column)) != str(value):
                        table.update_cell(change_id, column, value)
            else:
                table.add_row(*cells, key=change_id)
        table.display = bool(changes)

    # Actions ---------------------------------------------------------------------------------

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_scroll(self, lines: int) -> None:
        pane = self.query_one(TabbedContent).active_pane
        if pane is None:
            return
        for scroller in pane.query(VerticalScroll):
            scroller.scroll_relative(y=lines, animate=False)
            return

    def action_decide(self, accepted: bool) -> None:
        advice = self.state.endpoint_analysis(self.endpoint_key)
        if advice is None or not advice.changes:
            self.notify("no suggested change to decide on", severity="warning")
            return
        tabs = self.query_one(TabbedContent)
        if tabs.active != "profile":
            tabs.active = "profile"
        table: DataTable[str | Text] = self.query_one("#changes", DataTable)
        table.focus()
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        if row_key.value is None:
            return
        self.dashboard.decide_change(self.endpoint_key, row_key.value, accepted)
        self.notify(f"{'accepted' if accepted else 'rejected'} {outside(row_key.value)}",
                    timeout=2, markup=False)

    @on(DataTable.RowSelected, "#changes")
    def toggle_change(self, event: DataTable.RowSelected) -> None:
        advice = self.state.endpoint_analysis(self.endpoint_key)
        change = next((c for c in advice.changes if c.change_id == event.row_key.value), None) \
            if advice else None
        if change is not None:
            self.dashboard.decide_change(self.endpoint_key, change.change_id, not change.accepted)

    def action_export_endpoint(self) -> None:
        self.dashboard.export_profiles([self.endpoint_key])
