"""Totals per account and for the organisation, when several accounts are watched together.

What each account costs a month and what accepting its suggestions would save, from the same
per-endpoint analysis the fleet total is the sum of, so the accounts always add up to the
organisation. An account that is stale says so beside its numbers: they are its last good data.
"""

from __future__ import annotations

from dataclasses import dataclass

from ground.domain import FleetSnapshot
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
