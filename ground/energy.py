"""Energy and carbon of SageMaker hosting: estimates from a bundled, versioned coefficient set.

The only reader of `data/energy-coefficients.toml` (Cloud Carbon Footprint's method and figures,
each group with its source): per instance, idle and full-load watts per vCPU of the CPU
microarchitecture and per accelerator, interpolated by the measured utilisation, times
instance-hours, times the data-centre PUE, times the region's grid factor, plus the host's
embodied emissions shared by vCPUs over its lifespan. Serverless inference is estimated from the
compute it bills (busy seconds x memory). Every figure is an estimate with a low-high range:
`Footprint.text` says "~X kgCO2e/month (Y-Z)".
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ground.catalog import InstanceSpec, instance_specs, spec_for
from ground.pricing import HOURS_PER_MONTH

DATA_FILE = "data/energy-coefficients.toml"
UNKNOWN_CPU = "AWS average"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Model):
    url: str
    what: str


class Datacentre(_Model):
    pue: float = Field(gt=1.0)
    pue_source: str
    memory_watts_per_gib: float = Field(ge=0)
    memory_source: str
    fallback_utilisation: float = Field(ge=0, le=1)
    fallback_source: str
    server_lifespan_hours: float = Field(gt=0)
    lifespan_source: str


class EmbodiedModel(_Model):
    base_server_kg: float = Field(ge=0)
    memory_kg_per_gib_over_16: float = Field(ge=0)
    extra_cpu_kg: float = Field(ge=0)
    ssd_kg: float = Field(ge=0)
    accelerator_kg: float = Field(ge=0)
    source: str


class Microarchitecture(_Model):
    min: float = Field(ge=0)  # W per vCPU at 0 % utilisation
    max: float = Field(gt=0)  # W per vCPU at 100 %
    alt_min: float | None = Field(default=None, ge=0)
    alt_max: float | None = Field(default=None, gt=0)
    gib_per_vcpu: float = Field(ge=0)
    estimate: str | None = None
    source: str


class Family(_Model):
    cpu: tuple[str, ...] = Field(min_length=1)
    processor: str | None = None
    embodied_kg: float | None = Field(default=None, gt=0)
    sockets: int = Field(default=2, ge=1)
    local_ssds: int = Field(default=0, ge=0)
    host_vcpus: int = Field(gt=0)


class AcceleratorDefaults(_Model):
    idle_to_max_ratio: float = Field(ge=0, lt=1)
    source: str


class Accelerator(_Model):
    idle: float | None = Field(default=None, ge=0)
    max: float = Field(gt=0)
    low_max: float | None = Field(default=None, gt=0)
    high_max: float | None = Field(default=None, gt=0)
    estimate: str | None = None
    source: str


class Serverless(_Model):
    mb_per_vcpu: float = Field(gt=0)
    cpu: str
    reference_family: str
    source: str
    estimate: str


class GridFactor(_Model):
    kg_per_kwh: float = Field(ge=0)
    alt: float | None = Field(default=None, ge=0)


class EnergyCoefficients(_Model):
    version: str
    retrieved: Any  # a TOML date
    sources: dict[str, Source]
    datacentre: Datacentre
    embodied_model: EmbodiedModel
    microarchitectures: dict[str, Microarchitecture]
    families: dict[str, Family]
    accelerator_defaults: AcceleratorDefaults
    accelerators: dict[str, Accelerator]
    serverless: Serverless
    grid: dict[str, GridFactor]

    def check(self) -> None:
        """Every name a group refers to exists: a typo in the file is caught when it loads."""
        for name, family in self.families.items():
            for cpu in family.cpu:
                if cpu not in self.microarchitectures:
                    raise ValueError(f"families.{name}.cpu: no microarchitecture {cpu!r}")
        groups: list[Microarchitecture | Accelerator] = [*self.microarchitectures.values(),
                                                         *self.accelerators.values()]
        named = [g.source for g in groups] + [self.datacentre.pue_source,
                                              self.embodied_model.source,
                                              self.serverless.source]
        for key in named:
            if key not in self.sources:
                raise ValueError(f"source {key!r} is not in [sources]")
        if self.serverless.cpu not in self.microarchitectures:
            raise ValueError(f"serverless.cpu: no microarchitecture {self.serverless.cpu!r}")
        if self.serverless.reference_family not in self.families:
            raise ValueError("serverless.reference_family: not in [families]")

    @property
    def label(self) -> str:
        return (f"Cloud Carbon Footprint coefficients, sagetop set {self.version} "
                f"(retrieved {self.retrieved})")


@cache
def coefficients() -> EnergyCoefficients:
    """The bundled set, read and checked once. It ships with sagetop: a failure is a packaging
    bug, reported in one line naming the file and the key."""
    text = resources.files("ground").joinpath(DATA_FILE).read_text("utf-8")
    try:
        loaded = EnergyCoefficients.model_validate(tomllib.loads(text))
        loaded.check()
    except (ValidationError, ValueError, tomllib.TOMLDecodeError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else None
        where = ".".join(str(p) for p in first["loc"]) if first else ""
        why = first["msg"] if first else str(exc)
        raise ValueError(f"ground/{DATA_FILE}: {where + ': ' if where else ''}{why}") from None
    return loaded


# --- arithmetic on estimates with their range -------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """A central estimate with its low and high ends (every coefficient at its low/high end)."""

    central: float
    low: float
    high: float

    @staticmethod
    def exact(value: float) -> Spread:
        return Spread(value, value, value)

    def __add__(self, other: Spread) -> Spread:
        return Spread(self.central + other.central, self.low + other.low,
                      self.high + other.high)

    def __mul__(self, other: Spread | float) -> Spread:
        if isinstance(other, Spread):
            return Spread(self.central * other.central, self.low * other.low,
                          self.high * other.high)
        return Spread(self.central * other, self.low * other, self.high * other)


ZERO = Spread.exact(0.0)


class Footprint(BaseModel):
    """Energy and emissions of something running for a month: an estimate with its range."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kwh: float  # facility energy per month (IT energy x PUE)
    kwh_low: float
    kwh_high: float
    kgco2e: float  # operational + embodied, per month
    kgco2e_low: float
    kgco2e_high: float
    embodied_kgco2e: float  # the embodied part of `kgco2e`
    # What is estimated beyond the coefficients themselves (proxies, unmeasured utilisation).
    notes: tuple[str, ...] = ()
    coefficients: str = ""  # which coefficient set, its version and retrieval date

    @property
    def text(self) -> str:
        return f"~{carbon_text(self.kgco2e)} kgCO2e/month ({range_text(self)})"

    @property
    def energy_text(self) -> str:
        low, high = quantity(self.kwh_low), quantity(self.kwh_high)
        return f"~{quantity(self.kwh)} kWh/month ({low}-{high})"

    def scaled(self, factor: float) -> Footprint:
        factor = max(factor, 0.0)
        return self.model_copy(update={
            name: getattr(self, name) * factor
            for name in ("kwh", "kwh_low", "kwh_high", "kgco2e", "kgco2e_low", "kgco2e_high",
                         "embodied_kgco2e")})


