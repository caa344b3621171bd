"""What the fleet table shows: cells from a snapshot and its analysis, no widgets here.

Figures over the lookback (p99, busiest resource, 5XX rate) are the advisors' features that the
analysis carries (`advisors.features`): the row says what the finding and the profile say, and
computes none of it. Only what no one else shows is read here from the metric store: the latest
minute of requests and the 24-hour sparkline.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from rich.text import Span, Text

from advisors.cost import CostEstimate
from advisors.features import RESOURCES, measured
from advisors.finding import Finding, Severity
from ground.domain import (
    EndpointSnapshot,
    FleetSnapshot,
    InferenceComponentSnapshot,
    VariantSnapshot,
)
from ground.energy import quantity
from ground.untrusted import inert
from pipeline.analysis import FleetAnalysis
from tui.look import DEFAULT_LOOK, UNICODE, Look, Palette

SEVERITY_RANK = {Severity.CRITICAL: 3, Severity.WARNING: 2, Severity.INFO: 1}
TREND_HOURS = 24
TREND_WIDTH = 12
# A live reading older than this (behind the newest minute any endpoint has) shows its age.
STALE_AFTER_S = 120.0


def severity_style(severity: Severity, palette: Palette) -> str:
    return {Severity.CRITICAL: palette.critical, Severity.WARNING: palette.warning,
            Severity.INFO: palette.info}[severity]


# Endpoint statuses that serve nothing and will not recover on their own.
BROKEN_STATUSES = frozenset({"Failed", "OutOfService"})


def status_style(status: str, palette: Palette, in_service: str = "") -> str:
    """An endpoint's status by what it means: broken, in service (`in_service`: calm in the
    table, good news in the pane's title) or on its way somewhere (a warning)."""
    if status in BROKEN_STATUSES:
        return palette.critical
    return in_service if status == "InService" else palette.warning


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # "{days}" stands for the lookback in days: the period the figures cover
    width: int  # cells the column needs; used to choose which columns fit the terminal
    numeric: bool = False
    about: str = ""  # what the column holds, for the palette's "show column" commands
    short: str = ""  # the label when a sort mark must fit beside it


# In the order they show, left to right.
COLUMNS: tuple[Column, ...] = (
    Column("endpoint", "Endpoint", 20, about="endpoint name"),
    Column("status", "Status", 10, about="endpoint status"),
    Column("option", "Option", 10, about="deployment option"),
    Column("shape", "Instances", 14,
           about="instance count and type (+N more variants or components)"),
    Column("rpm", "Req/min", 9, numeric=True, about="requests in the latest minute"),
    Column("trend", f"Last {TREND_HOURS}h", TREND_WIDTH, about="requests per hour"),
    Column("p99", "p99 {days}d", 7, numeric=True, about="p99 model latency over the lookback",
           short="p99"),
    Column("busiest", "Busy {days}d", 9, numeric=True,
           about="busiest resource at p95 over the lookback", short="Busy"),
    Column("errors", "5XX {days}d", 7, numeric=True,
           about="share of requests answered with a 5XX over the lookback", short="5XX"),
    Column("drift", "Drift", 10, about="Model Monitor state"),
    Column("cost", "$/month", 8, numeric=True, about="monthly cost", short="$/mo"),
    Column("savings", "Save/mo", 8, numeric=True, about="what the endpoint's plan saves a month",
           short="Save"),
    Column("finding", "Worst finding", 20, about="worst finding (+N more)"),
    Column("carbon", "CO2e/mo", 8, numeric=True,
           about="estimated kgCO2e a month (energy and embodied)", short="CO2e"),
    Column("region", "Region", 14, about="AWS Region"),
    # Shown only while several accounts are watched (`columns_for_width`'s `accounts`).
    Column("account", "Account", 12, about="AWS account (its name, or id)"),
)
# Which columns a narrower screen keeps: the first ones that fit, so widening the terminal only
# ever adds columns. At 80 cells: name, shape, cost, saving, worst finding (the money first).
# With several accounts, whose endpoint it is comes right after the money (past 80 cells).
PRIORITY: tuple[str, ...] = ("endpoint", "shape", "cost", "savings", "finding", "account", "rpm",
                             "p99", "status", "errors", "busiest", "trend", "drift", "carbon",
                             "option",
                             "region")
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
CELL_PADDING = 2  # DataTable pads each cell by one on either side
# app.tcss hides the table's scrollbar (k9s and htop have none either): its cell goes to the
# columns, and the status line says which rows are on screen.
SCROLLBAR_WIDTH = 0


