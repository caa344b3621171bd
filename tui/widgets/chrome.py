"""The lines around every screen: the header (where, how fresh), the status and the problems."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from ground.untrusted import inert
from tui.look import DEFAULT_LOOK, Look, look_of
from tui.render import metrics_route_header
from tui.rows import cost_change, fmt_age, fmt_usd
from tui.state import DashboardState

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Source:
    """What the dashboard watches, as the command line chose it."""

    simulated: bool
    profile: str | None
    regions: tuple[str, ...]
    live_seconds: int
    fleet_seconds: int


def fit_parts(parts: Sequence[tuple[int, Text]], width: int, separator: str) -> Text:
    """Join the parts that fit in `width`, dropping the least important (highest rank) first."""
    kept = list(parts)

    def joined() -> Text:
        return Text(separator).join(text for _, text in kept)

    while len(kept) > 1 and joined().cell_len > width:
        drop = max(range(len(kept)), key=lambda i: (kept[i][0], i))
        if kept[drop][0] <= 1:
            break  # what must show stays, cut at the edge if it must
        kept.pop(drop)
    return joined()


def header_text(source: Source, state: DashboardState, now: dt.datetime,
                look: Look = DEFAULT_LOOK, width: int = 1000) -> Text:
    """The top line; a narrow screen loses the cadence and names before the data's age."""
    fleet = state.fleet
    palette, glyphs = look.palette, look.glyphs
    parts: list[tuple[int, Text]] = []
    mark = Text(" sagetop ", style=palette.selected)
    several = ""
    route = None
    if fleet is not None and fleet.accounts:
        # Several accounts: how many, and how many are stale (the table says which).
        stale = sum(1 for a in fleet.accounts if a.stale)
        several = f"{len(fleet.accounts)} accounts" + (f", {stale} stale" if stale else "")
        route = metrics_route_header(fleet)
    if source.simulated:
        # The demo must never be mistaken for a real account.
        mark.append(" ")
        mark.append(" DEMO ", style=palette.demo)
        parts.append((1, mark))
        parts.append((5, Text(f"simulated organisation, {several}" if several
                              else "simulated account")))
    else:
        parts.append((1, mark))
        account = several or (fleet.account_id if fleet and fleet.account_id else "account ?")
        parts.append((3, Text(inert(account, one_line=True, limit=40))))
    if route is not None:
        # Whose credentials ask for the metrics (OAM): kept longer than the profile, given up
        # before the regions (shortened first, below).
        route_part = len(parts)
        parts.append((4, Text(route)))
    regions = fleet.regions if fleet else source.regions
    if state.missing == "region":
        parts.append((1, Text("NO REGION", style=palette.critical)))
    else:
        parts.append((3, Text(inert(", ".join(regions), one_line=True, limit=60)
                              or "default region")))
    profile = (fleet.profile_name if fleet else None) or source.profile
    if not source.simulated:
        shown = inert(profile, one_line=True, limit=40) if profile else "default chain"
        parts.append((4, Text(f"profile {shown}")))
        if state.missing == "credentials":
            # That there are none stays on the narrowest screen; whose may give way.
            parts.append((1, Text("NO CREDENTIALS", style=palette.critical)))
    parts.append((6, Text(f"live {fmt_age(source.live_seconds)} "
                          f"fleet {fmt_age(source.fleet_seconds)}")))
    fresh = Text()
    no_data = fleet is None or (state.partial and not fleet.endpoints)
    if no_data and (state.stale or state.failure):
        fresh.append("NO DATA", style=palette.critical)
    elif fleet is None:
        fresh.append("loading", style=palette.warning)
    elif state.stale:
        fresh.append("STALE", style=palette.critical)
        complete = state.last_complete_at
        fresh.append(f" complete {fmt_age((now - complete).total_seconds())} ago"
                     if complete else " incomplete")
        if fleet.unconfirmed and fleet.stored_at is not None:
            fresh.append(f" {glyphs.stored} {fmt_age((now - fleet.stored_at).total_seconds())} "
                         "stored", style=palette.warning)
    elif state.partial:
        fresh.append("loading details and metrics", style=palette.warning)
    elif fleet.unconfirmed and fleet.stored_at is not None:
        # Shown from the state store: how old it is, until AWS confirms every row.
        fresh.append(f"{glyphs.stored} {fmt_age((now - fleet.stored_at).total_seconds())} "
                     f"stored, {len(fleet.unconfirmed)} unconfirmed", style=palette.warning)
    else:
        fresh.append(f"data {fmt_age((now - fleet.collected_at).total_seconds())} old")
    if state.refreshing and fleet is not None:
        fresh.append(f" {glyphs.busy}")
    parts.append((1, fresh))
    line = fit_parts(parts, width, glyphs.separator)
    if route is not None and fleet is not None and route not in line.plain:
        # Too long for this screen: the route without its count, before it is given up.
        parts[route_part] = (4, Text(metrics_route_header(fleet, short=True) or ""))
        line = fit_parts(parts, width, glyphs.separator)
    return line


