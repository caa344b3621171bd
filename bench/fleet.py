#!/usr/bin/env python3
"""Fleet-scale benchmark: the dashboard's own live session, collectors, advisors and fleet table
against the simulated account served over HTTP, with per-request latency and the real
GetMetricData quota, and in the same run a naive baseline (every metric of every endpoint, one
request each, every minute).

    python bench/fleet.py --endpoints 1000,10000     # a table, with each target met or missed
    python bench/fleet.py --endpoints 100 --json     # one JSON object per size

The simulated account runs in a child process of its own (`simulator.server`, on 127.0.0.1), and
each phase of sagetop in another: a cold start that saves the state store, a warm start from that
store ten simulated minutes later, the collector's refresh figures, the real app's key presses,
and the naive baseline. Memory is therefore each sagetop process's own (`peak_rss_mb` is the
largest of them), the account's is `sim_rss_mb`. Figures are wall-clock on this machine; the
account's own CPU still shares its cores and is reported as `sim_cpu_s`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import json
import math
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisors.registry import run_advisors
from collectors.aws import AwsContext, AwsTarget
from collectors.fleet import FleetCollector
from collectors.metrics import MAX_QUERIES_PER_CALL, plan_endpoint
from ground.config import SagetopConfig
from ground.domain import EndpointSnapshot
from ground.series import Tier
from pipeline.analysis import Analyst, FleetAnalysis
from pipeline.live import Collected, Listing, LiveSession, Restored, StoreNotice
from pipeline.store import StateStore
from simulator.server import SimServerError, SimulatedServer, prepare_credentials, server_stats
from simulator.server import set_clock as set_server_clock

USD_PER_METRIC = 0.01 / 1000
WARM_AGE_S = 600  # the warm start opens the store ten simulated minutes after the cold one ends
PHASE_GAP_S = 60
STORE_FILE = "fleet-bench.db"
NAIVE_INVENTORY = "naive-inventory.pickle"


class SimClock:
    """Simulated time shared by the account and the collectors: an hour passes in seconds.

    With `server_url` every move is told to the simulated account's server before the next
    request can leave, so both sides read the same time.
    """

    def __init__(self, now: dt.datetime | None = None, server_url: str | None = None) -> None:
        self.now = now or dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        self.server_url = server_url
        if server_url is not None:
            set_server_clock(server_url, self.now)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)
        if self.server_url is not None:
            set_server_clock(self.server_url, self.now)

    async def pause(self, seconds: float, wake: asyncio.Event) -> None:
        """The live session's wait between refreshes, in simulated time: the time passes at once
        (unless something asked for a refresh now, as the app's wait would end early too)."""
        if not wake.is_set():
            self.advance(seconds)


@dataclass(frozen=True)
class Phase:
    """What a phase's process is told: the server, the time, the work directory, the sizes."""

    url: str
    now: dt.datetime
    work: Path
    endpoints: int
    seed: int
    visible: int
    naive_sample: int
    soak_hours: float

    def target(self) -> AwsTarget:
        # The account as any endpoint URL: sagetop's clients are stock, only credentials given.
        return AwsTarget(regions=("us-east-1",), endpoint_url=self.url, simulated=True,
                         prepare_session=prepare_credentials)

    def store(self) -> StateStore:
        config = SagetopConfig()
        return StateStore(self.work / STORE_FILE,
                          identity=f"bench seed {self.seed}, endpoints {self.endpoints}",
                          retention_days=config.store.retention_days,
                          busy_timeout_s=config.store.busy_timeout_s)

    def session(self, clock: SimClock, *, store: StateStore | None = None,
                simulated_pause: bool = True) -> LiveSession:
        config = SagetopConfig()
        if simulated_pause:
            return LiveSession(AwsContext(config.aws, self.target(), config.cost),
                               config.refresh, config.history, clock=clock, pause=clock.pause,
                               store=store)
        return LiveSession(AwsContext(config.aws, self.target(), config.cost), config.refresh,
                           config.history, clock=clock, store=store)


def _rss_mb(peak: bool = False) -> float:
    if peak:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 1024 / 1024


def _findings(analysis: FleetAnalysis) -> int:
    return sum(len(a.findings) for a in analysis.endpoints.values())


def _describes(requests: Counter[str]) -> int:
    return sum(v for k, v in requests.items() if ":Describe" in k)


def _delta(after: Counter[str], before: Counter[str]) -> Counter[str]:
    return Counter({k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)})


