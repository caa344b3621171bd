"""CloudWatch metrics for the fleet: the lookback history once, then only what is new.

Three resolutions (see `ground.series`): whole-lookback statistics computed by CloudWatch, the
hourly shape over the lookback, and minute detail for the live window. Queries go out in
GetMetricData calls of at most 500, one call per shared time range, following NextToken pages; the
order datapoints come back in does not matter. Count series are zero where an endpoint that was
serving had no requests (CloudWatch publishes nothing then), never where we simply have no data:
only over the range a query was answered for, never for a query CloudWatch answered Forbidden or
InternalError (its StatusCode), and for an endpoint publishing every few minutes (MetricsConfig)
only on its own publish grid: its live minutes are asked at its publish period.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from collectors.aws import AwsContext
from collectors.failures import RECOVERABLE, collector_error
from collectors.fastparse import epoch_seconds
from collectors.state import MetricsState
from ground.catalog import spec_for
from ground.config import HistorySettings, RefreshSettings
from ground.domain import (
    SERVING_STATUSES,
    CollectorError,
    DeploymentOption,
    EndpointSnapshot,
    InferenceComponentSnapshot,
    MetricStore,
    empty_window_frame,
    is_component_column,
)
from ground.series import (
    COMPONENT_PRESENCE,
    INVOCATIONS_NS,
    Normalise,
    Scope,
    SeriesSource,
    SeriesSpec,
    Tier,
    series_for,
)
from ground.untrusted import inert

MAX_QUERIES_PER_CALL = 500
LIVE_OVERLAP = dt.timedelta(minutes=2)  # CloudWatch may publish the last minutes late
# MetricDataResult StatusCodes that are a failure, not an answer: no data must not be read in them.
FAILED_STATUS = frozenset({"Forbidden", "InternalError"})


@dataclass(frozen=True, slots=True)
class QueryTarget:
    endpoint_key: str
    variant: str
    series: str
    divisor: float
    is_count: bool
    group: str | None = None  # live series group, for the bookkeeping of what was asked
    additive: bool = False  # sub-bucket values add up (counts, sums, sample counts)
    # SampleCount of a utilisation metric: divided by the publish periods in its bucket it is
    # the mean number of instances (aws-facts.md 1.3).
    per_publish_period: bool = False
    publish_frequency_s: int = 60
    namespace: str = ""
    metric: str = ""


@dataclass(frozen=True, slots=True)
class _Answer:
    """What one query got back, with the range and period it was asked for.

    Compact: epoch seconds and values as float64 arrays (16 bytes a datapoint, where lists of
    datetimes and floats took ~90), folded in page by page as the answers arrive.
    """

    target: QueryTarget
    stamps: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]
    start: dt.datetime
    end: dt.datetime
    period: int


# One query's datapoints so far: the arrays of each page (joined once its call is done).
_Points = tuple[list[npt.NDArray[np.float64]], list[npt.NDArray[np.float64]]]


@dataclass
class _Batch:
    """Queries that share one time range and period, so they can share calls."""

    region: str
    tier: Tier
    start: dt.datetime
    end: dt.datetime
    period: int
    group: str | None = None  # live series group ("row" | "pane") when not merged
    queries: list[tuple[dict[str, Any], QueryTarget]] = field(default_factory=list)


@dataclass
class MetricsPass:
    errors: list[CollectorError] = field(default_factory=list)
    calls: int = 0
    queries: int = 0
    # Fewest calls the queries could travel in: one time range per call, 500 queries per call
    # (an endpoint publishing every 300 s has its own live time range, aligned to 5 minutes).
    minimum_calls: int = 0
    # Queries CloudWatch refused (StatusCode Forbidden / InternalError): region, status, the
    # result's messages and what was asked; reported once per metric at the end of the pass.
    refused: list[tuple[str, str, list[str], QueryTarget]] = field(default_factory=list)


def floor_to(moment: dt.datetime, seconds: int) -> dt.datetime:
    epoch = int(moment.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % seconds, dt.UTC)


def live_period_s(endpoint: EndpointSnapshot) -> int:
    """The live tier's period for an endpoint: a minute, or its publish period if longer.

    An endpoint whose MetricsConfig publishes every 300 s has one datapoint per 5 minutes; asked
    per minute, four minutes in five would look empty (and read as zero traffic).
    """
    frequency = max(60, endpoint.metric_publish_frequency_s)
    return -(-frequency // 60) * 60  # CloudWatch periods of a minute or more are whole minutes


def _divisor(source: SeriesSource, instance_type: str | None) -> float | None:
    if source.normalise in (Normalise.NONE, Normalise.PER_PUBLISH_PERIOD):
        return 1.0  # samples per instance depend on the bucket: divided when applied
    spec = spec_for(instance_type)
    if spec is None:
        return None
    if source.normalise is Normalise.PER_VCPU:
        return float(spec.vcpu)
    # GPU metrics exist for NVIDIA GPUs only: Inferentia and Trainium chips publish none.
    return float(spec.gpu_count) if spec.has_gpu else None


def plan_endpoint(endpoint: EndpointSnapshot, tier: Tier, group: str | None = None
                  ) -> list[tuple[dict[str, Any], QueryTarget]]:
    """The MetricStat queries for one endpoint at one resolution, with exact dimension sets."""
    planned: list[tuple[dict[str, Any], QueryTarget]] = []
    deployment = endpoint.deployment.value
    for spec in series_for(tier):
        if group is not None and spec.group != group:
            continue
        if spec.multi_variant_only and len(endpoint.variants) < 2:
            continue
        source = spec.source_for(deployment)
        if source is None:
            continue
        if source.scope is Scope.COMPONENT:
            planned += _component_queries(endpoint, spec, source)
            continue
        if (endpoint.deployment is DeploymentOption.INFERENCE_COMPONENTS
                and source.namespace == INVOCATIONS_NS):
            continue  # published per component, not per variant: asking would find nothing
        if source.scope is Scope.ENDPOINT:
            planned.append(_query(endpoint, "", spec, source, 1.0))
            continue
        for variant in endpoint.variants:
            gpu = (s := spec_for(variant.instance_type)) is not None and s.has_gpu
            if spec.gpu_only and not gpu:
                continue
            divisor = _divisor(source, variant.instance_type)
            if divisor is None:
                continue  # cannot normalise an unknown type; the collector reports it once
            planned.append(_query(endpoint, variant.name, spec, source, divisor))
    return planned


def _query(endpoint: EndpointSnapshot, variant: str, spec: SeriesSpec, source: SeriesSource,
           divisor: float) -> tuple[dict[str, Any], QueryTarget]:
    dimensions = [{"Name": "EndpointName", "Value": endpoint.name}]
    if variant:
        dimensions.append({"Name": "VariantName", "Value": variant})
    stat = {
        "Metric": {"Namespace": source.namespace, "MetricName": source.metric,
                   "Dimensions": dimensions},
        "Stat": source.stat,
    }
    target = QueryTarget(
        endpoint.key, variant, spec.name, divisor, source.is_count,
        spec.group if spec.tier is Tier.LIVE else None, additive=source.additive,
        per_publish_period=source.normalise is Normalise.PER_PUBLISH_PERIOD,
        publish_frequency_s=max(1, endpoint.metric_publish_frequency_s),
        namespace=source.namespace, metric=source.metric)
    return {"MetricStat": stat, "ReturnData": True}, target


def _component_queries(endpoint: EndpointSnapshot, spec: SeriesSpec, source: SeriesSource
                       ) -> list[tuple[dict[str, Any], QueryTarget]]:
    """One query per inference component, dims InferenceComponentName alone (as published)."""
    planned = []
    for component in endpoint.inference_components:
        if spec.gpu_only and not _component_has_gpu(endpoint, component):
            continue
        stat = {
            "Metric": {"Namespace": source.namespace, "MetricName": source.metric,
                       "Dimensions": [{"Name": "InferenceComponentName",
                                       "Value": component.name}]},
            "Stat": source.stat,
        }
        target = QueryTarget(
            endpoint.key, component.column, spec.name, 1.0, source.is_count,
            spec.group if spec.tier is Tier.LIVE else None, additive=source.additive,
            publish_frequency_s=max(1, endpoint.metric_publish_frequency_s),
            namespace=source.namespace, metric=source.metric)
        planned.append(({"MetricStat": stat, "ReturnData": True}, target))
    return planned


def _component_has_gpu(endpoint: EndpointSnapshot, component: InferenceComponentSnapshot
                       ) -> bool:
    variant = next((v for v in endpoint.variants if v.name == component.variant), None)
    spec = spec_for(variant.instance_type) if variant else None
    # Adapters ride on their base component's accelerators.
    wants = (component.resources.accelerators or 0) > 0 or component.base_component is not None
    return spec is not None and spec.has_gpu and wants


class MetricsCollector:
    """Keeps the fleet's series and fetches only what each endpoint is missing."""

    def __init__(self, aws: AwsContext, history: HistorySettings, refresh: RefreshSettings
                 ) -> None:
        self.aws = aws
        self.lookback = dt.timedelta(days=history.lookback_days)
        self.live_window = dt.timedelta(minutes=history.live_window_minutes)
        self.window_every = dt.timedelta(minutes=refresh.window_minutes)
        self._window: dict[tuple[str, str], dict[str, float]] = {}
        self._window_at: dict[str, dt.datetime] = {}
        self._hourly_until: dict[str, dt.datetime] = {}
        self._live_until: dict[str, dt.datetime] = {}
        self._hourly: dict[str, pd.DataFrame] = {}
        self._live: dict[str, pd.DataFrame] = {}
        self._window_range: tuple[dt.datetime, dt.datetime] | None = None
        self._semaphore = asyncio.Semaphore(4)
        self._reported_unknown: set[str] = set()
        self._variants: dict[str, tuple[str, ...]] = {}  # endpoint key -> variants last planned
        self._answered_until: dict[Tier, dt.datetime] = {}  # end of the newest bucket answered
        self.last_pass = MetricsPass()  # what the latest pass asked (the benchmark reads it)
        # Cross-account observability (collectors.oam): the account names whose metrics this
        # account reads as a CloudWatch monitoring account, with their ids for each query's
        # AccountId. Empty: every endpoint is the caller's own.
        self.source_accounts: dict[str, str] = {}

    # Public ----------------------------------------------------------------------------------

    def store(self) -> MetricStore:
        start, end = self._window_range or (None, None)
        return MetricStore(window=self._window_frame(), hourly=dict(self._hourly),
                           live=dict(self._live), window_start=start, window_end=end)

    def export_state(self) -> MetricsState:
        """The series and the ranges they cover, for the state store."""
        return MetricsState(
            window={pair: dict(row) for pair, row in self._window.items()},
            window_at=dict(self._window_at), window_range=self._window_range,
            hourly_until=dict(self._hourly_until), live_until=dict(self._live_until),
            answered_until={tier.value: at for tier, at in self._answered_until.items()},
            variants=dict(self._variants), hourly=dict(self._hourly), live=dict(self._live))

    def restore_state(self, state: MetricsState) -> None:
        """Before the first pass: each series is then asked only from where the store ends."""
        self._window = {pair: dict(row) for pair, row in state.window.items()}
        self._window_at = dict(state.window_at)
        self._window_range = state.window_range
        self._hourly_until = dict(state.hourly_until)
        self._live_until = dict(state.live_until)
        self._answered_until = {Tier(tier): at for tier, at in state.answered_until.items()
                                if tier in {t.value for t in Tier}}
        self._variants = dict(state.variants)
        self._hourly = dict(state.hourly)
        self._live = dict(state.live)

    def forget(self, keep: set[str]) -> None:
        """Drop endpoints that no longer exist, so the kept state stays bounded."""
        for pair in [p for p in self._window if p[0] not in keep]:
            del self._window[pair]
        for table in (self._window_at, self._hourly_until, self._live_until, self._variants):
            for key in [k for k in table if k.split("#", 1)[0] not in keep]:
                del table[key]
        for frames in (self._hourly, self._live):
            for name, frame in frames.items():
                drop = [c for c in frame.columns if c[0] not in keep]
                if drop:
                    frames[name] = frame.drop(columns=drop)

    async def collect(self, endpoints: list[EndpointSnapshot], now: dt.datetime,
                      history: bool = True, live: list[EndpointSnapshot] | None = None,
                      focus: list[EndpointSnapshot] | None = None) -> MetricsPass:
        """Bring the series of `endpoints` up to `now`.

        `history` covers the window statistics and the hourly shape (each only when due);
        `live` names the endpoints whose row series (traffic, errors, latency) to refresh by the
        minute, `focus` those whose utilisation too; both default to every endpoint.
        """
        # This collector's own pass, whatever `stream` a subclass routes elsewhere.
        stream = MetricsStream(self, now, history=history,
                               live=None if live is None else {e.key for e in live},
                               focus=None if focus is None else {e.key for e in focus})
        try:
            for endpoint in endpoints:
                stream.add(endpoint)
        except BaseException:
            await stream.abort()
            raise
        return await stream.finish()

    def stream(self, now: dt.datetime, *, history: bool = True, live: set[str] | None = None,
               focus: set[str] | None = None) -> MetricsStream:
        """A pass fed endpoint by endpoint as they are described: calls go out as they fill.

        `live` and `focus` are endpoint keys (None: every endpoint), as for `collect`.
        """
        return MetricsStream(self, now, history=history, live=live, focus=focus)

    # Planning (one endpoint at a time, as the inventory describes them) ----------------------

    def has_no_history(self, endpoint: EndpointSnapshot) -> bool:
        """Neither lookback statistics nor an hourly shape asked for it yet (new, or a variant
        added since)."""
        return endpoint.key not in self._window_at and endpoint.key not in self._hourly_until

    def _plan_window(self, endpoint: EndpointSnapshot, now: dt.datetime
                     ) -> tuple[dt.datetime, dt.datetime] | None:
        """The window's range when `endpoint`'s statistics are due (and marked asked)."""
        at = self._window_at.get(endpoint.key)
        if at is not None and now - at < self.window_every:
            return None
        end = floor_to(now, 60)
        start = end - self.lookback
        self._window_at[endpoint.key] = now
        self._window_range = (start, end)
        return start, end

    def _plan_hourly(self, endpoint: EndpointSnapshot, now: dt.datetime
                     ) -> tuple[dt.datetime, dt.datetime] | None:
        end = floor_to(now, 3600)  # complete hours only
        earliest = end - self.lookback
        start = max(self._hourly_until.get(endpoint.key, earliest), earliest)
        if start >= end:
            return None
        self._hourly_until[endpoint.key] = end
        return start, end

    def _plan_live(self, endpoint: EndpointSnapshot, now: dt.datetime, group: str
                   ) -> tuple[dt.datetime, dt.datetime] | None:
        period = live_period_s(endpoint)
        end = floor_to(now, period)  # complete buckets only
        earliest = floor_to(end - self.live_window, period)
        last = self._live_until.get(f"{endpoint.key}#{group}")
        start = earliest if last is None else max(floor_to(last - LIVE_OVERLAP, period),
                                                  earliest)
        if start >= end:
            return None
        self._live_until[f"{endpoint.key}#{group}"] = end
        return start, end

    def _report_unknown_types(self, endpoints: list[EndpointSnapshot], result: MetricsPass,
                              now: dt.datetime) -> None:
        for endpoint in endpoints:
            for variant in endpoint.variants:
                itype = variant.instance_type
                if itype and spec_for(itype) is None and itype not in self._reported_unknown:
                    self._reported_unknown.add(itype)
                    result.errors.append(CollectorError(
                        source="metrics", region=endpoint.region, operation=None, at=now,
                        message=f"instance type {itype} is not in the catalogue: its CPU and GPU "
                                "utilisation cannot be normalised per instance and are not shown"))

    # Fetching --------------------------------------------------------------------------------

    async def _run_call(self, batch: _Batch, collected: dict[Tier, list[_Answer]],
                        failed: dict[Tier, list[QueryTarget]], result: MetricsPass,
                        now: dt.datetime) -> None:
        """One GetMetricData call (and its NextToken pages) of at most 500 queries."""
        cloudwatch = await self.aws.client("cloudwatch", batch.region)
        queries = []
        targets: dict[str, QueryTarget] = {}
        for index, (query, target) in enumerate(batch.queries):
            query_id = f"q{index}"
            queries.append({"Id": query_id, **query,
                            "MetricStat": {**query["MetricStat"], "Period": batch.period}})
            targets[query_id] = target
        points: dict[str, _Points] = {}
        statuses: dict[str, tuple[str, list[str]]] = {}
        try:
            async with self._semaphore:
                await self._fetch_pages(cloudwatch, batch, queries, points, statuses, result)
        except RECOVERABLE as exc:
            result.errors.append(collector_error(exc, "metrics", batch.region, "cloudwatch",
                                                 "GetMetricData", now))
            self._forget_progress(batch, targets.values())
            return
        refused = [targets[i] for i in statuses if i in targets]
        if refused:
            # Forbidden or InternalError is no answer: nothing may be read from it (no
            # zeros, no progress), and it is asked again. The hourly and live series are
            # asked every pass anyway (a longer range costs datapoints, not queries); the
            # window only on its cadence, unless the refusal was transient: re-asking a
            # whole fleet's window every refresh for a missing permission would be billed.
            result.refused += [(batch.region, *statuses[i], targets[i])
                               for i in statuses if i in targets]
            failed[batch.tier] += refused
            self._forget_progress(batch, [
                targets[i] for i, (status, _) in statuses.items() if i in targets
                and (batch.tier is not Tier.WINDOW or status != "Forbidden")])
            for query_id in statuses:
                points.pop(query_id, None)
        answers = []
        for query_id, (stamp_pages, value_pages) in points.items():
            found = targets.get(query_id)
            if found is not None:
                answers.append(_Answer(found, _joined(stamp_pages), _joined(value_pages),
                                       batch.start, batch.end, batch.period))
        self._hold_progress_at_answers(batch, answers)
        collected[batch.tier] += answers

    async def _fetch_pages(self, cloudwatch: Any, batch: _Batch, queries: list[dict[str, Any]],
                           points: dict[str, _Points],
                           statuses: dict[str, tuple[str, list[str]]],
                           result: MetricsPass) -> None:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": batch.start,
                                      "EndTime": batch.end}
            if token:
                kwargs["NextToken"] = token
            response = await cloudwatch.get_metric_data(**kwargs)
            result.calls += 1
            result.queries += len(queries)
            # Each page is folded into compact arrays at once: the answer's lists of datetimes
            # and floats are let go page by page, not held for the whole pass.
            for item in response.get("MetricDataResults", []):
                status = str(item.get("StatusCode") or "Complete")
                if status in FAILED_STATUS:
                    messages = [str(m.get("Value") or m.get("Code") or "")
                                for m in item.get("Messages") or []]
                    statuses[item["Id"]] = (status, [m for m in messages if m])
                    continue
                # Epoch seconds and floats already (collectors.fastparse).
                stamp_pages, value_pages = points.setdefault(item["Id"], ([], []))
                stamp_pages.append(epoch_seconds(item.get("Timestamps")))
                value_pages.append(np.asarray(item.get("Values", ()), dtype=np.float64))
            token = response.get("NextToken")
            del response
            if not token:
                return

    def _restart_changed_variants(self, endpoints: list[EndpointSnapshot]) -> None:
        """Progress is kept per endpoint: a variant (or inference component) added or renamed
        starts from nothing.

        Without this, a variant added by an update would get no window statistics or history
        until the next window refresh, and only the minutes after it appeared.
        """
        for endpoint in endpoints:
            names = tuple(v.name for v in endpoint.variants) + tuple(
                c.column for c in endpoint.inference_components)
            if self._variants.get(endpoint.key, names) != names:
                self._window_at.pop(endpoint.key, None)
                self._hourly_until.pop(endpoint.key, None)
                for key in [k for k in self._live_until if k.split("#", 1)[0] == endpoint.key]:
                    del self._live_until[key]
            self._variants[endpoint.key] = names

    def _hold_progress_at_answers(self, batch: _Batch, answers: list[_Answer]) -> None:
        """Never count as fetched the buckets CloudWatch has not answered yet.

        With the machine's clock ahead of CloudWatch's (or metrics published late), the newest
        buckets asked for come back empty; progress stays at the newest bucket answered, so they
        are asked again next time instead of staying empty for good.
        """
        if batch.tier is Tier.WINDOW or not answers:
            return
        newest = [float(a.stamps.max()) for a in answers if len(a.stamps)]
        if newest:
            answered = (dt.datetime.fromtimestamp(max(newest), dt.UTC)
                        + dt.timedelta(seconds=batch.period))
            seen = self._answered_until.get(batch.tier)
            self._answered_until[batch.tier] = answered if seen is None else max(seen, answered)
        else:
            # Nothing at all: either the buckets are not complete at CloudWatch yet, or these
            # endpoints publish nothing. Only the first is worth asking again (queries are
            # billed), and only the newest bucket CloudWatch has answered so far tells them apart.
            seen = self._answered_until.get(batch.tier)
            if seen is None:
                return
            answered = max(seen, batch.start)
        if answered >= batch.end:
            return
        table = self._live_until if batch.tier is Tier.LIVE else self._hourly_until
        for target in (a.target for a in answers):
            key = (f"{target.endpoint_key}#{target.group}" if batch.tier is Tier.LIVE
                   else target.endpoint_key)
            if key in table and table[key] > answered:
                table[key] = answered

    def _forget_progress(self, batch: _Batch, targets: Any) -> None:
        """A failed call must be asked again next time, not silently skipped."""
        table = {Tier.WINDOW: self._window_at, Tier.HOURLY: self._hourly_until,
                 Tier.LIVE: self._live_until}[batch.tier]
        for target in targets:
            key = target.endpoint_key
            table.pop(f"{key}#{target.group}" if batch.tier is Tier.LIVE else key, None)

    # Applying --------------------------------------------------------------------------------

    def _apply_window(self, rows: list[_Answer], failed: list[QueryTarget],
                      endpoints: dict[str, EndpointSnapshot]) -> None:
        fresh: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
        for answer in rows:
            target = answer.target
            row = fresh[(target.endpoint_key, target.variant)]
            if len(answer.values):
                # One bucket is asked for; should CloudWatch split it, counts add up and
                # statistics keep the largest (a conservative reading of peaks).
                values = answer.values.tolist()  # summed in order, as floats always were
                value = sum(values) if target.additive else max(values)
                if target.per_publish_period:
                    endpoint = endpoints.get(target.endpoint_key)
                    start = answer.start if endpoint is None else max(
                        answer.start, endpoint.creation_time)
                    seconds = (answer.end - start).total_seconds()
                    if seconds <= 0:
                        continue
                    value = value / (seconds / target.publish_frequency_s)
                row[target.series] = value / target.divisor
            elif target.is_count:
                row[target.series] = np.nan  # decided below, once utilisation is known
        for target in failed:
            # Refused this time: the last answer stands (or nothing), never a zero.
            pair = (target.endpoint_key, target.variant)
            fresh[pair].pop(target.series, None)
            kept = self._window.get(pair, {}).get(target.series)
            if kept is not None and not np.isnan(kept):
                fresh[pair][target.series] = kept
        for (key, variant), row in fresh.items():
            endpoint = endpoints.get(key)
            serving = endpoint is not None and endpoint.status in SERVING_STATUSES
            utilisation_seen = any(
                not np.isnan(row.get(name, np.nan))
                for name in ("memory_max_pct", "cpu_max_pct", "model_latency_max_us",
                             "copy_cpu_p95_pct", "copy_memory_p95_pct"))
            for name, value in list(row.items()):
                if np.isnan(value) and serving and utilisation_seen:
                    row[name] = 0.0  # serving, measured, and nobody called: zero traffic
            self._window[(key, variant)] = row

    def _apply_series(self, frames: dict[str, pd.DataFrame], rows: list[_Answer],
                      endpoints: dict[str, EndpointSnapshot], tier: Tier, now: dt.datetime
                      ) -> None:
        if not rows:
            self._trim(frames, tier, now)
            return
        by_series: dict[str, list[_Answer]] = defaultdict(list)
        for row in rows:
            by_series[row.target.series].append(row)
        # The answers are let go series by series as each is applied, not all at the end: at
        # 10,000 endpoints they are hundreds of MB beside the frames being built.
        rows.clear()
        step = 3600 if tier is Tier.HOURLY else 60
        # Components' presence first: their count buckets are zero only where it has data.
        for name in sorted(by_series, key=lambda series: series != COMPONENT_PRESENCE):
            series_rows = by_series.pop(name)
            fresh = _wide_frame(series_rows, step)
            is_count = series_rows[0].target.is_count
            old = frames.get(name)
            merged = fresh if old is None or old.empty else _overlaid(fresh, old)
            if is_count:
                merged = self._zero_fill(merged, series_rows, endpoints, step, tier,
                                         frames.get(COMPONENT_PRESENCE))
            del series_rows, fresh
            # Already in time order as built (a sort would copy the frame once more).
            frames[name] = merged if merged.index.is_monotonic_increasing else merged.sort_index()
        self._trim(frames, tier, now)

    def _zero_fill(self, frame: pd.DataFrame, answers: list[_Answer],
                   endpoints: dict[str, EndpointSnapshot], step: int, tier: Tier,
                   presence: pd.DataFrame | None = None) -> pd.DataFrame:
        """Zero where a serving, measured endpoint was asked, answered, and had no datapoint.

        Only over the range each query was asked for and CloudWatch has answered (its newest
        bucket bounds the range when its clock is behind ours): a column not asked this time,
        or refused, keeps its gaps.
        """
        answered_until = self._answered_until.get(tier)
        ranges: dict[tuple[str, str], tuple[float, float]] = {}
        for answer in answers:
            target = answer.target
            endpoint = endpoints.get(target.endpoint_key)
            if endpoint is None or endpoint.status not in SERVING_STATUSES or not (
                    self._window.get((target.endpoint_key, target.variant), {}).get(
                        "memory_max_pct") is not None
                    or endpoint.deployment.value == "async"
                    or is_component_column(target.variant)):  # measured per bucket, below
                continue
            end = answer.end if answered_until is None else min(
                answer.end, max(answered_until, answer.start))
            # Minutes from the one the endpoint was created in (it may have served in it).
            start = max(answer.start, floor_to(endpoint.creation_time, step))
            if start < end:
                ranges[(target.endpoint_key, target.variant)] = (start.timestamp(),
                                                                 end.timestamp())
        if not ranges:
            return frame
        low = min(r[0] for r in ranges.values())
        high = max(r[1] for r in ranges.values())
        grid = pd.date_range(pd.Timestamp(low, unit="s", tz="UTC"),
                             pd.Timestamp(high, unit="s", tz="UTC"), freq=f"{step}s",
                             inclusive="left")
        frame = frame.reindex(frame.index.union(grid))
        columns = [(str(c[0]), str(c[1])) for c in frame.columns]
        starts = np.array([ranges.get(c, (np.inf, np.inf))[0] for c in columns])
        ends = np.array([ranges.get(c, (np.inf, np.inf))[1] for c in columns])
        # pandas infers a resolution per index: ask for seconds explicitly.
        stamps = pd.DatetimeIndex(frame.index).as_unit("s").asi8.astype("float64")
        inside = (stamps[:, None] >= starts[None, :]) & (stamps[:, None] < ends[None, :])
        mask = inside & frame.isna().to_numpy()
        mask &= self._measured_components(frame, columns, presence)
        values = frame.to_numpy(copy=True)
        values[mask] = 0.0
        return pd.DataFrame(values, index=frame.index, columns=frame.columns)

    @staticmethod
    def _measured_components(frame: pd.DataFrame, columns: list[tuple[str, str]],
                             presence: pd.DataFrame | None) -> npt.NDArray[np.bool_]:
        """Per bucket: True for variants, and for components only where their per-copy
        utilisation has a datapoint (a component scaled to zero copies publishes nothing)."""
        measured = np.ones(frame.shape, dtype=bool)
        for index, (key, column) in enumerate(columns):
            if not is_component_column(column):
                continue
            if presence is None or (key, column) not in presence.columns:
                measured[:, index] = False
                continue
            seen = presence[(key, column)].reindex(frame.index)
            measured[:, index] = seen.notna().to_numpy()
        return measured

    def _trim(self, frames: dict[str, pd.DataFrame], tier: Tier, now: dt.datetime) -> None:
        span = self.lookback if tier is Tier.HOURLY else self.live_window
        step = 3600 if tier is Tier.HOURLY else 60
        cutoff = pd.Timestamp(floor_to(now, step) - span)
        for name, frame in frames.items():
            if len(frame.index) and frame.index[0] < cutoff:
                frames[name] = frame.loc[frame.index >= cutoff]

    def _window_frame(self) -> pd.DataFrame:
        if not self._window:
            return empty_window_frame()
        index = pd.MultiIndex.from_tuples(list(self._window), names=["endpoint", "variant"])
        return pd.DataFrame(list(self._window.values()), index=index)


