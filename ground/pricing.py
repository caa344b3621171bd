"""The price catalogue: what an instance type or serverless endpoint costs, and where that's from.

Bundled prices are the us-east-1 on-demand hosting list prices of `data/ml-instances.csv` (each row
names its source; `data/prices-meta.json` spells the source keys out). `sagetop prices refresh`
fetches current prices per region from the AWS Price List Query API into a cache that overlays the
bundled table. Every `Price` carries a one-line `source`, and anything not read from a price list
is marked `estimated`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationError

from ground.catalog import CachedSpec, InstanceSpec, instance_specs, spec_for
from ground.locations import PRICE_CACHE_FILE, default_cache_dir
from ground.validation import describe_validation

# The usual monthly convention (AWS pricing calculator): 365 days × 24 h / 12.
HOURS_PER_MONTH: float = 730.0
# Serverless on-demand compute, per second per GB of configured memory, and data processed per GB:
# AWS's serverless benchmarking toolkit constants (sm-serverless-benchmarking 0.2.3, `SMSB`).
SERVERLESS_USD_PER_GB_SECOND: float = 0.00002
DATA_PROCESSED_USD_PER_GB: float = 0.016

CATALOGUE_REGION = "us-east-1"
# The Price List Query API answers only from a few regions; us-east-1 is one of them.
PRICING_API_REGION = "us-east-1"
PRICE_LIST_SOURCE = "AWS Price List Query API (AmazonSageMaker, OnDemand, real-time hosting)"


class Price(BaseModel):
    """The on-demand hourly price of one instance type in one region, with its provenance."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instance_type: str
    region: str
    usd_per_hour: float
    source: str
    estimated: bool = False

    @property
    def monthly_usd(self) -> float:
        return self.usd_per_hour * HOURS_PER_MONTH




# --- bundled catalogue -----------------------------------------------------------------------


class _PricesMeta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str
    as_of: str
    summary: str
    sources: dict[str, str]
    third_party: tuple[str, ...] = ()  # source keys not authored by AWS
    serverless: str


@cache
def _meta() -> _PricesMeta:
    text = resources.files("ground").joinpath("data/prices-meta.json").read_text("utf-8")
    return _PricesMeta.model_validate_json(text)


def _bundled_source(row_source: str) -> str:
    """'spec:EC2UG; price:FMB+IRDOC(0.736)' -> 'AWS list price, us-east-1, late 2026 (from ...)'.

    Worded for whoever pays the bill: who published the price, for which region, when; the
    documents it was read from follow in parentheses (the dashboard shows them on demand).
    """
    meta = _meta()
    part = next((p.strip()[len("price:"):] for p in row_source.split(";")
                 if p.strip().startswith("price:")), row_source)
    names: list[str] = []
    keys: list[str] = []
    for token in part.split("+"):
        key = re.match(r"[A-Z]+", token.strip())
        if key:
            keys.append(key.group(0))
        names.append(meta.sources.get(key.group(0), token) if key else token.strip())
    publisher = "third-party" if keys and all(k in meta.third_party for k in keys) else "AWS"
    return f"{publisher} list price, {meta.region}, {meta.as_of} (from {'; '.join(names)})"


@cache
def _bundled_prices() -> dict[str, Price]:
    region = _meta().region
    return {
        spec.instance_type: Price(
            instance_type=spec.instance_type, region=region,
            usd_per_hour=spec.price_per_hour_usd, source=_bundled_source(spec.source),
        )
        for spec in instance_specs().values()
        if spec.price_per_hour_usd is not None
    }


# --- refreshed cache -------------------------------------------------------------------------


class CachedRegion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    fetched_at: dt.datetime
    usd_per_hour: dict[str, PositiveFloat]


