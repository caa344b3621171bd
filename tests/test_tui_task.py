"""The one-minute task of a first visit, at 80x24: find the most wasteful endpoint, see why,
accept the change and export it. Through the Pilot, keys counted (at most 8; it takes 4)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from ground import locations
from tests.test_tui_support import demo_app, wait_for_analysis, wait_until
from tui.screens.endpoint import EndpointScreen
from tui.widgets.fleet.table import FleetTable

MOST_KEYS = 8


def _plain(static: Static) -> str:
    console = Console(width=80, record=True, color_system=None, file=io.StringIO())
    console.print(static.content)
    return console.export_text()


class Keys:
    """Presses keys and counts them, as a person would have to."""

    def __init__(self, pilot: Pilot[None]) -> None:
        self.pilot = pilot
        self.pressed: list[str] = []

    async def __call__(self, key: str) -> None:
        self.pressed.append(key)
        await self.pilot.press(key)


async def test_find_the_most_wasteful_see_why_accept_and_export_in_few_keys(
        monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = demo_app()
    toasts: list[str] = []
    notify = app.notify

    def recording(message: str, **kwargs: Any) -> None:
        toasts.append(f"{kwargs.get('title', '')}: {message}")
        notify(message, **kwargs)

    monkeypatch.setattr(app, "notify", recording)
    async with app.run_test(size=(80, 24)) as pilot:
        press = Keys(pilot)
        await wait_for_analysis(pilot)
        analysis = app.state.analysis
        assert analysis is not None
        # The endpoint whose plan saves most (the figure the Save/mo column shows).
        wasteful = max(analysis.endpoints.values(), key=lambda a: a.monthly_savings_usd)
        table = app.screen.query_one(FleetTable)
        # Find: sorted by saving (one key; it is also the order on first open), on top.
        await press("dollar_sign")
        assert table.selected_key == wasteful.key
        assert {c.key for c in table.shown_columns} >= {"cost", "savings", "finding", "shape"}
        saving = f"${wasteful.monthly_savings_usd:,.0f}"
        assert str(table.get_cell(wasteful.key, "savings")) == saving
        # See why: the pane's title says what is wrong and what fixing it saves.
        await press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EndpointScreen), "the pane")
        await pilot.pause(0.2)
        pane = app.screen
        assert isinstance(pane, EndpointScreen)
        title = _plain(pane.query_one("#endpoint-title", Static))
        worst = wasteful.worst
        assert worst is not None
        # The line is cut short rather than wrapped at 80 columns: its start must be there.
        assert f"{worst.kind.value}: {worst.summary}"[:60] in title, title
        assert f"{saving}/month" in title
        # Accept: the plan, said in words (what changes, what it saves).
        await press("a")
        await wait_until(pilot, lambda: any(t.startswith("Accepted:") for t in toasts),
                         "the decision")
        accepted = next(t for t in toasts if t.startswith("Accepted:"))
        assert "instance type" in accepted and ":AllTraffic" not in accepted
        assert f"saves {saving}/month" in accepted
        advice = app.state.endpoint_analysis(wasteful.key)
        assert advice is not None and not advice.plan.decided and advice.plan.chosen
        # Export: into the XDG data directory, said where.
        await press("e")
        await wait_until(pilot, lambda: any(t.startswith("Exported:") for t in toasts),
                         "the export")
    assert len(press.pressed) <= MOST_KEYS, press.pressed
    assert press.pressed == ["dollar_sign", "enter", "a", "e"]
    written = sorted(p for p in locations.export_dir().rglob("*") if p.is_file())
    assert written and all(wasteful.key.split("/")[1] in str(p) for p in written)
    rationale = next(p for p in written if p.suffix == ".md").read_text()
    assert worst.summary.split(":")[0] in rationale
