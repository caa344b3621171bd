"""Failing in seconds, with the right code: the fault table's rows against fake servers and moto.

Timeouts and retries are the default configuration's (config.toml; `SagetopConfig()`), never a
short timeout of the test's own: what is proven is what a user gets. What is asserted is the
mechanism (how many attempts each operation got, what was not asked at all), with the issue's
bounds (10 s refused or unreachable, 60 s silent) as upper bounds on the time.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from collectors.aws import AwsContext, AwsTarget
from collectors.budget import POOL_TOKENS, RETRY_COST, RetryBudget
from collectors.fleet import FleetCollector
from ground.config import SagetopConfig
from sagetop.cli import main
from simulator import SimulatedAccount
from tests.conftest import REGION, Moto
from tests.fake_servers import Answer, blackhole, fake_aws, refused_url

DEFAULT = SagetopConfig()
LOGIN_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Sign in - Corporate Proxy</title></head>"
              b"<body><form>...</form></body></html>")


def one_line(err: str) -> str:
    assert err.count("\n") == 1, err
    assert err.startswith("sagetop: error: ") and "Traceback" not in err, err
    return err


async def _collect(url: str) -> tuple[Any, dict[str, int], float, RetryBudget]:
    started = time.monotonic()
    async with AwsContext(DEFAULT.aws, AwsTarget(regions=(REGION,), endpoint_url=url)) as aws:
        fleet = await FleetCollector(aws).collect(force=True)
        return fleet, dict(aws.ledger.requests), time.monotonic() - started, aws.budget


# Unreachable, refused, silent ----------------------------------------------------------------


async def test_a_refused_url_fails_the_collection_in_seconds_asking_only_twice() -> None:
    fleet, requests, elapsed, budget = await _collect(refused_url())
    # The identity and the listing went out together; the first connection failure of the
    # collection is tried once more, then the region is down: nothing else is asked.
    assert set(requests) == {"sts:GetCallerIdentity", "sagemaker:ListEndpoints"}
    assert all(count <= 2 for count in requests.values()), requests
    assert budget.unreachable
    assert [e.operation for e in fleet.errors] == ["ListEndpoints"]
    assert elapsed < 10


def test_report_against_a_refused_url_is_one_line_naming_it_exit_1(
        capsys: pytest.CaptureFixture[str]) -> None:
    url = refused_url()
    started = time.monotonic()
    assert main(["report", "--endpoint-url", url, "--region", REGION]) == 1
    assert time.monotonic() - started < 10
    captured = capsys.readouterr()
    assert captured.out == ""  # no empty table, no "$0/month"
    assert one_line(captured.err) == (
        f"sagetop: error: {REGION}: cannot reach AWS for sagemaker:ListEndpoints at {url} "
        "(connection refused)\n")


async def test_an_unreachable_url_waits_one_connect_timeout_not_eight() -> None:
    with blackhole() as hole:
        fleet, requests, elapsed, _budget = await _collect(hole.url)
    # A connect timeout already waited aws.connect_timeout_s (5 s): it is never retried.
    assert requests == {"sts:GetCallerIdentity": 1, "sagemaker:ListEndpoints": 1}
    assert fleet.errors[0].message == (
        f"sagemaker:ListEndpoints timed out: no connection to {hole.url}")
    assert DEFAULT.aws.connect_timeout_s <= elapsed < 10


def test_a_silent_server_is_one_line_within_a_minute(capsys: pytest.CaptureFixture[str]) -> None:
    # Accepts, reads, never answers: the default read timeout (20 s) twice, for the first call
    # only; the identity check waits alongside, and nothing else is asked.
    with fake_aws(answer=None) as server:
        started = time.monotonic()
        code = main(["report", "--endpoint-url", server.url, "--region", REGION])
        elapsed = time.monotonic() - started
        operations = dict(server.operations)
    assert code == 1
    assert one_line(capsys.readouterr().err) == (
        f"sagetop: error: {REGION}: sagemaker:ListEndpoints timed out: no answer from "
        f"{server.url}\n")
    assert operations["ListEndpoints"] == 2
    assert set(operations) <= {"ListEndpoints", "GetCallerIdentity"}
    assert operations.get("GetCallerIdentity", 0) <= 2
    assert 2 * DEFAULT.aws.read_timeout_s <= elapsed < 60


# The retry budget --------------------------------------------------------------------------


class _Http:
    def __init__(self, status: int) -> None:
        self.status_code = status


def _throttled() -> tuple[_Http, dict[str, Any]]:
    return _Http(400), {"Error": {"Code": "ThrottlingException"}}


def test_the_retry_pool_is_shared_refilled_by_successes_and_reset_per_collection() -> None:
    budget = RetryBudget(max_attempts=8)
    allowed = 0
    while budget.on_needs_retry(attempts=1, response=_throttled()) is None:
        allowed += 1
    assert allowed == POOL_TOKENS // RETRY_COST  # 100 retries a collection, whatever the call
    assert budget.on_needs_retry(attempts=2, response=_throttled()) is False
    for _ in range(RETRY_COST):  # five calls answered at their first attempt pay for one retry
        assert budget.on_needs_retry(attempts=1, response=(_Http(200), {})) is None
    assert budget.on_needs_retry(attempts=1, response=_throttled()) is None
    assert budget.on_needs_retry(attempts=1, response=_throttled()) is False
    budget.begin()
    assert budget.on_needs_retry(attempts=1, response=_throttled()) is None
    # What botocore never retries is left to it: a 400 that is not a throttle, the last attempt.
    assert budget.on_needs_retry(attempts=1, response=(
        _Http(400), {"Error": {"Code": "ValidationException"}})) is None
    assert budget.on_needs_retry(attempts=8, response=_throttled()) is None


@pytest.fixture
def unlimited_client_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adaptive mode's client-side limiter off: in a storm it slows every request to 0.5 a
    second (minutes for this test). What is measured here is the retries, which stay as they are.
    """
    from aiobotocore.retries.bucket import AsyncTokenBucket

    async def granted(self: Any, amount: int = 1, block: bool = True) -> bool:
        return True

    monkeypatch.setattr(AsyncTokenBucket, "acquire", granted)


