"""CloudWatch cross-account observability (OAM): metrics of linked accounts, asked in one place.

A monitoring account with a sink in a region reads the metrics of the source accounts linked to
that sink (their links share `AWS::CloudWatch::Metric`) by putting the source's id in each
query's `AccountId`. `linked_sources` finds them (oam:ListSinks, then oam:ListAttachedLinks per
sink; the account is the link ARN's); `plan_routes` decides, per watched account and region,
which monitoring account asks for its metrics; `MetricsRouter` makes it so: the endpoints of every
account routed to one monitoring account travel in that account's GetMetricData calls (500
queries each, fleet-wide), the others' through their own credentials, as without OAM. The
inventory is always each account's own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from collectors.aws import AwsContext
from collectors.failures import RECOVERABLE, collector_error
from collectors.metrics import MetricsCollector, MetricsPass, MetricsStream
from ground.config import HistorySettings, RefreshSettings
from ground.domain import CollectorError, EndpointSnapshot

METRIC_RESOURCE = "AWS::CloudWatch::Metric"
# How a monitoring account's own route reads (`AccountStatus.metrics_via`).
ITSELF = "itself, the monitoring account"
_ACCOUNT_ID = re.compile(r"\d{12}")


@dataclass
class Detection:
    """What one account's sinks say: per region, the source account ids linked for metrics."""

    linked: dict[str, frozenset[str]] = field(default_factory=dict)
    errors: list[CollectorError] = field(default_factory=list)


def link_account(link_arn: str) -> str | None:
    """The source account of a link: `arn:aws:oam:REGION:ACCOUNT:link/ID` (its Label is only a
    template's text, so not trusted to name it)."""
    parts = str(link_arn).split(":")
    if len(parts) >= 6 and parts[2] == "oam" and _ACCOUNT_ID.fullmatch(parts[4]):
        return parts[4]
    return None


async def linked_sources(aws: AwsContext, now: dt.datetime) -> Detection:
    """The accounts linked to this account's sinks, region by region (OAM is regional)."""
    found = Detection()

    async def one(region: str) -> None:
        operation = "ListSinks"
        try:
            client = await aws.client("oam", region)
            sinks = [item async for page in client.get_paginator("list_sinks").paginate()
                     for item in page.get("Items", [])]
            operation = "ListAttachedLinks"
            sources: set[str] = set()
            for sink in sinks:
                pages = client.get_paginator("list_attached_links").paginate(
                    SinkIdentifier=str(sink.get("Arn", "")))
                async for page in pages:
                    for link in page.get("Items", []):
                        account = link_account(str(link.get("LinkArn", "")))
                        if account and METRIC_RESOURCE in (link.get("ResourceTypes") or []):
                            sources.add(account)
        except RECOVERABLE as exc:
            found.errors.append(collector_error(exc, "observability", region, "oam", operation,
                                                now))
            return
        if sources:
            found.linked[region] = frozenset(sources)

    await asyncio.gather(*(one(r) for r in aws.regions))
    return found


def plan_routes(accounts: Sequence[tuple[str, str | None]],
                detected: dict[str, Detection]) -> dict[tuple[str, str], str]:
    """(account name, region) -> the monitoring account (name) its metrics are asked from.

    `accounts` are (name, id) in watch order; `detected` the answers of the accounts asked.
    A source linked to several monitoring accounts goes to the first watched; a monitoring
    account's own endpoints in that region share its calls. Accounts linked but not watched
    are nobody's concern here; accounts watched but not linked keep their own metrics.
    """
    by_id = {account_id: name for name, account_id in accounts if account_id}
    routes: dict[tuple[str, str], str] = {}
    for monitoring, _ in accounts:
        detection = detected.get(monitoring)
        if detection is None:
            continue
        for region, sources in sorted(detection.linked.items()):
            names = [by_id[s] for s in sorted(sources) if s in by_id and by_id[s] != monitoring]
            names = [n for n in names if (n, region) not in routes]
            if not names:
                continue
            routes.setdefault((monitoring, region), monitoring)
            for name in names:
                routes[(name, region)] = routes[(monitoring, region)]
    return routes


def route_text(name: str, regions: Sequence[str], routes: dict[tuple[str, str], str]
               ) -> str | None:
    """Where an account's metrics are asked from, in words; None when through its own."""
    # The monitoring account's own metrics travel in its own calls beside its sources'.
    via = {r: ITSELF if routes[(name, r)] == name
           else routes[(name, r)] for r in regions if (name, r) in routes}
    if not via:
        return None
    monitors = sorted(set(via.values()))
    if len(via) == len(regions) and len(monitors) == 1:
        return monitors[0]
    return ", ".join(f"{m} ({', '.join(r for r in regions if via.get(r) == m)})"
                     for m in monitors)


@dataclass
class _Ask:
    endpoints: list[EndpointSnapshot]
    live: list[EndpointSnapshot] | None
    focus: list[EndpointSnapshot] | None


