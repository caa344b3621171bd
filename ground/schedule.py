"""An off-hours schedule: capacity lowered outside working hours, as a typed value.

The `off-hours-candidate` finding proposes one per scalable target (a variant's instances or an
inference component's copies); the planner takes it as a typed change, the target profile holds
it (`off_hours_schedule`), and the cross-field rules check it against the target's capacity. The
schedule stands for exactly two Application Auto Scaling scheduled actions per target: one
lowers MinCapacity/MaxCapacity to `night` when the working window closes, one restores the day
bounds `ramp_up_minutes` before it opens, on the working days, in `timezone`. sagetop never calls
PutScheduledAction: `actions` and `commands` write the settings out for the team.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ground.requirements import known_timezone

# Day names as Application Auto Scaling's cron expressions write them, Monday first.
CRON_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
MINUTES_PER_HOUR = 60
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
# Scheduled action names: 1-256 characters (Application Auto Scaling API reference).
MAX_ACTION_NAME = 256


def cron(minute_of_day: int, days: tuple[str, ...]) -> str:
    """`cron(M H ? * DAYS *)`, the days as a run (MON-FRI) when they are one."""
    indices = [CRON_DAYS.index(d) for d in days]
    contiguous = indices == list(range(indices[0], indices[0] + len(indices)))
    when = f"{days[0]}-{days[-1]}" if contiguous and len(days) > 1 else ",".join(days)
    return f"cron({minute_of_day % 60} {minute_of_day // 60} ? * {when} *)"


def days_text(days: tuple[str, ...]) -> str:
    """MON-FRI, or the days one by one when they are not a run."""
    return cron(0, days).split(" ? * ")[1].removesuffix(" *)")


def clock(minute_of_day: int) -> str:
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


class ScheduledAction(BaseModel):
    """One PutScheduledAction call's settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    resource_id: str
    scalable_dimension: str
    schedule: str  # cron(...) in `timezone`
    timezone: str
    min_capacity: int
    max_capacity: int

    @property
    def text(self) -> str:
        return (f"PutScheduledAction {self.resource_id} ({self.scalable_dimension}): "
                f"ScheduledActionName {self.name}, Schedule \"{self.schedule}\", Timezone "
                f"{self.timezone}, ScalableTargetAction MinCapacity={self.min_capacity},"
                f"MaxCapacity={self.max_capacity}")

    def command(self, region: str) -> str:
        return (f"aws application-autoscaling put-scheduled-action --region {region} "
                f"--service-namespace sagemaker --scalable-dimension {self.scalable_dimension} "
                f"--resource-id {self.resource_id} --scheduled-action-name {self.name} "
                f"--schedule \"{self.schedule}\" --timezone {self.timezone} "
                f"--scalable-target-action MinCapacity={self.min_capacity},"
                f"MaxCapacity={self.max_capacity}")


class OffHoursSchedule(BaseModel):
    """Lower a scalable target to `night` outside working hours, restore its day bounds before.

    Hours are whole local hours of `timezone`; the window lies within one day with night on both
    sides (an evening action at midnight would fall on the next day's cron day).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = Field(min_length=1)  # IANA name, e.g. Europe/Berlin
    working_days: tuple[str, ...] = Field(min_length=1)  # cron day names, Monday first
    opens_hour: int = Field(ge=1, le=22)  # first working hour, local
    closes_hour: int = Field(ge=2, le=23)  # first hour after the window, local
    ramp_up_minutes: int = Field(ge=0, le=180)  # capacity back this long before it opens
    unit: Literal["instances", "copies"] = "instances"
    day_min: int = Field(ge=0)  # MinCapacity in working hours (the target's bounds)
    day_max: int = Field(ge=0)  # MaxCapacity in working hours
    night: int = Field(ge=0)  # MinCapacity = MaxCapacity outside them

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if not known_timezone(value):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)")
        return value

    @field_validator("working_days")
    @classmethod
    def _days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [d for d in value if d not in CRON_DAYS]
        if unknown:
            raise ValueError(f"expected day names among {', '.join(CRON_DAYS)}, got {unknown}")
        if len(set(value)) != len(value):
            raise ValueError(f"each day once, got {list(value)}")
        return tuple(sorted(value, key=CRON_DAYS.index))

    @model_validator(mode="after")
    def _agrees(self) -> OffHoursSchedule:
        if self.closes_hour <= self.opens_hour:
            raise ValueError(f"closes_hour {self.closes_hour} must be after opens_hour "
                             f"{self.opens_hour}")
        if self.ramp_up_minutes > self.opens_hour * MINUTES_PER_HOUR:
            raise ValueError(f"ramp_up_minutes {self.ramp_up_minutes} starts before midnight")
        if self.day_min > self.day_max:
            raise ValueError(f"day_min {self.day_min} is above day_max {self.day_max}")
        if self.night > self.day_min:
            raise ValueError(f"night {self.night} is above day_min {self.day_min}: the schedule "
                             "would raise capacity at night")
        return self

    @property
    def restore_minute(self) -> int:
        """Local minute of the day the morning action restores the day bounds."""
        return self.opens_hour * MINUTES_PER_HOUR - self.ramp_up_minutes

    @property
    def lower_minute(self) -> int:
        return self.closes_hour * MINUTES_PER_HOUR

    @property
    def text(self) -> str:
        return (f"{self.unit} {self.day_min}-{self.day_max} by day, {self.night} from "
                f"{clock(self.lower_minute)} to {clock(self.restore_minute)} on "
                f"{days_text(self.working_days)} and all day on other days ({self.timezone})")

    def __str__(self) -> str:
        return self.text

    def following(self, day_min: int, day_max: int) -> OffHoursSchedule:
        """The same schedule restoring other day bounds (the night never above them)."""
        return self.model_copy(update={"day_min": day_min, "day_max": day_max,
                                       "night": min(self.night, day_min)})

    def actions(self, resource_id: str, dimension: str, prefix: str) -> tuple[ScheduledAction,
                                                                              ScheduledAction]:
        """The evening and morning scheduled actions of one scalable target."""
        stem = prefix[:MAX_ACTION_NAME - len("-off-hours-evening")]

        def action(label: str, minute: int, low: int, high: int) -> ScheduledAction:
            return ScheduledAction(name=f"{stem}-off-hours-{label}", resource_id=resource_id,
                                   scalable_dimension=dimension,
                                   schedule=cron(minute, self.working_days),
                                   timezone=self.timezone, min_capacity=low, max_capacity=high)

        return (action("evening", self.lower_minute, self.night, self.night),
                action("morning", self.restore_minute, self.day_min, self.day_max))


def variant_resource(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def component_resource(component: str) -> str:
    return f"inference-component/{component}"
