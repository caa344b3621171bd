"""Crash-safe file writing for everything sagetop exports (profiles, rationale, the price cache).

A reader of an exported file must only ever see a complete old version or a complete new one:
each file is written to a temporary sibling, flushed to disk, then renamed over the target (a
rename within one directory is atomic on POSIX filesystems). Temporaries never outlive their
export: a failure or a signal that unwinds the writer removes them, the renames run with
termination signals held (so a SIGTERM lands after the export is complete, not half-way), and
temporaries left by a process that was killed outright (SIGKILL, a power cut) are swept by the
next export into the same directory.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import signal
import time
from collections.abc import Iterator, Mapping
from enum import Enum
from pathlib import Path

from ground.errors import SagetopError

# Temporary files start with a dot so that a listing (or a glob of `*.yaml`) never picks up a
# half-written export, carry the writer's process id, and end with a marker that says whose they
# are: `.<name>.<pid>.<random>.sagetop-tmp`.
_TEMP_SUFFIX = ".sagetop-tmp"
_TEMP_NAME = re.compile(r"^\..+?(?:\.(?P<pid>\d+))?\.[0-9a-f]{12}" + re.escape(_TEMP_SUFFIX) + "$")
# A temporary older than this belongs to no export still running (exports take seconds), even if
# its process id has since been reused.
STALE_AFTER_S = 3600.0
_HELD_SIGNALS = frozenset(s for s in (getattr(signal, name, None)
                                      for name in ("SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT"))
                          if s is not None)

# The reasons users meet in practice, worded as the user would search for them.
_REASONS = {
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "a parent is not a directory",
    errno.EISDIR: "is a directory",
}


def _reason(exc: OSError) -> str:
    if exc.errno in _REASONS:
        return _REASONS[exc.errno]
    if exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


def _as_bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def _temp_path_for(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}{_TEMP_SUFFIX}")


def _process_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def sweep_stale_temporaries(directory: Path, now: float | None = None) -> list[Path]:
    """Remove sagetop's own temporaries in `directory` whose writer is gone; return them.

    Only names that are exactly sagetop's are touched. A temporary of a process still running
    stays unless it is older than `STALE_AFTER_S` (then its process id was reused).
    """
    moment = time.time() if now is None else now
    removed: list[Path] = []
    try:
        candidates = [p for p in directory.iterdir() if p.name.endswith(_TEMP_SUFFIX)]
    except OSError:
        return removed
    for candidate in candidates:
        match = _TEMP_NAME.match(candidate.name)
        if match is None:
            continue
        try:
            info = candidate.lstat()
        except OSError:
            continue
        pid = match.group("pid")
        writer_gone = pid is None or not _process_running(int(pid))
        if (writer_gone and pid is not None) or moment - info.st_mtime > STALE_AFTER_S:
            with contextlib.suppress(OSError):
                candidate.unlink()
                removed.append(candidate)
    return removed


@contextlib.contextmanager
def _termination_held() -> Iterator[None]:
    """Hold termination signals in this thread; they are delivered when the block ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _write_temp(path: Path, data: bytes) -> Path:
    """Write `data` next to `path` under a fresh temporary name, fsynced; return that name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_path_for(path)
    # O_EXCL: never reuse (or follow a symlink planted at) an existing name. Mode 0o666 lets the
    # umask decide the permissions, as for any file the user creates; mkstemp would force 0o600.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _remove_quietly(temp)
        raise
    os.close(fd)
    return temp


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable: without this a power cut can undo it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # platforms that cannot open directories offer no stronger guarantee to ask for
    try:
        os.fsync(fd)
    except OSError:
        # Some filesystems (several network ones) refuse fsync on a directory. The rename is
        # already done and visible; failing the export now would report a write that happened.
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data` atomically, creating parent directories.

    Raises `SagetopError("cannot write <path>: <reason>")` on any OSError, leaving the previous
    file (if any) untouched and no temporary file behind.
    """
    payload = _as_bytes(data)
    sweep_stale_temporaries(path.parent)
    try:
        temp = _write_temp(path, payload)
    except OSError as exc:
        raise SagetopError(f"cannot write {path}: {_reason(exc)}") from None
    try:
        with _termination_held():
            os.replace(temp, path)
    except OSError as exc:
        _remove_quietly(temp)
        raise SagetopError(f"cannot write {path}: {_reason(exc)}") from None
    except BaseException:
        _remove_quietly(temp)
        raise
    _fsync_directory(path.parent)


class _Unreadable(Enum):
    """A file exists but cannot be read: it must be rewritten, and cannot be restored."""

    TOKEN = "unreadable"


def _current_content(path: Path) -> bytes | _Unreadable | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:
        return _Unreadable.TOKEN


def write_files_atomically(files: Mapping[Path, bytes | str]) -> list[Path]:
    """Write several files as one export: all new versions, or (on failure) all old ones.

    Every temporary file is written and fsynced first; only when all of them exist are they
    renamed into place. Files whose content is already byte-identical are not rewritten, so
    re-running an export changes nothing (mtimes included). Returns the paths written.

    A failure while writing the temporaries removes them all and leaves every previous file as
    it was. A failure during the renames (rare: they are metadata-only operations in one
    directory per file) puts back the previous content of the files already renamed. Only a
    crash in the middle of the renames can leave a mix of complete old and complete new files;
    no file is ever partial.
    """
    for directory in dict.fromkeys(path.parent for path in files):
        sweep_stale_temporaries(directory)
    pending: list[tuple[Path, bytes, bytes | _Unreadable | None]] = []
    for path, data in files.items():
        payload = _as_bytes(data)
        previous = _current_content(path)
        if previous != payload:
            pending.append((path, payload, previous))

    temps: list[tuple[Path, Path]] = []
    try:
        for path, payload, _ in pending:
            try:
                temps.append((_write_temp(path, payload), path))
            except OSError as exc:
                raise SagetopError(f"cannot write {path}: {_reason(exc)}") from None
    except BaseException:
        for temp, _ in temps:
            _remove_quietly(temp)
        raise

    renamed: list[Path] = []
    # Renames are metadata only and quick: a termination signal waits for the last of them, so
    # the directory holds the whole new export, never half of it.
    with _termination_held():
        try:
            for index, (temp, path) in enumerate(temps):
                try:
                    os.replace(temp, path)
                except OSError as exc:
                    for leftover, _ in temps[index:]:
                        _remove_quietly(leftover)
                    problem = _roll_back(renamed, {p: previous for p, _, previous in pending})
                    raise SagetopError(f"cannot write {path}: {_reason(exc)}{problem}") from None
                renamed.append(path)
        except BaseException:
            for leftover, _ in temps[len(renamed):]:
                _remove_quietly(leftover)
            raise

    for directory in dict.fromkeys(path.parent for path in renamed):
        _fsync_directory(directory)
    return renamed


def _roll_back(renamed: list[Path], previous: Mapping[Path, bytes | _Unreadable | None]) -> str:
    """Put back what the files renamed so far contained; describe anything that could not be."""
    failed: list[str] = []
    for path in renamed:
        old = previous.get(path)
        if isinstance(old, _Unreadable):
            failed.append(str(path))
            continue
        try:
            if old is None:
                path.unlink()
            else:
                write_atomic(path, old)
        except (OSError, SagetopError):
            failed.append(str(path))
    if not failed:
        return ""
    return f"; could not restore the previous version of {', '.join(failed)}"
