"""The fleet's history: one record a day made from a `FleetAnalysis`, and how things moved since.

A `FleetDay` keeps, per endpoint key, what the analysis said that day: monthly cost, traffic
(requests a day, the lookback's mean from the analysis' features, never recounted here), the
findings with their savings, the plan's saving, a digest of the configuration and the status;
plus the fleet's totals. The state store keeps one a day (`put_day`: a later record of the same
day replaces it); `DayBook` is the one place that writes it, for the dashboard, `report` and
`snapshot` alike, and only for a fleet that was wholly listed by AWS (never the stored fleet of a
warm start, never a listing that failed).

`changes` compares today's record with the newest record at or before a wanted day ("since
yesterday", "since last week", any `since`): findings that appeared or went away, savings taken
(a finding with a saving gone and the endpoint's cost fell by about it), endpoints created or
deleted, cost and traffic moves. No record that old is "no data", and a figure missing on either
side (an unpriced endpoint, no traffic data) is no data too: never a move from or to zero.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from advisors.features import measured
from ground.errors import UsageError
from profiles.shape import shape_of_endpoint

if TYPE_CHECKING:
    from ground.domain import FleetSnapshot
    from pipeline.analysis import FleetAnalysis

HISTORY_SCHEMA = 1
# A finding's saving counts as taken when the endpoint's cost fell by it within this share (the
# bill moves with autoscaling and hours billed: never exactly the finding's figure).
SAVING_MATCH = 0.35
# Moves smaller than these are no move: cents of rounding, the noise of a lookback's mean.
COST_NOISE_USD = 1.0
TRAFFIC_NOISE = 0.05  # of the earlier figure
LAST_WEEK_DAYS = 7


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DayFinding(_Model):
    kind: str
    severity: str
    where: str = ""  # the variant or inference component it is about; "" the endpoint
    monthly_savings_usd: float | None = None  # the finding's own figure; None: not priced

    @property
    def ident(self) -> tuple[str, str]:
        return self.kind, self.where

    @property
    def label(self) -> str:
        return self.kind + (f" on {self.where}" if self.where else "")


class EndpointDay(_Model):
    status: str
    monthly_cost_usd: float | None  # None: not priced
    # Requests a day, the mean over the lookback (features' `requests_per_day`); None: no data.
    requests_per_day: float | None
    findings: tuple[DayFinding, ...] = ()
    plan_monthly_savings_usd: float = 0.0
    # The configuration (`profiles.shape.shape_of_endpoint`: the characteristics the current and
    # target profiles are built from), hashed: a change says the endpoint was reconfigured.
    profile_digest: str


class FleetDay(_Model):
    schema_version: int = HISTORY_SCHEMA
    day: dt.date
    collected_at: dt.datetime
    lookback_days: int
    endpoints: dict[str, EndpointDay]
    # Where the listing failed that day ("region" or "account/region", "account/" for a whole
    # account): endpoints there are unknown, not deleted.
    unlisted: tuple[str, ...] = ()
    monthly_cost_usd: float
    monthly_savings_usd: float  # the plans' (the one savings figure of the analysis)
    findings: int
    requests_per_day: float | None  # the endpoints with traffic data, summed; None: none had

    def payload(self) -> str:
        return self.model_dump_json()

    @classmethod
    def of_payload(cls, payload: str) -> FleetDay:
        return cls.model_validate_json(payload)

    def listed(self, key: str) -> bool:
        """Whether `key`'s account and region were listed that day (its absence means gone)."""
        scope = key.rsplit("/", 1)[0]
        return not any(scope == u or (u.endswith("/") and scope.startswith(u))
                       for u in self.unlisted)


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def unlisted_scopes(fleet: FleetSnapshot) -> tuple[str, ...]:
    scopes = {f"{a.name}/" for a in fleet.accounts if a.stale}
    scopes |= {f"{e.account}/{e.region}" if e.account else e.region
               for e in fleet.errors if e.operation == "ListEndpoints"}
    return tuple(sorted(scopes))


def recordable(fleet: FleetSnapshot) -> str | None:
    """Why `fleet` must not become a day's record (None: it may): what it shows must be AWS's
    answer of this session, or the history would say endpoints came and went that did not."""
    if fleet.unseen:
        return "the collection saw nothing of the fleet"
    if fleet.unconfirmed:
        return "the fleet is the stored one, not yet confirmed by AWS"
    return None


