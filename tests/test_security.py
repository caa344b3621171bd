"""Security end to end: the read-only guard, the IAM policy, secrets, and untrusted account text.

The guard is walked over every operation of every service sagetop has a client for, through the
real aiobotocore clients of `AwsContext`, against the simulated account, which records every
request that reaches it: anything not on sagetop's allow-list must be refused before it gets there.
(The decision over every operation of every service botocore knows is in tests/test_guard.py.)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import inspect
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore import xform_name
from botocore.config import Config
from botocore.model import Shape

import collectors.oam
import collectors.org
import collectors.prices
import simulator
from collectors.aws import AwsContext, AwsTarget
from collectors.fleet import FleetCollector
from collectors.guard import SAGETOP_OPERATIONS, is_allowed
from collectors.iam import OPERATIONS
from ground.config import AwsSettings, SagetopConfig
from ground.errors import ReadOnlyViolation
from sagetop.cli import main
from simulator import SimulatedAccount
from tests.conftest import REGION, Moto

SERVICES = ("sagemaker", "cloudwatch", "application-autoscaling", "s3", "sts", "pricing",
            "compute-optimizer", "cost-optimization-hub", "organizations", "oam",
            "resourcegroupstaggingapi")
SIM_SECRETS = ("ASIASIMULATEDKEY0000", "simulated-secret-key", "simulated-session-token")
ENV_SECRETS = ("AKIAENVSECRETKEY0042", "env-secret-access-key-do-not-log",
               "env-session-token-do-not-log")


def _target(account: SimulatedAccount) -> AwsTarget:
    return AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)


def _dummy(shape: Shape, depth: int = 0) -> Any:
    """The smallest value of a shape that serialises: required members only."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 6:
            return {}
        return {name: _dummy(shape.members[name], depth + 1)
                for name in getattr(shape, "required_members", [])}
    if kind == "list":
        return []
    if kind == "map":
        return {}
    if kind in ("integer", "long"):
        return 1
    if kind in ("float", "double"):
        return 1.0
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    if kind == "blob":
        return b"x"
    enum = getattr(shape, "enum", None)
    return enum[0] if enum else "sagetop-guard-test"


# The read-only guard -------------------------------------------------------------------------


async def test_no_write_of_any_service_reaches_the_account() -> None:
    account = SimulatedAccount()
    refused: dict[str, set[str]] = {}
    reached_reads: dict[str, set[str]] = {}
    others: dict[str, str] = {}
    async with AwsContext(AwsSettings(), _target(account)) as aws:
        # No client-side validation, no retries: every call goes as far as the guard lets it.
        aws.client_config = aws.client_config.merge(Config(
            parameter_validation=False, retries={"mode": "standard", "max_attempts": 1}))
        for service in SERVICES:
            client = await aws.client(service, REGION)
            model = client.meta.service_model
            event_id = model.service_id.hyphenize()
            for operation in model.operation_names:
                op_model = model.operation_model(operation)
                params = _dummy(op_model.input_shape) if op_model.input_shape else {}
                method = getattr(client, xform_name(operation))
                try:
                    result = await asyncio.wait_for(method(**params), 10)
                    if isinstance(result, dict) and "Body" in result:
                        result["Body"].close()
                except ReadOnlyViolation as exc:
                    assert f"{event_id}:{operation}" in str(exc)
                    refused.setdefault(service, set()).add(operation)
                    continue
                except Exception as exc:  # a read refused by the account, or by the model
                    others[f"{event_id}:{operation}"] = type(exc).__name__
                if is_allowed(event_id, operation):
                    reached_reads.setdefault(service, set()).add(operation)
                else:
                    pytest.fail(f"{event_id}:{operation} was not refused by the guard")
    sent = {key.split(":", 1)[1] for key in account.requests}
    total = 0
    for service in SERVICES:
        model_ops = set(await _model_ops(service))
        unlisted = {op for op in model_ops if not is_allowed(_event_id(service), op)}
        total += len(model_ops)
        # Everything off the allow-list was refused by the guard, and none of it reached the
        # account: writes, and reads sagetop does not make (Get* that mint or reveal included).
        assert refused.get(service, set()) == unlisted, service
        assert not unlisted & {k.split(":", 1)[1] for k in account.requests
                               if k.startswith(f"{_event_id(service)}:")}
    assert total > 500  # the walk really covered the services' models
    assert sum(len(ops) for ops in reached_reads.values()) == len(SAGETOP_OPERATIONS)
    # And the guard is not simply refusing everything: reads do go out.
    assert {"ListEndpoints", "GetMetricData", "DescribeScalableTargets", "GetObject",
            "GetCallerIdentity", "GetProducts"} <= sent
    assert all(is_allowed(*k.split(":", 1)) for k in account.requests)