# The phases, each in its own process -----------------------------------------------------------


async def cold_phase(phase: Phase) -> dict[str, Any]:
    """A cold start and live use through the dashboard's LiveSession, saving the state store:
    rows at the Listing, the first Collected analysed with its findings, then `soak_hours` of
    live use with `visible` rows on screen and the first of them open in its pane, as the app
    tells the session. Its CloudWatch figures are the app's by construction."""
    clock = SimClock(phase.now, phase.url)
    store = phase.store()
    session = phase.session(clock, store=store)
    ledger = session.aws.ledger
    analyst = Analyst()
    result: dict[str, Any] = {}
    hour_started: dt.datetime | None = None
    metrics_before = refreshes = whole_fleet = 0
    soak_rss: list[float] = []
    busy_before = server_stats(phase.url)["busy_seconds"]
    started = time.perf_counter()
    async with contextlib.aclosing(session.events()) as events:
        async for event in events:
            if isinstance(event, StoreNotice):
                result["store_notice"] = event.message
            if isinstance(event, Listing):
                result["first_rows_s"] = round(time.perf_counter() - started, 3)
                on_screen = sorted(e.key for e in event.fleet.endpoints)[:phase.visible]
                session.show(on_screen)
                session.open(on_screen[0] if on_screen else None)
            if not isinstance(event, Collected):
                continue
            if hour_started is None:
                analysis = analyst.analyse(event.fleet)
                result["full_fleet_s"] = round(time.perf_counter() - started, 3)
                result["cold_cw_usd"] = round(ledger.cloudwatch_usd, 4)
                result["cold_findings"] = _findings(analysis)
                result["sim_cpu_s"] = round(
                    server_stats(phase.url)["busy_seconds"] - busy_before, 3)
                assert len(event.fleet.endpoints) == phase.endpoints
                result["first_load_requests"] = ledger.total_requests()
                result["first_load_describes"] = _describes(ledger.requests)
                result["datapoints_first_per_endpoint"] = round(
                    ledger.datapoints_received / phase.endpoints, 1)
                del analysis
                # The live hour starts when the first load ends.
                hour_started, metrics_before = clock.now, ledger.metrics_requested
                gc.collect()
                result["rss_after_first_load_mb"] = round(_rss_mb(), 1)
                if phase.soak_hours <= 0:
                    break  # the cold first load alone (--soak-hours 0)
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
            if elapsed >= dt.timedelta(hours=max(1.0, phase.soak_hours)):
                session.stop()  # and iterate on: the session saves the store as it ends
    store.close()
    if phase.soak_hours > 1 and len(soak_rss) >= 2:
        result["soak_hours"] = phase.soak_hours
        result["soak_rss_growth_pct"] = round(100 * (soak_rss[-1] - soak_rss[0]) / soak_rss[0], 1)
    result["store_mb"] = round((phase.work / STORE_FILE).stat().st_size / 1e6, 1)
    result["_clock_end"] = clock.now.timestamp()
    return result


def _passes(analyst: Analyst, fleet: Any) -> dict[str, Any]:
    """The advisor pass over the whole fleet (median of three) and a whole analysis."""
    requirements = analyst.requirements(fleet)
    passes = []
    for _ in range(3):
        tick = time.perf_counter()
        run_advisors(fleet, analyst.settings.advisors, analyst.price_book, requirements,
                     fleet.collected_at)
        passes.append(time.perf_counter() - tick)
    tick = time.perf_counter()
    analyst.analyse(fleet)
    return {"advisor_pass_s": round(statistics.median(passes), 3),
            "analysis_pass_s": round(time.perf_counter() - tick, 3)}


