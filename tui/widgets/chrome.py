"""The lines around every screen: the header (where, how fresh), the status and the problems."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from ground.untrusted import inert
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


def age_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def header_text(source: Source, state: DashboardState, now: dt.datetime) -> Text:
    fleet = state.fleet
    line = Text()
    line.append(" sagetop ", style="bold reverse")
    if source.simulated:
        # The demo must never be mistaken for a real account.
        line.append(" DEMO ", style="bold black on yellow")
        line.append(" simulated account")
    else:
        account = fleet.account_id if fleet and fleet.account_id else "account ?"
        line.append(inert(f" {account}", one_line=True, limit=40))
    regions = fleet.regions if fleet else source.regions
    line.append(" │ ")
    if state.missing == "region":
        line.append("NO REGION", style="bold red")
    else:
        line.append(inert(", ".join(regions), one_line=True, limit=60) or "default region")
    profile = (fleet.profile_name if fleet else None) or source.profile
    if not source.simulated:
        line.append(" │ profile ")
        line.append(inert(profile, one_line=True, limit=40) if profile else "default chain")
        if state.missing == "credentials":
            line.append(" NO CREDENTIALS", style="bold red")
    line.append(f" │ live {age_text(source.live_seconds)} fleet {age_text(source.fleet_seconds)}")
    line.append(" │ ")
    no_data = fleet is None or (state.partial and not fleet.endpoints)
    if no_data and (state.stale or state.failure):
        line.append("NO DATA", style="bold red")
    elif fleet is None:
        line.append("loading", style="yellow")
    elif state.stale:
        line.append("STALE", style="bold red")
        complete = state.last_complete_at
        line.append(f" complete {age_text((now - complete).total_seconds())} ago"
                    if complete else " incomplete")
    elif state.partial:
        line.append("loading details and metrics", style="yellow")
    else:
        line.append(f"data {age_text((now - fleet.collected_at).total_seconds())} old")
    if state.refreshing and fleet is not None:
        line.append(" ⟳")
    return line


def status_text(state: DashboardState, shown: int | None = None) -> Text:
    fleet = state.fleet
    line = Text()
    if fleet is None and state.failure:
        line.append("No data │ ")
        line.append(f"{state.error_count} error{'s' if state.error_count > 1 else ''}",
                    style="red")
        return line
    if fleet is None or state.partial:
        line.append(f"Collecting the fleet: {state.progress_requests} requests, "
                    f"{state.progress_elapsed_s:.0f}s")
        return line
    requests = fleet.requests
    count = len(fleet.endpoints)
    line.append(f"{count} endpoints" if shown is None or shown == count
                else f"{shown}/{count} endpoints")
    line.append(f" │ {requests.total_calls:,} requests")
    line.append(f" │ {requests.throttles} throttled",
                style="yellow" if requests.throttles else "")
    # Failed attempts, or the failures of the refresh when nothing was even sent (no
    # credentials): an error that sends nothing is still an error.
    errors = max(requests.errors, state.error_count)
    line.append(f" │ {errors} errors", style="red" if errors else "")
    line.append(f" │ CloudWatch ${requests.cloudwatch_usd:.4f} session")
    if state.analysis is not None:
        analysis = state.analysis
        # Possible savings, not the accepted set's: that one builds every profile (seconds).
        possible = sum(a.possible_savings_usd or 0.0 for a in analysis.endpoints.values())
        line.append(f" │ ${analysis.total_monthly_cost_usd:,.0f}/mo, "
                    f"save up to ${possible:,.0f}")
    return line


class HeaderLine(Static):
    """Account, regions, profile, refresh cadence, data age and the DEMO mark."""

    def __init__(self, source: Source, clock: Clock) -> None:
        super().__init__(id="header")
        self.source = source
        self.clock = clock
        self.state = DashboardState()

    def on_mount(self) -> None:
        self.watch(self.app, "state", self.show_state)
        # The age ticks even when nothing arrives: that is how stale data shows.
        self.set_interval(1.0, self._tick)

    def show_state(self, state: DashboardState) -> None:
        self.state = state
        self._tick()

    def _tick(self) -> None:
        self.update(header_text(self.source, self.state, self.clock()))


class StatusLine(Static):
    """Requests made, throttles, errors and the CloudWatch charge this session caused."""

    def __init__(self) -> None:
        super().__init__(id="status")
        self.state = DashboardState()
        self.shown: int | None = None

    def on_mount(self) -> None:
        self.watch(self.app, "state", self.show_state)

    def show_state(self, state: DashboardState) -> None:
        self.state = state
        self.update(status_text(state, self.shown))

    def show_count(self, shown: int | None) -> None:
        self.shown = shown
        self.update(status_text(self.state, shown))


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
