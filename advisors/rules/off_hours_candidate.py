"""`off-hours-candidate`: capacity kept through nights and weekends for traffic of office hours.

An endpoint whose requests come only within working hours on working days (in the time zone its
requirements name, UTC by default), outside production or where its requirements allow it
(`sagetop:off-hours`), can follow those hours with Application Auto Scaling scheduled actions:
one lowers MinCapacity/MaxCapacity when the window closes, one restores them shortly before it
opens. Variants go down to one instance (a real-time variant cannot hold none; an async one can
go to zero), inference components to zero copies (managed instance scaling then releases their
instances). The finding writes the exact settings out: sagetop never calls PutScheduledAction.

Diurnal traffic (quieter but never silent at night) and nightly bursts (a few hours at night, or
every day) are not office hours: the window must hold nearly every request, be long enough to be
a working day and lie within one day.

The schedule is a typed option (`OptionKind.SCHEDULE`, one `ground.schedule.OffHoursSchedule`
per scalable target) that the planner weighs against the endpoint's other options: it sets the
capacity of its variants or components at night, so it excludes another sizing of them, and a
hosting that replaces the instances (serverless, batch, a multi-model endpoint) makes it moot.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass

import numpy as np
import pandas as pd

from advisors.context import AdvisorContext
from advisors.cost import CostEstimate, billed_instances
from advisors.finding import Finding, FindingKind, OptionKind, ProfileChange
from advisors.rules.common import (
    carbon_clause,
    keep,
    opportunity_severity,
    option,
    rows,
    usd,
)
from advisors.settings import AdvisorSettings
from ground.domain import (
    DeploymentOption,
    EndpointSnapshot,
    InferenceComponentSnapshot,
    VariantSnapshot,
)
from ground.energy import Footprint, combine, instances_footprint
from ground.pricing import HOURS_PER_MONTH
from ground.schedule import (
    COMPONENT_DIMENSION,
    CRON_DAYS,
    MINUTES_PER_HOUR,
    VARIANT_DIMENSION,
    OffHoursSchedule,
    clock,
    component_resource,
    days_text,
    variant_resource,
)


@dataclass(frozen=True)
class Window:
    """Working hours found in the traffic, local time of `timezone`."""

    start_hour: int  # first hour inside, 0-23
    end_hour: int  # first hour after, 1-24
    share: float  # of all requests inside it on working days
    quiet_fraction: float | None  # of observed hours outside it without a request
    days: float  # days of hourly data

    @property
    def hours(self) -> int:
        return self.end_hour - self.start_hour


def fleet_hourly(ctx: AdvisorContext) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray]]:
    """Requests per hour of every endpoint (variants, shadow included, and components summed;
    NaN where none has data), from one pass over the frame."""
    frame = ctx.fleet.metrics.hourly.get("requests")
    if frame is None or frame.empty:
        return pd.DatetimeIndex([], tz="UTC"), {}
    summed = frame.T.groupby(level=0).sum(min_count=1).T
    return (pd.DatetimeIndex(summed.index),
            {str(k): summed[k].to_numpy(dtype="float64") for k in summed.columns})


@dataclass(frozen=True)
class Calendar:
    """The hours of one index in one time zone: hour of day and whether it is a working day."""

    hours: np.ndarray
    working: np.ndarray

    @staticmethod
    def of(index: pd.DatetimeIndex, timezone: str, working_days: set[int]) -> Calendar:
        local = index.tz_convert(zoneinfo.ZoneInfo(timezone))
        return Calendar(hours=local.hour.to_numpy(),
                        working=np.isin(local.day_of_week.to_numpy(), list(working_days)))


def working_window(hourly: pd.Series, timezone: str, settings: AdvisorSettings,
                   calendar: Calendar | None = None) -> Window | None:
    """The shortest window of whole hours (within one day) holding `off_hours_min_window_share`
    of the requests on working days, if the traffic has one of a working day's length."""
    index = pd.DatetimeIndex(hourly.index)
    values_all = hourly.to_numpy(dtype="float64")
    observed_mask = ~np.isnan(values_all)
    if not observed_mask.any():
        return None
    stamps = index[observed_mask]
    days = (stamps.max() - stamps.min()).total_seconds() / 86400.0 + 1 / 24
    values = values_all[observed_mask]
    total = float(values.sum())
    if days < settings.off_hours_min_days or total <= 0:
        return None
    if calendar is None:
        calendar = Calendar.of(index, timezone,
                               {CRON_DAYS.index(d) for d in settings.off_hours_working_days})
    working = calendar.working[observed_mask]
    hours = calendar.hours[observed_mask]
    by_hour = np.bincount(hours[working], weights=values[working], minlength=24)
    # Prefix sums: the requests of any window of whole hours in one subtraction.
    prefix = [0.0, *np.cumsum(by_hour).tolist()]
    needed = settings.off_hours_min_window_share * total
    found: tuple[int, int] | None = None
    for length in range(1, 25):
        start = next((s for s in range(0, 25 - length)
                      if prefix[s + length] - prefix[s] >= needed), None)
        if start is not None:
            found = (start, start + length)
            break
    if found is None:
        return None
    start, end = found
    length_fits = (settings.off_hours_min_window_hours <= end - start
                   <= settings.off_hours_max_window_hours)
    # Within one day with night on both sides: an evening action at midnight would fall on the
    # next day's cron day.
    if not length_fits or start < 1 or end > 23:
        return None
    outside = ~(working & (hours >= start) & (hours < end))
    quiet = float((values[outside] == 0).mean()) if outside.any() else None
    return Window(start_hour=start, end_hour=end,
                  share=float(by_hour[start:end].sum() / total), quiet_fraction=quiet, days=days)


