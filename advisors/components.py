"""How inference components share their variant's instances: what each copy reserves, the share
of the instances (and of their cost) each component holds, and how many instances would hold
every copy.

SageMaker places a component's copies on the variant's instances by their reservation
(`ComputeResourceRequirements`): accelerators, CPU cores and memory per copy. A component's cost
share is its part of what the instances offer, by accelerators where the copies reserve
accelerators, else by CPU cores, else by memory; what no copy reserves is the unreserved share.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisors.cost import PRICE_UNKNOWN, CostEstimate, variant_monthly_cost
from ground.catalog import InstanceSpec, spec_for
from ground.domain import (
    EndpointSnapshot,
    FleetSnapshot,
    InferenceComponentSnapshot,
    VariantSnapshot,
)
from ground.pricing import PriceBook

MB_PER_GIB = 1024.0


@dataclass(frozen=True)
class Reservation:
    """What one copy reserves, or what one instance offers (unset reservations count as 0)."""

    accelerators: float
    cpu_cores: float
    memory_mb: float

    def fits_in(self, room: Reservation) -> bool:
        return (self.accelerators <= room.accelerators + 1e-9
                and self.cpu_cores <= room.cpu_cores + 1e-9
                and self.memory_mb <= room.memory_mb + 1e-9)

    def minus(self, other: Reservation) -> Reservation:
        return Reservation(self.accelerators - other.accelerators,
                           self.cpu_cores - other.cpu_cores, self.memory_mb - other.memory_mb)


def per_copy(component: InferenceComponentSnapshot) -> Reservation:
    resources = component.resources
    return Reservation(float(resources.accelerators or 0), float(resources.cpu_cores or 0.0),
                       float(resources.min_memory_mb or 0))


def capacity_of(spec: InstanceSpec) -> Reservation:
    return Reservation(float(spec.gpu_count), float(spec.vcpu), spec.memory_gib * MB_PER_GIB)


# The dimension a cost is shared by, as people say it.
BASIS_LABELS = {"accelerators": "accelerators", "cpu_cores": "CPU cores", "memory_mb": "memory"}


def share_basis(spec: InstanceSpec, components: tuple[InferenceComponentSnapshot, ...]
                ) -> str | None:
    """Accelerators when the copies reserve them on a GPU instance, else CPU cores, else memory."""
    reserved = [per_copy(c) for c in components]
    if spec.gpu_count and any(r.accelerators for r in reserved):
        return "accelerators"
    if any(r.cpu_cores for r in reserved):
        return "cpu_cores"
    if any(r.memory_mb for r in reserved):
        return "memory_mb"
    return None


def reserved_fraction(component: InferenceComponentSnapshot, variant: VariantSnapshot,
                      spec: InstanceSpec, basis: str) -> float:
    """The component's part of the variant's instances (0-1) on `basis`, copies now."""
    offered = float(getattr(capacity_of(spec), basis)) * variant.current_instance_count
    if offered <= 0:
        return 0.0
    return float(getattr(per_copy(component), basis)) * component.current_copies / offered


def cost_fraction(component: InferenceComponentSnapshot,
                  siblings: tuple[InferenceComponentSnapshot, ...], variant: VariantSnapshot,
                  spec: InstanceSpec, basis: str) -> float:
    """The component's part of the variant's cost (0-1). With instances running, what its copies
    reserve of them; with none running at the moment (scaled to zero), the instances billed over
    the lookback ran for the components alone: shared by what one copy of each reserves."""
    if variant.current_instance_count > 0:
        return reserved_fraction(component, variant, spec, basis)
    total = sum(float(getattr(per_copy(c), basis)) for c in siblings)
    return float(getattr(per_copy(component), basis)) / total if total > 0 else 0.0


@dataclass(frozen=True)
class VariantReservations:
    """What the copies reserve on one variant's instances, summed, against what they offer."""

    variant: VariantSnapshot
    spec: InstanceSpec
    components: tuple[InferenceComponentSnapshot, ...]
    basis: str | None
    reserved: Reservation
    offered: Reservation

    @property
    def reserved_fraction(self) -> float | None:
        if self.basis is None:
            return None
        offered = getattr(self.offered, self.basis)
        return getattr(self.reserved, self.basis) / offered if offered > 0 else None