def status_text(state: DashboardState, shown: int | None = None, look: Look = DEFAULT_LOOK,
                width: int = 1000, rows: tuple[int, int, int] | None = None) -> Text:
    """The bottom line: endpoints (and which rows are on screen), money, what the session cost.

    `rows`: the first and last table row on screen (from 1) and the rows there are.
    """
    fleet = state.fleet
    palette, glyphs = look.palette, look.glyphs
    if fleet is None and state.failure:
        line = Text("No data")
        line.append(glyphs.separator)
        line.append(f"{state.error_count} error{'s' if state.error_count > 1 else ''}",
                    style=palette.bad)
        return line
    if fleet is None or state.partial:
        return Text(f"Collecting the fleet: {state.progress_requests} requests, "
                    f"{state.progress_elapsed_s:.0f}s")
    requests = fleet.requests
    count = len(fleet.endpoints)
    what = Text(f"{count} endpoints" if shown is None or shown == count
                else f"{shown}/{count} endpoints")
    if rows is not None and (rows[0] > 1 or rows[1] < rows[2]):
        what.append(f", rows {rows[0]}-{rows[1]} of {rows[2]}")
    parts: list[tuple[int, Text]] = [(1, what)]
    if state.analysis is not None:
        analysis = state.analysis
        # The plans' savings: the one figure the summary, the report and the export show.
        saving = analysis.total_savings_usd
        money = Text(f"{fmt_usd(analysis.total_monthly_cost_usd)}/month, ")
        money.append(f"plans {cost_change(saving, plural=True)}",
                     style=palette.good if saving >= 0 else palette.bad)
        parts.append((1, money))
    # Failed attempts, or the failures of the refresh when nothing was even sent (no
    # credentials): an error that sends nothing is still an error.
    errors = max(requests.errors, state.error_count)
    if errors:
        parts.append((2, Text(f"{errors} errors", style=palette.bad)))
    if requests.throttles:
        parts.append((2, Text(f"{requests.throttles} throttled", style=palette.warning)))
    parts.append((4, Text(f"{requests.total_calls:,} requests")))
    if not requests.throttles:
        parts.append((6, Text("0 throttled")))
    if not errors:
        parts.append((6, Text("0 errors")))
    parts.append((3, Text(f"CloudWatch ${requests.cloudwatch_usd:.4f} this session")))
    return fit_parts(parts, width, glyphs.separator)


class HeaderLine(Static):
    """Account, regions, profile, refresh cadence, data age and the DEMO mark."""

    def __init__(self, source: Source, clock: Clock) -> None:
        super().__init__(id="header")
        self.source = source
        self.clock = clock
        self.state = DashboardState()

    def on_mount(self) -> None:
        self.watch(self.app, "state", self.show_state)
        self.watch(self.app, "look", self._tick, init=False)
        # The age ticks even when nothing arrives: that is how stale data shows.
        self.set_interval(1.0, self._tick)

    def show_state(self, state: DashboardState) -> None:
        self.state = state
        self._tick()

    def on_resize(self) -> None:
        self._tick()

    def _tick(self, *_: object) -> None:
        self.update(header_text(self.source, self.state, self.clock(), look_of(self.app),
                                self.size.width or self.app.size.width))


class StatusLine(Static):
    """Endpoints on screen, money, requests made, throttles, errors, this session's CloudWatch
    charge: as much as fits, the least important dropped first."""

    def __init__(self) -> None:
        super().__init__(id="status")
        self.state = DashboardState()
        self.shown: int | None = None
        self.rows: tuple[int, int, int] | None = None

    def on_mount(self) -> None:
        self.watch(self.app, "state", self.show_state)
        self.watch(self.app, "look", self._show, init=False)

    def show_state(self, state: DashboardState) -> None:
        self.state = state
        self._show()

    def show_count(self, shown: int | None, rows: tuple[int, int, int] | None = None) -> None:
        self.shown = shown
        self.rows = rows
        self._show()

    def on_resize(self) -> None:
        self._show()

    def _show(self, *_: object) -> None:
        width = (self.size.width or self.app.size.width) - 2  # the padding of app.tcss
        self.update(status_text(self.state, self.shown, look_of(self.app), width, self.rows))


class ProblemLine(Static):
    """The errors of the last refresh, one line each; empty (and hidden) when all is well."""

    def __init__(self) -> None:
        super().__init__(id="problems")

    def on_mount(self) -> None:
        self.watch(self.app, "state", self.show_state)

    def show_state(self, state: DashboardState) -> None:
        problems = state.problems()
        self.display = bool(problems)
        shown = problems[:2]
        if len(problems) > 2:
            shown[-1] += f" (+{len(problems) - 2} more)"
        self.update(Text("\n".join(shown), style="bold" if state.failure else ""))
