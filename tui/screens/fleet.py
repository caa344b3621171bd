"""The fleet view: one row per endpoint, sorted, filtered and grouped as the user asks."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from ground.domain import FleetSnapshot
from pipeline.analysis import FleetAnalysis
from tui.look import Look, look_of
from tui.messages import LiveInterest, RowsBuilt
from tui.rows import (
    COLUMN_BY_KEY,
    COLUMNS,
    RowData,
    column_label,
    columns_for_width,
    component_row,
    fleet_rows,
    variant_row,
)
from tui.state import DashboardState
from tui.table_model import GROUP_PREFIX, VARIANT_SEPARATOR, GroupBy, TableView, arrange
from tui.widgets.chrome import HeaderLine, ProblemLine, StatusLine
from tui.widgets.fleet.table import FleetTable
from tui.widgets.tables import Cell

if TYPE_CHECKING:
    from tui.app import SagetopApp


class FleetScreen(Screen[None]):
    """The default screen; every other view opens from here and returns here."""

    # The footer has room for what a first visit needs at 80 columns; `?` lists every key.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_selected", "Open"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "cycle_sort", "Sort"),
        Binding("dollar_sign", "sort_by_saving", "Saving", key_display="$"),
        Binding("S", "reverse_sort", "Reverse", show=False),
        Binding("g", "cycle_group", "Group", show=False),
        Binding("space", "toggle_variants", "Variants", show=False),
        Binding("e", "export_endpoint", "Export"),
        Binding("t", "app.show_summary", "Totals", show=False),
        Binding("q", "app.quit", "Quit"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    view: reactive[TableView] = reactive(TableView, init=False)

    def __init__(self, view: TableView | None = None) -> None:
        super().__init__()
        if view is not None:
            self.set_reactive(FleetScreen.view, view)
        self.rows: list[RowData] = []
        self.state = DashboardState()
        self._shown_endpoints: int | None = None
        self._interest: frozenset[str] = frozenset()
        # The snapshot and analysis whose rows are being built, and those on screen.
        self._requested: tuple[FleetSnapshot | None, FleetAnalysis | None] = (None, None)
        self._applied: tuple[FleetSnapshot | None, FleetAnalysis | None] = (None, None)
        self._look: Look = look_of(None)

    @property
    def dashboard(self) -> SagetopApp:
        return cast("SagetopApp", self.app)

    def compose(self) -> ComposeResult:
        yield HeaderLine(self.dashboard.source, self.dashboard.clock)
        yield Static(Text("Collecting the fleet: endpoints, configurations, "
                          f"{self.dashboard.history.lookback_days} days of metrics..."),
                     id="loading")
        yield FleetTable(id="fleet")
        yield Input(placeholder="filter: name, tag, region or finding kind (Esc clears)",
                    id="filter")
        yield ProblemLine()
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self._look = look_of(self.app)
        field = self.query_one("#filter", Input)
        # A remembered filter shows, so nobody wonders where half the fleet went.
        field.value = self.view.query
        field.display = bool(self.view.query.strip())
        self._lay_out_columns()
        self.watch(self.app, "state", self.show_state)
        self.watch(self.app, "look", self.show_look, init=False)
        self.watch(self.table, "scroll_y", self._report_interest, init=False)
        self.table.focus()

    @property
    def table(self) -> FleetTable:
        return self.query_one(FleetTable)

    # Rendering -------------------------------------------------------------------------------

    def show_state(self, state: DashboardState) -> None:
        """A new snapshot or analysis arrived: recompute the rows once, then apply the view."""
        self.state = state
        loading = self.query_one("#loading", Static)
        loading.display = state.fleet is None or state.partial
        if loading.display:
            what = "the fleet" if state.fleet is None else "configurations and metrics"
            loading.update(Text(f"Collecting {what}: {state.progress_requests} requests so far, "
                                f"{state.progress_elapsed_s:.0f}s..."))
        if state.fleet is None:
            return
        if state.fleet is self._requested[0] and state.analysis is self._requested[1]:
            return  # only progress or an error line changed; the rows are as they were
        self._requested = (state.fleet, state.analysis)
        self.build_rows(state.fleet, state.analysis)

    def show_look(self, look: Look) -> None:
        """Another theme: the cells carry its colours, so they are built again."""
        self._look = look
        self._label_columns()
        if self.state.fleet is not None:
            self._requested = (self.state.fleet, self.state.analysis)
            self.build_rows(self.state.fleet, self.state.analysis)

    @work(thread=True, exclusive=True, group="fleet-rows")
    def build_rows(self, fleet: FleetSnapshot, analysis: FleetAnalysis | None) -> None:
        """The rows of a new snapshot, off the event loop: a large fleet takes a while."""
        self.post_message(RowsBuilt(fleet, analysis, fleet_rows(fleet, analysis, self._look)))

    def on_rows_built(self, message: RowsBuilt) -> None:
        if message.fleet is not self._requested[0] or message.analysis is not self._requested[1]:
            return  # a newer snapshot is being built; this one would only flicker past
        self.rows = message.rows
        self._applied = self._requested
        self._show_rows()

    def shows(self, fleet: FleetSnapshot | None, analysis: FleetAnalysis | None) -> bool:
        """Whether the table shows this snapshot and analysis (tests wait on it)."""
        return self._applied[0] is fleet and self._applied[1] is analysis

    def watch_view(self, old: TableView, new: TableView) -> None:
        if (old.hidden, old.pinned) != (new.hidden, new.pinned):
            self._lay_out_columns()
        self._show_rows()
        self.dashboard.remember_view(new)

    def _variants_of(self, endpoint_key: str) -> list[tuple[str, dict[str, Cell]]]:
        fleet, analysis = self._applied  # the snapshot the rows on screen come from
        endpoint = fleet.endpoint(endpoint_key) if fleet else None
        if fleet is None or endpoint is None:
            return []
        return [(v.name, variant_row(endpoint, v, fleet, analysis, self._look))
                for v in endpoint.variants]

    def _components_of(self, endpoint_key: str) -> list[tuple[str, dict[str, Cell]]]:
        """An endpoint's inference components: each has its own traffic, cost share and
        findings (from the analysis of the snapshot on screen)."""
        fleet, analysis = self._applied
        endpoint = fleet.endpoint(endpoint_key) if fleet else None
        if fleet is None or endpoint is None:
            return []
        advice = analysis.endpoints.get(endpoint_key) if analysis else None
        return [(c.column, component_row(endpoint, c, fleet, analysis if advice else None,
                                         advice.component_costs.get(c.name) if advice else None,
                                         advice.findings if advice else (), look=self._look))
                for c in endpoint.inference_components]

    def _children_of(self, endpoint_key: str) -> list[tuple[str, dict[str, Cell]]]:
        """The rows an expanded endpoint opens onto: its variants, then its components."""
        return self._variants_of(endpoint_key) + self._components_of(endpoint_key)

    def _show_rows(self) -> None:
        table = self.table
        self._label_columns()
        shown = arrange(self.rows, self.view, self._children_of)
        table.show(shown)
        self._shown_endpoints = (sum(1 for r in shown if r.endpoint_key == r.key)
                                 if self.view.query else None)
        self._show_position()
        self._report_interest()

    def _show_position(self) -> None:
        first, last = self.table.rows_on_screen()
        rows = (first + 1, last, self.table.row_count) if self.table.row_count else None
        self.query_one(StatusLine).show_count(self._shown_endpoints, rows)

    def _labels(self) -> dict[str, Text]:
        labels = {}
        days = self.dashboard.history.lookback_days
        glyphs = self._look.glyphs
        for column in COLUMNS:
            label = Text(column_label(column, days), style="bold")
            if column.key == self.view.sort_column:
                # Right against the label (the money columns have no cell to spare at 80),
                # unless the mark is a letter (ASCII "v"): then apart, on a shorter label.
                mark = glyphs.down if self.view.descending else glyphs.up
                if mark.isalpha() or mark == "^":
                    mark = " " + mark
                    if len(label) + len(mark) > column.width and column.short:
                        label = Text(column.short, style="bold")
                label.append(mark)
            if column.numeric:
                label.justify = "right"
            labels[column.key] = label
        return labels

    def _label_columns(self) -> None:
        self.table.set_columns(self.table.shown_columns, self._labels())

    def _lay_out_columns(self) -> None:
        width = self.size.width or self.app.size.width
        table = self.table
        if table.set_columns(columns_for_width(width, self.view.hidden, self.view.pinned),
                             self._labels()):
            table.show(arrange(self.rows, self.view, self._children_of))
        table.fit_first_column(width)

    def on_resize(self, event: events.Resize) -> None:
        self._lay_out_columns()

    def _report_interest(self, *_: object) -> None:
        """Tell the collector which endpoints are on screen: they refresh on the live cadence."""
        self._show_position()
        keys = frozenset(key.split(VARIANT_SEPARATOR)[0] for key in self.table.keys_on_screen()
                         if not key.startswith(GROUP_PREFIX))
        if keys != self._interest:
            self._interest = keys
            self.post_message(LiveInterest("fleet", keys))

    # Actions ---------------------------------------------------------------------------------

    def _selected_endpoint(self) -> str | None:
        key = self.table.selected_key
        if key is None or key.startswith(GROUP_PREFIX):
            return None
        return key.split(VARIANT_SEPARATOR)[0]

    @on(DataTable.RowSelected, "#fleet")
    def open_endpoint(self, event: DataTable.RowSelected) -> None:
        self.action_open_selected()

    def action_open_selected(self) -> None:
        key = self._selected_endpoint()
        if key is not None:
            self.dashboard.open_endpoint(key)

    @on(DataTable.HeaderSelected, "#fleet")
    def sort_by_header(self, event: DataTable.HeaderSelected) -> None:
        if event.column_key.value is not None:
            self.view = self.view.sorted_by(event.column_key.value)

    def action_cycle_sort(self) -> None:
        self.view = self.view.next_sort([c.key for c in self.table.shown_columns])
        self._say_sort()

    def action_sort_by_saving(self) -> None:
        """`$`: the largest saving first, whatever the order was (`S` reverses)."""
        self.view = replace(self.view, sort_column="savings", descending=True)
        self._say_sort()

    def action_reverse_sort(self) -> None:
        self.view = replace(self.view, descending=not self.view.descending)
        self._say_sort()

    def _say_sort(self) -> None:
        column = COLUMN_BY_KEY[self.view.sort_column]
        label = column_label(column, self.dashboard.history.lookback_days)
        if column.numeric:
            order = "largest first" if self.view.descending else "smallest first"
        else:
            order = "Z to A" if self.view.descending else "A to Z"
        self.notify(f"sorted by {label}, {order}", timeout=2)

    def action_cycle_group(self) -> None:
        self.view = replace(self.view, group=self.view.group.next())
        if self.view.group is not GroupBy.NONE:
            self.notify(f"grouped by {self.view.group.value}", timeout=1.5)

    def action_toggle_variants(self) -> None:
        key = self._selected_endpoint()
        if key is not None:
            self.view = self.view.toggled(key)

    def action_export_endpoint(self) -> None:
        key = self._selected_endpoint()
        if key is None:
            self.notify("no endpoint selected", severity="warning")
            return
        self.dashboard.export_profiles([key])

    def action_toggle_column(self, column: str, shown: bool) -> None:
        """The palette's "Show column" / "Hide column"; remembered with the view."""
        self.view = self.view.showing(column) if shown else self.view.hiding(column)

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = True
        field.focus()

    def action_clear_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.value = ""
        field.display = False
        self.view = replace(self.view, query="")
        self.table.focus()

    @on(Input.Changed, "#filter")
    def filter_rows(self, event: Input.Changed) -> None:
        self.view = replace(self.view, query=event.value)

    @on(Input.Submitted, "#filter")
    def keep_filter(self, event: Input.Submitted) -> None:
        # The filter stays visible while it narrows the table, so nobody forgets it is on.
        event.input.display = bool(event.value.strip())
        self.table.focus()

    def on_key(self, event: events.Key) -> None:
        field = self.query_one("#filter", Input)
        if event.key == "escape" and field.has_focus:
            event.stop()
            self.action_clear_filter()

    def set_view(self, view: TableView) -> None:
        """Commands from the palette (sort by a named column, group) land here."""
        self.view = view

    @property
    def lookback_days(self) -> int:
        return self.dashboard.history.lookback_days

    def shown_column_keys(self) -> set[str]:
        return {c.key for c in self.table.shown_columns}
