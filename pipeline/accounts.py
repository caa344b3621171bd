"""Totals per account and for the organisation, when several accounts are watched together.

What each account costs a month and what accepting its suggestions would save, from the same
per-endpoint analysis the fleet total is the sum of, so the accounts always add up to the
organisation. An account that is stale says so beside its numbers: they are its last good data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from collectors.oam import ITSELF
from ground.domain import FleetSnapshot
from ground.errors import UsageError
from ground.untrusted import inert
from pipeline.analysis import FleetAnalysis


@dataclass(frozen=True)
class AccountTotals:
    name: str
    account_id: str | None
    endpoints: int
    monthly_cost_usd: float  # USD per month, endpoints whose cost is known
    monthly_savings_usd: float  # USD per month its endpoints' plans save (negative: cost more)
    problem: str | None  # why its data is stale; None while live


def account_totals(fleet: FleetSnapshot, analysis: FleetAnalysis) -> list[AccountTotals]:
    """One line per watched account, in the order they were given; empty for one account."""
    if not fleet.accounts:
        return []
    cost: dict[str, float] = {}
    saved: dict[str, float] = {}
    count: dict[str, int] = {}
    for endpoint in fleet.endpoints:
        name = endpoint.account or ""
        count[name] = count.get(name, 0) + 1
        item = analysis.endpoints.get(endpoint.key)
        if item is not None:
            cost[name] = cost.get(name, 0.0) + (item.monthly_cost_usd or 0.0)
            saved[name] = saved.get(name, 0.0) + (item.monthly_savings_usd or 0.0)
    return [AccountTotals(a.name, a.account_id, count.get(a.name, 0), cost.get(a.name, 0.0),
                          saved.get(a.name, 0.0), a.problem) for a in fleet.accounts]


def saving_words(saving_usd: float) -> str:
    """'saves $1,963/month', 'costs $298/month more': never 'saves $-298'."""
    if saving_usd >= 0.5:
        return f"saves ${saving_usd:,.0f}/month"
    if saving_usd <= -0.5:
        return f"costs ${-saving_usd:,.0f}/month more"
    return "no change in cost"


def narrowed(fleet: FleetSnapshot, names: Sequence[str]) -> FleetSnapshot:
    """The fleet of the accounts named (by name or account id), for `report --account`.

    Refused (UsageError, one line) for a name that is not a watched account, or when one
    account is watched; errors that name no account (the organisation's own) stay.
    """
    if not names:
        return fleet
    if not fleet.accounts:
        raise UsageError("--account: only with several accounts (--profile repeated, "
                         "[[accounts]] or --org)")
    kept: set[str] = set()
    for name in names:
        found = [a.name for a in fleet.accounts if name in (a.name, a.account_id)]
        if not found:
            known = ", ".join(a.name for a in fleet.accounts)
            raise UsageError(f"--account {inert(name, one_line=True)}: not a watched account "
                             f"(watched: {inert(known, one_line=True, limit=200)})")
        kept.update(found)
    return fleet.model_copy(update={
        "endpoints": tuple(e for e in fleet.endpoints if e.account in kept),
        "provisioning": tuple(r for r in fleet.provisioning if r.account in kept),
        "errors": tuple(e for e in fleet.errors if e.account is None or e.account in kept),
        "accounts": tuple(a for a in fleet.accounts if a.name in kept),
    })


@dataclass(frozen=True)
class MetricsRoute:
    """Which way the watched accounts' CloudWatch metrics come (cross-account observability)."""

    accounts: int  # watched
    monitors: tuple[str, ...]  # the monitoring accounts asked for others' metrics, by name
    routed: int  # accounts whose metrics a monitoring account asks, the monitors included
    linked: int  # of them, the source accounts (whose metrics come through another account)


def metrics_route(fleet: FleetSnapshot) -> MetricsRoute:
    via = [a for a in fleet.accounts if a.metrics_via is not None]
    monitors = sorted({a.name for a in via if a.metrics_via == ITSELF})
    others = sorted({str(a.metrics_via) for a in via if a.metrics_via != ITSELF} - set(monitors))
    return MetricsRoute(accounts=len(fleet.accounts), monitors=tuple(monitors + others),
                        routed=len(via), linked=sum(1 for a in via if a.metrics_via != ITSELF))


def metrics_route_line(fleet: FleetSnapshot) -> str:
    """Which way the accounts' CloudWatch metrics come, in one line (several accounts)."""
    route = metrics_route(fleet)
    if not route.routed:
        return "CloudWatch metrics: each account through its own credentials"
    own = route.accounts - route.routed
    return (f"CloudWatch metrics: {route.routed} of {route.accounts} accounts through "
            f"monitoring account {', '.join(route.monitors)} (cross-account observability)"
            + (f", {own} through {'its' if own == 1 else 'their'} own credentials"
               if own else ""))
