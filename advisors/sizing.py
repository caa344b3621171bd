"""Instance sizing shared by the over- and under-provisioning and multi-model rules.

Demand is read from the window statistics of one variant: CPU and GPU work spread over the
instances (p95 x cores x instances), while memory and accelerator memory hold the model on every
instance and do not shrink when instances are added.

A model moves only to types that can host it: the same accelerator kind and device model (for
AWS silicon the same chip generation: a model compiled for inf2 does not run on inf1), at least
the devices per instance it runs on today (a tensor-parallel model needs every one; nothing
collected says a model uses fewer) and at least the accelerator memory it uses. Where that memory
cannot be read (LLM servers preallocate it; Inferentia and Trainium publish no accelerator
metrics) a type needs at least today's accelerator memory, and where accelerator work cannot be
read the variant keeps at least today's number of devices. A GPU model's move to CPU is sized
separately, as an option a CPU build and a load test must prove, and only for a nearly idle GPU
whose image is not built for the GPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from advisors.cost import PRICE_UNKNOWN, CostEstimate
from advisors.settings import AdvisorSettings
from ground.catalog import AcceleratorKind, InstanceSpec, instance_specs
from ground.images import NO_WORKLOAD, Workload
from ground.pricing import Price, PriceBook


@dataclass(frozen=True)
class Demand:
    """What a variant uses at p95, in absolute units, and what any host must offer it."""

    cpu_vcpu: float  # busy vCPUs summed over instances
    memory_gib: float  # per instance
    accelerator: AcceleratorKind = AcceleratorKind.NONE
    device_model: str | None = None  # "A10G", "Inferentia2": utilisation means nothing elsewhere
    devices_per_instance: int = 0  # the fewest devices one instance must have
    device_units: float | None = None  # busy devices summed over instances; None: not measured
    total_devices: int = 0  # devices today over all instances (kept when work is not measured)
    accelerator_memory_gib: float = 0.0  # per instance, what a host must hold
    # True when accelerator memory was read from GPUMemoryUtilization and means what it says;
    # False for LLM servers (preallocated) and AWS silicon (not published): a host then needs at
    # least today's accelerator memory, whatever the fraction in use.
    accelerator_memory_measured: bool = False
    # A nearly idle GPU whose image is not built for it: CPU types are sized as an option.
    cpu_option: bool = False


def _value(row: Any, column: str) -> float | None:
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def demand_of(row: Any, spec: InstanceSpec, count: float, settings: AdvisorSettings,
              workload: Workload = NO_WORKLOAD) -> Demand | None:
    """None when a needed metric is missing: no data is not 0 % utilisation. `count` may be a
    time-weighted mean (an autoscaled variant)."""
    cpu = _value(row, "cpu_p95_pct")
    memory = _value(row, "memory_p95_pct")
    if cpu is None or memory is None or count <= 0:
        return None
    cpu_vcpu = cpu / 100.0 * spec.vcpu * count
    memory_gib = memory / 100.0 * spec.memory_gib
    if not spec.has_accelerator:
        return Demand(cpu_vcpu=cpu_vcpu, memory_gib=memory_gib)
    if spec.gpu_model is None or spec.gpu_count <= 0 or spec.gpu_memory_gib is None:
        return None  # accelerators the catalogue cannot name: nothing is known to host them
    units: float | None = None
    accelerator_memory = spec.gpu_memory_gib
    measured = False
    cpu_option = False
    if spec.has_gpu:
        gpu = _value(row, "gpu_p95_pct")
        if gpu is None:
            return None
        units = gpu / 100.0 * spec.gpu_count * count
        if not workload.preallocates_gpu_memory:
            gpu_memory = _value(row, "gpu_memory_p95_pct")
            if gpu_memory is None:
                return None
            accelerator_memory = gpu_memory / 100.0 * spec.gpu_memory_gib
            measured = True
        cpu_option = (gpu <= settings.gpu_to_cpu_max_gpu_pct and not workload.accelerator_build
                      and workload.llm_server is None)
    return Demand(cpu_vcpu=cpu_vcpu, memory_gib=memory_gib, accelerator=spec.accelerator,
                  device_model=spec.gpu_model, devices_per_instance=spec.gpu_count,
                  # Devices held on average (an autoscaled variant's mean may be fractional).
                  device_units=units, total_devices=math.ceil(spec.gpu_count * count - 1e-9),
                  accelerator_memory_gib=accelerator_memory,
                  accelerator_memory_measured=measured, cpu_option=cpu_option)


def hosts(spec: InstanceSpec, demand: Demand, settings: AdvisorSettings) -> bool:
    """Whether `spec`'s accelerators can run the model as it is built today."""
    if spec.accelerator is not demand.accelerator:
        return False
    if not spec.has_accelerator:
        return True
    if spec.gpu_model is None or spec.gpu_model != demand.device_model:
        return False  # another GPU model or Neuron generation: another build, another test
    if spec.gpu_count < demand.devices_per_instance or spec.gpu_memory_gib is None:
        return False
    if demand.accelerator_memory_measured:
        return (demand.accelerator_memory_gib
                <= spec.gpu_memory_gib * settings.target_memory_pct / 100.0)
    return spec.gpu_memory_gib >= demand.accelerator_memory_gib - 1e-9


