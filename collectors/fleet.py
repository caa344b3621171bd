"""The fleet collector: runs the region collectors on their cadences and assembles snapshots.

Each part (inventory, metrics, Model Monitor, provisioning) fails on its own: its error is kept
with the snapshot and its last good data stays, so one failing API never blanks the fleet. A
collection fails fast as a whole where nothing else could work: without credentials nothing is
asked, and a region whose inventory could not be read (unreachable, throttled, timed out) is not
asked for its other parts, which would each wait for the same failure.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from collectors.aws import AwsContext
from collectors.failures import RECOVERABLE, collector_error, is_transient
from collectors.inventory import InventoryCollector
from collectors.metrics import MetricsCollector
from collectors.monitor import ModelMonitorCollector
from collectors.provisioning import ProvisioningCollector
from collectors.recommender import RecommenderCollector, match_jobs
from collectors.state import CollectorState
from collectors.verdicts import COMPUTE_OPTIMIZER, COST_HUB_REGION, AwsVerdictsCollector
from ground.config import HistorySettings, RefreshSettings
from ground.domain import (
    AwsVerdict,
    CollectorError,
    EndpointSnapshot,
    FleetSnapshot,
    ModelMonitorState,
    ProvisioningRow,
    RecommenderJob,
    VerdictSourceStatus,
)

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class _Due:
    inventory: bool
    monitor: bool
    provisioning: bool
    recommender: bool
    verdicts: bool


# The cadenced part each error source belongs to (metrics keep their own progress).
_PART_OF_SOURCE = {"inventory": "inventory", "tags": "inventory", "autoscaling": "inventory",
                   "model-monitor": "monitor", "provisioning": "provisioning",
                   "recommender": "recommender", "aws-verdicts": "verdicts"}


async def _nothing() -> None:
    return None


class FleetCollector:
    """Owns the per-region collectors and the last good state of each part."""

    def __init__(self, aws: AwsContext, refresh: RefreshSettings | None = None,
                 history: HistorySettings | None = None, clock: Clock = utc_now) -> None:
        self.aws = aws
        self.refresh = refresh = refresh or RefreshSettings()
        self.history = history = history or HistorySettings()
        self.clock = clock
        self.inventories = {r: InventoryCollector(aws, r, refresh) for r in aws.regions}
        self.monitors = {r: ModelMonitorCollector(aws, r) for r in aws.regions}
        self.provisioners = {r: ProvisioningCollector(aws, r) for r in aws.regions}
        self.metrics = MetricsCollector(aws, history, refresh)
        self.recommenders = {r: RecommenderCollector(aws, r) for r in aws.regions}
        self.verdicts = AwsVerdictsCollector(aws)
        self._jobs: dict[str, list[RecommenderJob]] = {r: [] for r in aws.regions}
        self._jobs_error: dict[str, str | None] = {}
        self._verdicts: list[AwsVerdict] = []
        self._verdict_sources: list[VerdictSourceStatus] = []
        self.account_id: str | None = None
        self._endpoints: dict[str, list[EndpointSnapshot]] = {r: [] for r in aws.regions}
        self._monitor: dict[str, ModelMonitorState] = {}
        self._monitor_region_error: dict[str, str | None] = {}
        self._provisioning: dict[str, list[ProvisioningRow]] = {r: [] for r in aws.regions}
        self._errors: list[CollectorError] = []
        self._last_run: dict[str, dt.datetime] = {}
        self._listed: dict[str, list[dict[str, Any]]] = {}

    def export_state(self) -> CollectorState:
        """Every part's last good state, for the state store."""
        return CollectorState(
            account=self.aws.target.account, account_id=self.account_id,
            inventories={r: inv.export_state() for r, inv in self.inventories.items()},
            metrics=self.metrics.export_state(), monitor=dict(self._monitor),
            provisioning={r: tuple(rows) for r, rows in self._provisioning.items()},
            jobs={r: tuple(jobs) for r, jobs in self._jobs.items()},
            verdicts=tuple(self._verdicts), verdict_sources=tuple(self._verdict_sources))

    def restore_state(self, state: CollectorState) -> None:
        """Before the first call: the snapshot is then the stored one, and every part is still
        due (nothing is marked as run), so the first refresh confirms it all."""
        for region, inventory in self.inventories.items():
            stored = state.inventories.get(region)
            if stored is not None:
                inventory.restore_state(stored)
                self._endpoints[region] = inventory.current()
        self.metrics.restore_state(state.metrics)
        self.account_id = self.account_id or state.account_id
        self._monitor = dict(state.monitor)
        for region in self.aws.regions:
            self._provisioning[region] = list(state.provisioning.get(region, ()))
            self._jobs[region] = list(state.jobs.get(region, ()))
        self._verdicts = list(state.verdicts)
        self._verdict_sources = list(state.verdict_sources)

    def _due(self, part: str, every: dt.timedelta, now: dt.datetime, force: bool) -> bool:
        last = self._last_run.get(part)
        if force or last is None or now - last >= every:
            self._last_run[part] = now
            return True
        return False

    async def collect(self, *, force: bool = False, history: bool = True,
                      live: list[str] | None = None,
                      focus: list[str] | None = None) -> FleetSnapshot:
        """One refresh: every part that is due (all of them with `force`), then a snapshot.

        `live` names the endpoint keys whose row series (traffic, errors, latency) to refresh by
        the minute, `focus` those whose utilisation too (the open pane); None means all.
        """
        now = self.clock()
        self.aws.budget.begin()
        refresh = self.refresh
        problem = await self.aws.credentials_problem()
        if problem is not None:
            return self._without_credentials(problem, now)
        due = _Due(
            inventory=self._due("inventory", dt.timedelta(seconds=refresh.inventory_seconds),
                                now, force),
            monitor=self._due("monitor", dt.timedelta(minutes=refresh.model_monitor_minutes),
                              now, force),
            provisioning=self._due("provisioning",
                                   dt.timedelta(minutes=refresh.provisioning_minutes), now, force),
            recommender=self._due("recommender",
                                  dt.timedelta(minutes=refresh.recommender_minutes), now, force),
            verdicts=self._due("verdicts", dt.timedelta(minutes=refresh.aws_verdicts_minutes),
                               now, force),
        )
        errors: list[CollectorError] = []
        down: set[str] = set()  # regions whose inventory failed in a way the rest would repeat
        # Metrics start as soon as an endpoint is described, not after the whole inventory:
        # the inventory streams each endpoint to the metrics pass, whose calls go out as they
        # fill (500 queries each), so describing and fetching overlap.
        metrics = self.metrics.stream(now, history=history,
                                      live=None if live is None else set(live),
                                      focus=None if focus is None else set(focus))

        # Model Monitor needs the endpoints' names only: with this pass's listing in hand (a
        # first load), each listed region's is asked alongside the inventory, not after it.
        early_monitor = {region: {str(s.get("EndpointName", "")) for s in summaries}
                         for region, summaries in self._listed.items()
                         } if due.inventory and due.monitor else {}
        monitoring = asyncio.ensure_future(self._collect_monitor(early_monitor, now, errors))

        async def stop_monitoring() -> None:  # the pass failed: the early monitor too
            monitoring.cancel()
            await asyncio.gather(monitoring, return_exceptions=True)

        async def inventory() -> None:
            listed = self._listed
            self._listed = {}
            passes = await asyncio.gather(*(inv.collect(now, listed.get(region), metrics.add)
                                            for region, inv in self.inventories.items()))
            for region, result in zip(self.inventories, passes, strict=True):
                self._endpoints[region] = result.endpoints
                errors.extend(result.errors)
                if not result.complete and not any(e.permission for e in result.errors):
                    down.add(region)

        # The caller's identity and the listing at once: against an endpoint that is down, the
        # two waits overlap instead of adding up.
        try:
            await asyncio.gather(self._check_identity(),
                                 inventory() if due.inventory else _nothing())
        except BaseException:
            await stop_monitoring()
            await metrics.abort()
            raise
        endpoints = [e for region in self.aws.regions for e in self._endpoints[region]]
        self.metrics.forget({e.key for e in endpoints})
        if down:
            # Not asked this time; due again at the next refresh with the inventory.
            for skipped in ("monitor", "provisioning", "recommender", "verdicts"):
                self._last_run.pop(skipped, None)
        # What was not streamed (the inventory was not due, or could not be listed for want of
        # permission and kept its last endpoints) is asked now; streamed ones are not asked twice.
        for endpoint in endpoints:
            if endpoint.region not in down:
                metrics.add(endpoint)

        # Once the inventory is known the other parts are independent: ask for them together.
        try:
            metrics_pass, *_ = await asyncio.gather(
                metrics.finish(),
                self._collect_monitor({r: {e.name for e in endpoints if e.region == r}
                                       for r in self.aws.regions
                                       if r not in down and r not in early_monitor}, now, errors)
                if due.monitor else _nothing(),
                self._collect_provisioning(endpoints, now, errors, down) if due.provisioning
                else _nothing(),
                self._collect_details(now, errors, down) if due.inventory else _nothing(),
                self._collect_recommender(endpoints, now, errors, down) if due.recommender
                else _nothing(),
                # Account-wide sources: not asked when no region could even be listed.
                self._collect_verdicts(now, errors)
                if due.verdicts and down != set(self.aws.regions) else _nothing(),
            )
        except BaseException:
            await stop_monitoring()
            raise
        await monitoring  # started with the inventory: done long since, as a rule
        errors += metrics_pass.errors
        for error in errors:
            part = _PART_OF_SOURCE.get(error.source)
            if part is not None and is_transient(error):
                # Due again at the next refresh: a throttled or unreachable part must not wait
                # its whole cadence (minutes) with stale data and no error shown meanwhile.
                self._last_run.pop(part, None)
        self._errors = errors
        return self.snapshot(now)

    async def collect_listing(self) -> FleetSnapshot:
        """ListEndpoints only: rows for the screen within a second or two, even for thousands.

        The listing is kept and reused by the next `collect`, so it is not asked twice.
        """
        now = self.clock()
        self.aws.budget.begin()
        problem = await self.aws.credentials_problem()
        if problem is not None:
            return self._without_credentials(problem, now)
        errors: list[CollectorError] = []
        listed: dict[str, list[dict[str, Any]]] = {}
        endpoints: list[EndpointSnapshot] = []

        async def one(region: str, inventory: InventoryCollector) -> None:
            try:
                listed[region] = await inventory.list_endpoints()
            except RECOVERABLE as exc:
                errors.append(collector_error(exc, "inventory", region, "sagemaker",
                                              "ListEndpoints", now))

        await asyncio.gather(self._check_identity(),
                             *(one(r, inv) for r, inv in self.inventories.items()))
        for region, inventory in self.inventories.items():
            # A region that could not be listed keeps its last inventory (a warm start's
            # stored one), as `collect` does: one failing call must not blank the fleet.
            endpoints += ([inventory.listed_snapshot(s) for s in listed[region]]
                          if region in listed else inventory.current())
        self._listed = listed
        return self.snapshot(now).model_copy(update={"endpoints": tuple(endpoints),
                                                     "errors": tuple(errors)})

    def _without_credentials(self, problem: str, now: dt.datetime) -> FleetSnapshot:
        """Nothing can be signed: one error, the last data kept, everything due next time."""
        self._last_run.clear()
        self._errors = [CollectorError(source="credentials", region=", ".join(self.aws.regions),
                                       operation=None, message=problem, at=now)]
        return self.snapshot(now)

    async def _check_identity(self) -> None:
        if self.account_id is None:
            # Asked again while unknown: an outage at the first refresh must not hide the
            # account for the rest of the session.
            self.account_id = await self.aws.account_id()

    async def _collect_provisioning(self, endpoints: list[EndpointSnapshot], now: dt.datetime,
                                    errors: list[CollectorError], skip: set[str]) -> None:
        regions = [r for r in self.provisioners if r not in skip]
        provisioned = await asyncio.gather(*(self.provisioners[r].collect(endpoints, now)
                                             for r in regions))
        for region, matrix in zip(regions, provisioned, strict=True):
            self._provisioning[region] = matrix.rows
            errors += matrix.errors

    async def _collect_details(self, now: dt.datetime, errors: list[CollectorError],
                               skip: set[str]) -> None:
        async def one(region: str, inventory: InventoryCollector) -> None:
            errors.extend(await inventory.collect_details(now))
            self._endpoints[region] = inventory.current()

        await asyncio.gather(*(one(region, inventory)
                               for region, inventory in self.inventories.items()
                               if region not in skip))

    async def _collect_recommender(self, endpoints: list[EndpointSnapshot], now: dt.datetime,
                                   errors: list[CollectorError], skip: set[str]) -> None:
        async def one(region: str) -> None:
            result = await self.recommenders[region].collect(endpoints, now)
            errors.extend(result.errors)
            self._jobs_error[region] = result.error
            if result.error is None:
                self._jobs[region] = result.jobs

        await asyncio.gather(*(one(r) for r in self.aws.regions if r not in skip))

    async def _collect_verdicts(self, now: dt.datetime, errors: list[CollectorError]) -> None:
        result = await self.verdicts.collect(now)
        errors.extend(result.errors)
        # A source that failed this time keeps what it said last time (its error is shown);
        # one that answered, or said "not enabled", replaces it.
        failed = {(s.source, s.region) for s in result.statuses
                  if s.status not in ("enabled", "not enabled")}
        self._verdicts = [v for v in self._verdicts if _verdict_scope(v) in failed] + \
            result.verdicts
        self._verdict_sources = result.statuses

    async def _collect_monitor(self, names: dict[str, set[str]], now: dt.datetime,
                               errors: list[CollectorError]) -> None:
        """Model Monitor for the endpoints `names` holds, region by region."""
        async def one(region: str) -> None:
            result = await self.monitors[region].collect(names[region], now)
            errors.extend(result.errors)
            self._monitor_region_error[region] = result.error
            if result.error is None:
                for name, state in result.by_endpoint.items():
                    self._monitor[f"{region}/{name}"] = state

        await asyncio.gather(*(one(r) for r in self.aws.regions if r in names))

    def snapshot(self, now: dt.datetime | None = None) -> FleetSnapshot:
        endpoints = []
        # Indexed once: a scan of every verdict per endpoint was a second of a 10,000 fleet.
        verdicts_of: dict[str, list[AwsVerdict]] = defaultdict(list)
        for verdict in self._verdicts:
            if verdict.resource_arn is not None:  # account-wide: no endpoint's
                verdicts_of[verdict.resource_arn].append(verdict)
        for region in self.aws.regions:
            region_error = self._monitor_region_error.get(region)
            for endpoint in self._endpoints[region]:
                state = self._monitor.get(f"{region}/{endpoint.name}", ModelMonitorState())
                if region_error:
                    state = state.model_copy(update={"error": region_error})
                endpoints.append(endpoint.model_copy(update={
                    "monitor": state,
                    "recommender": match_jobs(endpoint, self._jobs[region],
                                              self._jobs_error.get(region)),
                    "aws_verdicts": tuple(verdicts_of.get(endpoint.arn, ()))}))
        return FleetSnapshot(
            collected_at=now or self.clock(),
            account_id=self.account_id,
            regions=self.aws.regions,
            profile_name=self.aws.profile_name,
            simulated=self.aws.target.simulated,
            lookback_days=self.history.lookback_days,
            endpoints=tuple(endpoints),
            provisioning=tuple(r for region in self.aws.regions
                               for r in self._provisioning[region]),
            metrics=self.metrics.store(),
            errors=tuple(self._errors),
            requests=self.aws.ledger.stats(),
            verdict_sources=tuple(self._verdict_sources),
            account_verdicts=tuple(v for v in self._verdicts
                                   if v.resource_type != "SageMakerEndpoint"),
        )


def _verdict_scope(verdict: AwsVerdict) -> tuple[str, str]:
    """(source, region asked): Compute Optimizer per region, Cost Optimization Hub globally."""
    if verdict.source == COMPUTE_OPTIMIZER:
        return verdict.source, verdict.region or ""
    return verdict.source, COST_HUB_REGION
