"""The dashboard's state: one immutable value replaced as messages arrive, watched by widgets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ground.domain import FleetSnapshot
from ground.untrusted import inert

if TYPE_CHECKING:
    from pipeline.analysis import EndpointAnalysis, FleetAnalysis
    from pipeline.history import History


PROBLEM_LINE_CHARACTERS = 300


@dataclass(frozen=True)
class DashboardState:
    fleet: FleetSnapshot | None = None
    partial: bool = False  # `fleet` is the first listing; details and metrics are on their way
    analysis: FleetAnalysis | None = None
    failure: str | None = None  # the last whole refresh that failed, until one succeeds
    analysis_failure: str | None = None
    # How the analysed fleet moved over the stored days (None: no state store, or not yet).
    history: History | None = None
    refreshing: bool = False
    progress_requests: int = 0
    progress_elapsed_s: float = 0.0
    last_complete_at: dt.datetime | None = None  # the last refresh without any error
    # Seconds the running refresh has had no answer from AWS, once past the read timeout.
    unanswered_s: float | None = None

    @property
    def stale(self) -> bool:
        """Something on screen is older than it should be: a refresh or a part of one failed,
        or the running refresh has had no answer for longer than an answer takes."""
        return (self.failure is not None or self.unanswered_s is not None
                or bool(self.fleet and self.fleet.errors))

    @property
    def missing(self) -> str | None:
        """What the dashboard cannot work without and does not have: region or credentials."""
        if self.failure and self.failure.startswith("no AWS region"):
            return "region"
        if self.fleet is not None and any(e.source == "credentials" for e in self.fleet.errors):
            return "credentials"
        return None

    @property
    def error_count(self) -> int:
        """Problems the status line counts: failed refreshes and failed parts, not retries."""
        return len(self.problems())

    def problems(self) -> list[str]:
        """One line per problem, the worst first; every line inert (text from outside)."""
        lines = [f"refresh failed: {self.failure}"] if self.failure else []
        if self.unanswered_s is not None:
            lines.append(f"no answer from AWS for {self.unanswered_s:.0f}s; the refresh is "
                         "still waiting")
        if self.fleet is not None:
            for error in self.fleet.errors:
                lines.append(f"{error.source} {error.region}: {error.message}")
        if self.analysis_failure:
            lines.append(f"analysis failed: {self.analysis_failure}")
        return list(dict.fromkeys(inert(line, one_line=True, limit=PROBLEM_LINE_CHARACTERS)
                                  for line in lines))

    def endpoint_analysis(self, key: str) -> EndpointAnalysis | None:
        if self.analysis is None:
            return None
        return self.analysis.endpoints.get(key)