def _off_fractions(index: pd.DatetimeIndex, window: Window, timezone: str,
                   working_days: set[int], ramp_minutes: int) -> np.ndarray:
    """For each hour (UTC index): the fraction of it the schedule keeps capacity low."""
    local = index.tz_convert(zoneinfo.ZoneInfo(timezone))
    restore = max(window.start_hour * MINUTES_PER_HOUR - ramp_minutes, 0)
    close = window.end_hour * MINUTES_PER_HOUR
    starts = local.hour.to_numpy() * MINUTES_PER_HOUR
    ends = starts + MINUTES_PER_HOUR
    overlap = np.clip(np.minimum(ends, close) - np.maximum(starts, restore), 0, MINUTES_PER_HOUR)
    working = np.isin(local.day_of_week.to_numpy(), list(working_days))
    on = np.where(working, overlap / MINUTES_PER_HOUR, 0.0)
    fractions: np.ndarray = 1.0 - on
    return fractions


@dataclass(frozen=True)
class Target:
    """One scalable target the schedule moves: a variant's instances or a component's copies."""

    resource_id: str
    dimension: str
    name: str  # variant or component name
    component: bool
    registered: bool  # a scalable target exists already
    day_min: int
    day_max: int
    night: int  # MinCapacity = MaxCapacity outside working hours

    def schedule(self, window: Window, ramp_minutes: int, timezone: str,
                 days: tuple[str, ...]) -> OffHoursSchedule:
        return OffHoursSchedule(timezone=timezone, working_days=days,
                                opens_hour=window.start_hour, closes_hour=window.end_hour,
                                ramp_up_minutes=ramp_minutes,
                                unit="copies" if self.component else "instances",
                                day_min=self.day_min, day_max=self.day_max, night=self.night)

    def commands(self, endpoint: EndpointSnapshot, schedule: OffHoursSchedule) -> list[str]:
        """The AWS CLI calls that set the schedule up (sagetop runs none of them)."""
        out: list[str] = []
        if not self.registered:
            out.append(f"aws application-autoscaling register-scalable-target --region "
                       f"{endpoint.region} --service-namespace sagemaker --scalable-dimension "
                       f"{self.dimension} --resource-id {self.resource_id} --min-capacity "
                       f"{self.day_min} --max-capacity {self.day_max}")
        out += [action.command(endpoint.region) for action in schedule.actions(
            self.resource_id, self.dimension, f"{endpoint.name}-{self.name}")]
        return out


