"""The simulated account: a seeded fleet served to sagetop's real aiobotocore collectors."""

from sagetop.sim.account import SimulatedAccount
from sagetop.sim.faults import Fault, FaultPlan
from sagetop.sim.fleet import Pattern, SimEndpoint, SimVariant

__all__ = ["Fault", "FaultPlan", "Pattern", "SimEndpoint", "SimVariant", "SimulatedAccount"]
