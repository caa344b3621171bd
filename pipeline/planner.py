"""The planner: per endpoint, one coherent target among the options its findings open.

Findings are evidence; each opens options (keep, resize, serverless, async, batch, join a
multi-model group, remove, a scheduled scale-down, a setting...), typed and costed by its rule.
The planner weighs whole plans, one per way of hosting the endpoint (as it is hosted today, and
each hosting option that fits), and takes the cheapest that meets every requirement:

* a finding whose `keep` option does not fit is a requirement (a must): the plan fixes it with
  one of its own options, or with another option that already makes its change (a second
  instance is there if a resize keeps two), or by a hosting that makes it moot (a serverless
  endpoint needs no extra instance), or it stays unresolved and the plan says why;
* on today's hosting, each variant or component takes at most one sizing option (each is
  priced against today's instances, so two would not add up; any options that set the same
  characteristic exclude each other too) and every finding at most one option; the largest
  savings go first, after the musts. An off-hours schedule is a sizing option: its scheduled
  actions set MinCapacity/MaxCapacity at night and it was costed on today's capacity, so it
  competes with every other sizing of the same variant or component, and a hosting that
  replaces the instances makes it moot;
* settings (data capture, rollback alarms, a scaling policy) join unless the hosting excludes
  them (a serverless endpoint cannot capture data) or makes them moot;
* a plan must give a target that passes the profile's cross-field rules
  (`profiles.shape.target_problems`), checked here on the same shape the target is built from;
* an experiment is listed, never chosen; a multi-model group is planned for the group: every
  member joins, or none does, whichever saves more in total.

Everything the plan does not take is listed with why it lost. Savings are summed in cents, so
the fleet total is exactly the sum of the endpoint plans and of the kinds. Linear in the fleet:
a handful of candidate plans per endpoint, each a few shape copies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from advisors.finding import (
    HOSTING_KINDS,
    CostedOption,
    Finding,
    FindingKind,
    OptionKind,
    ProfileChange,
)
from ground.domain import DeploymentOption
from ground.schedule import (
    COMPONENT_DIMENSION,
    VARIANT_DIMENSION,
    OffHoursSchedule,
    component_resource,
    variant_resource,
)
from profiles.plan import (
    Alternative,
    EndpointPlan,
    FindingOutcome,
    FleetPlanTotals,
    OptionStatus,
    Outcome,
    PlannedOption,
    option_id,
)
from profiles.shape import TargetShape, apply, owners_of, settle, target_problems

Claim = tuple[tuple[str, str], str]  # (owner, characteristic)

# What an off-hours schedule sets besides itself: the capacity of its variant or component at
# night. Claimed, so that no other sizing of it joins a schedule costed on today's capacity.
SCHEDULED = {"variant": ("instance_type", "instance_count", "min_instances", "max_instances"),
             "component": ("copies", "min_copies", "max_copies")}


def claims_of(shape: TargetShape, change: ProfileChange) -> list[Claim]:
    """What a change claims in a plan: what it sets (`owners_of`) and, for a schedule, the
    capacity it moves."""
    claims = owners_of(shape, change)
    if change.characteristic == "off_hours_schedule":
        claims += [(owner, name) for owner, _ in list(claims)
                   for name in SCHEDULED.get(owner[0], ())]
    return claims

# Hostings that replace today's instances: what sizes them no longer applies.
REPLACING = frozenset({OptionKind.SERVERLESS, OptionKind.BATCH, OptionKind.MULTI_MODEL,
                       OptionKind.REAL_TIME, OptionKind.REMOVE})
# Less disruption first when two plans cost the same.
DISRUPTION = {OptionKind.KEEP: 0, OptionKind.ASYNC: 1, OptionKind.REAL_TIME: 2,
              OptionKind.MULTI_MODEL: 3, OptionKind.SERVERLESS: 4, OptionKind.BATCH: 5,
              OptionKind.REMOVE: 6}
# Musts another option may meet by making the same change or more (a second instance is a
# second instance whatever its type); other musts are met by their own options only (more
# capacity of another type is not comparable).
MET_BY_DIRECTION = frozenset({FindingKind.SINGLE_INSTANCE, FindingKind.NO_AUTOSCALING})

# What a hosting does to a finding about the endpoint as it runs today: covered (moot, said
# why) or excluded (cannot be done with it). Anything not listed goes along with the hosting.
_INSTANCES = "the new endpoint replaces today's instances and is sized anew"
COVERS: dict[OptionKind, dict[FindingKind, str]] = {
    OptionKind.SERVERLESS: {
        FindingKind.OVER_PROVISIONED: "a serverless endpoint bills busy seconds, not instances",
        FindingKind.SINGLE_INSTANCE: "a serverless endpoint needs no extra instance: AWS runs "
                                     "its capacity across Availability Zones",
        FindingKind.NO_AUTOSCALING: "a serverless endpoint scales with its requests by itself",
        FindingKind.RECOMMENDER_DISAGREES: "no instance type to choose on serverless",
        FindingKind.FINISHED_AB_TEST: "the serverless endpoint has the serving variant only",
        FindingKind.MULTI_MODEL_CACHE: _INSTANCES,
        FindingKind.IDLE_COMPONENT: _INSTANCES,
        FindingKind.OFF_HOURS_CANDIDATE: "a serverless endpoint scales to zero between "
                                         "requests by itself: no instances to schedule",
    },
    OptionKind.BATCH: {
        FindingKind.OVER_PROVISIONED: "a batch job runs only while it has work",
        FindingKind.UNDER_PROVISIONED: "a batch job has no latency objective: it runs as long "
                                       "as its data needs",
        FindingKind.SINGLE_INSTANCE: "no endpoint stays up: a failed job is retried",
        FindingKind.NO_AUTOSCALING: "a batch job is sized per run",
        FindingKind.NO_DATA_CAPTURE: "a batch job writes every output to S3 itself",
        FindingKind.NO_DEPLOYMENT_GUARDRAILS: "no endpoint to update",
        FindingKind.RECOMMENDER_DISAGREES: "the job is sized per run",
        FindingKind.FINISHED_AB_TEST: "no endpoint, no variants",
        FindingKind.ERROR_RATE: "a batch job retries failed records",
        FindingKind.OFF_HOURS_CANDIDATE: "a batch job runs only while it has work: no "
                                         "endpoint to schedule",
    },
    OptionKind.MULTI_MODEL: {
        FindingKind.OVER_PROVISIONED: "the shared endpoint is sized for the whole group",
        FindingKind.RECOMMENDER_DISAGREES: "the shared endpoint is sized for the whole group",
        FindingKind.FINISHED_AB_TEST: "the model joins the shared endpoint alone",
    },
    OptionKind.REAL_TIME: {
        FindingKind.UNDER_PROVISIONED: "sized anew on instances",
        FindingKind.COLD_START_RISK: "instances have no cold starts",
    },
    OptionKind.ASYNC: {
        FindingKind.SINGLE_INSTANCE: "an async endpoint queues requests while an instance is "
                                     "replaced: none is lost",
    },
}
EXCLUDES: dict[OptionKind, dict[FindingKind, str]] = {
    OptionKind.SERVERLESS: {
        FindingKind.NO_DATA_CAPTURE: "serverless endpoints cannot capture data",
    },
}
REMOVED = "the endpoint is deleted"
# Options that size instances or copies: at most one per variant or component (SIZE claims it).
SIZING = frozenset({OptionKind.RESIZE, OptionKind.SCHEDULE, OptionKind.REMOVE})
SIZE = "size"


@dataclass(frozen=True)
class Decisions:
    """What the user decided for one endpoint; everything else is the planner's choice."""

    rejected_plan: bool = False
    rejected: frozenset[str] = frozenset()  # finding ids ("<kind>:<variant|component|->")
    picked: frozenset[str] = frozenset()  # option ids the plan must take

    @property
    def empty(self) -> bool:
        return not (self.rejected_plan or self.rejected or self.picked)


