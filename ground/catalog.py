"""Instance specifications (vCPU, memory, GPUs) for SageMaker hosting types, bundled with sagetop.

The table comes from the project's reference sheet (`data/ml-instances.csv`, sources per row). Specs
are needed by the collectors to normalise CPU and GPU utilisation per instance; prices live in
`ground.pricing`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class InstanceSpec:
    instance_type: str
    vcpu: int
    memory_gib: float
    gpu_count: int
    gpu_model: str | None
    gpu_memory_gib: float | None
    accelerator: str | None
    hostable: bool  # ml.t3.* are notebook types: they cannot host endpoints
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
        return self.gpu_count > 0


def _float(text: str) -> float | None:
    return float(text) if text.strip() else None


@cache
def instance_specs() -> dict[str, InstanceSpec]:
    text = resources.files("ground").joinpath("data/ml-instances.csv").read_text("utf-8")
    specs: dict[str, InstanceSpec] = {}
    for row in csv.DictReader(text.splitlines()):
        accelerator = row["accelerator"].strip()
        specs[row["instance_type"]] = InstanceSpec(
            instance_type=row["instance_type"],
            vcpu=int(row["vcpu"]),
            memory_gib=float(row["memory_gib"]),
            gpu_count=int(row["gpu_count"] or 0),
            gpu_model=row["gpu_model"] or None,
            gpu_memory_gib=_float(row["gpu_memory_gib"]),
            accelerator=None if accelerator in ("", "none") else accelerator,
            hostable="NOT-HOSTABLE" not in row["source"],
            price_per_hour_usd=_float(row["price_per_hour_usd_us_east_1"]),
            source=row["source"],
        )
    return specs


def spec_for(instance_type: str | None) -> InstanceSpec | None:
    if instance_type is None:
        return None
    return instance_specs().get(instance_type)
