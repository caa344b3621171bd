#!/usr/bin/env python3
"""Many-accounts benchmark: a simulated organisation driven through the app's own LiveSession
with an AwsOrganisation, with and without CloudWatch cross-account observability (OAM).

    python bench/accounts.py --accounts 5 --regions 3 --endpoints-per-account 20   # quick
    python bench/accounts.py                         # 50 x 3 x 70 = 10,500 endpoints (issue 13)
    python bench/accounts.py --modes oam --json

Each account is its own simulated account (its own fleet, its own 20 ms round trips and its own
GetMetricData quota, as AWS's are per account); with OAM, account 1 is the monitoring account and
every other is linked to it, so their metrics are asked from it. The organisation is served over
HTTP on 127.0.0.1 from a child process of its own (`simulator.server.SimulatedOrgServer`, one
port per account, a fresh one per mode), and each mode's sagetop runs in another process, so
`peak_rss_mb` is sagetop's own; the simulator's is `sim_rss_mb`. Timings are wall-clock on this
machine; the simulator still shares their cores: `sim_cpu_s` is the time its accounts spent
working out answers during the cold start (as bench/fleet.py counts it), `sim_process_cpu_s` the
CPU its process used while the mode ran (answers and HTTP; building the fleets comes before).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/fleet.py, beside this file

from fleet import SimClock, _rss_mb, child_figures

import pipeline.live as live_module
from collectors.aws import AwsTarget
from collectors.metrics import MAX_QUERIES_PER_CALL
from collectors.org import AwsOrganisation, OrgCollector
from ground.config import SagetopConfig
from pipeline.analysis import Analyst
from pipeline.live import Collected, Failed, Listing, LiveSession
from simulator.organisation import Organisation
from simulator.server import SimServerError, SimulatedOrgServer, prepare_credentials, server_stats

GMD = "cloudwatch:GetMetricData"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1")


class _RecordedOrgCollector(OrgCollector):
    """The live session's own collector, kept where the benchmark can read its passes."""

    made: ClassVar[list[OrgCollector]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _RecordedOrgCollector.made.append(self)


def _minimum_calls(collector: OrgCollector) -> tuple[int, int]:
    """(fewest GetMetricData calls the 500-query limit allowed in the latest pass, its
    queries): each caller's batches (a monitoring account's hub reports its pass once, by the
    monitoring account), one time range and region per call."""
    minimum = queries = 0
    for member in collector.org.members:
        if member.collector is not None:
            passed = member.collector.metrics.last_pass
            minimum += passed.minimum_calls
            queries += passed.queries
    return minimum, queries


def organisation(accounts: int, regions: int, per_account: int, oam: bool, latency_ms: float,
                 tps: float, seed: int) -> Organisation:
    if not 1 <= regions <= len(REGIONS):
        raise SystemExit(f"--regions: 1 to {len(REGIONS)}")
    return Organisation(accounts=accounts, regions=REGIONS[:regions],
                        endpoints_per_region=per_account, seed=seed, latency_s=latency_ms / 1000,
                        getmetricdata_tps=tps, linked=oam)


async def bench(served: Organisation, urls: list[str], now: dt.datetime, visible: int
                ) -> dict[str, Any]:
    """One mode's sagetop, against the organisation served at `urls` (one per account)."""
    oam = served.linked
    clock = SimClock(now, urls[0])  # one URL sets every account's clock
    config = SagetopConfig()
    # The accounts as any endpoint URLs: sagetop's clients are stock, only credentials given.
    targets = [AwsTarget(regions=served.regions, endpoint_url=url, simulated=True, account=name,
                         prepare_session=prepare_credentials)
               for name, url in zip(served.names, urls, strict=True)]
    org_settings = config.org.model_copy(update={"cross_account_metrics": oam})
    organisation = AwsOrganisation(config.aws, targets, config.cost, org=org_settings)
    session = LiveSession(organisation, config.refresh, config.history, clock=clock,
                          pause=clock.pause)
    ledger = organisation.ledger
    analyst = Analyst()
    result: dict[str, Any] = {
        "mode": "oam" if oam else "per-account", "accounts": served.accounts,
        "regions": len(served.regions), "endpoints": served.endpoints,
        "latency_ms": served.latency_s * 1000,
        "getmetricdata_tps_per_account": served.getmetricdata_tps}
    _RecordedOrgCollector.made.clear()
    # The session makes its collector itself: the same class, recorded where it is looked up.
    vars(live_module)["OrgCollector"] = _RecordedOrgCollector
    busy_before = server_stats(urls[0])["busy_seconds"]
    started = time.perf_counter()
    before_calls: Counter[str] = Counter()
    fleet_seconds = config.refresh.fleet_seconds
    whole_fleet_refreshes = 0
    async with contextlib.aclosing(session.events()) as events:
        async for event in events:
            if isinstance(event, Failed):
                raise SystemExit(f"bench/accounts.py: a refresh failed: {event.message}")
            if isinstance(event, Listing):
                result["first_rows_s"] = round(time.perf_counter() - started, 3)
                result["listed_endpoints"] = len(event.fleet.endpoints)
                keys = sorted(e.key for e in event.fleet.endpoints)[:visible]
                session.show(keys)
                session.open(keys[0] if keys else None)
                continue
            if not isinstance(event, Collected):
                continue
            collector = _RecordedOrgCollector.made[-1]
            if "cold_findings_s" not in result:
                analysis = analyst.analyse(event.fleet)
                result["cold_findings_s"] = round(time.perf_counter() - started, 3)
                result["sim_cpu_s"] = round(
                    server_stats(urls[0])["busy_seconds"] - busy_before, 3)
                result["findings"] = sum(len(a.findings) for a in analysis.endpoints.values())
                result["collected_endpoints"] = len(event.fleet.endpoints)
                result["cold_requests"] = ledger.total_requests()
                result["cold_getmetricdata"] = ledger.requests[GMD]
                result["cold_cw_usd"] = round(ledger.cloudwatch_usd, 4)
                result["throttled_cold"] = ledger.throttles
                result["oam_requests"] = sum(v for k, v in ledger.requests.items()
                                             if k.startswith("oam:"))
                result["metrics_via_monitoring"] = sum(
                    1 for a in event.fleet.accounts if a.metrics_via is not None)
                result["errors"] = len(event.fleet.errors)
                # What they say (a benchmark's failures must be read, not only counted).
                result["error_messages"] = sorted({e.message for e in event.fleet.errors})[:5]
                gc.collect()
                result["rss_after_cold_mb"] = round(_rss_mb(), 1)
                before_calls = Counter(ledger.requests)
                metrics_before = ledger.metrics_requested
                continue
            spent = Counter({k: v - before_calls.get(k, 0) for k, v in ledger.requests.items()})
            before_calls = Counter(ledger.requests)
            if event.plan.whole_fleet:
                whole_fleet_refreshes += 1
                minimum, queries = _minimum_calls(collector)
                result["steady_getmetricdata"] = spent[GMD]
                result["steady_getmetricdata_min"] = max(minimum, math.ceil(
                    queries / MAX_QUERIES_PER_CALL) if queries else 0)
                result["steady_requests"] = sum(spent.values())
                result["steady_queries"] = queries
                result["steady_cw_usd"] = round(
                    (ledger.metrics_requested - metrics_before) * ledger.usd_per_1000_metrics
                    / 1000, 4)
                break
            result["row_refresh_getmetricdata"] = spent[GMD]
            metrics_before = ledger.metrics_requested
            if (clock.now - event.plan.at).total_seconds() > 4 * fleet_seconds:
                break  # no whole-fleet refresh came: reported as missing, not waited for
    result["peak_rss_mb"] = round(_rss_mb(peak=True), 1)
    return result


ROWS = (
    ("endpoints", "endpoints (accounts x regions x per account)", ""),
    ("first_rows_s", "first rows on screen (s)", "<= 3 s"),
    ("cold_findings_s", "cold start to findings, whole org (s)", "<= 90 s"),
    ("findings", "  findings", ""),
    ("cold_requests", "requests, cold start", ""),
    ("cold_getmetricdata", "  of them GetMetricData", ""),
    ("throttled_cold", "  throttled", ""),
    ("cold_cw_usd", "CloudWatch $, cold start", ""),
    ("oam_requests", "oam requests (detection, once)", ""),
    ("metrics_via_monitoring", "accounts whose metrics the monitor asks", ""),
    ("steady_getmetricdata", "GetMetricData, steady whole-org refresh", "= minimum"),
    ("steady_getmetricdata_min", "  minimum the 500-query limit allows", ""),
    ("steady_requests", "  all requests in that refresh", ""),
    ("steady_cw_usd", "  its CloudWatch $", ""),
    ("row_refresh_getmetricdata", "GetMetricData, rows-on-screen refresh", ""),
    ("peak_rss_mb", "peak memory, sagetop alone (MB)", "<= 1,024 MB"),
    ("sim_rss_mb", "peak memory, simulated organisation (MB)", ""),
    ("sim_cpu_s", "simulator's time answering, cold start (s)", ""),
    ("sim_process_cpu_s", "simulator process CPU, the whole mode (s)", ""),
)


def table(results: list[dict[str, Any]]) -> str:
    header = f"{'':46}" + "".join(f"{r['mode']:>14}" for r in results) + "  target"
    lines = [header, "-" * len(header)]
    for key, label, goal in ROWS:
        cells = "".join(f"{_cell(r.get(key)):>14}" for r in results)
        lines.append(f"{label:46}{cells}  {goal}")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4f}" if value < 1 else f"{value:,.2f}"
    return f"{value:,}"