class MetricsStream:
    """One metrics pass fed endpoint by endpoint: each GetMetricData call goes out once full.

    Queries that share a region, resolution, end and period travel together, 500 to a call,
    whatever endpoint they come from: the calls are as few as if every endpoint had been known
    at once (the 500-query limit's minimum). A call's range starts at the earliest its queries
    need (asking more of an endpoint's past costs datapoints, not queries). What the calls
    answer is applied once the stream is finished, all resolutions together.
    """

    def __init__(self, collector: MetricsCollector, now: dt.datetime, *, history: bool,
                 live: set[str] | None, focus: set[str] | None) -> None:
        self._collector = collector
        self._now = now
        self._history = history
        self._live = live
        self._focus = focus
        self.result = MetricsPass()
        self._seen: set[str] = set()
        self._endpoints: dict[str, EndpointSnapshot] = {}
        # Queries waiting for their call, by (region, tier, end, period), each with its start.
        self._open: dict[tuple[str, Tier, dt.datetime, int],
                         list[tuple[dict[str, Any], QueryTarget, dt.datetime]]] = {}
        self._planned: dict[tuple[str, Tier, dt.datetime, int], int] = defaultdict(int)
        self._calls: list[asyncio.Task[None]] = []
        self._collected: dict[Tier, list[_Answer]] = defaultdict(list)
        self._failed: dict[Tier, list[QueryTarget]] = defaultdict(list)

    @property
    def calls_started(self) -> int:
        return len(self._calls)

    def add(self, endpoint: EndpointSnapshot) -> None:
        """Plan `endpoint`'s queries (once per pass) and send every call they fill."""
        if endpoint.key in self._seen:
            return
        self._seen.add(endpoint.key)
        collector, now = self._collector, self._now
        collector._report_unknown_types([endpoint], self.result, now)
        if not endpoint.described:
            return  # no variants known yet: nothing to ask
        collector._restart_changed_variants([endpoint])
        self._endpoints[endpoint.key] = endpoint
        row = self._live is None or endpoint.key in self._live
        if self._history and (row or collector.has_no_history(endpoint)):
            # The lookback statistics and hourly shape of the whole fleet are brought up to
            # date by whole-fleet refreshes (a restored store counts as one); rows on screen,
            # and endpoints with none yet, at any refresh. Each tier is asked only when due.
            if (span := collector._plan_window(endpoint, now)) is not None:
                self._queue(endpoint, Tier.WINDOW, span, int(collector.lookback.total_seconds()))
            if (span := collector._plan_hourly(endpoint, now)) is not None:
                self._queue(endpoint, Tier.HOURLY, span, 3600)
        pane = row if self._focus is None else endpoint.key in self._focus
        for group, wanted in (("row", row), ("pane", pane)):
            if wanted and (span := collector._plan_live(endpoint, now, group)) is not None:
                self._queue(endpoint, Tier.LIVE, span, live_period_s(endpoint), group)

    def _queue(self, endpoint: EndpointSnapshot, tier: Tier,
               span: tuple[dt.datetime, dt.datetime], period: int, group: str | None = None
               ) -> None:
        start, end = span
        key = (endpoint.region, tier, end, period)
        waiting = self._open.setdefault(key, [])
        planned = plan_endpoint(endpoint, tier, group)
        source = self._collector.source_accounts.get(endpoint.account or "")
        if source is not None:
            # A linked account's, asked by its monitoring account: endpoint keys carry the
            # account, so query Ids and series stay apart.
            planned = [({**query, "AccountId": source}, target) for query, target in planned]
        waiting += [(query, target, start) for query, target in planned]
        self._planned[key] += len(planned)
        while len(waiting) >= MAX_QUERIES_PER_CALL:
            self._send(key, waiting[:MAX_QUERIES_PER_CALL])
            del waiting[:MAX_QUERIES_PER_CALL]

    def _send(self, key: tuple[str, Tier, dt.datetime, int],
              queries: list[tuple[dict[str, Any], QueryTarget, dt.datetime]]) -> None:
        region, tier, end, period = key
        batch = _Batch(region, tier, min(start for _, _, start in queries), end, period,
                       queries=[(query, target) for query, target, _ in queries])
        self._calls.append(asyncio.ensure_future(self._collector._run_call(
            batch, self._collected, self._failed, self.result, self._now)))

    async def finish(self) -> MetricsPass:
        """Send what is left, wait for every call, apply the answers: the pass's result."""
        collector, result = self._collector, self.result
        for key, waiting in self._open.items():
            if waiting:
                self._send(key, waiting)
        self._open.clear()
        result.minimum_calls = sum(-(-n // MAX_QUERIES_PER_CALL) for n in self._planned.values())
        try:
            await asyncio.gather(*self._calls)
        except BaseException:
            await self.abort()
            raise
        result.errors += _status_errors(result.refused, self._now)
        collector.last_pass = result
        by_key = self._endpoints
        collector._apply_window(self._collected[Tier.WINDOW], self._failed[Tier.WINDOW], by_key)
        collector._apply_series(collector._hourly, self._collected[Tier.HOURLY], by_key,
                                Tier.HOURLY, self._now)
        collector._apply_series(collector._live, self._collected[Tier.LIVE], by_key, Tier.LIVE,
                                self._now)
        return result

    async def abort(self) -> None:
        """The collection failed elsewhere: stop the calls in flight, apply nothing."""
        for call in self._calls:
            call.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)


def _overlaid(fresh: pd.DataFrame, old: pd.DataFrame) -> pd.DataFrame:
    """`fresh.combine_first(old)` for float frames, in one array operation: pandas combines
    column by column, which at 10,000 endpoints (tens of thousands of columns) dominated
    every refresh."""
    index = fresh.index.union(old.index)
    columns = fresh.columns.union(old.columns)
    new = fresh.reindex(index=index, columns=columns).to_numpy(dtype=np.float64)
    kept = old.reindex(index=index, columns=columns).to_numpy(dtype=np.float64)
    return pd.DataFrame(np.where(np.isnan(new), kept, new), index=index, columns=columns)


def _joined(pages: list[npt.NDArray[np.float64]]) -> npt.NDArray[np.float64]:
    if len(pages) == 1:
        return pages[0]
    return np.concatenate(pages) if pages else np.empty(0, dtype=np.float64)


def _wide_frame(answers: list[_Answer], step: int) -> pd.DataFrame:
    """One series' answers as a frame: a row per timestamp, a column per (endpoint, variant).

    Built from the answers' arrays directly (a long frame pivoted cost seconds at 1,000
    endpoints): columns with datapoints in the order answered, then those asked that had none; where
    one timestamp of a column comes back twice, the later answer stands.
    """
    stamps_of: dict[tuple[str, str], list[npt.NDArray[np.float64]]] = {}
    values_of: dict[tuple[str, str], list[npt.NDArray[np.float64]]] = {}
    for answer in answers:
        target = answer.target
        column = (target.endpoint_key, target.variant)
        divisor = target.divisor
        if target.per_publish_period:
            divisor *= answer.period / target.publish_frequency_s
        # A bucket longer than the frame's step (a coarse publisher's live minutes) covers
        # several rows: counts spread as the mean per row, others repeat.
        rows_per_bucket = max(1, answer.period // step)
        if rows_per_bucket > 1 and target.additive:
            divisor *= rows_per_bucket
        stamps, values = answer.stamps, answer.values / divisor
        if rows_per_bucket > 1:
            offsets = np.arange(rows_per_bucket, dtype=np.float64) * step
            stamps = (stamps[:, None] + offsets[None, :]).ravel()
            values = np.repeat(values, rows_per_bucket)
        stamps_of.setdefault(column, []).append(stamps)
        values_of.setdefault(column, []).append(values)
    filled = [c for c, pages in stamps_of.items() if sum(len(p) for p in pages)]
    has_data = set(filled)
    empty = [c for c in stamps_of if c not in has_data]
    columns: list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = []
    for column in filled:
        stamps, values = _joined(stamps_of[column]), _joined(values_of[column])
        if len(np.unique(stamps)) < len(stamps):
            # The last of each timestamp: first seen from the end.
            _, last = np.unique(stamps[::-1], return_index=True)
            keep = np.sort(len(stamps) - 1 - last)
            stamps, values = stamps[keep], values[keep]
        columns.append((stamps, values))
    index = np.unique(np.concatenate([s for s, _ in columns])) if columns else np.empty(0)
    grid = np.full((len(index), len(filled) + len(empty)), np.nan)
    for position, (stamps, values) in enumerate(columns):
        grid[np.searchsorted(index, stamps), position] = values
    return pd.DataFrame(
        grid,
        index=pd.DatetimeIndex(pd.to_datetime(index.astype("float64"), unit="s", utc=True),
                               name="timestamp"),
        columns=pd.MultiIndex.from_tuples([*filled, *empty], names=["endpoint", "variant"]))


def _status_errors(refused: list[tuple[str, str, list[str], QueryTarget]], now: dt.datetime
                   ) -> list[CollectorError]:
    """One error per refused metric and region (not per query, nor per resolution): a thousand
    endpoints refused the same metric make one line."""
    grouped: dict[tuple[str, str, str, str], list[tuple[QueryTarget, list[str]]]] = \
        defaultdict(list)
    for region, status, messages, target in refused:
        grouped[(region, status, target.namespace, target.metric)].append((target, messages))
    errors: list[CollectorError] = []
    for (region, status, namespace, metric), found in sorted(grouped.items()):
        first, messages = found[0]
        where = f"{first.endpoint_key}" + (f" {first.variant}" if first.variant else "")
        others = {(t.endpoint_key, t.variant) for t, _ in found} - {(first.endpoint_key,
                                                                    first.variant)}
        more = f" and {len(others)} more" if others else ""
        said = f": {inert(messages[0], one_line=True)}" if messages else ""
        # The wording `describe` uses, so permission and transience are judged alike.
        what = ("no permission for cloudwatch:GetMetricData (StatusCode Forbidden)"
                if status == "Forbidden"
                else f"cloudwatch:GetMetricData failed: {status} (StatusCode)")
        errors.append(CollectorError(
            source="metrics", region=region, operation="GetMetricData", at=now,
            permission=status == "Forbidden",
            message=f"{what} on {metric} in {namespace} for {where}{more}{said}; "
                    "kept as unknown, not zero"))
    return errors
