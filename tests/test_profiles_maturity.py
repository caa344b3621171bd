"""Traffic pattern classification and maturity levels at their thresholds."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ground.errors import ConfigError, ExitCode
from profiles.maturity import MaturityLevel, MaturitySettings, Pillar, assess
from profiles.model import Characteristic, MLProfile, Origin, TrafficPattern
from profiles.traffic import classify_traffic
from tests.test_profiles import built_profile

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


@pytest.mark.parametrize(("series", "pattern"), [
    (steady, TrafficPattern.STEADY), (diurnal, TrafficPattern.DIURNAL),
    (spiky, TrafficPattern.SPIKY), (intermittent, TrafficPattern.INTERMITTENT),
    (nightly, TrafficPattern.PERIODIC), (idle, TrafficPattern.IDLE),
])
def test_traffic_patterns(series: Any, pattern: TrafficPattern) -> None:
    assessment = classify_traffic(series())
    assert assessment.pattern is pattern, assessment.reason
    assert assessment.reason


def test_missing_hours_are_not_zero_traffic() -> None:
    values = steady()
    values.iloc[: HOURS - 10] = np.nan  # only 10 hours of data
    assessment = classify_traffic(values)
    assert assessment.pattern is None
    assert "10 h" in assessment.reason
    # Gaps in otherwise steady traffic do not make it intermittent.
    gappy = steady()
    gappy.iloc[::3] = np.nan
    assert classify_traffic(gappy).pattern is TrafficPattern.STEADY


def test_nightly_job_details() -> None:
    assessment = classify_traffic(nightly())
    assert assessment.top_hours_share == pytest.approx(1.0)
    assert "02:00" in assessment.reason and "03:00" in assessment.reason


# ------------------------------------------------------------------------- maturity

def _with(profile: MLProfile, **characteristics: Any) -> MLProfile:
    updated = profile.model_copy(deep=True)
    for name, value in characteristics.items():
        old = getattr(updated, name)
        setattr(updated, name, type(old)(value=value, origin=Origin.OBSERVED, unit=old.unit))
    return updated


@pytest.mark.parametrize(("rate", "level"), [
    (1.01, MaturityLevel.INITIAL), (1.0, MaturityLevel.MANAGED), (0.1, MaturityLevel.DEFINED),
    (0.0101, MaturityLevel.DEFINED), (0.01, MaturityLevel.OPTIMISED),
    (0.0, MaturityLevel.OPTIMISED),
])
def test_error_rate_levels_at_thresholds(rate: float, level: MaturityLevel) -> None:
    maturity = assess(_with(built_profile(), error_rate_5xx_pct=rate), MaturitySettings())
    assert maturity.characteristic("error_rate_5xx_pct").level is level


@pytest.mark.parametrize(("cpu", "level"), [
    (9.99, MaturityLevel.INITIAL), (10.0, MaturityLevel.MANAGED), (30.0, MaturityLevel.DEFINED),
    (49.9, MaturityLevel.DEFINED), (50.0, MaturityLevel.OPTIMISED),
])
def test_utilisation_levels_at_thresholds(cpu: float, level: MaturityLevel) -> None:
    profile = built_profile()
    variant = profile.variants[0]
    variant.cpu_p95_pct = Characteristic[float](value=cpu, origin=Origin.OBSERVED)
    variant.memory_p95_pct = Characteristic[float](value=5.0, origin=Origin.OBSERVED)
    maturity = assess(profile, MaturitySettings())
    judged = maturity.characteristic("utilisation")
    assert judged.level is level
    assert set(judged.pillars) == {Pillar.COST_OPTIMISATION, Pillar.SUSTAINABILITY}


@pytest.mark.parametrize(("p99_ms", "level"), [
    (200.1, MaturityLevel.INITIAL), (200.0, MaturityLevel.MANAGED),
    (160.1, MaturityLevel.MANAGED), (160.0, MaturityLevel.DEFINED),
])
def test_latency_against_objective(p99_ms: float, level: MaturityLevel) -> None:
    # Objective 200 ms; CPU 12.5 % and memory 22 %: below the "defined" utilisation bar.
    maturity = assess(_with(built_profile(), p99_latency_ms=p99_ms), MaturitySettings())
    assert maturity.characteristic("p99_latency_ms").level is level


def test_instance_count_and_autoscaling() -> None:
    settings = MaturitySettings()
    fixed = assess(built_profile(count=4), settings).characteristic("instance_count")
    assert fixed.level is MaturityLevel.MANAGED and "no autoscaling" in fixed.reason
    single = assess(built_profile(count=1), settings).characteristic("instance_count")
    assert single.level is MaturityLevel.INITIAL
    scaling = assess(built_profile(autoscaling=True), settings).characteristic("instance_count")
    assert scaling.level is MaturityLevel.OPTIMISED


def test_security_levels_and_pillar_roll_up() -> None:
    settings = MaturitySettings()
    plain = assess(built_profile(), settings)
    assert plain.characteristic("vpc").level is MaturityLevel.INITIAL
    assert plain.characteristic("kms_key").level is MaturityLevel.MANAGED
    # vpc 1, kms 2, isolation 2, prebuilt container 4: mean 2.25 → 2, capped at weakest + 1 = 2.
    assert plain.pillar(Pillar.SECURITY).level is MaturityLevel.MANAGED
    assert plain.pillar(Pillar.SECURITY).weakest == "vpc"
    hardened = assess(built_profile(vpc=True, kms="arn:aws:kms:us-east-1:1:key/k"), settings)
    assert hardened.characteristic("vpc").level is MaturityLevel.OPTIMISED
    assert hardened.pillar(Pillar.SECURITY).level is MaturityLevel.DEFINED
    assert {p.pillar for p in plain.pillars} == set(Pillar)


def test_one_config_seen_recently_is_too_early_to_judge() -> None:
    profile = built_profile()  # no config history: last modified 20 days ago, a lower bound
    judged = assess(profile, MaturitySettings()).characteristic("update_frequency_days")
    assert judged.level is None and "too early" in judged.reason
    old = _with(profile, update_frequency_days=400.0)
    old.update_frequency_days.bound = profile.update_frequency_days.bound
    assert assess(old, MaturitySettings()).characteristic(
        "update_frequency_days").level is MaturityLevel.INITIAL


def test_idle_endpoint_is_initial_for_cost() -> None:
    profile = _with(built_profile(), requests_per_day=0.0, traffic_pattern=TrafficPattern.IDLE)
    maturity = assess(profile, MaturitySettings())
    assert maturity.characteristic("cost_per_1k_requests_usd").level is MaturityLevel.INITIAL
    assert maturity.characteristic("traffic_pattern").level is MaturityLevel.INITIAL
    assert maturity.pillar(Pillar.SUSTAINABILITY).level is MaturityLevel.INITIAL


def test_settings_from_config() -> None:
    settings = MaturitySettings.from_config({"utilisation_pct_optimised": 60}, "config.toml")
    assert settings.utilisation_pct_optimised == 60.0
    assert MaturitySettings.from_config({}, "config.toml") == MaturitySettings()


@pytest.mark.parametrize(("raw", "message"), [
    ({"error_rate_pct_managed": "low"},
     "config.toml: maturity.error_rate_pct_managed: expected a number, got 'low'"),
    ({"min_instances_managed": 0},
     "config.toml: maturity.min_instances_managed: expected a number of at least 1, got 0"),
    ({"colour": 1}, "config.toml: maturity.colour: unknown key"),
    ({"error_rate_pct_defined": 5.0},
     "config.toml: maturity.error_rate_pct_defined: expected at most error_rate_pct_managed "
     "(1.0), got 5.0"),
    ({"utilisation_pct_defined": 5.0},
     "config.toml: maturity.utilisation_pct_defined: expected at least utilisation_pct_managed "
     "(10.0), got 5.0"),
    ({"utilisation_pct_saturated": 40.0},
     "config.toml: maturity.utilisation_pct_saturated: expected more than "
     "utilisation_pct_optimised (50.0), got 40.0"),
])
def test_bad_settings_give_one_line(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        MaturitySettings.from_config(raw, "config.toml")
    assert str(caught.value) == message
    assert caught.value.exit_code is ExitCode.USAGE
