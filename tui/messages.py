"""Messages that carry state from the collector worker to the screens (small and immutable)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from sagetop.domain import FleetSnapshot


@dataclass
class FleetUpdated(Message):
    """A new snapshot of the fleet arrived."""

    fleet: FleetSnapshot


@dataclass
class CollectionFailed(Message):
    """A whole refresh failed; the last snapshot stays on screen, marked stale."""

    message: str
