"""The fleet view on the simulated account, driven through the Pilot: the real app end to end."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Input, Static
from textual.widgets.data_table import ColumnKey

from simulator import SimEndpoint, SimVariant
from tests.test_tui_support import NOW, demo_app, wait_for_analysis, wait_until
from tui.app import SagetopApp
from tui.screens.endpoint import EndpointScreen
from tui.screens.fleet import FleetScreen
from tui.table_model import GROUP_PREFIX, GroupBy, variant_row_key
from tui.widgets.chrome import HeaderLine, ProblemLine, StatusLine
from tui.widgets.fleet.table import FleetTable

PRICING = "us-east-1/pricing-ab-prod"


def _order(table: FleetTable) -> list[str]:
    return [str(row.key.value) for row in table.ordered_rows]


def _text(widget: HeaderLine | StatusLine | ProblemLine) -> str:
    return str(widget.render())


def _group(screen: FleetScreen) -> GroupBy:
    return screen.view.group


def _fleet_screen(app: SagetopApp) -> FleetScreen:
    screen = app.screen
    assert isinstance(screen, FleetScreen)
    return screen


async def _sorts(pilot: Pilot[None], screen: FleetScreen, table: FleetTable) -> None:
    # First open: the largest saving first (ties by name), and the header says so.
    saving = {row.key: row.sort_values["savings"] for row in screen.rows}
    assert _order(table) == sorted(_order(table), key=lambda k: (-float(saving[k]),
                                                                  k.split("/")[1]))
    assert str(table.columns[ColumnKey("savings")].label) == "Save/mo▼"
    # Clicking a header sorts by it: the first header cell is the endpoint column.
    await pilot.click(FleetTable, offset=(4, 0))
    await pilot.pause()
    assert screen.view.sort_column == "endpoint" and not screen.view.descending
    names = _order(table)
    assert names == sorted(names, key=lambda k: (k.split("/")[1], k))
    cost_of = {row.key: row.sort_values["cost"] for row in screen.rows}
    screen.set_view(screen.view.sorted_by("cost"))
    await pilot.pause()
    costs = [cost_of[key] for key in _order(table)]
    assert costs == sorted(costs, reverse=True)  # money reads largest first
    await pilot.press("S")
    await pilot.pause()
    assert [cost_of[key] for key in _order(table)] == sorted(costs)
    await pilot.press("s")
    assert screen.view.sort_column != "cost"
    # `$`: back to the largest saving first, one key from any order.
    await pilot.press("S", "dollar_sign")
    await pilot.pause()
    assert (screen.view.sort_column, screen.view.descending) == ("savings", True)
    assert _order(table)[0] == "us-east-1/churn-predictor-prod"
    screen.set_view(screen.view.sorted_by("endpoint"))


async def _filters(pilot: Pilot[None], app: SagetopApp, table: FleetTable) -> None:
    total = table.row_count
    await pilot.press("slash", *"forecast")  # typed, as a user would
    await pilot.pause()
    assert _order(table) and all("forecast" in key for key in _order(table))
    assert f"{table.row_count}/{total} endpoints" in _text(app.screen.query_one(StatusLine))
    await pilot.press("enter")  # keeps the filter, back to the table
    assert app.screen.query_one("#filter", Input).display
    await pilot.press("escape")
    await pilot.pause()
    assert table.row_count == total
    await pilot.press("slash")
    app.screen.query_one("#filter", Input).value = "team=research"  # a tag; typing is tested
    await pilot.press("enter")
    await pilot.pause()
    assert "us-east-1/image-tagger-dev" in _order(table)
    assert "us-east-1/web-ranker-prod" not in _order(table)
    await pilot.press("escape", "slash")
    app.screen.query_one("#filter", Input).value = "idle"  # a finding kind
    await pilot.press("enter")
    await pilot.pause()
    assert "us-east-1/legacy-recs-v1" in _order(table) and table.row_count < total
    await pilot.press("escape")


async def _groups_and_variants(pilot: Pilot[None], screen: FleetScreen,
                               table: FleetTable) -> None:
    await pilot.press("g")
    await pilot.pause()
    assert _group(screen) is GroupBy.REGION
    assert _order(table)[0] == GROUP_PREFIX + "us-east-1"
    await pilot.press("g")
    await pilot.pause()
    assert _group(screen) is GroupBy.FINDING
    assert sum(key.startswith(GROUP_PREFIX) for key in _order(table)) > 2
    await pilot.press("g")
    await pilot.pause()
    assert not any(key.startswith(GROUP_PREFIX) for key in _order(table))
    table.move_cursor(row=table.get_row_index(PRICING))
    await pilot.press("space")
    await pilot.pause()
    order = _order(table)
    assert order[order.index(PRICING) + 1].startswith(variant_row_key(PRICING, ""))
    await pilot.press("space")
    await pilot.pause()
    assert not any("::" in key for key in _order(table))


async def test_fleet_view_lists_sorts_filters_groups_and_expands() -> None:
    app, account = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = _fleet_screen(app)
        loading = screen.query_one("#loading", Static)
        # While the first collection runs, the screen says how far it got.
        await wait_until(pilot, lambda: "requests so far" in str(loading.content)
                         or app.state.fleet is not None, "progress")
        await wait_for_analysis(pilot)
        assert not loading.display
        table = screen.query_one(FleetTable)
        assert table.row_count == len(account.fleet)
        header = _text(screen.query_one(HeaderLine))
        assert "DEMO" in header and "us-east-1" in header and "data 0s old" in header
        status = _text(screen.query_one(StatusLine))
        assert f"{len(account.fleet)} endpoints" in status
        assert "requests" in status and "throttled" in status and "CloudWatch $" in status
        # The plans' savings: the same figure the summary, the report and the export show.
        analysis = app.state.analysis
        assert analysis is not None
        assert f"/month, plans save ${analysis.total_savings_usd:,.0f}/month" in status
        assert not screen.query_one(ProblemLine).display
        # The advice reached the rows: the idle endpoint says so in its worst finding.
        assert "idle" in str(table.get_cell("us-east-1/legacy-recs-v1", "finding"))
        await _sorts(pilot, screen, table)
        await _filters(pilot, app, table)
        await _groups_and_variants(pilot, screen, table)
        app.theme = "textual-light"  # colours come from the theme: the light one renders too
        await pilot.pause()
        assert table.row_count == len(account.fleet)
        await pilot.press("q")
    assert app.return_code == 0


async def test_added_and_deleted_endpoints_are_applied_as_a_diff() -> None:
    """Also: an added endpoint's tags, free text from the account, never render as markup."""
    app, account = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_analysis(pilot)
        table = app.screen.query_one(FleetTable)
        kept = {row_key.value: row_key for row_key in table.rows}
        account.delete_endpoint("legacy-recs-v1")
        template = account.endpoint("sentiment-staging")
        account.create_endpoint(SimEndpoint(
            index=0, name="fresh-model-dev", region="us-east-1", archetype="fresh",
            created=NOW, last_modified=NOW, image=template.image,
            tags={"owner": "[bold red]mallory[/]", "link": "\x1b]8;;http://evil\x1b\\x"},
            variants=[SimVariant("AllTraffic", "ml.m5.large", peak_rpm=10)]))
        fleet = app.state.fleet
        await pilot.press("r")
        await wait_until(pilot, lambda: app.state.fleet is not fleet, "a new snapshot")
        await wait_for_analysis(pilot)
        keys = set(_order(table))
        assert "us-east-1/legacy-recs-v1" not in keys
        assert "us-east-1/fresh-model-dev" in keys
        # The rows that stayed are the same rows: updated in place, not rebuilt.
        for key, row_key in kept.items():
            if key in keys:
                assert next(r for r in table.rows if r.value == key) is row_key
        table.move_cursor(row=table.get_row_index("us-east-1/fresh-model-dev"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EndpointScreen), "the pane")
        title = app.screen.query_one("#endpoint-title", Static).content
        assert isinstance(title, Group)
        plain = "\n".join(line.plain for line in title.renderables if isinstance(line, Text))
        assert "owner=[bold red]mallory[/]" in plain
        assert "\x1b" not in plain and "link=?]8;;http://evil?\\x" in plain


