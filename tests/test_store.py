"""The state store: round trips, day records, and what it does with files it cannot trust.

Real SQLite files in the test's temp dir; the kill and the two processes are real child
processes (SIGKILL inside a transaction; two writers at once).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from collectors.state import CollectorState, InventoryState, MetricsState, StoredEndpoint
from ground.domain import (
    AutoscalingInfo,
    DeploymentOption,
    EndpointSnapshot,
    ModelMonitorState,
    VariantSnapshot,
)
from pipeline.store import (
    SCHEMA_VERSION,
    SET_ASIDE_MARK,
    StateStore,
    StoreError,
    inspect_store,
    store_file_name,
    store_files,
)

ROOT = Path(__file__).resolve().parents[1]
SAVED = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
REGION = "us-east-1"


def _endpoint(name: str, modified: dt.datetime = SAVED) -> EndpointSnapshot:
    return EndpointSnapshot(
        name=name, arn=f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{name}", region=REGION,
        status="InService", deployment=DeploymentOption.REAL_TIME,
        creation_time=SAVED - dt.timedelta(days=30), last_modified_time=modified,
        variants=(VariantSnapshot(name="AllTraffic", instance_type="ml.c5.xlarge",
                                  current_instance_count=2, desired_instance_count=2),))


def _state(names: tuple[str, ...] = ("churn", "fraud")) -> CollectorState:
    endpoints = tuple(StoredEndpoint(_endpoint(n), "InService", SAVED, SAVED - dt.timedelta(
        days=30)) for n in names)
    hours = pd.date_range(SAVED - dt.timedelta(hours=3), periods=3, freq="h", tz="UTC",
                          name="timestamp")
    columns = pd.MultiIndex.from_tuples([(f"{REGION}/{n}", "AllTraffic") for n in names],
                                        names=["endpoint", "variant"])
    values = np.arange(3 * len(names), dtype=float).reshape(3, len(names))
    values[0, 0] = np.nan  # a gap stays a gap, never a zero
    hourly = pd.DataFrame(values, index=hours, columns=columns)
    return CollectorState(
        account=None, account_id="123456789012",
        inventories={REGION: InventoryState(
            endpoints=endpoints, listed=names, tags={names[0]: {"team": "risk"}},
            autoscaling={f"endpoint/{names[0]}/variant/AllTraffic": AutoscalingInfo(
                min_capacity=1, max_capacity=4)},
            settings_fetched_at=SAVED)},
        metrics=MetricsState(
            window={(f"{REGION}/{names[0]}", "AllTraffic"): {"requests": 12.0,
                                                             "cpu_p95_pct": np.nan}},
            window_at={f"{REGION}/{names[0]}": SAVED},
            window_range=(SAVED - dt.timedelta(days=14), SAVED),
            hourly_until={f"{REGION}/{n}": SAVED for n in names},
            live_until={f"{REGION}/{names[0]}#row": SAVED}, answered_until={"hourly": SAVED},
            hourly={"requests": hourly}),
        monitor={f"{REGION}/{names[0]}": ModelMonitorState(error="no permission")})


def _store(tmp_path: Path, **kwargs: object) -> StateStore:
    return StateStore(tmp_path / store_file_name("test"), identity="test", **kwargs)  # type: ignore[arg-type]


def test_what_is_saved_reads_back_the_same(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.save((_state(),), SAVED)
    saved = StateStore(store.path).load()
    assert saved is not None and saved.saved_at == SAVED
    (state,) = saved.collectors
    original = _state()
    inventory = state.inventories[REGION]
    assert inventory.endpoints == original.inventories[REGION].endpoints
    assert inventory.tags == {"churn": {"team": "risk"}}
    assert inventory.autoscaling == original.inventories[REGION].autoscaling
    assert inventory.settings_fetched_at == SAVED
    pd.testing.assert_frame_equal(state.metrics.hourly["requests"],
                                  original.metrics.hourly["requests"], check_freq=False)
    row = state.metrics.window[(f"{REGION}/churn", "AllTraffic")]
    assert row["requests"] == 12.0 and np.isnan(row["cpu_p95_pct"])
    assert state.metrics.hourly_until == original.metrics.hourly_until
    assert state.monitor == original.monitor and state.account_id == "123456789012"


def test_an_unchanged_endpoint_is_not_rewritten_and_a_deleted_one_goes(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.save((_state(("churn", "fraud")),), SAVED)
    with sqlite3.connect(store.path) as db:
        before = dict(db.execute("SELECT name, rowid FROM endpoints"))
    store.save((_state(("churn",)),), SAVED + dt.timedelta(minutes=30))
    with sqlite3.connect(store.path) as db:
        after = dict(db.execute("SELECT name, rowid FROM endpoints"))
    assert after == {"churn": before["churn"]}
    loaded = store.load()
    assert loaded is not None and loaded.endpoint_count == 1


def test_day_records_replace_their_day_come_oldest_first_and_expire(tmp_path: Path) -> None:
    today = dt.date(2026, 11, 20)
    store = _store(tmp_path, retention_days=10,
                   clock=lambda: dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC))
    store.put_day(today, '{"cost": 2}')
    store.put_day(today - dt.timedelta(days=3), '{"cost": 1}')
    store.put_day(today, '{"cost": 3}')
    store.put_day(today - dt.timedelta(days=11), '{"cost": 0}')  # past the retention
    assert store.days() == [(today - dt.timedelta(days=3), '{"cost": 1}'),
                            (today, '{"cost": 3}')]
    assert store.days(since=today) == [(today, '{"cost": 3}')]


def test_a_file_that_is_not_sqlite_is_set_aside_and_rebuilt(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_bytes(b"this is no database\n" * 100)
    assert store.load() is None
    assert store.notice is not None and "not an SQLite file" in store.notice
    kept = [p for p in tmp_path.iterdir() if SET_ASIDE_MARK in p.name]
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"this is no database")
    store.put_day(dt.date(2026, 11, 20), "{}")  # the rebuilt file works
    assert len(store.days()) == 1


def test_a_damaged_sqlite_file_is_set_aside_not_trusted(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.save((_state(),), SAVED)
    store.close()
    raw = bytearray(store.path.read_bytes())
    for offset in range(4096, len(raw), 997):  # keep the header, scribble over the pages
        raw[offset] = (raw[offset] + 91) % 256
    store.path.write_bytes(bytes(raw))
    for companion in ("-wal", "-shm"):
        store.path.with_name(store.path.name + companion).unlink(missing_ok=True)
    fresh = StateStore(store.path)
    assert fresh.load() is None
    assert fresh.notice is not None and "set aside" in fresh.notice
    assert any(SET_ASIDE_MARK in p.name for p in tmp_path.iterdir())


def test_a_row_that_does_not_validate_sets_the_file_aside(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.save((_state(),), SAVED)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE endpoints SET body = '{\"name\": 3}' WHERE name = 'churn'")
    fresh = StateStore(store.path)
    assert fresh.load() is None
    assert fresh.notice is not None and "ValidationError" in fresh.notice


def test_a_file_from_a_newer_sagetop_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "fleet-newer.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE future (x)")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    store = StateStore(path)
    assert store.load() is None
    assert store.notice is not None and "newer" in store.notice
    assert int(sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]) \
        == SCHEMA_VERSION


def test_a_version_1_file_is_migrated_keeping_what_it_holds(tmp_path: Path) -> None:
    """Written by hand as version 1 wrote it (no day records yet)."""
    path = tmp_path / "fleet-old.db"
    body = _endpoint("legacy").model_dump_json()
    with sqlite3.connect(path) as db:
        db.executescript(textwrap.dedent("""
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE endpoints (account TEXT NOT NULL, region TEXT NOT NULL,
                arn TEXT NOT NULL, name TEXT NOT NULL, last_modified TEXT NOT NULL,
                status TEXT NOT NULL, created TEXT, body TEXT NOT NULL,
                PRIMARY KEY (account, region, arn));
            CREATE TABLE components (account TEXT NOT NULL, region TEXT NOT NULL,
                arn TEXT NOT NULL, name TEXT NOT NULL, last_modified TEXT NOT NULL,
                status TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (account, region, arn));
            CREATE TABLE regions (account TEXT NOT NULL, region TEXT NOT NULL, fetched_at TEXT,
                body TEXT NOT NULL, PRIMARY KEY (account, region));
            CREATE TABLE series (account TEXT NOT NULL, tier TEXT NOT NULL,
                series TEXT NOT NULL, start TEXT, end TEXT, columns TEXT NOT NULL,
                stamps BLOB NOT NULL, vals BLOB NOT NULL, PRIMARY KEY (account, tier, series));
            CREATE TABLE parts (account TEXT PRIMARY KEY, body TEXT NOT NULL);
            PRAGMA user_version = 1;
        """))
        db.execute("INSERT INTO meta VALUES ('saved_at', ?)", (SAVED.isoformat(),))
        db.execute("INSERT INTO endpoints VALUES ('', ?, 'arn:legacy', 'legacy', ?, "
                   "'InService', NULL, ?)", (REGION, SAVED.isoformat(), body))
        db.execute("INSERT INTO regions VALUES ('', ?, NULL, '{\"listed\": [\"legacy\"]}')",
                   (REGION,))
        db.execute("INSERT INTO parts VALUES ('', '{}')")
    store = StateStore(path)
    saved = store.load()
    assert store.notice is None
    assert saved is not None and saved.endpoint_count == 1
    assert saved.collectors[0].inventories[REGION].endpoints[0].endpoint.name == "legacy"
    store.put_day(dt.date(2026, 11, 20), "{}")  # the day records of version 2 exist now
    assert int(sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]) == 2


def _child(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_kill_mid_write_leaves_the_last_committed_state(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.put_day(dt.date(2026, 11, 19), "committed")
    store.close()
    # The child is killed inside put_day's transaction, after its row went in, before COMMIT.
    child = _child("""
        import datetime as dt, sys, time
        from pathlib import Path
        from pipeline.store import StateStore

        def hang(self, db):
            print("inside", flush=True)
            time.sleep(60)

        StateStore._drop_old_days = hang
        StateStore(Path(sys.argv[1])).put_day(dt.date(2026, 11, 20), "never committed")
    """, str(store.path))
    assert child.stdout is not None and child.stdout.readline().strip() == "inside"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    reopened = StateStore(store.path)
    assert reopened.days() == [(dt.date(2026, 11, 19), "committed")]
    assert reopened.notice is None


def test_two_processes_write_and_read_one_file_at_once(tmp_path: Path) -> None:
    path = _store(tmp_path).path
    code = """
        import datetime as dt, sys
        from pathlib import Path
        from pipeline.store import StateStore

        store = StateStore(Path(sys.argv[1]), retention_days=3650)
        start = int(sys.argv[2])
        for day in range(start, start + 40):
            store.put_day(dt.date(2026, 1, 1) + dt.timedelta(days=day), f"writer {start}")
            store.days()
        print("done", flush=True)
    """
    children = [_child(code, str(path), str(start)) for start in (0, 100)]
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        assert out.strip() == "done"
    days = StateStore(path, retention_days=3650).days()
    assert len(days) == 80
    assert {p for _, p in days} == {"writer 0", "writer 100"}


def test_a_file_locked_past_the_timeout_is_one_line_not_a_hang(tmp_path: Path) -> None:
    store = _store(tmp_path, busy_timeout_s=0.2)
    store.put_day(dt.date(2026, 11, 20), "{}")
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="locked") as caught:
            store.put_day(dt.date(2026, 11, 21), "{}")
        assert "\n" not in str(caught.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.put_day(dt.date(2026, 11, 21), "{}")  # free again: it works
    assert len(store.days()) == 2


def test_inspection_reads_without_changing_anything(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.save((_state(),), SAVED)
    store.put_day(dt.date(2026, 11, 20), "{}")
    store.close()
    info = inspect_store(store.path)
    assert not isinstance(info, str)
    assert (info.endpoints, info.series, info.days, info.schema_version) == (2, 1, 1, 2)
    assert info.saved_at == SAVED and info.identity == "test"
    broken = tmp_path / "fleet-broken.db"
    broken.write_bytes(b"garbage")
    assert inspect_store(broken) == "not an SQLite file"
    assert broken.read_bytes() == b"garbage"  # not set aside by a look
    assert set(store_files(tmp_path)) >= {store.path, broken}
