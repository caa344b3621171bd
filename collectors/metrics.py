"""CloudWatch metrics for the fleet: the lookback history once, then only what is new.

Three resolutions (see `ground.series`): whole-lookback statistics computed by CloudWatch, the
hourly shape over the lookback, and minute detail for the live window. Queries go out in
GetMetricData calls of at most 500, one call per shared time range, following NextToken pages; the
order datapoints come back in does not matter. Count series are zero where an endpoint that was
serving had no requests (CloudWatch publishes nothing then), never where we simply have no data.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from collectors.aws import AwsContext
from collectors.failures import RECOVERABLE, collector_error
from ground.catalog import spec_for
from ground.domain import CollectorError, EndpointSnapshot, MetricStore, empty_window_frame
from ground.series import Normalise, Scope, SeriesSource, SeriesSpec, Tier, series_for

MAX_QUERIES_PER_CALL = 500
LIVE_OVERLAP = dt.timedelta(minutes=2)  # CloudWatch may publish the last minutes late
SERVING = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack"})


@dataclass(frozen=True)
class QueryTarget:
    endpoint_key: str
    variant: str
    series: str
    divisor: float
    is_count: bool
    group: str | None = None  # live series group, for the bookkeeping of what was asked


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


def _merged(batches: list[_Batch]) -> list[_Batch]:
    """Batches that share a region, tier and time range travel together: calls stay full."""
    merged: dict[tuple[str, Tier, dt.datetime, dt.datetime, int], _Batch] = {}
    for batch in batches:
        key = (batch.region, batch.tier, batch.start, batch.end, batch.period)
        if key in merged:
            merged[key].queries.extend(batch.queries)
        else:
            merged[key] = batch
    return list(merged.values())


def floor_to(moment: dt.datetime, seconds: int) -> dt.datetime:
    epoch = int(moment.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % seconds, dt.UTC)


def _divisor(source: SeriesSource, instance_type: str | None) -> float | None:
    if source.normalise is Normalise.NONE:
        return 1.0
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
    target = QueryTarget(endpoint.key, variant, spec.name, divisor, source.is_count,
                         spec.group if spec.tier is Tier.LIVE else None)
    return {"MetricStat": stat, "ReturnData": True}, target


class MetricsCollector:
    """Keeps the fleet's series and fetches only what each endpoint is missing."""

    def __init__(self, aws: AwsContext) -> None:
        self.aws = aws
        history = aws.config.history
        self.lookback = dt.timedelta(days=history.lookback_days)
        self.live_window = dt.timedelta(minutes=history.live_window_minutes)
        self.window_every = dt.timedelta(minutes=aws.config.refresh.window_minutes)
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

    # Public ----------------------------------------------------------------------------------

    def store(self) -> MetricStore:
        start, end = self._window_range or (None, None)
        return MetricStore(window=self._window_frame(), hourly=dict(self._hourly),
                           live=dict(self._live), window_start=start, window_end=end)

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
        result = MetricsPass()
        self._report_unknown_types(endpoints, result, now)
        endpoints = [e for e in endpoints if e.described]  # no variants known yet: nothing to ask
        self._restart_changed_variants(endpoints)
        batches: list[_Batch] = []
        if history:
            batches += self._plan_window(endpoints, now)
            batches += self._plan_hourly(endpoints, now)
        row = endpoints if live is None else [e for e in live if e.described]
        pane = row if focus is None else [e for e in focus if e.described]
        batches += self._plan_live(row, now, "row")
        batches += self._plan_live(pane, now, "pane")
        batches = _merged(batches)
        collected: dict[Tier, list[tuple[QueryTarget, list[dt.datetime], list[float]]]] = \
            defaultdict(list)
        await asyncio.gather(*(self._run_batch(b, collected, result, now) for b in batches))
        by_key = {e.key: e for e in endpoints}
        self._apply_window(collected[Tier.WINDOW], by_key)
        self._apply_series(self._hourly, collected[Tier.HOURLY], by_key, Tier.HOURLY, now)
        self._apply_series(self._live, collected[Tier.LIVE], by_key, Tier.LIVE, now)
        return result

    # Planning --------------------------------------------------------------------------------

    def _plan_window(self, endpoints: list[EndpointSnapshot], now: dt.datetime) -> list[_Batch]:
        end = floor_to(now, 60)
        start = end - self.lookback
        due = [e for e in endpoints if (at := self._window_at.get(e.key)) is None
               or now - at >= self.window_every]
        for endpoint in due:
            self._window_at[endpoint.key] = now
        if due:
            self._window_range = (start, end)
        return self._batches(due, Tier.WINDOW, start, end, int(self.lookback.total_seconds()))

    def _plan_hourly(self, endpoints: list[EndpointSnapshot], now: dt.datetime) -> list[_Batch]:
        end = floor_to(now, 3600)  # complete hours only
        earliest = end - self.lookback
        due: list[EndpointSnapshot] = []
        since = end
        for endpoint in endpoints:
            start = max(self._hourly_until.get(endpoint.key, earliest), earliest)
            if start < end:
                due.append(endpoint)
                since = min(since, start)
                self._hourly_until[endpoint.key] = end
        # One time range for all: calls stay full (500 queries) at the price of a few hours
        # asked twice for endpoints that were more up to date than others.
        return self._batches(due, Tier.HOURLY, since, end, 3600) if due else []

    def _plan_live(self, endpoints: list[EndpointSnapshot], now: dt.datetime,
                   group: str) -> list[_Batch]:
        end = floor_to(now, 60)  # complete minutes only
        earliest = end - self.live_window
        due: list[EndpointSnapshot] = []
        since = end
        for endpoint in endpoints:
            last = self._live_until.get(f"{endpoint.key}#{group}")
            start = earliest if last is None else max(last - LIVE_OVERLAP, earliest)
            if start < end:
                due.append(endpoint)
                since = min(since, start)
                self._live_until[f"{endpoint.key}#{group}"] = end
        return self._batches(due, Tier.LIVE, since, end, 60, group) if due else []

    def _batches(self, endpoints: list[EndpointSnapshot], tier: Tier, start: dt.datetime,
                 end: dt.datetime, period: int, group: str | None = None) -> list[_Batch]:
        by_region: dict[str, _Batch] = {}
        for endpoint in endpoints:
            batch = by_region.get(endpoint.region)
            if batch is None:
                batch = by_region[endpoint.region] = _Batch(endpoint.region, tier, start, end,
                                                            period, group)
            batch.queries.extend(plan_endpoint(endpoint, tier, group))
        return [b for b in by_region.values() if b.queries]

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

    async def _run_batch(self, batch: _Batch, collected: dict[Tier, list[Any]],
                         result: MetricsPass, now: dt.datetime) -> None:
        cloudwatch = await self.aws.client("cloudwatch", batch.region)
        for offset in range(0, len(batch.queries), MAX_QUERIES_PER_CALL):
            chunk = batch.queries[offset:offset + MAX_QUERIES_PER_CALL]
            queries = []
            targets: dict[str, QueryTarget] = {}
            for index, (query, target) in enumerate(chunk):
                query_id = f"q{index}"
                queries.append({"Id": query_id, **query,
                                "MetricStat": {**query["MetricStat"], "Period": batch.period}})
                targets[query_id] = target
            points: dict[str, tuple[list[dt.datetime], list[float]]] = {}
            try:
                async with self._semaphore:
                    await self._fetch_pages(cloudwatch, batch, queries, points, result)
            except RECOVERABLE as exc:
                result.errors.append(collector_error(exc, "metrics", batch.region, "cloudwatch",
                                                     "GetMetricData", now))
                self._forget_progress(batch, targets.values())
                continue
            self._hold_progress_at_answers(batch, targets.values(), points)
            for query_id, (stamps, values) in points.items():
                found = targets.get(query_id)
                if found is not None:
                    collected[batch.tier].append((found, stamps, values))

    async def _fetch_pages(self, cloudwatch: Any, batch: _Batch, queries: list[dict[str, Any]],
                           points: dict[str, tuple[list[dt.datetime], list[float]]],
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
            for item in response.get("MetricDataResults", []):
                stamps, values = points.setdefault(item["Id"], ([], []))
                stamps.extend(item.get("Timestamps", []))
                values.extend(item.get("Values", []))
            token = response.get("NextToken")
            if not token:
                return

    def _restart_changed_variants(self, endpoints: list[EndpointSnapshot]) -> None:
        """Progress is kept per endpoint: a variant added (or renamed) starts from nothing.

        Without this, a variant added by an update would get no window statistics or history
        until the next window refresh, and only the minutes after it appeared.
        """
        for endpoint in endpoints:
            names = tuple(v.name for v in endpoint.variants)
            if self._variants.get(endpoint.key, names) != names:
                self._window_at.pop(endpoint.key, None)
                self._hourly_until.pop(endpoint.key, None)
                for key in [k for k in self._live_until if k.split("#", 1)[0] == endpoint.key]:
                    del self._live_until[key]
            self._variants[endpoint.key] = names

    def _hold_progress_at_answers(self, batch: _Batch, targets: Any,
                                  points: dict[str, tuple[list[dt.datetime], list[float]]]
                                  ) -> None:
        """Never count as fetched the buckets CloudWatch has not answered yet.

        With the machine's clock ahead of CloudWatch's (or metrics published late), the newest
        buckets asked for come back empty; progress stays at the newest bucket answered, so they
        are asked again next time instead of staying empty for good.
        """
        if batch.tier is Tier.WINDOW:
            return
        newest = [max(stamps) for stamps, _ in points.values() if stamps]
        if newest:
            answered = max(newest) + dt.timedelta(seconds=batch.period)
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
        for target in targets:
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

    def _apply_window(self, rows: list[tuple[QueryTarget, list[dt.datetime], list[float]]],
                      endpoints: dict[str, EndpointSnapshot]) -> None:
        fresh: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
        for target, _, values in rows:
            row = fresh[(target.endpoint_key, target.variant)]
            if values:
                # One bucket is asked for; should CloudWatch split it, counts add up and
                # statistics keep the largest (a conservative reading of peaks).
                value = sum(values) if target.is_count else max(values)
                row[target.series] = value / target.divisor
            elif target.is_count:
                row[target.series] = np.nan  # decided below, once utilisation is known
        for (key, variant), row in fresh.items():
            endpoint = endpoints.get(key)
            serving = endpoint is not None and endpoint.status in SERVING
            utilisation_seen = any(
                not np.isnan(row.get(name, np.nan))
                for name in ("memory_max_pct", "cpu_max_pct", "model_latency_max_us"))
            for name, value in list(row.items()):
                if np.isnan(value) and serving and utilisation_seen:
                    row[name] = 0.0  # serving, measured, and nobody called: zero traffic
            self._window[(key, variant)] = row

    def _apply_series(self, frames: dict[str, pd.DataFrame],
                      rows: list[tuple[QueryTarget, list[dt.datetime], list[float]]],
                      endpoints: dict[str, EndpointSnapshot], tier: Tier, now: dt.datetime
                      ) -> None:
        if not rows:
            self._trim(frames, tier, now)
            return
        by_series: dict[str, list[tuple[QueryTarget, list[dt.datetime], list[float]]]] = \
            defaultdict(list)
        for row in rows:
            by_series[row[0].series].append(row)
        step = 3600 if tier is Tier.HOURLY else 60
        for name, series_rows in by_series.items():
            keys: list[str] = []
            variants: list[str] = []
            stamps: list[float] = []
            values: list[float] = []
            asked: list[tuple[str, str]] = []
            is_count = series_rows[0][0].is_count
            for target, ts, vs in series_rows:
                asked.append((target.endpoint_key, target.variant))
                keys.extend([target.endpoint_key] * len(ts))
                variants.extend([target.variant] * len(ts))
                stamps.extend(t.timestamp() for t in ts)
                values.extend(v / target.divisor for v in vs)
            long = pd.DataFrame({
                "endpoint": keys, "variant": variants,
                "timestamp": pd.to_datetime(np.asarray(stamps, dtype="float64"), unit="s",
                                            utc=True),
                "value": np.asarray(values, dtype="float64"),
            }).drop_duplicates(["endpoint", "variant", "timestamp"], keep="last")
            fresh = long.pivot(index="timestamp", columns=["endpoint", "variant"],
                               values="value")
            missing = [c for c in asked if c not in fresh.columns]
            if missing:
                fresh = fresh.reindex(columns=fresh.columns.append(
                    pd.MultiIndex.from_tuples(missing, names=["endpoint", "variant"])))
            old = frames.get(name)
            merged = fresh if old is None or old.empty else fresh.combine_first(old)
            if is_count:
                merged = self._zero_fill(merged, endpoints, step, now, tier, set(asked))
            frames[name] = merged.sort_index()
        self._trim(frames, tier, now)

    def _zero_fill(self, frame: pd.DataFrame, endpoints: dict[str, EndpointSnapshot], step: int,
                   now: dt.datetime, tier: Tier, asked: set[tuple[str, str]]) -> pd.DataFrame:
        """Zero where a serving endpoint was asked and nobody called.

        Only the columns asked in this pass, and only up to the newest bucket CloudWatch has
        answered: a row not refreshed since (off screen) keeps its gap, so the table shows its
        last reading and that reading's age rather than a zero nobody measured.
        """
        end = floor_to(now, step)
        span = self.lookback if tier is Tier.HOURLY else self.live_window
        grid = pd.date_range(end - span, end, freq=f"{step}s", inclusive="left", tz="UTC")
        frame = frame.reindex(frame.index.union(grid))
        columns: list[tuple[str, str]] = [(str(c[0]), str(c[1])) for c in frame.columns]
        fill = []
        for key, variant in columns:
            endpoint = endpoints.get(key)
            serving = (key, variant) in asked and endpoint is not None and (
                endpoint.status in SERVING) and (
                self._window.get((key, variant), {}).get("memory_max_pct") is not None
                or endpoint.deployment.value == "async")
            fill.append(serving)
        if not any(fill):
            return frame
        created = np.array([
            (endpoints[k].creation_time.timestamp() if k in endpoints else np.inf)
            for k, _ in columns])
        # pandas infers a resolution per index: ask for seconds explicitly.
        stamps = pd.DatetimeIndex(frame.index).as_unit("s").asi8.astype("float64")
        after_creation = stamps[:, None] >= created[None, :] - step
        answered = self._answered_until.get(tier)
        limit = end if answered is None else min(end, answered)
        answered_rows = (stamps < limit.timestamp())[:, None]
        mask = after_creation & answered_rows & np.array(fill)[None, :] & frame.isna().to_numpy()
        values = frame.to_numpy(copy=True)
        values[mask] = 0.0
        return pd.DataFrame(values, index=frame.index, columns=frame.columns)

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
