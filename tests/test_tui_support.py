"""Shared set-up of the dashboard tests (none here): the real app, simulated account, fixed time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from aiobotocore.session import AioSession
from textual.pilot import Pilot

from collectors.aws import AwsContext, AwsTarget
from ground.config import AwsSettings, RefreshSettings, SagetopConfig
from pipeline.analysis import Analyst
from pipeline.live import Clock, LiveSession, Pause, wait_or_wake
from simulator import SimulatedAccount
from tui.app import SagetopApp
from tui.look import UNICODE, Glyphs
from tui.screens.fleet import FleetScreen

# A fixed clock for the account and the app: ages read "0s" and every metric is reproducible.
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def fixed_clock() -> dt.datetime:
    return NOW


def demo_app(account: SimulatedAccount | None = None, export_dir: Path | None = None, *,
             clock: Clock = fixed_clock, pause: Pause = wait_or_wake,
             refresh: RefreshSettings | None = None,
             observe: Callable[[AioSession], None] | None = None,
             glyphs: Glyphs = UNICODE) -> tuple[SagetopApp, SimulatedAccount]:
    """The real app on a simulated account, wired as the CLI wires it.

    `clock` and `pause` drive simulated time (the live session waits through `pause`);
    `observe` sees the AWS session before any client exists, to count what is asked.
    """
    account = account or SimulatedAccount(clock=clock)

    def prepare(session: AioSession) -> None:
        account.install(session)
        if observe is not None:
            observe(session)

    target = AwsTarget(regions=account.regions, simulated=True, prepare_session=prepare)
    # No retries: injected faults fail at once instead of backing off for seconds. The cadences
    # are pinned because the header shows them and the snapshots must not follow the defaults.
    config = SagetopConfig(aws=AwsSettings(max_attempts=1),
                           refresh=refresh or RefreshSettings(live_seconds=60, fleet_seconds=900))
    session = LiveSession(AwsContext(config.aws, target, config.cost), config.refresh,
                          config.history, clock=clock, pause=pause)
    # The view is remembered under the test's own XDG_STATE_HOME (conftest), exports go to
    # its XDG_DATA_HOME unless a test says where.
    app = SagetopApp(session, Analyst(), export_dir=export_dir, glyphs=glyphs)
    return app, account


def aws_app(config: SagetopConfig, target: AwsTarget) -> SagetopApp:
    """The real app on `target` (moto, a fake server), wired as the CLI wires it."""
    session = LiveSession(AwsContext(config.aws, target, config.cost), config.refresh,
                          config.history)
    return SagetopApp(session, Analyst())


async def wait_until(pilot: Pilot[None], condition: Callable[[], bool], what: str,
                     timeout_s: float = 20.0) -> None:
    steps = int(timeout_s / 0.05)
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def wait_for_analysis(pilot: Pilot[None]) -> None:
    """Until the latest snapshot is on screen with its analysis and no refresh is under way."""
    app = pilot.app
    assert isinstance(app, SagetopApp)

    def settled() -> bool:
        state = app.state
        fleet_screens = [s for s in app.screen_stack if isinstance(s, FleetScreen)]
        return (state.fleet is not None and state.analysis is not None
                and state.analysis.fleet is state.fleet and not state.refreshing
                and all(s.shows(state.fleet, state.analysis) for s in fleet_screens))

    await wait_until(pilot, settled, "the fleet and its analysis")
    await pilot.pause(0.1)
