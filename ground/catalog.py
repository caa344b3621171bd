"""Instance specifications of every SageMaker hosting type: vCPUs, memory and accelerators.

The bundled table `data/ml-instances.csv` has one row per value of botocore's
`ProductionVariantInstanceType` enum (every type a real-time endpoint accepts), each row naming its
sources (`data/ml-instances-sources.md` spells them out and gives the column conventions). Types
newer than the table are filled by `sagetop prices refresh` from the Price List attributes into
the price cache, which this lookup overlays. A type in neither is unknown: `spec_for` returns None
and callers treat it as unknown, never as a CPU type. Prices live in `ground.pricing`.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
)

from ground.locations import default_price_cache


class AcceleratorKind(StrEnum):
    """What a model has to be built for to use the instance's accelerators."""

    NONE = "none"
    NVIDIA = "nvidia"  # CUDA GPUs: the only accelerators GPUUtilization is published for
    INFERENTIA = "inferentia"  # AWS Inferentia (inf1) and Inferentia2 (inf2): Neuron-compiled
    TRAINIUM = "trainium"  # AWS Trainium (trn1, trn1n) and Trainium2 (trn2): Neuron-compiled
    HABANA = "habana"  # Habana Gaudi (dl1): SynapseAI builds
    UNKNOWN = "unknown"  # the price list reports accelerators of a family we cannot name


# Families whose CPUs are arm64: Graviton (a "g" right after the generation digit: c7g, m6gd,
# r7gd, c6gn) and NVIDIA Grace in the Grace-Blackwell superchip types (p6e-gb200).
_GRAVITON = re.compile(r"^[a-z]+\d+g[a-z]*$")
_GRACE = re.compile(r"-gb\d+$")
# Burstable (CPU credit) families: t2, t3, t4g. Not trn1 (Trainium), whose name also starts with t.
_BURSTABLE = re.compile(r"^t\d+[a-z]*$")
# AWS silicon families carry the chip generation in the name: inf1, inf2, trn1, trn1n, trn2.
_NEURON_FAMILY = re.compile(r"^(?P<kind>inf|trn)(?P<generation>\d+)[a-z]*$")
_NEURON_MODELS = {"inf": "Inferentia", "trn": "Trainium"}


@dataclass(frozen=True)
class InstanceSpec:
    instance_type: str
    vcpu: int
    memory_gib: float
    accelerator: AcceleratorKind
    # Accelerator devices: GPUs, or Inferentia/Trainium chips (not NeuronCores); 0 without.
    gpu_count: int
    gpu_model: str | None  # device model ("A10G", "Inferentia2"); None without one or unknown
    # Total accelerator memory over all devices, nominal per-device sizes (the table's convention);
    # 0 without accelerators, None when unknown.
    gpu_memory_gib: float | None
    price_per_hour_usd: float | None  # us-east-1 on-demand, where a named source gives one
    source: str

    @property
    def family(self) -> str:
        return self.instance_type.split(".")[1]

    @property
    def size(self) -> str:
        return self.instance_type.split(".")[2]

    @property
    def has_gpu(self) -> bool:
        """NVIDIA GPUs: what GPUUtilization and GPUMemoryUtilization are published for."""
        return self.accelerator is AcceleratorKind.NVIDIA and self.gpu_count > 0

    @property
    def has_accelerator(self) -> bool:
        return self.accelerator is not AcceleratorKind.NONE

    @property
    def generation(self) -> int | None:
        """The Neuron chip generation (1: inf1, trn1; 2: inf2, trn2): a model compiled for one
        does not run on another. None for other types (a GPU is identified by its model)."""
        match = _NEURON_FAMILY.match(self.family)
        return int(match.group("generation")) if match else None

    @property
    def is_graviton(self) -> bool:
        return bool(_GRAVITON.match(self.family))

    @property
    def cpu_architecture(self) -> str:
        """arm64 (Graviton, Grace) or x86_64: a container image is built for one of them."""
        return "arm64" if self.is_graviton or _GRACE.search(self.family) else "x86_64"

    @property
    def is_burstable(self) -> bool:
        return bool(_BURSTABLE.match(self.family))

    @property
    def memory_per_device_gib(self) -> float | None:
        if self.gpu_count <= 0 or not self.gpu_memory_gib:
            return None
        return self.gpu_memory_gib / self.gpu_count

    @property
    def accelerator_label(self) -> str:
        """'4x A10G, 96 GiB' / 'no accelerator' / 'unknown accelerators', for rationale text."""
        if not self.has_accelerator:
            return "no accelerator"
        if self.gpu_model is None or self.gpu_count <= 0:
            return f"{self.accelerator.value} accelerators of unknown model"
        memory = f", {self.gpu_memory_gib:g} GiB" if self.gpu_memory_gib else ""
        return f"{self.gpu_count}x {self.gpu_model}{memory}"


def _float(text: str) -> float | None:
    return float(text) if text.strip() else None


