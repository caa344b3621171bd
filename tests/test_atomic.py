"""ground.atomic on real files: content, idempotency, failures, and a real SIGKILL mid-export."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from ground.atomic import write_atomic, write_files_atomically
from ground.errors import SagetopError


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if p.name.endswith(".sagetop-tmp"))


def test_write_atomic_creates_parents_and_writes_text_and_bytes(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "profile.yaml"
    write_atomic(target, "name: fraud\n")
    assert target.read_text("utf-8") == "name: fraud\n"
    write_atomic(target, b"\x00\x01binary")
    assert target.read_bytes() == b"\x00\x01binary"
    assert leftovers(tmp_path) == []


def test_write_atomic_respects_umask_not_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "f.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "f.json").stat().st_mode & 0o777 == 0o644


def test_export_writes_all_files_and_is_idempotent(tmp_path: Path) -> None:
    files: dict[Path, bytes | str] = {
        tmp_path / "p" / "current.yaml": "current\n",
        tmp_path / "p" / "target.yaml": b"target\n",
        tmp_path / "rationale.md": "why\n",
    }
    assert sorted(write_files_atomically(files)) == sorted(files)
    assert (tmp_path / "p" / "target.yaml").read_bytes() == b"target\n"
    mtimes = {p: p.stat().st_mtime_ns for p in files}

    assert write_files_atomically(files) == []  # nothing changed: nothing rewritten
    assert {p: p.stat().st_mtime_ns for p in files} == mtimes

    changed = dict(files)
    changed[tmp_path / "rationale.md"] = "why, revised\n"
    assert write_files_atomically(changed) == [tmp_path / "rationale.md"]
    assert (tmp_path / "rationale.md").read_text("utf-8") == "why, revised\n"
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root ignores directory permissions")
def test_read_only_directory_is_one_clear_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "old.yaml").write_text("old\n")
    locked.chmod(0o555)
    try:
        with pytest.raises(SagetopError) as raised:
            write_atomic(locked / "old.yaml", "new\n")
        assert str(raised.value) == f"cannot write {locked / 'old.yaml'}: permission denied"
        with pytest.raises(SagetopError, match="permission denied"):
            write_files_atomically({locked / "old.yaml": "new\n", tmp_path / "ok.yaml": "x"})
        assert (locked / "old.yaml").read_text() == "old\n"
        assert not (tmp_path / "ok.yaml").exists()
    finally:
        locked.chmod(0o755)
    assert leftovers(tmp_path) == []


def test_reason_read_only_file_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> int:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(SagetopError) as raised:
        write_atomic(tmp_path / "x.json", "{}")
    assert str(raised.value) == f"cannot write {tmp_path / 'x.json'}: read-only file system"


def _previous_export(tmp_path: Path) -> dict[Path, str]:
    old = {tmp_path / f"file{i}.yaml": f"old {i}\n" for i in range(3)}
    write_files_atomically(dict(old))
    return old


def test_disk_full_while_writing_second_file_keeps_previous_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _previous_export(tmp_path)
    real_fsync = os.fsync
    calls = {"n": 0}

    def fsync_then_fail(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the second temporary file
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_then_fail)
    new: dict[Path, bytes | str] = {path: f"new {i}\n" for i, path in enumerate(old)}
    with pytest.raises(SagetopError) as raised:
        write_files_atomically(new)
    assert str(raised.value) == f"cannot write {tmp_path / 'file1.yaml'}: no space left on device"
    assert {p: p.read_text() for p in old} == old
    assert leftovers(tmp_path) == []


def test_rename_failing_half_way_restores_files_already_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _previous_export(tmp_path)
    real_replace = os.replace
    calls = {"n": 0}

    def replace_then_fail(src: Any, dst: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_fail)
    new: dict[Path, bytes | str] = {path: f"new {i}\n" for i, path in enumerate(old)}
    new[tmp_path / "brand-new.yaml"] = "did not exist before\n"
    with pytest.raises(SagetopError, match=r"cannot write .*file1\.yaml: input/output error"):
        write_files_atomically(new)
    assert {p: p.read_text() for p in old} == old
    assert not (tmp_path / "brand-new.yaml").exists()
    assert leftovers(tmp_path) == []


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ground.atomic import write_files_atomically

    out = Path(sys.argv[1])
    size = int(sys.argv[2])
    generation = 0
    while True:
        generation += 1
        files = {out / f"part{i}.bin": bytes([generation % 251]) * size for i in range(4)}
        write_files_atomically(files)
        print(generation, flush=True)
    """
)


