"""`sagetop demo` for real: the console entry point in a pseudo-terminal, read like a user would."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from pathlib import Path

import pexpect  # type: ignore[import-untyped]

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