def variant_reservations(endpoint: EndpointSnapshot, variant: VariantSnapshot
                         ) -> VariantReservations | None:
    """None for a variant without components or with an instance type not in the catalogue."""
    components = endpoint.components_on(variant.name)
    spec = spec_for(variant.instance_type)
    if not components or spec is None:
        return None
    reserved = Reservation(0.0, 0.0, 0.0)
    for component in components:
        copy = per_copy(component)
        count = component.current_copies
        reserved = Reservation(reserved.accelerators + copy.accelerators * count,
                               reserved.cpu_cores + copy.cpu_cores * count,
                               reserved.memory_mb + copy.memory_mb * count)
    capacity = capacity_of(spec)
    count = variant.current_instance_count
    offered = Reservation(capacity.accelerators * count, capacity.cpu_cores * count,
                          capacity.memory_mb * count)
    return VariantReservations(variant, spec, components, share_basis(spec, components),
                               reserved, offered)


def instances_needed(spec: InstanceSpec, copies: list[Reservation]) -> int | None:
    """Fewest instances of `spec` that hold every copy (first fit, largest copies first);
    None when one copy alone does not fit an instance (the reservation cannot be placed)."""
    capacity = capacity_of(spec)

    def weight(copy: Reservation) -> float:
        # The dimension a copy fills most decides how large it is.
        return max(copy.accelerators / capacity.accelerators if capacity.accelerators else 0.0,
                   copy.cpu_cores / capacity.cpu_cores, copy.memory_mb / capacity.memory_mb)

    rooms: list[Reservation] = []
    for copy in sorted(copies, key=weight, reverse=True):
        if not copy.fits_in(capacity):
            return None
        for index, room in enumerate(rooms):
            if copy.fits_in(room):
                rooms[index] = room.minus(copy)
                break
        else:
            rooms.append(capacity.minus(copy))
    return len(rooms)


def copies_of(components: tuple[InferenceComponentSnapshot, ...], count: str = "current",
              without: str | None = None) -> list[Reservation]:
    """Every copy's reservation: `current` copies, or `max` (the autoscaling maximum)."""
    copies: list[Reservation] = []
    for component in components:
        if component.name == without:
            continue
        number = component.current_copies
        if count == "max" and component.autoscaling is not None:
            number = max(number, component.autoscaling.max_capacity)
        copies += [per_copy(component)] * number
    return copies


def component_costs(endpoint: EndpointSnapshot, fleet: FleetSnapshot, prices: PriceBook
                    ) -> dict[str, CostEstimate]:
    """Each component's monthly share of the cost of the instances it shares."""
    costs: dict[str, CostEstimate] = {}
    for variant in endpoint.variants:
        found = variant_reservations(endpoint, variant)
        if found is None:
            for component in endpoint.components_on(variant.name):
                costs[component.name] = CostEstimate(
                    usd=None, source=f"instance type {variant.instance_type} not in the "
                                     "catalogue", estimated=True)
            continue
        cost = variant_monthly_cost(endpoint, variant, fleet, prices)
        for component in found.components:
            if found.basis is None:
                costs[component.name] = CostEstimate(
                    usd=None, source="no reservation to share the cost by", estimated=True)
                continue
            fraction = cost_fraction(component, found.components, variant, found.spec,
                                     found.basis)
            share = (f"{fraction * 100:.0f} % of the instances' {BASIS_LABELS[found.basis]}"
                     if variant.current_instance_count > 0 else
                     f"{fraction * 100:.0f} % by what one copy reserves (no instance runs now)")
            costs[component.name] = CostEstimate(
                usd=None if cost.usd is None else round(cost.usd * fraction, 2),
                source=PRICE_UNKNOWN if cost.usd is None else f"{share}; {cost.source}",
                estimated=cost.estimated)
    return costs
