"""The dashboard on a simulated organisation: one table for every account, through the Pilot.

Two simulated accounts, each its own session, fleet and quotas; the second one's credentials
have expired. The live one's rows are on screen with their account; the header counts the
accounts and the stale one; the account column exists only while several accounts are watched
and only where it fits. Three accounts linked to the first's CloudWatch sink (OAM): the header
says their metrics come through it, and says nothing of the kind when they are not linked.
"""

from __future__ import annotations

import pytest
from rich.console import Console
from textual.widgets.data_table import ColumnKey

from collectors.aws import AwsTarget
from collectors.oam import ITSELF
from collectors.org import AwsOrganisation
from ground.config import AwsSettings, RefreshSettings, SagetopConfig
from ground.domain import AccountStatus, FleetSnapshot
from pipeline.accounts import account_totals
from pipeline.analysis import Analyst
from pipeline.live import LiveSession
from simulator import SimulatedAccount
from simulator.organisation import Organisation, build_organisation
from tests.test_tui_support import NOW, fixed_clock, wait_for_analysis
from tui.app import SagetopApp
from tui.render import metrics_route_header, summary_view
from tui.rows import columns_for_width
from tui.screens.fleet import FleetScreen
from tui.table_model import GroupBy
from tui.widgets.chrome import HeaderLine
from tui.widgets.fleet.table import FleetTable


def _org_app() -> tuple[SagetopApp, list[SimulatedAccount]]:
    accounts = [SimulatedAccount(endpoints=4, seed=7 + i, clock=fixed_clock,
                                 account_id=f"{100000000001 + i:012d}") for i in range(2)]
    accounts[1].faults.expire_credentials()
    targets = [AwsTarget(regions=a.regions, simulated=True, account=f"team-{i + 1}",
                         prepare_session=a.install) for i, a in enumerate(accounts)]
    config = SagetopConfig(aws=AwsSettings(max_attempts=1),
                           refresh=RefreshSettings(live_seconds=60, fleet_seconds=900))
    session = LiveSession(AwsOrganisation(config.aws, targets, config.cost), config.refresh,
                          config.history, clock=fixed_clock)
    return SagetopApp(session, Analyst()), accounts


async def test_one_table_for_the_live_accounts_the_expired_one_stale() -> None:
    app, _ = _org_app()
    async with app.run_test(size=(170, 30)) as pilot:
        await wait_for_analysis(pilot)
        fleet = app.state.fleet
        assert fleet is not None
        assert [(a.name, a.stale) for a in fleet.accounts] == [("team-1", False),
                                                              ("team-2", True)]
        assert {e.account for e in fleet.endpoints} == {"team-1"} and len(fleet.endpoints) == 4
        assert "2 accounts, 1 stale" in str(app.screen.query_one(HeaderLine).render())
        table = app.screen.query_one(FleetTable)
        assert ColumnKey("account") in table.columns
        screen = app.screen
        assert isinstance(screen, FleetScreen)
        assert {row.account for row in screen.rows} == {"team-1"}
        # Grouping offers the account once several are watched.
        seen = []
        for _ in range(4):
            await pilot.press("g")
            await pilot.pause()
            seen.append(screen.view.group)
        assert GroupBy.ACCOUNT in seen
        # The summary: each account's totals, the stale one saying why; they add up.
        analysis = app.state.analysis
        assert analysis is not None
        console = Console(width=160, record=True)
        console.print(summary_view(analysis, fleet, True))
        text = console.export_text()
        assert "By account" in text and "team-1" in text and "live" in text
        assert "team-2" in text and "stale: AWS credentials expired" in text
        totals = account_totals(fleet, analysis)
        assert sum(t.monthly_cost_usd for t in totals) == \
            pytest.approx(analysis.total_monthly_cost_usd)


def _linked_org_app(linked: bool) -> SagetopApp:
    organisation = Organisation(accounts=3, endpoints_per_region=2, seed=11, linked=linked,
                                label="team")
    accounts = build_organisation(organisation, fixed_clock)
    targets = [AwsTarget(regions=organisation.regions, simulated=True, account=name,
                         prepare_session=account.install)
               for name, account in zip(organisation.names, accounts, strict=True)]
    config = SagetopConfig(refresh=RefreshSettings(live_seconds=60, fleet_seconds=900))
    session = LiveSession(AwsOrganisation(config.aws, targets, config.cost), config.refresh,
                          config.history, clock=fixed_clock)
    return SagetopApp(session, Analyst())


async def test_the_header_says_when_metrics_come_through_a_monitoring_account() -> None:
    app = _linked_org_app(linked=True)
    async with app.run_test(size=(120, 24)) as pilot:
        await wait_for_analysis(pilot)
        fleet = app.state.fleet
        assert fleet is not None
        assert [a.metrics_via is not None for a in fleet.accounts] == [True, True, True]
        header = app.screen.query_one(HeaderLine)
        assert "metrics via team-01 (OAM) for 2 accounts" in str(header.render())
        # An 80-column screen keeps the route, without its count, and the data's age.
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        line = str(header.render())
        assert "metrics via team-01 (OAM)" in line and "for 2 accounts" not in line
        assert "data 0s old" in line and len(line) <= 80

    app = _linked_org_app(linked=False)
    async with app.run_test(size=(120, 24)) as pilot:
        await wait_for_analysis(pilot)
        line = str(app.screen.query_one(HeaderLine).render())
        assert "3 accounts" in line and "metrics via" not in line and "OAM" not in line


def test_the_header_route_counts_the_sources_and_names_two_monitors_at_most() -> None:
    def fleet(*via: tuple[str, str | None]) -> FleetSnapshot:
        return FleetSnapshot(collected_at=NOW, account_id=None, regions=("us-east-1",),
                             accounts=tuple(AccountStatus(name=n, metrics_via=v) for n, v in via))

    assert metrics_route_header(fleet(("ops", ITSELF), ("a", "ops"), ("b", None))) == \
        "metrics via ops (OAM) for 1 account"
    assert metrics_route_header(fleet(("ops", ITSELF), ("a", "ops"), ("b", None)),
                                short=True) == "metrics via ops (OAM)"
    assert metrics_route_header(fleet(("x", ITSELF), ("y", ITSELF), ("a", "x"), ("b", "y"))) \
        == "metrics via x, y (OAM) for 2 accounts"
    assert metrics_route_header(fleet(*((m, ITSELF) for m in "xyz"), ("a", "x"), ("b", "y"),
                                      ("c", "z"))) == \
        "metrics via 3 monitoring accounts (OAM) for 3 accounts"
    # A monitoring account no watched account is linked to routes nothing.
    assert metrics_route_header(fleet(("ops", ITSELF), ("b", None))) is None
    assert metrics_route_header(fleet(("a", None), ("b", None))) is None


def test_the_account_column_only_with_several_accounts_and_past_80_cells() -> None:
    assert "account" not in {c.key for c in columns_for_width(200)}
    assert "account" in {c.key for c in columns_for_width(200, accounts=True)}
    assert "account" not in {c.key for c in columns_for_width(80, accounts=True)}
    assert [c.key for c in columns_for_width(80, accounts=True)] == \
        [c.key for c in columns_for_width(80)]
