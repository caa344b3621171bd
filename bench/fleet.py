#!/usr/bin/env python3
"""Fleet-scale benchmark: the real collectors, advisors and fleet table against the simulated
account, with per-request latency and the real GetMetricData quota, and in the same run a naive
baseline (every metric of every endpoint, one request each, every minute).

    python bench/fleet.py --endpoints 1000            # a readable table
    python bench/fleet.py --endpoints 100,1000,5000 --json

Figures are wall-clock on this machine, in one process: the simulated account's own work
(generating and encoding metrics) runs on the same cores and is reported as `sim_cpu_s` so it can
be told apart from sagetop's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import json
import math
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from advisors.registry import run_advisors
from collectors.aws import AwsContext, AwsTarget
from collectors.fleet import FleetCollector
from collectors.metrics import MAX_QUERIES_PER_CALL, plan_endpoint
from ground.config import SagetopConfig
from ground.domain import EndpointSnapshot
from ground.series import Tier
from pipeline.analysis import Analyst
from pipeline.live import Collected, Listing, LiveSession
from simulator import SimulatedAccount

USD_PER_METRIC = 0.01 / 1000


class SimClock:
    """Simulated time shared by the account and the collectors: an hour passes in seconds."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)

    async def pause(self, seconds: float, wake: asyncio.Event) -> None:
        """The live session's wait between refreshes, in simulated time: the time passes at once
        (unless something asked for a refresh now, as the app's wait would end early too)."""
        if not wake.is_set():
            self.advance(seconds)


def _requests(counter: Counter[str]) -> int:
    return sum(counter.values())


def _delta(after: Counter[str], before: Counter[str]) -> Counter[str]:
    return Counter({k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)})


async def _table_apply_ms(analysis_first: Any, analysis_next: Any) -> float | None:
    """Event-loop time to apply a refresh to the dashboard's fleet table (headless Textual)."""
    try:
        from tui_support import table_apply_seconds
    except ImportError:
        return None
    seconds: float = await table_apply_seconds(analysis_first, analysis_next)
    return seconds * 1000


async def _key_presses(endpoints: int, latency_ms: float, tps: float, seed: int
                       ) -> dict[str, Any]:
    """Key presses on the real app during its first load (the heaviest polling there is)."""
    from tui_support import key_press_seconds

    account = SimulatedAccount(endpoints=endpoints, seed=seed, latency_s=latency_ms / 1000,
                               getmetricdata_tps=tps)
    target = AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)
    config = SagetopConfig()
    session = LiveSession(AwsContext(config.aws, target, config.cost), config.refresh,
                          config.history)
    lags = sorted(await key_press_seconds(session))
    return {"key_press_median_ms": round(1000 * statistics.median(lags), 1),
            "key_press_p95_ms": round(1000 * lags[int(0.95 * (len(lags) - 1))], 1),
            "key_press_max_ms": round(1000 * lags[-1], 1)}