def finding_id(finding: Finding) -> str:
    return f"{finding.kind}:{finding.component or finding.variant or '-'}"


@dataclass
class _Option:
    finding: Finding
    option: CostedOption
    id: str
    saving: float | None
    kg: float | None
    claims: frozenset[Claim]
    selectable: bool
    rejected: bool
    problem: str | None = None  # why its changes cannot be set on this endpoint at all

    @property
    def kind(self) -> OptionKind:
        return self.option.kind

    @property
    def hosting(self) -> bool:
        """Replaces how the whole endpoint is hosted (remove: the whole endpoint)."""
        if self.kind is OptionKind.REMOVE:
            return self.finding.variant is None and self.finding.component is None
        return self.kind in HOSTING_KINDS

    @property
    def setting(self) -> bool:
        return self.kind is OptionKind.CONFIGURE

    @property
    def rank(self) -> tuple[int, float]:
        """Largest saving first; unknown savings after known ones that save."""
        if self.saving is None:
            return (1, 0.0)
        return (0 if self.saving > 0 else 2, -self.saving)


@dataclass
class _Candidate:
    hosting: _Option | None
    chosen: list[_Option] = field(default_factory=list)
    outcomes: dict[int, tuple[Outcome, str, str | None]] = field(default_factory=dict)
    lost: dict[str, str] = field(default_factory=dict)  # option id -> why (within the plan)
    problems: list[str] = field(default_factory=list)
    shape: TargetShape | None = None
    savings_cents: int = 0
    savings: dict[str, float] = field(default_factory=dict)  # option id -> planned saving
    # (an option whose saving is unknown has none: it counts nothing, said so)
    kg: dict[str, float] = field(default_factory=dict)  # option id -> planned kgCO2e saving

    @property
    def kgco2e_saved(self) -> float | None:
        """The plan's estimated kgCO2e a month saved (None: no chosen option has a figure)."""
        return round(sum(self.kg.values()), 3) if self.kg else None

    @property
    def kind(self) -> OptionKind:
        return self.hosting.kind if self.hosting is not None else OptionKind.KEEP

    @property
    def unresolved(self) -> int:
        return sum(1 for outcome, _, _ in self.outcomes.values()
                   if outcome is Outcome.UNRESOLVED)

    @property
    def valid(self) -> bool:
        return not self.problems

    def label(self) -> str:
        return ("today's hosting" if self.hosting is None
                else f"{self.hosting.finding.kind}: {self.hosting.option.label}")


def _cents(value: float | None) -> int:
    return 0 if value is None else round(value * 100)


def _usd(value: float | None) -> str:
    if value is None:
        return "price unknown"
    return f"${value:,.2f}/month" if abs(value) < 10 else f"${value:,.0f}/month"


def _saving_words(value: float | None) -> str:
    if value is None:
        return "saving unknown"
    if value < 0:
        return f"costs {_usd(-value)} more"
    return f"saves {_usd(value)}"


# ----------------------------------------------------------------------- one endpoint

