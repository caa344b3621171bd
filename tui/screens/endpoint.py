"""The pane of one endpoint: live and lookback charts, variants, Model Monitor, findings, profile.

The title says why the endpoint is worth a look (its worst finding) and what its plan saves,
whatever the tab. The user accepts the plan, picks another of its options, or leaves one out
here; the decision goes to the Analyst through the app, which checks it before taking it (a
change that cannot be applied is refused with the reason at once), and the plan and target
profile that come back by message show what it changed.
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

from advisors.finding import ProfileChange
from ground.domain import FleetSnapshot
from ground.energy import quantity
from pipeline.analysis import EndpointAnalysis, FleetAnalysis
from profiles.plan import EndpointPlan, OptionStatus, PlannedOption
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
from tui.render_history import endpoint_history_view
from tui.render_opinions import opinions_view, verdicts_view
from tui.rows import cell_signature, cost_change, fmt_usd, outside
from tui.state import DashboardState
from tui.widgets.chrome import HeaderLine, ProblemLine, StatusLine
from tui.widgets.endpoint.charts import HISTORY_CHARTS, LIVE_CHARTS, ChartRow
from tui.widgets.tables import VimTable

if TYPE_CHECKING:
    from tui.app import SagetopApp

TABS = ("metrics", "variants", "monitor", "findings", "profile", "maturity", "experiments")
# The plan's options: where each stands, what it is, what it costs and saves (in dollars and
# in estimated kgCO2e a month), which finding opened it; the decision first, so it fits at 80
# columns.
PLAN_COLUMNS = (("decision", "Plan"), ("option", "Option"), ("cost", "$/month"),
                ("saves", "Saves"), ("kgco2e", "kgCO2e"), ("finding", "Finding"))
_SHOWN = (OptionStatus.CHOSEN, OptionStatus.ALTERNATIVE, OptionStatus.REJECTED,
          OptionStatus.COVERED, OptionStatus.EXCLUDED, OptionStatus.UNFIT,
          OptionStatus.EXPERIMENT)


def plan_cells(planned: PlannedOption, look: Look = DEFAULT_LOOK) -> list[str | Text]:
    palette = look.palette
    style = {OptionStatus.CHOSEN: palette.good, OptionStatus.REJECTED: palette.bad,
             OptionStatus.ALTERNATIVE: ""}.get(planned.status, palette.muted)
    saves = planned.monthly_savings_usd
    # Labels and variant names come from the account (instance types, names).
    where = planned.component or planned.variant
    return [Text(planned.status.value, style=style), Text(outside(planned.label)),
            Text(fmt_usd(planned.option.monthly_cost_usd), justify="right"),
            Text("-" if saves is None else fmt_usd(saves, minus=look.glyphs.minus),
                 justify="right"),
            carbon_saved_cell(planned.monthly_kgco2e_saved, look),
            Text(planned.finding.value + (f" on {outside(where)}" if where else ""))]


def carbon_saved_cell(kg: float | None, look: Look = DEFAULT_LOOK) -> Text:
    """Estimated kgCO2e a month an option saves ("~" says estimate; "?" unknown, never 0)."""
    if kg is None:
        return Text("?", style=look.palette.muted, justify="right")
    minus = look.glyphs.minus if kg < 0 else ""
    return Text(f"{minus}~{quantity(abs(kg))}", justify="right")


def plan_rows(plan: EndpointPlan) -> list[PlannedOption]:
    """The options as the table lists them: chosen first, then what may be picked instead,
    then the rest (covered, excluded, unfit, experiments: their `why` says it)."""
    return sorted(plan.options, key=lambda o: _SHOWN.index(o.status))


def change_words(change: ProfileChange, arrow: str = "→") -> str:
    """One change as a sentence fragment: 'instance type ml.c5.4xlarge → ml.m5.large on
    AllTraffic' (the toast and the notice say this, never the change's id). Values and the
    variant's name come from the account: inert."""
    where = (f" on component {outside(change.component)}" if change.component
             else f" on {outside(change.variant)}" if change.variant else "")
    current = "" if change.current is None else f"{outside(str(change.current))} {arrow} "
    return (f"{change.characteristic.replace('_', ' ')} {current}"
            f"{outside(str(change.proposed))}{where}")


def option_words(planned: PlannedOption, arrow: str = "→") -> str:
    changes = "; ".join(change_words(c, arrow) for c in planned.option.changes)
    return f"{planned.finding.value}: {changes or outside(planned.label)}"


