"""Warm start against cold, driven through the dashboard's own LiveSession with a state store.

    python -m bench.warm_start --endpoints 1000 --age-minutes 10

A cold session on a simulated account runs to its first whole-fleet refresh and saves the
store; the clock moves on `--age-minutes`; a second session on the same (re-seeded) account
starts from the store. Printed: how long the warm session takes to yield the stored rows, to
have their findings (analysed as the app does), and the CloudWatch charge of its first refresh
against the cold one's. Timings are wall-clock on this machine; nothing here is pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.fleet import SimClock
from collectors.aws import AwsContext, AwsTarget
from ground.config import SagetopConfig
from pipeline.analysis import Analyst
from pipeline.live import Collected, LiveSession, Restored
from pipeline.store import StateStore
from simulator import SimulatedAccount


async def _session(account: SimulatedAccount, path: Path, analyst: Analyst | None
                   ) -> dict[str, Any]:
    """One session to its first refresh: the times of its events and its CloudWatch charge."""
    clock = account.clock
    assert isinstance(clock, SimClock)
    config = SagetopConfig()
    target = AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)
    store = StateStore(path, identity=f"bench seed {account.seed} size {account.endpoints}")
    session = LiveSession(AwsContext(config.aws, target, config.cost), config.refresh,
                          config.history, clock=clock, pause=clock.pause, store=store)
    figures: dict[str, Any] = {}
    started = time.perf_counter()
    async with contextlib.aclosing(session.events()) as events:
        async for event in events:
            if isinstance(event, Restored):
                figures["rows_s"] = round(time.perf_counter() - started, 3)
                figures["restored_endpoints"] = len(event.fleet.endpoints)
                if analyst is not None:
                    analysis = analyst.analyse(event.fleet)
                    figures["findings_s"] = round(time.perf_counter() - started, 3)
                    figures["findings"] = sum(len(a.findings)
                                              for a in analysis.endpoints.values())
            if isinstance(event, Collected):
                figures["first_refresh_s"] = round(time.perf_counter() - started, 3)
                figures["cw_usd"] = round(session.aws.ledger.cloudwatch_usd, 5)
                figures["describes"] = sum(v for k, v in session.aws.ledger.requests.items()
                                           if k.endswith(":DescribeEndpoint"))
                figures["unconfirmed_after_refresh"] = len(event.fleet.unconfirmed)
                session.stop()
    store.close()
    return figures


async def measure(endpoints: int, seed: int, latency_ms: float, age_minutes: float
                  ) -> dict[str, Any]:
    clock = SimClock()
    # The same account twice (built at the same moment: the same fleet), a new process's view.
    accounts = [SimulatedAccount(endpoints=endpoints, seed=seed, latency_s=latency_ms / 1000,
                                 clock=clock) for _ in range(2)]
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fleet-bench.db"
        cold = await _session(accounts[0], path, None)
        size_mb = round(path.stat().st_size / 1e6, 1)
        clock.advance(age_minutes * 60)
        warm = await _session(accounts[1], path, Analyst())
    return {"endpoints": endpoints, "age_minutes": age_minutes, "store_mb": size_mb,
            "cold_first_refresh_s": cold["first_refresh_s"], "cold_cw_usd": cold["cw_usd"],
            "cold_describes": cold["describes"],
            "warm_rows_s": warm.get("rows_s"), "warm_findings_s": warm.get("findings_s"),
            "warm_findings": warm.get("findings"),
            "warm_first_refresh_s": warm["first_refresh_s"], "warm_cw_usd": warm["cw_usd"],
            "warm_describes": warm["describes"],
            "warm_cw_share_pct": round(100 * warm["cw_usd"] / cold["cw_usd"], 1)
            if cold["cw_usd"] else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--age-minutes", type=float, default=10.0)
    args = parser.parse_args()
    result = asyncio.run(measure(args.endpoints, args.seed, args.latency_ms, args.age_minutes))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