def record_of(analysis: FleetAnalysis) -> FleetDay:
    """The day's record of a whole-fleet analysis (the day of its collection, UTC)."""
    fleet = analysis.fleet
    features = analysis.features
    endpoints: dict[str, EndpointDay] = {}
    for endpoint in fleet.endpoints:
        item = analysis.endpoints.get(endpoint.key)
        if item is None:
            continue
        row = features.endpoint(endpoint.key)
        endpoints[endpoint.key] = EndpointDay(
            status=endpoint.status, monthly_cost_usd=measured(item.monthly_cost_usd),
            requests_per_day=measured(row.get("requests_per_day")) if row else None,
            findings=tuple(DayFinding(kind=f.kind.value, severity=f.severity.value,
                                      where=f.component or f.variant or "",
                                      monthly_savings_usd=f.monthly_savings_usd)
                           for f in item.findings),
            plan_monthly_savings_usd=item.monthly_savings_usd,
            profile_digest=_digest(dataclasses.asdict(shape_of_endpoint(endpoint))))
    traffic = [e.requests_per_day for e in endpoints.values() if e.requests_per_day is not None]
    return FleetDay(day=fleet.collected_at.astimezone(dt.UTC).date(),
                    collected_at=fleet.collected_at, lookback_days=fleet.lookback_days,
                    endpoints=endpoints, unlisted=unlisted_scopes(fleet),
                    monthly_cost_usd=round(analysis.total_monthly_cost_usd, 2),
                    monthly_savings_usd=round(analysis.total_savings_usd, 2),
                    findings=sum(len(e.findings) for e in endpoints.values()),
                    requests_per_day=sum(traffic) if traffic else None)


# What moved --------------------------------------------------------------------------------


class Move(_Model):
    """One figure on two days; `delta` None when either side has no data."""

    before: float | None
    after: float | None
    unit: str  # "$/month", "requests/day"

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def ratio(self) -> float | None:
        delta = self.delta
        if delta is None or not self.before:
            return None
        return delta / self.before

    @property
    def moved(self) -> bool:
        delta = self.delta
        if delta is None:
            return False
        if self.unit == "requests/day":
            # From nothing to something is a move; otherwise the lookback mean's noise is not.
            return (abs(delta) > 0 and not self.before) or abs(self.ratio or 0.0) >= TRAFFIC_NOISE
        return abs(delta) >= COST_NOISE_USD

    def model_post_init(self, _: Any) -> None:
        for value in (self.before, self.after):
            if value is not None and math.isnan(value):
                raise ValueError("a figure is a number or None (no data), never NaN")


class SavingTaken(_Model):
    endpoint: str
    finding: DayFinding
    cost_fell_usd: float  # a month: what the endpoint's cost fell by


class EndpointChange(_Model):
    key: str
    created: bool = False  # not in the baseline (listed then), here now
    deleted: bool = False  # in the baseline, not here (its account and region listed today)
    status: tuple[str | None, str | None]  # (before, after)
    cost: Move
    traffic: Move
    appeared: tuple[DayFinding, ...] = ()
    resolved: tuple[DayFinding, ...] = ()
    taken: tuple[SavingTaken, ...] = ()
    reconfigured: bool = False  # its configuration digest changed

    @property
    def quiet(self) -> bool:
        return not (self.created or self.deleted or self.appeared or self.resolved
                    or self.taken or self.reconfigured or self.cost.moved or self.traffic.moved
                    or self.status[0] != self.status[1])

    def phrases(self) -> list[str]:
        """What moved, in words ("+$120/month", "finding idle appeared"); [] nothing did."""
        if self.deleted:
            return [f"deleted (was {usd(self.cost.before)}/month)"]
        if self.created:
            count = len(self.appeared)
            return [f"created ({usd(self.cost.after)}/month, {count} "
                    f"finding{'s' if count != 1 else ''})"]
        words: list[str] = []
        if self.cost.moved:
            words.append(f"{signed_usd(self.cost.delta)}/month")
        if self.traffic.moved:
            words.append(traffic_words(self.traffic))
        if self.status[0] is not None and self.status[0] != self.status[1]:
            words.append(f"status {self.status[0]} -> {self.status[1]}")
        if self.reconfigured:
            words.append("configuration changed")
        for taken in self.taken:
            words.append(f"saving taken: {taken.finding.label} "
                         f"({usd(taken.finding.monthly_savings_usd)}/month, cost fell "
                         f"{usd(taken.cost_fell_usd)})")
        taken_ids = {t.finding.ident for t in self.taken}
        words += [f"finding {f.label} appeared" for f in self.appeared]
        words += [f"finding {f.label} resolved" for f in self.resolved
                  if f.ident not in taken_ids]
        return words


