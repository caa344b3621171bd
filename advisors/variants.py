"""A/B and shadow tests: each variant of a multi-variant endpoint against the main one.

The test period starts when the endpoint's current configuration was created (that is when its
variants and weights were set) and ends at the last complete hour. Per variant: traffic share and
requests, p50/p99 model latency (the median of the hourly percentiles), 4XX/5XX rates, utilisation
over the lookback, and cost per 1,000 requests. Each challenger is compared with the baseline (the
serving variant with the largest weight) by a Mann-Whitney U test on the hourly p99 (and p50) and
a two-proportion z-test on 5XX (and 4XX) counts, so the pane can say "ModelB is 35 % slower at
p99 (significant over 4 days)" or "not enough traffic yet to tell".
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict

from advisors.cost import variant_monthly_cost
from advisors.limits import MICROSECONDS_PER_MS
from advisors.settings import AdvisorSettings
from advisors.stats import mann_whitney_u, two_proportion_z
from ground.domain import EndpointSnapshot, FleetSnapshot, VariantSnapshot
from ground.pricing import HOURS_PER_MONTH, PriceBook


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VariantStats(_Model):
    name: str
    shadow: bool
    weight: float
    weight_share: float | None  # of the serving variants' weights; None for shadows
    shape: str  # "2x ml.c5.xlarge" or "serverless 2048 MB"
    requests: float | None  # over the test period; None: no data
    traffic_share: float | None  # of the serving variants' requests; shadows: of production's
    hours_with_traffic: int
    latency_p50_ms: float | None  # median of the hourly p50 over the test period
    latency_p99_ms: float | None  # median of the hourly p99
    error_5xx_rate: float | None  # fraction of requests
    error_4xx_rate: float | None
    errors_5xx: float | None
    errors_4xx: float | None
    cpu_p95_pct: float | None  # per instance, over the lookback
    memory_p95_pct: float | None
    gpu_p95_pct: float | None
    cost_per_1k_requests_usd: float | None
    cost_source: str
    idle_hours: int  # trailing hours with a measured zero requests (for a finished test)


class Comparison(_Model):
    """One metric of a challenger against the baseline."""

    metric: str  # p99 | p50 | 5XX | 4XX
    baseline: float | None  # ms for latency, fraction for rates
    challenger: float | None
    relative_change: float | None  # challenger / baseline - 1
    p_value: float | None
    significant: bool
    note: str = ""  # why there is no test


class VariantVerdict(_Model):
    challenger: str
    baseline: str
    enough_data: bool
    comparisons: tuple[Comparison, ...] = ()
    better: str | None = None  # the variant the evidence favours; None: no difference or mixed
    summary: str


class VariantComparison(_Model):
    endpoint: str
    kind: str  # a/b | shadow | a/b with shadow
    started_at: dt.datetime | None  # when the current configuration (variants, weights) began
    period_start: dt.datetime | None
    period_end: dt.datetime | None
    hours: int
    variants: tuple[VariantStats, ...]
    verdicts: tuple[VariantVerdict, ...]
    significance_level: float

    @property
    def age_days(self) -> float | None:
        if self.started_at is None or self.period_end is None:
            return None
        return max((self.period_end - self.started_at).total_seconds() / 86400.0, 0.0)

    def variant(self, name: str) -> VariantStats | None:
        return next((v for v in self.variants if v.name == name), None)


def p_text(p_value: float | None) -> str:
    if p_value is None:
        return "no test"
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"


def _days_text(hours: int) -> str:
    return f"{hours / 24:.0f} days" if hours >= 48 else f"{hours} hours"


SERIES = ("requests", "errors_5xx", "errors_4xx", "model_latency_p50_us", "model_latency_p99_us")


class HourlyMatrix:
    """One hourly series of the whole fleet as one numpy matrix, columns by (endpoint, variant).

    Built once per advisor pass: slicing a pandas frame per endpoint, variant and series would
    cost a millisecond each, seconds over a fleet with hundreds of A/B endpoints.
    """

    def __init__(self, frame: pd.DataFrame | None) -> None:
        frame = frame if frame is not None else pd.DataFrame()
        self.columns = {(str(c[0]), str(c[1])): i for i, c in enumerate(frame.columns)}
        self.values = frame.to_numpy(dtype="float64") if len(frame.columns) else \
            np.empty((len(frame.index), 0))
        self.index = pd.DatetimeIndex(frame.index) if len(frame.index) else \
            pd.DatetimeIndex([], tz="UTC")
        self.stamps = self.index.as_unit("s").asi8

    def column(self, key: str, variant: str) -> npt.NDArray[np.float64]:
        position = self.columns.get((key, variant))
        if position is None:
            return np.full(len(self.stamps), np.nan)
        result: npt.NDArray[np.float64] = self.values[:, position]
        return result


def hourly_matrices(fleet: FleetSnapshot) -> dict[str, HourlyMatrix]:
    return {name: HourlyMatrix(fleet.metrics.hourly.get(name)) for name in SERIES}


class _Hourly:
    """One series of one endpoint over the test period."""

    def __init__(self, matrix: HourlyMatrix, key: str, start: pd.Timestamp) -> None:
        self.matrix = matrix
        self.key = key
        self.in_period = matrix.stamps >= int(start.timestamp())
        self.index = matrix.index

    def all_of(self, variant: str) -> npt.NDArray[np.float64]:
        return self.matrix.column(self.key, variant)

    def period_of(self, variant: str) -> npt.NDArray[np.float64]:
        result: npt.NDArray[np.float64] = self.all_of(variant)[self.in_period]
        return result


def _total(values: npt.NDArray[np.float64]) -> float | None:
    """The sum of what is known; None when nothing is (no data is not zero)."""
    known = values[~np.isnan(values)]
    return float(known.sum()) if len(known) else None


def _median_ms(values: npt.NDArray[np.float64]) -> float | None:
    known = values[~np.isnan(values)]
    return float(np.median(known)) / MICROSECONDS_PER_MS if len(known) else None


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _shape(variant: VariantSnapshot) -> str:
    if variant.serverless is not None:
        return f"serverless {variant.serverless.memory_mb} MB"
    return f"{variant.current_instance_count}x {variant.instance_type or '?'}"


def _trailing_idle_hours(requests: npt.NDArray[np.float64]) -> int:
    """Hours at the end of the series with a measured zero (NaN breaks the run: no data)."""
    broken = np.flatnonzero(np.isnan(requests[::-1]) | (requests[::-1] != 0))
    return int(broken[0]) if len(broken) else len(requests)


def _latency(base: npt.NDArray[np.float64], other: npt.NDArray[np.float64], metric: str,
             level: float) -> Comparison:
    a, b = base[~np.isnan(base)], other[~np.isnan(other)]
    baseline, challenger = _median_ms(a), _median_ms(b)
    change = (challenger / baseline - 1.0) if baseline and challenger is not None else None
    result = mann_whitney_u(b, a)
    if result is None:
        return Comparison(metric=metric, baseline=baseline, challenger=challenger,
                          relative_change=change, p_value=None, significant=False,
                          note="no latency datapoints to compare")
    return Comparison(metric=metric, baseline=baseline, challenger=challenger,
                      relative_change=change, p_value=result.p_value,
                      significant=result.p_value < level)


def _rate(base: VariantStats, other: VariantStats, metric: str, level: float) -> Comparison:
    field = "errors_5xx" if metric == "5XX" else "errors_4xx"
    base_errors, other_errors = getattr(base, field), getattr(other, field)
    base_rate = getattr(base, f"error_{metric.lower()}_rate")
    other_rate = getattr(other, f"error_{metric.lower()}_rate")
    change = (other_rate / base_rate - 1.0) if base_rate and other_rate is not None else None
    if base_errors is None or other_errors is None or not base.requests or not other.requests:
        return Comparison(metric=metric, baseline=base_rate, challenger=other_rate,
                          relative_change=change, p_value=None, significant=False,
                          note=f"no {metric} data")
    if base_errors + other_errors < 5:
        # The normal approximation needs a few events; with almost none both are clean.
        return Comparison(metric=metric, baseline=base_rate, challenger=other_rate,
                          relative_change=change, p_value=None, significant=False,
                          note=f"{base_errors + other_errors:.0f} {metric} in total: "
                               "too few to compare")
    result = two_proportion_z(other_errors, other.requests, base_errors, base.requests)
    if result is None:
        return Comparison(metric=metric, baseline=base_rate, challenger=other_rate,
                          relative_change=change, p_value=None, significant=False,
                          note="no variance to test")
    return Comparison(metric=metric, baseline=base_rate, challenger=other_rate,
                      relative_change=change, p_value=result.p_value,
                      significant=result.p_value < level)


def _better(challenger: str, baseline: str, comparisons: Sequence[Comparison]) -> str | None:
    worse = [c for c in comparisons if c.significant and (c.relative_change or 0) > 0]
    better = [c for c in comparisons if c.significant and (c.relative_change or 0) < 0]
    if worse and not better:
        return baseline
    if better and not worse:
        return challenger
    return None


def _summary(challenger: VariantStats, baseline: VariantStats,
             comparisons: Sequence[Comparison], hours: int) -> str:
    over = _days_text(hours)
    latency: list[str] = []
    rates: list[str] = []
    for c in comparisons:
        if not c.significant or c.relative_change is None:
            continue
        if c.metric in ("p99", "p50"):
            word = "slower" if c.relative_change > 0 else "faster"
            latency.append(f"{abs(c.relative_change) * 100:.0f} % {word} at {c.metric}")
        else:
            rates.append(f"{1.0 + c.relative_change:.1f}x its {c.metric} rate")
    if latency or rates:
        strongest = min((c.p_value for c in comparisons if c.significant and c.p_value
                         is not None), default=None)
        text = (f"{challenger.name} is " + " and ".join(latency) + f" than {baseline.name}"
                if latency else f"{challenger.name}, against {baseline.name}")
        if rates:
            text += ", with " + " and ".join(rates)
        return f"{text} (significant over {over}, {p_text(strongest)})"
    p99 = next((c for c in comparisons if c.metric == "p99"), None)
    change = (f"{p99.relative_change * 100:+.0f} % at p99, {p_text(p99.p_value)}"
              if p99 is not None and p99.relative_change is not None else "")
    return (f"{challenger.name} and {baseline.name} do not differ significantly over {over}"
            + (f" ({change})" if change else ""))


def compare_variants(endpoint: EndpointSnapshot, fleet: FleetSnapshot, prices: PriceBook,
                     settings: AdvisorSettings,
                     matrices: dict[str, HourlyMatrix] | None = None
                     ) -> VariantComparison | None:
    """The comparison of an endpoint with several variants (shadow included); else None.

    `matrices` (from `hourly_matrices`) lets a pass over the fleet share one extraction."""
    if len(endpoint.variants) < 2 or not endpoint.described:
        return None
    metrics = fleet.metrics
    matrices = matrices or hourly_matrices(fleet)
    started = endpoint.config_creation_time or endpoint.last_modified_time
    start = pd.Timestamp(started).floor("h")
    frames = {name: _Hourly(matrices[name], endpoint.key, start) for name in SERIES}
    period = frames["requests"].index[frames["requests"].in_period]
    hours = len(period)
    stats: list[VariantStats] = []
    serving_weight = sum(v.weight for v in endpoint.serving_variants) or None
    for variant in endpoint.variants:
        requests = frames["requests"].period_of(variant.name)
        total = _total(requests)
        errors5 = _total(frames["errors_5xx"].period_of(variant.name))
        errors4 = _total(frames["errors_4xx"].period_of(variant.name))
        cost = variant_monthly_cost(endpoint, variant, fleet, prices)
        per_1k = (cost.usd / HOURS_PER_MONTH * hours / total * 1000.0
                  if cost.usd is not None and total and hours else None)
        stats.append(VariantStats(
            name=variant.name, shadow=variant.shadow, weight=variant.weight,
            weight_share=(variant.weight / serving_weight
                          if serving_weight and not variant.shadow else None),
            shape=_shape(variant), requests=total, traffic_share=None,
            hours_with_traffic=int(np.sum(requests > 0)),
            latency_p50_ms=_median_ms(frames["model_latency_p50_us"].period_of(variant.name)),
            latency_p99_ms=_median_ms(frames["model_latency_p99_us"].period_of(variant.name)),
            error_5xx_rate=errors5 / total if total and errors5 is not None else None,
            error_4xx_rate=errors4 / total if total and errors4 is not None else None,
            errors_5xx=errors5, errors_4xx=errors4,
            cpu_p95_pct=metrics.window_value(endpoint.key, variant.name, "cpu_p95_pct"),
            memory_p95_pct=metrics.window_value(endpoint.key, variant.name, "memory_p95_pct"),
            gpu_p95_pct=metrics.window_value(endpoint.key, variant.name, "gpu_p95_pct"),
            cost_per_1k_requests_usd=per_1k, cost_source=cost.source,
            idle_hours=_trailing_idle_hours(frames["requests"].all_of(variant.name))))
    serving_total = sum(s.requests or 0.0 for s in stats if not s.shadow)
    stats = [s.model_copy(update={"traffic_share": (s.requests / serving_total)
                                  if serving_total and s.requests is not None else None})
             for s in stats]
    serving = [s for s in stats if not s.shadow]
    baseline = max(serving, key=lambda s: s.weight, default=None)
    verdicts = [] if baseline is None else [
        _verdict(challenger, baseline, frames, settings, hours)
        for challenger in stats if challenger is not baseline]
    shadows = any(s.shadow for s in stats)
    kind = ("shadow" if len(serving) == 1 else "a/b with shadow") if shadows else "a/b"
    return VariantComparison(
        endpoint=endpoint.key, kind=kind, started_at=started,
        period_start=period[0].to_pydatetime() if hours else None,
        period_end=(period[-1] + pd.Timedelta(hours=1)).to_pydatetime() if hours else None,
        hours=hours, variants=tuple(stats), verdicts=tuple(verdicts),
        significance_level=settings.ab_significance_level)


def _verdict(challenger: VariantStats, baseline: VariantStats, frames: dict[str, _Hourly],
             settings: AdvisorSettings, hours: int) -> VariantVerdict:
    if not challenger.shadow and challenger.weight == 0:
        return VariantVerdict(
            challenger=challenger.name, baseline=baseline.name, enough_data=False,
            summary=f"{challenger.name} has weight 0: no traffic is routed to it"
                    + (f" (none for {challenger.idle_hours} hours)"
                       if challenger.idle_hours else ""))
    short = [s for s in (challenger, baseline)
             if (s.requests or 0) < settings.ab_min_requests
             or s.hours_with_traffic < settings.ab_min_hours]
    if short:
        detail = "; ".join(f"{s.name} has {s.requests or 0:,.0f} requests over "
                           f"{s.hours_with_traffic} hours" for s in short)
        return VariantVerdict(
            challenger=challenger.name, baseline=baseline.name, enough_data=False,
            summary=f"not enough traffic yet to tell: {detail} (a comparison needs "
                    f"{settings.ab_min_requests:,} requests and {settings.ab_min_hours} hours "
                    "with traffic on each)")
    level = settings.ab_significance_level
    p50, p99 = frames["model_latency_p50_us"], frames["model_latency_p99_us"]
    comparisons = (_latency(p99.period_of(baseline.name), p99.period_of(challenger.name), "p99",
                            level),
                   _latency(p50.period_of(baseline.name), p50.period_of(challenger.name), "p50",
                            level),
                   _rate(baseline, challenger, "5XX", level),
                   _rate(baseline, challenger, "4XX", level))
    return VariantVerdict(
        challenger=challenger.name, baseline=baseline.name, enough_data=True,
        comparisons=comparisons, better=_better(challenger.name, baseline.name, comparisons),
        summary=_summary(challenger, baseline, comparisons, hours))