# Operations named by their verb as reads that create state, mint credentials or reveal secrets,
# and the credential calls sagetop's own clients may not make.
DANGEROUS_READS = [
    ("cognito-identity", "get_id", {"IdentityPoolId": "us-east-1:pool"}),
    ("ecr", "get_authorization_token", {}),
    ("redshift", "get_cluster_credentials",
     {"DbUser": "admin", "ClusterIdentifier": "c", "AutoCreate": True}),
    ("secretsmanager", "get_secret_value", {"SecretId": "prod/db"}),
    ("ssm", "get_parameter", {"Name": "/prod/db", "WithDecryption": True}),
    ("sts", "assume_role", {"RoleArn": "arn:aws:iam::123456789012:role/admin",
                            "RoleSessionName": "sagetop-test"}),
    ("sts", "get_session_token", {}),
]


@pytest.mark.parametrize(("service", "method", "params"), DANGEROUS_READS,
                         ids=[f"{s}.{m}" for s, m, _ in DANGEROUS_READS])
async def test_reads_that_change_or_reveal_are_refused_through_real_clients(
        service: str, method: str, params: dict[str, Any]) -> None:
    account = SimulatedAccount()
    async with AwsContext(AwsSettings(), _target(account)) as aws:
        client = await aws.client(service, REGION)
        with pytest.raises(ReadOnlyViolation):
            await getattr(client, method)(**params)
        # Nor through a client made on the session directly, bypassing AwsContext.client: the
        # session layer lets only the credential providers' calls through on top of sagetop's.
        async with aws.session.create_client(service, region_name=REGION) as bare:
            if (service, method) == ("sts", "assume_role"):
                with pytest.raises(Exception) as raised:
                    await getattr(bare, method)(**params)
                assert not isinstance(raised.value, ReadOnlyViolation)
            else:
                with pytest.raises(ReadOnlyViolation):
                    await getattr(bare, method)(**params)
    assert not [k for k in account.requests if not k.startswith("sts:AssumeRole")]