class FleetChange(_Model):
    cost: Move
    savings: Move  # what the plans save a month
    traffic: Move
    endpoints: tuple[int, int]
    created: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    appeared: int = 0
    resolved: int = 0
    taken: tuple[SavingTaken, ...] = ()
    unlisted: tuple[str, ...] = ()  # scopes not listed on either day: their endpoints unknown

    @property
    def taken_usd(self) -> float:
        return sum(t.finding.monthly_savings_usd or 0.0 for t in self.taken)

    def phrases(self) -> list[str]:
        words = [f"cost {signed_usd(self.cost.delta)}/month "
                 f"({usd(self.cost.before)} -> {usd(self.cost.after)})"
                 if self.cost.moved else f"cost unchanged ({usd(self.cost.after)}/month)",
                 f"plans' savings {signed_usd(self.savings.delta)}/month"
                 if self.savings.moved else "plans' savings unchanged"]
        if self.traffic.moved:
            words.append(traffic_words(self.traffic))
        elif self.traffic.delta is None:
            words.append("traffic: no data")
        words.append(f"endpoints {self.endpoints[0]} -> {self.endpoints[1]} "
                     f"({len(self.created)} created, {len(self.deleted)} deleted)")
        words.append(f"findings {self.appeared} appeared, {self.resolved} resolved")
        if self.taken:
            words.append(f"{len(self.taken)} saving{'s' if len(self.taken) != 1 else ''} "
                         f"taken ({usd(self.taken_usd)}/month)")
        if self.unlisted:
            words.append(f"not listed on one of the days: {', '.join(self.unlisted)}")
        return words


class Period(_Model):
    """Today against the newest record at or before `wanted`; `baseline` None: no data."""

    label: str  # "since yesterday", "since last week", "since 2026-11-01"
    wanted: dt.date
    baseline: dt.date | None = None
    fleet: FleetChange | None = None
    endpoints: dict[str, EndpointChange] = {}  # those where something moved

    @property
    def heading(self) -> str:
        """The label, with the day compared against when it is not the one asked for."""
        if self.baseline is None or self.baseline == self.wanted:
            return self.label
        return f"{self.label} (record of {self.baseline})"


class History(_Model):
    today: dt.date
    days_stored: int  # records usable for the history, today's included
    first_day: dt.date | None
    periods: tuple[Period, ...]
    notes: tuple[str, ...] = ()  # records that could not be read, and why

    def endpoint(self, key: str) -> list[tuple[Period, EndpointChange | None]]:
        """Each period with `key`'s change (None: nothing moved, or no data: `baseline`)."""
        return [(p, p.endpoints.get(key)) for p in self.periods]

    def endpoint_line(self, key: str) -> str:
        """'since yesterday: +$120/month, finding idle appeared; since last week: no data'."""
        parts = []
        for period, change in self.endpoint(key):
            if period.baseline is None:
                parts.append(f"{period.heading}: no data (no record that old)")
            elif change is None:
                parts.append(f"{period.heading}: no change")
            else:
                parts.append(f"{period.heading}: {', '.join(change.phrases())}")
        return "; ".join(parts)


def usd(value: float | None) -> str:
    if value is None:
        return "? (not priced)"
    return f"${value:,.0f}" if abs(value) >= 10 else f"${value:,.2f}"


def signed_usd(value: float | None) -> str:
    if value is None:
        return "? (no data)"
    return ("+" if value >= 0 else "-") + usd(abs(value))


def traffic_words(move: Move) -> str:
    ratio = move.ratio
    share = f" ({'+' if ratio >= 0 else ''}{ratio:.0%})" if ratio is not None else ""
    return (f"traffic (lookback mean) {_count(move.before)} -> {_count(move.after)} "
            f"requests/day{share}")


def _count(value: float | None) -> str:
    if value is None:
        return "?"
    if abs(value) < 10_000:
        return f"{value:,.0f}"
    if abs(value) < 1_000_000:
        return f"{value / 1000:,.1f}k"
    return f"{value / 1_000_000:,.1f}M"


def _about(fall: float, saving: float) -> bool:
    return saving > 0 and abs(fall - saving) <= SAVING_MATCH * saving


