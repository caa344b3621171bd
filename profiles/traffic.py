"""The traffic pattern of an endpoint, read from its hourly request counts.

Six patterns, decided in this order because each test assumes the earlier ones failed:
idle (no request at all), periodic (requests come in the same few hours of most days: a nightly
job), intermittent (mostly quiet hours, no fixed time), diurnal (busy every hour, with a daily
rhythm), spiky (busy, with bursts well above the usual hour) and steady (none of the above).
Missing hours (NaN) are unknown, never zero: only counted hours take part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from profiles.model import TrafficPattern


@dataclass(frozen=True)
class TrafficThresholds:
    # Hours of data below which no pattern is named: a daily rhythm needs at least one day.
    min_hours: int = 24
    # Share of hours with at least one request under which traffic is "mostly quiet"
    # (periodic or intermittent). 0.5: the endpoint waits more than it works.
    quiet_max_active_hour_fraction: float = 0.5
    # A periodic job's requests fall into at most this many hours of the day...
    periodic_hours_of_day: int = 4
    # ...which hold at least this share of all requests (0.9: nine in ten at the scheduled time)...
    periodic_min_share: float = 0.9
    # ...on at least this share of the days observed (0.7 accepts weekday-only jobs: 5/7).
    periodic_min_day_fraction: float = 0.7
    # Share of the hourly variance explained by the hour of day above which traffic is diurnal.
    # With 14 days of noise alone it explains about 7 %; 0.5 means the rhythm dominates.
    diurnal_min_r2: float = 0.5
    # (busiest - quietest hour of the average day) / mean hour above which the rhythm matters
    # for capacity; below it a daily ripple on steady traffic stays "steady".
    diurnal_min_swing: float = 0.5
    # Busiest hour / median hour at or above which traffic is spiky: 4x is a burst no steady
    # fleet sized for the median absorbs.
    spiky_min_peak_to_median: float = 4.0
    # Coefficient of variation (std / mean of hourly requests) above which busy traffic without a
    # daily rhythm is called spiky rather than steady.
    steady_max_cv: float = 0.5


DEFAULT_THRESHOLDS = TrafficThresholds()


@dataclass(frozen=True)
class TrafficAssessment:
    pattern: TrafficPattern | None  # None: not enough data to say
    hours_observed: int
    total_requests: float
    requests_per_day: float | None
    active_hour_fraction: float | None
    diurnal_r2: float | None
    peak_to_median: float | None
    cv: float | None
    top_hours_share: float | None
    reason: str


def _hour_of_day(index: pd.Index) -> np.ndarray:
    timestamps = pd.DatetimeIndex(index)
    hours: np.ndarray = np.asarray(timestamps.hour, dtype=np.int64)
    return hours


def _day(index: pd.Index) -> np.ndarray:
    timestamps = pd.DatetimeIndex(index)
    days: np.ndarray = np.asarray(timestamps.normalize().asi8, dtype=np.int64)
    return days


def classify_traffic(hourly_requests: pd.Series,
                     thresholds: TrafficThresholds = DEFAULT_THRESHOLDS) -> TrafficAssessment:
    """Classify an endpoint's hourly request counts (index: UTC hours; NaN = no data)."""
    counts = hourly_requests.dropna().astype(float).sort_index()
    hours = len(counts)
    total = float(counts.sum())
    if hours < thresholds.min_hours:
        return TrafficAssessment(None, hours, total, None, None, None, None, None, None,
                                 f"only {hours} h of request data; need {thresholds.min_hours} h")
    per_day = total / hours * 24.0
    if total <= 0.0:
        return TrafficAssessment(TrafficPattern.IDLE, hours, 0.0, 0.0, 0.0, None, None, None, None,
                                 f"no request in {hours} h observed")

    values = counts.to_numpy()
    hour_of_day = _hour_of_day(counts.index)
    days = _day(counts.index)
    day_count = len(np.unique(days))
    active = values > 0
    active_fraction = float(active.mean())

    by_hour = pd.Series(values).groupby(hour_of_day).sum().sort_values(ascending=False)
    top_hours = by_hour.index[: thresholds.periodic_hours_of_day].to_numpy()
    top_share = float(by_hour.iloc[: thresholds.periodic_hours_of_day].sum() / total)

    if active_fraction < thresholds.quiet_max_active_hour_fraction:
        in_top_hours = np.isin(hour_of_day, top_hours)
        days_with_burst = len(np.unique(days[active & in_top_hours]))
        day_fraction = days_with_burst / day_count
        if (day_count >= 2 and top_share >= thresholds.periodic_min_share
                and day_fraction >= thresholds.periodic_min_day_fraction):
            hours_text = ", ".join(f"{int(h):02d}:00" for h in sorted(top_hours))
            return TrafficAssessment(
                TrafficPattern.PERIODIC, hours, total, per_day, active_fraction, None, None, None,
                top_share,
                f"{top_share:.0%} of requests fall in {hours_text} UTC on "
                f"{days_with_burst} of {day_count} days; {active_fraction:.0%} of hours active")
        return TrafficAssessment(
            TrafficPattern.INTERMITTENT, hours, total, per_day, active_fraction, None, None, None,
            top_share,
            f"requests in only {active_fraction:.0%} of hours, at no fixed time of day "
            f"(busiest {thresholds.periodic_hours_of_day} hours of day hold {top_share:.0%})")

    mean = float(values.mean())
    cv = float(values.std() / mean)
    median = float(np.median(values))
    peak_to_median = float(values.max() / median) if median > 0 else float("inf")
    r2: float | None = None
    if day_count >= 2:
        profile = pd.Series(values).groupby(hour_of_day).transform("mean").to_numpy()
        total_variance = float(values.var())
        r2 = float(profile.var() / total_variance) if total_variance > 0 else 0.0
        hour_means = pd.Series(values).groupby(hour_of_day).mean()
        swing = float((hour_means.max() - hour_means.min()) / mean)
        if r2 >= thresholds.diurnal_min_r2 and swing >= thresholds.diurnal_min_swing:
            return TrafficAssessment(
                TrafficPattern.DIURNAL, hours, total, per_day, active_fraction, r2,
                peak_to_median, cv, top_share,
                f"the hour of day explains {r2:.0%} of the variation; the average day swings "
                f"{swing:.0%} of the mean between its busiest and quietest hour")
    if peak_to_median >= thresholds.spiky_min_peak_to_median or cv > thresholds.steady_max_cv:
        return TrafficAssessment(
            TrafficPattern.SPIKY, hours, total, per_day, active_fraction, r2, peak_to_median, cv,
            top_share,
            f"busiest hour {peak_to_median:.1f}x the median hour; coefficient of variation "
            f"{cv:.2f}")
    return TrafficAssessment(
        TrafficPattern.STEADY, hours, total, per_day, active_fraction, r2, peak_to_median, cv,
        top_share,
        f"busiest hour {peak_to_median:.1f}x the median hour; coefficient of variation {cv:.2f}")
