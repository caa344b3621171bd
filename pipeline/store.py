"""The local state store: one SQLite file per watched account-and-region set, no server to run.

It keeps what a start would otherwise ask AWS for again: the described inventory (by ARN, with
the LastModifiedTime it was described at), tags and scaling with their fetch time, the lookback
statistics and the hourly and minute series with the range they cover, and one fleet record a
day for the history. Every read is validated: a file that is not SQLite, is damaged, or comes
from an unknown schema is set aside (renamed, kept for inspection) and rebuilt from AWS, with a
one-line notice. Writes are transactions (a kill mid-write leaves the last committed state), in
WAL mode with a busy timeout so two sagetop processes can share a file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from collectors.state import (
    CollectorState,
    InventoryState,
    MetricsState,
    StoredComponent,
    StoredEndpoint,
)
from ground import locations
from ground.domain import (
    AutoscalingInfo,
    AwsVerdict,
    EndpointSnapshot,
    InferenceComponentSnapshot,
    ModelMonitorState,
    ProvisioningRow,
    RecommenderJob,
    VerdictSourceStatus,
)
from ground.errors import SagetopError

SCHEMA_VERSION = 2
STORE_PREFIX = "fleet-"
STORE_SUFFIX = ".db"
SET_ASIDE_MARK = ".set-aside-"
_SQLITE_HEADER = b"SQLite format 3\x00"
_TIER_FRAMES = ("hourly", "live")


class StoreError(SagetopError):
    """The store cannot be used now (disk full, locked past the timeout): one line."""


def store_file_name(identity: str) -> str:
    """The file of one watched set, named from what is known before any AWS call."""
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
    return f"{STORE_PREFIX}{digest}{STORE_SUFFIX}"


def store_files(directory: Path) -> list[Path]:
    """sagetop's own files in `directory`: stores, their WAL and shared memory, set-aside ones."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir()
                  if p.is_file() and p.name.startswith(STORE_PREFIX)
                  and STORE_SUFFIX in p.name)


# The schema, step by step ---------------------------------------------------------------------

_V1 = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # One row per described endpoint and component, keyed by ARN; rewritten only when the
    # listing's LastModifiedTime, status or creation time moves (configs and models are
    # immutable, joined into the body).
    "CREATE TABLE endpoints (account TEXT NOT NULL, region TEXT NOT NULL, arn TEXT NOT NULL, "
    "name TEXT NOT NULL, last_modified TEXT NOT NULL, status TEXT NOT NULL, created TEXT, "
    "body TEXT NOT NULL, PRIMARY KEY (account, region, arn))",
    "CREATE TABLE components (account TEXT NOT NULL, region TEXT NOT NULL, arn TEXT NOT NULL, "
    "name TEXT NOT NULL, last_modified TEXT NOT NULL, status TEXT NOT NULL, "
    "body TEXT NOT NULL, PRIMARY KEY (account, region, arn))",
    # Per region: listing order, tags, scaling, config history, artefact sizes; their fetch time.
    "CREATE TABLE regions (account TEXT NOT NULL, region TEXT NOT NULL, fetched_at TEXT, "
    "body TEXT NOT NULL, PRIMARY KEY (account, region))",
    # One row per series frame: columns as JSON, timestamps and values as packed arrays.
    "CREATE TABLE series (account TEXT NOT NULL, tier TEXT NOT NULL, series TEXT NOT NULL, "
    "start TEXT, end TEXT, columns TEXT NOT NULL, stamps BLOB NOT NULL, vals BLOB NOT NULL, "
    "PRIMARY KEY (account, tier, series))",
    # Per account: window statistics, series progress, and the other parts' last good state.
    "CREATE TABLE parts (account TEXT PRIMARY KEY, body TEXT NOT NULL)",
)
# v2: one fleet record a day, for the history.
_V2 = ("CREATE TABLE days (day TEXT PRIMARY KEY, payload TEXT NOT NULL, saved_at TEXT NOT NULL)",)
MIGRATIONS: dict[int, tuple[str, ...]] = {0: _V1, 1: _V2}  # from version -> statements