@dataclass
class EndpointPlanner:
    """Plans one endpoint; `plan()` with or without its multi-model group."""

    key: str
    findings: Sequence[Finding]
    shape: TargetShape  # the endpoint today
    current_monthly_usd: float | None
    decisions: Decisions = field(default_factory=Decisions)
    options: list[_Option] = field(init=False)
    # Options are fixed once built; a plan asks for the same group's many times (per hosting).
    _usable_by_group: dict[str | None, list[_Option]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.options = []
        for finding in self.findings:
            rejected = finding_id(finding) in self.decisions.rejected
            for option in finding.options:
                if option.kind is OptionKind.KEEP:
                    continue
                claims = frozenset(claim for change in option.changes
                                   for claim in claims_of(self.shape, change))
                if option.kind in SIZING:
                    # Two sizings of one variant do not add up: each is priced against
                    # today's instances (a type from one, a count from another would make a
                    # third size that neither priced).
                    claims |= {(owner, SIZE) for owner, _ in claims}
                selectable = (option.fits and option.kind is not OptionKind.EXPERIMENT
                              and (bool(option.changes) or option.kind is OptionKind.REMOVE))
                trial = self.shape.copy()
                problem = next((p for p in (apply(trial, c) for c in _ordered(option.changes))
                                if p is not None), None)
                self.options.append(_Option(
                    finding=finding, option=option, id=option_id(finding, option),
                    saving=finding.saving_of(option), kg=finding.kgco2e_saving_of(option),
                    claims=claims, selectable=selectable and not rejected and problem is None,
                    rejected=rejected, problem=problem))

    # -- what the plan may take -------------------------------------------------------

    def _usable(self, group: str | None) -> list[_Option]:
        """Selectable options; a group's options only when the group is being planned."""
        usable = self._usable_by_group.get(group)
        if usable is None:
            usable = self._usable_by_group[group] = [
                o for o in self.options if o.selectable
                and (o.option.group is None or o.option.group == group)]
        return usable

    def hostings(self, group: str | None) -> list[_Option]:
        return [o for o in self._usable(group) if o.hosting]

    def groups(self) -> set[str]:
        return {o.option.group for o in self.options if o.option.group and o.selectable}

    # -- one candidate ----------------------------------------------------------------

    def candidate(self, hosting: _Option | None, group: str | None) -> _Candidate:
        plan = _Candidate(hosting=hosting)
        usable = self._usable(group)
        picked = [o for o in usable if o.id in self.decisions.picked and o is not hosting
                  and not o.hosting]
        claims: set[Claim] = set()
        replaced = hosting is not None and hosting.kind in REPLACING
        removed_owners: set[tuple[str, str]] = set()

        def take(option: _Option) -> None:
            plan.chosen.append(option)
            claims.update(option.claims)
            if option.kind is OptionKind.REMOVE and not option.hosting:
                finding = option.finding
                removed_owners.add(("component", finding.component) if finding.component
                                   else ("variant", finding.variant or ""))

        if hosting is not None:
            take(hosting)
            plan.outcomes[id(hosting.finding)] = (Outcome.RESOLVED, "", hosting.id)
        for option in picked:
            clash = _clash(option, claims)
            if replaced and not option.setting:
                plan.problems.append(f"you picked {option.option.label!r} "
                                     f"({option.finding.kind}), which needs today's instances")
            elif clash:
                plan.problems.append(f"you picked {option.option.label!r}, which sets "
                                     f"{clash} as the plan's other choices do")
            else:
                take(option)
                plan.outcomes[id(option.finding)] = (Outcome.RESOLVED, "your choice", option.id)

        # The hosting decides first what today's findings become.
        for finding in self.findings:
            if id(finding) in plan.outcomes:
                continue
            moot = _moot(hosting, finding)
            if moot is not None:
                plan.outcomes[id(finding)] = moot

        # Requirements, worst first: their own option, or one that makes the same change.
        musts = sorted((f for f in self.findings if f.must and id(f) not in plan.outcomes),
                       key=lambda f: _SEVERITY[f.severity])
        for finding in musts:
            if finding_id(finding) in self.decisions.rejected:
                plan.outcomes[id(finding)] = (Outcome.REJECTED, "rejected by you", None)
                continue
            met = self._met_by(finding, plan.chosen)
            if met is not None:
                plan.outcomes[id(finding)] = (Outcome.COVERED, _covered_why(met), met.id)
                continue
            taken = {id(o.finding) for o in plan.chosen}
            pool = [o for o in usable if not o.hosting and o not in plan.chosen
                    and id(o.finding) not in taken  # one option per finding
                    and not (replaced and not o.setting) and not _clash(o, claims)
                    and (o.finding is finding or (
                        finding.kind in MET_BY_DIRECTION
                        and self._met_by(finding, [*plan.chosen, o]) is o))]
            if not pool:
                plan.outcomes[id(finding)] = (Outcome.UNRESOLVED,
                                              self._why_unresolved(finding, plan, claims),
                                              None)
                continue
            best = min(pool, key=lambda o: o.rank)
            take(best)
            if best.finding is finding:
                plan.outcomes[id(finding)] = (Outcome.RESOLVED, "", best.id)
            else:
                plan.outcomes[id(finding)] = (Outcome.COVERED, _covered_why(best), best.id)
                plan.outcomes.setdefault(id(best.finding), (Outcome.RESOLVED, "", best.id))

        # Opportunities on today's instances: the largest saving first, one per finding.
        if not replaced:
            for option in sorted((o for o in usable if not o.hosting and not o.setting),
                                 key=lambda o: o.rank):
                if id(option.finding) in plan.outcomes or option in plan.chosen:
                    continue
                if option.saving is not None and (
                        option.saving < 0 or (option.saving == 0
                                              and option.kind is not OptionKind.REMOVE)):
                    # An opportunity that costs more is not one; removing what nobody uses
                    # is, even when it frees capacity rather than money.
                    continue
                if option.saving is None and option.option is not option.finding.preferred:
                    continue
                if self._on_removed(option, removed_owners):
                    continue
                if _clash(option, claims):
                    continue
                take(option)
                plan.outcomes[id(option.finding)] = (Outcome.RESOLVED, "", option.id)

        # Settings join unless the hosting excludes them or something removes their owner.
        for option in (o for o in usable if o.setting):
            finding = option.finding
            if id(finding) in plan.outcomes or option in plan.chosen:
                continue
            if self._on_removed(option, removed_owners):
                plan.outcomes[id(finding)] = (Outcome.COVERED, "what it is about is removed",
                                              None)
                continue
            if _clash(option, claims):
                continue
            take(option)
            plan.outcomes[id(finding)] = (Outcome.RESOLVED, "", option.id)

        refused, plan.problems = plan.problems, []
        self._check(plan)
        while not plan.valid and len(plan.chosen) > (1 if hosting is not None else 0):
            # A combination the target's rules refuse: the last choice goes, and says why.
            dropped = plan.chosen.pop()
            plan.outcomes[id(dropped.finding)] = (
                Outcome.UNRESOLVED if dropped.finding.must else Outcome.DECLINED,
                "its change would break the target's rules with the rest of the plan: "
                + "; ".join(plan.problems), None)
            plan.problems = []
            self._check(plan)
        plan.problems = refused + plan.problems
        for finding in self.findings:
            if id(finding) in plan.outcomes:
                continue
            if finding_id(finding) in self.decisions.rejected:
                plan.outcomes[id(finding)] = (Outcome.REJECTED, "rejected by you", None)
            elif not finding.options:
                plan.outcomes[id(finding)] = (Outcome.EVIDENCE, "nothing to choose: it informs",
                                              None)
            elif not finding.must and not any(o.selectable or o.rejected for o in self.options
                                              if o.finding is finding):
                unfit = next((o.option.note for o in self.options
                              if o.finding is finding and not o.option.fits), "")
                plan.outcomes[id(finding)] = (Outcome.EVIDENCE,
                                              unfit or "no option that fits to choose", None)
            elif self._on_removed_finding(finding, removed_owners):
                plan.outcomes[id(finding)] = (Outcome.COVERED, "what it is about is removed",
                                              None)
            else:
                held = self._held(finding, plan)
                if held is not None:
                    plan.outcomes[id(finding)] = held
                elif finding.must:
                    plan.outcomes[id(finding)] = (
                        Outcome.UNRESOLVED, self._why_unresolved(finding, plan, claims), None)
                else:
                    plan.outcomes[id(finding)] = (Outcome.DECLINED,
                                                  self._why_declined(finding, plan), None)
        return plan

    def _check(self, plan: _Candidate) -> None:
        """Apply the plan to today's shape, derive what it implies, check the rules; price it."""
        shape = self.shape.copy()
        explicit: set[Claim] = set()
        for option in plan.chosen:
            for change in _ordered(option.option.changes):
                problem = apply(shape, change)
                if problem is not None:
                    plan.problems.append(f"{option.option.label}: {problem}")
                explicit.update(owners_of(self.shape, change))
        settle(self.shape, shape, explicit)
        saving = self._savings(plan)
        if self.current_monthly_usd is not None:
            shape.monthly_cost_usd = round(max(self.current_monthly_usd - saving / 100, 0.0), 2)
        elif plan.kind is OptionKind.BATCH and plan.hosting is not None:
            shape.monthly_cost_usd = plan.hosting.option.monthly_cost_usd
        plan.problems += target_problems(shape)
        plan.shape = shape

    def _savings(self, plan: _Candidate) -> int:
        """The chosen options' savings in cents, and their kgCO2e beside; async's
        scale-to-zero saving applies to what the instances cost (and emit) after they are
        resized, not to today's."""
        cents = 0
        kg = 0.0
        plan.savings, plan.kg = {}, {}
        proportional: list[_Option] = []
        for option in plan.chosen:
            if option.kind is OptionKind.ASYNC and (option.saving or option.kg):
                proportional.append(option)
                continue
            if option.saving is not None:
                plan.savings[option.id] = option.saving
            if option.kg is not None:
                plan.kg[option.id] = option.kg
                kg += option.kg
            cents += _cents(option.saving)
        for option in proportional:
            current = self.current_monthly_usd
            saving = option.saving
            if current and saving is not None:
                saving = round(saving * max(current - cents / 100, 0.0) / current, 2)
            if saving is not None:
                plan.savings[option.id] = saving
            cents += _cents(saving)
            keep = option.finding.keep
            today_kg = keep.monthly_kgco2e if keep is not None else None
            if option.kg is not None:
                plan.kg[option.id] = (round(option.kg * max(today_kg - kg, 0.0) / today_kg, 3)
                                      if today_kg else option.kg)
        plan.savings_cents = cents
        return cents

    # -- requirements ---------------------------------------------------------------

    def _met_by(self, finding: Finding, chosen: Sequence[_Option]) -> _Option | None:
        """The chosen option that already makes the must's change (or more), if any."""
        own = next((o for o in chosen if o.finding is finding), None)
        if own is not None:
            return own
        if finding.kind not in MET_BY_DIRECTION or not chosen:
            return None
        wanted = finding.preferred
        if wanted is None:
            return None
        shape = self.shape.copy()
        explicit: set[Claim] = set()
        for option in chosen:
            for change in _ordered(option.option.changes):
                apply(shape, change)
                explicit.update(owners_of(self.shape, change))
        settle(self.shape, shape, explicit)
        if not all(_holds(self.shape, shape, change) for change in wanted.changes):
            return None
        touched = {claim for change in wanted.changes for claim in owners_of(self.shape, change)}
        return next((o for o in reversed(chosen) if o.claims & _related(touched)), chosen[-1])

    def _held(self, finding: Finding, plan: _Candidate) -> tuple[Outcome, str, str | None] | None:
        """Covered when the plan's target already makes the finding's preferred change."""
        wanted = finding.preferred
        if wanted is None or plan.shape is None or not wanted.changes:
            return None
        if not all(_holds(self.shape, plan.shape, change) for change in wanted.changes):
            return None
        touched = _related({claim for change in wanted.changes
                            for claim in owners_of(self.shape, change)})
        by = next((o for o in plan.chosen if o.claims & touched), None)
        return (Outcome.COVERED, _covered_why(by) if by else "the plan's target already has it",
                by.id if by else None)

    def _why_unresolved(self, finding: Finding, plan: _Candidate, claims: set[Claim]) -> str:
        own = [o for o in self.options if o.finding is finding]
        if not own or not any(o.option.fits for o in own):
            return "no option fixes it: " + (finding.rationale.split(". ")[-1] or "see evidence")
        if plan.hosting is not None and plan.hosting.kind in REPLACING:
            return f"{plan.hosting.option.label} does not fix it"
        clashing = [o for o in plan.chosen if any(_clash(x, o.claims) for x in own)]
        if clashing:
            return (f"its fix sets what {clashing[0].finding.kind} already sets "
                    f"({clashing[0].option.label})")
        return "its options cannot be applied together with the plan"

    def _why_declined(self, finding: Finding, plan: _Candidate) -> str:
        if plan.hosting is not None and plan.hosting.kind in REPLACING:
            return f"the plan hosts the endpoint differently ({plan.hosting.option.label})"
        best = finding.preferred
        if best is None:
            return "no fitting option"
        saving = finding.saving_of(best)
        if saving is not None and saving <= 0:
            return f"it {_saving_words(saving)} and no requirement asks for it"
        clashing = [o for o in plan.chosen if _clash_option(best, o, self.shape)]
        if clashing:
            return (f"{clashing[0].option.label} ({clashing[0].finding.kind}) sets the same "
                    "characteristics and saves more or is required")
        return "its options cannot go with the rest of the plan"

    def _on_removed(self, option: _Option, removed: set[tuple[str, str]]) -> bool:
        return bool(removed) and any(owner in removed for owner, _ in option.claims)

    def _on_removed_finding(self, finding: Finding, removed: set[tuple[str, str]]) -> bool:
        owner = (("component", finding.component) if finding.component
                 else ("variant", finding.variant) if finding.variant else None)
        return owner is not None and owner in removed

    # -- the plan -------------------------------------------------------------------

    def plan(self, group: str | None = None) -> tuple[EndpointPlan, int, bool]:
        """The endpoint's plan (with `group` when planning its multi-model group), the
        plan's savings in cents and whether it meets every requirement."""
        if self.decisions.rejected_plan:
            return self._rejected(), 0, True
        forced = [o for o in self.hostings(group) if o.id in self.decisions.picked]
        if group is not None:
            forced = [o for o in self.hostings(group) if o.option.group == group]
        hostings: list[_Option | None] = list(forced) if forced else [
            None, *(o for o in self.hostings(group))]
        candidates = [self.candidate(h, group) for h in hostings]
        best = min(candidates, key=_order)
        return self._result(best, candidates), best.savings_cents, best.unresolved == 0 and \
            best.valid

    def _rejected(self) -> EndpointPlan:
        return EndpointPlan(
            endpoint=self.key, current_monthly_usd=self.current_monthly_usd,
            options=tuple(self._listed(o, OptionStatus.REJECTED, "you rejected the plan")
                          for o in self.options),
            findings=tuple(FindingOutcome(kind=f.kind, severity=f.severity, variant=f.variant,
                                          component=f.component, summary=f.summary,
                                          outcome=Outcome.REJECTED, why="you rejected the plan")
                           for f in self.findings),
            summary="rejected: the target is today's configuration", rejected=True,
            decided=True)

    def _listed(self, option: _Option, status: OptionStatus, why: str,
                saving: float | None = None, kg: float | None = None) -> PlannedOption:
        return PlannedOption(
            id=option.id, finding=option.finding.kind, variant=option.finding.variant,
            component=option.finding.component, option=option.option, status=status, why=why,
            monthly_savings_usd=saving if saving is not None else option.saving,
            monthly_kgco2e_saved=kg if kg is not None else option.kg,
            pickable=status is OptionStatus.ALTERNATIVE and option.selectable)

    def _result(self, best: _Candidate, candidates: Sequence[_Candidate]) -> EndpointPlan:
        listed: list[PlannedOption] = []
        chosen_ids = {o.id for o in best.chosen}
        for option in best.chosen:
            listed.append(self._listed(option, OptionStatus.CHOSEN, _chosen_why(option, best),
                                       best.savings.get(option.id), best.kg.get(option.id)))
        others = {c.hosting.id: c for c in candidates if c.hosting is not None and c is not best}
        for option in self.options:
            if option.id in chosen_ids:
                continue
            status, why = self._status(option, best, others)
            listed.append(self._listed(option, status, why))
        outcomes = []
        for finding in self.findings:
            outcome, why, by = best.outcomes.get(id(finding), (Outcome.DECLINED, "", None))
            outcomes.append(FindingOutcome(kind=finding.kind, severity=finding.severity,
                                           variant=finding.variant, component=finding.component,
                                           summary=finding.summary, outcome=outcome, why=why,
                                           by=by))
        by_kind: dict[str, int] = {}
        for option in best.chosen:
            kind = str(option.finding.kind)
            by_kind[kind] = by_kind.get(kind, 0) + _cents(best.savings.get(option.id))
        shape = best.shape
        return EndpointPlan(
            endpoint=self.key, current_monthly_usd=self.current_monthly_usd,
            options=tuple(listed), findings=tuple(outcomes),
            alternatives=tuple(self._alternative(c, best) for c in candidates),
            monthly_savings_usd=best.savings_cents / 100,
            unpriced=sum(1 for o in best.chosen if o.saving is None),
            monthly_kgco2e_saved=best.kgco2e_saved,
            savings_by_kind={k: v / 100 for k, v in sorted(by_kind.items()) if v},
            actions=tuple(actions(self.key, self.shape, shape, best.chosen)) if shape else (),
            watch=tuple(watch(best.chosen, shape)) if shape else (),
            summary=_summary(best),
            decided=not self.decisions.empty)

    def _status(self, option: _Option, best: _Candidate,
                others: Mapping[str, _Candidate]) -> tuple[OptionStatus, str]:
        if option.rejected:
            return OptionStatus.REJECTED, "rejected by you"
        if option.problem is not None:
            return OptionStatus.UNFIT, f"cannot be applied: {option.problem}"
        if option.kind is OptionKind.EXPERIMENT:
            return OptionStatus.EXPERIMENT, ("to run before choosing: "
                                             + (option.option.note or "a load test"))
        if not option.option.fits:
            return OptionStatus.UNFIT, option.option.note or "does not meet the requirements"
        if not option.selectable:
            return OptionStatus.UNFIT, ("advice only: nothing in the profile models it; "
                                        + option.option.note)
        if option.id in others:
            return OptionStatus.ALTERNATIVE, _lost_why(others[option.id], best)
        outcome, why, by = best.outcomes.get(id(option.finding), (Outcome.DECLINED, "", None))
        if outcome is Outcome.COVERED:
            return OptionStatus.COVERED, why
        if outcome is Outcome.EXCLUDED:
            return OptionStatus.EXCLUDED, why
        if option.option.group is not None and best.kind is not OptionKind.MULTI_MODEL:
            return OptionStatus.ALTERNATIVE, ("the group plan lost: its members' own plans "
                                              "save more together, or one of them cannot join")
        chosen = next((o for o in best.chosen if o.id == by), None) if by else None
        if chosen is not None and chosen.finding is option.finding:
            gap = _gap(option, chosen)
            return OptionStatus.ALTERNATIVE, f"{chosen.option.label} is chosen instead{gap}"
        if best.hosting is not None and best.hosting.kind in REPLACING and not option.setting:
            return OptionStatus.COVERED, f"the plan replaces today's instances " \
                                         f"({best.hosting.option.label})"
        clashing = next((o for o in best.chosen if o.claims & option.claims), None)
        if clashing is not None:
            gap = _gap(option, clashing)
            return OptionStatus.ALTERNATIVE, (f"sets what {clashing.option.label} "
                                              f"({clashing.finding.kind}) sets{gap}")
        return OptionStatus.ALTERNATIVE, why or "not needed by the plan"

    def _alternative(self, candidate: _Candidate, best: _Candidate) -> Alternative:
        cost = (None if self.current_monthly_usd is None
                else round(self.current_monthly_usd - candidate.savings_cents / 100, 2))
        return Alternative(
            label=candidate.label(), hosting=candidate.kind, monthly_cost_usd=cost,
            monthly_savings_usd=candidate.savings_cents / 100,
            monthly_kgco2e_saved=candidate.kgco2e_saved,
            meets_requirements=candidate.valid and candidate.unresolved == 0,
            chosen=candidate is best,
            why=_chosen_plan_why(candidate) if candidate is best else _lost_why(candidate, best))


_SEVERITY = {"critical": 0, "warning": 1, "info": 2}


def _order(candidate: _Candidate) -> tuple[int, int, int, int]:
    """Valid first, then fewer unresolved requirements, then the larger saving, then the
    least disruptive hosting."""
    return (0 if candidate.valid else 1, candidate.unresolved, -candidate.savings_cents,
            DISRUPTION.get(candidate.kind, 9))


def _ordered(changes: Iterable[ProfileChange]) -> list[ProfileChange]:
    """The deployment option first: what it clears, later changes may set."""
    return sorted(changes, key=lambda c: c.characteristic != "deployment_option")


def _clash(option: _Option, claims: set[Claim] | frozenset[Claim]) -> str:
    both = option.claims & claims
    return ", ".join(sorted(f"{name} on {owner[1] or 'the endpoint'}" for owner, name in both))


def _clash_option(option: CostedOption, other: _Option, shape: TargetShape) -> bool:
    claims = {claim for change in option.changes for claim in claims_of(shape, change)}
    return bool(claims & other.claims)


def _related(claims: set[Claim]) -> frozenset[Claim]:
    """Claims on the same owners' count and its bounds (a count follows MinCapacity)."""
    counted = ("instance_count", "min_instances", "max_instances", "autoscaling")
    related = set(claims)
    for owner, name in claims:
        if name in counted:
            related.update((owner, other) for other in counted)
    return frozenset(related)


def _holds(before: TargetShape, after: TargetShape, change: ProfileChange) -> bool:
    """Whether `after` makes `change` (a number at least as far in the same direction)."""
    for owner, name in owners_of(before, change):
        was, now, wanted = before.value(owner, name), after.value(owner, name), change.proposed
        numeric = all(isinstance(x, int | float) and not isinstance(x, bool)
                      for x in (was, now, wanted))
        if numeric:
            if wanted > was and not now >= wanted:
                return False
            if wanted < was and not now <= wanted:
                return False
            if wanted == was and now != wanted:
                return False
        elif now != wanted:
            return False
    return True


def _moot(hosting: _Option | None, finding: Finding) -> tuple[Outcome, str, str | None] | None:
    """What the hosting makes of a finding about today's endpoint (None: nothing)."""
    if hosting is None or finding is hosting.finding:
        return None
    kind = hosting.kind
    if kind is OptionKind.REMOVE:
        return (Outcome.COVERED, REMOVED, hosting.id) if finding.options else None
    excluded = EXCLUDES.get(kind, {}).get(finding.kind)
    if excluded is not None:
        return Outcome.EXCLUDED, excluded, hosting.id
    covered = COVERS.get(kind, {}).get(finding.kind)
    if covered is not None:
        return Outcome.COVERED, covered, hosting.id
    if kind in REPLACING and finding.options and all(
            o.kind in (OptionKind.RESIZE, OptionKind.SCHEDULE)
            or (o.kind is OptionKind.REMOVE and (finding.variant or finding.component))
            for o in finding.changing) and finding.changing and not finding.must:
        return Outcome.COVERED, _INSTANCES, hosting.id
    return None


def _covered_why(by: _Option) -> str:
    return f"{by.finding.kind} already makes the change ({by.option.label})"


def _gap(option: _Option, chosen: _Option) -> str:
    if option.saving is None or chosen.saving is None:
        return ""
    gap = chosen.saving - option.saving
    if abs(gap) < 0.005:
        return ", for the same money"
    return f", which saves {_usd(abs(gap))} {'more' if gap > 0 else 'less'}"


def _chosen_why(option: _Option, plan: _Candidate) -> str:
    if option.finding.must:
        return f"meets a requirement: {option.finding.summary}"
    if option.setting:
        return "a setting the plan's hosting allows"
    return "the largest saving that fits" if plan.hosting is not option else \
        "the cheapest way to host it that meets every requirement"


def _chosen_plan_why(plan: _Candidate) -> str:
    if not plan.valid:
        return "no plan passes the target's rules: " + "; ".join(plan.problems)
    if plan.unresolved:
        return f"the best there is, though {plan.unresolved} requirement(s) stay unresolved"
    return "the cheapest that meets every requirement"


def _lost_why(candidate: _Candidate, best: _Candidate) -> str:
    if not candidate.valid:
        return "its target would break the profile's rules: " + "; ".join(candidate.problems)
    if candidate.unresolved > best.unresolved:
        names = [k for k, (outcome, _, _) in candidate.outcomes.items()
                 if outcome is Outcome.UNRESOLVED]
        return f"leaves {len(names)} requirement(s) unresolved that the chosen plan meets"
    gap = best.savings_cents - candidate.savings_cents
    if gap > 0:
        return f"saves {_usd(gap / 100)} less than {best.label()}"
    if gap == 0:
        return f"saves the same as {best.label()}, which changes less"
    return f"saves more, but {best.label()} meets more requirements"


def _summary(plan: _Candidate) -> str:
    if not plan.chosen:
        return "nothing to change"
    parts = [f"{o.finding.kind}: {o.option.label}" for o in plan.chosen if not o.setting]
    settings = [o.option.label for o in plan.chosen if o.setting]
    if settings:
        parts.append(f"{len(settings)} setting(s)")
    return "; ".join(parts)


# ----------------------------------------------------------------------- the fleet

@dataclass
class FleetPlan:
    plans: dict[str, EndpointPlan]
    totals: FleetPlanTotals


def plan_fleet(findings: Mapping[str, Sequence[Finding]], shapes: Mapping[str, TargetShape],
               costs: Mapping[str, float | None],
               decisions: Mapping[str, Decisions] | None = None) -> FleetPlan:
    """Every endpoint's plan; multi-model groups for the group (all members or none)."""
    chosen = decisions or {}
    planners = {key: EndpointPlanner(key, findings.get(key, ()), shapes[key], costs.get(key),
                                     chosen.get(key, Decisions())) for key in shapes}
    plans: dict[str, EndpointPlan] = {}
    alone: dict[str, tuple[EndpointPlan, int, bool]] = {}
    for key, planner in planners.items():
        alone[key] = planner.plan()
        plans[key] = alone[key][0]
    members: dict[str, list[str]] = {}
    for key, planner in planners.items():
        for group in planner.groups():
            members.setdefault(group, []).append(key)
    for group, keys in members.items():
        size = max((int(f.evidence.get("group_size") or 0) for key in keys
                    for f in planners[key].findings
                    if any(o.group == group for o in f.options)), default=0)
        if len(keys) < size:
            # A member rejected it or is gone: the group as sized cannot form.
            why = (f"the group is sized for {size} endpoints and only {len(keys)} can join "
                   "(a member rejected it)")
            for key in keys:
                plans[key] = _group_lost(plans[key], group, why)
            continue
        together = {key: planners[key].plan(group) for key in keys}
        if not all(ok for _, _, ok in together.values()):
            blocked = sorted(k.rsplit("/", 1)[-1] for k, (_, _, ok) in together.items() if not ok)
            why = (f"{', '.join(blocked)} cannot join and meet every requirement: the group "
                   "needs every member")
            for key in keys:
                plans[key] = _group_lost(plans[key], group, why)
            continue
        forced = any(o.id in planners[k].decisions.picked for k in keys
                     for o in planners[k].options if o.option.group == group)
        joined = sum(c for _, c, _ in together.values())
        apart = sum(alone[k][1] for k in keys)
        if forced or joined > apart:
            for key in keys:
                plans[key] = together[key][0]
        else:
            why = (f"for the group of {len(keys)}: {_usd(joined / 100)} saved together against "
                   f"{_usd(apart / 100)} with each endpoint's own plan")
            for key in keys:
                plans[key] = _group_lost(plans[key], group, why)
    return FleetPlan(plans=plans, totals=totals_of(plans.values()))


def _group_lost(plan: EndpointPlan, group: str, why: str) -> EndpointPlan:
    """Say on a member's plan why its multi-model group is not taken."""
    options = tuple(o.model_copy(update={"why": why})
                    if o.option.group == group and o.status is OptionStatus.ALTERNATIVE else o
                    for o in plan.options)
    ids = {o.id for o in plan.options if o.option.group == group}
    findings = tuple(f.model_copy(update={"why": why})
                     if f.outcome is Outcome.DECLINED and any(i.startswith(f"{f.kind}:")
                                                               for i in ids) else f
                     for f in plan.findings)
    return plan.model_copy(update={"options": options, "findings": findings})


def totals_of(plans: Iterable[EndpointPlan]) -> FleetPlanTotals:
    """The fleet's one savings figure and its breakdown, in cents so the parts add up."""
    cents = 0
    by_kind: dict[str, int] = {}
    saving = costing = unpriced = covered = 0
    kg: list[float] = []
    for plan in plans:
        plan_cents = round(plan.monthly_savings_usd * 100)
        cents += plan_cents
        saving += plan_cents > 0
        costing += plan_cents < 0
        unpriced += plan.unpriced
        covered += sum(1 for f in plan.findings if f.outcome is Outcome.COVERED)
        for kind, usd in plan.savings_by_kind.items():
            by_kind[kind] = by_kind.get(kind, 0) + round(usd * 100)
        if plan.monthly_kgco2e_saved is not None:
            kg.append(plan.monthly_kgco2e_saved)
    return FleetPlanTotals(
        monthly_savings_usd=cents / 100,
        savings_by_kind={k: v / 100 for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])
                         if v},
        endpoints_saving=saving, endpoints_costing=costing, unpriced_options=unpriced,
        monthly_kgco2e_saved=round(sum(kg), 3) if kg else None, covered_findings=covered)


