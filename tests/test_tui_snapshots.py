"""Snapshots of the main screens at 80x24 and 160x48 (pytest-textual-snapshot).

The fleet at both sizes; the endpoint pane's charts at the small size, its profile at the large
one (the side-by-side table needs the width); the summary at the small size.

Deterministic by construction: a seeded simulated account and a fixed clock for the account, the
collector and the app, so ages read 0s and every metric is the same on every run.
Update after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from tests.test_tui_support import demo_app, wait_for_analysis, wait_until
from tui.app import SagetopApp
from tui.screens.endpoint import EndpointScreen
from tui.screens.summary import SummaryScreen
from tui.widgets.fleet_table import FleetTable

SIZES = [(80, 24), (160, 48)]


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


async def _open_profile_tab(pilot: Pilot[None]) -> None:
    await _open_churn_predictor(pilot)
    await pilot.press("5")
    await pilot.pause(0.2)


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


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_fleet_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    app, _ = demo_app()
    assert snap_compare(app, terminal_size=size, run_before=wait_for_analysis)


def test_endpoint_pane_metrics_80x24(snap_compare: Any) -> None:
    app, _ = demo_app()
    assert snap_compare(app, terminal_size=(80, 24), run_before=_open_churn_predictor)


def test_endpoint_pane_profile_160x48(snap_compare: Any) -> None:
    app, _ = demo_app()
    assert snap_compare(app, terminal_size=(160, 48), run_before=_open_profile_tab)


def test_summary_screen_80x24(snap_compare: Any) -> None:
    app, _ = demo_app()
    assert snap_compare(app, terminal_size=(80, 24), run_before=_open_summary)
