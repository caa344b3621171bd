"""CloudWatch cross-account observability: detection, routing through the monitoring account,
fallback per account; against moto's server with the OAM stand-in, and the simulated org."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collectors.aws import AwsContext, AwsTarget
from collectors.oam import Detection, link_account, linked_sources, plan_routes
from collectors.org import AwsOrganisation, OrgCollector
from ground.config import AwsSettings, OrgSettings, SagetopConfig
from sagetop.cli import main
from simulator import SimulatedAccount
from simulator.oam import link_accounts
from tests.conftest import REGION, Moto, acting_as, role_arn

MAIN = "123456789012"  # moto's account for the test's own keys: the monitoring account
TEAM = "222233334444"  # linked to MAIN's sink
SOLO = "444455556666"  # watched, not linked


def _traffic(moto: Moto, endpoint: str, per_minute: float) -> None:
    end = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    moto.put_metric("AWS/SageMaker", "Invocations",
                    {"EndpointName": endpoint, "VariantName": "AllTraffic"},
                    [(end - dt.timedelta(minutes=i), per_minute) for i in range(1, 31)])


@pytest.fixture
def org(moto: Moto, monkeypatch: pytest.MonkeyPatch) -> Iterator[Moto]:
    """Three accounts, each with its own endpoints and traffic; MAIN's sink links TEAM."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto.url)
    moto.create_endpoint("main-churn")
    _traffic(moto, "main-churn", 5)
    with acting_as(moto, monkeypatch, TEAM):
        moto.create_endpoint("team-fraud")
        _traffic(moto, "team-fraud", 12)
    with acting_as(moto, monkeypatch, SOLO):
        moto.create_endpoint("solo-ranker")
        _traffic(moto, "solo-ranker", 7)
    moto.middleware.oam.sinks[MAIN] = [TEAM]
    moto.log.clear()
    moto.middleware.oam.metric_calls.clear()
    yield moto


def _report(moto: Moto, tmp_path: Path, capsys: pytest.CaptureFixture[str], org: str = ""
            ) -> tuple[int, dict[str, Any], str]:
    config = tmp_path / "config.toml"
    config.write_text("".join(f'[[accounts]]\nname = "{name}"\nrole_arn = "{role_arn(account)}"\n'
                              for name, account in (("main", MAIN), ("team", TEAM),
                                                    ("solo", SOLO))) + org)
    code = main(["report", "--format", "json", "--region", REGION, "--endpoint-url", moto.url,
                 "--config", str(config)])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def _requests(report: dict[str, Any]) -> dict[str, float | None]:
    return {e["name"]: e["variants"][0]["metrics"].get("requests") for e in report["endpoints"]}


