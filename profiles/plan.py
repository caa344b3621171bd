"""One plan per endpoint: which of its findings' options it takes, which it leaves, and why.

The planner (`pipeline.planner`) writes these; the target profile is built by applying a plan
(`profiles.target`), the rationale tells its story, the dashboard shows and changes it, and every
savings figure is summed from plans (`FleetPlanTotals`). Data only: nothing here decides.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from advisors.finding import CostedOption, Finding, FindingKind, OptionKind, Severity


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OptionStatus(StrEnum):
    CHOSEN = "chosen"  # in the plan
    ALTERNATIVE = "alternative"  # fits and could be picked instead; lost, `why` says how
    COVERED = "covered"  # its finding's change is made by the chosen options already
    EXCLUDED = "excluded"  # cannot go with the chosen options (`why`)
    UNFIT = "unfit"  # does not meet the requirements, or nothing in a profile models it
    EXPERIMENT = "experiment"  # to run before choosing; never a target
    REJECTED = "rejected"  # the user rejected it


class Outcome(StrEnum):
    """What became of a finding in the plan."""

    RESOLVED = "resolved"  # one of its options is chosen
    COVERED = "covered"  # the chosen options already make its change, or make it moot
    EXCLUDED = "excluded"  # its change cannot go with the chosen hosting (why)
    DECLINED = "declined"  # an opportunity the plan does not take (cheaper or better elsewhere)
    UNRESOLVED = "unresolved"  # a requirement the plan cannot meet (why)
    REJECTED = "rejected"  # the user rejected it
    EVIDENCE = "evidence"  # nothing to choose: it informs (drift, errors)


class PlannedOption(_Model):
    """One option of one finding, as the plan treats it."""

    id: str  # "<finding kind>:<variant|component|->:<option label>", stable across refreshes
    finding: FindingKind
    variant: str | None = None
    component: str | None = None
    option: CostedOption
    status: OptionStatus
    why: str = ""
    # What it saves a month against today for this endpoint, as planned (None: unknown).
    monthly_savings_usd: float | None = None
    monthly_kgco2e_saved: float | None = None
    pickable: bool = False  # the user may choose it instead of the plan's choice

    @property
    def kind(self) -> OptionKind:
        return self.option.kind

    @property
    def label(self) -> str:
        return self.option.label


class FindingOutcome(_Model):
    kind: FindingKind
    severity: Severity
    variant: str | None = None
    component: str | None = None
    summary: str
    outcome: Outcome
    why: str = ""
    by: str | None = None  # the chosen option's id that resolves or covers it


class Alternative(_Model):
    """A whole plan the planner weighed (the hosting kept, or another way to host it)."""

    label: str
    hosting: OptionKind  # keep: the endpoint stays as it is hosted today
    monthly_cost_usd: float | None  # the endpoint a month under it
    monthly_savings_usd: float | None
    # The same plan's estimated kgCO2e a month saved (None: no option in it has a figure).
    monthly_kgco2e_saved: float | None = None
    meets_requirements: bool
    chosen: bool
    why: str


class EndpointPlan(_Model):
    endpoint: str
    current_monthly_usd: float | None
    options: tuple[PlannedOption, ...] = ()  # chosen first, then the rest, finding by finding
    findings: tuple[FindingOutcome, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    monthly_savings_usd: float = 0.0  # what the chosen options save, known prices only
    unpriced: int = 0  # chosen options whose effect on the bill is not known
    monthly_kgco2e_saved: float | None = None  # None: no chosen option carries a figure
    # The savings of each finding kind (the chosen options' kind): they add up to the total.
    savings_by_kind: dict[str, float] = {}
    actions: tuple[str, ...] = ()  # what the team does, in AWS terms
    watch: tuple[str, ...] = ()  # what to look at after the change
    summary: str = ""  # the chosen plan in a sentence
    rejected: bool = False  # the user rejected the whole plan
    decided: bool = False  # the user changed what the planner chose

    @property
    def chosen(self) -> tuple[PlannedOption, ...]:
        return tuple(o for o in self.options if o.status is OptionStatus.CHOSEN)

    @property
    def target_monthly_usd(self) -> float | None:
        if self.current_monthly_usd is None:
            return None
        return round(max(self.current_monthly_usd - self.monthly_savings_usd, 0.0), 2)

    def option(self, option_id: str) -> PlannedOption | None:
        return next((o for o in self.options if o.id == option_id), None)

    def outcome_of(self, finding: Finding) -> FindingOutcome | None:
        return next((f for f in self.findings if f.kind is finding.kind
                     and f.variant == finding.variant and f.component == finding.component),
                    None)


def option_id(finding: Finding, option: CostedOption) -> str:
    """Stable id of one option: "<kind>:<variant or component or ->:<label>"."""
    return f"{finding.kind}:{finding.component or finding.variant or '-'}:{option.label}"


class FleetPlanTotals(_Model):
    """The one savings figure of a fleet: every place that shows savings shows these."""

    monthly_savings_usd: float  # sum of the endpoint plans (net: fixes that cost count)
    savings_by_kind: dict[str, float]  # adds up to monthly_savings_usd (cents)
    endpoints_saving: int  # endpoints whose plan saves money
    endpoints_costing: int  # endpoints whose plan costs more (requirements to meet)
    unpriced_options: int  # chosen options whose effect on the bill is not priced
    monthly_kgco2e_saved: float | None  # None: no plan carries a carbon figure
    covered_findings: int  # findings whose change another finding's option already makes