def _endpoint_change(key: str, before: EndpointDay, after: EndpointDay) -> EndpointChange:
    was = {f.ident: f for f in before.findings}
    now = {f.ident: f for f in after.findings}
    appeared = tuple(f for i, f in now.items() if i not in was)
    resolved = tuple(f for i, f in was.items() if i not in now)
    cost = Move(before=before.monthly_cost_usd, after=after.monthly_cost_usd, unit="$/month")
    taken: tuple[DayFinding, ...] = ()
    fall = -(cost.delta or 0.0)
    priced = [f for f in resolved if (f.monthly_savings_usd or 0.0) > 0]
    if fall > 0 and priced:
        together = sum(f.monthly_savings_usd or 0.0 for f in priced)
        if _about(fall, together):
            taken = tuple(priced)
        else:
            best = min(priced, key=lambda f: abs(fall - (f.monthly_savings_usd or 0.0)))
            taken = (best,) if _about(fall, best.monthly_savings_usd or 0.0) else ()
    return EndpointChange(
        key=key, status=(before.status, after.status), cost=cost,
        traffic=Move(before=before.requests_per_day, after=after.requests_per_day,
                     unit="requests/day"),
        appeared=appeared, resolved=resolved,
        taken=tuple(SavingTaken(endpoint=key, finding=f, cost_fell_usd=round(fall, 2))
                    for f in taken),
        reconfigured=before.profile_digest != after.profile_digest)


def compare(baseline: FleetDay, today: FleetDay, label: str, wanted: dt.date) -> Period:
    """`today` against `baseline`: per endpoint where something moved, and the fleet's."""
    changes: dict[str, EndpointChange] = {}
    created: list[str] = []
    deleted: list[str] = []
    for key, after in today.endpoints.items():
        before = baseline.endpoints.get(key)
        if before is None:
            if not baseline.listed(key):
                continue  # its region was not listed then: new or not, nobody knows
            created.append(key)
            changes[key] = EndpointChange(
                key=key, created=True, status=(None, after.status),
                cost=Move(before=None, after=after.monthly_cost_usd, unit="$/month"),
                traffic=Move(before=None, after=after.requests_per_day, unit="requests/day"),
                appeared=after.findings)
            continue
        change = _endpoint_change(key, before, after)
        if not change.quiet:
            changes[key] = change
    for key, before in baseline.endpoints.items():
        if key in today.endpoints or not today.listed(key):
            continue
        deleted.append(key)
        changes[key] = EndpointChange(
            key=key, deleted=True, status=(before.status, None),
            cost=Move(before=before.monthly_cost_usd, after=None, unit="$/month"),
            traffic=Move(before=before.requests_per_day, after=None, unit="requests/day"),
            resolved=before.findings)
    kept = [c for c in changes.values() if not (c.created or c.deleted)]
    fleet = FleetChange(
        cost=Move(before=baseline.monthly_cost_usd, after=today.monthly_cost_usd,
                  unit="$/month"),
        savings=Move(before=baseline.monthly_savings_usd, after=today.monthly_savings_usd,
                     unit="$/month"),
        traffic=Move(before=baseline.requests_per_day, after=today.requests_per_day,
                     unit="requests/day"),
        endpoints=(len(baseline.endpoints), len(today.endpoints)),
        created=tuple(sorted(created)), deleted=tuple(sorted(deleted)),
        appeared=sum(len(c.appeared) for c in kept),
        resolved=sum(len(c.resolved) for c in kept),
        taken=tuple(t for c in kept for t in c.taken),
        unlisted=tuple(sorted({*baseline.unlisted, *today.unlisted})))
    return Period(label=label, wanted=wanted, baseline=baseline.day, fleet=fleet,
                  endpoints=changes)


def changes(days: Sequence[FleetDay], today: FleetDay, since: dt.date | None = None
            ) -> History:
    """How the fleet moved since yesterday, since last week, and since `since` when given:
    each against the newest of `days` at or before that day (none: "no data")."""
    earlier = sorted((d for d in days if d.day < today.day), key=lambda d: d.day)
    wanted = [("since yesterday", today.day - dt.timedelta(days=1)),
              ("since last week", today.day - dt.timedelta(days=LAST_WEEK_DAYS))]
    if since is not None and all(since != w for _, w in wanted):
        wanted.append((f"since {since.isoformat()}", since))
    periods = []
    for label, day in wanted:
        baseline = next((d for d in reversed(earlier) if d.day <= day), None)
        periods.append(compare(baseline, today, label, day) if baseline is not None
                       else Period(label=label, wanted=day))
    return History(today=today.day, days_stored=len(earlier) + 1,
                   first_day=earlier[0].day if earlier else today.day, periods=tuple(periods))


# The record of each day, kept in the state store ----------------------------------------------


class DayStore(Protocol):
    """What the history needs of the state store (`pipeline.store.StateStore`)."""

    def put_day(self, day: dt.date, payload: str) -> None: ...

    def days(self, since: dt.date | None = None) -> list[tuple[dt.date, str]]: ...


