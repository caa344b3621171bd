"""`sagetop demo` for real: the console entry point in a pseudo-terminal, read like a user would,
and left the way a supervisor or a closed terminal makes it leave (SIGTERM, SIGHUP)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import termios
from pathlib import Path

import pexpect  # type: ignore[import-untyped]
import pytest

REPO = Path(__file__).resolve().parents[1]
ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>]")


def test_demo_opens_in_a_terminal_shows_the_fleet_and_quits_with_q(tmp_path: Path) -> None:
    # NO_COLOR and an 80x24 xterm: the plainest terminal the dashboard promises to work in.
    env = {**os.environ, "TERM": "xterm-256color", "NO_COLOR": "1", "COLUMNS": "80",
           "LINES": "24", "PYTHONPATH": str(REPO)}
    child = pexpect.spawn(sys.executable, ["-m", "sagetop", "demo"], cwd=str(tmp_path), env=env,
                          dimensions=(24, 80), timeout=30)
    try:
        screen = b""
        for _ in range(120):
            with contextlib.suppress(pexpect.TIMEOUT):
                screen += child.read_nonblocking(65536, timeout=0.5)
            plain = ANSI.sub(b"", screen)
            if b"DEMO" in plain and b"checkout-upsell-prod" in plain:
                break
        plain = ANSI.sub(b"", screen)
        assert b"DEMO" in plain, plain[-2000:]
        assert b"checkout-upsell-prod" in plain, plain[-2000:]
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
    child = pexpect.spawn(sys.executable, ["-m", "sagetop", "demo"], cwd=str(tmp_path), env=env,
                          dimensions=(24, 80), timeout=30)
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