@pytest.mark.parametrize("delay_s", [0.05, 0.17, 0.33])
def test_sigkill_mid_export_leaves_only_complete_files(tmp_path: Path, delay_s: float) -> None:
    out = tmp_path / "export"
    size = 4 * 1024 * 1024
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(out), str(size)],
        stdout=subprocess.PIPE, env=env,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == b"1"  # one complete export exists
        time.sleep(delay_s)  # now it is somewhere inside a later export
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL

    parts = sorted(out.glob("part*.bin"))
    assert [p.name for p in parts] == [f"part{i}.bin" for i in range(4)]
    for part in parts:
        data = part.read_bytes()
        assert len(data) == size, f"{part.name} is partial"
        assert data == bytes([data[0]]) * size, f"{part.name} mixes two versions"
    # Temporaries of the killed export may remain (nothing can clean up after SIGKILL), but only
    # under hidden names that no reader of the export looks for.
    assert all(name.startswith(".part") for name in leftovers(out))
    # The next export into the directory sweeps what the killed one left: its writer is gone.
    write_files_atomically({out / "part0.bin": b"next"})
    assert leftovers(out) == []


def test_sweep_removes_only_sagetops_own_stale_temporaries(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)  # a process that has exited
    stale = tmp_path / f".fleet-summary.md.{dead_pid}.0123456789ab.sagetop-tmp"
    live = tmp_path / f".a.yaml.{os.getpid()}.abcdef012345.sagetop-tmp"  # an export running now
    old_format = tmp_path / ".b.yaml.fedcba987654.sagetop-tmp"  # no pid: judged by its age
    fresh_old_format = tmp_path / ".c.yaml.aaaaaaaaaaaa.sagetop-tmp"
    foreign = [tmp_path / ".notes.sagetop-tmp", tmp_path / "report.yaml",
               tmp_path / f".x.{dead_pid}.0123456789ab.sagetop-tmp.keep"]
    for path in (stale, live, old_format, fresh_old_format, *foreign):
        path.write_text("x")
    an_hour_ago = time.time() - 3700
    os.utime(old_format, (an_hour_ago, an_hour_ago))

    write_files_atomically({tmp_path / "a.yaml": "new\n"})

    assert not stale.exists() and not old_format.exists()
    assert live.exists() and fresh_old_format.exists()
    assert all(path.exists() for path in foreign)
    assert (tmp_path / "a.yaml").read_text() == "new\n"


_TERMINATED_WRITER = textwrap.dedent(
    """
    import signal, sys, time
    from pathlib import Path
    import ground.atomic as atomic
    from sagetop.cli import _termination_unwinds

    write_temp = atomic._write_temp
    def slow(path, data):
        time.sleep(0.01)  # a slow disk: the signal lands while temporaries are written
        return write_temp(path, data)
    atomic._write_temp = slow
    out = Path(sys.argv[1])
    with _termination_unwinds():
        generation = 0
        while True:
            generation += 1
            atomic.write_files_atomically(
                {out / f"part{i:03d}.txt": f"{generation}\\n" for i in range(200)})
            print(generation, flush=True)
    """
)


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_a_termination_signal_mid_export_leaves_no_temporaries(
        tmp_path: Path, signal_name: str) -> None:
    out = tmp_path / "export"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    writer = subprocess.Popen([sys.executable, "-c", _TERMINATED_WRITER, str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == b"1"  # one complete export exists
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(leftovers(out)) < 20:
            time.sleep(0.005)  # well into writing the next export's temporaries
        assert leftovers(out), "never caught the export writing"
        writer.send_signal(getattr(signal, signal_name))
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 128 + getattr(signal, signal_name)
    assert leftovers(out) == []  # the writer removed its own on the way out
    contents = {p.read_text() for p in out.glob("part*.txt")}
    assert len(list(out.glob("part*.txt"))) == 200 and len(contents) == 1  # one whole export