async def test_failing_apis_show_stale_data_and_an_error_line_then_recover() -> None:
    """At 80x24, where only part of the fleet fits, the rows on screen are the live tier."""
    app, account = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_analysis(pilot)
        screen = _fleet_screen(app)
        table = screen.query_one(FleetTable)
        rows = table.row_count
        live = app.session.view.rows
        assert _order(table)[0] in live and _order(table)[-1] not in live
        account.faults.deny("cloudwatch:*")
        fleet = app.state.fleet
        await pilot.press("r")
        await wait_until(pilot, lambda: app.state.fleet is not fleet, "the failing refresh")
        await pilot.pause(0.1)
        assert "STALE" in _text(screen.query_one(HeaderLine))
        problems = screen.query_one(ProblemLine)
        assert problems.display and "metrics" in _text(problems)
        assert table.row_count == rows  # the last good data stays on screen

        account.faults.clear()
        account.faults.network_down()
        fleet = app.state.fleet
        await pilot.press("r")
        await wait_until(pilot, lambda: app.state.fleet is not fleet
                         or app.state.failure is not None, "the offline refresh")
        await pilot.pause(0.1)
        assert "STALE" in _text(screen.query_one(HeaderLine))
        assert problems.display and table.row_count == rows

        account.faults.clear()
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.state.stale, "recovery")
        await pilot.pause(0.1)
        assert "data 0s old" in _text(screen.query_one(HeaderLine))
        assert not problems.display
