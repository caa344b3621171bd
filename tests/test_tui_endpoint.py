"""The endpoint pane, decisions on suggested changes and export, driven through the Pilot."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Static, TabbedContent

from tests.test_tui_support import demo_app, wait_for_analysis, wait_until
from tui.app import SagetopApp
from tui.screens.endpoint import EndpointScreen
from tui.screens.fleet import FleetScreen
from tui.screens.help import HelpScreen
from tui.screens.summary import SummaryScreen
from tui.widgets.endpoint.charts import SparkLine
from tui.widgets.fleet.table import FleetTable

CHURN = "us-east-1/churn-predictor-prod"


def _record_notifications(app: SagetopApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    notify = app.notify

    def recording(message: str, **kwargs: Any) -> None:
        seen.append(f"{kwargs.get('severity', 'information')}: {message}")
        notify(message, **kwargs)

    monkeypatch.setattr(app, "notify", recording)
    return seen


def _plain(static: Static) -> str:
    """What a Static shows, as plain text: its rich content printed without colour."""
    console = Console(width=200, record=True, color_system=None, file=io.StringIO())
    content = static.content
    console.print(content if not isinstance(content, str) else Text(content))
    return console.export_text()


async def _open(pilot: Pilot[None], app: SagetopApp, key: str) -> EndpointScreen:
    table = app.screen.query_one(FleetTable)
    table.move_cursor(row=table.get_row_index(key))
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, EndpointScreen), "the endpoint pane")
    await pilot.pause(0.2)
    screen = app.screen
    assert isinstance(screen, EndpointScreen)
    return screen


async def _decide(pilot: Pilot[None], app: SagetopApp, screen: EndpointScreen,
                  seen: list[str]) -> None:
    """Leave the resize out of the plan, see the target fall back, take it again; an option
    that cannot be applied is refused at once, with the reason."""
    before = app.state.endpoint_analysis(CHURN)
    assert before is not None and before.target.variants[0].instance_type.value == "ml.m5.large"
    resize = next(o for o in before.plan.chosen if o.finding.value == "over-provisioned")
    await pilot.press("5")
    changes: DataTable[object] = screen.query_one("#changes", DataTable)
    changes.move_cursor(row=changes.get_row_index(resize.id))
    await pilot.press("x")

    def status(wanted: str) -> bool:
        advice = app.state.endpoint_analysis(CHURN)
        planned = advice.plan.option(resize.id) if advice else None
        return planned is not None and planned.status.value == wanted

    await wait_until(pilot, lambda: status("rejected"), "the rejection")
    await pilot.pause(0.1)
    after = app.state.endpoint_analysis(CHURN)
    assert after is not None
    assert after.target.variants[0].instance_type.value == "ml.c5.4xlarge"
    assert after.monthly_savings_usd != before.monthly_savings_usd
    assert "rejected" in str(changes.get_cell(resize.id, "decision"))
    assert "ml.c5.4xlarge" in _plain(screen.query_one("#profile-view", Static))
    changes.move_cursor(row=changes.get_row_index(resize.id))
    await pilot.press("a")
    await wait_until(pilot, lambda: status("chosen"), "the acceptance")
    restored = app.state.endpoint_analysis(CHURN)
    assert restored is not None
    assert restored.target.variants[0].instance_type.value == "ml.m5.large"
    assert restored.monthly_savings_usd == before.monthly_savings_usd
    # What cannot be taken says why at the moment of asking (and nothing changes).
    unfit = next(o for o in restored.plan.options if not o.pickable
                 and o.status.value in ("unfit", "covered", "experiment"))
    changes.move_cursor(row=changes.get_row_index(unfit.id))
    told = len(seen)
    await pilot.press("a")
    await pilot.pause(0.1)
    again = app.state.endpoint_analysis(CHURN)
    assert again is not None and again.plan.option(unfit.id) == unfit
    assert len(seen) == told + 1 and seen[-1].startswith("warning: ")
    assert unfit.label in seen[-1] and (unfit.why or unfit.status.value)[:40] in seen[-1]


async def test_pane_tabs_decisions_summary_and_help(monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = demo_app()
    seen = _record_notifications(app, monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_analysis(pilot)
        screen = await _open(pilot, app, CHURN)
        assert "churn-predictor-prod" in _plain(screen.query_one("#endpoint-title", Static))
        plotted = [s.values for s in screen.query(SparkLine) if s.values]
        assert len(plotted) >= 4  # requests, latency, cpu, memory at least
        assert app.session.view.focus == CHURN  # the open endpoint is on the live tier
        for key, tab in (("2", "variants"), ("3", "monitor"), ("4", "findings"),
                         ("5", "profile"), ("6", "maturity")):
            await pilot.press(key)
            assert screen.query_one(TabbedContent).active == tab
        assert "over-provisioned" in _plain(screen.query_one("#findings-view", Static))
        assert "Maturity by pillar" in _plain(screen.query_one("#maturity-view", Static))
        await _decide(pilot, app, screen, seen)
        await pilot.press("escape")
        assert isinstance(app.screen, FleetScreen)
        assert app.session.view.focus is None
        await pilot.press("t")
        assert isinstance(app.screen, SummaryScreen)
        summary = _plain(app.screen.query_one("#summary", Static))
        assert "Savings of the plans by kind" in summary and "Provisioning matrix" in summary
        analysis = app.state.analysis
        assert analysis is not None  # one savings figure: the status line's is the summary's
        assert f"plans save ${analysis.total_savings_usd:,.0f}/month" in summary
        await pilot.press("q", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, FleetScreen)


async def test_export_endpoint_fleet_and_a_failing_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "profiles"
    app, _ = demo_app(export_dir=out)
    seen = _record_notifications(app, monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_analysis(pilot)
        table = app.screen.query_one(FleetTable)
        table.move_cursor(row=table.get_row_index(CHURN))
        await pilot.press("e")
        await wait_until(pilot, lambda: bool(seen), "the export notification")
        written = [p for p in out.rglob("*") if p.is_file()]
        assert written and all("churn-predictor-prod" in str(p) for p in written)
        assert seen[-1].startswith("information:") and str(out) in seen[-1]
        await pilot.press("E")
        await wait_until(pilot, lambda: len(seen) > 1, "the fleet export")
        assert len([p for p in out.rglob("*") if p.is_file()]) > len(written)
        assert str(out) in seen[-1]

        blocked = tmp_path / "not-a-directory"
        blocked.write_text("a file where the export directory should be")
        app.export_dir = blocked
        await pilot.press("E")
        await wait_until(pilot, lambda: len(seen) > 2, "the export error")
        assert seen[-1].startswith("error:") and "\n" not in seen[-1]


async def test_experiments_tab_says_which_variant_is_better_and_how_sure() -> None:
    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_analysis(pilot)
        screen = await _open(pilot, app, "us-east-1/pricing-ab-prod")
        await pilot.press("7")
        assert screen.query_one(TabbedContent).active == "experiments"
        text = " ".join(_plain(screen.query_one("#experiments-view", Static)).split())
        assert "A/B test running 4.0 days" in text
        assert re.search(r"ModelB is 3\d % slower at p99 .* \(significant over 4 days", text)
        assert "ModelA is better" in text
        assert "Deployment: blue-green-all-at-once" in text and "Rollback: none" in text
        await pilot.press("escape")
        screen = await _open(pilot, app, CHURN)
        await pilot.press("7")
        text = " ".join(_plain(screen.query_one("#experiments-view", Static)).split())
        assert "job churn-predictor-ir-default (Default, completed" in text
        assert "payload s3://sim-payloads-" in text
        assert "production traffic wins: production p95" in text
        assert "of the load the test assumed" in text
        await pilot.press("escape", "t")
        summary = " ".join(_plain(app.screen.query_one("#summary", Static)).split())
        assert "AWS agrees with sagetop 2" in summary
        assert "compute-optimizer (us-east-1): enabled" in summary