async def warm_phase(phase: Phase) -> dict[str, Any]:
    """A fresh session opening the cold one's store: rows at `Restored`, their findings, then
    the CloudWatch charge until the first whole-fleet refresh has confirmed everything."""
    clock = SimClock(phase.now, phase.url)
    store = phase.store()
    session = phase.session(clock, store=store)
    ledger = session.aws.ledger
    analyst = Analyst()
    result: dict[str, Any] = {}
    charge_before = 0.0  # the charge when the latest refresh began
    started = time.perf_counter()
    async with contextlib.aclosing(session.events()) as events:
        async for event in events:
            if isinstance(event, StoreNotice):
                result["warm_notice"] = event.message
            if isinstance(event, Restored):
                result["warm_rows_s"] = round(time.perf_counter() - started, 3)
                analysis = analyst.analyse(event.fleet)
                result["warm_findings_s"] = round(time.perf_counter() - started, 3)
                result["warm_findings"] = _findings(analysis)
                result["warm_store_age_s"] = round((clock.now - event.saved_at).total_seconds())
                on_screen = sorted(e.key for e in event.fleet.endpoints)[:phase.visible]
                session.show(on_screen)
                session.open(on_screen[0] if on_screen else None)
            if isinstance(event, Collected) and "warm_cw_usd" not in result:
                # The restore counts as the last whole-fleet refresh: the first ones after it
                # are the rows on screen, the rest of the fleet waits for its cadence.
                # The warm start's own charge: the listing confirmed, what changed described,
                # the rows on screen brought up to date from the store's end.
                result["warm_cw_usd"] = round(ledger.cloudwatch_usd, 4)
            if isinstance(event, Collected) and event.plan.whole_fleet:
                result["warm_live_minutes"] = round((clock.now - phase.now).total_seconds() / 60)
                result["warm_cw_to_whole_fleet_usd"] = round(ledger.cloudwatch_usd, 4)
                result["warm_whole_fleet_cw_usd"] = round(ledger.cloudwatch_usd - charge_before,
                                                          4)
                result["warm_describes"] = _describes(ledger.requests)
                result["warm_unconfirmed"] = len(event.fleet.unconfirmed)
                session.stop()
            if isinstance(event, Collected):
                charge_before = ledger.cloudwatch_usd
    store.close()
    result["_clock_end"] = clock.now.timestamp()
    return result


async def collector_phase(phase: Phase) -> dict[str, Any]:
    """What one FleetCollector asks once loaded: a whole-fleet refresh a minute on against the
    fewest calls the 500-query limit allows, the inventory five minutes on, the fleet table's
    refresh; and the inventory the naive baseline plans its queries from."""
    clock = SimClock(phase.now, phase.url)
    config = SagetopConfig()
    result: dict[str, Any] = {}
    async with AwsContext(config.aws, phase.target(), config.cost) as aws:
        collector = FleetCollector(aws, config.refresh, config.history, clock=clock)
        ledger = aws.ledger
        analyst = Analyst()
        await collector.collect_listing()
        fleet = await collector.collect(force=True, focus=[])
        analysis = analyst.analyse(fleet)
        # Here, not in the cold phase: nothing else runs meanwhile (no store being saved).
        result.update(_passes(analyst, fleet))

        clock.advance(60)
        before = Counter(ledger.calls)
        retries_before = ledger.total_requests() - sum(ledger.calls.values())
        points_before, metrics_before = ledger.datapoints_received, ledger.metrics_requested
        refreshed = await collector.collect(live=None, focus=[])
        spent = _delta(ledger.calls, before)
        queries = ledger.metrics_requested - metrics_before
        result["refresh_requests"] = sum(spent.values())
        result["refresh_retries"] = (ledger.total_requests() - sum(ledger.calls.values())
                                     - retries_before)
        # 500 queries a call, one time range a call (an endpoint publishing every 300 s has
        # its own, aligned to 5 minutes): the collector's own count of the fewest calls.
        result["refresh_requests_min"] = max(math.ceil(queries / MAX_QUERIES_PER_CALL),
                                             collector.metrics.last_pass.minimum_calls)
        result["refresh_describes"] = _describes(spent)
        result["datapoints_refresh_per_endpoint"] = round(
            (ledger.datapoints_received - points_before) / phase.endpoints, 1)

        # Inventory five minutes on: ListEndpoints only, no Describe when nothing changed.
        clock.advance(240)
        before = Counter(ledger.requests)
        await collector.collect(live=[], focus=[])
        result["inventory_refresh_describes"] = _describes(_delta(ledger.requests, before))
        result["table_apply_ms"] = await _table_apply_ms(analysis, analyst.analyse(refreshed))

    chosen = sorted((e for e in fleet.endpoints if e.described), key=lambda e: e.key)
    sample = chosen[:phase.naive_sample] if 0 < phase.naive_sample < len(chosen) else chosen
    with open(phase.work / NAIVE_INVENTORY, "wb") as file:
        pickle.dump((len(fleet.endpoints), sample), file)
    result["_clock_end"] = clock.now.timestamp()
    return result