def off_accelerator(spec: InstanceSpec, demand: Demand) -> bool:
    """A CPU type for a model on an accelerator today: only ever an option."""
    return demand.accelerator is not AcceleratorKind.NONE and not spec.has_accelerator


def count_needed(spec: InstanceSpec, demand: Demand, settings: AdvisorSettings,
                 floor: int) -> int | None:
    """Fewest instances of `spec` keeping every resource under target; None if none would."""
    target = settings.target_utilisation_pct / 100.0
    memory_target = settings.target_memory_pct / 100.0
    memory_need = demand.memory_gib
    counts = [floor, 1]
    if off_accelerator(spec, demand):
        if not demand.cpu_option:
            return None
        memory_need += demand.accelerator_memory_gib  # what the GPU held moves to host memory
    elif not hosts(spec, demand, settings):
        return None
    elif spec.has_accelerator:
        if demand.device_units is not None:
            counts.append(math.ceil(demand.device_units / (spec.gpu_count * target) - 1e-9))
        else:
            # The accelerators' work is not published: keep at least as many devices.
            counts.append(math.ceil(demand.total_devices / spec.gpu_count - 1e-9))
    if memory_need > spec.memory_gib * memory_target:
        return None
    counts.append(math.ceil(demand.cpu_vcpu / (spec.vcpu * target) - 1e-9))
    return max(counts)


def projected_busiest_pct(spec: InstanceSpec, count: int, demand: Demand) -> float:
    memory = demand.memory_gib + (demand.accelerator_memory_gib
                                  if off_accelerator(spec, demand) else 0.0)
    loads = [demand.cpu_vcpu / (spec.vcpu * count) * 100.0, memory / spec.memory_gib * 100.0]
    if spec.has_accelerator and not off_accelerator(spec, demand):
        if demand.device_units is not None:
            loads.append(demand.device_units / (spec.gpu_count * count) * 100.0)
        if demand.accelerator_memory_measured and spec.gpu_memory_gib:
            loads.append(demand.accelerator_memory_gib / spec.gpu_memory_gib * 100.0)
    return max(loads)


@dataclass(frozen=True)
class Sized:
    spec: InstanceSpec
    count: int
    price: Price | None
    busiest_pct: float
    off_accelerator: bool = False  # a CPU type for an accelerator model: an option only

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
def eligible_types(current: InstanceSpec, region: str, prices: PriceBook, with_cpu: bool = False
                   ) -> tuple[tuple[InstanceSpec, Price | None], ...]:
    """Types the model may move to with their price: priced ones cheapest first, then the
    current type (whose price may be unknown). Same accelerator kind and CPU architecture;
    `with_cpu` adds CPU types for a GPU model (the option). Cached: the answer depends only on
    the inputs."""
    chosen: dict[str, tuple[InstanceSpec, Price | None]] = {}
    for spec, price in prices.candidates(region):
        if spec.cpu_architecture != current.cpu_architecture:
            continue  # an arm64 image does not run on x86_64 and the other way round
        same_kind = spec.accelerator is current.accelerator
        if not same_kind and not (with_cpu and current.has_gpu and not spec.has_accelerator):
            continue
        if spec.is_burstable and spec.family != current.family:
            continue  # CPU credits: a p95 says nothing about how long a burst may last
        chosen[spec.instance_type] = (spec, price)
    chosen.setdefault(current.instance_type,
                      (current, prices.hourly(current.instance_type, region)))
    return tuple(chosen.values())


