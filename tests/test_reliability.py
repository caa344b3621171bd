"""Faults ops engineers meet, driven through the real collectors against the simulated account.

Each test injects one failure with `FaultPlan` (or a real unreachable URL), then checks what a
user of sagetop would see: a one-line error naming the action, the last good data kept, a throttle
count, and recovery on the next refresh of the same collector once the fault is gone.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import simulator
import simulator.account as sim_account
from collectors.aws import AwsContext, AwsTarget
from collectors.fleet import FleetCollector
from ground.config import AwsSettings, SagetopConfig
from ground.domain import FleetSnapshot
from sagetop.cli import main
from simulator import SimulatedAccount, SimVariant

REGION = "us-east-1"
BUSY = f"{REGION}/web-ranker-prod"  # steady traffic all day: never a zero minute
START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


class Clock:
    """Simulated time, shared by the account and the collector (or offset to model skew)."""

    def __init__(self, start: dt.datetime = START, offset: dt.timedelta = dt.timedelta()) -> None:
        self.now = start
        self.offset = offset

    def __call__(self) -> dt.datetime:
        return self.now

    def skewed(self) -> dt.datetime:
        return self.now + self.offset

    def advance(self, minutes: float = 1) -> None:
        self.now += dt.timedelta(minutes=minutes)


def fast_config(**aws: Any) -> SagetopConfig:
    # Few attempts keep a storm that outlasts the retries to a second or two of backoff.
    return SagetopConfig.model_validate({"aws": {"max_attempts": 3, **aws}})


def target(account: SimulatedAccount) -> AwsTarget:
    return AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)


def requests_during(account: SimulatedAccount) -> Counter[str]:
    return Counter(account.requests)


def diff(after: Counter[str], before: Counter[str]) -> int:
    return sum((after - before).values())


def messages(fleet: FleetSnapshot) -> list[str]:
    return [e.message for e in fleet.errors]


def live_points(fleet: FleetSnapshot, key: str, series: str = "requests") -> Any:
    frame = fleet.metrics.live.get(series)
    assert frame is not None, f"no live {series}"
    return frame[(key, "AllTraffic")]


# Throttling storms ---------------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "kind", "status", "shown"), [
    ("*", "throttle", 400, "throttled after retries"),
    ("cloudwatch:GetMetricData", "throttle", 429, "throttled after retries"),
    ("sagemaker:List[EM]*", "unavailable", 503, "ServiceUnavailable"),
])
@pytest.mark.usefixtures("quick_backoff")
async def test_throttling_storm_backs_off_counts_and_loses_no_refresh(
        pattern: str, kind: str, status: int, shown: str) -> None:
    clock = Clock()
    account = SimulatedAccount(clock=clock)
    # Two attempts: the storm outlasts the retries, and the test stays a few seconds long.
    async with AwsContext(fast_config(max_attempts=2).aws, target(account)) as aws:
        collector = FleetCollector(aws, clock=clock)
        await collector.collect(force=True)
        clock.advance()
        before = requests_during(account)
        await collector.collect()
        normal = diff(requests_during(account), before)

        # A storm that outlasts the retries of one whole refresh.
        account.faults.add(pattern, kind, status=status)
        clock.advance()
        started = time.monotonic()
        stormy = await collector.collect(force=True)
        assert time.monotonic() - started < 30  # backoff is bounded
        assert stormy.errors and all(shown in e.message for e in stormy.errors), messages(stormy)
        assert all("\n" not in e.message for e in stormy.errors)
        if kind == "throttle":
            assert stormy.requests.throttles >= len(stormy.errors)
            assert stormy.requests.throttles == account.faults.fired.total()
        # The last good data is all still there.
        assert len(stormy.endpoints) == len(account.fleet)
        assert stormy.metrics.window_value(BUSY, "AllTraffic", "requests")
        assert any(e.tags for e in stormy.endpoints)
        stormy_minute = clock.now.replace(second=0) - dt.timedelta(minutes=1)

        account.faults.clear()
        clock.advance()
        before = requests_during(account)
        calm = await collector.collect()  # not forced: the failed parts must be due again
        assert calm.errors == (), messages(calm)
        # No lost refresh: the minute asked for during the storm is there now.
        assert live_points(calm, BUSY).get(stormy_minute, 0) > 0
        assert {e.name for e in calm.endpoints} == {n for _, n in account.fleet}
        web = next(e for e in calm.endpoints if e.name == "web-ranker-prod")
        assert web.variants[0].autoscaling is not None and web.tags
        assert web.monitor.error is None

        # No request storm afterwards: the refresh after is as small as before the storm.
        clock.advance()
        before = requests_during(account)
        await collector.collect()
        assert diff(requests_during(account), before) <= normal + 1


async def test_short_throttle_burst_is_absorbed_by_retries_and_counted() -> None:
    clock = Clock()
    account = SimulatedAccount(clock=clock)
    account.faults.throttle("cloudwatch:GetMetricData", times=2, status=429)
    async with AwsContext(fast_config().aws, target(account)) as aws:
        fleet = await FleetCollector(aws, clock=clock).collect(force=True)
    assert fleet.errors == ()
    assert fleet.requests.throttles == 2
    assert fleet.metrics.window_value(BUSY, "AllTraffic", "requests")


async def test_a_5xx_absorbed_by_a_retry_is_visible() -> None:
    account = SimulatedAccount()
    account.faults.add("cloudwatch:GetMetricData", "unavailable", times=1)
    async with AwsContext(fast_config().aws, target(account)) as aws:
        fleet = await FleetCollector(aws).collect(force=True)
    assert account.faults.fired.total() == 1 and fleet.errors == ()  # the retry absorbed it
    assert fleet.requests.throttles + fleet.requests.errors >= 1


# Access denied on one API ----------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "actions", "source"), [
    ("sagemaker:*Monitoring*", {"sagemaker:ListMonitoringSchedules"}, "model-monitor"),
    ("application-auto-scaling:*", {"application-autoscaling:DescribeScalableTargets"},
     "autoscaling"),
    ("cloudwatch:*", {"cloudwatch:GetMetricData", "cloudwatch:ListMetrics"}, None),
])
async def test_access_denied_on_one_api_names_it_and_the_rest_works(
        pattern: str, actions: set[str], source: str | None) -> None:
    account = SimulatedAccount()
    account.faults.deny(pattern)
    async with AwsContext(AwsSettings(), target(account)) as aws:
        fleet = await FleetCollector(aws).collect(force=True)
    assert fleet.errors
    assert all(e.permission for e in fleet.errors)
    assert {e.message for e in fleet.errors} == {f"no permission for {a}" for a in actions}
    if source:
        assert {e.source for e in fleet.errors} == {source}
    assert len(fleet.endpoints) == len(account.fleet)
    by_name = {e.name: e for e in fleet.endpoints}
    web, credit = by_name["web-ranker-prod"], by_name["credit-risk-prod"]
    assert web.tags and any(row.workload == "training" for row in fleet.provisioning)
    if pattern.startswith("cloudwatch"):
        assert fleet.metrics.window.empty
        assert credit.monitor.schedules  # Model Monitor still read
    else:
        assert fleet.metrics.window_value(BUSY, "AllTraffic", "requests")
    if "Monitoring" in pattern:
        assert credit.monitor.error == "no permission for sagemaker:ListMonitoringSchedules"
        assert web.variants[0].autoscaling is not None
    if "auto-scaling" in pattern:
        assert web.variants[0].autoscaling is None
        assert credit.monitor.violation_count == 2


def test_report_shows_no_permission_and_still_reports_the_fleet(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    plan = simulator.FaultPlan()
    plan.deny("sagemaker:ListMonitoringSchedules")
    monkeypatch.setattr(simulator, "SimulatedAccount",
                        functools.partial(SimulatedAccount, faults=plan))
    assert main(["report", "--demo", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [e["message"] for e in report["errors"]] == [
        "no permission for sagemaker:ListMonitoringSchedules"]
    assert len(report["endpoints"]) > 20
    assert all(e["model_monitor"]["error"] for e in report["endpoints"])
    assert main(["report", "--demo"]) == 0
    table = capsys.readouterr().out
    assert "warning: us-east-1: no permission for sagemaker:ListMonitoringSchedules" in table


# Credentials expiring mid-session ---------------------------------------------------------------


@pytest.mark.usefixtures("quick_backoff")
async def test_expired_credentials_keep_the_last_data_and_recover_in_place() -> None:
    clock = Clock()
    account = SimulatedAccount(clock=clock)
    async with AwsContext(fast_config().aws, target(account)) as aws:
        collector = FleetCollector(aws, clock=clock)
        first = await collector.collect(force=True)
        account.faults.expire_credentials()
        clock.advance(10)
        expired = await collector.collect(force=True)
        assert expired.errors
        # The inventory met it first; the other parts, which would meet it too, were not asked.
        assert {e.message for e in expired.errors} == {
            "AWS credentials expired or invalid (ExpiredTokenException); renew them and "
            "sagetop picks them up"}
        assert {e.operation for e in expired.errors} == {"ListEndpoints"}
        assert not any(e.permission for e in expired.errors)
        assert [(e.name, e.variants) for e in expired.endpoints] == \
            [(e.name, e.variants) for e in first.endpoints]
        assert expired.metrics.window_value(BUSY, "AllTraffic", "requests") == \
            first.metrics.window_value(BUSY, "AllTraffic", "requests")
        assert expired.account_id == first.account_id

        account.faults.clear()  # renewed
        clock.advance()
        renewed = await collector.collect()
        assert renewed.errors == ()
        assert live_points(renewed, BUSY).get(clock.now - dt.timedelta(minutes=3), 0) > 0


# The network gone ------------------------------------------------------------------------------


@pytest.mark.usefixtures("quick_backoff")
async def test_network_down_is_bounded_reported_and_recovers() -> None:
    clock = Clock()
    account = SimulatedAccount(clock=clock)
    async with AwsContext(fast_config().aws, target(account)) as aws:
        collector = FleetCollector(aws, clock=clock)
        first = await collector.collect(force=True)
        account.faults.network_down()
        clock.advance()
        started = time.monotonic()
        down = await collector.collect(force=True)
        assert time.monotonic() - started < 30
        assert down.errors and all("cannot reach AWS for" in m for m in messages(down))
        assert all("\n" not in m for m in messages(down))
        assert down.requests.errors >= len(down.errors)
        assert len(down.endpoints) == len(first.endpoints)
        account.faults.clear()
        clock.advance()
        back = await collector.collect()
        assert back.errors == ()


async def test_unreachable_endpoint_url_is_asked_again_at_the_next_collection() -> None:
    # Port 9 on loopback: nothing listens, so every connection is refused at once. The default
    # configuration (the time bounds themselves are in tests/test_faults.py).
    aws_target = AwsTarget(regions=(REGION,), endpoint_url="http://127.0.0.1:9")
    async with AwsContext(AwsSettings(), aws_target) as aws:
        collector = FleetCollector(aws)
        fleet = await collector.collect(force=True)
        again = await collector.collect()
    assert fleet.account_id is None and fleet.endpoints == ()
    listing = [e for e in fleet.errors if e.operation == "ListEndpoints"]
    assert listing and listing[0].message.startswith(
        "cannot reach AWS for sagemaker:ListEndpoints")
    assert any(e.operation == "ListEndpoints" for e in again.errors)  # asked again, not skipped


# The fleet changing while it is polled ----------------------------------------------------------


async def test_endpoint_deleted_between_listing_and_describe_is_not_an_error() -> None:
    account = SimulatedAccount()
    listing = account._sagemaker_list_endpoints

    def list_then_delete(region: str, params: dict[str, Any]) -> dict[str, Any]:
        body = listing(region, params)
        if ("us-east-1", "legacy-recs-v1") in account.fleet:
            account.delete_endpoint("legacy-recs-v1")
        return body

    account._sagemaker_list_endpoints = list_then_delete  # type: ignore[method-assign]
    async with AwsContext(AwsSettings(), target(account)) as aws:
        fleet = await FleetCollector(aws).collect(force=True)
    assert fleet.errors == (), messages(fleet)
    assert "legacy-recs-v1" not in {e.name for e in fleet.endpoints}


async def test_known_endpoint_deleted_while_tags_are_read_is_not_an_error() -> None:
    clock = Clock()
    account = SimulatedAccount(clock=clock)
    async with AwsContext(AwsSettings(), target(account)) as aws:
        collector = FleetCollector(aws, clock=clock)
        await collector.collect(force=True)
        listing = account._sagemaker_list_endpoints

        def list_then_delete(region: str, params: dict[str, Any]) -> dict[str, Any]:
            body = listing(region, params)
            if ("us-east-1", "legacy-recs-v1") in account.fleet:
                account.delete_endpoint("legacy-recs-v1")
            return body

        account._sagemaker_list_endpoints = list_then_delete  # type: ignore[method-assign]
        clock.advance(61)  # tags and autoscaling are due: ListTags for every listed endpoint
        during = await collector.collect(force=True)
        assert during.errors == (), messages(during)
        clock.advance(5)
        after = await collector.collect()
    assert "legacy-recs-v1" not in {e.name for e in after.endpoints}
    assert after.metrics.window_value(f"{REGION}/legacy-recs-v1", "AllTraffic",
                                      "memory_max_pct") is None


async def test_created_updated_failed_and_new_variant_between_refreshes() -> None:
    clock = Clock()
    account = SimulatedAccount(clock=clock)
    async with AwsContext(AwsSettings(), target(account)) as aws:
        collector = FleetCollector(aws, clock=clock)
        await collector.collect(force=True)
        template = account.endpoint("checkout-upsell-prod")
        account.create_endpoint(replace(template, name="brand-new-prod", tags={}))
        fresh = await collector.collect(force=True)
        # Created this minute: no datapoints yet, which is "no data", not zero traffic.
        new = f"{REGION}/brand-new-prod"
        assert "brand-new-prod" in {e.name for e in fresh.endpoints}
        assert fresh.metrics.window_value(new, "AllTraffic", "requests") is None
        assert fresh.metrics.window_value(new, "AllTraffic", "errors_5xx") is None
        account.update_endpoint("churn-predictor-prod", status="Updating")
        account.update_endpoint("nightly-scoring", status="Failed")
        ab = account.endpoint("web-ranker-prod")
        account.update_endpoint("web-ranker-prod", variants=[
            *ab.variants, SimVariant("Canary", "ml.c5.xlarge", 1, weight=0.1, peak_rpm=50)])
        clock.advance(6)
        fleet = await collector.collect()
    assert fleet.errors == (), messages(fleet)
    by_name = {e.name: e for e in fleet.endpoints}
    assert by_name["churn-predictor-prod"].status == "Updating"
    assert by_name["nightly-scoring"].status == "Failed"
    assert [v.name for v in by_name["web-ranker-prod"].variants] == ["AllTraffic", "Canary"]
    assert fleet.metrics.window_value(BUSY, "Canary", "requests")
    # Its window statistics wait for the window's cadence; its minutes arrive at once.
    assert live_points(fleet, f"{REGION}/brand-new-prod").dropna().sum() > 0
    # A Failed endpoint publishes nothing: its counts are unknown, not zero.
    failed = f"{REGION}/speech-to-text-beta"
    assert by_name["speech-to-text-beta"].status == "Failed"
    assert fleet.metrics.window_value(failed, "AllTraffic", "requests") is None


# Partial answers -------------------------------------------------------------------------------


async def test_partial_data_pages_give_the_same_series(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()

    async def collect() -> FleetSnapshot:
        account = SimulatedAccount(clock=clock)
        async with AwsContext(AwsSettings(), target(account)) as aws:
            return await FleetCollector(aws, clock=clock).collect(force=True)

    whole = await collect()
    # CloudWatch answers PartialData with a NextToken once a call's datapoints exceed the limit.
    monkeypatch.setattr(sim_account, "MAX_DATAPOINTS", 700)
    paged = await collect()
    assert paged.errors == ()
    assert paged.requests.calls_by_operation["cloudwatch:GetMetricData"] > \
        whole.requests.calls_by_operation["cloudwatch:GetMetricData"] + 5
    assert paged.metrics.window.sort_index().equals(whole.metrics.window.sort_index())
    for name, frame in whole.metrics.hourly.items():
        assert paged.metrics.hourly[name].sort_index(axis=1).equals(frame.sort_index(axis=1))


@pytest.mark.parametrize("skew_minutes", [-7, 7])
async def test_clock_skew_between_machine_and_cloudwatch(skew_minutes: int) -> None:
    clock = Clock(offset=dt.timedelta(minutes=skew_minutes))
    account = SimulatedAccount(clock=clock)  # CloudWatch's time
    async with AwsContext(AwsSettings(), target(account)) as aws:
        collector = FleetCollector(aws, clock=clock.skewed)  # the machine's time
        fleet = await collector.collect(force=True)
        for _ in range(8):  # across an hour boundary (10:00 -> 11:04)
            clock.advance(8)
            fleet = await collector.collect()
    assert fleet.errors == ()
    series = live_points(fleet, BUSY)
    now = min(clock.now, clock.skewed())  # neither asks beyond its own now
    # Up to what CloudWatch has, every minute of a busy endpoint has traffic: a minute asked
    # for before CloudWatch had it must be asked again, never left empty or filled in as zero.
    published = series[(series.index >= now - dt.timedelta(minutes=40))
                       & (series.index < now - dt.timedelta(minutes=1))]
    assert len(published) == 39
    assert (published > 0).all(), published[~(published > 0)]
    assert not (series[series.index >= now] == 0).any()
    hourly = fleet.metrics.hourly["requests"][(BUSY, "AllTraffic")]
    last_hour = now.replace(minute=0) - dt.timedelta(hours=1)
    assert hourly.get(last_hour, 0) > 0


# Bad input ---------------------------------------------------------------------------------------


def one_line_error(err: str) -> str:
    assert err.count("\n") == 1, err
    assert err.startswith("sagetop: error: "), err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(("content", "field"), [
    ("[aws\nregions = []\n", "not valid TOML"),
    ("[aws]\nmax_attempts = 'three'\n", "aws.max_attempts"),
    ("[aws]\nregions = ['us-east-1', 7]\n", "aws.regions[1]: expected text, got 7"),
    ("[refresh]\nlive_secs = 5\n", "refresh.live_secs: unknown key"),
    ("history = 14\n", "history"),
    ("[requirements]\ndefault_environment = 'moon'\n", "default_environment"),
    ("[[requirements.rules]]\npattern = 'web-*'\nmin_instances = 'two'\n", "min_instances"),
    ("[requirements]\nbogus = 1\n", "bogus"),
])
def test_bad_config_is_one_line_naming_file_and_field_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, field: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content)
    assert main(["report", "--demo", "--config", str(path)]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert str(path) in err and field in err


def test_config_path_that_is_a_directory(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--demo", "--config", str(tmp_path)]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert str(tmp_path) in err


def test_bad_config_from_the_command_line_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "config.toml"
    path.write_text("[history]\nlookback_days = 'two weeks'\n")
    run = subprocess.run([sys.executable, "-m", "sagetop", "report", "--demo", "--config",
                          str(path)], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 2 and run.stdout == ""
    err = one_line_error(run.stderr)
    assert f"{path}: history.lookback_days" in err


def _account_with_tags(tags: dict[str, str]) -> Any:
    def make(*args: Any, **kwargs: Any) -> SimulatedAccount:
        account = SimulatedAccount(*args, **kwargs)
        account.endpoint("web-ranker-prod").tags.update(tags)
        return account
    return make


def test_tag_values_that_do_not_parse_are_warnings_naming_tag_and_endpoint(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Tags are written by whoever may tag the endpoint: never a reason to stop the report.
    monkeypatch.setattr(simulator, "SimulatedAccount", _account_with_tags(
        {"sagetop:min-instances": "two", "sagetop:p99-latency-ms": "-5"}))
    assert main(["report", "--demo", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    warnings = [w for w in report["summary"]["warnings"] if "web-ranker-prod" in w]
    assert any("sagetop:min-instances" in w and "two" in w for w in warnings), warnings
    assert any("sagetop:p99-latency-ms" in w for w in warnings), warnings
    assert all("\n" not in w for w in warnings)
    web = next(e for e in report["endpoints"] if e["name"] == "web-ranker-prod")
    assert web["requirements"]["min_instances"] == 2  # the production default, not the tag
    assert "tag" not in web["requirements"]["sources"]["min_instances"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export")
    assert main(["snapshot", "--demo", "-o", str(out)]) == 0
    return out


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda t: t.replace("schema_version: 1", "schema_version: one"), "schema_version"),
    (lambda t: t.replace("kind: current", "kind: current\ncolour: blue"), "colour"),
    (lambda t: t.replace("region: us-east-1\n", "region: [us-east-1\n", 1), "line 8"),
    (lambda t: t.replace("kind: current", "kind: current\nkind: target"), "kind"),
    (lambda t: t.replace("deployment_option:\n  value: real-time",
                         "deployment_option:\n  value: 42"), "deployment_option"),
    (lambda t: "", ""),
    (lambda t: "- just\n- a list\n", ""),
])
def test_hand_edited_profile_mistakes_are_one_line_naming_file_and_field(
        exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Any,
        expected: str) -> None:
    original = (exported / "us-east-1" / "web-ranker-prod.current.yaml").read_text()
    edited = tmp_path / "web-ranker-prod.current.yaml"
    edited.write_text(edit(original))
    assert edit(original) != original
    assert main(["profile", "validate", str(edited)]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert str(edited) in err and expected in err


def test_profile_file_that_is_not_text(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "p.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    assert main(["profile", "validate", str(binary)]) == 2
    assert str(binary) in one_line_error(capsys.readouterr().err)


def test_export_where_a_file_stands_for_the_directory(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Running as root, permissions cannot make a directory unwritable; a file in the way can.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("keep me\n")
    assert main(["snapshot", "--demo", "-o", str(blocker / "profiles")]) == 1
    err = one_line_error(capsys.readouterr().err)
    assert "cannot write" in err and str(blocker) in err
    assert blocker.read_text() == "keep me\n"


def test_export_to_a_read_only_file_system_leaves_nothing_behind(
        exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import errno
    import os
    import shutil

    out = tmp_path / "export"
    shutil.copytree(exported, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real_open = os.open

    def read_only(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    assert main(["snapshot", "--demo", "-o", str(out)]) == 1
    monkeypatch.undo()
    err = one_line_error(capsys.readouterr().err)
    assert "read-only file system" in err and str(out) in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


# Data safety -----------------------------------------------------------------------------------


def _frozen_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo at one fixed moment: the same data twice, as a re-run on a quiet account."""
    import collectors.fleet

    moment = START

    def clock() -> dt.datetime:
        return moment

    monkeypatch.setattr(simulator, "SimulatedAccount",
                        functools.partial(SimulatedAccount, clock=clock))
    monkeypatch.setattr(collectors.fleet, "FleetCollector",
                        functools.partial(FleetCollector, clock=clock))