async def _table_apply_ms(analysis_first: Any, analysis_next: Any) -> float | None:
    """Event-loop time to apply a refresh to the dashboard's fleet table (headless Textual)."""
    try:
        from tui_support import table_apply_seconds
    except ImportError:
        return None
    seconds: float = await table_apply_seconds(analysis_first, analysis_next)
    return round(seconds * 1000, 1)


async def app_phase(phase: Phase) -> dict[str, Any]:
    """Key presses on the real app during its first load (the heaviest polling there is)."""
    from tui_support import key_press_seconds

    # The account's time stands still; the session waits in real time, as the app does.
    session = phase.session(SimClock(phase.now, phase.url), simulated_pause=False)
    lags = sorted(await key_press_seconds(session))
    return {"key_press_median_ms": round(1000 * statistics.median(lags), 1),
            "key_press_p95_ms": round(1000 * lags[int(0.95 * (len(lags) - 1))], 1),
            "key_press_max_ms": round(1000 * lags[-1], 1),
            "_clock_end": phase.now.timestamp()}


async def naive_phase(phase: Phase) -> dict[str, Any]:
    """Every metric of every endpoint, one GetMetricData request each, for the last hour at
    one-minute periods, every minute: what a hand-written boto3 loop does. Measured for real on
    the collector phase's sample of endpoints and scaled to the fleet."""
    with open(phase.work / NAIVE_INVENTORY, "rb") as file:
        fleet_size, chosen = pickle.load(file)  # written by this run
    queries = []
    for endpoint in chosen:
        assert isinstance(endpoint, EndpointSnapshot)
        seen = set()
        for tier in Tier:
            for query, _ in plan_endpoint(endpoint, tier):
                stat = query["MetricStat"]
                identity = json.dumps([stat["Metric"], stat["Stat"]], sort_keys=True)
                if identity not in seen:
                    seen.add(identity)
                    queries.append(query)
    set_server_clock(phase.url, phase.now)
    end = phase.now
    async with AwsContext(SagetopConfig().aws, phase.target()) as aws:
        cloudwatch = await aws.client("cloudwatch", "us-east-1")
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
        scale = fleet_size / max(1, len(chosen))
        per_minute_metrics = aws.ledger.metrics_requested * scale
        return {
            "naive_sampled_endpoints": len(chosen),
            "naive_requests_per_poll": round(aws.ledger.total_requests() * scale),
            "naive_poll_s": round(elapsed * scale, 2),
            "naive_datapoints_per_endpoint_per_poll": round(
                aws.ledger.datapoints_received / max(1, len(chosen)), 1),
            "naive_cw_usd_per_hour": round(per_minute_metrics * 60 * USD_PER_METRIC, 4),
        }


PHASES: dict[str, Callable[[Phase], Any]] = {
    "cold": cold_phase, "warm": warm_phase, "collector": collector_phase, "app": app_phase,
    "naive": naive_phase,
}
SAGETOP_PHASES = ("cold", "warm", "collector", "app")  # the naive baseline is not sagetop


def run_phase(name: str, phase: Phase) -> dict[str, Any]:
    """One phase in a process of its own: its figures, and its own peak memory."""
    command = [sys.executable, __file__, "--phase", name, "--url", phase.url,
               "--now", str(phase.now.timestamp()), "--work", str(phase.work),
               "--endpoints", str(phase.endpoints), "--seed", str(phase.seed),
               "--visible", str(phase.visible), "--naive-sample", str(phase.naive_sample),
               "--soak-hours", str(phase.soak_hours)]
    return child_figures(command, f"bench/fleet.py: the {name} phase at "
                                  f"{phase.endpoints:,} endpoints")


def child_figures(command: list[str], what: str) -> dict[str, Any]:
    """Run a benchmark child process and read the figures it prints as its last line; a failed
    child stops the benchmark with its last line of stderr, naming `what` failed."""
    done = subprocess.run(command, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"{what} failed (exit {done.returncode}): {last}")
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures


def measure(endpoints: int, args: argparse.Namespace) -> dict[str, Any]:
    config = SagetopConfig()
    result: dict[str, Any] = {"endpoints": endpoints, "latency_ms": args.latency_ms,
                              "getmetricdata_tps": args.tps,
                              "lookback_days": config.history.lookback_days}
    account = {"endpoints": endpoints, "seed": args.seed, "latency_s": args.latency_ms / 1000}
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    rss: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="sagetop-bench-") as directory:
        work = Path(directory)

        def phase(url: str, at: float | dt.datetime) -> Phase:
            moment = at if isinstance(at, dt.datetime) else dt.datetime.fromtimestamp(at, dt.UTC)
            return Phase(url, moment, work, endpoints, args.seed, args.visible,
                         args.naive_sample, args.soak_hours)

        with SimulatedServer(now=now, getmetricdata_tps=args.tps, **account) as server:
            at: float | dt.datetime = now
            # --soak-hours 0: the cold first load alone, a quick figure for large fleets.
            for name in SAGETOP_PHASES if args.soak_hours > 0 else ("cold",):
                figures = run_phase(name, phase(server.url, at))
                rss[name] = figures.pop("_peak_rss_mb")
                gap = WARM_AGE_S if name == "cold" else PHASE_GAP_S
                at = figures.pop("_clock_end") + gap
                result.update(figures)
            result["sim_rss_mb"] = round(server.rss_mb() or 0.0, 1) or None
        # The naive loop meets no quota of its own making: an account without one, as before.
        if args.soak_hours > 0:
            with SimulatedServer(now=now, **account) as naive:
                figures = run_phase("naive", phase(naive.url, now))
                figures.pop("_peak_rss_mb")
                figures.pop("_clock_end", None)
                result.update(figures)
    result["naive_to_sagetop_cost_ratio"] = round(
        result["naive_cw_usd_per_hour"] / result["cw_usd_per_hour"], 1) \
        if result.get("cw_usd_per_hour") and "naive_cw_usd_per_hour" in result else None
    if result.get("warm_cw_usd") is not None and result.get("cold_cw_usd"):
        result["warm_cw_pct_of_cold"] = round(100 * result["warm_cw_usd"]
                                              / result["cold_cw_usd"], 1)
    worst = max(rss, key=lambda name: rss[name])
    result["peak_rss_mb"] = rss[worst]
    result["peak_rss_phase"] = worst
    result.update({f"{name}_rss_mb": value for name, value in rss.items()})
    return result