def column_label(column: Column, lookback_days: int) -> str:
    return column.label.replace("{days}", str(lookback_days))


def columns_for_width(width: int, hidden: Collection[str] = (),
                      pinned: Sequence[str] = (), *, accounts: bool = False
                      ) -> tuple[Column, ...]:
    """The columns that fit in `width` cells, in their natural order.

    Columns are taken in priority order (the user's pinned ones first, hidden ones never) until
    the next one does not fit: a wider screen shows the same columns and more, never others.
    The account column exists only with `accounts` (several accounts watched).
    """
    if not accounts:
        hidden = {*hidden, "account"}
    order = ["endpoint", *(k for k in pinned if k in COLUMN_BY_KEY and k != "endpoint"),
             *(k for k in PRIORITY if k not in pinned and k != "endpoint")]
    chosen: list[str] = []
    used = SCROLLBAR_WIDTH
    for key in dict.fromkeys(order):
        if key in hidden and key != "endpoint":
            continue
        need = COLUMN_BY_KEY[key].width + CELL_PADDING
        if chosen and used + need > width:
            break
        chosen.append(key)
        used += need
    return tuple(c for c in COLUMNS if c.key in chosen)


CellSignature = tuple[str, str, tuple[Span, ...]]
# Longest account text one cell or line shows: AWS names stop at 63 characters; anything longer
# came from somewhere else, and measuring it every refresh would cost the table its speed.
OUTSIDE_TEXT_CHARACTERS = 120


def outside(text: str | None, limit: int = OUTSIDE_TEXT_CHARACTERS) -> str:
    """Text from the account (names, types, statuses, tags) as one inert line for a cell."""
    return inert(text or "", one_line=True, limit=limit)


def cell_signature(cell: str | Text) -> CellSignature:
    """What a cell looks like (text and style), cheap to compare across refreshes."""
    if isinstance(cell, Text):
        return cell.plain, str(cell.style), tuple(cell.spans)
    return cell, "", ()


@dataclass(frozen=True)
class RowData:
    """One row: the rendered cells and the raw values that sorting uses."""

    key: str
    cells: dict[str, str | Text]
    sort_values: dict[str, float | str]
    search_text: str  # name, tags and finding kinds, lower-case, for the `/` filter
    region: str = ""
    worst_kind: str = ""  # the worst finding's kind, for grouping by finding
    account: str = ""  # for grouping by account ("" with one account)
    # Computed with the row, off the event loop, so that the table's diff only compares.
    signatures: dict[str, CellSignature] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "signatures",
                           {k: cell_signature(v) for k, v in self.cells.items()})


def sparkline(values: Sequence[float], width: int = TREND_WIDTH, levels: str = UNICODE.spark,
              from_zero: bool = True) -> str:
    """Bars scaled to the largest value, averaged into `width` buckets; gaps stay blank.

    `from_zero` False: scaled between the smallest and the largest (latency, utilisation,
    where the shape matters more than the distance from zero).
    """
    points = [float(v) for v in values]
    if len(points) > width:
        size = len(points) / width
        buckets = [points[int(i * size):int((i + 1) * size)] for i in range(width)]
        points = [_mean(bucket) for bucket in buckets]
    clean = [v for v in points if not math.isnan(v)]
    if not clean:
        return "-"
    bottom = 0.0 if from_zero else min(clean)
    span = (max(clean) - bottom) or 1.0
    steps = len(levels) - 1
    return "".join(" " if math.isnan(v)
                   else levels[max(0, min(steps, int((v - bottom) / span * (steps + 0.999))))]
                   for v in points)


