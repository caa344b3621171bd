"""The price catalogue: bundled prices and their sources, estimates, serverless cost, the cache,
and a refresh through the real aiobotocore client answered by a fake Price List API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.awsrequest import AioAWSResponse
from aiobotocore.session import AioSession
from botocore.awsrequest import HeadersDict

from collectors.aws import AwsContext, AwsTarget
from collectors.prices import refresh_prices
from ground.catalog import (
    AcceleratorKind,
    bundled_specs,
    forget_refreshed_specs,
    instance_specs,
    spec_for,
)
from ground.config import AwsSettings
from ground.errors import SagetopError
from ground.locations import default_cache_dir
from ground.pricing import (
    DATA_PROCESSED_USD_PER_GB,
    HOURS_PER_MONTH,
    SERVERLESS_USD_PER_GB_SECOND,
    Price,
    PriceBook,
)


@pytest.fixture
def book() -> PriceBook:
    return PriceBook.load(Path("/nonexistent-sagetop-cache"))


# --- bundled catalogue -----------------------------------------------------------------------


def test_listed_price_names_its_source(book: PriceBook) -> None:
    price = book.hourly("ml.c5.xlarge", "us-east-1")
    assert price == Price(
        instance_type="ml.c5.xlarge", region="us-east-1", usd_per_hour=0.204,
        source="AWS list price, us-east-1, late 2026 (from AWS FMBench pricing fallback, "
               "fmbench 2.1.1; AWS sm-serverless-benchmarking 0.2.3 cost constants; SageMaker "
               "developer guide, Inference Recommender example (2023))")
    assert price.monthly_usd == pytest.approx(0.204 * HOURS_PER_MONTH)
    assert book.monthly("ml.c5.xlarge", 2, "us-east-1") == pytest.approx(2 * 0.204 * 730)


def test_every_bundled_price_comes_from_a_named_source(book: PriceBook) -> None:
    priced = [s for s in instance_specs().values() if s.price_per_hour_usd is not None]
    assert len(priced) == 36  # as the reference sheet states (section 6.4)
    for spec in priced:
        price = book.hourly(spec.instance_type, "us-east-1")
        assert price is not None
        assert price.usd_per_hour == spec.price_per_hour_usd
        assert not price.estimated
        assert price.source.startswith(("AWS list price, us-east-1, late 2026 (from ",
                                         "third-party list price, us-east-1, late 2026 (from "))
        # every source key of the CSV is spelled out, none left as a bare abbreviation
        assert not any(key in price.source for key in ("FMB+", "SMSB", "IRDOC", "GOERLITZ-"))
    # ml.p3.8xlarge/16xlarge were priced from a third-party table of *notebook* prices
    # (ml-instances-sources.md 5.8): dropped, and not estimated from the 1-GPU ml.p3.2xlarge.
    assert book.hourly("ml.p3.8xlarge", "us-east-1") is None
    assert "third-party" not in book.source
    assert "late 2026" in book.source


def test_cpu_family_price_estimated_by_size(book: PriceBook) -> None:
    price = book.hourly("ml.c5.9xlarge", "us-east-1")
    assert price is not None and price.estimated
    assert price.usd_per_hour == pytest.approx(0.816 * 36 / 16)
    assert price.source == ("estimated from ml.c5.4xlarge by size (AWS list price, us-east-1, "
                            "late 2026 (from AWS FMBench pricing fallback, fmbench 2.1.1))")
    m5 = book.hourly("ml.m5.2xlarge", "us-east-1")
    assert m5 is not None and m5.usd_per_hour == pytest.approx(2 * 0.23)
    assert m5.source.startswith("estimated from ml.m5.xlarge by size")


def test_burstable_family_scales_by_size_name_not_vcpu(book: PriceBook) -> None:
    # ml.t2.medium and ml.t2.large both have 2 vCPUs; the larger size is twice the memory.
    price = book.hourly("ml.t2.large", "us-east-1")
    assert price is not None and price.estimated
    assert price.usd_per_hour == pytest.approx(2 * 0.056)


def test_gpu_family_estimate_uses_same_gpu_count_and_two_sizes(book: PriceBook) -> None:
    # Linear in vCPUs through ml.g5.4xlarge (2.03) and ml.g5.8xlarge (3.06), both 1 GPU; the
    # 4-GPU ml.g5.12xlarge, closer in vCPUs, must not be used.
    price = book.hourly("ml.g5.16xlarge", "us-east-1")
    assert price is not None and price.estimated
    assert price.usd_per_hour == pytest.approx(3.06 + (3.06 - 2.03) / 16 * 32)
    assert price.source.startswith("estimated from ml.g5.4xlarge and ml.g5.8xlarge by size")


def test_unknown_prices_are_none_never_a_default(book: PriceBook) -> None:
    assert book.hourly("ml.m6i.xlarge", "us-east-1") is None  # no size of the family priced
    assert book.hourly("ml.inf1.xlarge", "us-east-1") is None
    assert book.hourly("ml.m7i.xlarge", "us-east-1") is None  # no m7i size priced
    assert book.hourly("ml.x9.xlarge", "us-east-1") is None  # not in the catalogue at all
    assert book.hourly("not-an-instance", "us-east-1") is None
    assert book.monthly("ml.m6i.xlarge", 2, "us-east-1") is None


def test_other_region_uses_us_east_1_price_labelled(book: PriceBook) -> None:
    price = book.hourly("ml.c5.xlarge", "eu-west-1")
    assert price is not None
    assert price.estimated
    assert price.region == "eu-west-1"
    assert price.usd_per_hour == 0.204
    assert price.source.startswith("us-east-1 price used for eu-west-1 (AWS list price, ")
    assert price.source.endswith(
        "; `sagetop prices refresh --region eu-west-1` fetches the region's own)")
    assert book.hourly("ml.m6i.xlarge", "eu-west-1") is None


def test_candidates_are_hostable_priced_and_cheapest_first(book: PriceBook) -> None:
    candidates = book.candidates("us-east-1")
    names = [spec.instance_type for spec, _ in candidates]
    assert "ml.t3.medium" not in names  # notebook type, not in the hosting enum
    assert "ml.m6i.xlarge" not in names  # price unknown
    assert "ml.c5.9xlarge" in names  # estimated prices count
    usd = [price.usd_per_hour for _, price in candidates]
    assert usd == sorted(usd)
    assert all(price.region == "us-east-1" for _, price in candidates)
    assert all(price.estimated for _, price in book.candidates("ap-south-1"))


# --- serverless ------------------------------------------------------------------------------


def test_serverless_cost_is_linear_in_memory(book: PriceBook) -> None:
    assert SERVERLESS_USD_PER_GB_SECOND == 0.00002
    assert DATA_PROCESSED_USD_PER_GB == 0.016
    assert book.serverless_monthly(1024, 1.0) == pytest.approx(0.00002)
    assert book.serverless_monthly(6144, 1.0) == pytest.approx(0.00012)
    for memory_mb in range(1024, 6145, 1024):
        assert book.serverless_monthly(memory_mb, 100_000) == pytest.approx(
            memory_mb / 1024 * 0.00002 * 100_000)
    assert book.serverless_monthly(2048, 1000, gb_processed_per_month=10) == pytest.approx(
        2 * 0.00002 * 1000 + 10 * 0.016)
    assert book.serverless_monthly(3072, 0) == 0
    assert "sm-serverless-benchmarking" in book.serverless_source


def test_serverless_cost_refuses_negative_inputs(book: PriceBook) -> None:
    with pytest.raises(ValueError, match="memory must be positive"):
        book.serverless_monthly(0, 10)
    with pytest.raises(ValueError):
        book.serverless_monthly(2048, -1)


# --- the cache -------------------------------------------------------------------------------


def test_default_cache_dir_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c" / "sagetop"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "sagetop"


def test_missing_cache_is_silent(tmp_path: Path) -> None:
    book = PriceBook.load(tmp_path)
    assert book.warnings == []
    assert book.refreshed_regions == ()


@pytest.mark.parametrize(("content", "problem"), [
    ("{not json", "not valid JSON"),
    ('{"format": 1, "source": "x", "fetched_at": "2026-01-01T00:00:00Z", "regions": '
     '{"us-east-1": {"fetched_at": "2026-01-01T00:00:00Z", "usd_per_hour": '
     '{"ml.c5.xlarge": -1}}}}',
     "regions.us-east-1.usd_per_hour.ml.c5.xlarge: expected a number greater than 0, got -1"),
    ('{"format": 7, "source": "x", "fetched_at": "2026-01-01T00:00:00Z", "regions": {}}',
     "format: expected 1, got 7"),
    ("[]", "(top level)"),
])
def test_invalid_cache_is_ignored_with_a_warning(tmp_path: Path, content: str,
                                                 problem: str) -> None:
    path = tmp_path / "prices.json"
    path.write_text(content)
    book = PriceBook.load(tmp_path)
    assert len(book.warnings) == 1
    assert book.warnings[0].startswith(f"{path}: ")
    assert problem in book.warnings[0]
    assert book.warnings[0].endswith(
        "; ignored, using the bundled prices (`sagetop prices refresh` rebuilds it)")
    assert book.hourly("ml.c5.xlarge", "us-east-1") is not None  # bundled still works


# --- refresh through the real client ---------------------------------------------------------


def product(instance: str, region: str, usd: str, *, component: str | None = "Hosting",
            plato: str | None = None, unit: str = "Hrs", location_type: str = "AWS Region",
            description: str = "", **specs: str) -> str:
    attributes = {"regionCode": region, "instanceName": instance, "locationType": location_type,
                  "instanceType": f"{instance}-{component or plato}", "vCpu": "4", **specs}
    if component is not None:
        attributes["component"] = component
    if plato is not None:
        attributes["platoinstancetype"] = plato
    sku = f"SKU{abs(hash((instance, region, usd, component, plato, unit))) % 10**8}"
    return json.dumps({
        "product": {"productFamily": "ML Instance", "sku": sku, "attributes": attributes},
        "serviceCode": "AmazonSageMaker",
        "terms": {"OnDemand": {f"{sku}.JRTCKXETXF": {
            "offerTermCode": "JRTCKXETXF", "sku": sku,
            "priceDimensions": {f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                "unit": unit, "pricePerUnit": {"USD": usd}, "description": description,
                "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT7"}}}}},
        "version": "20260101000000", "publicationDate": "2026-01-01T00:00:00Z",
    })


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read(self) -> bytes:
        return self._data


@dataclass
class FakePriceList:
    """GetProducts answered from `items`, filtered by TERM_MATCH as AWS does, 2 items a page."""

    items: list[str]
    deny: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def install(self, session: AioSession) -> None:
        session.register("before-send.pricing.GetProducts", self.answer)

    def _matches(self, raw: str, filters: list[dict[str, str]]) -> bool:
        item = json.loads(raw)["product"]
        values = {**item["attributes"], "productFamily": item["productFamily"]}
        return all(values.get(f["Field"]) == f["Value"]
                   for f in filters if f["Type"] == "TERM_MATCH")

    def answer(self, request: Any, **_: Any) -> AioAWSResponse:
        params = json.loads(request.body)
        self.requests.append(params)
        self.urls.append(request.url)
        if self.deny:
            return self._respond(400, {"__type": "AccessDeniedException",
                                       "Message": "not authorized to perform pricing:GetProducts"})
        found = [raw for raw in self.items if not raw.startswith("{")
                 or self._matches(raw, params["Filters"])]
        start = int(params.get("NextToken", "0"))
        page: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": found[start:start + 2]}
        if start + 2 < len(found):
            page["NextToken"] = str(start + 2)
        return self._respond(200, page)

    def _respond(self, status: int, body: dict[str, Any]) -> AioAWSResponse:
        headers = HeadersDict({"content-type": "application/x-amz-json-1.1",
                               "x-amzn-requestid": "fake-request"})
        return AioAWSResponse("https://api.pricing.us-east-1.amazonaws.com/", status, headers,
                              _Body(json.dumps(body).encode()))


US_EAST_1 = [
    product("ml.c5.xlarge", "us-east-1", "0.2040000000"),
    product("ml.m5.2xlarge", "us-east-1", "0.4610000000"),
    product("ml.m6i.xlarge", "us-east-1", "0.2420000000"),
    product("ml.c5.xlarge", "us-east-1", "0.0000000000"),  # free-tier style row: no price
    product("ml.r5.large", "us-east-1", "0.1490000000", location_type="AWS Outposts"),
    product("ml.g5.xlarge", "us-east-1", "0.1000000000", unit="GB-Mo",
            description="storage"),
    "not a JSON document",
]
# eu-west-1 SKUs carry only `platoinstancetype`: the first query (by `component`) finds nothing.
EU_WEST_1 = [
    product("ml.c5.xlarge", "eu-west-1", "0.2290000000", component=None, plato="Hosting"),
    product("ml.c5.2xlarge", "eu-west-1", "0.4580000000", component=None, plato="Hosting"),
]


@pytest.fixture
def fake() -> Iterator[FakePriceList]:
    yield FakePriceList(items=US_EAST_1 + EU_WEST_1)


async def run_refresh(fake: FakePriceList, regions: list[str], cache_dir: Path) -> Any:
    target = AwsTarget(regions=("eu-west-1",), prepare_session=fake.install)
    async with AwsContext(AwsSettings(), target) as aws:
        return await refresh_prices(aws, regions, cache_dir=cache_dir)


async def test_refresh_writes_the_cache_and_the_book_prefers_it(
    fake: FakePriceList, tmp_path: Path
) -> None:
    result = await run_refresh(fake, ["us-east-1", "eu-west-1"], tmp_path)

    assert result.path == tmp_path / "prices.json"
    assert result.regions == ("us-east-1", "eu-west-1")
    assert result.prices_by_region == {"us-east-1": 3, "eu-west-1": 2}
    assert any("1 price list item(s) not understood" in w for w in result.warnings)
    # The client talks to the Price List API in us-east-1 whatever region is watched, pages
    # through NextToken, and asks for real-time hosting instances of the region.
    assert all("api.pricing.us-east-1.amazonaws.com" in url for url in fake.urls)
    first = fake.requests[0]
    assert first["ServiceCode"] == "AmazonSageMaker"
    assert {(f["Field"], f["Value"]) for f in first["Filters"]} == {
        ("productFamily", "ML Instance"), ("regionCode", "us-east-1"), ("component", "Hosting")}
    assert any(r.get("NextToken") for r in fake.requests)
    eu_fields = [{f["Field"] for f in r["Filters"]} for r in fake.requests
                 if {"Field": "regionCode", "Type": "TERM_MATCH", "Value": "eu-west-1"}
                 in r["Filters"]]
    assert any("platoinstancetype" in fields for fields in eu_fields)

    cache = json.loads(result.path.read_text())
    assert cache["source"].startswith("AWS Price List Query API")
    assert cache["regions"]["us-east-1"]["usd_per_hour"] == {
        "ml.c5.xlarge": 0.204, "ml.m5.2xlarge": 0.461, "ml.m6i.xlarge": 0.242}
    assert cache["regions"]["eu-west-1"]["usd_per_hour"] == {
        "ml.c5.xlarge": 0.229, "ml.c5.2xlarge": 0.458}
    assert "fetched_at" in cache

    book = PriceBook.load(tmp_path)
    assert book.warnings == []
    assert book.refreshed_regions == ("eu-west-1", "us-east-1")
    assert "AWS Price List Query API" in book.source
    day = f"{result.fetched_at:%Y-%m-%d}"
    eu = book.hourly("ml.c5.xlarge", "eu-west-1")
    assert eu == Price(instance_type="ml.c5.xlarge", region="eu-west-1", usd_per_hour=0.229,
                       source=f"AWS Price List API, eu-west-1, {day}")
    m6i = book.hourly("ml.m6i.xlarge", "us-east-1")  # unknown in the bundle, now listed
    assert m6i is not None and m6i.usd_per_hour == 0.242 and not m6i.estimated
    m5 = book.hourly("ml.m5.2xlarge", "us-east-1")  # listed beats estimated
    assert m5 is not None and m5.usd_per_hour == 0.461 and not m5.estimated
    # Estimates inside a refreshed region use that region's prices.
    eu_4x = book.hourly("ml.c5.4xlarge", "eu-west-1")
    assert eu_4x is not None and eu_4x.estimated and eu_4x.usd_per_hour == pytest.approx(0.916)
    # A type the refreshed region does not list falls back to us-east-1, labelled.
    eu_g5 = book.hourly("ml.g5.xlarge", "eu-west-1")
    assert eu_g5 is not None and eu_g5.estimated
    assert eu_g5.source.startswith(
        "us-east-1 price used for eu-west-1, not in its refreshed price list (")
    # A type missing from the refreshed us-east-1 list keeps its bundled price.
    g4 = book.hourly("ml.g4dn.xlarge", "us-east-1")
    assert g4 is not None and g4.usd_per_hour == 0.7364
    # Regions never refreshed still say so.
    ap = book.hourly("ml.c5.xlarge", "ap-south-1")
    assert ap is not None and ap.usd_per_hour == 0.204
    assert "`sagetop prices refresh --region ap-south-1` fetches" in ap.source


async def test_refresh_of_one_region_keeps_the_others(fake: FakePriceList,
                                                      tmp_path: Path) -> None:
    await run_refresh(fake, ["us-east-1"], tmp_path)
    fake.items = [product("ml.c5.xlarge", "eu-west-1", "0.2300000000")]
    await run_refresh(fake, ["eu-west-1"], tmp_path)
    cache = json.loads((tmp_path / "prices.json").read_text())
    assert sorted(cache["regions"]) == ["eu-west-1", "us-east-1"]
    assert cache["regions"]["us-east-1"]["usd_per_hour"]["ml.c5.xlarge"] == 0.204


async def test_refresh_with_nothing_found_leaves_the_cache(fake: FakePriceList,
                                                           tmp_path: Path) -> None:
    await run_refresh(fake, ["us-east-1"], tmp_path)
    before = (tmp_path / "prices.json").read_bytes()
    with pytest.raises(SagetopError, match=r"no SageMaker hosting prices returned for mars-1"):
        await run_refresh(fake, ["mars-1"], tmp_path)
    assert (tmp_path / "prices.json").read_bytes() == before
    result = await run_refresh(fake, ["mars-1", "eu-west-1"], tmp_path)
    assert result.regions == ("eu-west-1",)
    assert any(w.startswith("mars-1: no SageMaker hosting prices") for w in result.warnings)


async def test_refresh_denied_is_one_line(fake: FakePriceList, tmp_path: Path) -> None:
    fake.deny = True
    with pytest.raises(SagetopError) as raised:
        await run_refresh(fake, ["us-east-1"], tmp_path)
    assert str(raised.value) == "price refresh for us-east-1: no permission for pricing:GetProducts"
    assert not (tmp_path / "prices.json").exists()


async def test_refresh_replaces_a_corrupt_cache(fake: FakePriceList, tmp_path: Path) -> None:
    (tmp_path / "prices.json").write_text("{broken")
    result = await run_refresh(fake, ["us-east-1"], tmp_path)
    assert any(w.endswith("not valid JSON; replaced") for w in result.warnings)
    assert PriceBook.load(tmp_path).warnings == []


# --- specs of types newer than the bundled catalogue -------------------------------------------

NEW_TYPES = [
    # Attribute spellings as the Price List writes them (aws-facts 6.2): "16 GiB", "N/A".
    product("ml.c9i.xlarge", "us-east-1", "0.2100000000", vCpu="4", memory="8 GiB",
            gpu="N/A", gpuMemory="N/A"),
    product("ml.inf3.xlarge", "us-east-1", "0.9000000000", vCpu="4", memory="16 GiB",
            gpu="1", gpuMemory="64 GiB"),
    product("ml.g6e.96xlarge", "us-east-1", "80.0000000000", vCpu="384", memory="3072 GiB",
            gpu="16", gpuMemory="48 GiB"),
    product("ml.x9q.2xlarge", "us-east-1", "3.0000000000", vCpu="8", memory="64 GiB",
            physicalGpu="2"),
    product("ml.c5.xlarge", "us-east-1", "0.2040000000", vCpu="99", memory="1 GiB"),
    product("ml.y1.large", "us-east-1", "0.1000000000", memory="N/A"),  # no usable specs
]


async def test_refresh_fills_specs_of_new_types_and_the_catalogue_overlays_them(
    tmp_path: Path
) -> None:
    """Types newer than the bundle are sized from the Price List's attributes, not unknown;
    an accelerator family the catalogue cannot name stays unknown, never a CPU type."""
    cache_dir = default_cache_dir()  # the catalogue overlays the default cache (XDG per test)
    assert spec_for("ml.inf3.xlarge") is None
    result = await run_refresh(FakePriceList(items=NEW_TYPES), ["us-east-1"], cache_dir)
    assert result.new_types == ("ml.c9i.xlarge", "ml.g6e.96xlarge", "ml.inf3.xlarge",
                                "ml.x9q.2xlarge")
    cache = json.loads((cache_dir / "prices.json").read_text())
    assert "ml.c5.xlarge" not in cache["specs"]  # the bundled row wins

    cpu = spec_for("ml.c9i.xlarge")
    assert cpu is not None and (cpu.vcpu, cpu.memory_gib) == (4, 8.0)
    assert cpu.accelerator is AcceleratorKind.NONE and cpu.source.startswith(
        "spec:AWS Price List API (us-east-1, fetched ")
    inf3 = spec_for("ml.inf3.xlarge")
    assert inf3 is not None and inf3.accelerator is AcceleratorKind.INFERENTIA
    assert (inf3.gpu_count, inf3.gpu_model, inf3.gpu_memory_gib, inf3.generation) == (
        1, "Inferentia3", 64.0, 3)
    g6e = spec_for("ml.g6e.96xlarge")
    # Per device or per instance? The attribute does not say: unknown beats a guess.
    assert g6e is not None and (g6e.accelerator, g6e.gpu_count, g6e.gpu_model) == (
        AcceleratorKind.NVIDIA, 16, "L40S") and g6e.gpu_memory_gib is None
    unnamed = spec_for("ml.x9q.2xlarge")
    assert unnamed is not None and unnamed.accelerator is AcceleratorKind.UNKNOWN
    assert unnamed.has_accelerator and not unnamed.has_gpu
    assert spec_for("ml.c5.xlarge") == bundled_specs()["ml.c5.xlarge"]
    assert spec_for("ml.y1.large") is None
    assert "ml.inf3.xlarge" in instance_specs()

    book = PriceBook.load(cache_dir)
    assert "ml.c9i.xlarge" in [spec.instance_type for spec, _ in book.candidates("us-east-1")]
    price = book.hourly("ml.inf3.xlarge", "us-east-1")
    assert price is not None and price.usd_per_hour == 0.9


def test_cached_specs_of_bundled_types_are_ignored() -> None:
    path = default_cache_dir() / "prices.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({
        "format": 1, "source": "x", "fetched_at": "2026-01-01T00:00:00Z", "regions": {},
        "specs": {"ml.g5.12xlarge": {"vcpu": 2, "memory_gib": 4, "region": "us-east-1",
                                     "fetched_at": "2026-01-01T00:00:00Z"}}}))
    forget_refreshed_specs()
    assert PriceBook.load(default_cache_dir()).warnings == []
    spec = spec_for("ml.g5.12xlarge")
    assert spec is not None and (spec.vcpu, spec.gpu_count) == (48, 4)