@pytest.mark.usefixtures("quick_backoff", "unlimited_client_rate")
async def test_a_throttling_storm_spends_one_pool_for_the_whole_collection() -> None:
    # ListTags is one call per endpoint (where the Resource Groups Tagging API is refused): 40
    # calls that botocore alone would each retry 7 times.
    account = SimulatedAccount(endpoints=40)
    account.faults.add("resource-groups-tagging-api:GetResources", "deny")
    account.faults.add("sagemaker:ListTags", "throttle")
    async with AwsContext(DEFAULT.aws, _simulated(account)) as aws:
        stormy = await FleetCollector(aws).collect(force=True)
        requests, calls = aws.ledger.requests, aws.ledger.calls
    assert [e.message for e in stormy.errors] == ["sagemaker:ListTags throttled after retries"]
    tag_calls = calls["sagemaker:ListTags"]
    retries = requests["sagemaker:ListTags"] - tag_calls
    assert tag_calls == len(account.fleet)
    assert tag_calls * (DEFAULT.aws.max_attempts - 1) > 2 * (POOL_TOKENS // RETRY_COST)
    # The pool: 500 tokens, 5 a retry, 1 back for every call answered at its first attempt.
    answered_first_time = sum(calls.values()) - tag_calls - calls[
        "resource-groups-tagging-api:GetResources"]  # refused: no token back
    assert 0 < retries <= (POOL_TOKENS + answered_first_time) // RETRY_COST
    assert aws.budget.refused_retries > 0
    assert len(stormy.endpoints) == len(account.fleet)  # the rest of the collection stands


# Answers that are not AWS's ------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "shown"), [
    (Answer(200, LOGIN_PAGE), "not an AWS answer (text/html: an HTML page titled "
                              "'Sign in - Corporate Proxy')"),
    (Answer(200, b"{}", "application/x-amz-json-1.1"),
     "ListEndpoints answer without its Endpoints list"),
])
def test_a_200_that_is_not_an_aws_answer_is_a_failure_not_an_empty_fleet(
        capsys: pytest.CaptureFixture[str], answer: Answer, shown: str) -> None:
    with fake_aws(answer) as server:
        code = main(["report", "--endpoint-url", server.url, "--region", REGION])
        operations = dict(server.operations)
    assert code == 1
    err = one_line(capsys.readouterr().err)
    assert f"{REGION}: sagemaker:ListEndpoints failed: unreadable answer: " in err
    assert shown in err and "<" not in err
    assert operations == {"ListEndpoints": 1, "GetCallerIdentity": 1}  # not retried