def quantity(value: float) -> str:
    """Two significant figures below 100, whole numbers above: an estimate, not a measurement."""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    digits = max(0, 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{digits}f}"


def carbon_text(kg: float) -> str:
    return quantity(kg)


def range_text(footprint: Footprint) -> str:
    return f"{quantity(footprint.kgco2e_low)}-{quantity(footprint.kgco2e_high)}"


def no_footprint(note: str = "nothing runs") -> Footprint:
    return Footprint(kwh=0.0, kwh_low=0.0, kwh_high=0.0, kgco2e=0.0, kgco2e_low=0.0,
                     kgco2e_high=0.0, embodied_kgco2e=0.0, notes=(note,),
                     coefficients=coefficients().label)


def combine(parts: Iterable[Footprint | None]) -> Footprint | None:
    """The sum; unknown as soon as one part is unknown ("no data" is never zero)."""
    items = list(parts)
    if any(p is None for p in items):
        return None
    known = [p for p in items if p is not None]
    if not known:
        return no_footprint("no instances")
    notes = tuple(dict.fromkeys(n for p in known for n in p.notes if n != "nothing runs"))
    return Footprint(
        **{name: math.fsum(getattr(p, name) for p in known)
           for name in ("kwh", "kwh_low", "kwh_high", "kgco2e", "kgco2e_low", "kgco2e_high",
                        "embodied_kgco2e")},
        notes=notes, coefficients=coefficients().label)


def difference(before: Footprint | None, after: Footprint | None) -> float | None:
    """kgCO2e a month saved going from `before` to `after` (negative: emits more)."""
    if before is None or after is None:
        return None
    return round(before.kgco2e - after.kgco2e, 3)


# --- coefficients of one instance type --------------------------------------------------------


@dataclass(frozen=True)
class InstancePower:
    """What one instance of a type draws and embodies, at given utilisations."""

    watts: Spread  # IT power, W
    embodied_kg_per_hour: Spread
    notes: tuple[str, ...]


def _grid(region: str) -> tuple[Spread, str | None]:
    table = coefficients().grid
    found = table.get(region)
    if found is not None:
        values = [found.kg_per_kwh] + ([found.alt] if found.alt is not None else [])
        return Spread(found.kg_per_kwh, min(values), max(values)), None
    central = [g.kg_per_kwh for g in table.values()]
    every = central + [g.alt for g in table.values() if g.alt is not None]
    return (Spread(math.fsum(central) / len(central), min(every), max(every)),
            f"{region} has no grid factor in the coefficient set: the set's mean, its range")