# The table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """`key`'s figure against `limit` (a number, or another key's figure) at `sizes` (all
    sizes when None)."""

    op: str  # "<=", "<", ">=", "="
    limits: dict[int | None, float | str]  # size (None: any size) -> limit

    def limit_at(self, size: int) -> float | str | None:
        return self.limits.get(size, self.limits.get(None))

    def verdict(self, value: Any, size: int, result: dict[str, Any]) -> str:
        limit = self.limit_at(size)
        if limit is None or value is None:
            return ""
        bound = result.get(limit) if isinstance(limit, str) else limit
        if bound is None:
            return ""
        ok = {"<=": value <= bound, "<": value < bound, ">=": value >= bound,
              "=": value == bound}[self.op]
        if ok:
            return "met"
        gap = abs(value - bound)
        share = f" ({100 * gap / bound:.0f} %)" if bound else ""
        return f"missed by {_cell(gap)}{share}"

    def text(self) -> str:
        return ", ".join(
            f"{self.op} {limit if isinstance(limit, str) else _cell(limit)}"
            + (f" at {size:,}" if size is not None else "")
            for size, limit in self.limits.items())


ROWS: tuple[tuple[str, str, Target | None], ...] = (
    ("first_rows_s", "cold: fleet rows on screen (s)", Target("<=", {1000: 2.0})),
    ("full_fleet_s", "cold: history and findings, whole fleet (s)",
     Target("<=", {1000: 10.0, 10000: 90.0})),
    ("cold_cw_usd", "cold: CloudWatch $ of the first load", None),
    ("warm_rows_s", "warm: rows from the store (s)", None),
    ("warm_findings_s", "warm: rows with findings (s)", Target("<=", {1000: 2.0})),
    ("warm_cw_usd", "warm: CloudWatch $ of the warm start", None),
    ("warm_cw_to_whole_fleet_usd", "  $ up to the first whole-fleet refresh", None),
    ("warm_live_minutes", "  live minutes before that whole fleet", None),
    ("warm_whole_fleet_cw_usd", "  of which that whole-fleet refresh", None),
    ("warm_cw_pct_of_cold", "warm: CloudWatch, % of cold", Target("<=", {1000: 5.0})),
    ("warm_describes", "warm: Describe requests", None),
    ("first_load_requests", "requests, first load", None),
    ("refresh_requests", "requests per steady-state refresh", Target("=", {None:
                                                                         "refresh_requests_min"})),
    ("refresh_requests_min", "minimum the 500-query limit allows", None),
    ("refresh_describes", "Describe requests in that refresh", Target("=", {None: 0})),
    ("inventory_refresh_describes", "Describe requests, unchanged inventory",
     Target("=", {None: 0})),
    ("datapoints_first_per_endpoint", "datapoints per endpoint, first load",
     Target("<=", {1000: 1500})),
    ("datapoints_refresh_per_endpoint", "datapoints per endpoint, refresh",
     Target("<=", {1000: 30})),
    ("cw_metrics_per_hour", "metrics requested per hour of live use", None),
    ("cw_usd_per_hour", "CloudWatch $ per hour of live use", Target("<=", {1000: 0.25})),
    ("naive_cw_usd_per_hour", "naive baseline $ per hour", None),
    ("naive_to_sagetop_cost_ratio", "naive / sagetop cost", Target(">=", {1000: 20.0})),
    ("advisor_pass_s", "advisor pass, whole fleet (s)", Target("<", {1000: 0.5})),
    ("analysis_pass_s", "advisors + profiles + maturity (s)", None),
    ("table_apply_ms", "fleet table refresh, event loop (ms)", Target("<", {1000: 50.0})),
    ("key_press_median_ms", "key press wait while polling, median (ms)",
     Target("<", {1000: 100.0})),
    ("key_press_p95_ms", "  the same, 95th percentile (ms)", Target("<", {1000: 100.0})),
    ("key_press_max_ms", "  the same, worst (ms)", None),
    ("peak_rss_mb", "peak memory, sagetop alone (MB)", Target("<=", {1000: 300.0,
                                                                   10000: 1024.0})),
    ("sim_rss_mb", "peak memory, simulated account (MB)", None),
    ("soak_rss_growth_pct", "memory growth over the soak (%)", Target("<=", {None: 10.0})),
    ("sim_cpu_s", "simulated account's own CPU, first load (s)", None),
)


def table(results: list[dict[str, Any]]) -> str:
    sizes = "".join(f"{r['endpoints']:>12,}" for r in results)
    header = f"{'':46}{sizes}  target: met or missed"
    lines = [header, "-" * len(header)]
    for key, label, target in ROWS:
        cells = "".join(f"{_cell(r.get(key)):>12}" for r in results)
        verdict = ""
        if target is not None:
            judged = [(r["endpoints"], target.verdict(r.get(key), r["endpoints"], r))
                      for r in results]
            shown = [f"{size:,} {word}" if len(results) > 1 else word
                     for size, word in judged if word]
            verdict = target.text() + (": " + "; ".join(shown) if shown else "")
        lines.append(f"{label:46}{cells}  {verdict}".rstrip())
    worst = "; ".join(f"{r['endpoints']:,}: {r.get('peak_rss_phase')}" for r in results)
    lines.append(f"(peak memory is the largest sagetop process: {worst})")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 1 else f"{value:,.2f}"
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
                        help="simulated hours of live use (memory growth reported above 1; "
                             "0: the cold first load alone, a quick figure for large fleets)")
    parser.add_argument("--seed", type=int, default=7)
    # One phase in this process (the benchmark runs itself so): not for use by hand.
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--now", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        sizes = [int(n) for n in str(args.endpoints).split(",") if n.strip()]
    except ValueError:
        parser.error(f"--endpoints {args.endpoints}: expected sizes like 1000,10000")
    if args.phase:
        phase = Phase(args.url, dt.datetime.fromtimestamp(args.now, dt.UTC), args.work,
                      sizes[0], args.seed, args.visible, args.naive_sample, args.soak_hours)
        figures = asyncio.run(PHASES[args.phase](phase))
        figures["_peak_rss_mb"] = round(_rss_mb(peak=True), 1)
        print(json.dumps(figures))
        return 0
    results = []
    for size in sizes:
        try:
            figures = measure(size, args)
        except SimServerError as exc:
            print(f"bench/fleet.py: {exc}", file=sys.stderr)
            return 2
        results.append(figures)
        if args.json:
            print(json.dumps(figures))
            sys.stdout.flush()
    if not args.json:
        print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
