"""The price catalogue: what an instance type or serverless endpoint costs, and where that's from.

Bundled prices are the us-east-1 on-demand hosting list prices of `data/ml-instances.csv` (each row
names its source; `data/prices-meta.json` spells the source keys out). `sagetop prices refresh`
fetches current prices per region from the AWS Price List Query API into a cache that overlays the
bundled table. Every `Price` carries a one-line `source`, and anything not read from a price list
is marked `estimated`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationError

from sagetop.atomic import write_atomic
from sagetop.catalog import InstanceSpec, instance_specs, spec_for
from sagetop.config import describe_validation_error
from sagetop.errors import SagetopError

if TYPE_CHECKING:
    from collectors.aws import AwsContext

# The usual monthly convention (AWS pricing calculator): 365 days × 24 h / 12.
HOURS_PER_MONTH: float = 730.0
# Serverless on-demand compute, per second per GB of configured memory, and data processed per GB:
# AWS's serverless benchmarking toolkit constants (sm-serverless-benchmarking 0.2.3, `SMSB`).
SERVERLESS_USD_PER_GB_SECOND: float = 0.00002
DATA_PROCESSED_USD_PER_GB: float = 0.016

CATALOGUE_REGION = "us-east-1"
# The Price List Query API answers only from a few regions; us-east-1 is one of them.
PRICING_API_REGION = "us-east-1"
PRICE_CACHE_FILE = "prices.json"
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


class RefreshResult(BaseModel):
    """What `refresh_prices` wrote."""

    model_config = ConfigDict(frozen=True)

    path: Path
    regions: tuple[str, ...]
    prices_by_region: dict[str, int]
    fetched_at: dt.datetime
    warnings: tuple[str, ...] = ()


# --- bundled catalogue -----------------------------------------------------------------------


class _PricesMeta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str
    as_of: str
    summary: str
    sources: dict[str, str]
    serverless: str


@cache
def _meta() -> _PricesMeta:
    text = resources.files("sagetop").joinpath("data/prices-meta.json").read_text("utf-8")
    return _PricesMeta.model_validate_json(text)


def _bundled_source(row_source: str) -> str:
    """'spec:EC2UG; price:FMB+IRDOC(0.736)' -> 'us-east-1 list price: <FMB name> + <IRDOC name>'."""
    meta = _meta()
    part = next((p.strip()[len("price:"):] for p in row_source.split(";")
                 if p.strip().startswith("price:")), row_source)
    names: list[str] = []
    for token in part.split("+"):
        key = re.match(r"[A-Z]+", token.strip())
        names.append(meta.sources.get(key.group(0), token) if key else token.strip())
    return f"{meta.region} list price: {' + '.join(names)}"


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


class _CachedRegion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    fetched_at: dt.datetime
    usd_per_hour: dict[str, PositiveFloat]


class _PriceCache(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal[1] = 1
    source: str
    fetched_at: dt.datetime
    regions: dict[str, _CachedRegion]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sagetop"


def _read_cache(path: Path) -> tuple[_PriceCache | None, str | None]:
    """The cache, or None with a one-line reason when it exists but cannot be used."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"{path}: cannot read: {exc.strerror or exc}"
    try:
        return _PriceCache.model_validate_json(text), None
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "json_invalid":
            return None, f"{path}: not valid JSON"
        return None, describe_validation_error(exc, str(path))


def _refreshed_source(region: str, fetched_at: dt.datetime) -> str:
    return f"AWS Price List API, {region} on-demand hosting, fetched {fetched_at:%Y-%m-%d}"


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
        cached, problem = _read_cache(path)
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
                            f"{base.source}; not in the refreshed {region} price list")
        base = self._reference_price(instance_type)
        if base is None or region == CATALOGUE_REGION:
            return base
        return _relabel(base, region, f"{base.source}; {region} not in the catalogue, "
                                      f"run `sagetop prices refresh --region {region}`")

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
            if not spec.hostable:
                continue
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
    accelerated = spec.gpu_count > 0 or spec.accelerator is not None
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


# --- refresh from the Price List Query API ---------------------------------------------------


