"""The fleet summary: totals, savings by finding kind, maturity by pillar, provisioning matrix."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from pipeline.analysis import FleetAnalysis
from tui.look import look_of
from tui.messages import ProfilesBuilt
from tui.render import summary_view
from tui.render_history import fleet_history_view
from tui.state import DashboardState
from tui.widgets.chrome import HeaderLine, ProblemLine, StatusLine

if TYPE_CHECKING:
    from tui.app import SagetopApp


class SummaryScreen(Screen[None]):
    """Opened with `t`; the figures that need every profile are built by a worker."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.pop_screen", "Back", show=False),
        Binding("t", "app.pop_screen", "Back", show=False),
        Binding("j", "scroll(1)", "Down", show=False),
        Binding("k", "scroll(-1)", "Up", show=False),
    ]  # PageUp/PageDown/Home/End: the focused VerticalScroll's own

    def __init__(self) -> None:
        super().__init__()
        self.state = DashboardState()
        self._built: FleetAnalysis | None = None

    def compose(self) -> ComposeResult:
        app = cast("SagetopApp", self.app)
        yield HeaderLine(app.source, app.clock)
        with VerticalScroll(id="summary-scroll"):
            yield Static(id="summary-history")
            yield Static(Text("waiting for the first snapshot", style="italic"), id="summary")
        yield ProblemLine()
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.app, "state", self.show_state)
        self.watch(self.app, "look", lambda _: self.show_state(self.state), init=False)
        self.query_one("#summary-scroll").focus()

    def show_state(self, state: DashboardState) -> None:
        self.state = state
        if state.fleet is None:
            return
        ready = self.profiles_built_for(state.analysis)
        history = self.query_one("#summary-history", Static)
        history.display = state.history is not None  # nothing without a state store
        history.update(fleet_history_view(state.history, look_of(self.app)))
        self.query_one("#summary", Static).update(
            summary_view(state.analysis, state.fleet, ready, look_of(self.app)))
        if state.analysis is not None and not ready:
            self.build_profiles(state.analysis)

    @work(thread=True, exclusive=True, group="summary")
    def build_profiles(self, analysis: FleetAnalysis) -> None:
        """Every endpoint's profiles, for the fleet's maturity: seconds on a big fleet."""
        _ = analysis.maturity_by_pillar
        self.post_message(ProfilesBuilt(analysis))

    def profiles_built_for(self, analysis: FleetAnalysis | None) -> bool:
        return analysis is not None and analysis is self._built

    def on_profiles_built(self, message: ProfilesBuilt) -> None:
        self._built = message.analysis
        self.show_state(self.state)

    def action_scroll(self, lines: int) -> None:
        self.query_one("#summary-scroll", VerticalScroll).scroll_relative(y=lines, animate=False)
