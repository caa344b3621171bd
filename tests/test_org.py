"""Several accounts in one view, against moto's STS and Organizations on moto's server.

moto switches account with the role ARN an AssumeRole names (credentials it hands out act in
that account), so each account here has its own endpoints; the stand-in refuses AssumeRole for
the roles in `unassumable`, as AWS does when the trust policy does not name the caller.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from sagetop.cli import main
from tests.conftest import REGION, Moto, acting_as, role_arn

MAIN = "123456789012"  # moto's account for the test's own keys
TEAM = "222233334444"
BROKEN = "333344445555"


def _create_in(moto: Moto, monkeypatch: pytest.MonkeyPatch, account: str, *names: str) -> None:
    """Endpoints made with credentials of `account` (moto files them there)."""
    with acting_as(moto, monkeypatch, account):
        for name in names:
            moto.create_endpoint(name)


@pytest.fixture
def accounts(moto: Moto, monkeypatch: pytest.MonkeyPatch) -> Iterator[Moto]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto.url)  # the role's AssumeRole goes to moto
    moto.create_endpoint("main-churn")
    _create_in(moto, monkeypatch, TEAM, "team-fraud", "team-search")
    moto.log.clear()
    yield moto


def _report(moto: Moto, capsys: pytest.CaptureFixture[str], *args: str
            ) -> tuple[int, dict[str, object], str]:
    code = main(["report", "--format", "json", "--region", REGION, "--endpoint-url", moto.url,
                 *args])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def _config(tmp_path: Path, body: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(body)
    return str(path)


def test_accounts_from_config_one_unassumable_is_stale_the_others_live(
        accounts: Moto, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accounts.middleware.unassumable.add(role_arn(BROKEN))
    config = _config(tmp_path, f"""
[[accounts]]
name = "main"
role_arn = "{role_arn(MAIN)}"
[[accounts]]
name = "team"
role_arn = "{role_arn(TEAM)}"
external_id = "sagetop-4c1f"
[[accounts]]
name = "gone"
role_arn = "{role_arn(BROKEN)}"
""")
    code, report, err = _report(accounts, capsys, "--config", config)
    endpoints = {(e["account"], e["name"]) for e in report["endpoints"]}  # type: ignore[attr-defined]
    assert endpoints == {("main", "main-churn"), ("team", "team-fraud"),
                         ("team", "team-search")}
    by_name = {a["name"]: a for a in report["accounts"]}  # type: ignore[attr-defined]
    assert by_name["main"]["account_id"] == MAIN and not by_name["main"]["stale"]
    assert by_name["team"]["account_id"] == TEAM and not by_name["team"]["stale"]
    assert by_name["gone"]["stale"] and by_name["gone"]["account_id"] is None
    assert "AccessDenied" in by_name["gone"]["problem"] or \
        "no permission" in by_name["gone"]["problem"]
    # Totals per account add up to the organisation's, which the stale account leaves intact.
    summary = report["summary"]
    assert [t["account"] for t in summary["by_account"]] == ["main", "team", "gone"]  # type: ignore[index]
    assert [t["endpoints"] for t in summary["by_account"]] == [1, 2, 0]  # type: ignore[index]
    assert round(sum(t["monthly_cost_usd"] for t in summary["by_account"]), 2) == \
        summary["monthly_cost_usd"]  # type: ignore[index]
    # The broken account is one line naming it, and the exit status says something failed.
    assert code == 1
    assert err.count("\n") == 1 and "account gone:" in err
    assert accounts.operations("AssumeRole") >= 3


def test_repeated_profiles_are_accounts(
        accounts: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    aws_config = tmp_path / "aws-config"
    aws_config.write_text(f"""\
[profile base]
aws_access_key_id = AKIABASEKEY000000000
aws_secret_access_key = base-secret

[profile team]
role_arn = {role_arn(TEAM)}
source_profile = base
""")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))
    code, report, err = _report(accounts, capsys, "--profile", "base", "--profile", "team")
    assert code == 0, err
    endpoints = sorted((e["account"], e["name"]) for e in report["endpoints"])  # type: ignore[attr-defined]
    assert endpoints == [("base", "main-churn"), ("team", "team-fraud"),
                         ("team", "team-search")]
    assert [a["account_id"] for a in report["accounts"]] == [MAIN, TEAM]  # type: ignore[attr-defined]


def test_org_lists_member_accounts_and_assumes_the_role_in_each(
        accounts: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    organizations = boto3.client("organizations", region_name="us-east-1",
                                 endpoint_url=accounts.url)
    organizations.create_organization(FeatureSet="ALL")
    member = organizations.create_account(Email="ml@example.com", AccountName="ml-team")[
        "CreateAccountStatus"]["AccountId"]
    _create_in(accounts, monkeypatch, member, "ml-ranker")
    accounts.log.clear()
    config = _config(tmp_path, '[org]\nrole_name = "sagetop-audit"\nexternal_id = "x-org-1"\n')
    code, report, err = _report(accounts, capsys, "--org", "--config", config)
    assert code == 0, err
    assert accounts.operations("ListAccounts") >= 1
    names = {a["name"]: a["account_id"] for a in report["accounts"]}  # type: ignore[attr-defined]
    assert names["ml-team"] == member and MAIN in names.values()
    assert ("ml-team", "ml-ranker") in {(e["account"], e["name"])
                                        for e in report["endpoints"]}  # type: ignore[attr-defined]


def test_bad_accounts_entries_are_one_line_at_start(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, '[[accounts]]\nrole_arn = "arn:aws:iam::12:role/x"\n')
    assert main(["report", "--config", config, "--region", REGION]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "config.toml: accounts[0].role_arn: expected an IAM role ARN" in err
    twice = _config(tmp_path, '[[accounts]]\nname = "a"\nprofile = "p"\n'
                              '[[accounts]]\nname = "a"\nprofile = "q"\n')
    assert main(["report", "--config", twice, "--region", REGION]) == 2
    assert "named twice" in capsys.readouterr().err


def test_cross_account_policies_come_from_the_guards_allow_list(
        capsys: pytest.CaptureFixture[str]) -> None:
    from collectors.guard import CREDENTIAL_OPERATIONS
    from collectors.iam import MONITORING_ONLY, actions

    assert main(["iam-policy", "--cross-account", "--role-name", "sagetop-audit",
                 "--monitoring-principal", f"arn:aws:iam::{MAIN}:role/monitor",
                 "--external-id", "x-org-1"]) == 0
    documents = json.loads(capsys.readouterr().out)
    member = {a for s in documents["member_role_policy"]["Statement"] for a in s["Action"]}
    # The member role reads what sagetop reads in an account; the listing is the monitor's.
    assert member == set(actions()) - MONITORING_ONLY
    assert "organizations:ListAccounts" in MONITORING_ONLY <= set(actions())
    (trust,) = documents["member_role_trust_policy"]["Statement"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{MAIN}:role/monitor"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "x-org-1"}}
    assume, listing = documents["monitoring_policy"]["Statement"]
    assert ("sts", assume["Action"].split(":")[1]) in CREDENTIAL_OPERATIONS
    assert assume["Resource"] == "arn:aws:iam::*:role/sagetop-audit"
    assert listing["Action"] == sorted(MONITORING_ONLY)
    assert main(["iam-policy", "--cross-account", "--role-name", "bad name"]) == 2
