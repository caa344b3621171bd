"""What the fleet table's cells say, computed from the real collector on the simulated account.

Nothing on screen is a default passed off as a measurement: a row the collector has not fetched
yet says so ("…"), a reading older than the fleet's newest minute carries its age, an idle
endpoint's latency is "-", and figures over the lookback say their period.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from collectors.aws import AwsContext
from collectors.fleet import FleetCollector
from ground.config import SagetopConfig
from pipeline.analysis import Analyst
from simulator import SimulatedAccount
from tests.test_reliability import BUSY, REGION, Clock, target
from tui.look import ASCII, DEFAULT_LOOK, UNICODE, Look, palette_for, utf8_terminal
from tui.rows import (
    COLUMNS,
    PRIORITY,
    RowData,
    column_label,
    columns_for_width,
    fleet_rows,
    fmt_ms,
    fmt_usd,
)

STEADY = f"{REGION}/checkout-upsell-prod"  # traffic every minute, like web-ranker-prod


def _cell(rows: list[RowData], key: str, column: str) -> str:
    cell = next(r for r in rows if r.key == key).cells[column]
    return cell.plain if isinstance(cell, Text) else cell


async def test_rows_off_screen_keep_their_last_reading_with_its_age_never_a_zero() -> None:
    clock = Clock()
    account = SimulatedAccount(clock=clock)
    async with AwsContext(SagetopConfig().aws, target(account)) as aws:
        collector = FleetCollector(aws, clock=clock)
        first = await collector.collect(force=True)
        before = _cell(fleet_rows(first, None), STEADY, "rpm")
        assert before not in ("0", "-", "…") and " " not in before  # measured, current
        clock.advance(5)
        # Five minutes on, only the rows on screen are asked for their minutes.
        fleet = await collector.collect(live=[BUSY])
    rows = fleet_rows(fleet, None)
    assert " " not in _cell(rows, BUSY, "rpm")
    # The other endpoint served all along; its minutes were not asked: the last reading
    # shows with how old it is, not the zero a gap would read as.
    assert _cell(rows, STEADY, "rpm") == f"{before} 5m"


async def test_a_listing_without_metrics_shows_pending_cells_not_zeros() -> None:
    account = SimulatedAccount(clock=Clock())
    async with AwsContext(SagetopConfig().aws, target(account)) as aws:
        listing = await FleetCollector(aws, clock=Clock()).collect_listing()
    rows = fleet_rows(listing, None)
    assert rows
    for row in rows:
        for column in ("rpm", "p99", "busiest", "errors", "cost", "savings", "finding",
                       "carbon"):
            assert _cell([row], row.key, column) == "…", (row.key, column)


async def test_idle_latency_is_a_dash_and_latency_carries_its_unit() -> None:
    clock = Clock()
    account = SimulatedAccount(clock=clock)
    async with AwsContext(SagetopConfig().aws, target(account)) as aws:
        fleet = await FleetCollector(aws, clock=clock).collect(force=True)
    analysis = Analyst().analyse(fleet)
    rows = fleet_rows(fleet, analysis)
    assert _cell(rows, f"{REGION}/legacy-recs-v1", "p99") == "-"  # nobody calls it
    assert _cell(rows, f"{REGION}/doc-summarizer", "p99").endswith("s")  # seconds, said so
    assert _cell(rows, BUSY, "p99").endswith("ms")
    # Estimated kgCO2e a month, "~" for an estimate: an idle endpoint's instances emit too.
    assert _cell(rows, BUSY, "carbon").startswith("~")
    assert _cell(rows, f"{REGION}/legacy-recs-v1", "carbon").startswith("~")
    assert fmt_ms(70_000.0) == "70.0s" and fmt_ms(65.94) == "65.9ms" and fmt_ms(None) == "-"
    # Money as finance writes it: the sign before the dollar, never "$-1,598.99".
    assert fmt_usd(-1598.99) == "-$1,599" and fmt_usd(-1598.99, minus="−") == "−$1,599"


def test_80_columns_show_the_money_and_wider_screens_only_add_columns() -> None:
    assert [c.key for c in columns_for_width(80)] == ["endpoint", "shape", "cost", "savings",
                                                      "finding"]
    shown: set[str] = set()
    for width in range(60, 260):
        keys = {c.key for c in columns_for_width(width)}
        assert shown <= keys, f"a column disappeared at {width} cells"
        shown = keys
    # Every column but the account column, which only a multi-account session has.
    assert shown == {c.key for c in COLUMNS} - {"account"} and set(PRIORITY) == shown | {"account"}
    # The estimated kgCO2e a month comes after drift, before the deployment option and region:
    # a wide screen's column, never at the 160-cell snapshot size.
    assert PRIORITY.index("carbon") == PRIORITY.index("drift") + 1
    assert "carbon" not in {c.key for c in columns_for_width(160)}
    assert "carbon" in {c.key for c in columns_for_width(170)}
    # Pinned columns come first after the name, hidden ones never; the rule stays monotonic.
    assert "region" in {c.key for c in columns_for_width(80, pinned=("region",))}
    assert "cost" not in {c.key for c in columns_for_width(200, hidden={"cost"})}
    labels = {c.key: column_label(c, 14) for c in COLUMNS}
    assert labels["p99"] == "p99 14d" and labels["errors"] == "5XX 14d"


def test_no_color_styles_carry_no_colour_and_themes_give_colours() -> None:
    mono = palette_for({}, mono=True)
    for role in ("critical", "warning", "info", "good", "bad", "muted", "strong", "demo"):
        style = Style.parse(getattr(mono, role))
        assert style.color is None and style.bgcolor is None, role
    assert Style.parse(mono.critical).reverse  # CRITICAL stands out without colour
    assert Style.parse(DEFAULT_LOOK.palette.critical).color is not None
    light = palette_for({"text-error": "#7A273C"})
    assert Style.parse(light.bad).color == Style.parse("#7A273C").color


def test_ascii_glyphs_off_utf8() -> None:
    assert not utf8_terminal({"LANG": "C"}) and not utf8_terminal({})
    assert not utf8_terminal({"LC_ALL": "POSIX", "LANG": "en_US.UTF-8"})  # LC_ALL decides
    assert utf8_terminal({"LANG": "en_GB.UTF-8"}) and utf8_terminal({"LC_CTYPE": "C.utf8"})
    assert not utf8_terminal({"LANG": "en_US.UTF-8", "SAGETOP_ASCII": "1"})
    for glyph in vars(ASCII).values():
        text = glyph if isinstance(glyph, str) else "".join(
            str(part) for part in vars(glyph).values() if isinstance(part, str))
        assert text.isascii(), glyph
    assert Look(DEFAULT_LOOK.palette, UNICODE).glyphs.spark != ASCII.spark
