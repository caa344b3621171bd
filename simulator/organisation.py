"""A simulated organisation: several accounts, each its own seeded fleet, identity, latency and
GetMetricData quota (AWS's are per account), the first optionally the CloudWatch monitoring
account the others are linked to (cross-account observability, `simulator.oam`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from simulator.account import Clock, SimulatedAccount
from simulator.fleet import scaled_fleet
from simulator.oam import link_accounts


@dataclass(frozen=True)
class Organisation:
    """What to build; plain values, so a child process can be told it."""

    accounts: int
    regions: tuple[str, ...] = ("us-east-1",)
    # Exactly this many endpoints in each region (None: each region's archetypes). A fleet
    # spread over the regions at once would fill the first region's archetypes first.
    endpoints_per_region: int | None = None
    seed: int = 7  # account i is seeded seed + i: its own fleet
    latency_s: float = 0.0
    getmetricdata_tps: float | None = None
    linked: bool = False  # account 1 the monitoring account, every other linked to it
    label: str = "acct"  # account i's name (a link's label): acct-01, acct-02, ...

    def __post_init__(self) -> None:
        if self.accounts < 1:
            raise ValueError("a simulated organisation has at least one account")

    def account_id(self, index: int) -> str:
        return f"{100000000001 + index:012d}"

    def name(self, index: int) -> str:
        return f"{self.label}-{index + 1:02d}"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.name(i) for i in range(self.accounts))

    @property
    def endpoints(self) -> int | None:
        """Endpoints in the whole organisation (None: archetypes, however many they are)."""
        if self.endpoints_per_region is None:
            return None
        return self.accounts * len(self.regions) * self.endpoints_per_region


def build_organisation(spec: Organisation, clock: Clock, *, metrics_in_thread: bool = False
                       ) -> list[SimulatedAccount]:
    """The accounts, in order, sharing `clock`; linked as `spec.linked` says.

    `metrics_in_thread`: GetMetricData answered in a worker thread (a served organisation); a
    linked organisation's accounts share one, as the monitoring account's calls read the
    sources' metric models and those are not made for two threads at once.
    """
    per_region = spec.endpoints_per_region
    accounts = []
    for index in range(spec.accounts):
        seed = spec.seed + index
        account = SimulatedAccount(
            endpoints=None if per_region is None else 0, seed=seed, regions=spec.regions,
            clock=clock, latency_s=spec.latency_s, getmetricdata_tps=spec.getmetricdata_tps,
            account_id=spec.account_id(index), metrics_in_thread=metrics_in_thread)
        if per_region is not None:
            made = [e for region in spec.regions
                    for e in scaled_fleet(per_region, seed, (region,), clock())]
            account.fleet = {(e.region, e.name): replace(e, index=n) for n, e in enumerate(made)}
            for region in spec.regions:
                account._invalidate(region)
        accounts.append(account)
    if spec.linked and len(accounts) > 1:
        link_accounts(accounts[0], accounts[1:], spec.names[1:])
        if metrics_in_thread:
            worker = accounts[0]._metrics_worker()
            for account in accounts[1:]:
                account._worker = worker
    return accounts