# ----------------------------------------------------------------------- what to do, watch

def actions(key: str, before: TargetShape, after: TargetShape,
            chosen: Sequence[_Option]) -> list[str]:
    """What the team does for the plan, in AWS terms (sagetop changes nothing itself)."""
    name = key.rsplit("/", 1)[-1]  # the key may lead with the account
    steps: list[str] = []
    hosting = next((o for o in chosen if o.hosting), None)
    kind = hosting.kind if hosting else None
    if kind is OptionKind.REMOVE:
        return [f"DeleteEndpoint {name} (keep its endpoint config: it can recreate the "
                "endpoint)"]
    if kind is OptionKind.SERVERLESS:
        v = after.variants[0]
        steps.append(f"CreateEndpointConfig with ServerlessConfig (MemorySizeInMB "
                     f"{v.serverless_memory_mb}, MaxConcurrency {v.serverless_max_concurrency}) "
                     f"for the same model, CreateEndpoint, move callers to it, then "
                     f"DeleteEndpoint {name} (a real-time endpoint cannot be converted in place)")
    elif kind is OptionKind.BATCH:
        job = next((v for v in after.variants if not v.shadow), None)
        steps.append(f"CreateTransformJob on a schedule (EventBridge Scheduler) with the same "
                     f"model on {job.instance_count if job else '?'}x "
                     f"{job.instance_type if job else '?'}, then DeleteEndpoint {name}")
    elif kind is OptionKind.MULTI_MODEL:
        host = next((v for v in after.variants if not v.shadow), None)
        steps.append(f"Copy the model artefact under the shared multi-model endpoint's S3 prefix "
                     f"(container Mode MultiModel, {host.instance_count if host else '?'}x "
                     f"{host.instance_type if host else '?'} for {after.models_per_endpoint} "
                     "models), "
                     f"have callers pass TargetModel, then DeleteEndpoint {name}")
    elif kind is OptionKind.ASYNC:
        steps.append(f"CreateEndpointConfig with AsyncInferenceConfig (an S3 output path) and "
                     f"the same variants, UpdateEndpoint {name}; callers move to "
                     "InvokeEndpointAsync")
    elif kind is OptionKind.REAL_TIME:
        v = after.variants[0]
        steps.append(f"CreateEndpointConfig with {v.instance_count}x {v.instance_type} instead "
                     f"of ServerlessConfig, UpdateEndpoint {name} (serverless to real-time "
                     "works in place)")
    replaced = kind in (OptionKind.SERVERLESS, OptionKind.BATCH, OptionKind.MULTI_MODEL)
    managed = before.deployment_option is DeploymentOption.INFERENCE_COMPONENTS
    for v in after.variants:
        old = before.variant(v.name)
        if old is None or replaced or kind is OptionKind.REAL_TIME:
            continue
        resource = f"endpoint/{name}/variant/{v.name}"
        if v.instance_count == 0 and (old.instance_count or 0) > 0:
            steps.append(f"CreateEndpointConfig without variant {v.name}, UpdateEndpoint "
                         f"{name}")
            continue
        if v.instance_type != old.instance_type:
            steps.append(f"CreateEndpointConfig with {v.instance_type} for variant {v.name} "
                         f"(InitialInstanceCount {v.instance_count}), UpdateEndpoint {name} "
                         "(blue/green)")
        elif v.instance_count != old.instance_count and not v.autoscaling and \
                (v.min_instances, v.max_instances) == (old.min_instances, old.max_instances):
            steps.append(f"UpdateEndpointWeightsAndCapacities {name}: DesiredInstanceCount "
                         f"{v.instance_count} on {v.name}")
        if managed and (v.autoscaling, v.min_instances, v.max_instances) != (
                old.autoscaling, old.min_instances, old.max_instances):
            steps.append(f"UpdateEndpoint {name} with a new endpoint config whose variant "
                         f"{v.name} has ManagedInstanceScaling (Status ENABLED, "
                         f"MinInstanceCount {v.min_instances}, MaxInstanceCount "
                         f"{v.max_instances}): instances follow the copies")
        elif v.autoscaling and not old.autoscaling:
            steps.append(f"RegisterScalableTarget {resource} (MinCapacity {v.min_instances}, "
                         f"MaxCapacity {v.max_instances}) and PutScalingPolicy target tracking "
                         "on SageMakerVariantInvocationsPerInstance")
        elif (v.min_instances, v.max_instances) != (old.min_instances, old.max_instances) \
                and (v.autoscaling or old.min_instances != old.max_instances
                     or old.min_instances != old.instance_count):
            steps.append(f"RegisterScalableTarget {resource}: MinCapacity {v.min_instances}, "
                         f"MaxCapacity {v.max_instances}")
        elif (v.min_instances, v.max_instances) != (old.min_instances, old.max_instances) \
                and v.instance_count != old.instance_count \
                and v.instance_type == old.instance_type:
            steps.append(f"UpdateEndpointWeightsAndCapacities {name}: DesiredInstanceCount "
                         f"{v.instance_count} on {v.name}")
        if v.scaling_target_value != old.scaling_target_value and \
                v.scaling_target_value is not None:
            steps.append(f"PutScalingPolicy on {resource}: TargetValue "
                         f"{v.scaling_target_value:g}")
    for c in after.components:
        old_c = before.component(c.name)
        if old_c is None:
            continue
        if c.copies == 0 and (old_c.copies or 0) > 0:
            steps.append(f"DeleteInferenceComponent {c.name}")
        elif c.copies_autoscaling and not old_c.copies_autoscaling:
            steps.append(f"RegisterScalableTarget inference-component/{c.name} (MinCapacity "
                         f"{c.min_copies}, MaxCapacity {c.max_copies}) and PutScalingPolicy on "
                         "SageMakerInferenceComponentInvocationsPerCopy")
        elif c.copies != old_c.copies:
            steps.append(f"UpdateInferenceComponentRuntimeConfig {c.name}: CopyCount {c.copies}")
    # Settings go on the endpoint the plan leaves: a new one when the hosting makes one.
    where = ("the shared multi-model endpoint" if kind is OptionKind.MULTI_MODEL
             else "the new endpoint" if replaced else name)
    if replaced and kind is OptionKind.MULTI_MODEL:
        for v in after.variants:
            old = before.variant(v.name)
            if v.autoscaling and old is not None and not old.autoscaling:
                steps.append(f"RegisterScalableTarget on {where}'s variant (MinCapacity "
                             f"{v.min_instances}, MaxCapacity {v.max_instances}) and "
                             "PutScalingPolicy target tracking on "
                             "SageMakerVariantInvocationsPerInstance, unless it has them")
    if after.data_capture and not before.data_capture:
        steps.append(f"DataCaptureConfig (a few percent of requests to S3) in {where}'s "
                     "endpoint config" + ("" if replaced else f", UpdateEndpoint {name}"))
    if after.auto_rollback and not before.auto_rollback:
        steps.append(f"On every UpdateEndpoint of {where}: DeploymentConfig with "
                     "AutoRollbackConfiguration on alarms for 5XX errors and ModelLatency")
    steps += _schedule_steps(name, before, after)
    for option in chosen:
        # A schedule's steps come from the target itself (its bounds as the plan leaves them).
        if option.option.command and option.kind is not OptionKind.SCHEDULE:
            steps.append(option.option.command)
    return list(dict.fromkeys(steps))


