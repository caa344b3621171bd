"""The pane of one endpoint: live and lookback charts, variants, Model Monitor, findings, profile.

The title says why the endpoint is worth a look (its worst finding) whatever the tab. The user
accepts or rejects each suggested change here; the decision goes to the Analyst through the app
and the target profile that comes back by message shows what it changed.
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
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane, Tabs

from ground.domain import FleetSnapshot
from pipeline.analysis import EndpointAnalysis, FleetAnalysis, SuggestedChange
from tui.look import DEFAULT_LOOK, Look, look_of
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
from tui.rows import cell_signature, cost_change, outside
from tui.state import DashboardState
from tui.widgets.chrome import HeaderLine, ProblemLine, StatusLine
from tui.widgets.endpoint.charts import HISTORY_CHARTS, LIVE_CHARTS, ChartRow
from tui.widgets.tables import VimTable

if TYPE_CHECKING:
    from tui.app import SagetopApp

TABS = ("metrics", "variants", "monitor", "findings", "profile", "maturity", "experiments")
# What changes, from what to what, decided how: first, so they fit at 80 columns.
CHANGE_COLUMNS = (("decision", "Decision"), ("characteristic", "Change"),
                  ("current", "Current"), ("proposed", "Proposed"), ("variant", "Variant"),
                  ("finding", "Finding"))


def change_cells(change: SuggestedChange, look: Look = DEFAULT_LOOK) -> list[str | Text]:
    proposal = change.change
    palette = look.palette
    # Variant names and values come from the account.
    return [Text("accepted", style=palette.good) if change.accepted
            else Text("rejected", style=palette.bad),
            Text(proposal.characteristic.replace("_", " ")),
            Text(outside(str(proposal.current))), Text(outside(str(proposal.proposed))),
            Text(f"component {outside(proposal.component)}" if proposal.component
                 else outside(proposal.variant or "-")),
            Text(change.finding.kind.value)]


def change_words(change: SuggestedChange, arrow: str = "→") -> str:
    """One change as a sentence fragment: 'instance type ml.c5.4xlarge → ml.m5.large on
    AllTraffic' (the toast and the notice say this, never the change's id). Values and the
    variant's name come from the account: inert."""
    proposal = change.change
    where = (f" on component {outside(proposal.component)}" if proposal.component
             else f" on {outside(proposal.variant)}" if proposal.variant else "")
    return (f"{proposal.characteristic.replace('_', ' ')} {outside(str(proposal.current))} "
            f"{arrow} {outside(str(proposal.proposed))}{where}")


class EndpointScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.pop_screen", "Back", show=False),
        Binding("a", "decide(True)", "Accept"),
        Binding("x", "decide(False)", "Reject"),
        Binding("e", "export_endpoint", "Export"),
        Binding("p", "toggle_sources", "Sources", show=False),
        Binding("j", "scroll(1)", "Down", show=False),
        Binding("k", "scroll(-1)", "Up", show=False),
        # The pane's scroller rarely has the focus (the tabs or the changes table do): these
        # reach it from anywhere on the screen.
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("home", "edge(False)", "Top", show=False),
        Binding("end", "edge(True)", "Bottom", show=False),
        *(Binding(str(n), f"show_tab('{tab}')", tab.capitalize(), show=False)
          for n, tab in enumerate(TABS, start=1)),
    ]

    def __init__(self, endpoint_key: str) -> None:
        super().__init__()
        self.endpoint_key = endpoint_key
        self.state = DashboardState()
        self._rendered: tuple[FleetSnapshot | None, FleetAnalysis | None] = (None, None)
        self._look = DEFAULT_LOOK
        self.full_sources = False

    @property
    def dashboard(self) -> SagetopApp:
        return cast("SagetopApp", self.app)

    def compose(self) -> ComposeResult:
        yield HeaderLine(self.dashboard.source, self.dashboard.clock)
        yield Static(Text(outside(self.endpoint_key)), id="endpoint-title")
        with TabbedContent(initial="metrics", id="tabs"):
            with TabPane("1 Metrics", id="metrics"), VerticalScroll():
                live_minutes = self.dashboard.history.live_window_minutes
                yield Static(Text(f"Last {live_minutes} minutes", style="bold"))
                for spec in LIVE_CHARTS:
                    yield ChartRow(spec)
                days = self.dashboard.history.lookback_days
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
                yield Static(id="profile-hint")
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
        self._look = look_of(self.app)
        self.watch(self.app, "state", self.show_state)
        self.watch(self.app, "look", self.show_look, init=False)
        self.watch(self, "focused", self._show_focus)

    def show_look(self, look: Look) -> None:
        self._look = look
        self._rendered = (None, None)
        self.show_state(self.state)

    def _show_focus(self, *_: object) -> None:
        """Say in the Profile tab where Tab goes next, and which part has the keys now."""
        order = (("tabs", "tabs"), ("changes", "changes"), ("profile-scroll", "profile"))
        focused = self.focused
        here = focused.id if focused is not None else None
        if focused is not None and here not in {key for key, _ in order}:
            here = "tabs" if focused.parent is not None and focused.parent.id == "tabs" else here
        parts = Text("Tab moves: ", style=self._look.palette.muted)
        for index, (key, name) in enumerate(order):
            if index:
                parts.append(f" {self._look.glyphs.arrow} ", style=self._look.palette.muted)
            parts.append(name, style=self._look.palette.selected if key == here else "")
        parts.append("   a accepts, x rejects, Enter toggles the selected change",
                     style=self._look.palette.muted)
        self.query_one("#profile-hint", Static).update(parts)

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
                              style=self._look.palette.warning))
            return
        advice = state.endpoint_analysis(self.endpoint_key)
        look = self._look
        title.update(endpoint_title(endpoint, advice, look))
        for chart in self.query(ChartRow):
            chart.plot(fleet, endpoint, look)
        self.query_one("#variants-view", Static).update(
            variants_view(endpoint, fleet, state.analysis, look))
        self.query_one("#monitor-view", Static).update(monitor_view(endpoint, look))
        pending = Text("analysis pending", style=look.palette.warning)
        self._show_findings(advice)
        self.query_one("#experiments-view", Static).update(opinions_view(advice, endpoint, look))
        self.query_one("#profile-view", Static).update(
            profile_view(advice, look) if advice else pending)
        self.query_one("#maturity-view", Static).update(
            maturity_view(advice.maturity_current, advice.maturity_target, look) if advice
            else pending)
        self._show_changes(advice)
        self._show_focus()

    def _show_findings(self, advice: EndpointAnalysis | None) -> None:
        endpoint = self.state.fleet.endpoint(self.endpoint_key) if self.state.fleet else None
        self.query_one("#findings-view", Static).update(
            Group(findings_view(advice.findings, self._look, self.full_sources),
                  verdicts_view(advice.verdicts, endpoint, self._look))
            if advice and endpoint else Text("analysis pending", style=self._look.palette.warning))

    def _show_changes(self, advice: EndpointAnalysis | None) -> None:
        table: DataTable[str | Text] = self.query_one("#changes", DataTable)
        changes = {c.change_id: c for c in advice.changes} if advice else {}
        for row_key in list(table.rows):
            if row_key.value not in changes:
                table.remove_row(row_key)
        for change_id, change in changes.items():
            cells = change_cells(change, self._look)
            if change_id in table.rows:
                for (column, _), value in zip(CHANGE_COLUMNS, cells, strict=True):
                    if cell_signature(table.get_cell(change_id, column)) != cell_signature(value):
                        table.update_cell(change_id, column, value)
            else:
                table.add_row(*cells, key=change_id)
        table.display = bool(changes)

    # Actions ---------------------------------------------------------------------------------

    def action_show_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        # Focus inside the pane being hidden would bring its tab back (TabbedContent follows
        # the focus): hand the focus to the tab row first.
        self.query_one(Tabs).focus()
        tabs.active = tab

    def _scroller(self) -> VerticalScroll | None:
        pane = self.query_one(TabbedContent).active_pane
        if pane is None:
            return None
        found = pane.query(VerticalScroll)
        return found.first() if found else None

    def action_scroll(self, lines: int) -> None:
        scroller = self._scroller()
        if scroller is not None:
            scroller.scroll_relative(y=lines, animate=False)

    def action_page(self, pages: int) -> None:
        scroller = self._scroller()
        if scroller is not None:
            height = max(1, scroller.scrollable_content_region.height - 1)
            scroller.scroll_relative(y=pages * height, animate=False)

    def action_edge(self, bottom: bool) -> None:
        scroller = self._scroller()
        if scroller is not None:
            if bottom:
                scroller.scroll_end(animate=False)
            else:
                scroller.scroll_home(animate=False)

    def action_toggle_sources(self) -> None:
        """`p`: price sources in full (the documents they come from) or in short."""
        self.full_sources = not self.full_sources
        self._show_findings(self.state.endpoint_analysis(self.endpoint_key))
        self.action_show_tab("findings")

    def action_decide(self, accepted: bool) -> None:
        """`a` / `x`: in the Profile tab the change under the cursor; elsewhere every change the
        worst finding suggests (the one the title shows)."""
        advice = self.state.endpoint_analysis(self.endpoint_key)
        if advice is None or not advice.changes:
            self.notify("no suggested change to decide on", severity="warning")
            return
        table: DataTable[str | Text] = self.query_one("#changes", DataTable)
        if self.query_one(TabbedContent).active == "profile":
            table.focus()
            row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
            chosen = [c for c in advice.changes if c.change_id == row_key.value]
        else:
            first = advice.changes[0].finding
            chosen = [c for c in advice.changes if c.finding == first]
        for change in chosen:
            self.dashboard.decide_change(self.endpoint_key, change.change_id, accepted)
        self._say_decision(chosen, accepted)

    def _say_decision(self, changes: list[SuggestedChange], accepted: bool) -> None:
        if not changes:
            return
        arrow = self._look.glyphs.arrow
        finding = changes[0].finding
        what = "; ".join(change_words(c, arrow) for c in changes)
        saving = (f" ({cost_change(finding.monthly_savings_usd)})"
                  if accepted and finding.monthly_savings_usd else "")
        # markup=False: the values are the account's text, never Textual markup.
        self.notify(f"{finding.kind.value}: {what}{saving}",
                    title="Accepted" if accepted else "Rejected", timeout=4, markup=False)

    @on(DataTable.RowSelected, "#changes")
    def toggle_change(self, event: DataTable.RowSelected) -> None:
        advice = self.state.endpoint_analysis(self.endpoint_key)
        change = next((c for c in advice.changes if c.change_id == event.row_key.value), None) \
            if advice else None
        if change is not None:
            self.dashboard.decide_change(self.endpoint_key, change.change_id, not change.accepted)
            self._say_decision([change], not change.accepted)

    def action_export_endpoint(self) -> None:
        self.dashboard.export_profiles([self.endpoint_key])
