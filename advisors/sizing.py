"""Instance sizing shared by the over- and under-provisioning rules.

Demand is read from the window statistics of one variant: CPU and GPU work spread over the
instances (p95 x cores x instances), while memory and GPU memory hold the model on every instance
and do not shrink when instances are added. A candidate (type, count) fits when every resource
would stay under its target on it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from advisors.cost import PRICE_UNKNOWN, CostEstimate
from advisors.settings import AdvisorSettings
from ground.catalog import InstanceSpec, instance_specs
from ground.pricing import Price, PriceBook

# Graviton families (c7g, m6gd...) need an arm64 image: never swap one in for an x86 model.
_GRAVITON = re.compile(r"^[a-z]+\d+g")


def is_graviton(spec: InstanceSpec) -> bool:
    return bool(_GRAVITON.match(spec.family))


def is_burstable(spec: InstanceSpec) -> bool:
    return spec.family.startswith("t")


@dataclass(frozen=True)
class Demand:
    """What a variant uses at p95, in absolute units, from its per-instance percentages."""

    cpu_vcpu: float  # busy vCPUs summed over instances
    memory_gib: float  # per instance
    gpu_units: float  # busy GPUs summed over instances (0 without GPU)
    gpu_memory_gib: float  # per instance
    needs_gpu: bool  # GPU work is more than "tiny": it must stay on the same GPU model
    gpu_model: str | None


def _value(row: Any, column: str) -> float | None:
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def demand_of(row: Any, spec: InstanceSpec, count: int,
              settings: AdvisorSettings) -> Demand | None:
    """None when a needed metric is missing: no data is not 0 % utilisation."""
    cpu = _value(row, "cpu_p95_pct")
    memory = _value(row, "memory_p95_pct")
    if cpu is None or memory is None or count <= 0:
        return None
    gpu_units = gpu_memory = 0.0
    needs_gpu = False
    if spec.has_gpu:
        gpu = _value(row, "gpu_p95_pct")
        gpu_mem = _value(row, "gpu_memory_p95_pct")
        if gpu is None or gpu_mem is None or spec.gpu_memory_gib is None:
            return None
        gpu_units = gpu / 100.0 * spec.gpu_count * count
        gpu_memory = gpu_mem / 100.0 * spec.gpu_memory_gib
        needs_gpu = gpu > settings.gpu_to_cpu_max_gpu_pct
    return Demand(cpu_vcpu=cpu / 100.0 * spec.vcpu * count,
                  memory_gib=memory / 100.0 * spec.memory_gib,
                  gpu_units=gpu_units, gpu_memory_gib=gpu_memory, needs_gpu=needs_gpu,
                  gpu_model=spec.gpu_model)


def count_needed(spec: InstanceSpec, demand: Demand, settings: AdvisorSettings,
                 floor: int) -> int | None:
    """Fewest instances of `spec` keeping every resource under target; None if none would."""
    target = settings.target_utilisation_pct / 100.0
    memory_target = settings.target_memory_pct / 100.0
    memory_need = demand.memory_gib
    if spec.has_gpu:
        if spec.gpu_model != demand.gpu_model or spec.gpu_memory_gib is None:
            return None  # utilisation does not translate between GPU models
        if demand.gpu_memory_gib > spec.gpu_memory_gib * memory_target:
            return None
        gpu_count = math.ceil(demand.gpu_units / (spec.gpu_count * target) - 1e-9)
    else:
        if demand.needs_gpu:
            return None
        # On CPU, what the GPU held moves into host memory.
        memory_need += demand.gpu_memory_gib
        gpu_count = 0
    if memory_need > spec.memory_gib * memory_target:
        return None
    cpu_count = math.ceil(demand.cpu_vcpu / (spec.vcpu * target) - 1e-9)
    return max(floor, 1, cpu_count, gpu_count)


def projected_busiest_pct(spec: InstanceSpec, count: int, demand: Demand) -> float:
    loads = [demand.cpu_vcpu / (spec.vcpu * count) * 100.0,
             demand.memory_gib / spec.memory_gib * 100.0]
    if spec.has_gpu and spec.gpu_memory_gib:
        loads += [demand.gpu_units / (spec.gpu_count * count) * 100.0,
                  demand.gpu_memory_gib / spec.gpu_memory_gib * 100.0]
    return max(loads)


@dataclass(frozen=True)
class Sized:
    spec: InstanceSpec
    count: int
    price: Price | None
    busiest_pct: float

    @property
    def label(self) -> str:
        return f"{self.count}x {self.spec.instance_type}"

    @property
    def monthly_usd(self) -> float | None:
        return None if self.price is None else self.price.monthly_usd * self.count

    @property
    def cost(self) -> CostEstimate:
        if self.price is None:
            return CostEstimate(usd=None, source=PRICE_UNKNOWN, estimated=True)
        return CostEstimate(usd=self.monthly_usd, source=self.price.source,
                            estimated=self.price.estimated)


@lru_cache(maxsize=512)
def eligible_types(current: InstanceSpec, region: str, prices: PriceBook
                   ) -> tuple[tuple[InstanceSpec, Price | None], ...]:
    """Types the model can move to with their price: priced ones cheapest first, then the
    current type (whose price may be unknown). Cached: the answer depends only on the inputs."""
    chosen: dict[str, tuple[InstanceSpec, Price | None]] = {}
    for spec, price in prices.candidates(region):
        if not spec.hostable or is_graviton(spec) != is_graviton(current):
            continue
        if spec.accelerator and not spec.has_gpu and spec.family != current.family:
            continue  # Inferentia needs a model compiled for it
        if is_burstable(spec) and spec.family != current.family:
            continue  # CPU credits: a p95 says nothing about how long a burst may last
        chosen[spec.instance_type] = (spec, price)
    chosen.setdefault(current.instance_type,
                      (current, prices.hourly(current.instance_type, region)))
    return tuple(chosen.values())


def sized_candidates(current: InstanceSpec, demand: Demand, region: str, prices: PriceBook,
                     settings: AdvisorSettings, floor: int) -> list[Sized]:
    """For each eligible type, the fewest instances that fit, with its price."""
    sized: list[Sized] = []
    for spec, price in eligible_types(current, region, prices):
        count = count_needed(spec, demand, settings, floor)
        if count is None:
            continue
        sized.append(Sized(spec, count, price, projected_busiest_pct(spec, count, demand)))
    return sized


def larger_in_family(spec: InstanceSpec) -> InstanceSpec | None:
    """The next size up in the same family (more vCPUs and memory), if the catalogue has one."""
    bigger = [s for s in instance_specs().values()
              if s.family == spec.family and s.hostable and s.vcpu > spec.vcpu
              and s.gpu_model == spec.gpu_model]
    return min(bigger, key=lambda s: (s.vcpu, s.memory_gib), default=None)