async def bench(endpoints: int, latency_ms: float, tps: float, seed: int, visible: int,
                naive_sample: int, soak_hours: float) -> dict[str, Any]:
    clock = SimClock()
    account = SimulatedAccount(endpoints=endpoints, seed=seed, latency_s=latency_ms / 1000,
                               getmetricdata_tps=tps, clock=clock)
    config = SagetopConfig()
    target = AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)
    result: dict[str, Any] = {"endpoints": endpoints, "latency_ms": latency_ms,
                              "getmetricdata_tps": tps, "lookback_days":
                              config.history.lookback_days}
    async with AwsContext(config.aws, target, config.cost) as aws:
        collector = FleetCollector(aws, config.refresh, config.history, clock=clock)
        analyst = Analyst()
        ledger = aws.ledger

        # First load, as the dashboard does it: rows from the listing, then everything but the
        # per-instance utilisation minutes, which only an open pane asks for.
        started = time.perf_counter()
        listing = await collector.collect_listing()
        result["first_rows_s"] = round(time.perf_counter() - started, 3)
        fleet = await collector.collect(force=True, focus=[])
        analysis = analyst.analyse(fleet)
        result["full_fleet_s"] = round(time.perf_counter() - started, 3)
        assert len(listing.endpoints) == endpoints == len(fleet.endpoints)
        result["first_load_requests"] = ledger.total_requests()
        result["first_load_describes"] = sum(v for k, v in ledger.requests.items()
                                             if ":Describe" in k)
        result["datapoints_first_per_endpoint"] = round(
            ledger.datapoints_received / endpoints, 1)
        result["cw_usd_first_load"] = round(ledger.metrics_requested * USD_PER_METRIC, 4)
        result["sim_cpu_s"] = round(account.busy_seconds, 3)
        # In a real account AWS does the simulated account's work on its own machines.
        result["full_fleet_minus_sim_s"] = round(result["full_fleet_s"] - account.busy_seconds, 3)

        # Advisor pass over the whole fleet (median of three).
        requirements = analyst.requirements(fleet)
        passes = []
        for _ in range(3):
            tick = time.perf_counter()
            run_advisors(fleet, analyst.settings.advisors, analyst.price_book, requirements,
                         fleet.collected_at)
            passes.append(time.perf_counter() - tick)
        result["advisor_pass_s"] = round(statistics.median(passes), 3)
        tick = time.perf_counter()
        analyst.analyse(fleet)
        result["analysis_pass_s"] = round(time.perf_counter() - tick, 3)

        # A steady-state refresh of the whole fleet one minute later: nothing changed.
        clock.advance(60)
        before = Counter(ledger.calls)
        retries_before = ledger.total_requests() - sum(ledger.calls.values())
        points_before, metrics_before = ledger.datapoints_received, ledger.metrics_requested
        refreshed = await collector.collect(live=None, focus=[])
        spent = _delta(ledger.calls, before)
        queries = ledger.metrics_requested - metrics_before
        result["refresh_requests"] = _requests(spent)
        result["refresh_retries"] = (ledger.total_requests() - sum(ledger.calls.values())
                                     - retries_before)
        # 500 queries a call, one time range a call (an endpoint publishing every 300 s has
        # its own, aligned to 5 minutes): the collector's own count of the fewest calls.
        result["refresh_requests_min"] = max(math.ceil(queries / MAX_QUERIES_PER_CALL),
                                             collector.metrics.last_pass.minimum_calls)
        result["refresh_describes"] = sum(v for k, v in spent.items() if ":Describe" in k)
        result["datapoints_refresh_per_endpoint"] = round(
            (ledger.datapoints_received - points_before) / endpoints, 1)

        # Inventory five minutes on: ListEndpoints only, no Describe when nothing changed.
        clock.advance(240)
        before = Counter(ledger.requests)
        await collector.collect(live=[], focus=[])
        spent = _delta(ledger.requests, before)
        result["inventory_refresh_describes"] = sum(v for k, v in spent.items()
                                                    if ":Describe" in k)

        result["table_apply_ms"] = await _table_apply_ms(analysis, analyst.analyse(refreshed))

    inventory = fleet.endpoints
    endpoint_keys = sorted(e.key for e in inventory)
    # The live hours' session (and its own account) keep their own state: let these go first.
    del collector, analysis, refreshed, listing, fleet, analyst, requirements, account, target, aws
    gc.collect()
    result.update(await live_hours(endpoints, latency_ms, tps, seed, endpoint_keys[:visible],
                                   soak_hours))

    result.update(await _key_presses(endpoints, latency_ms, tps, seed))
    result.update(await naive_baseline(endpoints, latency_ms, seed, inventory, naive_sample))
    result["naive_to_sagetop_cost_ratio"] = round(
        result["naive_cw_usd_per_hour"] / result["cw_usd_per_hour"], 1) \
        if result.get("cw_usd_per_hour") else None
    result["peak_rss_mb"] = round(_rss_mb(peak=True), 1)
    return result