def test_linked_accounts_metrics_come_from_the_monitoring_account_in_shared_calls(
        org: Moto, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report, err = _report(org, tmp_path, capsys)
    assert code == 0, err
    via = {a["name"]: a["metrics_via"] for a in report["accounts"]}
    assert via == {"main": "itself, the monitoring account", "team": "main", "solo": None}
    # Every account's own series, whichever way they were asked for.
    assert _requests(report) == {"main-churn": 150, "team-fraud": 360, "solo-ranker": 210}
    calls = org.middleware.oam.metric_calls
    by_caller: dict[str, list[list[str | None]]] = {}
    for caller, accounts in calls:
        by_caller.setdefault(caller, []).append(accounts)
    # The linked account asks CloudWatch nothing itself: the monitoring account asks for it, in
    # the same calls as its own queries (AccountId on each of the team's).
    assert TEAM not in by_caller
    assert any({None, TEAM} <= set(accounts) for accounts in by_caller[MAIN])
    # The account that is not linked asks for its own, without AccountId.
    assert by_caller[SOLO] and all(set(a) == {None} for a in by_caller[SOLO])
    assert not any(SOLO in a for a in by_caller[MAIN])
    assert org.operations("POST /ListSinks") == 3  # every watched account asked once
    assert org.operations("POST /ListAttachedLinks") == 1  # the one sink
    assert not [e for e in report["errors"] if e["source"] == "observability"]


def test_access_denied_everywhere_falls_back_per_account_with_one_line(
        org: Moto, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    org.middleware.oam.denied |= {MAIN, TEAM, SOLO}
    code, report, err = _report(org, tmp_path, capsys)
    assert code == 0, err
    assert all(a["metrics_via"] is None for a in report["accounts"])
    assert _requests(report) == {"main-churn": 150, "team-fraud": 360, "solo-ranker": 210}
    assert all(set(a) == {None} for _, a in org.middleware.oam.metric_calls)
    notes = [e for e in report["errors"] if e["source"] == "observability"]
    assert len(notes) == 1 and notes[0]["permission"]
    assert "no permission for oam:ListSinks in all 3 accounts" in notes[0]["message"]
    assert "metrics are asked per account" in notes[0]["message"]


def test_named_monitoring_account_alone_is_asked_and_its_refusal_named(
        org: Moto, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    org.middleware.oam.denied.add(MAIN)
    code, report, err = _report(org, tmp_path, capsys, '[org]\nmonitoring_account = "main"\n')
    assert code == 0, err
    assert org.operations("POST /ListSinks") == 1
    (note,) = [e for e in report["errors"] if e["source"] == "observability"]
    assert note["account"] == "main" and "in main" in note["message"]
    assert _requests(report)["team-fraud"] == 360

    # By its id too; and a name that is no watched account is one line, per account metrics.
    org.middleware.oam.denied.clear()
    code, report, _ = _report(org, tmp_path, capsys, f'[org]\nmonitoring_account = "{MAIN}"\n')
    assert {a["name"]: a["metrics_via"] for a in report["accounts"]}["team"] == "main"
    code, report, _ = _report(org, tmp_path, capsys, '[org]\nmonitoring_account = "ops"\n')
    (note,) = [e for e in report["errors"] if e["source"] == "observability"]
    assert "ops is not one of the watched accounts" in note["message"]
    assert all(a["metrics_via"] is None for a in report["accounts"])


def test_switched_off_asks_no_oam_at_all(
        org: Moto, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report, _ = _report(org, tmp_path, capsys, "[org]\ncross_account_metrics = false\n")
    assert code == 0
    assert org.operations("POST /ListSinks") == 0
    assert all(a["metrics_via"] is None for a in report["accounts"])


async def test_detection_reads_the_link_arn_not_its_label(org: Moto) -> None:
    org.middleware.oam.sinks[MAIN] = [TEAM, SOLO]
    target = AwsTarget(regions=(REGION,), endpoint_url=org.url)
    async with AwsContext(AwsSettings(), target) as aws:
        found = await linked_sources(aws, dt.datetime.now(dt.UTC))
    assert found.linked == {REGION: frozenset({TEAM, SOLO})} and not found.errors
    assert link_account(f"arn:aws:oam:{REGION}:{TEAM}:link/abc") == TEAM
    for bad in ("", "arn:aws:oam:us-east-1:12:link/x", f"arn:aws:logs:{REGION}:{TEAM}:x",
                "account-222233334444"):
        assert link_account(bad) is None


def test_routes_first_monitoring_account_wins_and_unwatched_links_are_ignored() -> None:
    accounts = [("a", "111111111111"), ("b", "222222222222"), ("c", "333333333333"),
                ("d", None)]
    detected = {
        "a": Detection(linked={"us-east-1": frozenset({"222222222222", "999999999999"})}),
        "c": Detection(linked={"us-east-1": frozenset({"222222222222"}),
                               "eu-west-1": frozenset({"222222222222", "111111111111"})}),
    }
    assert plan_routes(accounts, detected) == {
        ("a", "us-east-1"): "a", ("b", "us-east-1"): "a",
        ("c", "eu-west-1"): "c", ("b", "eu-west-1"): "c", ("a", "eu-west-1"): "c"}
    assert plan_routes(accounts, {"a": Detection()}) == {}


# The simulated organisation, at the wire level ------------------------------------------------


# One moment for both collections compared: a minute passing between them would move the window.
NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def _simulated_org(count: int, linked: int) -> tuple[list[SimulatedAccount], AwsOrganisation]:
    regions = (REGION,)
    accounts = [SimulatedAccount(endpoints=6, seed=11 + i, regions=regions, clock=lambda: NOW,
                                 account_id=f"{100000000001 + i:012d}") for i in range(count)]
    if linked:
        link_accounts(accounts[0], accounts[1:1 + linked])
    targets = [AwsTarget(regions=regions, simulated=True, account=f"sim-{i + 1:02d}",
                         prepare_session=a.install) for i, a in enumerate(accounts)]
    config = SagetopConfig()
    return accounts, AwsOrganisation(config.aws, targets, config.cost, org=OrgSettings())


async def _collect(count: int, linked: int) -> tuple[list[SimulatedAccount], Any, Any]:
    accounts, organisation = _simulated_org(count, linked)
    async with organisation:
        collector = OrgCollector(organisation, clock=lambda: NOW)
        first = await collector.collect(force=True)
        steady = await collector.collect(live=None, focus=[])
    return accounts, first, steady


async def test_simulated_org_serves_linked_metrics_from_the_monitoring_account() -> None:
    accounts, fleet, steady = await _collect(4, 2)
    gmd = "cloudwatch:GetMetricData"
    assert accounts[0].requests[gmd] > 0 and accounts[3].requests[gmd] > 0
    assert accounts[1].requests[gmd] == accounts[2].requests[gmd] == 0
    assert [a.metrics_via for a in fleet.accounts] == [
        "itself, the monitoring account", "sim-01", "sim-01", None]
    assert fleet.errors == () and steady.errors == ()

    _, alone, _ = await _collect(4, 0)
    assert all(a.metrics_via is None for a in alone.accounts)
    # The same series either way: AccountId reads the source's own metrics.
    assert fleet.metrics.window.sort_index().equals(alone.metrics.window.sort_index())
    for key in ("sim-02", "sim-03"):
        assert any(e.account == key for e in fleet.endpoints)
        assert any(k.startswith(f"{key}/") for k, _ in fleet.metrics.window.index)


async def test_simulated_monitoring_account_refuses_an_account_not_linked() -> None:
    monitoring, source, other = (SimulatedAccount(endpoints=3, seed=s, account_id=i)
                                 for s, i in ((1, "100000000001"), (2, "100000000002"),
                                              (3, "100000000003")))
    link_accounts(monitoring, [source])
    name = next(iter(source.fleet.values())).name
    query = {"MetricStat": {"Metric": {"Namespace": "AWS/SageMaker", "MetricName": "Invocations",
                                       "Dimensions": [{"Name": "EndpointName", "Value": name},
                                                      {"Name": "VariantName",
                                                       "Value": "AllTraffic"}]},
                            "Period": 3600, "Stat": "Sum"}}
    end = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)

    async def ask(account: SimulatedAccount, queries: list[dict[str, Any]]
                  ) -> dict[str, dict[str, Any]]:
        target = AwsTarget(regions=(REGION,), simulated=True, prepare_session=account.install)
        async with AwsContext(AwsSettings(), target) as aws:
            cloudwatch = await aws.client("cloudwatch", REGION)
            answer = await cloudwatch.get_metric_data(
                MetricDataQueries=queries, StartTime=end - dt.timedelta(days=1), EndTime=end)
        # Values as a list (sagetop's clients read them as arrays: collectors.fastparse).
        return {r["Id"]: {**r, "Values": list(r["Values"])} for r in answer["MetricDataResults"]}

    results = await ask(monitoring, [{"Id": "linked", "AccountId": source.account_id, **query},
                                     {"Id": "other", "AccountId": other.account_id, **query}])
    own = await ask(source, [{"Id": "own", **query}])
    assert results["other"]["StatusCode"] == "Forbidden" and not results["other"]["Values"]
    # The source's own series, exactly as the source itself would answer.
    assert results["linked"]["StatusCode"] == "Complete" and results["linked"]["Values"]
    assert results["linked"]["Values"] == own["own"]["Values"]

    target = AwsTarget(regions=(REGION,), simulated=True, prepare_session=monitoring.install)
    async with AwsContext(AwsSettings(), target) as aws:
        oam = await aws.client("oam", REGION)
        (sink,) = (await oam.list_sinks())["Items"]
        links = (await oam.list_attached_links(SinkIdentifier=sink["Arn"]))["Items"]
    assert [link_account(link["LinkArn"]) for link in links] == [source.account_id]
    assert link_account(sink["Arn"].replace(":sink/", ":link/")) == monitoring.account_id


# Per-account views ------------------------------------------------------------------------------


def test_report_narrows_to_accounts_and_says_which_way_metrics_came(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--demo", "--accounts", "3", "--format", "json",
                 "--account", "sim-02", "--account", "100000000003"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {e["account"] for e in report["endpoints"]} == {"sim-02", "sim-03"}
    assert [a["name"] for a in report["accounts"]] == ["sim-02", "sim-03"]
    assert [t["account"] for t in report["summary"]["by_account"]] == ["sim-02", "sim-03"]
    assert [a["metrics_via"] for a in report["accounts"]] == ["sim-01", "sim-01"]
    assert report["metrics_route"] == ("CloudWatch metrics: 2 of 2 accounts through monitoring "
                                       "account sim-01 (cross-account observability)")

    for argv, why in ((["--accounts", "3", "--account", "ops"],
                       "--account ops: not a watched account (watched: sim-01, sim-02, sim-03)"),
                      ([], "--account: only with several accounts")):
        assert main(["report", "--demo", *argv, "--account", "ops"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and why in err


def test_report_text_words_a_negative_saving_and_the_metrics_route() -> None:
    from collectors.oam import ITSELF
    from ground.domain import AccountStatus, FleetSnapshot
    from pipeline.accounts import metrics_route_line, saving_words

    assert saving_words(4426.2) == "saves $4,426/month"
    assert saving_words(-298.4) == "costs $298/month more"
    assert saving_words(0.2) == "no change in cost"
    fleet = FleetSnapshot(collected_at=NOW, account_id=None, regions=(REGION,), accounts=(
        AccountStatus(name="ops", metrics_via=ITSELF), AccountStatus(name="a", metrics_via="ops"),
        AccountStatus(name="b")))
    assert metrics_route_line(fleet) == (
        "CloudWatch metrics: 2 of 3 accounts through monitoring account ops (cross-account "
        "observability), 1 through its own credentials")
    alone = fleet.model_copy(update={"accounts": (AccountStatus(name="b"),)})
    assert metrics_route_line(alone) == "CloudWatch metrics: each account through its own " \
        "credentials"


async def test_fleet_filter_finds_an_accounts_rows() -> None:
    from tui.rows import fleet_rows, matches

    _, fleet, _ = await _collect(3, 2)
    rows = fleet_rows(fleet, None)
    picked = [r for r in rows if matches(r, "sim-02")]
    assert picked and {r.account for r in picked} == {"sim-02"}
    assert len(picked) == sum(1 for e in fleet.endpoints if e.account == "sim-02")
