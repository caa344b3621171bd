"""What an advisor says about an endpoint: a finding with its evidence, suggestion and cost."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class ProfileChange(BaseModel):
    """One suggested change to one characteristic of the endpoint's ML profile."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    characteristic: str  # a field of the ML profile, e.g. "instance_type", "deployment_option"
    current: Any = None
    proposed: Any = None
    variant: str | None = None
    component: str | None = None  # an inference component's characteristic (its copies)


class CostedOption(BaseModel):
    """An option considered for the change, with what it would cost a month."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str  # e.g. "2x ml.c5.xlarge", "serverless 2048 MB"
    monthly_cost_usd: float | None  # None: price unknown
    price_source: str  # where the price comes from (catalogue row, estimate, Pricing API)
    fits: bool  # whether it meets the requirements and utilisation targets
    note: str = ""
    # An experiment to run before choosing (e.g. an Inference Recommender job), not a target
    # configuration: nothing changes until its result is in. `command` is what the team runs;
    # `one_time_cost_usd` what the experiment itself costs.
    experiment: bool = False
    command: str | None = None
    one_time_cost_usd: float | None = None
    # Where the option comes from when not sagetop's own sizing (e.g. "Inference Recommender
    # job <name>, 2026-11-11").
    evidence_source: str | None = None
    # Estimated kgCO2e a month of this option (operational + embodied, `ground.energy`); None:
    # unknown (an instance type or accelerator without coefficients, no busy-time data).
    monthly_kgco2e: float | None = None


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
    suggested: tuple[ProfileChange, ...] = ()
    options: tuple[CostedOption, ...] = ()
    monthly_savings_usd: float | None = None  # negative when the change costs more
    # The same change in estimated kgCO2e a month (negative: emits more); None: unknown.
    monthly_savings_kgco2e: float | None = None
