"""A simulated organisation served over HTTP from one child process: each account on its own
URL, the linked accounts' metrics served through the monitoring account to sagetop's own
organisation collector, the same fleet and series as in process, one clock for every account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from collectors.aws import AwsContext, AwsTarget
from collectors.oam import ITSELF
from collectors.org import AwsOrganisation, OrgCollector
from ground.config import AwsSettings, OrgSettings, SagetopConfig
from ground.domain import FleetSnapshot
from simulator.organisation import Organisation, build_organisation
from simulator.server import SimulatedOrgServer, prepare_credentials
from tests.conftest import REGION

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
ORG = Organisation(accounts=3, regions=(REGION,), endpoints_per_region=2, seed=11, linked=True)
GMD = "cloudwatch:GetMetricData"


@pytest.fixture(scope="module")
def served() -> Iterator[SimulatedOrgServer]:
    with SimulatedOrgServer(ORG, now=NOW) as running:
        yield running


def over_http(org: SimulatedOrgServer) -> list[AwsTarget]:
    return [AwsTarget(regions=org.regions, endpoint_url=url, simulated=True, account=name,
                      prepare_session=prepare_credentials) for name, url in org.endpoints]


def in_process() -> list[AwsTarget]:
    accounts = build_organisation(ORG, lambda: NOW)
    return [AwsTarget(regions=ORG.regions, simulated=True, account=name,
                      prepare_session=account.install)
            for name, account in zip(ORG.names, accounts, strict=True)]


async def collect(targets: Sequence[AwsTarget]) -> FleetSnapshot:
    config = SagetopConfig()
    organisation = AwsOrganisation(config.aws, targets, config.cost, org=OrgSettings())
    async with organisation:
        collector = OrgCollector(organisation, clock=lambda: NOW)
        snapshot: FleetSnapshot = await collector.collect(force=True)
    return snapshot


async def test_the_served_org_is_collected_with_linked_metrics_through_the_monitor(
        served: SimulatedOrgServer) -> None:
    before = served.stats()["accounts"]
    fleet = await collect(over_http(served))
    after = served.stats()
    assert fleet.errors == ()
    # Every account's endpoints, on its own URL: two in the region each.
    by_account: dict[str | None, int] = {}
    for endpoint in fleet.endpoints:
        by_account[endpoint.account] = by_account.get(endpoint.account, 0) + 1
    assert by_account == {"acct-01": 2, "acct-02": 2, "acct-03": 2}
    assert [a.metrics_via for a in fleet.accounts] == [ITSELF, "acct-01", "acct-01"]
    ids = [ORG.account_id(i) for i in range(ORG.accounts)]

    def asked(account_id: str, operation: str) -> int:
        counted: int = after["accounts"][account_id]["requests"].get(operation, 0)
        return counted - int(before[account_id]["requests"].get(operation, 0))

    # Only the monitoring account is asked for metrics; each account for its own inventory.
    assert asked(ids[0], GMD) > 0 and asked(ids[1], GMD) == asked(ids[2], GMD) == 0
    assert all(asked(i, "sagemaker:ListEndpoints") > 0 for i in ids)
    assert asked(ids[0], "oam:ListAttachedLinks") > 0
    assert after["requests"][GMD] == sum(a["requests"].get(GMD, 0)
                                         for a in after["accounts"].values())
    for name in ("acct-02", "acct-03"):
        assert any(k.startswith(f"{name}/") for k, _ in fleet.metrics.window.index)

    # What the served organisation answers is what the same organisation answers in process.
    hooked = await collect(in_process())
    assert sorted(e.key for e in fleet.endpoints) == sorted(e.key for e in hooked.endpoints)
    assert fleet.metrics.window.sort_index().equals(hooked.metrics.window.sort_index())


async def minutes_after(url: str, name: str, account_id: str | None, since: dt.datetime) -> int:
    """Minutes of Invocations the account at `url` has for `name` after `since` (another
    account's, with `account_id`, through a monitoring account)."""
    target = AwsTarget(regions=(REGION,), endpoint_url=url, simulated=True,
                       prepare_session=prepare_credentials)
    query: dict[str, Any] = {"Id": "q0", "MetricStat": {"Metric": {
        "Namespace": "AWS/SageMaker", "MetricName": "Invocations",
        "Dimensions": [{"Name": "EndpointName", "Value": name},
                       {"Name": "VariantName", "Value": "AllTraffic"}]},
        "Period": 60, "Stat": "Sum"}}
    if account_id is not None:
        query["AccountId"] = account_id
    async with AwsContext(AwsSettings(), target) as aws:
        cloudwatch = await aws.client("cloudwatch", REGION)
        found = await cloudwatch.get_metric_data(
            MetricDataQueries=[query], StartTime=since, EndTime=since + dt.timedelta(minutes=30))
    result = found["MetricDataResults"][0]
    assert result["StatusCode"] == "Complete"
    return len(result["Timestamps"])


async def test_one_clock_moves_every_account(served: SimulatedOrgServer) -> None:
    accounts = build_organisation(ORG, lambda: NOW)
    served_names = [next(e.name for e in a.fleet.values()
                         if e.variants[0].name == "AllTraffic" and e.status == "InService")
                    for a in accounts]
    asks: list[Callable[[], Any]] = [
        *(lambda u=url, n=name: minutes_after(u, n, None, NOW)
          for url, name in zip(served.urls, served_names, strict=True)),
        # A source's series through the monitoring account is on the same clock.
        lambda: minutes_after(served.urls[0], served_names[2], ORG.account_id(2), NOW)]
    try:
        assert [await ask() for ask in asks] == [0, 0, 0, 0]  # nothing after their own now
        served.set_clock(NOW + dt.timedelta(minutes=10))
        assert [await ask() for ask in asks] == [10, 10, 10, 10]
    finally:
        served.set_clock(NOW)


def test_an_organisation_has_an_account() -> None:
    with pytest.raises(ValueError, match="at least one account"):
        Organisation(accounts=0)
