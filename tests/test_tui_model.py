"""The dashboard's pure parts: formatting, column choice, sort/filter/group, header and status."""

from __future__ import annotations

import datetime as dt
import math

from rich.text import Text

from ground.domain import CollectorError, FleetSnapshot, RequestStats
from ground.untrusted import inert
from tui.look import DEFAULT_LOOK
from tui.rows import (
    CELL_PADDING,
    COLUMNS,
    SCROLLBAR_WIDTH,
    RowData,
    columns_for_width,
    fmt_count,
    fmt_ms,
    fmt_usd,
    savings_cell,
    sparkline,
)
from tui.state import DashboardState
from tui.table_model import GROUP_PREFIX, GroupBy, TableView, arrange, variant_row_key
from tui.widgets.chrome import Source, header_text, status_text

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def _row(name: str, region: str, cost: float, kind: str = "", tags: str = "") -> RowData:
    key = f"{region}/{name}"
    return RowData(key, {"endpoint": Text(name)},
                   {"endpoint": name, "cost": cost, "savings": cost / 10 if kind else -1.0},
                   f"{name} {region} {tags} {kind}".lower(), region, kind)


ROWS = [_row("web", "us-east-1", 300.0, "over-provisioned", "team=search"),
        _row("abtest", "eu-west-1", 900.0, "idle"),
        _row("batch", "us-east-1", 10.0)]


def _no_variants(key: str) -> list[tuple[str, dict[str, str | Text]]]:
    return [("A", {"endpoint": Text("A")}), ("B", {"endpoint": Text("B")})]


def test_sparkline_scales_to_the_peak_buckets_long_series_and_keeps_gaps() -> None:
    assert sparkline([0.0, 5.0, 10.0]) == "▁▄█"
    assert len(sparkline([float(i) for i in range(48)], width=12)) == 12
    assert sparkline([math.nan, 1.0]) == " █"
    assert sparkline([]) == "-" and sparkline([math.nan]) == "-"


def test_numbers_stay_narrow_and_say_their_sign() -> None:
    assert fmt_count(9_999) == "9,999" and fmt_count(884_231) == "884k"
    assert fmt_count(2_500_000) == "2.5M" and fmt_count(None) == "-"
    assert fmt_ms(65.84) == "65.8ms" and fmt_ms(142_562.0) == "143s"
    assert fmt_ms(2_400.0) == "2.4s" and fmt_ms(916.3) == "916ms"
    assert fmt_usd(-168.0) == "-$168" and fmt_usd(0.23) == "$0.23" and fmt_usd(None) == "?"
    assert savings_cell(0.0).plain == "-"
    assert savings_cell(-5.0).style == DEFAULT_LOOK.palette.bad
    assert savings_cell(-5.0).plain == "−$5.00"  # a minus sign, before the dollar


def test_untrusted_text_loses_control_characters_but_keeps_brackets() -> None:
    assert inert("\x1b[31mred\x1b[0m\x07 [b]x[/b]") == "?[31mred?[0m? [b]x[/b]"
    assert inert("plain text, tab\tkept") == "plain text, tab\tkept"


def test_narrow_terminals_keep_the_important_columns_and_fit() -> None:
    for width in (80, 100, 160):
        chosen = columns_for_width(width)
        used = SCROLLBAR_WIDTH + sum(c.width + CELL_PADDING for c in chosen)
        assert used <= width
        assert {"endpoint", "shape", "cost", "savings", "finding"} <= {c.key for c in chosen}
    assert "rpm" in {c.key for c in columns_for_width(100)}
    assert len(columns_for_width(80)) < len(columns_for_width(160)) <= len(COLUMNS)
    # Every column at 250 cells, but the account column of a multi-account session.
    assert [c.key for c in columns_for_width(250)] == [c.key for c in COLUMNS
                                                       if c.key != "account"]


