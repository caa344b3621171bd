"""Maturity levels at their thresholds."""

from __future__ import annotations

from typing import Any

import pytest

from advisors.settings import AdvisorSettings
from ground.errors import ConfigError, ExitCode
from profiles.maturity import Maturity, MaturityLevel, MaturitySettings, Pillar, assess
from profiles.model import Characteristic, MLProfile, Origin, TrafficPattern
from tests.test_profiles import built_profile

SATURATION_PCT = AdvisorSettings().saturation_pct


def judged(profile: MLProfile, settings: MaturitySettings | None = None) -> Maturity:
    return assess(profile, settings or MaturitySettings(), SATURATION_PCT)

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
    maturity = judged(_with(built_profile(), error_rate_5xx_pct=rate))
    assert maturity.characteristic("error_rate_5xx_pct").level is level


@pytest.mark.parametrize(("cpu", "level"), [
    (9.99, MaturityLevel.INITIAL), (10.0, MaturityLevel.MANAGED), (30.0, MaturityLevel.DEFINED),
    (49.9, MaturityLevel.DEFINED), (50.0, MaturityLevel.OPTIMISED),
])
def test_utilisation_levels_at_thresholds(cpu: float, level: MaturityLevel) -> None:
    profile = built_profile()
    variant = profile.variants[0]
    # The busiest resource is the advisors' answer, recorded per variant.
    variant.busiest_resource = Characteristic[str](value="CPU", origin=Origin.OBSERVED)
    variant.busiest_resource_pct = Characteristic[float](value=cpu, origin=Origin.OBSERVED)
    utilisation = judged(profile).characteristic("utilisation")
    assert utilisation.level is level
    assert utilisation.reason == f"busiest resource CPU on AllTraffic at {cpu:.1f} % (p95)"
    # Sustainability judges the mean use of the capacity instead (capacity_utilisation_pct).
    assert set(utilisation.pillars) == {Pillar.COST_OPTIMISATION}


@pytest.mark.parametrize(("p99_ms", "level"), [
    (200.1, MaturityLevel.INITIAL), (200.0, MaturityLevel.MANAGED),
    (160.1, MaturityLevel.MANAGED), (160.0, MaturityLevel.DEFINED),
])
def test_latency_against_objective(p99_ms: float, level: MaturityLevel) -> None:
    # Objective 200 ms; CPU 12.5 % and memory 22 %: below the "defined" utilisation bar.
    maturity = judged(_with(built_profile(), p99_latency_ms=p99_ms))
    assert maturity.characteristic("p99_latency_ms").level is level


def test_instance_count_and_autoscaling() -> None:
    fixed = judged(built_profile(count=4)).characteristic("instance_count")
    assert fixed.level is MaturityLevel.MANAGED and "no autoscaling" in fixed.reason
    single = judged(built_profile(count=1)).characteristic("instance_count")
    assert single.level is MaturityLevel.INITIAL
    scaling = judged(built_profile(autoscaling=True)).characteristic("instance_count")
    assert scaling.level is MaturityLevel.OPTIMISED


def test_security_levels_and_pillar_roll_up() -> None:
    plain = judged(built_profile())
    assert plain.characteristic("vpc").level is MaturityLevel.INITIAL
    assert plain.characteristic("kms_key").level is MaturityLevel.MANAGED
    # vpc 1, kms 2, isolation 2, prebuilt container 4: mean 2.25 → 2, capped at weakest + 1 = 2.
    assert plain.pillar(Pillar.SECURITY).level is MaturityLevel.MANAGED
    assert plain.pillar(Pillar.SECURITY).weakest == "vpc"
    hardened = judged(built_profile(vpc=True, kms="arn:aws:kms:us-east-1:1:key/k"))
    assert hardened.characteristic("vpc").level is MaturityLevel.OPTIMISED
    assert hardened.pillar(Pillar.SECURITY).level is MaturityLevel.DEFINED
    assert {p.pillar for p in plain.pillars} == set(Pillar)


def test_one_config_seen_recently_is_too_early_to_judge() -> None:
    profile = built_profile()  # no config history: last modified 20 days ago, a lower bound
    updates = judged(profile).characteristic("update_frequency_days")
    assert updates.level is None and "too early" in updates.reason
    old = _with(profile, update_frequency_days=400.0)
    old.update_frequency_days.bound = profile.update_frequency_days.bound
    assert judged(old).characteristic(
        "update_frequency_days").level is MaturityLevel.INITIAL


def test_idle_endpoint_is_initial_for_cost() -> None:
    profile = _with(built_profile(), requests_per_day=0.0, traffic_pattern=TrafficPattern.IDLE,
                    idle_hours_pct=100.0)
    maturity = judged(profile)
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
    # Saturation is the advisors' one threshold (`[advisors] saturation_pct`), not maturity's.
    ({"utilisation_pct_saturated": 85.0},
     "config.toml: maturity.utilisation_pct_saturated: unknown key"),
])
def test_bad_settings_give_one_line(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        MaturitySettings.from_config(raw, "config.toml")
    assert str(caught.value) == message
    assert caught.value.exit_code is ExitCode.USAGE
