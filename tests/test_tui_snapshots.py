"""Snapshots of the screens at 80x24, 100x30, 120x40 and 160x48, in dark, light and NO_COLOR.

Twelve screen x size x look combinations (not every product: each costs a collection of the
simulated fleet): every size and every look appear, 80x24 the most, since that is what an SSH
session on a laptop gets. The last one is the plainest terminal there is: NO_COLOR and LANG=C.

Deterministic by construction: a seeded simulated account and a fixed clock for the account, the
collector and the app, so ages read 0s and every metric is the same on every run.
Update after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.test_tui_support import demo_app, wait_for_analysis, wait_until
from tui.app import SagetopApp
from tui.look import ASCII, UNICODE
from tui.screens.endpoint import EndpointScreen
from tui.screens.summary import SummaryScreen
from tui.widgets.fleet.table import FleetTable

Step = Callable[[Pilot[None]], Awaitable[None]]


async def _open_churn_predictor(pilot: Pilot[None]) -> None:
    await wait_for_analysis(pilot)
    app = pilot.app
    assert isinstance(app, SagetopApp)
    table = app.screen.query_one(FleetTable)
    table.move_cursor(row=table.get_row_index("us-east-1/churn-predictor-prod"))
    fleet = app.state.fleet
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, EndpointScreen), "the pane")
    # Opening the pane refreshes its live minutes: wait for that snapshot and its analysis.
    await wait_until(pilot, lambda: app.state.fleet is not fleet, "the live refresh")
    await wait_for_analysis(pilot)


def _open_tab(key: str, focus_changes: bool = False) -> Step:
    async def run(pilot: Pilot[None]) -> None:
        await _open_churn_predictor(pilot)
        await pilot.press(key)
        if focus_changes:
            await pilot.press("tab")  # the Tab order hint shows where the keys went
        await pilot.pause(0.2)
    return run


async def _open_summary(pilot: Pilot[None]) -> None:
    await wait_for_analysis(pilot)
    await pilot.press("t")
    app = pilot.app
    assert isinstance(app, SagetopApp)
    screen = app.screen
    assert isinstance(screen, SummaryScreen)
    # Savings and maturity show once a worker has built every profile.
    await wait_until(pilot, lambda: screen.profiles_built_for(app.state.analysis), "profiles")
    await pilot.pause(0.1)


# (screen, size, look): look is "dark", "light", "no-color" or "no-color-ascii".
CASES: list[tuple[str, tuple[int, int], str]] = [
    ("fleet", (80, 24), "dark"),
    ("fleet", (80, 24), "light"),
    ("fleet", (80, 24), "no-color"),
    ("fleet", (100, 30), "dark"),
    ("fleet", (120, 40), "no-color"),
    ("fleet", (160, 48), "light"),
    ("metrics", (80, 24), "dark"),
    ("findings", (80, 24), "no-color"),
    ("profile", (100, 30), "light"),
    ("profile", (160, 48), "dark"),
    ("summary", (120, 40), "light"),
    ("fleet", (80, 24), "no-color-ascii"),
]
STEPS: dict[str, Step] = {
    "fleet": wait_for_analysis,
    "metrics": _open_churn_predictor,
    "findings": _open_tab("4"),
    "profile": _open_tab("5", focus_changes=True),
    "summary": _open_summary,
}


@pytest.mark.parametrize(("screen", "size", "look"), CASES,
                         ids=[f"{s}-{w}x{h}-{look}" for s, (w, h), look in CASES])
def test_screen(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, screen: str,
                size: tuple[int, int], look: str) -> None:
    if look.startswith("no-color"):
        monkeypatch.setenv("NO_COLOR", "1")  # read by Textual when the app is made
    app, _ = demo_app(glyphs=ASCII if look.endswith("ascii") else UNICODE)
    if look == "light":
        app.theme = "textual-light"
    assert snap_compare(app, terminal_size=size, run_before=STEPS[screen])