def _simulated(account: SimulatedAccount) -> AwsTarget:
    return AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)


def _answers(account: SimulatedAccount, change: Any) -> None:
    """Every simulated answer passes `change(service, operation, params, body)` first."""
    answer = account._answer

    def changed(service: str, operation: str, region: str, request: Any) -> Any:
        status, body, headers = answer(service, operation, region, request)
        params = json.loads(request.body) if service != "sts" and request.body else {}
        return status, change(service, operation, params, body), headers

    account._answer = changed  # type: ignore[method-assign]


@pytest.mark.parametrize(("operation", "field", "value"), [
    ("DescribeEndpoint", "CreationTime", "yesterday"),
    ("DescribeEndpoint", "ProductionVariants", "all of them"),
    ("DescribeEndpointConfig", "ProductionVariants", {"VariantName": "not a list"}),
])
async def test_one_malformed_field_fails_that_endpoint_not_the_run(
        operation: str, field: str, value: Any) -> None:
    account = SimulatedAccount()
    victim = "web-ranker-prod"

    def spoil(service: str, op: str, params: dict[str, Any], body: Any) -> Any:
        name = params.get("EndpointName") or params.get("EndpointConfigName") or ""
        if op == operation and name.startswith(victim):
            return {**body, field: value}
        return body

    _answers(account, spoil)
    async with AwsContext(DEFAULT.aws, _simulated(account)) as aws:
        fleet = await FleetCollector(aws).collect(force=True)
    names = {e.name for e in fleet.endpoints}
    assert victim not in names and len(names) == len(account.fleet) - 1
    problems = [e for e in fleet.errors if e.source == "inventory"]
    assert [e.operation for e in problems] == [operation]
    assert "unreadable answer" in problems[0].message or "unexpected answer" in (
        problems[0].message)
    assert fleet.metrics.window_value(f"{REGION}/checkout-upsell-prod", "AllTraffic",
                                      "requests") is not None


async def test_an_sts_answer_that_is_not_xml_costs_the_account_id_only() -> None:
    account = SimulatedAccount()
    _answers(account, lambda service, op, params, body: "<html>gateway</html>"
             if service == "sts" else body)
    async with AwsContext(DEFAULT.aws, _simulated(account)) as aws:
        fleet = await FleetCollector(aws).collect(force=True)
    assert fleet.account_id is None and len(fleet.endpoints) == len(account.fleet)
    assert fleet.errors == ()


# Exports that a failed collection must not overwrite ---------------------------------------------


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "export"
    assert main(["snapshot", "--demo", "-o", str(out)]) == 0
    return out


@pytest.fixture
def export(demo_export: Path, tmp_path: Path) -> Path:
    """A directory holding a whole export of the demo fleet, the test's own copy."""
    out = tmp_path / "export"
    shutil.copytree(demo_export, out)
    return out


def _files(out: Path) -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}