def test_only_awscontext_makes_clients() -> None:
    # The client layer of the guard is put on clients in AwsContext.client: a client made
    # anywhere else in sagetop would have only the session layer (which lets credential calls
    # through). No other module may make one.
    import ast

    makers = []
    for package in ("ground", "collectors", "advisors", "profiles", "pipeline", "tui",
                    "sagetop", "simulator"):
        for path in (Path(__file__).resolve().parents[1] / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr in (
                        "create_client", "_create_client", "create_nested_client"):
                    makers.append(f"{path.parent.name}/{path.name}")
    # (aws.py makes two kinds: sagetop's guarded clients, and the base session's STS client a
    # configured role is assumed with, which only the credential calls may use.)
    assert set(makers) == {"collectors/aws.py"}


@functools.cache
def _event_id(service: str) -> str:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    return str(model.service_id.hyphenize())


async def _model_ops(service: str) -> list[str]:
    import botocore.session

    return list(botocore.session.get_session().get_service_model(service).operation_names)


# The IAM policy ------------------------------------------------------------------------------


def _observed_actions(requests: Any) -> set[str]:
    actions = set()
    for key in requests:
        service, operation = key.split(":", 1)
        assert (service, operation) in OPERATIONS, f"{key} is called but not in collectors/iam"
        if OPERATIONS[(service, operation)]:
            actions.add(OPERATIONS[(service, operation)])
    return actions


async def test_iam_policy_is_exactly_what_a_full_collection_calls(
        moto: Moto, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iam-policy"]) == 0
    policy = json.loads(capsys.readouterr().out)
    assert policy["Version"] == "2012-10-17"
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    printed = {a for s in policy["Statement"] for a in s["Action"]}

    account = SimulatedAccount()
    async with AwsContext(AwsSettings(), _target(account)) as aws:
        fleet = await FleetCollector(aws).collect(force=True)
        simulated = dict(aws.ledger.requests)
    assert fleet.errors == ()
    assert simulated == dict(account.requests)  # the ledger saw what the account saw

    moto.create_endpoint("policy-check", tags={"env": "prod"})
    async with AwsContext(AwsSettings(), AwsTarget(regions=(REGION,),
                                                     endpoint_url=moto.url)) as aws:
        await FleetCollector(aws).collect(force=True)
        against_moto = dict(aws.ledger.requests)

    # pricing:GetProducts is only sent by `sagetop prices refresh`, never by a collection;
    # it is the one pricing call in the price refresh's code.
    source = inspect.getsource(collectors.prices)
    assert re.findall(r"get_paginator\(\"(\w+)\"\)", source) == ["get_products"]
    assert re.findall(r"client\.(?!get_paginator)(\w+)\(", source) == []
    # organizations:ListAccounts is sent by `--org` alone (tests/test_org.py collects through
    # it on moto); it is the one organizations call in the organisation's code.
    org_source = inspect.getsource(collectors.org)
    assert re.findall(r"get_paginator\(\"(\w+)\"\)", org_source) == ["list_accounts"]
    # oam:ListSinks and ListAttachedLinks are sent with several accounts alone (tests/test_oam.py
    # detects through them); they are the oam calls in the observability code.
    oam_source = inspect.getsource(collectors.oam)
    assert re.findall(r"get_paginator\(\"(\w+)\"\)", oam_source) == ["list_sinks",
                                                                     "list_attached_links"]
    assert re.findall(r"client\.(?!get_paginator)(\w+)\(", oam_source) == []
    observed = _observed_actions(simulated) | _observed_actions(against_moto) | {
        "pricing:GetProducts", "organizations:ListAccounts", "oam:ListSinks",
        "oam:ListAttachedLinks"}
    assert printed == observed
    assert all(a.split(":")[1].startswith(("Describe", "List", "Get")) for a in printed)


def test_iam_policy_reads_objects_only_where_told(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["iam-policy"]) == 0
    default = json.loads(capsys.readouterr().out)
    s3 = next(s for s in default["Statement"] if s["Action"] == ["s3:GetObject"])
    # Without locations: placeholders, which grant nothing until replaced; never all of S3.
    assert s3["Resource"] != "*" and all("REPLACE-WITH" in r for r in s3["Resource"])
    others = [s for s in default["Statement"] if s is not s3]
    assert all(s["Resource"] == "*" and not any(a.startswith("s3:") for a in s["Action"])
               for s in others)
    assert main(["iam-policy", "--s3", "s3://ml-models", "--s3", "s3://ml-monitoring/reports/",
                 "--s3", "s3://ml-models"]) == 0
    scoped = json.loads(capsys.readouterr().out)
    s3 = next(s for s in scoped["Statement"] if s["Action"] == ["s3:GetObject"])
    assert s3["Resource"] == ["arn:aws:s3:::ml-models/*", "arn:aws:s3:::ml-monitoring/reports/*"]
    for bad, why in (("ml-models", "expected s3://BUCKET"), ("s3://Bad_Bucket", "bucket name"),
                     ("s3://ok-bucket/a*", "not a pattern")):
        assert main(["iam-policy", "--s3", bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and why in err and bad in err


# Secrets ---------------------------------------------------------------------------------------


def _scan(texts: list[str], secrets: tuple[str, ...]) -> None:
    for text in texts:
        for secret in secrets:
            if secret in text:  # not `assert ... not in`: pytest would print the whole log
                pytest.fail(f"{secret!r} leaked: ...{_around(text, secret)!r}...")


def _around(text: str, secret: str) -> str:
    at = text.index(secret)
    return text[max(0, at - 120):at + 40]


def test_no_secret_in_report_export_or_messages(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--demo", "--format", "json"]) == 0
    assert main(["report", "--demo"]) == 0
    assert main(["snapshot", "--demo", "-o", str(tmp_path / "export")]) == 0
    captured = capsys.readouterr()
    files = [p.read_text() for p in (tmp_path / "export").rglob("*") if p.is_file()]
    assert len(files) > 50
    _scan([captured.out, captured.err, *files], SIM_SECRETS)


async def test_no_environment_secret_in_report_or_errors(
        moto: Moto, monkeypatch: pytest.MonkeyPatch) -> None:
    moto.create_endpoint("secret-check")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ENV_SECRETS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRETS[1])
    monkeypatch.setenv("AWS_SESSION_TOKEN", ENV_SECRETS[2])
    async with AwsContext(AwsSettings(), AwsTarget(regions=(REGION,),
                                                     endpoint_url=moto.url)) as aws:
        fleet = await FleetCollector(aws).collect(force=True)
    assert fleet.endpoints
    # And the errors of a failing collection (nothing listens on port 9).
    config = SagetopConfig.model_validate({"aws": {"max_attempts": 1, "connect_timeout_s": 1}})
    async with AwsContext(config.aws, AwsTarget(regions=(REGION,),
                                            endpoint_url="http://127.0.0.1:9")) as aws:
        failed = await FleetCollector(aws).collect(force=True)
    assert failed.errors
    from pipeline.report import fleet_report, fleet_table

    texts = [json.dumps(fleet_report(f), default=str) + fleet_table(f) + repr(f)
             for f in (fleet, failed)]
    _scan(texts, ENV_SECRETS)


async def test_no_secret_in_a_debug_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    account = SimulatedAccount()
    async with AwsContext(AwsSettings(), _target(account)) as aws:
        await FleetCollector(aws).collect(force=True)
    assert caplog.records
    _scan([caplog.text], SIM_SECRETS[1:])  # the secret key and the session token


# Untrusted text from the account -------------------------------------------------------------

HOSTILE_TAGS = {
    "team": "[bold red]x[/]",
    "owner": "\x1b[31mred\x1b[0m\x07",
    "notes": "*x* | y `z` <b>",
    "yaml": "key: value # not a comment\n- item\n'quoted'",
    "[link](http://evil)": "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\",
}


def _hostile_account(*args: Any, **kwargs: Any) -> SimulatedAccount:
    account = SimulatedAccount(*args, **kwargs)
    account.endpoint("web-ranker-prod").tags.update(HOSTILE_TAGS)
    return account


def test_hostile_tags_are_inert_in_table_markdown_and_yaml(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(simulator, "SimulatedAccount", _hostile_account)
    assert main(["report", "--demo"]) == 0
    table = capsys.readouterr().out
    assert "\x1b" not in table and "\x07" not in table
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", table)

    assert main(["report", "--demo", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    web = next(e for e in report["endpoints"] if e["name"] == "web-ranker-prod")
    for key, value in HOSTILE_TAGS.items():
        assert web["tags"][key] == value  # JSON keeps the data exact (and escapes it)

    out = tmp_path / "export"
    assert main(["snapshot", "--demo", "-o", str(out)]) == 0
    capsys.readouterr()
    rationale = (out / "us-east-1" / "web-ranker-prod.rationale.md").read_text()
    assert "team=" in rationale  # the tags are there...
    # ...escaped, never live Markdown: no emphasis, no table cell, no link, no markup.
    for raw in ("*x* | y", "[bold red]x[/]", "[link](http://evil)", "<b>"):
        assert raw not in rationale
    round_tripped = 0
    for path in out.rglob("*.yaml"):
        text = path.read_text()
        assert "\x1b" not in text  # YAML escapes control characters ("\e")
        loaded = yaml.safe_load(text)
        tags = _find_tags(loaded)
        if path.name.startswith("web-ranker-prod") and tags is not None:
            for key, value in HOSTILE_TAGS.items():
                assert tags.get(key) == value, (path, key)
            round_tripped += 1
    assert round_tripped == 2  # current and target profiles, exactly as the account has them


def _find_tags(data: Any) -> dict[str, str] | None:
    """The tags mapping wherever the profile keeps it, if it keeps it."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "tags" and isinstance(value, dict):
                inner = value.get("value", value)
                return inner if isinstance(inner, dict) else None
            found = _find_tags(value)
            if found is not None:
                return found
    if isinstance(data, list):
        for item in data:
            found = _find_tags(item)
            if found is not None:
                return found
    return None


def test_rationale_has_no_control_characters_from_tags(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(simulator, "SimulatedAccount", _hostile_account)
    assert main(["snapshot", "--demo", "-o", str(tmp_path)]) == 0
    rationale = (tmp_path / "us-east-1" / "web-ranker-prod.rationale.md").read_text()
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", rationale)
