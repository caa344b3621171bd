"""Inference components on the dashboard, through the Pilot: their rows under the endpoint in the
fleet table, and the endpoint pane's components with their copies, traffic and reservation."""

from __future__ import annotations

from rich.text import Text

from tests.test_tui_endpoint import _open, _plain
from tests.test_tui_support import demo_app, wait_for_analysis
from tui.app import SagetopApp
from tui.screens.fleet import FleetScreen
from tui.table_model import variant_row_key
from tui.widgets.fleet_table import FleetTable

PAIR = "us-east-1/llm-assistants-prod"
CHAT = variant_row_key(PAIR, "ic:chat-llama-8b")
SUMMARIZE = variant_row_key(PAIR, "ic:summarize-mistral-7b")


def _cell(table: FleetTable, row: str, column: str) -> str:
    value = table.get_cell(row, column)
    return value.plain if isinstance(value, Text) else str(value)


async def test_component_rows_under_the_endpoint_and_the_pane_shows_them() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_analysis(pilot)
        assert isinstance(app, SagetopApp)
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        table = screen.query_one(FleetTable)
        # The endpoint row: busy (its components' traffic), never "idle".
        assert _cell(table, PAIR, "endpoint").startswith("▸ ")
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
        text = _plain(pane.query_one("#variants-view"))
        assert "Inference components" in text
        assert "chat-llama-8b" in text and "summarize-mistral-7b" in text
        assert "4 of 4 GPUs" in text  # what the copies reserve of the instance
        assert "1-2 managed" in text  # managed instance scaling on the variant
        await pilot.press("4")
        await pilot.pause(0.2)
        findings = _plain(pane.query_one("#findings-view"))
        assert "[component summarize-mistral-7b]" in findings