def test_snapshot_without_credentials_leaves_the_export_as_it_was(
        export: Path, moto: Moto, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    before = _files(export)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    assert main(["snapshot", "--endpoint-url", moto.url, "-o", str(export)]) == 1
    err = one_line(capsys.readouterr().err)
    assert "no AWS credentials found" in err and f"nothing written to {export}" in err
    assert _files(export) == before


def test_snapshot_of_a_garbage_answer_leaves_the_export_as_it_was(
        export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _files(export)
    with fake_aws(Answer(200, LOGIN_PAGE)) as server:
        assert main(["snapshot", "--endpoint-url", server.url, "--region", REGION,
                     "-o", str(export)]) == 1
    assert "not an AWS answer" in one_line(capsys.readouterr().err)
    assert _files(export) == before


def test_an_empty_account_does_not_replace_an_export_unless_asked(
        export: Path, moto: Moto, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _files(export)
    held = len(list(export.glob("*/*.current.yaml")))
    args = ["snapshot", "--endpoint-url", moto.url, "--region", REGION, "-o", str(export)]
    assert main(args) == 1
    err = one_line(capsys.readouterr().err)
    assert f"holds an export of {held} endpoints" in err and "--allow-empty" in err
    assert _files(export) == before
    assert main([*args, "--allow-empty"]) == 0
    assert yaml.safe_load((export / "fleet-summary.yaml").read_text())["endpoints"] == 0
    # An empty directory has nothing to protect: an empty account is written there as it is.
    fresh = tmp_path / "fresh"
    assert main(["snapshot", "--endpoint-url", moto.url, "--region", REGION,
                 "-o", str(fresh)]) == 0
    assert (fresh / "fleet-summary.yaml").is_file()


# Caches across a delete and re-create -----------------------------------------------------------


async def test_a_recreated_endpoint_shows_its_new_configuration(moto: Moto) -> None:
    moto.create_endpoint("ranker", instance_type="ml.m5.large", count=1)
    target = AwsTarget(regions=(REGION,), endpoint_url=moto.url)
    async with AwsContext(DEFAULT.aws, target) as aws:
        collector = FleetCollector(aws)
        first = await collector.collect(force=True)
        assert first.endpoints[0].variants[0].instance_type == "ml.m5.large"
        sagemaker = moto.client("sagemaker")
        sagemaker.delete_endpoint(EndpointName="ranker")
        sagemaker.delete_endpoint_config(EndpointConfigName="ranker-config")
        sagemaker.delete_model(ModelName="ranker-model")
        time.sleep(1.1)  # moto's times have a resolution of a second
        moto.create_endpoint("ranker", instance_type="ml.c5.xlarge", count=3)
        again = await collector.collect(force=True)
    variant = again.endpoints[0].variants[0]
    assert (variant.instance_type, variant.current_instance_count) == ("ml.c5.xlarge", 3)
    assert again.endpoints[0].creation_time > first.endpoints[0].creation_time


# Usage and configuration errors: exit 2, one line ------------------------------------------------


@pytest.mark.parametrize(("args", "config", "env", "expected"), [
    (["--region", "moon"], None, {}, "--region: 'moon' is not an AWS region"),
    (["--region", "us east 1"], None, {}, "--region: 'us east 1' is not a region name"),
    (["--endpoint-url", "localhost:4566"], None, {},
     "--endpoint-url: 'localhost:4566' is not an http:// or https:// URL"),
    (["--demo"], "[aws]\nendpoint_url = 'localhost:4566'\n", {},
     "aws.endpoint_url: 'localhost:4566' is not an http:// or https:// URL"),
    (["--demo"], "[cost]\ngetmetricdata_usd_per_1000_metrics = inf\n", {},
     "cost.getmetricdata_usd_per_1000_metrics: expected a finite number, got inf or nan"),
    (["--demo"], "[advisors]\ntarget_utilisation_pct = nan\n", {},
     "advisors.target_utilisation_pct: expected a finite number"),
    ([], "[aws]\nregions = ['mars-north-1']\n", {},
     "aws.regions in the configuration: 'mars-north-1' is not an AWS region"),
    ([], None, {"AWS_ENDPOINT_URL": "not a url"}, "AWS endpoint for sts"),
    ([], None, {"AWS_DEFAULT_REGION": ""}, "no AWS region"),
])
def test_usage_and_configuration_errors_exit_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        args: list[str], config: str | None, env: dict[str, str], expected: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    extra = []
    if config is not None:
        path = tmp_path / "config.toml"
        path.write_text(config)
        extra = ["--config", str(path)]
    assert main(["report", *args, *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = one_line(captured.err)
    assert expected in err, err
    if config is not None and "regions" not in config:
        assert str(tmp_path / "config.toml") in err


def test_the_defaults_mark_a_silent_refresh_stale_within_one_refresh_interval() -> None:
    # The dashboard calls a refresh stale once it has had no answer for aws.read_timeout_s
    # (tests/test_tui_faults.py shows the mechanism): at the defaults that is inside one
    # refresh interval, and the whole refresh gives up within a minute.
    assert DEFAULT.aws.read_timeout_s < DEFAULT.refresh.live_seconds
    assert 2 * DEFAULT.aws.read_timeout_s + 1 < 60