class MonitoringHub:
    """One monitoring account's metrics collector, asking for every account routed to it.

    Each refresh is a round: the accounts routed here hand their endpoints in (or finish without
    doing so: no credentials, nothing listed), and once all have, one metrics pass runs for all
    of them together, so their queries share calls.
    """

    def __init__(self, name: str, aws: AwsContext, history: HistorySettings,
                 refresh: RefreshSettings, sources: dict[str, str]) -> None:
        self.name = name
        self.collector = MetricsCollector(aws, history, refresh)
        self.collector.source_accounts = dict(sources)
        self.participants: set[str] = set(sources) | {name}
        self._keep: dict[str, set[str]] = {}
        self._asks: dict[str, _Ask] = {}
        self._pending: set[str] = set()
        self._result: asyncio.Future[MetricsPass] | None = None
        self._running = False

    def begin(self) -> None:
        self._asks = {}
        self._pending = set(self.participants)
        self._result = asyncio.get_running_loop().create_future()
        self._running = False

    def keep(self, name: str, keys: set[str]) -> None:
        self._keep[name] = keys

    def finished(self, name: str) -> None:
        """`name` asks nothing more this round (it may have asked nothing at all)."""
        self._pending.discard(name)
        self._maybe_run()

    async def ask(self, name: str, ask: _Ask, now: dt.datetime, history: bool) -> MetricsPass:
        if self._result is None or self._result.done():
            self.begin()  # asked outside a round (one account's refresh): a round of its own
            self._pending = {name}
        assert self._result is not None
        result = self._result
        self._asks[name] = ask
        self._now, self._history = now, history
        self._pending.discard(name)
        self._maybe_run()
        passed = await asyncio.shield(result)
        # The calls are the monitoring account's: its errors and counts are reported once, by
        # the monitoring account when it asked (else by the first that did).
        owner = self.name if self.name in self._asks else next(iter(self._asks))
        return passed if name == owner else MetricsPass()

    def _maybe_run(self) -> None:
        if self._pending or self._running or self._result is None or self._result.done():
            return
        if not self._asks:
            self._result.set_result(MetricsPass())
            return
        self._running = True
        asyncio.get_running_loop().create_task(self._run(self._result))

    async def _run(self, result: asyncio.Future[MetricsPass]) -> None:
        asks = list(self._asks.values())
        try:
            self.collector.forget(set().union(*self._keep.values()) if self._keep else set())
            endpoints = [e for a in asks for e in a.endpoints]
            live = None if all(a.live is None for a in asks) else [
                e for a in asks for e in (a.endpoints if a.live is None else a.live)]
            focus = None if all(a.focus is None for a in asks) else [
                e for a in asks for e in (a.endpoints if a.focus is None else a.focus)]
            passed = await self.collector.collect(endpoints, self._now, history=self._history,
                                                  live=live, focus=focus)
        except Exception as exc:  # every account waiting on it must hear, not hang
            result.set_exception(exc)
            return
        finally:
            self._running = False
        result.set_result(passed)


class RoutedMetrics(MetricsCollector):
    """An account's metrics: its routed regions through a monitoring hub, the rest its own."""

    def __init__(self, aws: AwsContext, history: HistorySettings, refresh: RefreshSettings,
                 name: str, hubs: dict[str, MonitoringHub]) -> None:
        super().__init__(aws, history, refresh)
        self.name = name
        self.hubs = hubs  # region -> the hub that asks for this account's metrics there

    def forget(self, keep: set[str]) -> None:
        super().forget(keep)
        for hub in set(self.hubs.values()):
            hub.keep(self.name, keep)

    def stream(self, now: dt.datetime, *, history: bool = True, live: set[str] | None = None,
               focus: set[str] | None = None) -> MetricsStream:
        return _RoutedStream(self, now, history=history, live=live, focus=focus)

    async def collect(self, endpoints: list[EndpointSnapshot], now: dt.datetime,
                      history: bool = True, live: list[EndpointSnapshot] | None = None,
                      focus: list[EndpointSnapshot] | None = None) -> MetricsPass:
        def part(items: list[EndpointSnapshot] | None, hub: MonitoringHub | None
                 ) -> list[EndpointSnapshot] | None:
            return None if items is None else [e for e in items if self.hubs.get(e.region) is hub]

        hubs = list(dict.fromkeys(self.hubs.values()))
        own = super().collect(part(endpoints, None) or [], now, history, part(live, None),
                              part(focus, None))
        asks = [hub.ask(self.name, _Ask(part(endpoints, hub) or [], part(live, hub),
                                        part(focus, hub)), now, history) for hub in hubs]
        passes = await asyncio.gather(own, *asks)
        merged = MetricsPass()
        for passed in passes:
            merged.errors += passed.errors
            merged.calls += passed.calls
            merged.queries += passed.queries
            merged.minimum_calls += passed.minimum_calls
            merged.refused += passed.refused
        self.last_pass = merged
        return merged


class _RoutedStream(MetricsStream):
    """A routed account's pass: its endpoints gathered as the inventory describes them, then
    asked together, because a hub's calls carry every linked account's queries and wait for
    all of them anyway."""

    def __init__(self, metrics: RoutedMetrics, now: dt.datetime, *, history: bool,
                 live: set[str] | None, focus: set[str] | None) -> None:
        super().__init__(metrics, now, history=history, live=live, focus=focus)
        self._routed = metrics
        self._gathered: dict[str, EndpointSnapshot] = {}

    def add(self, endpoint: EndpointSnapshot) -> None:
        self._gathered.setdefault(endpoint.key, endpoint)

    async def abort(self) -> None:
        self._gathered.clear()

    async def finish(self) -> MetricsPass:
        gathered = list(self._gathered.values())
        live = None if self._live is None else [e for e in gathered if e.key in self._live]
        focus = None if self._focus is None else [e for e in gathered if e.key in self._focus]
        return await self._routed.collect(gathered, self._now, self._history, live, focus)
