"""Several AWS accounts watched as one fleet: named profiles, assumed roles, an organisation.

`AwsOrganisation` holds one `AwsContext` per account (each its own session, credentials, retry
budget and read-only guard; one request ledger for all, so the requests and the CloudWatch charge
are the organisation's). Accounts come from what people already use: repeated `--profile`, the
`[[accounts]]` list of config.toml (a profile, or a role ARN assumed from a base profile), or
`--org`, which lists the member accounts with Organizations ListAccounts from the base profile
and assumes the configured read-only role name in each.

`OrgCollector` runs one `FleetCollector` per account at once and merges their snapshots into
one: every endpoint, provisioning row and error carries its account, so keys (and multi-model
groupings, which are per key) never cross an account. An account whose refresh sees nothing
(expired credentials, a role that cannot be assumed, AccessDenied on its listing, a chain that
is misconfigured) is marked stale with its reason and keeps its last good data; the others stay
live.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from collectors.aws import AssumedRole, AwsContext, AwsTarget
from collectors.failures import RECOVERABLE, describe
from collectors.fleet import FleetCollector, utc_now
from collectors.ledger import RequestLedger
from collectors.state import CollectorState
from ground.config import (
    AccountSettings,
    AwsSettings,
    CostSettings,
    HistorySettings,
    OrgSettings,
    RefreshSettings,
)
from ground.domain import (
    AccountStatus,
    CollectorError,
    FleetSnapshot,
    MetricStore,
    empty_window_frame,
)
from ground.errors import ConfigError, SagetopError
from ground.untrusted import inert

Clock = Callable[[], dt.datetime]
# Organizations is a global service; its endpoint is in us-east-1 (aws partition).
ORGANIZATIONS_REGION = "us-east-1"


def account_targets(profiles: Sequence[str], accounts: Sequence[AccountSettings],
                    regions: tuple[str, ...], endpoint_url: str | None) -> list[AwsTarget]:
    """The accounts of repeated `--profile` and of `[[accounts]]`, each named once.

    A name shown twice would make two accounts' endpoints one: refused (ConfigError).
    """
    targets = [AwsTarget(profile=p, regions=regions, endpoint_url=endpoint_url, account=p)
               for p in profiles]
    for entry in accounts:
        role = None if entry.role_arn is None else AssumedRole(
            entry.role_arn, entry.external_id, entry.session_name or "sagetop")
        # A role's own account id names it until a name is given: unique, and what STS says.
        name = entry.name or (entry.role_arn.split(":")[4] if entry.role_arn else entry.profile)
        targets.append(AwsTarget(profile=entry.profile, regions=regions,
                                 endpoint_url=endpoint_url, account=name, role=role))
    seen: set[str] = set()
    for target in targets:
        if target.account in seen:
            raise ConfigError(f"accounts: {inert(str(target.account))} is named twice "
                              "(give each [[accounts]] entry its own name)")
        seen.add(str(target.account))
    return targets


def member_targets(listed: Sequence[dict[str, Any]], base: AwsTarget,
                   org: OrgSettings) -> list[AwsTarget]:
    """One target per ACTIVE member account: `org.role_name` in it, assumed from `base`."""
    targets: list[AwsTarget] = []
    names: set[str] = set()
    for account in listed:
        if account.get("Status", "ACTIVE") != "ACTIVE":
            continue  # suspended or closing: no role to assume, nothing running
        account_id = str(account["Id"])
        partition = str(account.get("Arn", "arn:aws:")).split(":")[1] or "aws"
        name = str(account.get("Name") or account_id)
        if name in names:
            name = f"{name} ({account_id})"
        names.add(name)
        role = AssumedRole(f"arn:{partition}:iam::{account_id}:role/{org.role_name}",
                           org.external_id, org.session_name)
        targets.append(replace(base, account=name, role=role))
    return targets


@dataclass
class _Member:
    aws: AwsContext
    collector: FleetCollector | None = None
    entered: bool = False


class AwsOrganisation:
    """The accounts' sessions, entered and left together; one ledger for all of them.

    Duck-types what the live session reads of an `AwsContext` (`settings`, `ledger`, `target`,
    `profile_name`, entering and leaving). With `discover`, the member accounts are listed when
    it is entered (Organizations ListAccounts, paginated) from the base target's session.
    """

    def __init__(self, settings: AwsSettings, targets: Sequence[AwsTarget],
                 cost: CostSettings | None = None, *, discover: AwsTarget | None = None,
                 org: OrgSettings | None = None) -> None:
        self.settings = settings
        self.cost = cost or CostSettings()
        self.ledger = RequestLedger(self.cost.getmetricdata_usd_per_1000_metrics)
        self.org = org or OrgSettings()
        self._discover = None if discover is None else AwsContext(
            settings, discover, cost, ledger=self.ledger)
        # Every account's profile and regions checked now, before anything connects.
        self.members = [_Member(AwsContext(settings, t, cost, ledger=self.ledger))
                        for t in targets]
        first = discover or targets[0]
        self.target = AwsTarget(profile=first.profile, regions=first.regions,
                                endpoint_url=first.endpoint_url, simulated=first.simulated)
        self._stack = contextlib.AsyncExitStack()

    @property
    def profile_name(self) -> str | None:
        return self.target.profile

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r for m in self.members for r in m.aws.regions))

    async def _list_members(self, base: AwsContext) -> list[AwsTarget]:
        problem = await base.credentials_problem()
        if problem is not None:
            raise ConfigError(f"--org: the base profile's credentials: {problem}")
        try:
            client = await base.client("organizations", ORGANIZATIONS_REGION)
            listed: list[dict[str, Any]] = []
            async for page in client.get_paginator("list_accounts").paginate():
                listed += page.get("Accounts", [])
        except RECOVERABLE as exc:
            raise ConfigError(f"--org: {describe(exc, 'organizations', 'ListAccounts')[0]}"
                              ) from None
        targets = member_targets(listed, base.target, self.org)
        if not targets:
            raise ConfigError("--org: Organizations lists no active member account")
        return targets

    async def __aenter__(self) -> AwsOrganisation:
        await self._stack.__aenter__()
        if self._discover is not None:
            base = await self._stack.enter_async_context(self._discover)
            self.members += [_Member(AwsContext(self.settings, t, self.cost, ledger=self.ledger))
                             for t in await self._list_members(base)]
        for member in self.members:
            await self._stack.enter_async_context(member.aws)
            member.entered = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.__aexit__(None, None, None)


def _merged_metrics(stores: Sequence[MetricStore]) -> MetricStore:
    """One store of every account's series; keys carry the account, so none collide."""
    windows = [s.window for s in stores if not s.window.empty]
    window = pd.concat(windows) if windows else empty_window_frame()

    def frames(tier: str) -> dict[str, pd.DataFrame]:
        names = dict.fromkeys(n for s in stores for n in (s.hourly if tier == "hourly"
                                                          else s.live))
        merged: dict[str, pd.DataFrame] = {}
        for name in names:
            parts = [f for s in stores
                     if (f := (s.hourly if tier == "hourly" else s.live).get(name)) is not None
                     and not f.empty]
            if parts:
                # Timestamps one account has and another lacks stay NaN: no data, not zero.
                merged[name] = pd.concat(parts, axis=1).sort_index() if len(parts) > 1 \
                    else parts[0]
        return merged

    starts = [s.window_start for s in stores if s.window_start is not None]
    ends = [s.window_end for s in stores if s.window_end is not None]
    return MetricStore(window=window, hourly=frames("hourly"), live=frames("live"),
                       window_start=min(starts) if starts else None,
                       window_end=max(ends) if ends else None)


