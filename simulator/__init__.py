"""The simulated account: a seeded fleet served to sagetop's real aiobotocore collectors."""

from simulator.account import SimulatedAccount
from simulator.faults import Fault, FaultPlan
from simulator.fleet import Pattern, SimEndpoint, SimVariant

__all__ = ["Fault", "FaultPlan", "Pattern", "SimEndpoint", "SimVariant", "SimulatedAccount"]
