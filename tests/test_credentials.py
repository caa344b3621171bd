"""Every credential setup the AWS CLI accepts, against moto's STS and the SSO stand-in.

The AWS files are the ones organisations hand out: a read-only role assumed from a base profile
(the README's `--profile prod-readonly`), a chain of two roles, a web identity token file as a
profile or as EKS sets it in the environment (IRSA), credential_process, IAM Identity Center
(legacy and `sso-session`, whose expired token is refreshed). The credential providers' own calls
go out (the guard lets AssumeRole and the SSO calls through for them), sagetop's reads follow with
the credentials they obtained, and a misconfigured chain is one line and exit 2.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from collectors.aws import AwsContext, AwsTarget
from ground.config import AwsSettings
from sagetop.cli import main
from tests.conftest import REGION, Moto

REPO = Path(__file__).resolve().parents[1]
ACCOUNT = "123456789012"
START_URL = "https://example.awsapps.com/start"


@pytest.fixture
def aws_files(tmp_path: Path, moto: Moto, monkeypatch: pytest.MonkeyPatch) -> Path:
    """~/.aws/config with the usual profiles; no key in the environment; STS is moto."""
    moto.create_endpoint("fraud-detector-prod")  # with the test's keys, before they go
    moto.log.clear()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    token = tmp_path / "web-identity-token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.sig")
    process = tmp_path / "credentials.py"
    process.write_text("import json\nprint(json.dumps({'Version': 1, "
                       "'AccessKeyId': 'AKIAPROCESSKEY000000', "
                       "'SecretAccessKey': 'process-secret'}))\n")
    config = tmp_path / "aws-config"
    config.write_text(f"""\
[profile base]
aws_access_key_id = AKIABASEKEY000000000
aws_secret_access_key = base-secret

[profile prod-readonly]
role_arn = arn:aws:iam::{ACCOUNT}:role/readonly
source_profile = base

[profile chained]
role_arn = arn:aws:iam::{ACCOUNT}:role/second-hop
source_profile = prod-readonly

[profile web]
role_arn = arn:aws:iam::{ACCOUNT}:role/web-identity
web_identity_token_file = {token}

[profile process]
credential_process = {sys.executable} {process}

[profile loop-a]
role_arn = arn:aws:iam::{ACCOUNT}:role/a
source_profile = loop-b

[profile loop-b]
role_arn = arn:aws:iam::{ACCOUNT}:role/b
source_profile = loop-a

