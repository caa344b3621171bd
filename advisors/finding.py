"""What an advisor says about an endpoint: a finding with its evidence and its costed options.

A finding is evidence that something is wasteful or risky. What could be done about it are its
options: each says what kind of change it is (`OptionKind`), the typed profile changes it makes,
and what it costs (and emits) a month. Every finding that suggests something lists today's
configuration as its `keep` option, costed over the same scope (the endpoint, one variant or
component, or this endpoint's share of a group), so an option's saving is `keep - option`. The
planner (`pipeline.planner`) chooses one coherent set of options per endpoint; a rule never
decides for another rule.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ground.domain import DeploymentOption
from ground.schedule import OffHoursSchedule


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class FindingKind(StrEnum):
    IDLE = "idle"
    IDLE_COMPONENT = "idle-component"
    OVER_PROVISIONED = "over-provisioned"
    UNDER_PROVISIONED = "under-provisioned"
    SERVERLESS_CANDIDATE = "serverless-candidate"
    ASYNC_CANDIDATE = "async-candidate"
    BATCH_CANDIDATE = "batch-candidate"
    OFF_HOURS_CANDIDATE = "off-hours-candidate"
    MULTI_MODEL_CANDIDATE = "multi-model-candidate"
    MULTI_MODEL_CACHE = "multi-model-cache"
    SINGLE_INSTANCE = "single-instance"
    NO_AUTOSCALING = "no-autoscaling"
    DRIFT = "drift"
    NO_DATA_CAPTURE = "no-data-capture"
    COLD_START_RISK = "cold-start-risk"
    ERROR_RATE = "error-rate"
    FINISHED_AB_TEST = "finished-ab-test"
    NO_DEPLOYMENT_GUARDRAILS = "no-deployment-guardrails"
    RECOMMENDER_DISAGREES = "recommender-disagrees"


class OptionKind(StrEnum):
    """What an option does to the endpoint, which decides what it can be combined with.

    Hosting kinds (serverless, async, batch, multi-model, real-time, remove without a variant or
    component) replace how the whole endpoint is hosted; resize, schedule and remove of a variant
    or component change those instances only; configure changes a setting and leaves the bill
    alone; keep is today's configuration; an experiment is something to run before choosing and
    never a target.
    """

    KEEP = "keep"
    RESIZE = "resize"  # instance type, count, MinCapacity/MaxCapacity, target value, copies
    SCHEDULE = "schedule"  # scheduled scaling actions (e.g. fewer instances off hours)
    REMOVE = "remove"  # delete the endpoint, a variant or an inference component
    CONFIGURE = "configure"  # a setting: data capture, rollback alarms, a scaling policy
    SERVERLESS = "serverless"  # a new serverless endpoint
    ASYNC = "async"  # a new endpoint config with AsyncInferenceConfig
    BATCH = "batch"  # a scheduled batch transform job instead of an endpoint
    MULTI_MODEL = "multi-model"  # join a multi-model endpoint shared with others
    REAL_TIME = "real-time"  # a serverless endpoint moved onto instances
    EXPERIMENT = "experiment"  # e.g. an Inference Recommender job: evidence, not a target


HOSTING_KINDS = frozenset({OptionKind.SERVERLESS, OptionKind.ASYNC, OptionKind.BATCH,
                           OptionKind.MULTI_MODEL, OptionKind.REAL_TIME})

# The type of every characteristic a change may set, as the ML profile holds it (profiles check
# that the two agree): a change is typed when it is made, never free text where the profile
# wants a boolean or an enum.
CHANGE_TYPES: dict[str, Any] = {
    "deployment_option": DeploymentOption,
    "models_per_endpoint": int,
    "instance_type": str,
    "instance_count": int,
    "min_instances": int,
    "max_instances": int,
    "autoscaling": bool,
    "scaling_target_value": float,
    "serverless_memory_mb": int,
    "serverless_max_concurrency": int,
    "data_capture": bool,
    "auto_rollback": bool,
    "copies": int,
    "min_copies": int,
    "max_copies": int,
    "copies_autoscaling": bool,
    # Scheduled actions lowering a variant's instances or a component's copies off hours.
    "off_hours_schedule": OffHoursSchedule,
}


def typed_value(characteristic: str, value: Any) -> Any:
    """`value` as the profile types `characteristic`; ValueError when it is not one."""
    kind = CHANGE_TYPES.get(characteristic)
    if kind is None:
        raise ValueError(f"{characteristic!r} is not a characteristic a change may set "
                         f"(one of {', '.join(sorted(CHANGE_TYPES))})")
    if value is None:
        return None
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(f"{characteristic} must be true or false, not {value!r}")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(f"{characteristic} must be a whole number, not {value!r}")
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ValueError(f"{characteristic} must be a number, not {value!r}")
    if kind is str:
        if isinstance(value, str) and value:
            return value
        raise ValueError(f"{characteristic} must be a name, not {value!r}")
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        try:
            return kind.model_validate(value)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"{characteristic}{'.' + where if where else ''}: "
                             f"{first['msg']}") from None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(v) for v in kind)
        raise ValueError(f"{characteristic} must be one of {allowed}, not {value!r}") from None


class ProfileChange(BaseModel):
    """One change to one characteristic of the endpoint's ML profile, typed as the profile is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    characteristic: str  # a field of the ML profile, e.g. "instance_type", "deployment_option"
    current: Any = None
    proposed: Any = None
    variant: str | None = None
    component: str | None = None  # an inference component's characteristic (its copies)

    @model_validator(mode="before")
    @classmethod
    def _typed(cls, data: Any) -> Any:
        """Both values as the profile types them; a rule proposing anything else is a bug."""
        if not isinstance(data, dict):
            return data
        name = str(data.get("characteristic"))
        return {**data, **{field: typed_value(name, data[field])
                           for field in ("current", "proposed") if field in data}}

    @property
    def owner(self) -> tuple[str, str]:
        """What it changes: ("component", name), ("variant", name) or ("endpoint", "")."""
        if self.component is not None:
            return ("component", self.component)
        if self.variant is not None:
            return ("variant", self.variant)
        return ("endpoint", "")