def _variant_target(endpoint: EndpointSnapshot, variant: VariantSnapshot) -> Target:
    scaling = variant.autoscaling
    night = 0 if endpoint.deployment is DeploymentOption.ASYNC else 1
    day_min = scaling.min_capacity if scaling else variant.current_instance_count
    day_max = scaling.max_capacity if scaling else variant.current_instance_count
    return Target(resource_id=variant_resource(endpoint.name, variant.name),
                  dimension=VARIANT_DIMENSION, name=variant.name, component=False,
                  registered=scaling is not None, day_min=day_min, day_max=day_max,
                  night=min(night, day_min))


def _component_target(component: InferenceComponentSnapshot) -> Target:
    scaling = component.autoscaling
    day_min = scaling.min_capacity if scaling else component.current_copies
    day_max = scaling.max_capacity if scaling else component.current_copies
    return Target(resource_id=component_resource(component.name),
                  dimension=COMPONENT_DIMENSION, name=component.name, component=True,
                  registered=scaling is not None, day_min=day_min, day_max=day_max, night=0)


def _night_instances(endpoint: EndpointSnapshot, variant: VariantSnapshot) -> int | None:
    """Instances left at night: one for a variant (none for async); for an inference-component
    endpoint what managed instance scaling keeps once copies are at 0 (None: it keeps them all,
    nothing to save)."""
    if endpoint.deployment is DeploymentOption.INFERENCE_COMPONENTS:
        managed = variant.managed_instance_scaling
        if managed is None or not managed.enabled:
            return None
        return managed.min_instances or 0
    return 0 if endpoint.deployment is DeploymentOption.ASYNC else 1


def find_off_hours_candidates(ctx: AdvisorContext) -> list[Finding]:
    frame = ctx.features.endpoints
    s = ctx.settings
    # Office hours leave most hours idle: at most the longest window on every working day has
    # traffic. A cheap filter on the features before any time-zone arithmetic.
    most_active = s.off_hours_max_window_hours * len(s.off_hours_working_days) / (24 * 7)
    mask = (frame["serving"] & ~frame["too_new"] & ~frame["serverless"].astype(bool)
            & (frame["requests"] > 0) & (frame["instance_count"] > 0)
            & (frame["idle_hour_fraction"] >= 1.0 - most_active - 0.02))
    findings: list[Finding] = []
    working_days = {CRON_DAYS.index(d) for d in s.off_hours_working_days}
    candidates = [key for key, _ in rows(frame, mask) if ctx.requirements_of(key).off_hours]
    if not candidates:
        return []
    index, hourly = fleet_hourly(ctx)
    calendars: dict[str, Calendar] = {}
    for key in candidates:
        if key not in hourly:
            continue
        endpoint = ctx.endpoint(key)
        timezone = ctx.requirements_of(key).timezone
        if timezone not in calendars:
            calendars[timezone] = Calendar.of(index, timezone, working_days)
        window = working_window(pd.Series(hourly[key], index=index), timezone, s,
                                calendars[timezone])
        if window is None:
            continue
        finding = _finding(ctx, endpoint, window, timezone, working_days)
        if finding is not None:
            findings.append(finding)
    return findings