def run_mode(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """One mode: a freshly served organisation (linked for OAM), and sagetop in a process of its
    own against it; its figures, with the simulator's memory and CPU."""
    served = organisation(args.accounts, args.regions, args.endpoints_per_account, mode == "oam",
                          args.latency_ms, args.tps, args.seed)
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    with SimulatedOrgServer(served, now=now) as server:
        cpu_before = server.cpu_s()
        command = [sys.executable, __file__, "--modes", mode, "--urls", ",".join(server.urls),
                   "--now", str(now.timestamp()),
                   "--accounts", str(args.accounts), "--regions", str(args.regions),
                   "--endpoints-per-account", str(args.endpoints_per_account),
                   "--latency-ms", str(args.latency_ms), "--tps", str(args.tps),
                   "--visible", str(args.visible), "--seed", str(args.seed)]
        figures = child_figures(command, f"bench/accounts.py: the {mode} mode")
        cpu_after = server.cpu_s()
        figures["sim_rss_mb"] = round(server.rss_mb() or 0.0, 1) or None
        figures["sim_process_cpu_s"] = (round(cpu_after - cpu_before, 2)
                                        if cpu_before is not None and cpu_after is not None
                                        else None)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=50, help="accounts (default 50)")
    parser.add_argument("--regions", type=int, default=3, help="regions each (default 3)")
    parser.add_argument("--endpoints-per-account", type=int, default=70,
                        help="endpoints per account and region (default 70)")
    parser.add_argument("--modes", default="oam,per-account",
                        help="oam, per-account or both (default both, one process each)")
    parser.add_argument("--json", action="store_true", help="one JSON object per mode")
    parser.add_argument("--latency-ms", type=float, default=20.0,
                        help="simulated round trip per request (default 20 ms)")
    parser.add_argument("--tps", type=float, default=50.0,
                        help="GetMetricData transactions per second, per account (AWS: 50)")
    parser.add_argument("--visible", type=int, default=20, help="rows on screen (default 20)")
    parser.add_argument("--seed", type=int, default=7)
    # One mode's sagetop against a served organisation (the benchmark runs itself so): not for
    # use by hand.
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--now", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    modes = [m.strip() for m in str(args.modes).split(",") if m.strip()]
    if not modes or any(m not in ("oam", "per-account") for m in modes):
        parser.error("--modes: oam, per-account, or both separated by a comma")
    if min(args.accounts, args.regions, args.endpoints_per_account) < 1:
        parser.error("--accounts, --regions and --endpoints-per-account must be at least 1")
    if args.urls:  # one mode's sagetop, in this process (the benchmark runs itself so)
        served = organisation(args.accounts, args.regions, args.endpoints_per_account,
                              modes == ["oam"], args.latency_ms, args.tps, args.seed)
        figures = asyncio.run(bench(served, str(args.urls).split(","),
                                    dt.datetime.fromtimestamp(args.now, dt.UTC), args.visible))
        print(json.dumps(figures))
        return 0
    results = []
    for mode in modes:
        try:
            figures = run_mode(mode, args)
        except SimServerError as exc:
            print(f"bench/accounts.py: {exc}", file=sys.stderr)
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