async def live_hours(endpoints: int, latency_ms: float, tps: float, seed: int,
                     on_screen: list[str], soak_hours: float) -> dict[str, Any]:
    """Live use at the default settings, driven through the dashboard's own LiveSession on a
    simulated clock: `on_screen` rows visible and the first of them open in its pane, as the
    app tells the session. Its CloudWatch figures are the app's by construction."""
    clock = SimClock()
    account = SimulatedAccount(endpoints=endpoints, seed=seed, latency_s=latency_ms / 1000,
                               getmetricdata_tps=tps, clock=clock)
    config = SagetopConfig()
    target = AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)
    session = LiveSession(AwsContext(config.aws, target, config.cost), config.refresh,
                          config.history, clock=clock, pause=clock.pause)
    ledger = session.aws.ledger
    result: dict[str, Any] = {}
    hour_started: dt.datetime | None = None
    metrics_before = refreshes = whole_fleet = 0
    soak_rss: list[float] = []
    async with contextlib.aclosing(session.events()) as events:
        async for event in events:
            if isinstance(event, Listing):
                session.show(on_screen)
                session.open(on_screen[0] if on_screen else None)
            if not isinstance(event, Collected):
                continue
            if hour_started is None:  # the first load is measured above: the hour starts now
                hour_started, metrics_before = clock.now, ledger.metrics_requested
                gc.collect()
                result["rss_after_first_load_mb"] = round(_rss_mb(), 1)
                continue
            refreshes += 1
            whole_fleet += event.plan.whole_fleet
            elapsed = clock.now - hour_started
            if elapsed == dt.timedelta(hours=1):
                metrics = ledger.metrics_requested - metrics_before
                result["cw_metrics_per_hour"] = metrics
                result["cw_usd_per_hour"] = round(metrics * USD_PER_METRIC, 4)
                result["live_refreshes_per_hour"] = refreshes
                result["whole_fleet_refreshes_per_hour"] = whole_fleet
            if elapsed.total_seconds() % 1800 == 0:
                gc.collect()
                soak_rss.append(_rss_mb())
            if elapsed >= dt.timedelta(hours=max(1.0, soak_hours)):
                break
    if soak_hours > 1 and len(soak_rss) >= 2:
        result["soak_hours"] = soak_hours
        result["soak_rss_growth_pct"] = round(100 * (soak_rss[-1] - soak_rss[0]) / soak_rss[0], 1)
    return result


async def naive_baseline(endpoints: int, latency_ms: float, seed: int,
                         inventory: Sequence[EndpointSnapshot], sample: int) -> dict[str, Any]:
    """Every metric of every endpoint, one GetMetricData request each, for the last hour at
    one-minute periods, every minute: what a hand-written boto3 loop does. Measured for real on
    `sample` endpoints (all of them when the fleet is smaller) and scaled to the fleet."""
    clock = SimClock()
    account = SimulatedAccount(endpoints=endpoints, seed=seed, latency_s=latency_ms / 1000,
                               clock=clock)
    chosen = sorted((e for e in inventory if e.described), key=lambda e: e.key)
    chosen = chosen[:sample] if sample and sample < len(chosen) else chosen
    queries = []
    for endpoint in chosen:
        seen = set()
        for tier in Tier:
            for query, _ in plan_endpoint(endpoint, tier):
                stat = query["MetricStat"]
                identity = json.dumps([stat["Metric"], stat["Stat"]], sort_keys=True)
                if identity not in seen:
                    seen.add(identity)
                    queries.append(query)
    target = AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)
    end = clock.now
    async with AwsContext(SagetopConfig().aws, target) as aws:
        cloudwatch = await aws.client("cloudwatch", account.regions[0])
        semaphore = asyncio.Semaphore(16)

        async def one(index: int, query: dict[str, Any]) -> None:
            stat = {**query["MetricStat"], "Period": 60}
            async with semaphore:
                await cloudwatch.get_metric_data(
                    MetricDataQueries=[{"Id": f"n{index}", "MetricStat": stat}],
                    StartTime=end - dt.timedelta(hours=1), EndTime=end)

        started = time.perf_counter()
        await asyncio.gather(*(one(i, q) for i, q in enumerate(queries)))
        elapsed = time.perf_counter() - started
        scale = len(inventory) / max(1, len(chosen))
        per_minute_metrics = aws.ledger.metrics_requested * scale
        return {
            "naive_sampled_endpoints": len(chosen),
            "naive_requests_per_poll": round(aws.ledger.total_requests() * scale),
            "naive_poll_s": round(elapsed * scale, 2),
            "naive_datapoints_per_endpoint_per_poll": round(
                aws.ledger.datapoints_received / max(1, len(chosen)), 1),
            "naive_cw_usd_per_hour": round(per_minute_metrics * 60 * USD_PER_METRIC, 4),
        }