class DayBook:
    """One store's day records, read once and kept in memory; today's written after each
    whole-fleet analysis (the one place that does it: dashboard, report, snapshot).

    A record that cannot be read (another schema, a damaged payload) is left out with a note,
    never guessed at. Store errors (`StoreError`) reach the caller, which says them in one line.
    """

    def __init__(self, store: DayStore | None) -> None:
        self.store = store
        self._days: dict[dt.date, FleetDay] | None = None
        self.notes: list[str] = []

    def _read(self) -> dict[dt.date, FleetDay]:
        if self._days is None:
            self._days = {}
            for day, payload in self.store.days() if self.store is not None else []:
                try:
                    record = FleetDay.of_payload(payload)
                except ValidationError as exc:
                    self.notes.append(f"the record of {day} is unreadable "
                                      f"({exc.error_count()} problems): left out")
                    continue
                if record.day != day:
                    self.notes.append(f"the record of {day} says {record.day}: left out")
                    continue
                self._days[day] = record
        return self._days

    def days(self) -> list[FleetDay]:
        return sorted(self._read().values(), key=lambda d: d.day)

    def record(self, analysis: FleetAnalysis) -> FleetDay | None:
        """Today's record of `analysis`, written to the store (None: not recordable, or no
        store); the history is then computed against it."""
        if self.store is None or recordable(analysis.fleet) is not None:
            return None
        record = record_of(analysis)
        self.store.put_day(record.day, record.payload())
        self._read()[record.day] = record
        return record

    def history(self, analysis: FleetAnalysis, since: dt.date | None = None, *,
                today: FleetDay | None = None) -> History:
        """How the fleet of `analysis` moved, against the stored days before its own
        (`today`: its record, when `record` just made it)."""
        history = changes(self.days(), today or record_of(analysis), since)
        return history.model_copy(update={"notes": tuple(self.notes)})


# --since ------------------------------------------------------------------------------------

_SINCE = re.compile(r"^(\d{1,5})([hdw])$")


def parse_since(text: str, today: dt.date) -> dt.date:
    """`--since`: "24h", "7d", "30d", "2w" or a date (YYYY-MM-DD); the day it names.

    Records are kept by the day, so hours must make whole days. Raises `UsageError` (one line,
    exit 2) naming the option.
    """
    value = text.strip().lower()
    match = _SINCE.match(value)
    if match is None:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise UsageError(f"--since {text!r}: expected a span like 24h, 7d, 30d or 2w, or a "
                             "date YYYY-MM-DD") from None
        if day >= today:
            raise UsageError(f"--since {text}: expected a day before today ({today})")
        return day
    count, unit = int(match.group(1)), match.group(2)
    if unit == "h":
        if count % 24 or count == 0:
            raise UsageError(f"--since {text}: the history is kept by the day: give whole days "
                             "(24h, 48h) or 7d")
        count //= 24
    days = count * (LAST_WEEK_DAYS if unit == "w" else 1)
    if days < 1:
        raise UsageError(f"--since {text}: expected at least one day")
    if days > 3650:
        raise UsageError(f"--since {text}: expected at most 3650 days")
    return today - dt.timedelta(days=days)


def history_report(history: History) -> dict[str, Any]:
    """The report's `history` object: the model, and each period's words."""
    dump = history.model_dump(mode="json")
    for period, entry in zip(history.periods, dump["periods"], strict=True):
        entry["heading"] = period.heading
        entry["no_data"] = period.baseline is None
        entry["text"] = (["no data (no record that old)"] if period.fleet is None
                         else period.fleet.phrases())
        for key, change in period.endpoints.items():
            entry["endpoints"][key]["text"] = change.phrases()
        if period.fleet is not None:
            entry["fleet"]["cost"]["delta"] = _rounded(period.fleet.cost.delta)
            entry["fleet"]["traffic"]["delta"] = _rounded(period.fleet.traffic.delta)
            entry["fleet"]["savings"]["delta"] = _rounded(period.fleet.savings.delta)
            entry["fleet"]["taken_usd"] = round(period.fleet.taken_usd, 2)
    return dump


def history_lines(history: History) -> list[str]:
    """A few lines for the report's table: the fleet's moves per period."""
    lines = [f"history ({history.days_stored} day records from {history.first_day}):"]
    for period in history.periods:
        words = (["no data (no record that old)"] if period.fleet is None
                 else period.fleet.phrases())
        lines.append(f"  {period.heading}: {'; '.join(words)}")
    lines += [f"  note: {note}" for note in history.notes]
    return lines


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