# Validated shapes of what is read back ----------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _RegionBody(_Strict):
    listed: tuple[str, ...] = ()
    components_by_endpoint: dict[str, tuple[str, ...]] = {}
    tags: dict[str, dict[str, str]] = {}
    autoscaling: dict[str, AutoscalingInfo] = {}
    config_history: dict[str, tuple[dt.datetime, ...]] = {}
    model_sizes: dict[str, int | None] = {}


class _PartsBody(_Strict):
    account_id: str | None = None
    window: list[tuple[str, str, dict[str, float | None]]] = []
    window_at: dict[str, dt.datetime] = {}
    window_range: tuple[dt.datetime, dt.datetime] | None = None
    hourly_until: dict[str, dt.datetime] = {}
    live_until: dict[str, dt.datetime] = {}
    answered_until: dict[str, dt.datetime] = {}
    variants: dict[str, tuple[str, ...]] = {}
    monitor: dict[str, ModelMonitorState] = {}
    provisioning: dict[str, tuple[ProvisioningRow, ...]] = {}
    jobs: dict[str, tuple[RecommenderJob, ...]] = {}
    verdicts: tuple[AwsVerdict, ...] = ()
    verdict_sources: tuple[VerdictSourceStatus, ...] = ()


_COLUMNS = TypeAdapter(list[tuple[str, str]])


@dataclass(frozen=True)
class SavedFleet:
    """What the store held: every account's collector state, and when it was saved."""

    saved_at: dt.datetime
    collectors: tuple[CollectorState, ...]

    @property
    def endpoint_count(self) -> int:
        return sum(len(i.endpoints) for c in self.collectors for i in c.inventories.values())


@dataclass(frozen=True)
class StoreInfo:
    """What `sagetop cache info` says of one file."""

    path: Path
    size_bytes: int
    schema_version: int
    identity: str
    saved_at: dt.datetime | None
    endpoints: int
    components: int
    series: int
    series_start: dt.datetime | None
    series_end: dt.datetime | None
    days: int
    first_day: dt.date | None
    last_day: dt.date | None