[profile orphan]
role_arn = arn:aws:iam::{ACCOUNT}:role/orphan
source_profile = not-there
""")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto.url)
    return tmp_path


def _report(moto: Moto, *args: str) -> list[str]:
    return ["report", "--format", "json", "--region", REGION, "--endpoint-url", moto.url, *args]


@pytest.mark.parametrize(("profile", "assumed"), [
    ("prod-readonly", ["AssumeRole"]),
    ("chained", ["AssumeRole", "AssumeRole"]),
    ("web", ["AssumeRoleWithWebIdentity"]),
    ("process", []),
])
@pytest.mark.usefixtures("aws_files")
def test_report_works_with_the_profiles_people_have(
        moto: Moto, capsys: pytest.CaptureFixture[str], profile: str,
        assumed: list[str]) -> None:
    assert main(_report(moto, "--profile", profile)) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert captured.err == ""
    report = json.loads(captured.out)
    assert report["account_id"] == ACCOUNT
    assert [e["name"] for e in report["endpoints"]] == ["fraud-detector-prod"]
    assert report["errors"] == []
    assert [entry for entry in moto.log if entry.startswith("AssumeRole")] == assumed
    # The providers' calls are theirs: sagetop's own requests are its reads alone.
    assert not [k for k in report["requests"]["calls_by_operation"]
                if k.startswith("sts:") and k != "sts:GetCallerIdentity"
                and k.split(":")[1] not in assumed]


@pytest.mark.usefixtures("aws_files")
async def test_sagetops_reads_are_signed_with_the_assumed_role() -> None:
    async with AwsContext(AwsSettings(), AwsTarget(profile="chained", regions=(REGION,))
                          ) as aws:
        assert await aws.credentials_problem() is None
        sts = await aws.client("sts", REGION)
        identity = await sts.get_caller_identity()
    assert identity["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/second-hop/")


def test_eks_web_identity_from_the_environment(
        aws_files: Path, moto: Moto, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # IRSA: no profile at all, the role and token file in the pod's environment.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_files / "no-config"))
    monkeypatch.setenv("AWS_ROLE_ARN", f"arn:aws:iam::{ACCOUNT}:role/irsa-reader")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(aws_files / "web-identity-token"))
    assert main(_report(moto)) == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    assert report["account_id"] == ACCOUNT and report["endpoints"]
    assert moto.log.count("AssumeRoleWithWebIdentity") == 1


@pytest.mark.parametrize(("args", "env", "expected"), [
    (["--profile", "loop-a"], {}, "Infinite loop in credential configuration"),
    (["--profile", "orphan"], {}, "not-there"),
    ([], {"AWS_PROFILE": "no-such-profile"}, "'no-such-profile' (from AWS_PROFILE)"),
    (["--profile", "no-such-profile"], {}, "'no-such-profile' (from --profile)"),
])
@pytest.mark.usefixtures("aws_files")
def test_a_misconfigured_chain_is_one_line_and_exit_2(
        moto: Moto, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        args: list[str], env: dict[str, str], expected: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(_report(moto, *args)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and expected in captured.err, captured.err


def test_a_malformed_aws_config_is_exit_2(
        tmp_path: Path, moto: Moto, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "aws-config"
    broken.write_text("[profile prod\nregion = us-east-1\n= no key\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(broken))
    assert main(_report(moto)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(broken) in err and "cannot be parsed" in err


def test_no_credentials_is_one_line_and_exit_1(
        tmp_path: Path, moto: Moto, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    assert main(_report(moto)) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # no empty table, no "$0/month"
    assert captured.err == ("sagetop: error: no AWS credentials found (profile, environment, "
                            "SSO or instance role)\n")
    assert moto.log == []  # nothing was sent unsigned


def _sso_cache(home: Path, key: str, token: dict[str, str]) -> None:
    cache = home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1(key.encode()).hexdigest()  # botocore's cache key
    (cache / f"{name}.json").write_text(json.dumps(token))


@pytest.mark.parametrize("profile", ["sso-legacy", "sso-session"])
def test_iam_identity_center_profiles(tmp_path: Path, moto: Moto, profile: str) -> None:
    # A subprocess with its own HOME: botocore reads the SSO token cache under ~ at import.
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text(f"""\
[profile sso-legacy]
sso_start_url = {START_URL}
sso_region = {REGION}
sso_account_id = {ACCOUNT}
sso_role_name = ReadOnly

[profile sso-session]
sso_session = corp
sso_account_id = {ACCOUNT}
sso_role_name = ReadOnly

[sso-session corp]
sso_start_url = {START_URL}
sso_region = {REGION}
""")
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    expired = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _sso_cache(home, START_URL, {"startUrl": START_URL, "region": REGION,
                                 "accessToken": "sso-access-token", "expiresAt": later})
    # The sso-session token has expired: botocore refreshes it with sso-oidc CreateToken.
    _sso_cache(home, "corp", {"startUrl": START_URL, "region": REGION,
                              "accessToken": "expired-token", "expiresAt": expired,
                              "clientId": "client", "clientSecret": "secret",
                              "registrationExpiresAt": later,
                              "refreshToken": "sso-refresh-token"})
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(HOME=str(home), PYTHONPATH=str(REPO), AWS_EC2_METADATA_DISABLED="true",
               AWS_ENDPOINT_URL_STS=moto.url, AWS_ENDPOINT_URL_SSO=moto.url,
               AWS_ENDPOINT_URL_SSO_OIDC=moto.url)
    run = subprocess.run([sys.executable, "-m", "sagetop", *_report(moto, "--profile", profile)],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert json.loads(run.stdout)["account_id"] == ACCOUNT
    assert "GET /federation/credentials" in moto.log
    assert moto.middleware.sso.issued == (1 if profile == "sso-session" else 0)