def _mean(values: Sequence[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return sum(clean) / len(clean) if clean else math.nan


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt(value: float | None, digits: int = 0, dash: str = "-") -> str:
    if _missing(value):
        return dash
    return f"{value:,.{digits}f}"


def fmt_count(value: float | None) -> str:
    """Counts in at most six characters: 9,999 then 884k then 1.2M."""
    if value is None or math.isnan(value):
        return "-"
    if abs(value) < 10_000:
        return f"{value:,.0f}"
    if abs(value) < 1_000_000:
        return f"{value / 1000:,.0f}k"
    return f"{value / 1_000_000:,.1f}M"


def fmt_ratio(value: float | None) -> str:
    """A share as a percentage in at most six characters: 0.04%, 2.16%, 12.5%, 100%."""
    if value is None or math.isnan(value):
        return "-"
    if value < 0.1:
        return f"{value:.2%}"
    return f"{value:.1%}" if value < 1 else f"{value:.0%}"


def fmt_usd(value: float | None, dash: str = "?", minus: str = "-") -> str:
    """Dollars as finance writes them: $1,234 (cents below $10), the sign before the $."""
    if value is None or math.isnan(value):
        return dash
    amount = abs(value)
    text = f"${amount:,.0f}" if amount >= 10 else f"${amount:,.2f}"
    return f"{minus}{text}" if value < 0 and text not in ("$0", "$0.00") else text


def cost_change(saving_usd: float | None, period: str = "month", plural: bool = False) -> str:
    """A saving in words: 'saves $1,963/month', 'costs $298/month more', never 'save -$298'.

    `plural`: the subject is plural ("the changes save ..." rather than "the change saves").
    """
    if saving_usd is None or math.isnan(saving_usd):
        return "saving unknown (no price)"
    if abs(saving_usd) < 0.005:
        return "no change in cost"
    if saving_usd > 0:
        return f"{'save' if plural else 'saves'} {fmt_usd(saving_usd)}/{period}"
    return f"{'cost' if plural else 'costs'} {fmt_usd(-saving_usd)}/{period} more"


def fmt_ms(value: float | None) -> str:
    """Latency with its unit, milliseconds up to a second, then seconds: '65.9ms', '2.4s'."""
    if value is None or math.isnan(value):
        return "-"
    if value < 1000:
        return f"{value:,.1f}ms" if value < 100 else f"{value:,.0f}ms"
    seconds = value / 1000
    return f"{seconds:,.1f}s" if seconds < 100 else f"{seconds:,.0f}s"


def fmt_age(seconds: float) -> str:
    """An age in at most three characters: 90s, 5m, 2h, 3d."""
    seconds = max(0, int(seconds))
    if seconds < 100:
        return f"{seconds}s"
    if seconds < 6000:
        return f"{seconds // 60}m"
    if seconds < 360_000:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def savings_cell(value: float | None, look: Look = DEFAULT_LOOK) -> Text:
    """Savings in the good colour; a negative one (the advice buys safety) in the bad one."""
    if value is None or abs(value) < 0.005:
        return Text("-", justify="right")
    palette = look.palette
    return Text(fmt_usd(value, minus=look.glyphs.minus),
                style=palette.good if value > 0 else palette.bad, justify="right")


# Deployment options abbreviated to fit the column; the endpoint pane shows them in full.
OPTION_LABELS = {"multi-container": "multi-cont", "inference-components": "inf-comp"}


def variant_shape(variant: VariantSnapshot) -> str:
    if variant.serverless:
        memory_mb = variant.serverless.memory_mb
        size = f"{memory_mb // 1024}GB" if memory_mb % 1024 == 0 else f"{memory_mb}MB"
        return f"serverless {size}"
    instance_type = outside(variant.instance_type or "?", 40).removeprefix("ml.")
    return f"{variant.current_instance_count}x{instance_type}"


def endpoint_shape(endpoint: EndpointSnapshot) -> str:
    """The first serving variant's shape, '+N' for the rows space opens beside it: the other
    variants and the inference components."""
    shown = endpoint.serving_variants or endpoint.variants
    if not shown:
        return "-"
    more = len(endpoint.variants) - 1 + len(endpoint.inference_components)
    shape = variant_shape(shown[0])
    if not more:
        return shape
    # GPU types are long ("1xg5.12xlarge"): the count goes without its space rather than
    # past the column's edge, where it would be cut off.
    spaced = f"{shape} +{more}"
    return spaced if len(spaced) <= COLUMN_BY_KEY["shape"].width else f"{shape}+{more}"


def summed_series(fleet: FleetSnapshot, tier: str, name: str, key: str,
                  variant: str | None = None) -> pd.Series:
    """One endpoint's series over time, variants summed (or one variant's column)."""
    frame = fleet.metrics.series(tier, name, key)
    if frame.empty:
        return pd.Series(dtype="float64")
    if variant is not None:
        columns = [c for c in frame.columns if c[1] == variant]
        if not columns:
            return pd.Series(dtype="float64")
        frame = frame[columns]
    return frame.sum(axis=1, min_count=1)


def peak_series(fleet: FleetSnapshot, tier: str, name: str, key: str,
                variant: str | None = None) -> pd.Series:
    """One endpoint's series over time, the worst variant at each step (latency, utilisation)."""
    frame = fleet.metrics.series(tier, name, key)
    if frame.empty:
        return pd.Series(dtype="float64")
    if variant is not None:
        frame = frame[[c for c in frame.columns if c[1] == variant]]
    return frame.max(axis=1)


@dataclass(frozen=True)
class Busiest:
    """A busiest resource as the advisors judged it: its p95, its label, and how it reads."""

    pct: float
    label: str  # "cpu", "mem", "gpu", "gmem"
    saturated: bool  # at or above the advisors' saturation_pct
    underused: bool  # under the maturity's lowest utilisation bar


@dataclass(frozen=True)
class Measures:
    """What one row shows of the metrics, before formatting.

    `live_pending` / `window_pending`: the figures have not come in for this row yet (the first
    listing, an endpoint added since, the analysis still at work): the cells say so rather than
    show a zero. `rpm_age_s`: how far the latest requests reading lags the newest minute of the
    fleet; set when the row has not been refreshed since it scrolled into view.
    """

    rpm: float | None
    trend: str
    trend_total: float
    p99_ms: float | None
    busiest: Busiest | None
    error_ratio: float | None  # 5XX share of the requests callers made
    errors_high: bool = False  # at or above the advisors' error_rate_warning_ratio
    rpm_age_s: float | None = None
    live_pending: bool = False
    window_pending: bool = False


def _by_endpoint(frame: pd.DataFrame, how: str) -> pd.DataFrame:
    """Columns (endpoint key, variant) combined into one column per endpoint key."""
    grouped = frame.T.groupby(level=0)
    combined = grouped.sum(min_count=1) if how == "sum" else grouped.max()
    return combined.T


def latest_readings(frame: pd.DataFrame | None) -> dict[str, tuple[float, float]]:
    """Per column: the latest measured value and how many seconds it lags the newest one."""
    if frame is None or frame.empty:
        return {}
    values = frame.to_numpy(dtype=float)
    measured_at = ~np.isnan(values)
    has = measured_at.any(axis=0)
    if not has.any():
        return {}
    last = len(values) - 1 - np.argmax(measured_at[::-1], axis=0)
    stamps = pd.DatetimeIndex(frame.index)
    newest = stamps[int(last[has].max())]
    return {str(column): (float(values[last[i], i]), (newest - stamps[last[i]]).total_seconds())
            for i, column in enumerate(frame.columns) if has[i]}


@dataclass(frozen=True)
class _Thresholds:
    """Where a figure turns colour, from the modules that own each threshold (saturation is
    decided with the features: `saturated`)."""

    underused_pct: float  # the maturity's lowest utilisation bar (a busiest resource under)
    errors_ratio: float  # the advisors' error_rate_warning_ratio (a 5XX share at or above)

    @classmethod
    def of(cls, analysis: FleetAnalysis) -> _Thresholds:
        advisors = analysis.features.settings
        return cls(analysis.maturity_settings.utilisation_pct_managed,
                   advisors.error_rate_warning_ratio)


Figures = tuple[float | None, Busiest | None, float | None]
NO_FIGURES: Figures = (None, None, None)


def _figures(values: Sequence[Any], low: float) -> Figures:
    """(p99 in ms, busiest resource, 5XX share) of one row of the features: `values` of its
    FIGURE_COLUMNS."""
    p99_us, pct, resource, saturated, ratio = values
    latency = measured(p99_us)
    value = measured(pct)
    busiest = (Busiest(value, RESOURCES[resource][1], bool(saturated), value < low)
               if value is not None and isinstance(resource, str) else None)
    # CloudWatch reports latency in microseconds.
    return None if latency is None else latency / 1000.0, busiest, measured(ratio)


FIGURE_COLUMNS = ("model_latency_p99_us", "busiest_pct", "busiest_resource", "saturated",
                  "error_ratio")


def fleet_measures(fleet: FleetSnapshot, analysis: FleetAnalysis | None,
                   levels: str = UNICODE.spark) -> dict[str, Measures]:
    """Every endpoint's measures at once: the live minute and sparkline from one pandas pass
    per series, the lookback's figures from the analysis' features (`analysis` None or of an
    older snapshot without the endpoint: pending).

    Selecting from frames per endpoint costs milliseconds each; for a thousand endpoints that
    would hold the UI for seconds on every refresh.
    """
    store = fleet.metrics
    live_frame = store.live.get("requests")
    summed_live = (_by_endpoint(live_frame, "sum")
                   if live_frame is not None and not live_frame.empty else None)
    live = latest_readings(summed_live)
    live_known = set() if summed_live is None else {str(c) for c in summed_live.columns}
    hourly_frame = store.hourly.get("requests")
    hourly: dict[str, list[float]] = {}
    if hourly_frame is not None and not hourly_frame.empty:
        recent = _by_endpoint(hourly_frame.tail(TREND_HOURS), "sum")
        hourly = dict(zip(recent.columns, recent.to_numpy(dtype=float).T.tolist(), strict=True))
    window: dict[str, Figures] = {}
    measured_keys: set[str] = set()
    high = None
    if analysis is not None and not analysis.features.endpoints.empty:
        table = analysis.features.endpoints
        high = _Thresholds.of(analysis)
        columns = [table[c].tolist() for c in FIGURE_COLUMNS]
        window = {str(key): _figures(values, high.underused_pct)
                  for key, *values in zip(table.index, *columns, strict=True)}
        measured_keys = {str(k) for k, v in zip(table.index, table["window_measured"],
                                                 strict=True) if v}
    measures: dict[str, Measures] = {}
    for endpoint in fleet.endpoints:
        key = endpoint.key
        trend_values = hourly.get(key, [])
        reading = live.get(key)
        p99_ms, busiest, ratio = window.get(key, NO_FIGURES)
        measures[key] = Measures(
            rpm=None if reading is None else reading[0],
            rpm_age_s=None if reading is None or reading[1] < STALE_AFTER_S else reading[1],
            live_pending=key not in live_known,
            window_pending=key not in measured_keys,
            trend=sparkline(trend_values, levels=levels),
            trend_total=math.fsum(v for v in trend_values if not math.isnan(v)),
            p99_ms=p99_ms, busiest=busiest, error_ratio=ratio,
            errors_high=high is not None and ratio is not None and ratio >= high.errors_ratio,
        )
    return measures


def measure(fleet: FleetSnapshot, analysis: FleetAnalysis | None, key: str, column: str,
            component: str | None = None, levels: str = UNICODE.spark) -> Measures:
    """One variant's (`column`, its name) or inference component's (`component`, its name;
    `column` its metric column) measures, for the few expanded rows."""
    store = fleet.metrics
    live_series = summed_series(fleet, "live", "requests", key, column)
    newest = store.live.get("requests")
    reading = None
    if newest is not None and live_series.notna().any():
        measured_series = live_series.dropna()
        last = pd.Timestamp(measured_series.index[-1])
        reading = (float(measured_series.iloc[-1]),
                   (pd.Timestamp(newest.index.max()) - last).total_seconds())
    hourly = summed_series(fleet, "hourly", "requests", key, column).tail(TREND_HOURS)
    trend = (sparkline(hourly.tolist(), levels=levels) if len(hourly)
             else sparkline(live_series.tolist(), levels=levels))
    figures, measured_row, errors_high = NO_FIGURES, False, False
    if analysis is not None:
        features = analysis.features
        found = (features.component(key, component) if component is not None
                 else features.variant(key, column))
        endpoint_row = features.endpoint(key)
        measured_row = bool(endpoint_row and endpoint_row.get("window_measured"))
        if found is not None:
            high = _Thresholds.of(analysis)
            figures = _figures([found.get(c) for c in FIGURE_COLUMNS], high.underused_pct)
            errors_high = figures[2] is not None and figures[2] >= high.errors_ratio
    p99_ms, busiest, ratio = figures
    return Measures(
        rpm=None if reading is None else reading[0],
        rpm_age_s=None if reading is None or reading[1] < STALE_AFTER_S else reading[1],
        live_pending=len(store.series("live", "requests", key).columns) == 0,
        window_pending=not measured_row,
        trend=trend,
        trend_total=float(hourly.sum()) if len(hourly) else 0.0,
        p99_ms=p99_ms, busiest=busiest, error_ratio=ratio, errors_high=errors_high,
    )


def _pending(look: Look) -> Text:
    """A cell whose figure has not been fetched yet: never a zero standing in for it."""
    return Text(look.glyphs.ellipsis, style=look.palette.muted, justify="right")


def rpm_cell(measures: Measures, look: Look) -> Text:
    """Requests in the latest minute; an older reading carries its age ('52 5m')."""
    if measures.live_pending:
        return _pending(look)
    text = Text(fmt_count(measures.rpm), justify="right")
    if measures.rpm is not None and measures.rpm_age_s is not None:
        text.append(f" {fmt_age(measures.rpm_age_s)}", style=look.palette.muted)
    return text


def _busiest_cell(busiest: Busiest | None, look: Look) -> Text:
    """Saturated in the bad colour, underused in the warning one (thresholds: the advisors'
    saturation and the maturity's lowest utilisation bar, decided with the features)."""
    if busiest is None:
        return Text("-", justify="right")
    palette = look.palette
    style = palette.bad if busiest.saturated else (palette.warning if busiest.underused else "")
    return Text(f"{busiest.label} {busiest.pct:.0f}%", style=style, justify="right")


def _window_cell(measures: Measures, text: str, look: Look, style: str = "") -> Text:
    return _pending(look) if measures.window_pending else Text(text, style=style,
                                                                 justify="right")


def drift_cell(endpoint: EndpointSnapshot, findings: Sequence[Finding],
               look: Look = DEFAULT_LOOK) -> tuple[Text, float]:
    """The drift state and its sort rank: violations, watched, unknown or not monitored."""
    monitor = endpoint.monitor
    palette = look.palette
    if monitor.violation_count or any(f.kind.value == "drift" for f in findings):
        count = monitor.violation_count
        return Text(f"violations {count}" if count else "drifting", style=palette.bad), 3.0
    if monitor.error:
        return Text("unknown", style=palette.warning), 2.0
    if monitor.schedules:
        return Text("watched", style=palette.good), 1.0
    return Text("-"), 0.0


def finding_cell(findings: Sequence[Finding], look: Look = DEFAULT_LOOK) -> Text:
    worst = findings[0] if findings else None
    if worst is None:
        return Text("-")
    return Text(worst.kind.value + (f" +{len(findings) - 1}" if len(findings) > 1 else ""),
                style=severity_style(worst.severity, look.palette))


def carbon_cell(kgco2e: float | None, look: Look = DEFAULT_LOOK) -> Text:
    """Estimated kgCO2e a month ("~" says estimate); "?" when it cannot be estimated."""
    if kgco2e is None or math.isnan(kgco2e):
        return Text("?", style=look.palette.muted, justify="right")
    return Text(f"~{quantity(kgco2e)}", justify="right")


def _status_cell(endpoint: EndpointSnapshot, stored_age_s: float | None, look: Look) -> Text:
    text = Text(outside(endpoint.status, 40), style=status_style(endpoint.status, look.palette))
    if stored_age_s is not None:
        text.append(f" {look.glyphs.stored}{fmt_age(stored_age_s)}", style=look.palette.warning)
    return text


def endpoint_row(endpoint: EndpointSnapshot, measures: Measures,
                 findings: Sequence[Finding] = (), monthly_cost_usd: float | None = None,
                 plan_savings_usd: float | None = None, *, analysed: bool = True,
                 monthly_kgco2e: float | None = None, look: Look = DEFAULT_LOOK,
                 stored_age_s: float | None = None) -> RowData:
    """The row of one endpoint: counts summed over variants, the worst variant for peaks.

    `analysed` False: the advice (cost, saving, findings) is still being worked out.
    `stored_age_s`: the row comes from the state store, this old, not confirmed by AWS yet.
    """
    key = endpoint.key
    palette = look.palette
    drift, drift_rank = drift_cell(endpoint, findings, look)
    worst = findings[0] if findings else None
    shapes = ", ".join(variant_shape(v) for v in endpoint.serving_variants) or "-"
    # Names and tags come from the account: plain Text, never parsed as markup, and inert.
    cells: dict[str, str | Text] = {
        "endpoint": Text(outside(endpoint.name)),
        "status": _status_cell(endpoint, stored_age_s, look),
        "option": OPTION_LABELS.get(endpoint.deployment.value, endpoint.deployment.value),
        "shape": Text(endpoint_shape(endpoint)),
        "rpm": rpm_cell(measures, look),
        "trend": _pending(look) if measures.window_pending else measures.trend,
        "p99": _window_cell(measures, fmt_ms(measures.p99_ms), look),
        "busiest": (_pending(look) if measures.window_pending
                    else _busiest_cell(measures.busiest, look)),
        "errors": _window_cell(measures, fmt_ratio(measures.error_ratio), look,
                               palette.bad if measures.errors_high else ""),
        "drift": drift,
        "cost": (Text(fmt_usd(monthly_cost_usd), justify="right") if analysed
                 else _pending(look)),
        "savings": savings_cell(plan_savings_usd, look) if analysed else _pending(look),
        "finding": finding_cell(findings, look) if analysed else _pending(look),
        "carbon": carbon_cell(monthly_kgco2e, look) if analysed else _pending(look),
        "region": outside(endpoint.region, 40),
        "account": outside(endpoint.account or "", 40),
    }
    sort_values: dict[str, float | str] = {
        "endpoint": endpoint.name.lower(), "status": endpoint.status,
        "option": endpoint.deployment.value, "shape": shapes, "rpm": _num(measures.rpm),
        "trend": measures.trend_total, "p99": _num(measures.p99_ms),
        "busiest": _num(measures.busiest.pct if measures.busiest else None),
        "errors": _num(measures.error_ratio), "drift": drift_rank,
        "cost": _num(monthly_cost_usd), "savings": _num(plan_savings_usd),
        "finding": float(SEVERITY_RANK[worst.severity]) if worst else 0.0,
        "carbon": _num(monthly_kgco2e),
        "region": endpoint.region,
        "account": endpoint.account or "",
    }
    search = " ".join([endpoint.name, endpoint.region, endpoint.account or "",
                       endpoint.deployment.value,
                       *(f"{k}={v}" for k, v in endpoint.tags.items()),
                       *(f.kind.value for f in findings)]).lower()
    return RowData(key, cells, sort_values, search, endpoint.region,
                   worst.kind.value if worst else "", endpoint.account or "")


def fleet_rows(fleet: FleetSnapshot, analysis: FleetAnalysis | None,
               look: Look = DEFAULT_LOOK) -> list[RowData]:
    """Every endpoint's row; the analysis (possibly of an earlier snapshot) adds the advice."""
    measures = fleet_measures(fleet, analysis, look.glyphs.spark)
    stored_age_s = None if fleet.stored_at is None else max(
        0.0, (dt.datetime.now(dt.UTC) - fleet.stored_at).total_seconds())
    rows = []
    for endpoint in fleet.endpoints:
        advice = analysis.endpoints.get(endpoint.key) if analysis is not None else None
        measured = measures[endpoint.key]
        age = stored_age_s if endpoint.key in fleet.unconfirmed else None
        if advice is None:
            rows.append(endpoint_row(endpoint, measured, analysed=False, look=look,
                                     stored_age_s=age))
        else:
            # The plan's saving: the figure the pane, the status line and the export show.
            rows.append(endpoint_row(endpoint, measured, advice.findings,
                                     advice.monthly_cost_usd, advice.monthly_savings_usd,
                                     monthly_kgco2e=(None if advice.footprint is None
                                                     else advice.footprint.kgco2e),
                                     look=look, stored_age_s=age))
    return rows


def variant_row(endpoint: EndpointSnapshot, variant: VariantSnapshot, fleet: FleetSnapshot,
                analysis: FleetAnalysis | None, look: Look = DEFAULT_LOOK
                ) -> dict[str, str | Text]:
    """The cells of one variant under its expanded endpoint row (a shadow variant's 5XX share
    is its own: the endpoint row counts only what callers saw)."""
    measures = measure(fleet, analysis, endpoint.key, variant.name, levels=look.glyphs.spark)
    role = "shadow" if variant.shadow else f"weight {variant.weight:g}"
    scaling = variant.autoscaling
    muted = look.palette.muted
    return {
        "endpoint": Text(f"  {look.glyphs.branch}{outside(variant.name)}", style=muted),
        "status": Text(role, style=muted),
        "option": Text("autoscales" if scaling and scaling.scales else "fixed", style=muted),
        "shape": Text(variant_shape(variant)),
        "rpm": rpm_cell(measures, look),
        "trend": measures.trend,
        "p99": _window_cell(measures, fmt_ms(measures.p99_ms), look),
        "busiest": (_pending(look) if measures.window_pending
                    else _busiest_cell(measures.busiest, look)),
        "errors": _window_cell(measures, fmt_ratio(measures.error_ratio), look,
                               look.palette.bad if measures.errors_high else ""),
        "drift": "",
        "cost": "",
        "savings": "",
        "finding": "",
        "carbon": "",
        "region": "",
        "account": "",
    }


def component_shape(component: InferenceComponentSnapshot) -> str:
    """Copies and what each reserves: "2x 1gpu 4cpu" (accelerators first, they are scarce)."""
    resources = component.resources
    parts = []
    if resources.accelerators:
        parts.append(f"{resources.accelerators}gpu")
    if resources.cpu_cores:
        parts.append(f"{resources.cpu_cores:g}cpu")
    if not parts and resources.min_memory_mb:
        parts.append(f"{resources.min_memory_mb / 1024:,.0f}GB")
    if component.base_component:
        return f"adapter of {outside(component.base_component)}"
    return f"{component.current_copies}x {' '.join(parts) or 'unreserved'}"


def component_row(endpoint: EndpointSnapshot, component: InferenceComponentSnapshot,
                  fleet: FleetSnapshot, analysis: FleetAnalysis | None,
                  cost: CostEstimate | None = None, findings: Sequence[Finding] = (),
                  look: Look = DEFAULT_LOOK) -> dict[str, str | Text]:
    """The cells of one inference component under its expanded endpoint row: its own traffic,
    latency, per-copy utilisation, cost share and worst finding.

    `analysis` None: the figures, cost share and findings are still being worked out.
    """
    analysed = analysis is not None
    measures = measure(fleet, analysis, endpoint.key, component.column, component.name,
                       look.glyphs.spark)
    scaling = component.autoscaling
    scales = bool(scaling and scaling.scales and scaling.max_capacity > scaling.min_capacity)
    own = [f for f in findings if f.component == component.name]
    copies = f"{component.current_copies}/{component.desired_copies} copies"
    # Its part of the endpoint's plan: the chosen options about this component.
    advice = analysis.endpoints.get(endpoint.key) if analysis is not None else None
    plan = advice.plan if advice is not None else None
    planned = [o.monthly_savings_usd for o in (plan.chosen if plan else ())
               if o.component == component.name and o.monthly_savings_usd is not None]
    best = sum(planned) if planned else None
    palette = look.palette
    in_service = component.status == "InService"
    return {
        "endpoint": Text(f"  {look.glyphs.branch}{outside(component.name)}",
                         style=palette.muted),
        "status": Text(copies if in_service else outside(component.status, 40),
                       style=palette.muted if in_service else palette.warning),
        "option": Text("autoscales" if scales else "fixed", style=palette.muted),
        "shape": Text(component_shape(component)),
        "rpm": rpm_cell(measures, look),
        "trend": _pending(look) if measures.window_pending else measures.trend,
        "p99": _window_cell(measures, fmt_ms(measures.p99_ms), look),
        "busiest": (_pending(look) if measures.window_pending
                    else _busiest_cell(measures.busiest, look)),
        "errors": _window_cell(measures, fmt_ratio(measures.error_ratio), look,
                               palette.bad if measures.errors_high else ""),
        "drift": "",
        # Its share of the instances it runs on ("?": no price); the endpoint row has the total.
        "cost": (Text(fmt_usd(None if cost is None else cost.usd), justify="right")
                 if analysed else _pending(look)),
        "savings": savings_cell(best, look) if analysed else _pending(look),
        "finding": finding_cell(own, look) if analysed else _pending(look),
        "carbon": "",
        "region": "",
        "account": "",
    }


def _num(value: float | None) -> float:
    # Unknown sorts below every real value, including zero.
    return -1.0 if value is None else float(value)


def matches(row: RowData, query: str) -> bool:
    """`/` filter: every word must appear in the name, a tag, the region or a finding kind."""
    return all(word in row.search_text for word in query.lower().split())