def _sync_described(db: sqlite3.Connection, table: str, stamp_columns: tuple[str, ...],
                    where: tuple[str, str],
                    rows: dict[str, tuple[str, tuple[str | None, ...], BaseModel]]) -> None:
    """One region's described resources in `table` (endpoints or components), by ARN: a row is
    rewritten only when its stamp changed (described at the same LastModifiedTime, the body
    is the same, and serialising thousands is the save's largest cost); gone ones deleted."""
    known = {arn: tuple(stamp) for arn, *stamp in db.execute(
        f"SELECT arn, {', '.join(stamp_columns)} FROM {table} "
        "WHERE account = ? AND region = ?", where)}
    slots = ", ".join("?" * (len(stamp_columns) + 5))
    for arn, (name, stamp, body) in rows.items():
        if known.get(arn) != stamp:
            db.execute(f"INSERT OR REPLACE INTO {table} VALUES ({slots})",
                       (*where, arn, name, *stamp, body.model_dump_json()))
    for arn in set(known) - set(rows):
        db.execute(f"DELETE FROM {table} WHERE account = ? AND region = ? AND arn = ?",
                   (*where, arn))


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _moment(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def _pack_frame(frame: pd.DataFrame) -> tuple[str, bytes, bytes]:
    columns = [(str(c[0]), str(c[1])) for c in frame.columns]
    index = pd.DatetimeIndex(frame.index)
    stamps = index.as_unit("s").asi8.astype("<i8").tobytes()
    values = np.ascontiguousarray(frame.to_numpy(dtype="float64"), dtype="<f8").tobytes()
    # Series are sparse (NaN where nothing was published): compression pays, level 1 is fast.
    return (_COLUMNS.dump_json(columns).decode(), zlib.compress(stamps, 1),
            zlib.compress(values, 1))


def _unpack_frame(columns_json: str, stamps: bytes, values: bytes) -> pd.DataFrame:
    columns = _COLUMNS.validate_json(columns_json)
    seconds = np.frombuffer(zlib.decompress(stamps), dtype="<i8")
    flat = np.frombuffer(zlib.decompress(values), dtype="<f8")
    if flat.size != seconds.size * len(columns):
        raise ValueError("a series frame's values do not match its shape")
    index = pd.DatetimeIndex(pd.to_datetime(seconds, unit="s", utc=True), name="timestamp")
    names = ["endpoint", "variant"]
    return pd.DataFrame(flat.reshape(seconds.size, len(columns)).copy(), index=index,
                        columns=pd.MultiIndex.from_tuples(columns, names=names)
                        if columns else pd.MultiIndex.from_tuples([], names=names))


class StateStore:
    """One store file. Opened at first use; every method may be called from any thread."""

    def __init__(self, path: Path, *, identity: str = "", retention_days: int = 90,
                 busy_timeout_s: float = 5.0,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.path = path
        self.identity = identity
        self.retention_days = retention_days
        self.busy_timeout_s = busy_timeout_s
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._lock = threading.RLock()
        self._connection: sqlite3.Connection | None = None
        # One line for the person when the file had to be set aside (shown once, then None).
        self.notice: str | None = None

    @classmethod
    def in_directory(cls, directory: Path, identity: str, **kwargs: Any) -> StateStore:
        return cls(directory / store_file_name(identity), identity=identity, **kwargs)

    # Opening ----------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"state store {locations.display(self.path.parent)}: "
                             f"cannot create the directory: {exc.strerror}") from None
        problem = self._unusable()
        if problem is not None:
            self._set_aside(problem)
        try:
            self._connection = self._open()
        except sqlite3.DatabaseError as exc:
            # Opened, but not readable as ours after all (damaged pages, a locked-out file).
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(f"state store {locations.display(self.path)}: in use by "
                                 f"another process past {self.busy_timeout_s:g} s") from None
            self._set_aside(f"unreadable ({exc})")
            self._connection = self._open()
        return self._connection

    def _unusable(self) -> str | None:
        """Why an existing file must not be trusted (None: absent, or SQLite of ours)."""
        try:
            with self.path.open("rb") as handle:
                header = handle.read(len(_SQLITE_HEADER))
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"unreadable ({exc.strerror})"
        if header == b"" and self.path.stat().st_size == 0:
            return None  # created and killed before its first page: as good as new
        if header != _SQLITE_HEADER:
            return "not an SQLite file"
        return None

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=self.busy_timeout_s,
                                     isolation_level=None, check_same_thread=False)
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            check = connection.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {check[0] if check else '?'}")
            version = int(connection.execute("PRAGMA user_version").fetchone()[0])
            tables = {r[0] for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if version > SCHEMA_VERSION:
                raise _Unknown(f"schema version {version}, newer than this sagetop's "
                               f"{SCHEMA_VERSION}")
            if version == 0 and tables:
                raise _Unknown("tables of an unknown schema")
            if version < SCHEMA_VERSION:
                self._migrate(connection, version)
        except _Unknown as unknown:
            connection.close()
            self._set_aside(str(unknown))
            return self._open()
        except BaseException:
            connection.close()
            raise
        return connection

    def _migrate(self, connection: sqlite3.Connection, version: int) -> None:
        """Step by step from `version`, each step its own transaction (a kill keeps the last)."""
        while version < SCHEMA_VERSION:
            connection.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have migrated while this one waited for the lock.
                now = int(connection.execute("PRAGMA user_version").fetchone()[0])
                if now == version:
                    for statement in MIGRATIONS[version]:
                        connection.execute(statement)
                    connection.execute(f"PRAGMA user_version = {version + 1}")
                    if version == 0:
                        connection.execute("INSERT INTO meta VALUES ('identity', ?), "
                                           "('created_at', ?)",
                                           (self.identity, self._clock().isoformat()))
                    now = version + 1
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            version = now

    def _set_aside(self, why: str) -> None:
        stamp = self._clock().strftime("%Y%m%dT%H%M%S")
        kept = self.path.with_name(f"{self.path.name}{SET_ASIDE_MARK}{stamp}")
        try:
            self.path.replace(kept)
            for suffix in ("-wal", "-shm"):
                companion = self.path.with_name(self.path.name + suffix)
                if companion.exists():
                    companion.replace(kept.with_name(kept.name + suffix))
        except OSError as exc:
            raise StoreError(f"state store {locations.display(self.path)} is {why} and cannot "
                             f"be set aside: {exc.strerror}") from None
        self.notice = (f"state store {locations.display(self.path)} was {why}: set aside as "
                       f"{kept.name}, rebuilt from AWS")

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                connection = self._connect()
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as exc:
                raise _store_error(self.path, exc) from None
            try:
                yield connection
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                with suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
                raise _store_error(self.path, exc) from None
            except BaseException:
                with suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
                raise

    # Day records (the history) ----------------------------------------------------------------

    def put_day(self, day: dt.date, payload: str) -> None:
        """The fleet record of `day` (an opaque JSON text), replacing that day's."""
        with self._transaction(write=True) as db:
            db.execute("INSERT OR REPLACE INTO days VALUES (?, ?, ?)",
                       (day.isoformat(), payload, self._clock().isoformat()))
            self._drop_old_days(db)

    def days(self, since: dt.date | None = None) -> list[tuple[dt.date, str]]:
        """The day records from `since` (all when None), oldest first."""
        with self._transaction(write=False) as db:
            rows = db.execute("SELECT day, payload FROM days WHERE day >= ? ORDER BY day",
                              ((since or dt.date.min).isoformat(),)).fetchall()
        return [(dt.date.fromisoformat(day), payload) for day, payload in rows]

    def _drop_old_days(self, db: sqlite3.Connection) -> None:
        oldest = self._clock().date() - dt.timedelta(days=self.retention_days)
        db.execute("DELETE FROM days WHERE day < ?", (oldest.isoformat(),))

    # The fleet's state ------------------------------------------------------------------------

    def save(self, collectors: tuple[CollectorState, ...], saved_at: dt.datetime) -> None:
        """Replace the stored state by `collectors`' in one transaction."""
        accounts = [c.account or "" for c in collectors]
        with self._transaction(write=True) as db:
            for table in ("endpoints", "components", "regions", "series", "parts"):
                marks = ", ".join("?" * len(accounts))
                db.execute(f"DELETE FROM {table} WHERE account NOT IN ({marks})", accounts)
            for state, account in zip(collectors, accounts, strict=True):
                self._save_collector(db, account, state)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('saved_at', ?)",
                       (saved_at.isoformat(),))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('identity', ?)", (self.identity,))
            self._drop_old_days(db)

    def _save_collector(self, db: sqlite3.Connection, account: str,
                        state: CollectorState) -> None:
        db.execute("DELETE FROM regions WHERE account = ?", (account,))
        for table in ("endpoints", "components"):
            marks = ", ".join("?" * len(state.inventories))
            db.execute(f"DELETE FROM {table} WHERE account = ? AND region NOT IN ({marks})",
                       (account, *state.inventories))
        for region, inventory in state.inventories.items():
            self._save_inventory(db, account, region, inventory)
        metrics = state.metrics
        parts = _PartsBody(
            account_id=state.account_id,
            window=[(k, v, {s: None if np.isnan(x) else x for s, x in row.items()})
                    for (k, v), row in metrics.window.items()],
            window_at=metrics.window_at, window_range=metrics.window_range,
            hourly_until=metrics.hourly_until, live_until=metrics.live_until,
            answered_until=metrics.answered_until, variants=metrics.variants,
            monitor=state.monitor, provisioning=state.provisioning, jobs=state.jobs,
            verdicts=state.verdicts, verdict_sources=state.verdict_sources)
        db.execute("INSERT OR REPLACE INTO parts VALUES (?, ?)",
                   (account, parts.model_dump_json()))
        db.execute("DELETE FROM series WHERE account = ?", (account,))
        for tier, frames in (("hourly", metrics.hourly), ("live", metrics.live)):
            for name, frame in frames.items():
                if frame.empty:
                    continue
                columns, stamps, values = _pack_frame(frame)
                index = pd.DatetimeIndex(frame.index)
                db.execute("INSERT INTO series VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (account, tier, name, index.min().isoformat(),
                            index.max().isoformat(), columns, stamps, values))

    def _save_inventory(self, db: sqlite3.Connection, account: str, region: str,
                        inventory: InventoryState) -> None:
        where = (account, region)
        _sync_described(db, "endpoints", ("last_modified", "status", "created"), where, {
            stored.endpoint.arn: (stored.endpoint.name, (stored.last_modified.isoformat(),
                                                        stored.status, _iso(stored.created)),
                                  stored.endpoint)
            for stored in inventory.endpoints})
        _sync_described(db, "components", ("last_modified", "status"), where, {
            item.component.arn: (item.component.name, (item.last_modified.isoformat(),
                                                      item.status), item.component)
            for item in inventory.components})
        body = _RegionBody(listed=inventory.listed,
                           components_by_endpoint=inventory.components_by_endpoint,
                           tags=inventory.tags, autoscaling=inventory.autoscaling,
                           config_history=inventory.config_history,
                           model_sizes=inventory.model_sizes)
        db.execute("INSERT INTO regions VALUES (?, ?, ?, ?)",
                   (*where, _iso(inventory.settings_fetched_at), body.model_dump_json()))

    def load(self) -> SavedFleet | None:
        """The stored state, validated; None when there is none yet.

        Anything that does not read back as what was written is not trusted: the file is set
        aside (with `notice` saying so) and None returned, so the session starts cold.
        """
        with self._lock:
            try:
                return self._load()
            except (ValidationError, ValueError, TypeError, KeyError, zlib.error) as exc:
                self.close()
                self._set_aside(f"unreadable ({type(exc).__name__})")
                return None
            except StoreError as exc:
                if "malformed" not in str(exc) and "not a database" not in str(exc):
                    raise
                self.close()
                self._set_aside("damaged")
                return None

    def _load(self) -> SavedFleet | None:
        with self._transaction(write=False) as db:
            saved = db.execute("SELECT value FROM meta WHERE key = 'saved_at'").fetchone()
            if saved is None:
                return None
            accounts = [r[0] for r in db.execute("SELECT account FROM parts ORDER BY rowid")]
            collectors = tuple(self._load_collector(db, a) for a in accounts)
        return SavedFleet(dt.datetime.fromisoformat(saved[0]), collectors)

    def _load_collector(self, db: sqlite3.Connection, account: str) -> CollectorState:
        endpoints: dict[str, list[StoredEndpoint]] = {}
        for region, status, modified, created, body in db.execute(
                "SELECT region, status, last_modified, created, body FROM endpoints "
                "WHERE account = ?", (account,)):
            endpoints.setdefault(region, []).append(StoredEndpoint(
                EndpointSnapshot.model_validate_json(body), status,
                dt.datetime.fromisoformat(modified), _moment(created)))
        components: dict[str, list[StoredComponent]] = {}
        for region, status, modified, body in db.execute(
                "SELECT region, status, last_modified, body FROM components WHERE account = ?",
                (account,)):
            components.setdefault(region, []).append(StoredComponent(
                InferenceComponentSnapshot.model_validate_json(body), status,
                dt.datetime.fromisoformat(modified)))
        inventories: dict[str, InventoryState] = {}
        for region, fetched_at, body in db.execute(
                "SELECT region, fetched_at, body FROM regions WHERE account = ? ORDER BY rowid",
                (account,)):
            settings = _RegionBody.model_validate_json(body)
            inventories[region] = InventoryState(
                endpoints=tuple(endpoints.get(region, ())),
                components=tuple(components.get(region, ())),
                listed=settings.listed, components_by_endpoint=settings.components_by_endpoint,
                tags=settings.tags, autoscaling=settings.autoscaling,
                config_history=settings.config_history, model_sizes=settings.model_sizes,
                settings_fetched_at=_moment(fetched_at))
        frames: dict[str, dict[str, pd.DataFrame]] = {tier: {} for tier in _TIER_FRAMES}
        for tier, name, columns, stamps, values in db.execute(
                "SELECT tier, series, columns, stamps, vals FROM series WHERE account = ?",
                (account,)):
            if tier not in frames:
                raise ValueError(f"unknown series tier {tier!r}")
            frames[tier][name] = _unpack_frame(columns, stamps, values)
        row = db.execute("SELECT body FROM parts WHERE account = ?", (account,)).fetchone()
        parts = _PartsBody.model_validate_json(row[0])
        metrics = MetricsState(
            window={(k, v): {s: np.nan if x is None else x for s, x in values_.items()}
                    for k, v, values_ in parts.window},
            window_at=parts.window_at, window_range=parts.window_range,
            hourly_until=parts.hourly_until, live_until=parts.live_until,
            answered_until=parts.answered_until, variants=parts.variants,
            hourly=frames["hourly"], live=frames["live"])
        return CollectorState(
            account=account or None, account_id=parts.account_id, inventories=inventories,
            metrics=metrics, monitor=parts.monitor, provisioning=parts.provisioning,
            jobs=parts.jobs, verdicts=parts.verdicts, verdict_sources=parts.verdict_sources)

    # What it holds ----------------------------------------------------------------------------

    def info(self) -> StoreInfo:
        with self._transaction(write=False) as db:
            def one(sql: str) -> Any:
                return db.execute(sql).fetchone()

            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            version = int(one("PRAGMA user_version")[0])
            start, end, series = one("SELECT min(start), max(end), count(*) FROM series")
            first, last, days = one("SELECT min(day), max(day), count(*) FROM days")
            info = StoreInfo(
                path=self.path, size_bytes=_size(self.path), schema_version=version,
                identity=str(meta.get("identity", "")),
                saved_at=_moment(meta.get("saved_at")),
                endpoints=int(one("SELECT count(*) FROM endpoints")[0]),
                components=int(one("SELECT count(*) FROM components")[0]),
                series=int(series), series_start=_moment(start), series_end=_moment(end),
                days=int(days), first_day=None if first is None else dt.date.fromisoformat(first),
                last_day=None if last is None else dt.date.fromisoformat(last))
        return info


def inspect_store(path: Path) -> StoreInfo | str:
    """What one file holds, read-only (`sagetop cache info` must change nothing); a string
    says why it cannot be read."""
    if SET_ASIDE_MARK in path.name:
        return "set aside (unreadable or of another version), kept for inspection"
    store = StateStore(path)
    if (problem := store._unusable()) is not None:
        return problem
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=1.0, check_same_thread=False)
    except sqlite3.Error as exc:
        return f"unreadable ({exc})"
    try:
        version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        if version != SCHEMA_VERSION:
            return (f"schema version {version} (this sagetop's is {SCHEMA_VERSION}): "
                    "migrated or set aside at its next use")
        store._connection = connection
        return store.info()
    except (sqlite3.Error, StoreError, ValueError) as exc:
        return f"unreadable ({exc})"
    finally:
        connection.close()
        store._connection = None


class _Unknown(Exception):
    """A file of ours in shape, but of a schema this version cannot read."""


def _size(path: Path) -> int:
    total = 0
    for suffix in ("", "-wal"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            total += companion.stat().st_size
    return total


def _store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return StoreError(f"state store {locations.display(path)}: {text}")