def grid_factor(region: str) -> Spread:
    """kgCO2e per kWh of the region's grid (location-based, annual average)."""
    return _grid(region)[0]


def _family(spec: InstanceSpec) -> tuple[Family, str | None]:
    table = coefficients().families
    found = table.get(spec.family)
    if found is not None:
        return found, None
    # A type newer than the set (from the price cache): CCF's rule for an unknown processor.
    return (Family(cpu=(UNKNOWN_CPU,), host_vcpus=max(spec.vcpu, 1)),
            f"{spec.family} is not in the coefficient set: CCF's AWS average watts and a derived "
            "host")


def _per_vcpu(cpus: tuple[str, ...]) -> tuple[Spread, Spread, float, list[str]]:
    """(min W, max W, GiB per vCPU held by the SPECpower servers, notes) of a family's CPUs."""
    table = coefficients().microarchitectures
    archs = [table[name] for name in cpus]
    mins = [a.min for a in archs]
    maxes = [a.max for a in archs]
    low_min = min([*mins, *(a.alt_min for a in archs if a.alt_min is not None)])
    low_max = min([*maxes, *(a.alt_max for a in archs if a.alt_max is not None)])
    high_min = max([*mins, *(a.alt_min for a in archs if a.alt_min is not None)])
    high_max = max([*maxes, *(a.alt_max for a in archs if a.alt_max is not None)])
    notes = [a.estimate for a in archs if a.estimate]
    return (Spread(sum(mins) / len(mins), low_min, high_min),
            Spread(sum(maxes) / len(maxes), low_max, high_max),
            sum(a.gib_per_vcpu for a in archs) / len(archs), notes)


def _utilisation(value: float | None, what: str, notes: list[str]) -> Spread:
    """A measured fraction as is; unmeasured: CCF's fallback, the range 0-100 %."""
    if value is not None and not math.isnan(value):
        share = min(max(value, 0.0), 1.0)
        return Spread.exact(share)
    fallback = coefficients().datacentre.fallback_utilisation
    notes.append(f"{what} utilisation not measured: {fallback:.0%} assumed (range 0-100 %)")
    return Spread(fallback, 0.0, 1.0)


def _interpolate(idle: Spread, full: Spread, share: Spread) -> Spread:
    return Spread(idle.central + share.central * (full.central - idle.central),
                  idle.low + share.low * (full.low - idle.low),
                  idle.high + share.high * (full.high - idle.high))


def _accelerator(model: str | None) -> tuple[Spread, Spread, str | None] | None:
    """(idle W, max W, note) per device, or None when the set has no figure for it."""
    if model is None:
        return None
    found = coefficients().accelerators.get(model)
    if found is None:
        return None
    ratio = coefficients().accelerator_defaults.idle_to_max_ratio
    full = Spread(found.max, found.low_max or found.max, found.high_max or found.max)
    idle = (Spread.exact(found.idle) if found.idle is not None
            else Spread(found.max * ratio, full.low * ratio, full.high * ratio))
    return idle, full, found.estimate


@cache
def _largest_in_family(family: str) -> InstanceSpec | None:
    members = [s for s in instance_specs().values() if s.family == family]
    return max(members, key=lambda s: (s.vcpu, s.memory_gib), default=None)


def _host_embodied_kg(spec: InstanceSpec, family: Family) -> tuple[Spread, str | None]:
    """Total embodied emissions of the host server: CCF's figure, or Teads' model over the
    family's largest size (the range: without / with a further CPU and two SSDs)."""
    if family.embodied_kg is not None:
        return Spread.exact(family.embodied_kg), None
    model = coefficients().embodied_model
    host = _largest_in_family(spec.family) or spec
    core = (model.base_server_kg
            + max(host.memory_gib - 16.0, 0.0) * model.memory_kg_per_gib_over_16
            + model.accelerator_kg * host.gpu_count)
    central = core + model.extra_cpu_kg * (family.sockets - 1) + model.ssd_kg * family.local_ssds
    high = central + model.extra_cpu_kg + 2 * model.ssd_kg
    return (Spread(central, core, high),
            f"host embodied emissions of {spec.family} derived with Teads' model (CCF has none)")


