"""What the fleet table shows: cells computed from a snapshot and its advice, no widgets here."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from rich.text import Span, Text

from advisors.finding import Finding, Severity
from ground.domain import EndpointSnapshot, FleetSnapshot, VariantSnapshot
from ground.images import workload_of
from ground.untrusted import inert
from pipeline.analysis import FleetAnalysis

SPARK = "▁▂▃▄▅▆▇█"
SEVERITY_RANK = {Severity.CRITICAL: 3, Severity.WARNING: 2, Severity.INFO: 1}
SEVERITY_STYLE = {Severity.CRITICAL: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
TREND_HOURS = 24
TREND_WIDTH = 12
# Resources compared for "busiest": window series name -> short label shown in the cell.
BUSIEST_SERIES: tuple[tuple[str, str], ...] = (
    ("cpu_p95_pct", "cpu"), ("memory_p95_pct", "mem"), ("gpu_p95_pct", "gpu"),
    ("gpu_memory_p95_pct", "gmem"),
)


def _gpu_memory_is_load(variants: Sequence[VariantSnapshot]) -> bool:
    """False for LLM servers: they preallocate GPU memory for the KV cache whatever the load,
    so a 91 % there is not "busy" (the advisors leave it out the same way)."""
    return not any(workload_of(v.model.containers).preallocates_gpu_memory
                   for v in variants if v.model is not None)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int  # cells the column needs; used to choose which columns fit the terminal
    priority: int  # 1 always shown; higher numbers are dropped first when the screen is narrow
    numeric: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("endpoint", "Endpoint", 22, 1),
    Column("status", "Status", 10, 5),
    Column("option", "Option", 10, 7),
    Column("shape", "Instances", 13, 3),
    Column("rpm", "Req/min", 7, 2, numeric=True),
    Column("trend", f"Last {TREND_HOURS}h", TREND_WIDTH, 6),
    Column("p99", "p99 ms", 7, 4, numeric=True),
    Column("busiest", "Busiest", 9, 6, numeric=True),
    Column("errors", "5XX", 6, 7, numeric=True),
    Column("drift", "Drift", 10, 8),
    Column("cost", "$/month", 8, 5, numeric=True),
    Column("savings", "Save/mo", 8, 4, numeric=True),
    Column("finding", "Worst finding", 20, 2),
    Column("region", "Region", 11, 9),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
CELL_PADDING = 2  # DataTable pads each cell by one on either side
SCROLLBAR_WIDTH = 1  # app.tcss narrows the table's scrollbar to one cell


def columns_for_width(width: int) -> tuple[Column, ...]:
    """The most important columns that fit in `width` cells, in their natural order."""
    chosen: set[str] = set()
    used = SCROLLBAR_WIDTH
    for column in sorted(COLUMNS, key=lambda c: c.priority):
        need = column.width + CELL_PADDING
        if column.priority == 1 or used + need <= width:
            chosen.add(column.key)
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
    # Computed with the row, off the event loop, so that the table's diff only compares.
    signatures: dict[str, CellSignature] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "signatures",
                           {k: cell_signature(v) for k, v in self.cells.items()})


def sparkline(values: Sequence[float], width: int = TREND_WIDTH) -> str:
    """Unicode bars scaled to the largest value; values are averaged into `width` buckets."""
    points = [float(v) for v in values]
    if len(points) > width:
        size = len(points) / width
        buckets = [points[int(i * size):int((i + 1) * size)] for i in range(width)]
        points = [_mean(bucket) for bucket in buckets]
    clean = [v for v in points if not math.isnan(v)]
    if not clean:
        return "-"
    top = max(clean) or 1.0
    return "".join(" " if math.isnan(v) else SPARK[min(7, int(v / top * 7.999))] for v in points)


def _mean(values: Sequence[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return sum(clean) / len(clean) if clean else math.nan


def fmt(value: float | None, digits: int = 0, dash: str = "-") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
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


def fmt_usd(value: float | None, dash: str = "?") -> str:
    if value is None or math.isnan(value):
        return dash
    sign = "-" if value < 0 else ""
    amount = abs(value)
    return f"{sign}${amount:,.0f}" if amount >= 10 else f"{sign}${amount:,.2f}"


def fmt_ms(value: float | None) -> str:
    """Latency in milliseconds, switching to seconds where milliseconds get too wide to read."""
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.1f}" if value < 1000 else f"{value / 1000:,.1f}s"


def savings_cell(value: float | None) -> Text:
    """Positive savings in green; a negative number means the advice costs more (it buys safety)."""
    if value is None or abs(value) < 0.005:
        return Text("-")
    return Text(fmt_usd(value), style="green" if value > 0 else "red")


# Deployment options abbreviated to fit the column; the endpoint pane shows them in full.
OPTION_LABELS = {"multi-container": "multi-cont", "inference-components": "inf-comp"}


def variant_shape(variant: VariantSnapshot) -> str:
    if variant.serverless:
        memory_mb = variant.serverless.memory_mb
        size = f"{memory_mb // 1024}GB" if memory_mb % 1024 == 0 else f"{memory_mb}MB"
        return f"serverless {size}"
    instance_type = outside(variant.instance_type or "?", 40).removeprefix("ml.")
    return f"{variant.current_instance_count}x{instance_type}"


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
class Measures:
    """What one row shows of the metrics, before formatting."""

    rpm: float | None
    trend: str
    trend_total: float
    p99_ms: float | None
    busiest: tuple[float, str] | None
    errors: float | None


def _by_endpoint(frame: pd.DataFrame, how: str) -> pd.DataFrame:
    """Columns (endpoint key, variant) combined into one column per endpoint key."""
    grouped = frame.T.groupby(level=0)
    combined = grouped.sum(min_count=1) if how == "sum" else grouped.max()
    return combined.T


def fleet_measures(fleet: FleetSnapshot) -> dict[str, Measures]:
    """Every endpoint's measures at once: one pandas pass per series, then plain dictionaries.

    Selecting from frames per endpoint costs milliseconds each; for a thousand endpoints that
    would hold the UI for seconds on every refresh.
    """
    store = fleet.metrics
    live_frame = store.live.get("requests")
    live = (_by_endpoint(live_frame, "sum").ffill().iloc[-1].to_dict()
            if live_frame is not None and not live_frame.empty else {})
    hourly_frame = store.hourly.get("requests")
    hourly: dict[str, list[float]] = {}
    if hourly_frame is not None and not hourly_frame.empty:
        recent = _by_endpoint(hourly_frame.tail(TREND_HOURS), "sum")
        hourly = dict(zip(recent.columns, recent.to_numpy(dtype=float).T.tolist(), strict=True))
    window = store.window
    columns = set(window.columns)

    def per_endpoint(series: str, how: str) -> dict[str, float]:
        if window.empty or series not in columns:
            return {}
        grouped = window[series].groupby(level=0)
        result = grouped.sum(min_count=1) if how == "sum" else grouped.max()
        return {str(k): float(v) for k, v in result.dropna().items()}

    p99 = per_endpoint("model_latency_p99_us", "max")
    errors = per_endpoint("errors_5xx", "sum")
    loads = {label: per_endpoint(series, "max") for series, label in BUSIEST_SERIES}
    measures: dict[str, Measures] = {}
    for endpoint in fleet.endpoints:
        key = endpoint.key
        trend_values = hourly.get(key, [])
        counted = loads if _gpu_memory_is_load(endpoint.variants) else {
            label: values for label, values in loads.items() if label != "gmem"}
        candidates = [(values[key], label) for label, values in counted.items() if key in values]
        rpm = live.get(key)
        p99_us = p99.get(key)
        measures[key] = Measures(
            rpm=None if rpm is None or math.isnan(rpm) else float(rpm),
            trend=sparkline(trend_values),
            trend_total=math.fsum(v for v in trend_values if not math.isnan(v)),
            p99_ms=None if p99_us is None else p99_us / 1000.0,  # CloudWatch: microseconds
            busiest=max(candidates) if candidates else None,
            errors=errors.get(key),
        )
    return measures


def measure(fleet: FleetSnapshot, key: str, variants: Sequence[VariantSnapshot],
            only: str | None) -> Measures:
    """One endpoint's (or one variant's, with `only`) measures; for the few expanded rows."""
    store = fleet.metrics

    def values(series: str) -> list[float]:
        found = [store.window_value(key, v.name, series) for v in variants]
        return [v for v in found if v is not None]

    live = summed_series(fleet, "live", "requests", key, only).dropna()
    hourly = summed_series(fleet, "hourly", "requests", key, only).tail(TREND_HOURS)
    trend = sparkline(hourly.tolist()) if len(hourly) else sparkline(live.tolist())
    p99s = values("model_latency_p99_us")
    counted = [(series, label) for series, label in BUSIEST_SERIES
               if label != "gmem" or _gpu_memory_is_load(variants)]
    candidates = [(value, label) for series, label in counted for value in values(series)]
    errors = values("errors_5xx")
    return Measures(
        rpm=float(live.iloc[-1]) if len(live) else None,
        trend=trend,
        trend_total=float(hourly.sum()) if len(hourly) else 0.0,
        p99_ms=max(p99s) / 1000.0 if p99s else None,  # CloudWatch reports microseconds
        busiest=max(candidates) if candidates else None,
        errors=sum(errors) if errors else None,
    )


def _busiest_cell(busiest: tuple[float, str] | None) -> Text:
    if busiest is None:
        return Text("-")
    value, label = busiest
    style = "bold red" if value >= 85 else ("yellow" if value < 10 else "")
    return Text(f"{label} {value:.0f}%", style=style)


def drift_cell(endpoint: EndpointSnapshot, findings: Sequence[Finding]) -> tuple[Text, float]:
    """The drift state and its sort rank: violations, watched, unknown or not monitored."""
    monitor = endpoint.monitor
    if monitor.violation_count or any(f.kind.value == "drift" for f in findings):
        count = monitor.violation_count
        return Text(f"violations {count}" if count else "drifting", style="red"), 3.0
    if monitor.error:
        return Text("unknown", style="yellow"), 2.0
    if monitor.schedules:
        return Text("watched", style="green"), 1.0
    return Text("-"), 0.0


def endpoint_row(endpoint: EndpointSnapshot, measures: Measures,
                 findings: Sequence[Finding] = (), monthly_cost_usd: float | None = None,
                 possible_savings_usd: float | None = None) -> RowData:
    """The row of one endpoint: counts summed over variants, the worst variant for peaks."""
    key = endpoint.key
    drift, drift_rank = drift_cell(endpoint, findings)
    worst = findings[0] if findings else None
    finding_cell = Text("-") if worst is None else Text(
        worst.kind.value + (f" +{len(findings) - 1}" if len(findings) > 1 else ""),
        style=SEVERITY_STYLE[worst.severity])
    status_style = {"Failed": "bold red", "InService": "", "OutOfService": "bold red"}.get(
        endpoint.status, "yellow")
    shapes = ", ".join(variant_shape(v) for v in endpoint.serving_variants) or "-"
    expandable = len(endpoint.variants) > 1
    # Names and tags come from the account: plain Text, never parsed as markup, and inert.
    name = Text(("▸ " if expandable else "  ") + outside(endpoint.name))
    cells: dict[str, str | Text] = {
        "endpoint": name,
        "status": Text(outside(endpoint.status, 40), style=status_style),
        "option": OPTION_LABELS.get(endpoint.deployment.value, endpoint.deployment.value),
        "shape": Text(shapes),
        "rpm": fmt_count(measures.rpm),
        "trend": measures.trend,
        "p99": fmt_ms(measures.p99_ms),
        "busiest": _busiest_cell(measures.busiest),
        "errors": Text(fmt_count(measures.errors), style="red" if measures.errors else ""),
        "drift": drift,
        "cost": fmt_usd(monthly_cost_usd),
        "savings": savings_cell(possible_savings_usd),
        "finding": finding_cell,
        "region": outside(endpoint.region, 40),
    }
    sort_values: dict[str, float | str] = {
        "endpoint": endpoint.name.lower(), "status": endpoint.status,
        "option": endpoint.deployment.value, "shape": shapes, "rpm": _num(measures.rpm),
        "trend": measures.trend_total, "p99": _num(measures.p99_ms),
        "busiest": _num(measures.busiest[0] if measures.busiest else None),
        "errors": _num(measures.errors), "drift": drift_rank,
        "cost": _num(monthly_cost_usd), "savings": _num(possible_savings_usd),
        "finding": float(SEVERITY_RANK[worst.severity]) if worst else 0.0,
        "region": endpoint.region,
    }
    search = " ".join([endpoint.name, endpoint.region, endpoint.deployment.value,
                       *(f"{k}={v}" for k, v in endpoint.tags.items()),
                       *(f.kind.value for f in findings)]).lower()
    return RowData(key, cells, sort_values, search, endpoint.region,
                   worst.kind.value if worst else "")


def fleet_rows(fleet: FleetSnapshot, analysis: FleetAnalysis | None) -> list[RowData]:
    """Every endpoint's row; the analysis (possibly of an earlier snapshot) adds the advice."""
    measures = fleet_measures(fleet)
    rows = []
    for endpoint in fleet.endpoints:
        advice = analysis.endpoints.get(endpoint.key) if analysis is not None else None
        measured = measures[endpoint.key]
        if advice is None:
            rows.append(endpoint_row(endpoint, measured))
        else:
            # The best single suggestion's saving: cheap to know, unlike the accepted set's,
            # which builds the endpoint's profiles.
            rows.append(endpoint_row(endpoint, measured, advice.findings,
                                     advice.monthly_cost_usd, advice.possible_savings_usd))
    return rows