def sized_candidates(current: InstanceSpec, demand: Demand, region: str, prices: PriceBook,
                     settings: AdvisorSettings, floor: int) -> list[Sized]:
    """For each eligible type, the fewest instances that fit, with its price."""
    sized: list[Sized] = []
    for spec, price in eligible_types(current, region, prices, demand.cpu_option):
        count = count_needed(spec, demand, settings, floor)
        if count is None:
            continue
        sized.append(Sized(spec, count, price, projected_busiest_pct(spec, count, demand),
                           off_accelerator(spec, demand)))
    return sized


def _same_accelerators_or_more(candidate: InstanceSpec, spec: InstanceSpec) -> bool:
    return (candidate.accelerator is spec.accelerator and candidate.gpu_model == spec.gpu_model
            and candidate.gpu_count >= spec.gpu_count
            and (candidate.gpu_memory_gib or 0.0) >= (spec.gpu_memory_gib or 0.0))


def larger_in_family(spec: InstanceSpec, more_memory: bool = False) -> InstanceSpec | None:
    """The next size up in the same family that still hosts the model: the same accelerators
    (kind, model, at least as many devices and as much accelerator memory), more vCPUs, or more
    instance memory with `more_memory`."""
    if spec.has_accelerator and spec.gpu_model is None:
        return None
    bigger = [s for s in instance_specs().values()
              if s.family == spec.family and _same_accelerators_or_more(s, spec)
              and s.vcpu >= spec.vcpu and s.memory_gib >= spec.memory_gib
              and (s.memory_gib > spec.memory_gib if more_memory else s.vcpu > spec.vcpu)]
    return min(bigger, key=lambda s: (s.vcpu, s.memory_gib, s.gpu_count), default=None)


def more_accelerator_memory(spec: InstanceSpec) -> InstanceSpec | None:
    """The smallest step up in memory per device, same accelerator kind (and Neuron
    generation), at least as many devices: for a model that has outgrown its accelerator's
    memory. The device model may change, so the move needs a load test."""
    per_device = spec.memory_per_device_gib
    if not spec.has_accelerator or per_device is None:
        return None
    bigger = [s for s in instance_specs().values()
              if s.accelerator is spec.accelerator and s.generation == spec.generation
              and s.gpu_model is not None and s.gpu_count >= spec.gpu_count
              and s.cpu_architecture == spec.cpu_architecture
              and (s.memory_per_device_gib or 0.0) > per_device
              and s.memory_gib >= spec.memory_gib]
    return min(bigger, key=lambda s: (s.memory_per_device_gib or 0.0, s.gpu_count, s.vcpu,
                                      s.instance_type), default=None)


def cpu_host_for(memory_gib: float, region: str, prices: PriceBook, settings: AdvisorSettings,
                 count: int) -> Sized | None:
    """The cheapest priced x86 CPU type (not burstable) whose memory holds `memory_gib` under
    the memory target, `count` of it: instances for a model that runs serverless today (its
    configured memory is what it is known to need)."""
    memory_target = settings.target_memory_pct / 100.0
    found = [(spec, price) for spec, price in prices.candidates(region)
             if not spec.has_accelerator and not spec.is_burstable
             and spec.cpu_architecture == "x86_64"
             and memory_gib <= spec.memory_gib * memory_target]
    if not found or count <= 0:
        return None
    spec, price = min(found, key=lambda sp: (sp[1].usd_per_hour, sp[0].memory_gib))
    return Sized(spec, count, price, memory_gib / spec.memory_gib * 100.0)
