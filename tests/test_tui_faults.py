"""The dashboard when AWS cannot be had: no credentials, no region, a server that never answers.

Each says so in the header, counts as an error in the status line and explains itself on the
problem line, through the real app (Pilot) against moto or a fake server.
"""

from __future__ import annotations

import time

import pytest

from collectors.aws import AwsTarget
from ground.config import SagetopConfig
from tests.conftest import REGION, Moto
from tests.fake_servers import fake_aws
from tests.test_tui_support import aws_app, wait_until
from tui.app import SagetopApp
from tui.widgets.chrome import HeaderLine, ProblemLine, StatusLine


def _text(app: SagetopApp, widget: type[HeaderLine | StatusLine | ProblemLine]) -> str:
    return str(app.screen.query_one(widget).render())


async def test_no_credentials_is_in_the_header_and_counted(
        moto: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    app = aws_app(SagetopConfig(), AwsTarget(regions=(REGION,), endpoint_url=moto.url))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.state.missing == "credentials", "the failed refresh")
        await pilot.pause(0.1)
        assert "NO CREDENTIALS" in _text(app, HeaderLine)
        assert "STALE" in _text(app, HeaderLine)
        assert "1 errors" in _text(app, StatusLine)
        assert "no AWS credentials found" in _text(app, ProblemLine)
    assert moto.log == []  # nothing was sent unsigned


async def test_no_region_is_in_the_header_and_counted(
        moto: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    app = aws_app(SagetopConfig(), AwsTarget(endpoint_url=moto.url))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.state.failure is not None, "the failure")
        await pilot.pause(0.1)
        header = _text(app, HeaderLine)
        assert "NO REGION" in header and "NO DATA" in header
        assert "1 error" in _text(app, StatusLine)
        assert "no AWS region" in _text(app, ProblemLine)


async def test_a_silent_server_marks_the_dashboard_stale_once_an_answer_is_overdue() -> None:
    # The mechanism, at a read timeout of 2 s: no answer for longer than an answer may take is
    # shown at once, while the refresh still waits. At the defaults (20 s against a 60 s refresh,
    # tests/test_faults.py) that is within one refresh interval.
    config = SagetopConfig.model_validate({"aws": {"read_timeout_s": 2}})
    with fake_aws(answer=None) as server:
        app = aws_app(config, AwsTarget(regions=(REGION,), endpoint_url=server.url))
        async with app.run_test(size=(160, 48)) as pilot:
            started = time.monotonic()
            await wait_until(pilot, lambda: app.state.unanswered_s is not None, "overdue",
                             timeout_s=10)
            overdue_after = time.monotonic() - started
            await pilot.pause(0.1)
            assert app.state.stale and app.state.refreshing
            assert "NO DATA" in _text(app, HeaderLine)
            assert "no answer from AWS for" in _text(app, ProblemLine)
            assert app.state.unanswered_s is not None
            assert app.state.unanswered_s >= config.aws.read_timeout_s
            assert overdue_after < config.aws.read_timeout_s + 3
            # The refresh then gives up with its own error, naming the URL.
            await wait_until(pilot, lambda: app.state.fleet is not None and not app.state.partial,
                             "the failed refresh",
                             timeout_s=20)
            await pilot.pause(0.1)
            assert app.state.unanswered_s is None and app.state.stale
            assert f"no answer from {server.url}" in _text(app, ProblemLine)
