"""The dashboard on the terminals people have: 80x24, NO_COLOR, LANG=C, keys held down, and a
view that is still there the next time it starts. The real app through the Pilot."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console
from textual.command import CommandPalette
from textual.widgets import Input, TabbedContent

from ground import locations
from tests.test_tui_support import demo_app, wait_for_analysis, wait_until
from tui.app import SagetopApp
from tui.look import ASCII
from tui.screens.endpoint import EndpointScreen
from tui.screens.fleet import FleetScreen
from tui.table_model import GroupBy
from tui.widgets.fleet.table import FleetTable

CHURN = "us-east-1/churn-predictor-prod"


def _screen_text(app: SagetopApp) -> str:
    """Every character on screen, as the terminal would get it."""
    console = Console(width=app.size.width, file=io.StringIO(), record=True, color_system=None,
                      legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


def _fleet(app: SagetopApp) -> FleetScreen:
    screen = app.screen_stack[0] if app.screen_stack else app.screen
    assert isinstance(screen, FleetScreen)
    return screen


async def test_lang_c_screens_are_ascii_only() -> None:
    app, _ = demo_app(glyphs=ASCII)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_analysis(pilot)
        seen = {"fleet": _screen_text(app)}
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EndpointScreen), "the pane")
        await pilot.pause(0.3)
        for key, tab in (("1", "metrics"), ("2", "variants"), ("3", "monitor"), ("4", "findings"),
                         ("5", "profile"), ("6", "maturity"), ("7", "experiments")):
            await pilot.press(key)
            await pilot.pause(0.2)
            seen[tab] = _screen_text(app)
        await pilot.press("escape", "question_mark")
        await pilot.pause(0.2)
        seen["help"] = _screen_text(app)
        await pilot.press("escape", "colon")
        await pilot.pause(0.3)
        seen["palette"] = _screen_text(app)
    for name, text in seen.items():
        strange = sorted({c for c in text if not c.isascii()})
        assert not strange, f"{name}: {strange}"
    assert "Save v" in seen["fleet"] and "Enter Open" in seen["fleet"]


async def test_ctrl_p_opens_the_palette_and_it_knows_what_people_call_savings() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_analysis(pilot)
        screen = _fleet(app)
        screen.set_view(screen.view.sorted_by("endpoint"))
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        assert isinstance(app.screen, CommandPalette)
        for word in ("waste", "saving", "cost"):
            palette = app.screen
            assert isinstance(palette, CommandPalette)
            field = palette.query_one(Input)
            field.value = word
            await pilot.pause(0.5)
            text = _screen_text(app)
            assert "Sort by saving (Save/mo)" in text, (word, text)
        await pilot.press("down", "enter")  # the first hit
        await pilot.pause(0.3)
        assert (screen.view.sort_column, screen.view.descending) == ("savings", True)


async def test_burst_of_j_pages_and_home_end_all_move() -> None:
    app, account = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_analysis(pilot)
        table = app.screen.query_one(FleetTable)
        await pilot.press(*"j" * 12)  # a held key: as fast as the terminal repeats it
        assert table.cursor_row == 12
        await pilot.press("end")
        assert table.cursor_row == len(account.fleet) - 1
        await pilot.press("home")
        assert table.cursor_row == 0
        await pilot.press("pagedown")
        assert table.cursor_row > 10
        table.move_cursor(row=table.get_row_index(CHURN))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EndpointScreen), "the pane")
        await pilot.press("4")
        await pilot.pause(0.3)
        pane = app.screen
        assert isinstance(pane, EndpointScreen)
        assert pane.query_one(TabbedContent).active == "findings"
        scroller = pane._scroller()
        assert scroller is not None
        await pilot.press("pagedown")
        await pilot.pause(0.1)
        paged = scroller.scroll_y
        assert paged > 5
        await pilot.press("end")
        await pilot.pause(0.1)
        assert scroller.scroll_y == scroller.max_scroll_y > paged
        await pilot.press("home")
        await pilot.pause(0.1)
        assert scroller.scroll_y == 0
        await pilot.press(*"j" * 6)
        await pilot.pause(0.1)
        assert scroller.scroll_y == 6


async def test_view_and_theme_are_remembered_between_runs() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_analysis(pilot)
        await pilot.press("S", "g", "slash", *"forecast", "enter")
        screen = _fleet(app)
        screen.action_toggle_column("region", True)
        app.theme = "sagetop-colour-blind"
        await pilot.pause(0.8)  # the view is written once the changes settle
    stored = json.loads(locations.view_state_file().read_text())
    assert stored["sort_column"] == "savings" and stored["descending"] is False
    assert stored["query"] == "forecast" and stored["group"] == "region"
    assert stored["pinned"] == ["region"] and stored["theme"] == "sagetop-colour-blind"

    again, _ = demo_app()
    async with again.run_test(size=(80, 24)) as pilot:
        await wait_for_analysis(pilot)
        screen = _fleet(again)
        view = screen.view
        assert (view.sort_column, view.descending, view.query) == ("savings", False, "forecast")
        assert view.group is GroupBy.REGION and again.theme == "sagetop-colour-blind"
        field = screen.query_one("#filter", Input)
        assert field.display and field.value == "forecast"  # the filter says it is on
        assert "region" in {c.key for c in screen.table.shown_columns}  # pinned, even at 80


async def test_a_broken_view_file_is_set_aside_with_one_line() -> None:
    path = locations.view_state_file()
    path.parent.mkdir(parents=True)
    path.write_text("{ not json")
    seen: list[str] = []
    app, _ = demo_app()
    notify = app.notify

    def recording(message: str, **kwargs: object) -> None:
        seen.append(message)
        notify(message, **kwargs)  # type: ignore[arg-type]

    app.notify = recording  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_analysis(pilot)
        assert _fleet(app).view.sort_column == "savings"
    assert seen and seen[0] == f"{path}: not valid JSON; view not restored"


async def test_no_color_uses_attributes_not_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app, _ = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_analysis(pilot)
        assert app.look.palette.mono
        finding = app.screen.query_one(FleetTable).get_cell(
            "us-east-1/payments-fraud-prod", "finding")
        assert "reverse" in str(finding.style)  # CRITICAL: reverse video, not a dark red
