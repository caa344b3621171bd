"""`sagetop prices refresh`: on-demand hosting prices per region from the AWS Price List Query API.

The answer is merged into the price cache that `ground.pricing.PriceBook` overlays on the bundled
table; only reads (pricing:GetProducts) are sent. The same SKUs carry the instance's specs
(`vCpu`, `memory`, `gpu`, `gpuMemory`): for types newer than the bundled catalogue they go into
the cache too, and `ground.catalog` overlays them, so a new type is sized instead of unknown.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from collectors.aws import AwsContext
from collectors.failures import RECOVERABLE, describe
from ground.atomic import write_atomic
from ground.catalog import CachedSpec, bundled_specs, describe_new_type, forget_refreshed_specs
from ground.errors import SagetopError
from ground.locations import PRICE_CACHE_FILE, default_cache_dir
from ground.pricing import (
    PRICE_LIST_SOURCE,
    PRICING_API_REGION,
    CachedRegion,
    PriceCache,
    read_price_cache,
)


class RefreshResult(BaseModel):
    """What `refresh_prices` wrote."""

    model_config = ConfigDict(frozen=True)

    path: Path
    regions: tuple[str, ...]
    prices_by_region: dict[str, int]
    new_types: tuple[str, ...] = ()  # types the bundled catalogue lacks, specs now cached
    fetched_at: dt.datetime
    warnings: tuple[str, ...] = ()


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


def _hosting_attributes(item: _PriceListItem, region: str) -> tuple[str, dict[str, str]] | None:
    """(instance type, attributes with lower-case keys) of a real-time hosting instance SKU."""
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
    return instance_type, attrs


_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)")


def _number(text: str | None) -> float | None:
    """The leading number of an attribute ("16 GiB" -> 16, "24 HBM2" -> 24); None for "N/A"."""
    match = _NUMBER.match(text or "")
    return float(match.group(1)) if match else None


def _hosting_spec(instance_type: str, attrs: dict[str, str], region: str,
                  fetched_at: dt.datetime) -> CachedSpec | None:
    """Specs from the attributes (aws-facts 6.2: `vCpu`, `memory` "16 GiB", `gpu` or
    `physicalGpu` "N/A" or n, `gpuMemory`), or None when vCPUs or memory are missing."""
    vcpu = _number(attrs.get("vcpu"))
    memory = _number(attrs.get("memory"))
    if not vcpu or not memory or vcpu != int(vcpu) or instance_type.count(".") != 2:
        return None
    devices = _number(attrs.get("gpu")) or _number(attrs.get("physicalgpu"))
    return describe_new_type(instance_type, int(vcpu), memory,
                             int(devices) if devices else None,
                             _number(attrs.get("gpumemory")), region, fetched_at)


def _hourly_usd(item: _PriceListItem) -> float | None:
    """The on-demand USD per instance-hour of a hosting SKU, None when it has no such price."""
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
                return usd
    return None


async def _fetch_region(client: Any, region: str, fetched_at: dt.datetime
                        ) -> tuple[dict[str, float], dict[str, CachedSpec], list[str]]:
    notes: list[str] = []
    prices: dict[str, float] = {}
    specs: dict[str, CachedSpec] = {}
    known = bundled_specs()
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
                hosting = _hosting_attributes(item, region)
                if hosting is None:
                    continue
                instance_type, attrs = hosting
                if instance_type not in known and instance_type not in specs:
                    spec = _hosting_spec(instance_type, attrs, region, fetched_at)
                    if spec is not None:
                        specs[instance_type] = spec
                usd = _hourly_usd(item)
                if usd is None:
                    continue
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
    return prices, specs, notes


async def refresh_prices(
    aws: AwsContext, regions: Sequence[str], cache_dir: Path | None = None
) -> RefreshResult:
    """Fetch on-demand hosting prices for `regions` and merge them into the price cache.

    Regions fetched before and not asked for now are kept. A region for which the API returns no
    hosting price is left as it was, with a warning. Raises SagetopError (one line) when AWS
    refuses or cannot be reached, or when nothing at all was found.
    """
    wanted = tuple(dict.fromkeys(regions))
    if not wanted:
        raise SagetopError("price refresh: no region given")
    path = (cache_dir or default_cache_dir()) / PRICE_CACHE_FILE
    fetched_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    client = await aws.client("pricing", PRICING_API_REGION)
    fetched: dict[str, dict[str, float]] = {}
    new_specs: dict[str, CachedSpec] = {}
    warnings: list[str] = []
    for region in wanted:
        try:
            prices, specs, notes = await _fetch_region(client, region, fetched_at)
        except RECOVERABLE as exc:
            message, _ = describe(exc, "pricing", "GetProducts")
            raise SagetopError(f"price refresh for {region}: {message}") from None
        warnings += notes
        for name, spec in specs.items():
            new_specs.setdefault(name, spec)
        if prices:
            fetched[region] = prices
        else:
            warnings.append(f"{region}: no SageMaker hosting prices returned "
                            "(not a SageMaker region?); its cached prices, if any, are kept")
    if not fetched:
        raise SagetopError(f"price refresh: no SageMaker hosting prices returned for "
                           f"{', '.join(wanted)}; {path} was not changed")

    previous, problem = read_price_cache(path)
    if problem:
        warnings.append(f"{problem}; replaced")
    regions_out = dict(previous.regions) if previous else {}
    for region, prices in fetched.items():
        regions_out[region] = CachedRegion(fetched_at=fetched_at,
                                            usd_per_hour=dict(sorted(prices.items())))
    known = bundled_specs()
    # Types the bundle has learnt since an older refresh are dropped: the bundle's row wins.
    specs_out = {name: spec for name, spec in (previous.specs if previous else {}).items()
                 if name not in known}
    specs_out.update(new_specs)
    cache_model = PriceCache(source=PRICE_LIST_SOURCE, fetched_at=fetched_at,
                              regions=dict(sorted(regions_out.items())),
                              specs=dict(sorted(specs_out.items())))
    text = json.dumps(cache_model.model_dump(mode="json"), indent=2) + "\n"
    write_atomic(path, text)
    forget_refreshed_specs()
    return RefreshResult(
        path=path, regions=tuple(fetched), fetched_at=fetched_at, warnings=tuple(warnings),
        prices_by_region={region: len(prices) for region, prices in fetched.items()},
        new_types=tuple(sorted(new_specs)),
    )