def instance_power(spec: InstanceSpec, cpu_utilisation: float | None,
                   accelerator_utilisation: float | None) -> InstancePower | None:
    """One instance of `spec`; utilisations are fractions (0-1), None when not measured.

    None when the type has accelerators the coefficient set has no figure for: their power is
    unknown, and leaving them out would pass a part for the whole.
    """
    data = coefficients()
    family, family_note = _family(spec)
    notes: list[str] = [family_note] if family_note else []
    idle, full, gib_per_vcpu, cpu_notes = _per_vcpu(family.cpu)
    notes += cpu_notes
    cpu_share = _utilisation(cpu_utilisation, "CPU", notes)
    watts = _interpolate(idle, full, cpu_share) * float(spec.vcpu)
    extra_gib = max(spec.memory_gib - spec.vcpu * gib_per_vcpu, 0.0)
    watts = watts + Spread.exact(extra_gib * data.datacentre.memory_watts_per_gib)
    if spec.gpu_count > 0:
        device = _accelerator(spec.gpu_model)
        if device is None:
            return None
        device_idle, device_full, estimate = device
        if estimate:
            notes.append(estimate)
        share = _utilisation(accelerator_utilisation, spec.gpu_model or "accelerator", notes)
        watts = watts + _interpolate(device_idle, device_full, share) * float(spec.gpu_count)
    host_kg, host_note = _host_embodied_kg(spec, family)
    if host_note:
        notes.append(host_note)
    share_of_host = min(spec.vcpu / family.host_vcpus, 1.0)
    embodied = host_kg * (share_of_host / data.datacentre.server_lifespan_hours)
    return InstancePower(watts=watts, embodied_kg_per_hour=embodied,
                         notes=tuple(dict.fromkeys(notes)))


def _footprint(watts: Spread, hours: float, embodied_per_hour: Spread, region: str,
               notes: list[str]) -> Footprint:
    data = coefficients()
    factor, grid_note = _grid(region)
    if grid_note:
        notes.append(grid_note)
    kwh = watts * (hours / 1000.0 * data.datacentre.pue)
    embodied = embodied_per_hour * hours
    carbon = kwh * factor + embodied
    return Footprint(kwh=kwh.central, kwh_low=kwh.low, kwh_high=kwh.high,
                     kgco2e=carbon.central, kgco2e_low=carbon.low, kgco2e_high=carbon.high,
                     embodied_kgco2e=embodied.central, notes=tuple(dict.fromkeys(notes)),
                     coefficients=data.label)


def instances_footprint(instance_type: str | None, count: float, region: str,
                        cpu_utilisation: float | None, accelerator_utilisation: float | None,
                        hours: float = HOURS_PER_MONTH) -> Footprint | None:
    """`count` instances (a time-weighted mean may be fractional) running `hours` (a month by
    default) at the given mean utilisations; None when the type or its accelerators are
    unknown."""
    if count <= 0:
        return no_footprint()
    spec = spec_for(instance_type)
    if spec is None:
        return None
    power = instance_power(spec, cpu_utilisation, accelerator_utilisation)
    if power is None:
        return None
    return _footprint(power.watts * count, hours, power.embodied_kg_per_hour * count, region,
                      list(power.notes))


def serverless_footprint(memory_mb: float, busy_seconds: float, region: str) -> Footprint:
    """Serverless inference from the compute it bills: `busy_seconds` of a container with
    `memory_mb` (a month's worth). vCPUs follow memory by AWS Lambda's ratio (CCF's rule), at
    CCF's 50 % utilisation while busy (range 0-100 %), plus the memory's own power."""
    data = coefficients()
    serverless = data.serverless
    vcpus = memory_mb / serverless.mb_per_vcpu
    idle, full, _, cpu_notes = _per_vcpu((serverless.cpu,))
    notes = [serverless.estimate, *cpu_notes]
    share = Spread(data.datacentre.fallback_utilisation, 0.0, 1.0)
    watts = (_interpolate(idle, full, share) * vcpus
             + Spread.exact(memory_mb / 1024.0 * data.datacentre.memory_watts_per_gib))
    reference = data.families[serverless.reference_family]
    host = Spread.exact(reference.embodied_kg or 0.0)
    embodied = host * (vcpus / reference.host_vcpus / data.datacentre.server_lifespan_hours)
    return _footprint(watts, max(busy_seconds, 0.0) / 3600.0, embodied, region, notes)


def method_text() -> str:
    """The method in one paragraph, for rationale documents and the report."""
    data = coefficients()
    return (
        "Estimated with the Cloud Carbon Footprint method: per instance, vCPUs x (idle + mean "
        "CPU utilisation x (full-load - idle)) watts of its CPU microarchitecture, memory beyond "
        f"what SPECpower servers hold at {data.datacentre.memory_watts_per_gib} W/GiB, "
        "accelerators x (idle + mean utilisation x (board power - idle)), times "
        f"instance-hours, times PUE {data.datacentre.pue}, times the region's grid factor, plus "
        "the host's embodied emissions shared by vCPUs over "
        f"{data.datacentre.server_lifespan_hours / 8760:.0f} years; serverless from busy "
        f"seconds x memory. {data.label}. The range takes every coefficient at its low and "
        "high end together.")
