"""Which endpoints to refresh when: the tiered cadence that keeps CloudWatch charges low.

The endpoint open in its pane and the rows on screen get their minute detail every
`refresh.live_seconds`; the rest of the fleet every `refresh.fleet_seconds`; history is asked
once and then only for what is new (the metrics collector's own bookkeeping). The dashboard and
the benchmark use this same planner, so the figures the benchmark reports are the app's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from ground.config import RefreshSettings


@dataclass(frozen=True)
class RefreshPlan:
    live: list[str] | None  # endpoint keys for row series; None = the whole fleet
    focus: list[str]  # endpoint keys for utilisation series too (the open pane)


@dataclass
class RefreshPlanner:
    refresh: RefreshSettings
    _fleet_at: dt.datetime | None = field(default=None, repr=False)

    def plan(self, now: dt.datetime, visible: Sequence[str], focused: str | None = None,
             known: Collection[str] = ()) -> RefreshPlan:
        focus = [focused] if focused else []
        if self._fleet_at is None or (now - self._fleet_at).total_seconds() >= \
                self.refresh.fleet_seconds:
            self._fleet_at = now
            return RefreshPlan(live=None, focus=focus)
        wanted = [k for k in dict.fromkeys([*focus, *visible]) if not known or k in known]
        return RefreshPlan(live=wanted, focus=focus)
