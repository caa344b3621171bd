"""Metric charts for the endpoint pane: a label, Textual's Sparkline, the latest and peak value."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Sparkline, Static

from ground.domain import EndpointSnapshot, FleetSnapshot
from tui.rows import fmt, peak_series, summed_series


@dataclass(frozen=True)
class ChartSpec:
    """One chart: which series, at which tier, how variants combine and how values read."""

    label: str
    tier: str  # "live" (minutes) or "hourly" (the lookback)
    series: str
    combine: str  # "sum" for counts, "max" for latency and utilisation
    unit: str
    scale: float = 1.0  # latency arrives in microseconds and reads in milliseconds


LIVE_CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec("requests/min", "live", "requests", "sum", ""),
    ChartSpec("p99 latency", "live", "model_latency_p99_us", "max", "ms", 1000.0),
    ChartSpec("cpu/instance", "live", "cpu_avg_pct", "max", "%"),
    ChartSpec("memory", "live", "memory_avg_pct", "max", "%"),
    ChartSpec("gpu/instance", "live", "gpu_avg_pct", "max", "%"),
    ChartSpec("5XX/min", "live", "errors_5xx", "sum", ""),
)
HISTORY_CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec("requests/hour", "hourly", "requests", "sum", ""),
    ChartSpec("p99 latency", "hourly", "model_latency_p99_us", "max", "ms", 1000.0),
    ChartSpec("5XX/hour", "hourly", "errors_5xx", "sum", ""),
)


def chart_values(spec: ChartSpec, fleet: FleetSnapshot, key: str) -> list[float]:
    """The points to plot; gaps become zero for counts and carry the last value for gauges."""
    pick = summed_series if spec.combine == "sum" else peak_series
    series: pd.Series = pick(fleet, spec.tier, spec.series, key)
    if series.empty:
        return []
    filled = series.fillna(0.0) if spec.combine == "sum" else series.ffill().fillna(0.0)
    return [float(v) / spec.scale for v in filled.tolist()]


def chart_summary(spec: ChartSpec, values: Sequence[float]) -> Text:
    if not values:
        return Text("no data", style="dim")
    digits = 1 if spec.unit in ("ms", "%") else 0
    peak = max(v for v in values if not math.isnan(v))
    return Text(f"now {fmt(values[-1], digits)}{spec.unit}  max {fmt(peak, digits)}{spec.unit}")


class ChartRow(Horizontal):
    """A labelled sparkline of one series, its latest and its highest value."""

    def __init__(self, spec: ChartSpec) -> None:
        super().__init__(classes="chart")
        self.spec = spec

    def compose(self) -> ComposeResult:
        yield Label(self.spec.label, classes="chart-label")
        yield Sparkline([], classes="chart-line")
        yield Static("", classes="chart-value")

    def plot(self, fleet: FleetSnapshot, endpoint: EndpointSnapshot) -> None:
        values = chart_values(self.spec, fleet, endpoint.key)
        self.display = bool(values) or self.spec.series in ("requests", "errors_5xx")
        self.query_one(Sparkline).data = values
        self.query_one(".chart-value", Static).update(chart_summary(self.spec, values))