def _rss_mb(peak: bool = False) -> float:
    if peak:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 1024 / 1024


ROWS = (
    ("first_rows_s", "fleet rows on screen (s)", "<= 2 s at 1,000"),
    ("full_fleet_s", "history and findings, whole fleet (s)", "<= 10 s at 1,000"),
    ("full_fleet_minus_sim_s", "  the same without the simulator's CPU (s)", ""),
    ("first_load_requests", "requests, first load", ""),
    ("refresh_requests", "requests per steady-state refresh", "= minimum"),
    ("refresh_requests_min", "minimum the 500-query limit allows", ""),
    ("refresh_describes", "Describe requests in that refresh", "0"),
    ("inventory_refresh_describes", "Describe requests, unchanged inventory", "0"),
    ("datapoints_first_per_endpoint", "datapoints per endpoint, first load", "<= 1,500"),
    ("datapoints_refresh_per_endpoint", "datapoints per endpoint, refresh", "<= 30"),
    ("cw_usd_first_load", "CloudWatch $ for the first load", ""),
    ("cw_metrics_per_hour", "metrics requested per hour of live use", ""),
    ("cw_usd_per_hour", "CloudWatch $ per hour of live use", "<= $0.25"),
    ("naive_cw_usd_per_hour", "naive baseline $ per hour", ""),
    ("naive_to_sagetop_cost_ratio", "naive / sagetop cost", ">= 20x"),
    ("advisor_pass_s", "advisor pass, whole fleet (s)", "< 0.5 s"),
    ("analysis_pass_s", "advisors + profiles + maturity (s)", ""),
    ("table_apply_ms", "fleet table refresh, event loop (ms)", "< 50 ms"),
    ("key_press_median_ms", "key press wait while polling, median (ms)", "< 100 ms"),
    ("key_press_p95_ms", "  the same, 95th percentile (ms)", "< 100 ms"),
    ("key_press_max_ms", "  the same, worst (ms)", ""),
    ("peak_rss_mb", "peak memory (MB)", "< 300 MB"),
    ("soak_rss_growth_pct", "memory growth over the soak (%)", "<= 10 %"),
    ("sim_cpu_s", "simulated account's own CPU, first load (s)", ""),
)


def table(results: list[dict[str, Any]]) -> str:
    header = f"{'':44}" + "".join(f"{r['endpoints']:>12,}" for r in results) + "  target"
    lines = [header, "-" * len(header)]
    for key, label, goal in ROWS:
        cells = "".join(f"{_cell(r.get(key)):>12}" for r in results)
        lines.append(f"{label:44}{cells}  {goal}")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4f}" if value < 1 else f"{value:,.2f}"
    return f"{value:,}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", default="100,1000",
                        help="fleet sizes, comma-separated (default 100,1000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per size")
    parser.add_argument("--latency-ms", type=float, default=20.0,
                        help="simulated round trip per request (default 20 ms)")
    parser.add_argument("--tps", type=float, default=50.0,
                        help="GetMetricData transactions per second quota (AWS default 50)")
    parser.add_argument("--visible", type=int, default=20,
                        help="fleet rows on screen (default 20: an 80x24 terminal)")
    parser.add_argument("--naive-sample", type=int, default=200,
                        help="endpoints the naive baseline is measured on, then scaled")
    parser.add_argument("--soak-hours", type=float, default=1.0,
                        help="simulated hours of live use (memory growth reported above 1)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sizes = [int(n) for n in str(args.endpoints).split(",") if n.strip()]
    results = []
    for size in sizes:
        if len(sizes) > 1:
            # One process per size: peak memory is then each size's own.
            command = [sys.executable, __file__, "--endpoints", str(size), "--json",
                       "--latency-ms", str(args.latency_ms), "--tps", str(args.tps),
                       "--visible", str(args.visible), "--naive-sample", str(args.naive_sample),
                       "--soak-hours", str(args.soak_hours), "--seed", str(args.seed)]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            figures = json.loads(output.strip().splitlines()[-1])
        else:
            figures = asyncio.run(bench(size, args.latency_ms, args.tps, args.seed,
                                        args.visible, args.naive_sample, args.soak_hours))
        results.append(figures)
        if args.json:
            print(json.dumps(figures))
            sys.stdout.flush()
    if not args.json:
        print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