def decision_words(key: str, action: str, option_id: str | None, error: str | None,
                   analysis: FleetAnalysis | None, arrow: str = "→") -> tuple[str, str]:
    """The toast of a decision: (title, text), the plan it leaves in words."""
    name = outside(key.rsplit("/", 1)[-1])  # the key may lead with the account
    if error is not None:
        return "Cannot apply", outside(error, limit=400)
    item = analysis.endpoints.get(key) if analysis else None
    plan = item.plan if item else None
    if plan is None:
        return "Decided", name
    effect = cost_change(plan.monthly_savings_usd)
    if action == "reject":
        return "Rejected", f"plan for {name}: nothing changes"
    if action == "accept":
        words = "; ".join(option_words(o, arrow) for o in plan.chosen) or "nothing to change"
        return "Accepted", f"plan for {name}: {words} ({effect})"
    planned = plan.option(option_id) if option_id else None
    what = option_words(planned, arrow) if planned else outside(option_id or "")
    if action == "choose":
        return "Accepted", f"{what}; the plan {effect}"
    return "Rejected", f"{what}; the plan {effect}"


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
        self._rendered: tuple[FleetSnapshot | None, FleetAnalysis | None, object] = (
            None, None, None)
        self._look = DEFAULT_LOOK
        self.full_sources = False

    @property
    def dashboard(self) -> SagetopApp:
        return cast("SagetopApp", self.app)

    def compose(self) -> ComposeResult:
        yield HeaderLine(self.dashboard.source, self.dashboard.clock)
        yield Static(Text(outside(self.endpoint_key)), id="endpoint-title")
        yield Static(id="endpoint-history")
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
                for key, label in PLAN_COLUMNS:
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
        self._rendered = (None, None, None)
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
        parts.append("   a takes the option, x leaves it out, Enter toggles; elsewhere a/x "
                     "accept/reject the plan", style=self._look.palette.muted)
        self.query_one("#profile-hint", Static).update(parts)

    def on_unmount(self) -> None:
        self.dashboard.post_message(LiveInterest("endpoint", frozenset()))

    def show_state(self, state: DashboardState) -> None:
        self.state = state
        if (state.fleet is self._rendered[0] and state.analysis is self._rendered[1]
                and state.history is self._rendered[2]):
            return  # only progress or an error line changed
        self._rendered = (state.fleet, state.analysis, state.history)
        history = self.query_one("#endpoint-history", Static)
        # How it moved over the stored days; no line at all without a state store.
        history.display = state.history is not None
        history.update(endpoint_history_view(state.history, self.endpoint_key, self._look))
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
            Group(findings_view(advice.findings, self._look, self.full_sources, advice.plan),
                  verdicts_view(advice.verdicts, endpoint, self._look))
            if advice and endpoint else Text("analysis pending", style=self._look.palette.warning))

    def _show_changes(self, advice: EndpointAnalysis | None) -> None:
        table: DataTable[str | Text] = self.query_one("#changes", DataTable)
        rows = {o.id: o for o in plan_rows(advice.plan)} if advice else {}
        order = list(rows)
        shown = [row.value for row in table.rows]
        if shown != order:
            table.clear()
            for option_id, planned in rows.items():
                table.add_row(*plan_cells(planned, self._look), key=option_id)
        else:
            for option_id, planned in rows.items():
                cells = plan_cells(planned, self._look)
                for (column, _), value in zip(PLAN_COLUMNS, cells, strict=True):
                    if cell_signature(table.get_cell(option_id, column)) != cell_signature(value):
                        table.update_cell(option_id, column, value)
        table.display = bool(rows)

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
        """`a` / `x`: in the Profile tab, take or leave out the option under the cursor;
        elsewhere, accept the plan as proposed or reject it (the title says what it does)."""
        advice = self.state.endpoint_analysis(self.endpoint_key)
        if advice is None or not advice.plan.options:
            self.notify("no plan to decide on: nothing to change", severity="warning")
            return
        if self.query_one(TabbedContent).active == "profile":
            table: DataTable[str | Text] = self.query_one("#changes", DataTable)
            table.focus()
            row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
            planned = advice.plan.option(str(row_key.value))
            if planned is not None:
                self._decide_option(planned, accepted)
            return
        self.dashboard.decide(self.endpoint_key, "accept" if accepted else "reject")

    def _decide_option(self, planned: PlannedOption, take: bool) -> None:
        # markup=False: labels and reasons carry the account's text, never Textual markup.
        if take and planned.status is OptionStatus.CHOSEN:
            self.notify(f"{outside(planned.label)}: already in the plan", timeout=3,
                        markup=False)
            return
        if take and not planned.pickable and planned.status is not OptionStatus.REJECTED:
            # Said at once: covered, excluded, unfit and experiments cannot be taken.
            self.notify(f"{outside(planned.label)}: "
                        f"{outside(planned.why or planned.status.value, limit=400)}",
                        title="Cannot apply", severity="warning", timeout=6, markup=False)
            return
        self.dashboard.decide(self.endpoint_key, "choose" if take else "leave", planned.id)

    @on(DataTable.RowSelected, "#changes")
    def toggle_change(self, event: DataTable.RowSelected) -> None:
        advice = self.state.endpoint_analysis(self.endpoint_key)
        planned = advice.plan.option(str(event.row_key.value)) if advice else None
        if planned is not None:
            self._decide_option(planned, planned.status is not OptionStatus.CHOSEN)

    def action_export_endpoint(self) -> None:
        self.dashboard.export_profiles([self.endpoint_key])
