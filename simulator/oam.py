"""CloudWatch cross-account observability in the simulated organisation.

`link_accounts(monitoring, sources)` gives the monitoring account a sink in each of its regions
with the sources' links attached (metrics shared): it then answers oam:ListSinks and
oam:ListAttachedLinks (rest-json, AWS's shapes: sink and link ARNs carry their account), and its
GetMetricData serves a query whose AccountId is a linked source from that source's own metrics
(`SimulatedAccount.metrics_owner`); an AccountId that is not linked is refused per query
(StatusCode Forbidden), as no data may be read from an account not shared with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

METRIC_RESOURCE = "AWS::CloudWatch::Metric"
PAGE = 100  # MaxResults 1-100 for ListSinks, 1-1000 for ListAttachedLinks; one page size for both


class SimulatedAccount(Protocol):
    """What of a simulated account its sink needs (simulator.account imports this module)."""

    account_id: str
    regions: tuple[str, ...]
    sink: Sink | None


@dataclass
class Sink:
    """A monitoring account's sink (one per region) and the source accounts linked to it."""

    sources: dict[str, Any] = field(default_factory=dict)  # account id -> SimulatedAccount
    names: dict[str, str] = field(default_factory=dict)  # account id -> the link's label

    def arn(self, owner: str, region: str) -> str:
        return f"arn:aws:oam:{region}:{owner}:sink/sim-sink-{owner}"


def link_accounts(monitoring: SimulatedAccount, sources: Sequence[SimulatedAccount],
                  labels: Sequence[str] | None = None) -> None:
    """Link `sources` to `monitoring`'s sinks (every region it has), sharing their metrics."""
    sink = monitoring.sink or Sink()
    for index, source in enumerate(sources):
        sink.sources[source.account_id] = source
        sink.names[source.account_id] = labels[index] if labels else source.account_id
    monitoring.sink = sink


def _page(items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    size = max(1, min(int(params.get("MaxResults") or PAGE), PAGE))
    start = int(params.get("NextToken") or 0) if str(params.get("NextToken") or "0").isdigit() \
        else 0
    body: dict[str, Any] = {"Items": items[start:start + size]}
    if start + size < len(items):
        body["NextToken"] = str(start + size)
    return body


def list_sinks(account: SimulatedAccount, region: str, params: dict[str, Any]
               ) -> dict[str, Any]:
    sink = account.sink
    if sink is None or region not in account.regions:
        return {"Items": []}
    arn = sink.arn(account.account_id, region)
    return _page([{"Arn": arn, "Id": arn.rsplit("/", 1)[1], "Name": "sagetop-sim-sink"}], params)


def list_attached_links(account: SimulatedAccount, region: str, params: dict[str, Any]
                        ) -> dict[str, Any] | None:
    """The sink's links; None when `SinkIdentifier` is not this account's sink here."""
    sink = account.sink
    wanted = str(params.get("SinkIdentifier") or "")
    if sink is None or wanted != sink.arn(account.account_id, region):
        return None
    links = [{"Label": sink.names[source_id],
              "LinkArn": f"arn:aws:oam:{region}:{source_id}:link/sim-link-{source_id}",
              "ResourceTypes": [METRIC_RESOURCE, "AWS::Logs::LogGroup"]}
             for source_id in sorted(sink.sources)]
    return _page(links, params)
