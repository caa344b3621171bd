"""The fleet's history: day records, what moved since, on screen and in the report."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text
from textual.widgets import Static

from collectors.aws import AwsContext, AwsTarget
from ground.config import AwsSettings, RefreshSettings, SagetopConfig
from ground.domain import CollectorError
from ground.errors import UsageError
from pipeline.analysis import Analyst
from pipeline.history import (
    DayBook,
    DayFinding,
    EndpointDay,
    FleetDay,
    changes,
    parse_since,
    record_of,
)
from pipeline.live import LiveSession
from pipeline.store import StateStore, store_files
from sagetop.cli import main
from simulator import SimulatedAccount
from tests.fleet_factory import fleet_of, healthy_production, idle_endpoint
from tests.test_tui_support import NOW, fixed_clock, wait_for_analysis, wait_until
from tui.app import SagetopApp
from tui.screens.endpoint import EndpointScreen
from tui.screens.summary import SummaryScreen
from tui.widgets.fleet.table import FleetTable

TODAY = dt.date(2026, 11, 20)
CHURN = "us-east-1/churn-predictor-prod"


def _day(day: dt.date, endpoints: dict[str, EndpointDay], unlisted: tuple[str, ...] = ()
         ) -> FleetDay:
    costs = [e.monthly_cost_usd or 0.0 for e in endpoints.values()]
    traffic = [e.requests_per_day for e in endpoints.values() if e.requests_per_day is not None]
    return FleetDay(day=day, collected_at=dt.datetime.combine(day, dt.time(12), dt.UTC),
                    lookback_days=14, endpoints=endpoints, unlisted=unlisted,
                    monthly_cost_usd=round(sum(costs), 2),
                    monthly_savings_usd=round(sum(e.plan_monthly_savings_usd
                                                  for e in endpoints.values()), 2),
                    findings=sum(len(e.findings) for e in endpoints.values()),
                    requests_per_day=sum(traffic) if traffic else None)


def _endpoint(cost: float | None = 500.0, requests: float | None = 1000.0,
              findings: tuple[DayFinding, ...] = (), digest: str = "a") -> EndpointDay:
    return EndpointDay(status="InService", monthly_cost_usd=cost, requests_per_day=requests,
                       findings=findings,
                       plan_monthly_savings_usd=sum(f.monthly_savings_usd or 0.0
                                                    for f in findings),
                       profile_digest=digest)


IDLE = DayFinding(kind="idle", severity="critical", monthly_savings_usd=400.0)
OVER = DayFinding(kind="over-provisioned", severity="warning", where="AllTraffic",
                  monthly_savings_usd=120.0)


# The record -----------------------------------------------------------------------------------


def test_record_of_an_analysis_carries_the_analysis_figures_and_round_trips() -> None:
    fleet = fleet_of(healthy_production(), idle_endpoint())
    analysis = Analyst().analyse(fleet)
    record = record_of(analysis)
    assert record.day == fleet.collected_at.date()
    assert set(record.endpoints) == {e.key for e in fleet.endpoints}
    for key, day in record.endpoints.items():
        item = analysis.endpoints[key]
        assert day.monthly_cost_usd == item.monthly_cost_usd
        assert day.plan_monthly_savings_usd == item.monthly_savings_usd
        assert [f.kind for f in day.findings] == [f.kind.value for f in item.findings]
        row = analysis.features.endpoint(key)
        assert row is not None and day.requests_per_day == pytest.approx(row["requests_per_day"])
    idle = record.endpoints["us-east-1/forgotten-poc"]
    assert "idle" in {f.kind for f in idle.findings}
    assert record.monthly_cost_usd == round(analysis.total_monthly_cost_usd, 2)
    assert record.monthly_savings_usd == round(analysis.total_savings_usd, 2)
    assert FleetDay.of_payload(record.payload()) == record


def test_a_record_of_another_schema_or_damaged_is_left_out_with_a_note(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    good = _day(TODAY - dt.timedelta(days=1), {"r/a": _endpoint()})
    store.put_day(good.day, good.payload())
    store.put_day(TODAY - dt.timedelta(days=2), '{"schema_version": 9, "what": 1}')
    store.put_day(TODAY - dt.timedelta(days=3), good.payload())  # says another day
    book = DayBook(store)
    assert book.days() == [good]
    assert len(book.notes) == 2 and all("left out" in n for n in book.notes)


def test_only_a_fleet_wholly_answered_by_aws_is_recorded(tmp_path: Path) -> None:
    fleet = fleet_of(healthy_production())
    analyst = Analyst()
    book = DayBook(StateStore(tmp_path / "s.db"))
    stored = fleet.model_copy(update={"unconfirmed": frozenset(e.key for e in fleet.endpoints)})
    assert book.record(analyst.analyse(stored)) is None
    unseen = fleet.model_copy(update={"endpoints": (), "errors": (CollectorError(
        source="inventory", region="us-east-1", operation="ListEndpoints", message="denied",
        at=NOW),)})
    assert book.record(analyst.analyse(unseen)) is None
    assert book.days() == []
    assert book.record(analyst.analyse(fleet)) is not None
    assert [d.day for d in DayBook(book.store).days()] == [fleet.collected_at.date()]


# What moved -----------------------------------------------------------------------------------

_keys = st.text(alphabet="abcdef", min_size=1, max_size=4).map(lambda s: f"us-east-1/{s}")
_findings = st.lists(st.sampled_from([IDLE, OVER]), unique=True).map(tuple)
_endpoints = st.builds(_endpoint, cost=st.none() | st.floats(0, 1e5),
                       requests=st.none() | st.floats(0, 1e7), findings=_findings,
                       digest=st.sampled_from(["a", "b"]))
_fleets = st.dictionaries(_keys, _endpoints, max_size=6)


@settings(max_examples=60, deadline=None)
@given(_fleets)
def test_nothing_moves_between_a_record_and_itself(endpoints: dict[str, EndpointDay]) -> None:
    today = _day(TODAY, endpoints)
    history = changes([today.model_copy(update={"day": TODAY - dt.timedelta(days=1)})], today)
    yesterday = history.periods[0]
    assert yesterday.baseline == TODAY - dt.timedelta(days=1)
    assert yesterday.endpoints == {}
    assert yesterday.fleet is not None and not yesterday.fleet.created
    assert not yesterday.fleet.cost.moved and yesterday.fleet.appeared == 0


@settings(max_examples=60, deadline=None)
@given(_fleets, _fleets)
def test_endpoints_only_before_are_deleted_only_now_created(
        before: dict[str, EndpointDay], after: dict[str, EndpointDay]) -> None:
    old = _day(TODAY - dt.timedelta(days=7), before)
    history = changes([old], _day(TODAY, after))
    week = history.periods[1]
    assert week.fleet is not None
    assert set(week.fleet.deleted) == set(before) - set(after)
    assert set(week.fleet.created) == set(after) - set(before)
    for key in week.fleet.deleted:
        assert week.endpoints[key].deleted and week.endpoints[key].phrases()[0].startswith(
            "deleted")


def test_a_saving_taken_is_a_priced_finding_gone_and_the_cost_fallen_by_about_it() -> None:
    before = _day(TODAY - dt.timedelta(days=1), {
        "r/a": _endpoint(cost=900.0, findings=(IDLE,)),
        "r/b": _endpoint(cost=900.0, findings=(IDLE,)),
        "r/c": _endpoint(cost=900.0, findings=(OVER,))})
    after = _day(TODAY, {
        "r/a": _endpoint(cost=520.0, digest="b"),  # fell $380 for a $400 finding: taken
        "r/b": _endpoint(cost=900.0),  # the finding went, the bill did not: resolved only
        "r/c": _endpoint(cost=900.0, findings=(OVER, IDLE))})
    period = changes([before], after).periods[0]
    a, b, c = (period.endpoints[k] for k in ("r/a", "r/b", "r/c"))
    assert [t.finding.kind for t in a.taken] == ["idle"] and a.reconfigured
    assert a.phrases() == ["-$380/month", "configuration changed",
                           "saving taken: idle ($400/month, cost fell $380)"]
    assert b.taken == () and b.phrases() == ["finding idle resolved"]
    assert c.phrases() == ["finding idle appeared"]
    assert period.fleet is not None and period.fleet.taken_usd == 400.0
    assert (period.fleet.appeared, period.fleet.resolved) == (1, 2)


def test_no_data_is_said_never_read_as_zero() -> None:
    today = _day(TODAY, {"r/a": _endpoint(requests=None), "r/b": _endpoint(cost=None)})
    # Only a record from three days ago: yesterday compares with it, last week has no data.
    old = _day(TODAY - dt.timedelta(days=3), {"r/a": _endpoint(), "r/b": _endpoint()})
    history = changes([old], today)
    yesterday, week = history.periods
    assert yesterday.baseline == old.day and "record of" in yesterday.heading
    assert week.baseline is None and week.fleet is None
    assert "since last week: no data" in history.endpoint_line("r/a")
    a, b = yesterday.endpoints.get("r/a"), yesterday.endpoints.get("r/b")
    assert a is None or a.traffic.delta is None  # traffic gone missing is not "-100%"
    assert b is None or b.cost.delta is None
    assert changes([], today).periods[0].fleet is None  # the first day: nothing to compare


def test_an_endpoint_of_a_region_not_listed_is_unknown_not_deleted() -> None:
    before = _day(TODAY - dt.timedelta(days=1), {"eu-west-1/a": _endpoint(),
                                                 "us-east-1/b": _endpoint()})
    after = _day(TODAY, {"us-east-1/b": _endpoint()}, unlisted=("eu-west-1",))
    period = changes([before], after).periods[0]
    assert period.fleet is not None and period.fleet.deleted == ()
    assert period.fleet.unlisted == ("eu-west-1",)
    gone = changes([before], _day(TODAY, {"us-east-1/b": _endpoint()})).periods[0]
    assert gone.fleet is not None and gone.fleet.deleted == ("eu-west-1/a",)


@pytest.mark.parametrize(("text", "days"), [("24h", 1), ("48h", 2), ("7d", 7), ("30d", 30),
                                            ("2w", 14), ("2026-11-01", 19)])
def test_since_names_a_day(text: str, days: int) -> None:
    assert parse_since(text, TODAY) == TODAY - dt.timedelta(days=days)


@pytest.mark.parametrize(("text", "said"), [("36h", "whole days"), ("7 days", "expected a span"),
                                            ("0d", "at least one day"),
                                            ("2026-12-01", "before today")])
def test_a_bad_since_is_one_line_naming_the_option(text: str, said: str) -> None:
    with pytest.raises(UsageError, match=said) as caught:
        parse_since(text, TODAY)
    assert str(caught.value).startswith("--since") and "\n" not in str(caught.value)


# On screen --------------------------------------------------------------------------------------


def _plain(static: Static) -> str:
    console = Console(width=200, record=True, color_system=None, file=io.StringIO())
    content = static.content
    console.print(content if not isinstance(content, str) else Text(content))
    return console.export_text()


async def test_the_pane_and_the_summary_show_the_history(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "store.db", clock=fixed_clock)
    # Yesterday churn cost $1 and had an idle finding; an endpoint since deleted still ran.
    yesterday = _day(TODAY - dt.timedelta(days=1), {
        CHURN: _endpoint(cost=1.0, findings=(IDLE,)),
        "us-east-1/retired-model": _endpoint(cost=250.0)})
    store.put_day(yesterday.day, yesterday.payload())
    account = SimulatedAccount(clock=fixed_clock)
    target = AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)
    config = SagetopConfig(aws=AwsSettings(max_attempts=1),
                           refresh=RefreshSettings(live_seconds=60, fleet_seconds=900))
    session = LiveSession(AwsContext(config.aws, target, config.cost), config.refresh,
                          config.history, clock=fixed_clock, store=store)
    app = SagetopApp(session, Analyst(), remember=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_analysis(pilot)
        await wait_until(pilot, lambda: app.state.history is not None, "the history")
        history = app.state.history
        assert history is not None and history.today == NOW.date()
        # Today's record is in the store, written by the app after the whole-fleet analysis.
        assert [d for d, _ in store.days()] == [yesterday.day, TODAY]
        table = app.screen.query_one(FleetTable)
        table.move_cursor(row=table.get_row_index(CHURN))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, EndpointScreen), "the pane")
        await pilot.pause(0.2)
        shown = _plain(app.screen.query_one("#endpoint-history", Static))
        assert "since yesterday: +$" in shown and "finding idle resolved" in shown
        assert "since last week: no data (no record that old)" in shown
        await pilot.press("escape", "t")
        await wait_until(pilot, lambda: isinstance(app.screen, SummaryScreen), "the summary")
        summary = _plain(app.screen.query_one("#summary-history", Static))
        assert "History (2 day records from 2026-11-19)" in summary
        assert "deleted: us-east-1/retired-model" in summary
        assert "since last week: no data" in summary
    store.close()


async def test_without_a_store_no_history_line_is_shown() -> None:
    from tests.test_tui_support import demo_app

    app, _ = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_analysis(pilot)
        assert app.state.history is None
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, SummaryScreen), "the summary")
        assert not app.screen.query_one("#summary-history", Static).display


# In the report ----------------------------------------------------------------------------------


def test_report_since_adds_the_history_to_the_json(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--demo", "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert "history" not in first  # the JSON contract is unchanged unless asked
    (path,) = [p for p in store_files(Path(tmp_path / "xdg-state" / "sagetop" / "store"))
               if p.name.endswith(".db")]
    store = StateStore(path)
    ((today, payload),) = store.days()
    record = FleetDay.of_payload(payload)
    key = next(iter(record.endpoints))
    # Yesterday's record: one endpoint less, and one that is gone today.
    kept = {k: v for k, v in record.endpoints.items() if k != key}
    kept["us-east-1/retired-model"] = _endpoint(cost=250.0)
    earlier = record.model_copy(update={"day": today - dt.timedelta(days=1), "endpoints": kept})
    store.put_day(earlier.day, earlier.payload())
    store.close()
    assert main(["report", "--demo", "--format", "json", "--since", "24h"]) == 0
    history = json.loads(capsys.readouterr().out)["history"]
    yesterday, week = history["periods"]
    assert yesterday["baseline"] == earlier.day.isoformat() and not yesterday["no_data"]
    assert yesterday["fleet"]["created"] == [key]
    assert yesterday["fleet"]["deleted"] == ["us-east-1/retired-model"]
    assert yesterday["endpoints"][key]["created"]
    assert week["no_data"] and week["fleet"] is None
    assert main(["report", "--demo", "--since", "30d"]) == 0
    table = capsys.readouterr().out
    assert "history (2 day records" in table and "since 20" in table


def test_report_since_bad_value_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    assert main(["report", "--demo", "--since", "yesterday"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sagetop: error: --since") and err.count("\n") == 1
