"""Traffic patterns and the hourly shape of traffic, decided once for the whole fleet."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from advisors.settings import AdvisorSettings
from advisors.traffic import TrafficPattern, hourly_shape

START = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
HOURS = 14 * 24


def _index(hours: int = HOURS) -> pd.DatetimeIndex:
    return pd.date_range(START, periods=hours, freq="h")


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def steady() -> pd.Series:
    return pd.Series(_rng(1).poisson(1200, HOURS).astype(float), index=_index())


def diurnal() -> pd.Series:
    hour = np.asarray(_index().hour)
    rate = 2000 * (0.5 + 0.45 * np.cos((hour - 15) / 24 * 2 * np.pi))
    return pd.Series(_rng(2).poisson(rate).astype(float), index=_index())


def spiky() -> pd.Series:
    values = _rng(3).poisson(300, HOURS).astype(float)
    burst_hours = _rng(4).choice(HOURS, size=8, replace=False)
    values[burst_hours] += _rng(5).uniform(3000, 6000, size=8)
    return pd.Series(values, index=_index())


def intermittent() -> pd.Series:
    values = np.zeros(HOURS)
    active = _rng(6).choice(HOURS, size=40, replace=False)  # a few calls at random hours
    values[active] = _rng(7).poisson(20, size=40)
    return pd.Series(values, index=_index())


def nightly() -> pd.Series:
    """A batch job at 02:00-03:59 UTC on weekdays, nothing else."""
    index = _index()
    hour, weekday = np.asarray(index.hour), np.asarray(index.day_of_week)
    values = np.where((hour >= 2) & (hour < 4) & (weekday < 5),
                      _rng(8).poisson(50_000, HOURS), 0).astype(float)
    return pd.Series(values, index=index)


def idle() -> pd.Series:
    return pd.Series(np.zeros(HOURS), index=_index())


PATTERNS = {"steady": TrafficPattern.STEADY, "diurnal": TrafficPattern.DIURNAL,
            "spiky": TrafficPattern.SPIKY, "intermittent": TrafficPattern.INTERMITTENT,
            "nightly": TrafficPattern.PERIODIC, "idle": TrafficPattern.IDLE}
SERIES = {"steady": steady, "diurnal": diurnal, "spiky": spiky, "intermittent": intermittent,
          "nightly": nightly, "idle": idle}


def shape_of(columns: dict[str, pd.Series], settings: AdvisorSettings | None = None,
             errors: pd.DataFrame | None = None) -> pd.DataFrame:
    """The classification of several endpoints at once, one column each (as the features do)."""
    requests = pd.DataFrame(columns)
    return hourly_shape(requests, errors, pd.Index(list(columns), dtype=object),
                        settings or AdvisorSettings())


def test_every_pattern_in_one_pass() -> None:
    shape = shape_of({name: make() for name, make in SERIES.items()})
    for name, pattern in PATTERNS.items():
        assert shape.at[name, "traffic_pattern"] is pattern, shape.at[name, "traffic_reason"]
        assert shape.at[name, "traffic_reason"]


def test_missing_hours_are_not_zero_traffic() -> None:
    short = steady()
    short.iloc[: HOURS - 10] = np.nan  # only 10 hours of data
    # Gaps in otherwise steady traffic do not make it intermittent.
    gappy = steady()
    gappy.iloc[::3] = np.nan
    shape = shape_of({"short": short, "gappy": gappy, "unknown": steady() * np.nan})
    assert shape.at["short", "traffic_pattern"] is None
    assert "10 h" in shape.at["short", "traffic_reason"]
    assert shape.at["gappy", "traffic_pattern"] is TrafficPattern.STEADY
    assert shape.at["unknown", "traffic_pattern"] is None
    assert np.isnan(shape.at["unknown", "hourly_requests_total"])  # no data is not zero


def test_nightly_job_details() -> None:
    shape = shape_of({"nightly": nightly()})
    assert shape.at["nightly", "hour_of_day_share"] == pytest.approx(1.0)
    reason = shape.at["nightly", "traffic_reason"]
    assert "02:00" in reason and "03:00" in reason
    # Weekday jobs: 10 of the 14 days have the burst.
    assert shape.at["nightly", "burst_day_fraction"] == pytest.approx(10 / 14)


def test_the_thresholds_are_the_advisors_settings() -> None:
    # A job run on half the days is periodic only when the day fraction allows it.
    half = nightly()
    half[np.asarray(half.index.day) % 2 == 0] = 0.0
    strict = shape_of({"job": half})
    lenient = shape_of({"job": half}, AdvisorSettings(periodic_min_day_fraction=0.3))
    assert strict.at["job", "traffic_pattern"] is TrafficPattern.INTERMITTENT
    assert lenient.at["job", "traffic_pattern"] is TrafficPattern.PERIODIC
    # Two hours of the day hold the job: one hour is not enough to hold 90 % of it.
    narrow = shape_of({"job": nightly()}, AdvisorSettings(periodic_hours_of_day=1))
    assert narrow.at["job", "traffic_pattern"] is TrafficPattern.INTERMITTENT
    assert "busiest 1 hours of day hold 5" in narrow.at["job", "traffic_reason"]


def test_errors_against_load_and_idle_hours() -> None:
    values = steady()
    busy = values >= values.quantile(0.9)
    errors = pd.DataFrame({"web": np.where(busy, values * 0.05, 0.0)}, index=values.index)
    shape = shape_of({"web": values}, errors=errors)
    # Errors only in the busiest tenth of hours: the busy ratio is near 5 %, the others' near 0.
    assert 0.04 < shape.at["web", "busy_hour_error_ratio"] <= 0.05
    assert shape.at["web", "quiet_hour_error_ratio"] < 0.005
    assert shape.at["web", "idle_hour_fraction"] == pytest.approx(0.0)
    quiet = shape_of({"job": nightly()})
    assert quiet.at["job", "idle_hour_fraction"] == pytest.approx(1 - 20 / HOURS)


def test_an_empty_fleet_has_an_empty_shape() -> None:
    shape = hourly_shape(None, None, pd.Index([], dtype=object), AdvisorSettings())
    assert shape.empty and "traffic_pattern" in shape.columns