def test_sort_filter_group_and_expand() -> None:
    view = TableView()  # first open: the largest saving first, then by name
    assert [r.key for r in arrange(ROWS, view, _no_variants)] == [
        "eu-west-1/abtest", "us-east-1/web", "us-east-1/batch"]
    view = view.sorted_by("endpoint")
    assert [r.key for r in arrange(ROWS, view, _no_variants)] == [
        "eu-west-1/abtest", "us-east-1/batch", "us-east-1/web"]
    # Ties keep the names' order in both directions.
    tied = [_row(n, "us-east-1", 5.0) for n in ("b", "a", "c")]
    assert [r.key for r in arrange(tied, TableView(sort_column="cost"), _no_variants)] == [
        "us-east-1/a", "us-east-1/b", "us-east-1/c"]
    by_cost = view.sorted_by("cost")
    assert by_cost.descending  # numbers largest first
    assert arrange(ROWS, by_cost, _no_variants)[0].key == "eu-west-1/abtest"
    assert by_cost.sorted_by("cost").descending is False
    filtered = TableView(query="team=search")
    assert [r.key for r in arrange(ROWS, filtered, _no_variants)] == ["us-east-1/web"]
    assert [r.key for r in arrange(ROWS, TableView(query="IDLE"), _no_variants)] == [
        "eu-west-1/abtest"]
    grouped = arrange(ROWS, TableView(group=GroupBy.REGION), _no_variants)
    assert [r.key for r in grouped if r.key.startswith(GROUP_PREFIX)] == [
        GROUP_PREFIX + "eu-west-1", GROUP_PREFIX + "us-east-1"]
    by_finding = arrange(ROWS, TableView(group=GroupBy.FINDING), _no_variants)
    assert by_finding[-2].key == GROUP_PREFIX  # endpoints without findings come last
    expanded = arrange(ROWS, view.toggled("eu-west-1/abtest"), _no_variants)
    assert [r.key for r in expanded][:3] == [
        "eu-west-1/abtest", variant_row_key("eu-west-1/abtest", "A"),
        variant_row_key("eu-west-1/abtest", "B")]
    assert GroupBy.FINDING.next() is GroupBy.NONE
    assert view.next_sort(["endpoint", "status", "cost"]).sort_column == "status"


def _fleet(errors: tuple[CollectorError, ...] = ()) -> FleetSnapshot:
    return FleetSnapshot(collected_at=NOW - dt.timedelta(seconds=42), regions=("us-east-1",),
                         errors=errors, requests=RequestStats(
                             calls_by_operation={"ListEndpoints": 3, "GetMetricData": 7},
                             throttles=2, errors=1, cloudwatch_usd=0.0123))


def test_header_marks_demo_age_and_staleness_and_status_counts_requests() -> None:
    source = Source(simulated=True, profile=None, regions=("us-east-1",), live_seconds=60,
                    fleet_seconds=900)
    fresh = DashboardState(fleet=_fleet(), last_complete_at=NOW - dt.timedelta(seconds=42))
    header = header_text(source, fresh, NOW).plain
    assert "DEMO" in header and "data 42s old" in header and "fleet 15m" in header
    error = CollectorError(source="metrics", region="us-east-1", operation="GetMetricData",
                           message="no permission for cloudwatch:GetMetricData", at=NOW)
    stale = DashboardState(fleet=_fleet((error, error)), last_complete_at=fresh.last_complete_at)
    assert "STALE" in header_text(source, stale, NOW).plain
    assert stale.problems() == ["metrics us-east-1: no permission for cloudwatch:GetMetricData"]
    real = Source(simulated=False, profile="prod-readonly", regions=("eu-west-1",),
                  live_seconds=60, fleet_seconds=900)
    assert "profile prod-readonly" in header_text(real, DashboardState(), NOW).plain
    status = status_text(fresh).plain
    assert "10 requests" in status and "2 throttled" in status and "1 errors" in status
    # At 80 columns the money and the endpoints stay, the least important parts go first.
    assert "CloudWatch" not in status_text(fresh, width=40).plain
    narrow = header_text(source, fresh, NOW, width=60).plain
    assert "DEMO" in narrow and "data 42s old" in narrow and "fleet 15m" not in narrow
    assert "CloudWatch $0.0123" in status
    assert "Collecting the fleet: 5 requests" in status_text(
        DashboardState(progress_requests=5)).plain


def test_a_narrow_header_keeps_what_is_missing_and_stale_and_the_status_counts_it() -> None:
    # At 80 columns the cadence and the names give way; NO CREDENTIALS, NO REGION, STALE and
    # NO DATA never do (what is wrong matters more than where).
    real = Source(simulated=False, profile="prod-readonly-" + "x" * 30,
                  regions=("us-east-1", "eu-west-1"), live_seconds=60, fleet_seconds=900)
    error = CollectorError(source="credentials", region="us-east-1", operation="",
                           message="no AWS credentials found", at=NOW)
    no_keys = DashboardState(fleet=_fleet((error,)))
    header = header_text(real, no_keys, NOW, width=80).plain
    assert header.index("NO CREDENTIALS") < header.index("STALE incomplete")
    assert "fleet 15m" not in header and len(header) <= 80
    assert "1 errors" in status_text(no_keys, width=78).plain
    no_region = DashboardState(failure="no AWS region: give --region")
    header = header_text(real, no_region, NOW, width=60).plain
    assert "NO REGION" in header and "NO DATA" in header and len(header) <= 60
    assert status_text(no_region).plain == "No data │ 1 error"