class OrgCollector:
    """One fleet collector per account, run together, merged into one snapshot."""

    def __init__(self, org: AwsOrganisation, refresh: RefreshSettings | None = None,
                 history: HistorySettings | None = None, clock: Clock = utc_now) -> None:
        self.org = org
        self.refresh = refresh or RefreshSettings()
        self.history = history or HistorySettings()
        self.clock = clock
        self._last: dict[str, FleetSnapshot] = {}
        self._problems: dict[str, str | None] = {}

    def _collector(self, member: _Member) -> FleetCollector:
        if member.collector is None:
            member.collector = FleetCollector(member.aws, self.refresh, self.history,
                                              clock=self.clock)
        return member.collector

    def export_state(self) -> tuple[CollectorState, ...]:
        """Each account's collector state (those collected at least once), for the store."""
        return tuple(m.collector.export_state() for m in self.org.members
                     if m.collector is not None and str(m.aws.target.account) in self._last)

    def restore_state(self, states: tuple[CollectorState, ...]) -> None:
        """Before the first call: each account that is still watched gets its stored state;
        its snapshot stands (marked not collected yet) until its first refresh."""
        by_account = {s.account: s for s in states}
        for member in self.org.members:
            state = by_account.get(str(member.aws.target.account))
            if state is not None:
                collector = self._collector(member)
                collector.restore_state(state)
                name = str(member.aws.target.account)
                self._last[name] = collector.snapshot()
                self._problems[name] = None  # shown as stored, marked by age, not as stale

    async def _one(self, member: _Member, listing: bool, kwargs: dict[str, Any]) -> None:
        name = str(member.aws.target.account)
        collector = self._collector(member)
        try:
            snapshot = await (collector.collect_listing() if listing
                              else collector.collect(**kwargs))
        except SagetopError as exc:
            # This account's chain is misconfigured (a source_profile loop...): it alone stops.
            self._problems[name] = str(exc)
            return
        # The fleet collector keeps an account's last good endpoints through a failure (its
        # errors say why); marked stale here, beside the accounts that answered.
        self._problems[name] = _why_unseen(snapshot) if snapshot.unseen else None
        self._last[name] = snapshot

    async def collect_listing(self) -> FleetSnapshot:
        now = self.clock()
        await asyncio.gather(*(self._one(m, True, {}) for m in self.org.members))
        return self.snapshot(now)

    async def collect(self, *, force: bool = False, history: bool = True,
                      live: list[str] | None = None,
                      focus: list[str] | None = None) -> FleetSnapshot:
        now = self.clock()
        kwargs = {"force": force, "history": history, "live": live, "focus": focus}
        await asyncio.gather(*(self._one(m, False, kwargs) for m in self.org.members))
        return self.snapshot(now)

    def snapshot(self, now: dt.datetime | None = None) -> FleetSnapshot:
        parts: list[tuple[str, FleetSnapshot]] = []
        statuses: list[AccountStatus] = []
        for member in self.org.members:
            name = str(member.aws.target.account)
            part = self._last.get(name)
            collector = member.collector
            statuses.append(AccountStatus(
                name=name, account_id=collector.account_id if collector else None,
                problem=self._problems.get(name, "not collected yet")))
            if part is not None:
                parts.append((name, part))
        errors = tuple(
            e if e.account is not None else e.model_copy(update={"account": name})
            for name, part in parts for e in part.errors)
        # A misconfigured chain left no snapshot: its one line is this account's error.
        errors += tuple(_account_error(s, now or self.clock()) for s in statuses
                        if s.stale and s.name not in dict(parts))
        return FleetSnapshot(
            collected_at=now or self.clock(),
            account_id=None,
            regions=self.org.regions,
            profile_name=self.org.profile_name,
            simulated=self.org.target.simulated,
            lookback_days=self.history.lookback_days,
            endpoints=tuple(e for _, part in parts for e in part.endpoints),
            provisioning=tuple(r.model_copy(update={"account": name})
                               for name, part in parts for r in part.provisioning),
            metrics=_merged_metrics([part.metrics for _, part in parts]),
            errors=errors,
            requests=self.org.ledger.stats(),
            verdict_sources=tuple(v for _, part in parts for v in part.verdict_sources),
            account_verdicts=tuple(v for _, part in parts for v in part.account_verdicts),
            accounts=tuple(statuses),
        )


def _why_unseen(snapshot: FleetSnapshot) -> str:
    for error in snapshot.errors:
        if error.source == "credentials" or error.operation == "ListEndpoints":
            return error.message
    return "nothing could be listed"


def _account_error(status: AccountStatus, now: dt.datetime) -> CollectorError:
    return CollectorError(source="credentials", region="", operation=None,
                          message=status.problem or "", at=now, account=status.name)