def _finding(ctx: AdvisorContext, endpoint: EndpointSnapshot, window: Window, timezone: str,
             working_days: set[int]) -> Finding | None:
    s = ctx.settings
    key = endpoint.key
    # Capacity comes back before the window opens, never before midnight (the schedule lies
    # within one day).
    ramp = min(s.off_hours_ramp_up_minutes, window.start_hour * MINUTES_PER_HOUR)
    # Nothing to switch off when no variant runs more than it would at night.
    if not any(night is not None
               and billed_instances(endpoint, v, ctx.fleet).count > night
               for v in endpoint.serving_variants if v.serverless is None
               for night in (_night_instances(endpoint, v),)):
        return None
    counts = ctx.fleet.metrics.series("hourly", "instance_count", key)
    index = pd.DatetimeIndex(counts.index if not counts.empty else [])
    if index.empty:
        return None
    off = _off_fractions(index, window, timezone, working_days, ramp)
    scale = HOURS_PER_MONTH / len(index)
    targets: list[Target] = []
    saved_usd = 0.0
    saved_hours = 0.0
    ramp_usd = 0.0
    carbon_saved_kg: Footprint | None = None
    ramp_hours = ramp / MINUTES_PER_HOUR
    working_days_per_month = HOURS_PER_MONTH / 24.0 * len(working_days) / 7.0
    priced = True
    for variant in endpoint.serving_variants:
        if variant.serverless is not None or variant.instance_type is None:
            continue
        night = _night_instances(endpoint, variant)
        if night is None:
            continue
        column = (key, variant.name)
        # Conservative: an hour without a count saves nothing (it may have had no instance).
        hourly = (counts[column].to_numpy(dtype="float64") if column in counts.columns
                  else np.full(len(index), np.nan))
        hours = float(np.nansum(np.clip(hourly - night, 0.0, None) * off)) * scale
        if hours <= 0:
            continue
        price = ctx.prices.hourly(variant.instance_type, endpoint.region)
        if price is None:
            priced = False
        else:
            saved_usd += hours * price.usd_per_hour
            restored = max(billed_instances(endpoint, variant, ctx.fleet).count - night, 0.0)
            ramp_usd += restored * ramp_hours * working_days_per_month * price.usd_per_hour
        # Off hours have no traffic: what is saved is the idle draw (a lower bound).
        per_hour = instances_footprint(variant.instance_type, 1, endpoint.region, 0.0, 0.0,
                                       hours=1.0)
        if per_hour is not None:
            part = per_hour.scaled(hours)
            carbon_saved_kg = part if carbon_saved_kg is None else _add(carbon_saved_kg, part)
        saved_hours += hours
        if endpoint.deployment is DeploymentOption.INFERENCE_COMPONENTS:
            targets += [_component_target(c) for c in endpoint.components_on(variant.name)
                        if c.base_component is None]
        else:
            targets.append(_variant_target(endpoint, variant))
    if not targets or saved_hours <= 0:
        return None
    current = ctx.current_cost(key)
    saved = round(saved_usd, 2) if priced and current.usd is not None else None
    if saved is None or saved < s.min_monthly_savings_usd:
        return None
    after = CostEstimate(usd=round(max(current.usd - saved, 0.0), 2) if current.usd is not None
                         else None,
                         source=f"{current.source}; off-hours capacity from the hourly "
                                "instance counts", estimated=True)
    carbon_now = ctx.footprint(key)
    carbon_after = (None if carbon_now is None or carbon_saved_kg is None
                    else _subtract(carbon_now, carbon_saved_kg))
    days = s.off_hours_working_days
    schedules = [t.schedule(window, ramp, timezone, days)
                 for t in targets]
    commands = [c for t, sched in zip(targets, schedules, strict=True)
                for c in t.commands(endpoint, sched)]
    morning = schedules[0].restore_minute
    schedule = (f"from {clock(window.end_hour * MINUTES_PER_HOUR)} to {clock(morning)} on "
                f"{days_text(days)} and all day on other days ({timezone})")
    lows = ", ".join(f"{t.name} {t.day_min}-{t.day_max} to {t.night} "
                     f"{'copies' if t.component else 'instance(s)'}" for t in targets)
    zero = any(t.night == 0 for t in targets)
    cold = (" Requests outside the window find no copy loaded: they fail until a copy is "
            "back (add a scale-out step on NoCapacityInvocationFailures to wake it on demand)."
            if any(t.component for t in targets) else
            " A request outside the window waits in the async queue until an instance is up."
            if zero else " Outside the window one instance serves whatever comes.")
    changes = tuple(
        ProfileChange(characteristic="off_hours_schedule", current=None, proposed=sched,
                      variant=None if t.component else t.name,
                      component=t.name if t.component else None)
        for t, sched in zip(targets, schedules, strict=True))
    why_allowed = ("its requirements allow it (sagetop:off-hours)"
                   if ctx.is_production(key) else
                   f"it is {ctx.requirements_of(key).environment.value}, not production")
    quiet = ("" if window.quiet_fraction is None
             else f"; {window.quiet_fraction:.0%} of the observed hours outside it had no request")
    return Finding(
        kind=FindingKind.OFF_HOURS_CANDIDATE,
        severity=opportunity_severity(saved, current),
        endpoint=key,
        variant=next((t.name for t in targets if not t.component), None),
        summary=(f"Traffic only {clock(window.start_hour * 60)}-{clock(window.end_hour * 60)} "
                 f"{days_text(days)} ({timezone}): an off-hours schedule saves {usd(saved)}"),
        rationale=(
            f"{window.share:.0%} of the requests over {window.days:.0f} days came between "
            f"{clock(window.start_hour * 60)} and {clock(window.end_hour * 60)} on "
            f"{days_text(days)} ({timezone}){quiet}. Capacity may follow those hours: "
            f"{why_allowed}. Two Application Auto Scaling scheduled actions per target lower "
            f"MinCapacity/MaxCapacity when the window closes and restore them "
            f"{ramp} minutes before it opens ({lows}), so about "
            f"{saved_hours:,.0f} instance-hours a month are not paid for ({usd(saved)}, from the "
            f"hourly instance counts of the lookback). The morning ramp-up (instances billed "
            f"from {clock(morning)}, before the first caller) costs {usd(round(ramp_usd, 2))} "
            f"of it.{cold} sagetop does not change the endpoint: the commands below are for the "
            "team to run." + carbon_clause(carbon_now, carbon_after)),
        evidence={
            "window_start_hour": window.start_hour,
            "window_end_hour": window.end_hour,
            "timezone": timezone,
            "working_days": ",".join(days),
            "share_in_window": round(window.share, 4),
            "quiet_hour_fraction_outside": (None if window.quiet_fraction is None
                                            else round(window.quiet_fraction, 3)),
            "instance_hours_saved_per_month": round(saved_hours, 1),
            "ramp_up_minutes": ramp,
            "ramp_up_monthly_usd": round(ramp_usd, 2),
            "current_monthly_usd": current.usd,
            "scheduled_monthly_usd": after.usd,
            "days_observed": round(window.days, 1),
        },
        options=(
            keep("current: the same capacity around the clock", current, fits=True,
                 carbon=carbon_now),
            option(f"off-hours schedule: {lows} {schedule}", after, fits=True,
                   note=(f"capacity back {ramp} min before "
                         f"{clock(window.start_hour * 60)} (ramp-up "
                         f"{usd(round(ramp_usd, 2))} included)"),
                   kind=OptionKind.SCHEDULE, changes=changes, carbon=carbon_after,
                   command="\n".join(commands)),
        ),
        monthly_savings_usd=saved,
    )


def _add(a: Footprint, b: Footprint) -> Footprint:
    summed = combine([a, b])
    assert summed is not None
    return summed


def _subtract(total: Footprint, part: Footprint) -> Footprint:
    """What is left of `total` without `part` (never below zero)."""
    fields = ("kwh", "kwh_low", "kwh_high", "kgco2e", "kgco2e_low", "kgco2e_high",
              "embodied_kgco2e")
    return total.model_copy(update={f: max(getattr(total, f) - getattr(part, f), 0.0)
                                    for f in fields})


