"""`sagetop demo` for real: the console entry point in a pseudo-terminal, read like a user would,
and left the way a supervisor or a closed terminal makes it leave (SIGTERM, SIGHUP)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import pexpect  # type: ignore[import-untyped]
import pytest

REPO = Path(__file__).resolve().parents[1]
ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>]")


def _top_plan() -> tuple[str, str]:
    """The demo endpoint whose plan saves most, and that saving as the pane words it: derived
    from the analysis of the account `sagetop demo` opens, so a change of plan does not need
    the test rewritten."""
    import asyncio

    from collectors.aws import AwsContext, AwsTarget
    from collectors.fleet import FleetCollector
    from ground.config import AwsSettings
    from pipeline.analysis import Analyst
    from simulator import SimulatedAccount

    account = SimulatedAccount(seed=7, regions=("us-east-1",))
    target = AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)

    async def collect() -> Any:
        async with AwsContext(AwsSettings(), target) as aws:
            return await FleetCollector(aws).collect(force=True)

    analysis = Analyst().analyse(asyncio.run(collect()))
    top = max(analysis.endpoints.values(), key=lambda a: a.monthly_savings_usd)
    return top.key.split("/", 1)[1], f"${top.monthly_savings_usd:,.0f}/month"


def _spawn(cwd: Path, env: dict[str, str]) -> pexpect.spawn:
    # An 80x24 xterm: what an SSH session on a laptop gets.
    return pexpect.spawn(sys.executable, ["-m", "sagetop", "demo"], cwd=str(cwd), env=env,
                         dimensions=(24, 80), timeout=30)


class Screen:
    """What the terminal has been sent, escape sequences removed."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.seen = b""

    def wait_for(self, *texts: bytes, rounds: int = 120) -> bytes:
        start = len(self.seen)
        for _ in range(rounds):
            with contextlib.suppress(pexpect.TIMEOUT):
                self.seen += self.child.read_nonblocking(65536, timeout=0.5)
            plain = ANSI.sub(b"", self.seen[start:])
            if all(text in plain for text in texts):
                return plain
        plain = ANSI.sub(b"", self.seen[start:])
        raise AssertionError(f"never saw {texts!r}: ...{plain[-1500:]!r}")


def test_demo_opens_in_a_terminal_shows_the_fleet_and_quits_with_q(tmp_path: Path) -> None:
    # NO_COLOR and LANG=C: the plainest terminal the dashboard promises to work in.
    env = {**os.environ, "TERM": "xterm-256color", "NO_COLOR": "1", "LANG": "C", "LC_ALL": "C",
           "COLUMNS": "80", "LINES": "24", "PYTHONPATH": str(REPO)}
    child = _spawn(tmp_path, env)
    try:
        plain = Screen(child).wait_for(b"DEMO", b"churn-predictor-prod", b"$/month")
        assert all(byte < 128 for byte in plain), "non-ASCII sent to a LANG=C terminal"
        child.send("q")
        child.expect(pexpect.EOF, timeout=15)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


# What a terminal needs back when the dashboard leaves: the main screen, the cursor, no mouse.
RESTORED = (b"\x1b[?1049l", b"\x1b[?25h", b"\x1b[?1000l", b"\x1b[?1003l", b"\x1b[?1006l")


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_a_termination_signal_gives_the_terminal_back(tmp_path: Path, signal_name: str) -> None:
    # Killed by a supervisor (SIGTERM) or by its terminal closing (SIGHUP), the dashboard must
    # not leave the terminal raw: no echo, the alternate screen, mouse reports as garbage.
    env = {**os.environ, "TERM": "xterm-256color", "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    child = _spawn(tmp_path, env)
    try:
        assert termios.tcgetattr(child.child_fd)[3] & termios.ECHO
        screen = b""
        for _ in range(120):
            with contextlib.suppress(pexpect.TIMEOUT):
                screen += child.read_nonblocking(65536, timeout=0.5)
            if b"checkout-upsell-prod" in ANSI.sub(b"", screen):
                break
        assert b"\x1b[?1049h" in screen and b"\x1b[?1000h" in screen  # it did take the terminal
        assert not termios.tcgetattr(child.child_fd)[3] & termios.ECHO
        after = b""
        child.kill(getattr(signal, signal_name))
        with contextlib.suppress(pexpect.EOF):
            for _ in range(60):
                with contextlib.suppress(pexpect.TIMEOUT):
                    after += child.read_nonblocking(65536, timeout=0.5)
        assert all(sequence in after for sequence in RESTORED), after[-400:]
        assert termios.tcgetattr(child.child_fd)[3] & termios.ECHO  # echo is back
    finally:
        child.close(force=True)
    assert child.exitstatus == 128 + getattr(signal, signal_name)


def test_the_one_minute_task_in_a_pseudo_terminal_at_80x24(tmp_path: Path) -> None:
    """Sort by saving, open the top endpoint, see why, accept, export: four keys, and nothing
    written into the directory sagetop was started in (a git checkout here)."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    data = tmp_path / "data"
    env = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8", "COLUMNS": "80",
           "LINES": "24", "PYTHONPATH": str(REPO), "XDG_DATA_HOME": str(data),
           "XDG_STATE_HOME": str(tmp_path / "state")}
    env.pop("NO_COLOR", None)
    child = _spawn(checkout, env)
    screen = Screen(child)
    try:
        screen.wait_for(b"Save/mo", b"over-provisioned", b"plans save $")
        child.send("$")
        screen.wait_for(b"sorted by Save/mo")
        child.send("\r")
        # The top endpoint by plan saving, and the plan's saving in the pane's title.
        top, saving = _top_plan()
        screen.wait_for(top.encode(), f"plan saves {saving}".encode())
        child.send("a")
        screen.wait_for(b"Accepted", b"instance type")
        child.send("e")
        screen.wait_for(b"written to")
        child.send("\x1b")
        screen.wait_for(b"Worst finding")
        child.send("q")
        child.expect(pexpect.EOF, timeout=15)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    written = [p for p in (data / "sagetop" / "profiles").rglob("*") if p.is_file()]
    assert written and all(top in str(p) for p in written)
    assert sorted(p.name for p in checkout.iterdir()) == [".git"]  # nothing left in the checkout