@cache
def bundled_specs() -> dict[str, InstanceSpec]:
    """The bundled table, read once."""
    text = resources.files("ground").joinpath("data/ml-instances.csv").read_text("utf-8")
    specs: dict[str, InstanceSpec] = {}
    for row in csv.DictReader(text.splitlines()):
        specs[row["instance_type"]] = InstanceSpec(
            instance_type=row["instance_type"],
            vcpu=int(row["vcpu"]),
            memory_gib=float(row["memory_gib"]),
            accelerator=AcceleratorKind(row["accelerator"].strip() or "none"),
            gpu_count=int(row["gpu_count"] or 0),
            gpu_model=row["gpu_model"] or None,
            gpu_memory_gib=_float(row["gpu_memory_gib"]),
            price_per_hour_usd=_float(row["price_per_hour_usd_us_east_1"]),
            source=row["source"],
        )
    return specs


# --- specs from the Price List, for types newer than the table -------------------------------


class CachedSpec(BaseModel):
    """Specs of one type read from the Price List attributes (`vCpu`, `memory`, `gpu`,
    `gpuMemory`), kept in the price cache."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vcpu: PositiveInt
    memory_gib: PositiveFloat
    accelerator: AcceleratorKind = AcceleratorKind.NONE
    accelerator_count: NonNegativeInt = 0
    accelerator_model: str | None = None
    accelerator_memory_gib: PositiveFloat | None = None  # total over the devices
    region: str
    fetched_at: dt.datetime


def describe_new_type(instance_type: str, vcpu: int, memory_gib: float,
                      accelerators: int | None, accelerator_memory_gib: float | None,
                      region: str, fetched_at: dt.datetime) -> CachedSpec:
    """A type the table lacks, from what the Price List says of it.

    The accelerator kind and device model come from the family name where AWS's naming says it
    (inf<n>, trn<n>, dl<n>, and the g/p GPU families whose model a sibling in the table shows);
    anything else with accelerators is UNKNOWN and is never proposed as a move. The Price List
    does not say whether `gpuMemory` is per device or per instance, so accelerator memory is kept
    only for single-device types, where both readings agree.
    """
    family = instance_type.split(".")[1] if instance_type.count(".") >= 2 else instance_type
    count = accelerators or 0
    neuron = _NEURON_FAMILY.match(family)
    kind = AcceleratorKind.NONE
    model: str | None = None
    if neuron:
        kind = (AcceleratorKind.INFERENTIA if neuron.group("kind") == "inf"
                else AcceleratorKind.TRAINIUM)
        generation = int(neuron.group("generation"))
        model = _NEURON_MODELS[neuron.group("kind")] + (str(generation) if generation > 1 else "")
    elif family.startswith("dl"):
        kind = AcceleratorKind.HABANA
    elif count > 0:
        sibling = next((s for s in bundled_specs().values()
                        if s.family == family and s.has_gpu), None)
        kind = AcceleratorKind.NVIDIA if sibling else AcceleratorKind.UNKNOWN
        model = sibling.gpu_model if sibling else None
    memory = accelerator_memory_gib if count == 1 and accelerator_memory_gib else None
    return CachedSpec(vcpu=vcpu, memory_gib=memory_gib, accelerator=kind,
                      accelerator_count=count if kind is not AcceleratorKind.NONE else 0,
                      accelerator_model=model if count > 0 else None,
                      accelerator_memory_gib=memory, region=region, fetched_at=fetched_at)


class _SpecSection(BaseModel):
    """The part of the price cache this module reads; the rest belongs to `ground.pricing`."""

    model_config = ConfigDict(extra="ignore")

    specs: dict[str, CachedSpec] = {}


def spec_from_cache(instance_type: str, cached: CachedSpec) -> InstanceSpec:
    has_devices = cached.accelerator is not AcceleratorKind.NONE
    return InstanceSpec(
        instance_type=instance_type, vcpu=cached.vcpu, memory_gib=cached.memory_gib,
        accelerator=cached.accelerator, gpu_count=cached.accelerator_count,
        gpu_model=cached.accelerator_model,
        gpu_memory_gib=cached.accelerator_memory_gib if has_devices else 0.0,
        price_per_hour_usd=None,
        source=f"spec:AWS Price List API ({cached.region}, fetched "
               f"{cached.fetched_at:%Y-%m-%d}); price:none")


@lru_cache(maxsize=8)
def _refreshed(path: Path) -> dict[str, InstanceSpec]:
    try:
        section = _SpecSection.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        # Missing is normal; a damaged cache is reported by PriceBook.load, which reads it too.
        return {}
    bundled = bundled_specs()
    return {name: spec_from_cache(name, cached) for name, cached in section.specs.items()
            if name not in bundled}


def refreshed_specs(path: Path | None = None) -> dict[str, InstanceSpec]:
    """Specs the price cache holds for types the table lacks (read once per cache file)."""
    return _refreshed(path or default_price_cache())


def forget_refreshed_specs() -> None:
    """After a refresh rewrote the cache: read it again at the next lookup."""
    _refreshed.cache_clear()
    _merged.cache_clear()


@lru_cache(maxsize=8)
def _merged(path: Path) -> dict[str, InstanceSpec]:
    return {**refreshed_specs(path), **bundled_specs()}


def instance_specs() -> dict[str, InstanceSpec]:
    """Every known hosting type: the bundled table, overlaid with the refreshed types."""
    return _merged(default_price_cache())


def spec_for(instance_type: str | None) -> InstanceSpec | None:
    """The specs of a type, or None when neither the table nor the price cache knows it."""
    if instance_type is None:
        return None
    found = bundled_specs().get(instance_type)
    if found is None:
        found = refreshed_specs().get(instance_type)
    return found
