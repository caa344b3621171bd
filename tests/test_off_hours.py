"""`off-hours-candidate`: office-hours traffic gets scheduled actions it can paste; diurnal
production traffic and nightly batch bursts do not."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest

from advisors.finding import Finding, FindingKind, OptionKind, ProfileChange
from advisors.registry import run_advisors
from advisors.rules.off_hours_candidate import working_window
from advisors.settings import AdvisorSettings
from collectors.aws import AwsContext, AwsTarget
from collectors.fleet import FleetCollector
from ground.config import SagetopConfig
from ground.domain import DeploymentOption, FleetSnapshot
from ground.errors import ConfigError
from ground.pricing import PriceBook
from ground.requirements import RequirementsSettings, requirements_for
from ground.schedule import VARIANT_DIMENSION, OffHoursSchedule
from pipeline.analysis import Analyst, EndpointAnalysis, FleetAnalysis
from profiles.errors import ProfileError
from profiles.files import profile_from_yaml, profile_to_yaml
from profiles.model import ScaleToZero
from profiles.plan import OptionStatus, PlannedOption
from profiles.shape import TargetShape, VariantShape, settle, target_problems
from simulator import SimulatedAccount
from tests.fleet_factory import (
    EndpointPlan,
    VariantPlan,
    business_hours_endpoint,
    fleet_of,
    healthy_production,
    nightly_batch,
    scaling,
)

SETTINGS = AdvisorSettings()
END = pd.Timestamp("2026-11-20 12:00", tz="UTC")  # winter: Berlin is UTC+1


def hours(days: int = 14) -> pd.DatetimeIndex:
    return pd.date_range(end=END, periods=days * 24, freq="h", inclusive="left")


def series(shape: Any, days: int = 14) -> pd.Series:
    index = hours(days)
    return pd.Series(np.asarray(shape(index), dtype="float64"), index=index)


def office(index: pd.DatetimeIndex) -> Any:
    return np.where((index.day_of_week < 5) & (index.hour >= 9) & (index.hour < 18), 120.0, 0.0)


def test_office_hours_are_found_in_the_endpoints_time_zone() -> None:
    utc = working_window(series(office), "UTC", SETTINGS)
    assert utc is not None and (utc.start_hour, utc.end_hour) == (9, 18)
    assert utc.share == pytest.approx(1.0) and utc.quiet_fraction == pytest.approx(1.0)
    berlin = working_window(series(office), "Europe/Berlin", SETTINGS)
    assert berlin is not None and (berlin.start_hour, berlin.end_hour) == (10, 19)
    # A stray evening call does not spoil office hours.
    stray = series(office)
    stray.iloc[-3] = 1.0  # 09:00 UTC on a Friday is inside; this one is late at night
    stray[stray.index[5]] = 1.0
    assert working_window(stray, "UTC", SETTINGS) is not None


@pytest.mark.parametrize(("name", "shape"), [
    # Busy by day, quieter but never silent at night: capacity is needed at night too.
    ("diurnal", lambda i: 100.0 + 900.0 * np.clip(np.sin(np.pi * (i.hour - 5) / 16), 0, 1)),
    # A nightly scoring run every day, weekends included.
    ("nightly", lambda i: np.where((i.hour >= 2) & (i.hour < 4), 5000.0, 0.0)),
    # A weekday-only night job: confined, but too short (and at night) to be a working day.
    ("weekday night job", lambda i: np.where((i.day_of_week < 5) & (i.hour >= 1)
                                             & (i.hour < 4), 5000.0, 0.0)),
    # Round the clock on weekdays: no night to switch off.
    ("weekday 24h", lambda i: np.where(i.day_of_week < 5, 300.0, 0.0)),
])
def test_look_alikes_have_no_working_window(name: str, shape: Any) -> None:
    assert working_window(series(shape), "UTC", SETTINGS) is None, name


def test_a_few_days_are_not_enough_to_call_it_office_hours() -> None:
    assert working_window(series(office, days=5), "UTC", SETTINGS) is None


def advise(*plans: EndpointPlan, requirements: Mapping[str, Any] | None = None
           ) -> dict[str, list[Finding]]:
    fleet = fleet_of(*plans)
    resolved = RequirementsSettings.from_config(dict(requirements or {}), "config.toml")
    by_key = {e.key: requirements_for(e, resolved) for e in fleet.endpoints}
    return run_advisors(fleet, SETTINGS, PriceBook.load(), by_key)


def off_hours(result: dict[str, list[Finding]], name: str) -> list[Finding]:
    return [f for f in result[f"us-east-1/{name}"] if f.kind is FindingKind.OFF_HOURS_CANDIDATE]


def test_one_instance_has_nothing_to_switch_off() -> None:
    # A real-time variant cannot hold zero instances: a single one stays, and no finding says
    # otherwise.
    assert off_hours(advise(business_hours_endpoint()), "backoffice-classifier") == []


def test_a_dev_endpoint_of_office_hours_gets_schedules_to_paste() -> None:
    plan = business_hours_endpoint(
        variants=(VariantPlan(instance_type="ml.c5.2xlarge", instance_count=2,
                              cpu_peak_pct=40.0, memory_pct=60.0),),
        tags={"env": "dev", "sagetop:timezone": "Europe/Berlin"})
    (finding,) = off_hours(advise(plan), "backoffice-classifier")
    schedule = next(o for o in finding.options if o.command)
    command = schedule.command or ""
    base = ("aws application-autoscaling {verb} --region us-east-1 --service-namespace sagemaker "
            "--scalable-dimension sagemaker:variant:DesiredInstanceCount "
            "--resource-id endpoint/backoffice-classifier/variant/AllTraffic")
    # No scalable target yet: it is registered at today's count first.
    assert base.format(verb="register-scalable-target") + (
        " --min-capacity 2 --max-capacity 2") in command
    assert (base.format(verb="put-scheduled-action")
            + " --scheduled-action-name backoffice-classifier-AllTraffic-off-hours-evening"
            ' --schedule "cron(0 19 ? * MON-FRI *)" --timezone Europe/Berlin'
            " --scalable-target-action MinCapacity=1,MaxCapacity=1") in command
    assert ('--schedule "cron(30 9 ? * MON-FRI *)" --timezone Europe/Berlin '
            "--scalable-target-action MinCapacity=2,MaxCapacity=2") in command
    # One instance of two off for 14.5 h on working days and all weekend: ~532 h a month,
    # less the half hour of ramp-up each morning.
    evidence = finding.evidence
    assert evidence["window_start_hour"] == 10 and evidence["window_end_hour"] == 19
    assert evidence["instance_hours_saved_per_month"] == pytest.approx(
        730 * (5 * 14.5 + 2 * 24) / 168, rel=0.02)
    assert finding.monthly_savings_usd is not None and finding.monthly_savings_usd > 100
    assert finding.monthly_savings_kgco2e is not None and finding.monthly_savings_kgco2e > 0
    assert schedule.monthly_kgco2e is not None and finding.options[0].monthly_kgco2e is not None
    assert schedule.monthly_kgco2e < finding.options[0].monthly_kgco2e
    assert "ramp-up" in finding.rationale and "never" not in finding.rationale
    assert any(c.characteristic == "off_hours_schedule" for c in finding.suggested)


def test_autoscaled_variant_is_restored_to_its_own_bounds() -> None:
    plan = business_hours_endpoint(variants=(VariantPlan(
        instance_type="ml.m5.xlarge", instance_count=3, cpu_peak_pct=50.0,
        autoscaling=scaling(3, 6)),))
    (finding,) = off_hours(advise(plan), "backoffice-classifier")
    command = next(o.command for o in finding.options if o.command) or ""
    assert "register-scalable-target" not in command  # the target exists
    assert "MinCapacity=3,MaxCapacity=6" in command and "MinCapacity=1,MaxCapacity=1" in command
    assert "--timezone UTC" in command and "cron(0 18 ? * MON-FRI *)" in command


TWO = (VariantPlan(instance_type="ml.c5.2xlarge", instance_count=2, memory_pct=60.0),)


def test_production_keeps_its_capacity_unless_its_requirements_allow_it() -> None:
    production = business_hours_endpoint(variants=TWO, tags={"env": "production"})
    assert off_hours(advise(production), "backoffice-classifier") == []
    allowed = business_hours_endpoint(variants=TWO, tags={"env": "production",
                                                          "sagetop:off-hours": "yes"})
    (finding,) = off_hours(advise(allowed), "backoffice-classifier")
    assert "requirements allow it" in finding.rationale
    by_rule = business_hours_endpoint(variants=TWO, tags={"env": "production"})
    assert off_hours(advise(by_rule, requirements={"rules": [
        {"pattern": "backoffice-*", "off_hours": True}]}), "backoffice-classifier")


def test_diurnal_production_and_nightly_bursts_get_no_schedule() -> None:
    diurnal = healthy_production(tags={"env": "production", "sagetop:off-hours": "yes"})
    nightly = nightly_batch()  # staging: schedules would be allowed
    result = advise(diurnal, nightly)
    assert off_hours(result, "checkout-ranker") == []
    assert off_hours(result, "nightly-scoring") == []
    assert any(f.kind is FindingKind.BATCH_CANDIDATE for f in result["us-east-1/nightly-scoring"])


def test_bad_time_zone_tags_are_warnings_and_bad_config_is_one_line() -> None:
    fleet = fleet_of(business_hours_endpoint(tags={"env": "dev", "sagetop:timezone": "Mars/X",
                                                   "sagetop:off-hours": "maybe"}))
    resolved = RequirementsSettings.from_config({}, "config.toml")
    needs = requirements_for(fleet.endpoints[0], resolved)
    assert needs.timezone == "UTC" and needs.off_hours is True
    assert any("not an IANA time zone" in w for w in needs.warnings)
    assert any("not yes or no" in w for w in needs.warnings)
    with pytest.raises(ConfigError, match=r"^c.toml: advisors: .*off_hours_working_days"):
        AdvisorSettings.from_config({"off_hours_working_days": ["MON", "FUNDAY"]}, "c.toml")


def _simulated_analysis() -> FleetAnalysis:
    async def run() -> FleetSnapshot:
        account = SimulatedAccount()
        target = AwsTarget(regions=account.regions, simulated=True,
                           prepare_session=account.install)
        async with AwsContext(SagetopConfig().aws, target) as aws:
            return await FleetCollector(aws).collect(force=True)
    return Analyst().analyse(asyncio.run(run()))


def test_the_simulated_dev_endpoint_sleeps_at_night_and_production_does_not() -> None:
    analysis = _simulated_analysis()
    kinds = {key.split("/")[1]: {f.kind for f in item.findings}
             for key, item in analysis.endpoints.items()}
    assert FindingKind.OFF_HOURS_CANDIDATE in kinds["contract-ner-dev"]
    # The dev endpoint's schedule competes with serverless among its findings.
    assert FindingKind.SERVERLESS_CANDIDATE in kinds["contract-ner-dev"]
    # Production office hours (no sagetop:off-hours), nightly bursts, diurnal traffic, and a
    # component that already scales to zero at night: no schedule.
    for name in ("invoice-ocr-prod", "nightly-scoring", "web-ranker-prod", "code-review-llm"):
        assert FindingKind.OFF_HOURS_CANDIDATE not in kinds[name], name
    finding = next(f for f in analysis.endpoints["us-east-1/contract-ner-dev"].findings
                   if f.kind is FindingKind.OFF_HOURS_CANDIDATE)
    command = next(o.command for o in finding.options if o.command) or ""
    assert 'cron(0 19 ? * MON-FRI *)" --timezone Europe/Berlin' in command
    assert "resource-id endpoint/contract-ner-dev/variant/AllTraffic" in command
    # Every endpoint of the account has its estimated month, with the source of the numbers.
    for key, item in analysis.endpoints.items():
        assert item.footprint is not None, key
        assert "Cloud Carbon Footprint" in item.footprint.coefficients


# ---------------------------------------------------------------- the schedule in the plan

def plan_of(plan: EndpointPlan, analyst: Analyst | None = None
            ) -> tuple[Analyst, FleetAnalysis, EndpointAnalysis]:
    analyst = analyst or Analyst()
    analysis = analyst.analyse(fleet_of(plan))
    return analyst, analysis, analysis.endpoints[f"us-east-1/{plan.name}"]


def _schedule_option(item: EndpointAnalysis) -> PlannedOption:
    return next(o for o in item.plan.options if o.kind is OptionKind.SCHEDULE)


# Office hours on two instances of a model too large for serverless (12 GiB with headroom).
OFFICE_DEV = business_hours_endpoint(
    variants=(VariantPlan(instance_type="ml.c5.2xlarge", instance_count=2, cpu_peak_pct=40.0,
                          memory_pct=60.0),),
    tags={"env": "dev", "sagetop:timezone": "Europe/Berlin"})


def test_an_office_hours_dev_endpoint_gets_the_schedule_as_its_plan() -> None:
    _, analysis, item = plan_of(OFFICE_DEV)
    finding = next(f for f in item.findings if f.kind is FindingKind.OFF_HOURS_CANDIDATE)
    plan = item.plan
    chosen = _schedule_option(item)
    assert chosen.status is OptionStatus.CHOSEN and [o.id for o in plan.chosen] == [chosen.id]
    # One saving figure, in dollars and in carbon, from the plan to the fleet.
    assert plan.monthly_savings_usd == finding.monthly_savings_usd
    assert plan.monthly_kgco2e_saved == chosen.monthly_kgco2e_saved
    assert plan.monthly_kgco2e_saved == finding.kgco2e_saving_of(chosen.option) > 0
    assert analysis.total_savings_kgco2e == plan.monthly_kgco2e_saved
    assert analysis.ranked_changes("kgco2e")[0]["option"] == chosen.label
    (alternative,) = plan.alternatives
    assert alternative.chosen and alternative.monthly_kgco2e_saved == plan.monthly_kgco2e_saved
    # The exact scheduled actions, from the target's own bounds.
    assert ("PutScheduledAction endpoint/backoffice-classifier/variant/AllTraffic "
            "(sagemaker:variant:DesiredInstanceCount): ScheduledActionName "
            "backoffice-classifier-AllTraffic-off-hours-evening, Schedule "
            "\"cron(0 19 ? * MON-FRI *)\", Timezone Europe/Berlin, ScalableTargetAction "
            "MinCapacity=1,MaxCapacity=1") in plan.actions
    assert any("off-hours-morning" in a and "cron(30 9 ? * MON-FRI *)" in a
               and "MinCapacity=2,MaxCapacity=2" in a for a in plan.actions)
    assert any("outside the working window" in w for w in plan.watch)
    # The target holds the typed schedule and passes its cross-field rules, also read back.
    target = item.target
    schedule = target.variants[0].off_hours_schedule.value
    assert isinstance(schedule, OffHoursSchedule)
    assert (schedule.timezone, schedule.opens_hour, schedule.closes_hour) == (
        "Europe/Berlin", 10, 19)
    assert (schedule.day_min, schedule.day_max, schedule.night) == (2, 2, 1)
    assert target_problems(target.shape()) == []
    again = profile_from_yaml(profile_to_yaml(target), "target.yaml")
    assert again.variants[0].off_hours_schedule.value == schedule
    assert target.scale_to_zero.value is ScaleToZero.OFF_HOURS
    assert target.monthly_carbon_kgco2e.value == pytest.approx(
        (item.current.monthly_carbon_kgco2e.value or 0.0) - (plan.monthly_kgco2e_saved or 0.0),
        abs=0.001)
    assert target.monthly_cost_usd.value == plan.target_monthly_usd


def test_a_hand_edited_schedule_that_breaks_the_target_is_one_line_naming_it() -> None:
    _, _, item = plan_of(OFFICE_DEV)
    text = profile_to_yaml(item.target)
    # A real-time variant cannot go to zero instances at night.
    broken = text.replace("      night: 1\n", "      night: 0\n")
    assert broken != text
    with pytest.raises(ProfileError) as caught:
        profile_from_yaml(broken, "target.yaml")
    message = str(caught.value)
    assert "\n" not in message and "target.yaml" in message
    assert "variants[AllTraffic].off_hours_schedule" in message and "0 instances" in message


def test_when_serverless_is_cheaper_the_schedule_is_a_costed_alternative_and_says_why() -> None:
    small = business_hours_endpoint(
        variants=(VariantPlan(instance_type="ml.c5.2xlarge", instance_count=2,
                              cpu_peak_pct=40.0, memory_pct=20.0),), tags={"env": "dev"})
    analyst, analysis, item = plan_of(small)
    plan = item.plan
    assert [o.kind for o in plan.chosen] == [OptionKind.SERVERLESS]
    schedule = _schedule_option(item)
    # Mutually exclusive: serverless has no instances to schedule.
    assert schedule.status is OptionStatus.COVERED and "serverless" in schedule.why
    assert schedule.monthly_savings_usd is not None and schedule.monthly_kgco2e_saved
    today = next(a for a in plan.alternatives if a.hosting is OptionKind.KEEP)
    # Today's hosting with the schedule (it beats the resize that sets the same variant).
    assert not today.chosen and today.meets_requirements
    assert today.monthly_savings_usd == schedule.monthly_savings_usd
    assert today.monthly_kgco2e_saved == schedule.monthly_kgco2e_saved
    assert "less than serverless-candidate" in today.why
    resize = next(o for o in item.findings if o.kind is FindingKind.OVER_PROVISIONED)
    assert (resize.monthly_savings_usd or 0.0) < (schedule.monthly_savings_usd or 0.0)
    # Picked by the user, the schedule replaces serverless: never both.
    assert analyst.choose(analysis, item.key, schedule.id) is None
    _, _, again = plan_of(small, analyst)
    kinds = [o.kind for o in again.plan.chosen]
    assert kinds == [OptionKind.SCHEDULE] and again.plan.decided
    assert target_problems(again.target.shape()) == []
    serverless = next(o for o in again.plan.options if o.kind is OptionKind.SERVERLESS)
    assert serverless.status is OptionStatus.ALTERNATIVE


def test_the_schedule_competes_with_a_resize_of_the_same_variant() -> None:
    oversized = business_hours_endpoint(
        variants=(VariantPlan(instance_type="ml.c5.9xlarge", instance_count=2,
                              cpu_peak_pct=4.0, memory_pct=12.0),), tags={"env": "dev"})
    _, _, item = plan_of(oversized)
    (chosen,) = item.plan.chosen
    assert chosen.finding is FindingKind.OVER_PROVISIONED
    schedule = _schedule_option(item)
    # Costed on today's two instances, it cannot also apply to the resized variant.
    assert schedule.status is OptionStatus.ALTERNATIVE and schedule.pickable
    assert "sets what" in schedule.why and "saves" in schedule.why
    assert item.target.variants[0].off_hours_schedule.value is None


def _variant(**values: Any) -> TargetShape:
    return TargetShape(deployment_option=values.pop("deployment", DeploymentOption.REAL_TIME),
                       variants=[VariantShape(name="AllTraffic", instance_type="ml.c5.xlarge",
                                              **values)])


def _schedule(**values: Any) -> OffHoursSchedule:
    base: dict[str, Any] = {"timezone": "UTC", "working_days": ("MON", "TUE", "WED", "THU",
                                                                "FRI"),
                            "opens_hour": 8, "closes_hour": 18, "ramp_up_minutes": 30,
                            "day_min": 2, "day_max": 4, "night": 1}
    return OffHoursSchedule(**{**base, **values})


def test_the_target_rules_check_the_schedule_against_the_capacity() -> None:
    fine = _variant(instance_count=2, min_instances=2, max_instances=4,
                    off_hours_schedule=_schedule())
    assert target_problems(fine) == []
    assert any("restores 2-4 each morning, but the target's bounds are 2-2" in p
               for p in target_problems(_variant(instance_count=2, min_instances=2,
                                                 max_instances=2,
                                                 off_hours_schedule=_schedule())))
    zero = _schedule(night=0)
    assert any("cannot scale to 0 instances" in p for p in target_problems(
        _variant(instance_count=2, min_instances=2, max_instances=4, off_hours_schedule=zero)))
    assert target_problems(_variant(instance_count=2, min_instances=2, max_instances=4,
                                    off_hours_schedule=zero,
                                    deployment=DeploymentOption.ASYNC)) == []
    serverless = _variant(deployment=DeploymentOption.SERVERLESS, serverless_memory_mb=2048,
                          serverless_max_concurrency=5, off_hours_schedule=_schedule())
    serverless.variants[0].instance_type = None
    assert any("no instances to schedule" in p for p in target_problems(serverless))
    # Bounds a plan moves, the schedule follows: its morning action restores the new ones.
    before = _variant(instance_count=2, min_instances=2, max_instances=4,
                      off_hours_schedule=_schedule())
    after = before.copy()
    after.variants[0].max_instances = 6
    derived = settle(before, after, {(("variant", "AllTraffic"), "max_instances")})
    assert after.variants[0].off_hours_schedule == _schedule(day_max=6)
    assert any(d.characteristic == "off_hours_schedule" for d in derived)
    assert target_problems(after) == []


def test_a_schedule_is_typed_when_it_is_made() -> None:
    with pytest.raises(ValueError, match="not an IANA time zone"):
        _schedule(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="closes_hour 8 must be after opens_hour 8"):
        _schedule(closes_hour=8)
    with pytest.raises(ValueError, match="raise capacity at night"):
        _schedule(night=3)
    with pytest.raises(ValueError, match="off_hours_schedule"):
        ProfileChange(characteristic="off_hours_schedule", proposed="1 instance at night")
    change = ProfileChange(characteristic="off_hours_schedule",
                           proposed=_schedule().model_dump(), variant="AllTraffic")
    assert change.proposed == _schedule()
    evening, morning = _schedule().actions("endpoint/e/variant/v", VARIANT_DIMENSION, "e-v")
    assert (evening.schedule, evening.min_capacity, evening.max_capacity) == (
        "cron(0 18 ? * MON-FRI *)", 1, 1)
    assert (morning.schedule, morning.min_capacity, morning.max_capacity) == (
        "cron(30 7 ? * MON-FRI *)", 2, 4)
