"""The dashboard's state: one immutable value replaced as messages arrive, watched by widgets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ground.domain import FleetSnapshot

if TYPE_CHECKING:
    from pipeline.analysis import EndpointAnalysis, FleetAnalysis


@dataclass(frozen=True)
class DashboardState:
    fleet: FleetSnapshot | None = None
    partial: bool = False  # `fleet` is the first listing; details and metrics are on their way
    analysis: FleetAnalysis | None = None
    failure: str | None = None  # the last whole refresh that failed, until one succeeds
    analysis_failure: str | None = None
    refreshing: bool = False
    progress_requests: int = 0
    progress_elapsed_s: float = 0.0
    last_complete_at: dt.datetime | None = None  # the last refresh without any error

    @property
    def stale(self) -> bool:
        """Something on screen is older than it should be: a refresh or a part of one failed."""
        return self.failure is not None or bool(self.fleet and self.fleet.errors)

    def problems(self) -> list[str]:
        """One line per problem, the worst first."""
        lines = [f"refresh failed: {self.failure}"] if self.failure else []
        if self.fleet is not None:
            seen: set[str] = set()
            for error in self.fleet.errors:
                line = f"{error.source} {error.region}: {error.message}"
                if line not in seen:
                    seen.add(line)
                    lines.append(line)
        if self.analysis_failure:
            lines.append(f"analysis failed: {self.analysis_failure}")
        return lines

    def endpoint_analysis(self, key: str) -> EndpointAnalysis | None:
        if self.analysis is None:
            return None
        return self.analysis.endpoints.get(key)