def test_re_running_an_export_rewrites_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _frozen_demo(monkeypatch)
    out = tmp_path / "export"
    assert main(["snapshot", "--demo", "-o", str(out)]) == 0
    first = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in out.rglob("*")
             if p.is_file()}
    assert len(first) > 50
    time.sleep(0.05)  # a rewrite would show a later mtime
    assert main(["snapshot", "--demo", "-o", str(out)]) == 0
    second = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in out.rglob("*")
              if p.is_file()}
    assert second == first


SLOW_EXPORT = """
import sys, time
import ground.atomic as atomic
write_temp = atomic._write_temp
def slow(path, data):
    time.sleep(0.02)  # a slow disk: the kill lands while temporaries are written
    return write_temp(path, data)
atomic._write_temp = slow
from sagetop.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def test_export_killed_half_way_leaves_the_previous_files_intact(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    out = tmp_path / "export"
    done = subprocess.run([sys.executable, "-m", "sagetop", "snapshot", "--demo", "-o", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_EXPORT, "snapshot", "--demo", "--endpoints", "40",
         "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            temps = [p for p in out.rglob(".*sagetop-tmp")]
            if len(temps) >= 20:  # well into writing the new export
                break
            time.sleep(0.02)
        assert process.poll() is None, "the export ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    after = {p: p.read_bytes() for p in out.rglob("*")
             if p.is_file() and not p.name.endswith(".sagetop-tmp")}
    assert after == before  # every previous file complete and unchanged, nothing new visible
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".sagetop-tmp")]
    assert all(p.name.startswith(".") for p in leftovers)  # hidden from listings and globs
    # The next run finishes the job and clears nothing it should not.
    again = subprocess.run([sys.executable, "-m", "sagetop", "snapshot", "--demo", "-o",
                            str(out)], capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    # ...and sweeps what the killed export left behind: its process is gone.
    assert not [p for p in out.rglob("*") if p.name.endswith(".sagetop-tmp")]


def test_snapshot_terminated_half_way_cleans_up_and_keeps_the_previous_export(
        tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    out = tmp_path / "export"
    assert main(["snapshot", "--demo", "-o", str(out)]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_EXPORT, "snapshot", "--demo", "--endpoints", "40",
         "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            if len(list(out.rglob(".*sagetop-tmp"))) >= 20:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the export ended before it could be stopped"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signal.SIGTERM
    assert not list(out.rglob("*.sagetop-tmp"))  # every temporary removed on the way out
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # the signal came before the renames: the previous export stands