class _PriceDimension(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    unit: str = ""
    description: str = ""
    price_per_unit: dict[str, str] = Field(default_factory=dict, alias="pricePerUnit")


class _OfferTerm(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    price_dimensions: dict[str, _PriceDimension] = Field(default_factory=dict,
                                                         alias="priceDimensions")


class _Terms(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    on_demand: dict[str, _OfferTerm] = Field(default_factory=dict, alias="OnDemand")


class _Product(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    sku: str = ""
    product_family: str | None = Field(default=None, alias="productFamily")
    attributes: dict[str, str] = Field(default_factory=dict)


class _PriceListItem(BaseModel):
    """One entry of GetProducts' `PriceList` (each arrives as a JSON string)."""

    model_config = ConfigDict(extra="ignore")

    product: _Product
    terms: _Terms = _Terms()


def _hosting_filters(region: str, component_key: str) -> list[dict[str, str]]:
    # regionCode rather than the long location name; "Hosting" is real-time inference (async and
    # batch are other components with their own prices).
    return [
        {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "ML Instance"},
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "TERM_MATCH", "Field": component_key, "Value": "Hosting"},
    ]


def _hosting_price(item: _PriceListItem, region: str) -> tuple[str, float] | None:
    """(instance type, USD per hour) when the item is an on-demand real-time hosting instance."""
    attrs = {key.lower(): value for key, value in item.product.attributes.items()}
    if attrs.get("regioncode") != region:
        return None
    if attrs.get("locationtype", "AWS Region") != "AWS Region":
        return None  # Outposts and local zones price differently
    kinds = {attrs.get("component", "").lower(), attrs.get("platoinstancetype", "").lower()}
    if "hosting" not in kinds:
        return None  # notebooks, training, Studio, processing, async, batch ...
    instance_type = attrs.get("instancename") or attrs.get("instancetype", "").split("-")[0]
    if not instance_type.startswith("ml."):
        return None
    for term in item.terms.on_demand.values():
        for dimension in term.price_dimensions.values():
            text = dimension.description.lower()
            if dimension.unit != "Hrs" or "transfer" in text or "storage" in text:
                continue
            try:
                usd = float(dimension.price_per_unit.get("USD", ""))
            except ValueError:
                continue
            if usd > 0:
                return instance_type, usd
    return None


async def _fetch_region(client: Any, region: str) -> tuple[dict[str, float], list[str]]:
    notes: list[str] = []
    prices: dict[str, float] = {}
    # Which attribute carries "Hosting" is not documented; the API's own SKUs have been seen
    # with `component` and with `platoinstancetype`, so ask by the second if the first is empty.
    for component_key in ("component", "platoinstancetype"):
        skipped = 0
        conflicts: set[str] = set()
        paginator = client.get_paginator("get_products")
        pages = paginator.paginate(
            ServiceCode="AmazonSageMaker", FormatVersion="aws_v1", MaxResults=100,
            Filters=_hosting_filters(region, component_key),
        )
        async for page in pages:
            for raw in page.get("PriceList", []):
                try:
                    item = _PriceListItem.model_validate_json(raw)
                except ValidationError:
                    skipped += 1
                    continue
                found = _hosting_price(item, region)
                if found is None:
                    continue
                instance_type, usd = found
                if instance_type in prices and prices[instance_type] != usd:
                    conflicts.add(instance_type)
                    usd = max(usd, prices[instance_type])
                prices[instance_type] = usd
        if skipped:
            notes.append(f"{region}: {skipped} price list item(s) not understood, skipped")
        if conflicts:
            notes.append(f"{region}: several hosting prices for {', '.join(sorted(conflicts))}; "
                         "kept the highest")
        if prices:
            break
    return prices, notes


async def refresh_prices(
    aws: AwsContext, regions: Sequence[str], cache_dir: Path | None = None
) -> RefreshResult:
    """Fetch on-demand hosting prices for `regions` and merge them into the price cache.

    Regions fetched before and not asked for now are kept. A region for which the API returns no
    hosting price is left as it was, with a warning. Raises SagetopError (one line) when AWS
    refuses or cannot be reached, or when nothing at all was found.
    """
    # collectors is imported here, not at the top: advisors and the TUI import this module for
    # prices and must not pull in AWS machinery.
    from collectors.failures import RECOVERABLE, describe

    wanted = tuple(dict.fromkeys(regions))
    if not wanted:
        raise SagetopError("price refresh: no region given")
    path = (cache_dir or default_cache_dir()) / PRICE_CACHE_FILE
    fetched_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    client = await aws.client("pricing", PRICING_API_REGION)
    fetched: dict[str, dict[str, float]] = {}
    warnings: list[str] = []
    for region in wanted:
        try:
            prices, notes = await _fetch_region(client, region)
        except RECOVERABLE as exc:
            message, _ = describe(exc, "pricing", "GetProducts")
            raise SagetopError(f"price refresh for {region}: {message}") from None
        warnings += notes
        if prices:
            fetched[region] = prices
        else:
            warnings.append(f"{region}: no SageMaker hosting prices returned "
                            "(not a SageMaker region?); its cached prices, if any, are kept")
    if not fetched:
        raise SagetopError(f"price refresh: no SageMaker hosting prices returned for "
                           f"{', '.join(wanted)}; {path} was not changed")

    previous, problem = _read_cache(path)
    if problem:
        warnings.append(f"{problem}; replaced")
    regions_out = dict(previous.regions) if previous else {}
    for region, prices in fetched.items():
        regions_out[region] = _CachedRegion(fetched_at=fetched_at,
                                            usd_per_hour=dict(sorted(prices.items())))
    cache_model = _PriceCache(source=PRICE_LIST_SOURCE, fetched_at=fetched_at,
                              regions=dict(sorted(regions_out.items())))
    text = json.dumps(cache_model.model_dump(mode="json"), indent=2) + "\n"
    write_atomic(path, text)
    return RefreshResult(
        path=path, regions=tuple(fetched), fetched_at=fetched_at, warnings=tuple(warnings),
        prices_by_region={region: len(prices) for region, prices in fetched.items()},
    )
