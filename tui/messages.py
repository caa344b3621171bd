"""Messages that carry state from the workers to the screens, and intent back (small, immutable)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from ground.domain import FleetSnapshot

if TYPE_CHECKING:
    from pipeline.analysis import FleetAnalysis
    from tui.rows import RowData


@dataclass
class FleetUpdated(Message):
    """A new snapshot of the fleet arrived."""

    fleet: FleetSnapshot
    partial: bool = False  # the first listing only: names and status, no details or metrics


@dataclass
class CollectionFailed(Message):
    """A whole refresh failed; the last snapshot stays on screen, marked stale."""

    message: str


@dataclass
class StoreNoticed(Message):
    """The state store was set aside or failed (one line); the session runs on without it."""

    message: str


@dataclass
class CollectionProgress(Message):
    """A refresh is under way: how many AWS requests it has made so far."""

    requests: int
    elapsed_s: float
    # Seconds without an answer from AWS, once past the read timeout (pipeline.live.Progress).
    unanswered_s: float | None = None


@dataclass
class AnalysisUpdated(Message):
    """Findings, costs, profiles and maturity for the latest snapshot."""

    analysis: FleetAnalysis


@dataclass
class ProfilesBuilt(Message):
    """Every profile of `analysis` is built: its fleet-wide savings and maturity are cheap now."""

    analysis: FleetAnalysis


@dataclass
class AnalysisFailed(Message):
    """The analysis of a snapshot failed; the table keeps the fleet without advice."""

    message: str


@dataclass
class RowsBuilt(Message):
    """The fleet table's rows for a snapshot and its analysis, built off the event loop."""

    fleet: FleetSnapshot
    analysis: FleetAnalysis | None
    rows: list[RowData]


@dataclass
class LiveInterest(Message):
    """Which endpoints a screen shows, so their minute detail refreshes on the live cadence."""

    owner: str  # "fleet" (rows on screen) or "endpoint" (the open pane)
    keys: frozenset[str]


@dataclass
class DecisionApplied(Message):
    """A decision on a plan was taken (error None) or refused (why), with the analysis after it."""

    endpoint: str
    action: str  # accept | reject (the plan) | choose | leave (an option)
    option_id: str | None
    error: str | None
    analysis: FleetAnalysis | None


@dataclass
class ExportFinished(Message):
    """Profile files written (paths) or the one-line reason they were not (error)."""

    paths: tuple[Path, ...]
    error: str | None = None