class PriceCache(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = 1
    source: str
    fetched_at: dt.datetime
    regions: dict[str, CachedRegion]
    # Specs of types newer than the bundled catalogue (region-independent); `ground.catalog`
    # overlays them on its table. Absent in caches written before specs were refreshed.
    specs: dict[str, CachedSpec] = Field(default_factory=dict)


def read_price_cache(path: Path) -> tuple[PriceCache | None, str | None]:
    """The cache, or None with a one-line reason when it exists but cannot be used."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"{path}: cannot read: {exc.strerror or exc}"
    try:
        return PriceCache.model_validate_json(text), None
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "json_invalid":
            return None, f"{path}: not valid JSON"
        return None, describe_validation(exc, str(path))


def _refreshed_source(region: str, fetched_at: dt.datetime) -> str:
    return f"AWS Price List API, {region}, {fetched_at:%Y-%m-%d}"


# --- the book --------------------------------------------------------------------------------


class PriceBook:
    """Prices by (instance type, region): the refreshed cache where present, else the bundle."""

    def __init__(
        self,
        refreshed: Mapping[str, Mapping[str, Price]] | None = None,
        source: str | None = None,
        warnings: Sequence[str] = (),
    ) -> None:
        self._bundled = _bundled_prices()
        self._refreshed = {region: dict(table) for region, table in (refreshed or {}).items()}
        self.source: str = source or _meta().summary
        self.serverless_source: str = _meta().serverless
        self.warnings: list[str] = list(warnings)
        self._memo: dict[tuple[str, str], Price | None] = {}

    @classmethod
    def load(cls, cache_dir: Path | None = None) -> PriceBook:
        """The bundled catalogue overlaid by the refreshed cache in `cache_dir` (default
        `default_cache_dir()`). A cache that cannot be used is ignored with a warning."""
        path = (cache_dir or default_cache_dir()) / PRICE_CACHE_FILE
        cached, problem = read_price_cache(path)
        if cached is None:
            warnings = [f"{problem}; ignored, using the bundled prices "
                        "(`sagetop prices refresh` rebuilds it)"] if problem else []
            return cls(warnings=warnings)
        refreshed = {
            region: {
                instance_type: Price(
                    instance_type=instance_type, region=region, usd_per_hour=usd,
                    source=_refreshed_source(region, entry.fetched_at),
                )
                for instance_type, usd in entry.usd_per_hour.items()
            }
            for region, entry in cached.regions.items()
        }
        oldest = min((e.fetched_at for e in cached.regions.values()), default=cached.fetched_at)
        regions = ", ".join(sorted(cached.regions)) or "no region"
        source = (f"{PRICE_LIST_SOURCE} for {regions}, fetched {oldest:%Y-%m-%d} or later; "
                  f"elsewhere {_meta().summary}")
        return cls(refreshed=refreshed, source=source)

    @property
    def refreshed_regions(self) -> tuple[str, ...]:
        return tuple(sorted(self._refreshed))

    def hourly(self, instance_type: str, region: str) -> Price | None:
        """The on-demand hourly price, or None when it is unknown (never a made-up default)."""
        key = (instance_type, region)
        if key not in self._memo:
            self._memo[key] = self._hourly(instance_type, region)
        return self._memo[key]

    def _hourly(self, instance_type: str, region: str) -> Price | None:
        table = self._refreshed.get(region)
        if table is not None:
            price = table.get(instance_type) or _estimate_by_size(instance_type, table, region)
            if price is not None:
                return price
            base = self._reference_price(instance_type)
            if base is None:
                return None
            # The region's own list was fetched and lacks this type: it may not be offered
            # there. The us-east-1 figure is still the best available guess of its cost.
            return _relabel(base, region,
                            f"{CATALOGUE_REGION} price used for {region}, not in its refreshed "
                            f"price list ({base.source})")
        base = self._reference_price(instance_type)
        if base is None or region == CATALOGUE_REGION:
            return base
        return _relabel(base, region, f"{CATALOGUE_REGION} price used for {region} ({base.source}; "
                                      f"`sagetop prices refresh --region {region}` fetches "
                                      "the region's own)")

    def _reference_price(self, instance_type: str) -> Price | None:
        """us-east-1: the refreshed list if fetched, else the bundled one; estimated by size."""
        # A type missing from a refreshed us-east-1 list is usually an older generation that
        # still runs: the bundled figure beats "unknown".
        for table in (self._refreshed.get(CATALOGUE_REGION, {}), self._bundled):
            price = table.get(instance_type) or _estimate_by_size(instance_type, table,
                                                                  CATALOGUE_REGION)
            if price is not None:
                return price
        return None

    def monthly(self, instance_type: str, count: int, region: str) -> float | None:
        price = self.hourly(instance_type, region)
        return None if price is None else price.monthly_usd * count

    def serverless_monthly(
        self, memory_mb: int, busy_seconds_per_month: float, gb_processed_per_month: float = 0.0
    ) -> float:
        """On-demand serverless cost: busy seconds × configured GB × rate + data processed.

        Billing is linear in memory (1024 MB → $0.00002/s … 6144 MB → $0.00012/s); see
        `serverless_source`. Provisioned concurrency is not included: its rates are not sourced.
        """
        # No range check on memory: AWS only accepts 1024-6144 MB, and the rate is linear, so a
        # what-if size outside that range still costs what the formula says.
        if memory_mb <= 0 or busy_seconds_per_month < 0 or gb_processed_per_month < 0:
            raise ValueError(
                f"serverless cost of {memory_mb} MB, {busy_seconds_per_month} s, "
                f"{gb_processed_per_month} GB: memory must be positive, the rest not negative")
        compute = busy_seconds_per_month * (memory_mb / 1024) * SERVERLESS_USD_PER_GB_SECOND
        return compute + gb_processed_per_month * DATA_PROCESSED_USD_PER_GB

    def candidates(self, region: str) -> list[tuple[InstanceSpec, Price]]:
        """Every hosting type with a known or estimated price in `region`, cheapest first."""
        found: list[tuple[InstanceSpec, Price]] = []
        for spec in instance_specs().values():
            price = self.hourly(spec.instance_type, region)
            if price is not None:
                found.append((spec, price))
        found.sort(key=lambda pair: (pair[1].usd_per_hour, pair[0].instance_type))
        return found


def _relabel(price: Price, region: str, source: str) -> Price:
    return Price(instance_type=price.instance_type, region=region,
                 usd_per_hour=price.usd_per_hour, source=source, estimated=True)


_SIZE_UNITS = {"nano": 0.0625, "micro": 0.125, "small": 0.25, "medium": 0.5, "large": 1.0,
               "xlarge": 2.0}


def _size_units(size: str) -> float | None:
    """EC2 size names in 'large' units: xlarge = 2, 2xlarge = 4, 24xlarge = 48; None for metal."""
    if size in _SIZE_UNITS:
        return _SIZE_UNITS[size]
    match = re.fullmatch(r"(\d+)xlarge", size)
    return 2.0 * int(match.group(1)) if match else None


def _estimate_by_size(instance_type: str, table: Mapping[str, Price], region: str) -> Price | None:
    """Derive a missing price from listed sizes of the same family, or None.

    CPU-only families price proportionally to size (ml.c5.2xlarge = 2 × ml.c5.xlarge in every
    list), so the nearest listed size is scaled by the size in the name (large = 1, xlarge = 2,
    Nxlarge = 2N, medium = 1/2). That is the vCPU ratio for every family except the burstable
    ones, whose sizes double memory at equal vCPUs (ml.t2.large = 2 × ml.t2.medium, both 2 vCPU);
    the vCPU ratio is the fallback for sizes without a number in the name (metal).

    In accelerated families the accelerators are a fixed cost per instance: only sizes with the
    same accelerators are comparable, and price is linear (not proportional) in vCPUs there, so
    two listed sizes are needed to draw the line (e.g. ml.g5.16xlarge from ml.g5.4xlarge and
    ml.g5.8xlarge). Estimates are never chained.
    """
    spec = spec_for(instance_type)
    if spec is None or spec.vcpu <= 0:
        return None
    siblings: list[tuple[InstanceSpec, Price]] = []
    for name, price in table.items():
        other = spec_for(name)
        if (other is not None and name != instance_type and not price.estimated
                and other.family == spec.family and other.vcpu > 0
                and other.gpu_count == spec.gpu_count and other.accelerator == spec.accelerator):
            siblings.append((other, price))
    if not siblings:
        return None
    siblings.sort(key=lambda pair: (abs(math.log(pair[0].vcpu / spec.vcpu)), pair[0].vcpu))
    accelerated = spec.has_accelerator
    if not accelerated:
        wanted_units = _size_units(spec.size)
        sized = [(s, p, _size_units(s.size)) for s, p in siblings]
        by_name = [(s, p, units) for s, p, units in sized if units is not None]
        if wanted_units is not None and by_name:
            by_name.sort(key=lambda t: (abs(math.log(t[2] / wanted_units)), t[2]))
            near, near_price, near_units = by_name[0]
            usd = near_price.usd_per_hour * wanted_units / near_units
        else:
            near, near_price = siblings[0]
            usd = near_price.usd_per_hour * spec.vcpu / near.vcpu
        source = f"estimated from {near.instance_type} by size ({near_price.source})"
    else:
        first, first_price = siblings[0]
        second = next((pair for pair in siblings[1:] if pair[0].vcpu != first.vcpu), None)
        if second is None:
            return None
        other, other_price = second
        slope = (other_price.usd_per_hour - first_price.usd_per_hour) / (other.vcpu - first.vcpu)
        usd = first_price.usd_per_hour + slope * (spec.vcpu - first.vcpu)
        if slope < 0 or usd <= 0:
            return None  # the listed sizes contradict the pricing pattern: do not guess
        low, high = sorted((first, other), key=lambda s: s.vcpu)
        source = (f"estimated from {low.instance_type} and {high.instance_type} by size "
                  f"({first_price.source})")
    return Price(instance_type=instance_type, region=region, usd_per_hour=round(usd, 6),
                 source=source, estimated=True)