def _schedule_steps(name: str, before: TargetShape, after: TargetShape) -> list[str]:
    """The exact Application Auto Scaling calls of every off-hours schedule the plan adds."""
    steps: list[str] = []
    targets: list[tuple[str, str, str, OffHoursSchedule | None, OffHoursSchedule | None]] = [
        (variant_resource(name, v.name), VARIANT_DIMENSION, v.name, v.off_hours_schedule,
         old.off_hours_schedule if (old := before.variant(v.name)) else None)
        for v in after.variants]
    targets += [(component_resource(c.name), COMPONENT_DIMENSION, c.name, c.off_hours_schedule,
                 old_c.off_hours_schedule if (old_c := before.component(c.name)) else None)
                for c in after.components]
    for resource, dimension, owner, schedule, was in targets:
        if schedule is None or schedule == was:
            continue
        steps.append(f"RegisterScalableTarget {resource} (MinCapacity {schedule.day_min}, "
                     f"MaxCapacity {schedule.day_max}): creates it, or keeps the bounds it has")
        steps += [action.text for action in schedule.actions(resource, dimension,
                                                              f"{name}-{owner}")]
    return steps


def watch(chosen: Sequence[_Option], after: TargetShape) -> list[str]:
    """What to look at once the change is made: the metrics that would show it went wrong."""
    items: list[str] = []
    kinds = {o.kind for o in chosen}
    if OptionKind.SERVERLESS in kinds:
        items.append("ModelSetupTime (cold starts) against the cold-start tolerance, and "
                     "ServerlessConcurrentExecutionsUtilization near 1 (throttling)")
    if OptionKind.ASYNC in kinds:
        items.append("ApproximateBacklogSize and TimeInBacklog (requests waiting), "
                     "HasBacklogWithoutCapacity")
    if OptionKind.BATCH in kinds:
        items.append("each transform job's duration and failed records; that no caller still "
                     "invokes the endpoint before it is deleted")
    if OptionKind.MULTI_MODEL in kinds:
        items.append("ModelCacheHit (keep it above 90 %) and ModelLoadingWaitTime against the "
                     "cold-start tolerance")
    if OptionKind.REMOVE in kinds:
        items.append("Invocations stay at zero until the deletion (no caller left)")
    if OptionKind.SCHEDULE in kinds:
        items.append("Invocations outside the working window (callers the schedule would "
                     "leave without capacity), and ModelLatency and Invocation5XXErrors in the "
                     "first hour after the morning restore (the ramp-up came in time); "
                     "DescribeScheduledActions lists both actions per target")
    if kinds & {OptionKind.RESIZE, OptionKind.REAL_TIME, OptionKind.SCHEDULE}:
        items.append("CPUUtilization and MemoryUtilization per instance (GPU too on GPU types) "
                     "under the targets, and ModelLatency p99 against the objective")
    if any(o.setting and any(c.characteristic in ("autoscaling", "max_instances",
                                                  "copies_autoscaling")
                             for c in o.option.changes) for o in chosen):
        items.append("scaling activity (DescribeScalingActivities) against the load")
    if after.deployment_option is not DeploymentOption.BATCH and chosen:
        items.append("Invocation5XXErrors for a week after the change")
    return items
