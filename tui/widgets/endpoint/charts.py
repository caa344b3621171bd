"""Metric charts for the endpoint pane: a label, a sparkline, the latest and the peak value.

The line is text (the look's glyphs: block characters, or ASCII off UTF-8) and a minute with no
datapoint stays blank: a gap is not drawn as a zero, and an idle endpoint's latency reads "-".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Static

from ground.domain import EndpointSnapshot, FleetSnapshot
from tui.look import DEFAULT_LOOK, Look
from tui.rows import fmt, peak_series, sparkline, summed_series


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
    """The points to plot, NaN where nothing was measured (the collector has already put
    zeros where an endpoint served and nobody called)."""
    pick = summed_series if spec.combine == "sum" else peak_series
    series: pd.Series = pick(fleet, spec.tier, spec.series, key)
    if series.empty:
        return []
    return [float(v) / spec.scale for v in series.tolist()]


def chart_summary(spec: ChartSpec, values: Sequence[float], look: Look = DEFAULT_LOOK) -> Text:
    measured = [v for v in values if not math.isnan(v)]
    if not measured:
        return Text("no data", style=look.palette.muted)
    digits = 1 if spec.unit in ("ms", "%") else 0
    latest = values[-1]
    now = "-" if math.isnan(latest) else f"{fmt(latest, digits)}{spec.unit}"
    return Text(f"now {now}  max {fmt(max(measured), digits)}{spec.unit}")


class SparkLine(Static):
    """The values as one line of bars as wide as the widget."""

    def __init__(self, *, classes: str) -> None:
        super().__init__(classes=classes)
        self.values: list[float] = []
        self.levels = DEFAULT_LOOK.glyphs.spark
        self.style_of_bars = ""
        self.from_zero = True

    def show(self, values: list[float], look: Look, from_zero: bool) -> None:
        self.values = values
        self.from_zero = from_zero
        self.levels = look.glyphs.spark
        self.style_of_bars = look.palette.info
        self.refresh()

    def render(self) -> Text:
        width = max(1, self.size.width)
        if not self.values:
            return Text("")
        return Text(sparkline(self.values, width, self.levels, self.from_zero),
                    style=self.style_of_bars)


class ChartRow(Horizontal):
    """A labelled sparkline of one series, its latest and its highest value."""

    def __init__(self, spec: ChartSpec) -> None:
        super().__init__(classes="chart")
        self.spec = spec

    def compose(self) -> ComposeResult:
        yield Label(self.spec.label, classes="chart-label")
        yield SparkLine(classes="chart-line")
        yield Static("", classes="chart-value")

    def plot(self, fleet: FleetSnapshot, endpoint: EndpointSnapshot,
             look: Look = DEFAULT_LOOK) -> None:
        values = chart_values(self.spec, fleet, endpoint.key)
        self.display = bool(values) or self.spec.series in ("requests", "errors_5xx")
        self.query_one(SparkLine).show(values, look, from_zero=self.spec.combine == "sum")
        self.query_one(".chart-value", Static).update(chart_summary(self.spec, values, look))