class CostedOption(BaseModel):
    """One thing that could be done about a finding, with what it would cost a month."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: OptionKind
    label: str  # e.g. "2x ml.c5.xlarge", "serverless 2048 MB"
    # Per month, over the finding's scope (see the module docstring); None: price unknown.
    monthly_cost_usd: float | None
    price_source: str  # where the price comes from (catalogue row, estimate, Pricing API)
    fits: bool  # whether it meets the requirements and utilisation targets
    note: str = ""
    changes: tuple[ProfileChange, ...] = ()  # what choosing it changes in the profile
    # Emissions a month over the same scope (kg CO2e); None: unknown. The plan sums them next
    # to dollars (keep - option = what the option saves).
    monthly_kgco2e: float | None = None
    # What the team runs for it (an experiment's command); `one_time_cost_usd` what that costs.
    command: str | None = None
    one_time_cost_usd: float | None = None
    # Where the option comes from when not sagetop's own sizing (e.g. "Inference Recommender
    # job <name>, 2026-11-11").
    evidence_source: str | None = None
    # Options shared by several endpoints (a multi-model group) name the group: the planner
    # takes them for every member or for none.
    group: str | None = None

    @property
    def experiment(self) -> bool:
        return self.kind is OptionKind.EXPERIMENT


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: FindingKind
    severity: Severity
    endpoint: str  # endpoint key: "<region>/<name>"
    variant: str | None = None
    component: str | None = None  # the inference component the finding is about
    summary: str  # one line
    rationale: str  # why, in a few sentences, with the numbers
    evidence: dict[str, float | int | str | None] = Field(default_factory=dict)
    options: tuple[CostedOption, ...] = ()
    # What the rule's own preferred option saves against today, alone (negative when it costs
    # more): the finding's weight. What the endpoint's plan saves is the planner's to say.
    monthly_savings_usd: float | None = None
    # The same option's estimated kgCO2e a month against today (negative: emits more; None:
    # unknown). Left out, it is read from the options (keep - preferred).
    monthly_savings_kgco2e: float | None = None

    @model_validator(mode="after")
    def _carbon_of_the_weight(self) -> Finding:
        if self.monthly_savings_kgco2e is None:
            preferred = self.preferred
            if preferred is not None:
                # Frozen: set once, while the finding is being made.
                object.__setattr__(self, "monthly_savings_kgco2e",
                                   self.kgco2e_saving_of(preferred))
        return self

    @property
    def keep(self) -> CostedOption | None:
        """Today's configuration, as the rule costed it."""
        return next((o for o in self.options if o.kind is OptionKind.KEEP), None)

    @property
    def must(self) -> bool:
        """Today's configuration breaks a requirement (the rule says `keep` does not fit):
        a plan must fix it, not merely may."""
        keep = self.keep
        return keep is not None and not keep.fits

    @property
    def changing(self) -> tuple[CostedOption, ...]:
        """The options that change something (neither keep nor an experiment)."""
        return tuple(o for o in self.options
                     if o.kind not in (OptionKind.KEEP, OptionKind.EXPERIMENT) and o.changes)

    @property
    def preferred(self) -> CostedOption | None:
        """The option the rule would take alone: the cheapest that fits (unpriced last)."""
        fitting = [o for o in self.changing if o.fits]
        if not fitting:
            return None
        return min(fitting, key=lambda o: (o.monthly_cost_usd is None,
                                           o.monthly_cost_usd or 0.0))

    @property
    def suggested(self) -> tuple[ProfileChange, ...]:
        """The changes of the preferred option."""
        preferred = self.preferred
        return preferred.changes if preferred is not None else ()

    def saving_of(self, option: CostedOption) -> float | None:
        """What `option` saves a month against keep, in $ (None: either price unknown)."""
        return self._against_keep(option, lambda o: o.monthly_cost_usd, 2)

    def kgco2e_saving_of(self, option: CostedOption) -> float | None:
        """What `option` saves a month against keep, in kgCO2e (None: either is unknown)."""
        return self._against_keep(option, lambda o: o.monthly_kgco2e, 3)

    def _against_keep(self, option: CostedOption,
                      figure: Callable[[CostedOption], float | None], digits: int
                      ) -> float | None:
        # Keep against itself saves nothing, even when its own figure is unknown.
        if option.kind is OptionKind.KEEP:
            return 0.0
        keep = self.keep
        today = None if keep is None else figure(keep)
        proposed = figure(option)
        if today is None or proposed is None:
            return None
        return round(today - proposed, digits)
