"""The dashboard on the simulated account, driven through Textual's Pilot."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from collectors.aws import AwsTarget
from sagetop.config import SagetopConfig
from sagetop.sim import SimulatedAccount
from tui.app import SagetopApp


async def _wait_for_rows(pilot: object, table: DataTable[object], minimum: int) -> None:
    for _ in range(400):
        if table.row_count >= minimum:
            return
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    raise AssertionError(f"the table never reached {minimum} rows")


async def test_demo_dashboard_lists_the_simulated_fleet() -> None:
    account = SimulatedAccount()
    target = AwsTarget(regions=("us-east-1",), simulated=True, prepare_session=account.install)
    app = SagetopApp(config=SagetopConfig(), target=target)
    async with app.run_test(size=(120, 40)) as pilot:
        table: DataTable[object] = app.query_one(DataTable)
        await _wait_for_rows(pilot, table, len(account.fleet))
        assert "DEMO" in app.sub_title
        assert "us-east-1/web-ranker-prod" in {key.value for key in table.rows}
        status = str(app.query_one("#status", Static).render())
        assert "endpoints" in status and "CloudWatch $" in status
        await pilot.press("q")
