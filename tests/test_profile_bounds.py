"""Hostile profile files: bounded in what they cost, one short line each, exit 2 (never 1).

`profile diff` exits 1 for "the files differ", so a file that cannot be read must not end in 1 (or
in a traceback). Every case below goes through `profile validate` and `profile diff`.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from profiles.files import MAX_PROFILE_BYTES
from sagetop.cli import main

LAUGHS = "".join(
    f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]\n" for level in range(1, 10))
CASES = {
    # 9 levels of 9 aliases: a few hundred bytes that expand to 387 million values.
    "billion-laughs": ("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + LAUGHS,
                       "expands to more than 100,000 values"),
    "deep-nesting": ("[" * 100_000 + "]" * 100_000, "nested more than 64 levels deep"),
    "deep-mappings": ("a:\n" + "".join("  " * i + "b:\n" for i in range(1, 200)),
                      "nested more than 64 levels deep"),
    "complex-key": ("? [endpoint, region]\n: fraud\n", "a key must be a plain name"),
    "mapping-key": ("? {a: 1}\n: fraud\n", "a key must be a plain name"),
    "huge-integer": ("schema_version: " + "9" * 100_000 + "\n",
                     "a number of more than 30 digits"),
    "infinity": ("schema_version: .inf\n", "not a finite number"),
    "impossible-date": ("generated_at: !!timestamp 2026-02-30\n",
                        "'2026-02-30' is not a real date and time"),
    "too-large": ("#" * (MAX_PROFILE_BYTES + 1), "larger than 1,000,000 bytes"),
    "long-value": ("schema_version: '" + "x" * 500_000 + "'\n", "(500,000 characters)"),
}


@pytest.fixture(scope="module")
def good_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export")
    assert main(["snapshot", "--demo", "-o", str(out)]) == 0
    return next(out.rglob("web-ranker-prod.current.yaml"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_file_is_one_short_line_and_exit_2(
        tmp_path: Path, good_profile: Path, capsys: pytest.CaptureFixture[str],
        case: str) -> None:
    content, expected = CASES[case]
    hostile = tmp_path / f"{case}.yaml"
    hostile.write_text(content)
    capsys.readouterr()
    tracemalloc.start()
    started = time.monotonic()
    try:
        assert main(["profile", "validate", str(hostile)]) == 2
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"sagetop: error: {hostile}: "), err[:300]
    assert expected in err, err[:300]
    assert len(err) < len(str(hostile)) + 200  # the value is quoted a few dozen characters long
    assert peak < 200_000_000, f"{peak / 1e6:.0f} MB"  # was 1 GB for the billion laughs
    assert elapsed < 20  # generous: the point is "not minutes"
    # diff: 2 for a file that cannot be read, whichever side it is on; 1 means "they differ".
    assert main(["profile", "diff", str(good_profile), str(hostile)]) == 2
    assert main(["profile", "diff", str(hostile), str(good_profile)]) == 2
    assert capsys.readouterr().err.count("\n") == 2


def test_an_impossible_date_in_a_real_profile_names_the_field(
        tmp_path: Path, good_profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = good_profile.read_text()
    lines = [line for line in text.splitlines() if line.startswith("generated_at:")]
    assert lines
    edited = tmp_path / "edited.yaml"
    edited.write_text(text.replace(lines[0], "generated_at: 2026-02-30T10:00:00Z"))
    assert main(["profile", "validate", str(edited)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "generated_at: expected a date-time" in err, err


def test_anchors_within_the_bounds_still_read(
        tmp_path: Path, good_profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A hand-edited file may use an anchor for a repeated block: that is YAML, not an attack.
    text = good_profile.read_text().replace("tags:\n", "tags: &shared\n", 1)
    edited = tmp_path / "anchored.yaml"
    edited.write_text(text)
    assert main(["profile", "validate", str(edited)]) == 0
    assert main(["profile", "diff", str(good_profile), str(edited)]) == 0
    capsys.readouterr()
