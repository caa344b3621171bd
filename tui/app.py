"""The Textual app: collector and analysis workers feed one immutable state the screens watch.

The collector worker posts what the live session (pipeline.live, built by the CLI) yields; the
screens tell the session what is on screen and which endpoint is open. The analysis runs in a
thread so a large fleet never freezes the UI. A failed refresh leaves the last data on screen,
marked stale, with the error below. Nothing here fetches on behalf of a widget.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import signal
import threading
from collections.abc import Collection, Iterable
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.timer import Timer
from textual.worker import get_current_worker

from ground import locations
from ground.domain import FleetSnapshot
from ground.errors import SagetopError
from ground.untrusted import inert
from pipeline.analysis import Analyst, FleetAnalysis
from pipeline.live import (
    Collected,
    Listing,
    LiveEvent,
    LiveSession,
    Progress,
    Restored,
    StoreNotice,
)
from tui.commands import FleetCommands
from tui.look import (
    ASCII,
    DEFAULT_THEME,
    SAGETOP_THEMES,
    UNICODE,
    Glyphs,
    Look,
    palette_for,
    utf8_terminal,
)
from tui.messages import (
    AnalysisFailed,
    AnalysisUpdated,
    CollectionFailed,
    CollectionProgress,
    DecisionApplied,
    ExportFinished,
    FleetUpdated,
    LiveInterest,
    StoreNoticed,
)
from tui.remembered import RememberedView, load_view, save_view
from tui.screens.endpoint import EndpointScreen, decision_words
from tui.screens.fleet import FleetScreen
from tui.screens.help import HelpScreen
from tui.screens.summary import SummaryScreen
from tui.state import DashboardState
from tui.table_model import TableView
from tui.widgets.chrome import Source

REMEMBER_AFTER_S = 0.5  # typing a filter writes the view once, not once per key


class AsciiScrollBarRender(ScrollBarRender):
    """Scrollbars without block characters, for terminals that are not UTF-8."""

    VERTICAL_BARS: ClassVar[list[str]] = [" "] * 8
    HORIZONTAL_BARS: ClassVar[list[str]] = [" "] * 8


class SagetopApp(App[None]):
    """sagetop's dashboard."""

    CSS_PATH = "app.tcss"
    TITLE = "sagetop"
    COMMANDS = App.COMMANDS | {FleetCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "show_help", "Help"),
        # Binding `:` would take the place of Textual's ctrl+p: both are bound here.
        Binding("colon", "command_palette", "Commands", show=False),
        Binding("ctrl+p", "command_palette", "Commands", show=False, priority=True),
        Binding("r", "refresh_now", "Refresh", show=False),
        Binding("E", "export_fleet", "Export all", show=False),
    ]

    state: reactive[DashboardState] = reactive(DashboardState, init=False)
    look: reactive[Look] = reactive(lambda: Look(palette_for({}), UNICODE), init=False)

    def __init__(self, session: LiveSession, analyst: Analyst, *,
                 export_dir: Path | None = None, view_file: Path | None = None,
                 remember: bool = True, glyphs: Glyphs | None = None) -> None:
        """`export_dir`: default the XDG data directory; `view_file`: where the view is
        remembered (default the XDG state file; `remember=False` keeps nothing); `glyphs`:
        default ASCII unless the locale is UTF-8."""
        super().__init__()
        self.session = session
        self.analyst = analyst
        self.export_dir = export_dir or locations.export_dir()
        self.clock = session.clock
        self.history = session.history
        self.glyphs = glyphs or (UNICODE if utf8_terminal() else ASCII)
        self.view_file = (view_file or locations.view_state_file()) if remember else None
        self.remembered, self._view_problem = (load_view(self.view_file) if self.view_file
                                               else (RememberedView(), None))
        self._remember_timer: Timer | None = None
        self._started = False
        self._view = self.remembered.table_view()
        for theme in SAGETOP_THEMES:
            self.register_theme(theme)
        wanted = self.remembered.theme or DEFAULT_THEME
        if wanted not in self.available_themes:
            self._view_problem = self._view_problem or f"theme {wanted!r} is not known; dark used"
            wanted = DEFAULT_THEME
        self.theme = wanted
        aws = session.aws
        self.source = Source(simulated=aws.target.simulated, profile=aws.profile_name,
                             regions=aws.regions, live_seconds=session.refresh.live_seconds,
                             fleet_seconds=session.refresh.fleet_seconds)
        # One analysis at a time: decisions and refreshes must not interleave inside the Analyst.
        self._analyst_lock = threading.Lock()
        # (endpoint key, action, option id): decisions on plans, taken by the analysis worker.
        self._pending_decisions: queue.SimpleQueue[tuple[str, str, str | None]] = (
            queue.SimpleQueue())

    def get_default_screen(self) -> Screen[None]:
        return FleetScreen(self._view)

    def on_mount(self) -> None:
        self._started = True
        self._apply_look()
        if self.glyphs is ASCII:
            self.add_class("-ascii")
            ScrollBar.renderer = AsciiScrollBarRender
        if self._view_problem:
            # The remembered file's path and contents are outside text.
            self.notify(inert(self._view_problem, one_line=True, limit=300), severity="warning",
                        timeout=8, markup=False)
        self._exit_on_termination_signals()
        self.collect_forever()

    def _exit_on_termination_signals(self) -> None:
        """SIGTERM and SIGHUP end the app the way `q` does, so the terminal gets its modes back
        (echo, the main screen, mouse tracking off) instead of staying raw after the process."""
        loop = asyncio.get_running_loop()
        for name in ("SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is None:
                continue
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                # Not on every platform or thread (a test's app may run off the main thread).
                loop.add_signal_handler(number, self.exit, None, 128 + number)

    def on_unmount(self) -> None:
        self.session.stop()  # the worker's thread ends within a progress tick
        ScrollBar.renderer = ScrollBarRender  # a class attribute: leave it as found
        self._save_view()

    # Look and remembered view ----------------------------------------------------------------

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            self.push_screen(CommandPalette(
                placeholder=f"Search for commands{self.glyphs.ellipsis} (sort, columns, "
                            f"theme, export)", id="--command-palette"))

    def get_key_display(self, binding: Binding) -> str:
        shown = super().get_key_display(binding)
        if self.glyphs is ASCII and not shown.isascii():
            return binding.key.replace("_", " ").capitalize()  # "enter", not a return arrow
        return shown

    def watch_theme(self) -> None:
        if self._started:  # the theme set in __init__ is applied on mount
            self._apply_look()
            self.remember_view(self._view)

    def _apply_look(self) -> None:
        theme = self.current_theme
        variables = {**theme.to_color_system().generate(), **theme.variables}
        self.look = Look(palette_for(variables, mono=self.no_color), self.glyphs)

    def remember_view(self, view: TableView) -> None:
        """The fleet's view changed: write it (with the theme) once the changes settle."""
        self._view = view
        if self.view_file is None:
            return
        if self._remember_timer is not None:
            self._remember_timer.stop()
        self._remember_timer = self.set_timer(REMEMBER_AFTER_S, self._save_view)

    def _save_view(self) -> None:
        if self.view_file is None:
            return
        remembered = RememberedView.of(self._view, self.theme)
        if remembered == self.remembered:
            return
        self.remembered = remembered
        problem = save_view(self.view_file, remembered)
        if problem:
            self.notify(inert(problem, one_line=True, limit=300), severity="warning",
                        markup=False)

    # Collection ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="collector")
    async def collect_forever(self) -> None:
        """Post what the live session yields, until the app exits.

        The session runs on this worker's own event loop in a thread: parsing and merging
        hundreds of thousands of datapoints is CPU work that would otherwise delay key presses.
        """
        worker = get_current_worker()
        async with contextlib.aclosing(self.session.events()) as events:
            async for event in events:
                if worker.is_cancelled:
                    self.session.stop()
                    return
                self.post_message(_message_for(event))

    def on_collection_progress(self, message: CollectionProgress) -> None:
        self.state = replace(self.state, refreshing=True, progress_requests=message.requests,
                             progress_elapsed_s=message.elapsed_s,
                             unanswered_s=message.unanswered_s)

    def on_fleet_updated(self, message: FleetUpdated) -> None:
        fleet = message.fleet
        if message.partial:
            if self.state.fleet is None:
                self.state = replace(self.state, fleet=fleet, partial=True)
            return
        complete = fleet.collected_at if not fleet.errors else self.state.last_complete_at
        self.state = replace(self.state, fleet=fleet, partial=False, failure=None,
                             refreshing=False, last_complete_at=complete, unanswered_s=None)
        self.analyse(fleet)

    def on_collection_failed(self, message: CollectionFailed) -> None:
        self.state = replace(self.state, failure=message.message, refreshing=False,
                             unanswered_s=None)

    def on_store_noticed(self, message: StoreNoticed) -> None:
        self.notify(inert(message.message, one_line=True, limit=300), severity="warning",
                    markup=False)

    def on_live_interest(self, message: LiveInterest) -> None:
        if message.owner == "endpoint":
            self.session.open(min(message.keys) if message.keys else None)
        else:
            self.session.show(message.keys)

    def action_refresh_now(self) -> None:
        self.session.refresh_now()

    # Analysis --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="analysis")
    def analyse(self, fleet: FleetSnapshot) -> None:
        """Findings, costs and profiles for `fleet`, after the user's pending decisions.

        Decisions wait in a queue rather than travel with the worker: a newer refresh cancels an
        analysis that has not started, and the decision must survive that.
        """
        decided: list[tuple[str, str, str | None, str | None]] = []
        try:
            with self._analyst_lock:
                analyst = self.analyst
                while not self._pending_decisions.empty():
                    key, action, option = self._pending_decisions.get_nowait()
                    # Checked against the analysis the user decided on: a refused decision
                    # is never recorded, and the pane says why at once.
                    seen = self.state.analysis
                    error = (analyst.decide(seen, key, action, option) if seen is not None
                             else "the analysis has not finished")
                    decided.append((key, action, option, error))
                analysis = analyst.analyse(fleet)
        except SagetopError as exc:
            self.post_message(AnalysisFailed(str(exc)))
        except Exception as exc:  # the fleet stays on screen without advice
            self.post_message(AnalysisFailed(f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(AnalysisUpdated(analysis))
            for key, action, option, error in decided:
                self.post_message(DecisionApplied(key, action, option, error, analysis))

    def on_analysis_updated(self, message: AnalysisUpdated) -> None:
        # An analysis of an older snapshot still helps until the newer one is analysed.
        self.state = replace(self.state, analysis=message.analysis, analysis_failure=None)

    def on_analysis_failed(self, message: AnalysisFailed) -> None:
        self.state = replace(self.state, analysis_failure=message.message)

    def decide(self, endpoint_key: str, action: str, option_id: str | None = None) -> None:
        """A decision on an endpoint's plan ("accept" or "reject" it; "choose" or "leave" an
        option); the analysis worker checks and takes it, and the target profile follows."""
        self._pending_decisions.put((endpoint_key, action, option_id))
        if self.state.fleet is not None:
            self.analyse(self.state.fleet)

    def on_decision_applied(self, message: DecisionApplied) -> None:
        title, text = decision_words(message.endpoint, message.action, message.option_id,
                                     message.error, message.analysis, self.look.glyphs.arrow)
        # markup=False: the words carry the account's names and values (made inert).
        self.notify(text, title=title, severity="warning" if message.error else "information",
                    timeout=6 if message.error else 4, markup=False)

    # Export ----------------------------------------------------------------------------------

    def export_profiles(self, keys: Collection[str] | None) -> None:
        """Write profile files and rationale for `keys` (None: the whole fleet)."""
        analysis = self.state.analysis
        if analysis is None:
            self.notify("nothing to export yet: the analysis has not finished",
                        severity="warning")
            return
        self._write_profiles(analysis, keys)

    @work(thread=True, exclusive=True, group="export")
    def _write_profiles(self, analysis: FleetAnalysis, keys: Collection[str] | None) -> None:
        try:
            with self._analyst_lock:
                export = self.analyst.write_snapshot(analysis, self.export_dir, keys)
        except SagetopError as exc:
            self.post_message(ExportFinished((), str(exc)))
        except OSError as exc:
            self.post_message(ExportFinished((), f"{exc.filename or self.export_dir}: "
                                                 f"{exc.strerror or exc}"))
        else:
            self.post_message(ExportFinished(export.files))

    def on_export_finished(self, message: ExportFinished) -> None:
        if message.error is not None:
            # Paths and reasons may hold outside text: inert, and never read as markup.
            self.notify(inert(message.error or "export failed", one_line=True, limit=300),
                        title="Export failed", severity="error", markup=False)
            return
        # The directory holding everything written (the file itself when there is one).
        where = Path(os.path.commonpath(message.paths)) if message.paths else self.export_dir
        count = len(message.paths)
        # Paths may hold outside text: inert, and never read as markup.
        self.notify(inert(f"{count} file{'s' if count != 1 else ''} written to "
                          f"{locations.display(where.absolute())}", one_line=True),
                    title="Exported", timeout=8, markup=False)

    def action_export_fleet(self) -> None:
        self.export_profiles(None)

    # Navigation ------------------------------------------------------------------------------

    def open_endpoint(self, key: str) -> None:
        self.push_screen(EndpointScreen(key))

    def action_show_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_show_summary(self) -> None:
        if not isinstance(self.screen, SummaryScreen):
            self.push_screen(SummaryScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Fleet summary", "Totals, savings, maturity, provisioning",
                            self.action_show_summary)
        yield SystemCommand("Export fleet",
                            f"Write every profile to {locations.display(self.export_dir)}",
                            self.action_export_fleet)
        yield SystemCommand("Refresh now", "Collect the whole fleet again", self.action_refresh_now)


def _message_for(event: LiveEvent) -> Message:
    if isinstance(event, Collected | Restored):
        # The stored fleet is analysed like any other: findings at once, rows marked by age.
        return FleetUpdated(event.fleet)
    if isinstance(event, StoreNotice):
        return StoreNoticed(event.message)
    if isinstance(event, Listing):
        # A listing that failed everywhere is the refresh's answer, not a first look.
        return FleetUpdated(event.fleet, partial=not event.unlisted)
    if isinstance(event, Progress):
        return CollectionProgress(event.requests, event.elapsed_s, event.unanswered_s)
    return CollectionFailed(event.message)