def variant_row(endpoint: EndpointSnapshot, variant: VariantSnapshot,
                fleet: FleetSnapshot) -> dict[str, str | Text]:
    """The cells of one variant under its expanded endpoint row."""
    measures = measure(fleet, endpoint.key, (variant,), variant.name)
    role = "shadow" if variant.shadow else f"weight {variant.weight:g}"
    scaling = variant.autoscaling
    return {
        "endpoint": Text(f"  └ {outside(variant.name)}", style="dim"),
        "status": Text(role, style="dim"),
        "option": Text("autoscales" if scaling and scaling.scales else "fixed", style="dim"),
        "shape": Text(variant_shape(variant)),
        "rpm": fmt_count(measures.rpm),
        "trend": measures.trend,
        "p99": fmt_ms(measures.p99_ms),
        "busiest": _busiest_cell(measures.busiest),
        "errors": fmt_count(measures.errors),
        "drift": "",
        "cost": "",
        "savings": "",
        "finding": "",
        "region": "",
    }


def _num(value: float | None) -> float:
    # Unknown sorts below every real value, including zero.
    return -1.0 if value is None else float(value)


def matches(row: RowData, query: str) -> bool:
    """`/` filter: every word must appear in the name, a tag, the region or a finding kind."""
    return all(word in row.search_text for word in query.lower().split())
