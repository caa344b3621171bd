"""Inference components on the dashboard, through the Pilot: their rows under the endpoint in the
fleet table, and the endpoint pane's components with their copies, traffic and reservation, in
the look of the terminal (theme colours, NO_COLOR attributes, ASCII under LANG=C)."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

from tests.test_tui_endpoint import _open, _plain
from tests.test_tui_support import demo_app, wait_for_analysis
from tests.test_tui_terminals import _screen_text
from tui.app import SagetopApp
from tui.look import ASCII
from tui.screens.fleet import FleetScreen
from tui.table_model import variant_row_key
from tui.widgets.fleet.table import FleetTable

PAIR = "us-east-1/llm-assistants-prod"
CHAT = variant_row_key(PAIR, "ic:chat-llama-8b")
SUMMARIZE = variant_row_key(PAIR, "ic:summarize-mistral-7b")


def _cell(table: FleetTable, row: str, column: str) -> str:
    value = table.get_cell(row, column)
    return value.plain if isinstance(value, Text) else str(value)


async def test_component_rows_under_the_endpoint_and_the_pane_shows_them() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(200, 48)) as pilot:  # wide enough for every column
        await wait_for_analysis(pilot)
        assert isinstance(app, SagetopApp)
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        table = screen.query_one(FleetTable)
        # The endpoint row: busy (its components' traffic), never "idle"; "+2" says space
        # opens two rows beside its one variant.
        assert _cell(table, PAIR, "endpoint") == "llm-assistants-prod"
        assert _cell(table, PAIR, "shape") == "1xg5.12xlarge+2"
        assert int(_cell(table, PAIR, "rpm")) > 50
        assert not _cell(table, PAIR, "finding").startswith("idle")
        assert _cell(table, PAIR, "cost") == "$5,176"
        table.move_cursor(row=table.get_row_index(PAIR))
        await pilot.press("space")
        await pilot.pause()
        order = [str(row.key.value) for row in table.ordered_rows]
        start = order.index(PAIR)
        assert order[start + 1:start + 4] == [variant_row_key(PAIR, "AllTraffic"), CHAT,
                                              SUMMARIZE]
        for row in (CHAT, SUMMARIZE):
            assert _cell(table, row, "endpoint").startswith("  └ ")
            assert int(_cell(table, row, "rpm")) > 0  # its own traffic
            assert _cell(table, row, "status") == "2/2 copies"
            assert _cell(table, row, "shape") == "2x 1gpu 4cpu"
            assert _cell(table, row, "cost") == "$2,588"  # half the GPUs: half the cost
        assert _cell(table, CHAT, "option") == "autoscales"
        assert _cell(table, SUMMARIZE, "option") == "fixed"
        assert _cell(table, SUMMARIZE, "finding") == "no-autoscaling"
        assert _cell(table, CHAT, "finding") == "-"

        pane = await _open(pilot, app, PAIR)
        await pilot.press("2")
        await pilot.pause(0.2)
        text = _plain(pane.query_one("#variants-view", Static))
        assert "Inference components" in text
        assert "chat-llama-8b" in text and "summarize-mistral-7b" in text
        # What the copies reserve of the instance: every GPU, a third of the cores.
        assert "What the copies reserve of the instances" in text
        reserved = next(line for line in text.splitlines() if line.startswith("AllTraffic")
                        and "of 4" in line)
        assert "4 of 4" in reserved and "16 of 48" in reserved
        assert "100 % of accelerators" in reserved
        assert "1-2 managed" in text  # managed instance scaling on the variant
        await pilot.press("4")
        await pilot.pause(0.2)
        findings = _plain(pane.query_one("#findings-view", Static))
        assert "no-autoscaling on component summarize-mistral-7b" in findings


async def _expanded_pair(pilot: Pilot[None], app: SagetopApp) -> FleetTable:
    """The fleet with the LLM pair opened onto its variant and components, on screen."""
    screen = app.screen
    assert isinstance(screen, FleetScreen)
    screen.set_view(screen.view.toggled(PAIR))
    await pilot.pause()
    table = screen.query_one(FleetTable)
    table.move_cursor(row=table.get_row_index(SUMMARIZE))  # the child rows on screen
    await pilot.pause(0.2)
    return table


async def test_component_rows_and_pane_are_ascii_under_lang_c() -> None:
    app, _ = demo_app(glyphs=ASCII)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_analysis(pilot)
        assert isinstance(app, SagetopApp)
        table = await _expanded_pair(pilot, app)
        assert _cell(table, CHAT, "endpoint") == "  `-chat-llama-8b"
        seen = {"fleet": _screen_text(app)}
        # At 80 columns the longer name is cut at the column's edge, the branch kept.
        assert "`-chat-llama-8b" in seen["fleet"] and "`-summarize-mistra" in seen["fleet"]
        pane = await _open(pilot, app, SUMMARIZE)  # a component's row opens its endpoint
        await pilot.press("2")
        await pilot.pause(0.2)
        seen["variants"] = _screen_text(app)
        seen["components"] = _plain(pane.query_one("#variants-view", Static))
        await pilot.press("4")
        await pilot.pause(0.2)
        seen["findings"] = _screen_text(app)
    for name, text in seen.items():
        strange = sorted({c for c in text if not c.isascii()})
        assert not strange, f"{name}: {strange}"
    assert "Inference components" in seen["components"]


async def test_component_findings_use_attributes_under_no_color(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app, _ = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_analysis(pilot)
        assert isinstance(app, SagetopApp) and app.look.palette.mono
        table = await _expanded_pair(pilot, app)
        finding = table.get_cell(SUMMARIZE, "finding")
        assert isinstance(finding, Text) and finding.plain == "no-autoscaling"
        # A warning: bold, not a yellow that NO_COLOR would turn grey.
        assert str(finding.style) == app.look.palette.warning == "bold"
