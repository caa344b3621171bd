"""The endpoint inventory of one region: what exists, how it is configured, tagged and scaled.

ListEndpoints runs every inventory refresh; DescribeEndpoint, DescribeEndpointConfig and
DescribeModel run only for endpoints that are new or whose LastModifiedTime, status or creation
time changed. Inference components are handled the same way: one ListInferenceComponents listing
of the region per refresh, DescribeInferenceComponent only for new or changed components.
Endpoint configs and models are immutable, but only until they are deleted: AWS lets a new one be
created under the same name, so a name is no key across passes. Within one pass each config and
model is described once however many endpoints share it; an endpoint that changed gets its config
and models described again. Tags and Application Auto Scaling change without touching the
endpoint, so they refresh on their own, slower cadence.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pydantic import ValidationError

from collectors.aws import AwsContext
from collectors.concurrency import AdaptiveLimiter, ConcurrencyController
from collectors.failures import (
    ACCESS_DENIED,
    RECOVERABLE,
    UnreadableAnswer,
    collector_error,
    error_code,
    is_transient,
)
from collectors.guardrails import parse_deployment_config
from collectors.state import InventoryState, StoredComponent, StoredEndpoint
from ground.config import RefreshSettings
from ground.domain import (
    AsyncSettings,
    AutoscalingInfo,
    CollectorError,
    ComponentResources,
    ContainerInfo,
    DataCaptureInfo,
    DeploymentOption,
    EndpointSnapshot,
    InferenceComponentSnapshot,
    ManagedInstanceScaling,
    ModelInfo,
    ScalingPolicyInfo,
    ServerlessSettings,
    VariantSnapshot,
)

VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
TAGGING = "resourcegroupstaggingapi"  # botocore's name of the Resource Groups Tagging API
TAGGING_ARNS_PER_CALL = 100  # GetResources' ResourceARNList: 1 to 100 ARNs
# Up to this many endpoints' tags are read one ListTags call each (a warm start's few changed
# endpoints); more, by GetResources.
TAGS_ONE_BY_ONE_MAX = 3


@dataclass
class _Described:
    last_modified: dt.datetime
    status: str
    endpoint: EndpointSnapshot
    created: dt.datetime | None = None  # a deleted and re-created endpoint has a new one


class _ComponentsKnown:
    """When each endpoint's inference components are known in this pass.

    The listing says which endpoints host components; an endpoint that hosts none (or only
    unchanged ones) is known once the listing is, the others once their changed components are
    described. Its metrics can be planned then, while the rest of the region's components are
    still being described: without them an inference-component endpoint would be planned as
    having none.
    """

    def __init__(self) -> None:
        self.listed = asyncio.Event()
        self._pending: dict[str, int] = {}
        self._described: dict[str, asyncio.Event] = {}

    def expect(self, endpoint: str) -> None:
        self._pending[endpoint] = self._pending.get(endpoint, 0) + 1
        self._described.setdefault(endpoint, asyncio.Event())

    def described(self, endpoint: str) -> None:
        self._pending[endpoint] -= 1
        if self._pending[endpoint] <= 0:
            self._described[endpoint].set()

    def release(self) -> None:
        """Whatever happened to the listing or the describes, nobody waits any longer."""
        self.listed.set()
        for event in self._described.values():
            event.set()

    async def wait(self, endpoint: str) -> None:
        await self.listed.wait()
        if (event := self._described.get(endpoint)) is not None:
            await event.wait()


@dataclass
class RegionInventory:
    """What one region's inventory pass produced."""

    endpoints: list[EndpointSnapshot] = field(default_factory=list)
    errors: list[CollectorError] = field(default_factory=list)
    described: int = 0  # endpoints described this pass (new or changed)
    complete: bool = True  # False when ListEndpoints itself failed


def variant_resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def component_resource_id(component: str) -> str:
    """Application Auto Scaling's resource id of an inference component (DesiredCopyCount)."""
    return f"inference-component/{component}"


@dataclass
class _DescribedComponent:
    last_modified: dt.datetime
    status: str
    component: InferenceComponentSnapshot


def parse_component(raw: dict[str, Any], models: dict[str, ModelInfo]
                    ) -> InferenceComponentSnapshot:
    """DescribeInferenceComponent's answer as a snapshot (the model joined when described)."""
    spec = raw.get("Specification") or {}
    container = spec.get("Container") or {}
    deployed = container.get("DeployedImage") or {}
    compute = spec.get("ComputeResourceRequirements") or {}
    runtime = raw.get("RuntimeConfig") or {}
    model = models.get(spec.get("ModelName") or "")
    image = deployed.get("SpecifiedImage") or deployed.get("ResolvedImage") or (
        model.containers[0].image if model and model.containers else None)
    cores = compute.get("NumberOfCpuCoresRequired")
    return InferenceComponentSnapshot(
        name=raw["InferenceComponentName"],
        arn=raw["InferenceComponentArn"],
        variant=raw["VariantName"],
        status=raw["InferenceComponentStatus"],
        creation_time=raw["CreationTime"],
        last_modified_time=raw["LastModifiedTime"],
        model_name=spec.get("ModelName"),
        image=image,
        model=model,
        base_component=spec.get("BaseInferenceComponentName"),
        resources=ComponentResources(
            accelerators=compute.get("NumberOfAcceleratorDevicesRequired"),
            cpu_cores=None if cores is None else float(cores),
            min_memory_mb=compute.get("MinMemoryRequiredInMb"),
            max_memory_mb=compute.get("MaxMemoryRequiredInMb")),
        desired_copies=int(runtime.get("DesiredCopyCount", 0)),
        current_copies=int(runtime.get("CurrentCopyCount", 0)),
        failure_reason=raw.get("FailureReason"),
    )


def _managed_scaling(raw: dict[str, Any] | None) -> ManagedInstanceScaling | None:
    if not raw:
        return None
    return ManagedInstanceScaling(
        enabled=raw.get("Status") == "ENABLED",
        min_instances=raw.get("MinInstanceCount"),
        max_instances=raw.get("MaxInstanceCount"),
        scale_in_strategy=(raw.get("ScaleInPolicy") or {}).get("Strategy"))


def parse_model(raw: dict[str, Any]) -> ModelInfo:
    containers_raw = raw.get("Containers") or ([raw["PrimaryContainer"]]
                                               if raw.get("PrimaryContainer") else [])
    containers = tuple(
        ContainerInfo(
            image=c.get("Image", ""),
            hostname=c.get("ContainerHostname"),
            mode=c.get("Mode", "SingleModel"),
            model_data_url=c.get("ModelDataUrl")
            or (c.get("ModelDataSource", {}).get("S3DataSource", {}).get("S3Uri")),
            environment_keys=tuple(sorted((c.get("Environment") or {}).keys())),
            repository_access_mode=(c.get("ImageConfig") or {}).get(
                "RepositoryAccessMode", "Platform"),
            model_package_name=c.get("ModelPackageName"),
        )
        for c in containers_raw
    )
    vpc = raw.get("VpcConfig") or {}
    return ModelInfo(
        name=raw["ModelName"],
        containers=containers,
        inference_mode=(raw.get("InferenceExecutionConfig") or {}).get("Mode"),
        vpc=bool(vpc.get("Subnets")),
        network_isolation=bool(raw.get("EnableNetworkIsolation", False)),
        creation_time=raw.get("CreationTime"),
        execution_role_arn=raw.get("ExecutionRoleArn"),
    )


def classify(endpoint: dict[str, Any], config: dict[str, Any],
             models: dict[str, ModelInfo]) -> DeploymentOption:
    """Tell the deployment option apart from the configuration (the listing does not say)."""
    if endpoint.get("AsyncInferenceConfig") or config.get("AsyncInferenceConfig"):
        return DeploymentOption.ASYNC
    variants = config.get("ProductionVariants", [])
    summaries = endpoint.get("ProductionVariants", [])
    if any(v.get("ServerlessConfig") for v in variants) or any(
        s.get("CurrentServerlessConfig") for s in summaries
    ):
        return DeploymentOption.SERVERLESS
    if variants and all(not v.get("ModelName") for v in variants):
        return DeploymentOption.INFERENCE_COMPONENTS
    used = [models[v["ModelName"]] for v in variants if v.get("ModelName") in models]
    if any(c.mode == "MultiModel" for m in used for c in m.containers):
        return DeploymentOption.MULTI_MODEL
    if any(len(m.containers) > 1 for m in used):
        return DeploymentOption.MULTI_CONTAINER
    return DeploymentOption.REAL_TIME


def _serverless(raw: dict[str, Any] | None) -> ServerlessSettings | None:
    if not raw:
        return None
    return ServerlessSettings(
        memory_mb=raw["MemorySizeInMB"],
        max_concurrency=raw["MaxConcurrency"],
        provisioned_concurrency=raw.get("ProvisionedConcurrency"),
    )


def build_endpoint(region: str, endpoint: dict[str, Any], config: dict[str, Any],
                   models: dict[str, ModelInfo]) -> EndpointSnapshot:
    # The instance type is only in the endpoint config; the live counts only in the endpoint.
    summaries = {s["VariantName"]: s for s in endpoint.get("ProductionVariants", [])}
    shadow_summaries = {s["VariantName"]: s for s in endpoint.get("ShadowProductionVariants", [])}
    variants: list[VariantSnapshot] = []
    for shadow, configured in (
        (False, config.get("ProductionVariants", [])),
        (True, config.get("ShadowProductionVariants", [])),
    ):
        for v in configured:
            live = (shadow_summaries if shadow else summaries).get(v["VariantName"], {})
            serverless = _serverless(
                live.get("CurrentServerlessConfig") or v.get("ServerlessConfig"))
            count_default = 0 if serverless else v.get("InitialInstanceCount", 0)
            variants.append(VariantSnapshot(
                name=v["VariantName"],
                model_name=v.get("ModelName"),
                instance_type=None if serverless else v.get("InstanceType"),
                current_instance_count=live.get("CurrentInstanceCount", count_default),
                desired_instance_count=live.get("DesiredInstanceCount", count_default),
                serverless=serverless,
                weight=float(live.get("CurrentWeight", v.get("InitialVariantWeight", 1.0))),
                volume_size_gb=v.get("VolumeSizeInGB"),
                shadow=shadow,
                model=models.get(v.get("ModelName") or ""),
                managed_instance_scaling=_managed_scaling(
                    live.get("ManagedInstanceScaling") or v.get("ManagedInstanceScaling")),
                routing_strategy=(live.get("RoutingConfig") or v.get("RoutingConfig")
                                  or {}).get("RoutingStrategy"),
            ))
    capture = endpoint.get("DataCaptureConfig") or config.get("DataCaptureConfig") or {}
    async_raw = endpoint.get("AsyncInferenceConfig") or config.get("AsyncInferenceConfig")
    async_settings = None
    if async_raw:
        async_settings = AsyncSettings(
            max_concurrent_invocations_per_instance=(async_raw.get("ClientConfig") or {}).get(
                "MaxConcurrentInvocationsPerInstance"),
            s3_output_path=(async_raw.get("OutputConfig") or {}).get("S3OutputPath"),
        )
    metrics_config = endpoint.get("MetricsConfig") or config.get("MetricsConfig") or {}
    return EndpointSnapshot(
        name=endpoint["EndpointName"],
        arn=endpoint["EndpointArn"],
        region=region,
        status=endpoint["EndpointStatus"],
        deployment=classify(endpoint, config, models),
        creation_time=endpoint["CreationTime"],
        last_modified_time=endpoint["LastModifiedTime"],
        config_name=endpoint.get("EndpointConfigName"),
        config_creation_time=config.get("CreationTime"),
        variants=tuple(variants),
        data_capture=DataCaptureInfo(
            enabled=bool(capture.get("EnableCapture", False)),
            sampling_percentage=capture.get("CurrentSamplingPercentage",
                                            capture.get("InitialSamplingPercentage")),
            destination_s3_uri=capture.get("DestinationS3Uri"),
        ),
        async_settings=async_settings,
        kms_key_id=config.get("KmsKeyId"),
        failure_reason=endpoint.get("FailureReason"),
        metric_publish_frequency_s=int(metrics_config.get("MetricPublishFrequencyInSeconds", 60)),
        deployment_config=parse_deployment_config(endpoint.get("LastDeploymentConfig")),
    )


class InventoryCollector:
    """Keeps one region's inventory, asking AWS only for what changed."""

    def __init__(self, aws: AwsContext, region: str, refresh: RefreshSettings) -> None:
        self.aws = aws
        self.region = region
        self.refresh = refresh
        self._described: dict[str, _Described] = {}
        self._configs: dict[str, dict[str, Any]] = {}
        self._models: dict[str, ModelInfo] = {}
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._tags: dict[str, dict[str, str]] = {}
        self._autoscaling: dict[str, AutoscalingInfo] = {}
        self._model_sizes: dict[str, int | None] = {}  # model artefact URL -> bytes (S3 HEAD)
        self._config_history: dict[str, tuple[dt.datetime, ...]] = {}
        self._settings_fetched_at: dt.datetime | None = None
        self._listed: list[str] = []
        self._components: dict[str, _DescribedComponent] = {}
        self._components_by_endpoint: dict[str, tuple[str, ...]] = {}
        # Describe, ListTags and HeadObject calls in flight: adapts to SageMaker's throttling
        # in this region of this account (its quota), from describe_concurrency up to the max.
        self._semaphore = AdaptiveLimiter(ConcurrencyController(
            aws.settings.describe_concurrency, aws.settings.describe_concurrency_max))
        self._semaphore.install(aws.session, "sagemaker", region)
        # HeadObject calls: S3's quotas are S3's (thousands per second per prefix), not
        # SageMaker's, so they have their own limit, and start as soon as a model is described.
        self._sizing_limiter = AdaptiveLimiter(ConcurrencyController(
            aws.settings.describe_concurrency, aws.settings.describe_concurrency_max))
        self._sizing_limiter.install(aws.session, "s3", region)
        self._sizing: dict[str, asyncio.Task[None]] = {}  # artefact URL -> its HEAD in flight
        self._sizing_denied: list[BaseException] = []
        self._tagging_refused = False  # GetResources denied: ListTags per endpoint from then on

    def export_state(self) -> InventoryState:
        """What a warm start restores (the state store keeps it)."""
        return InventoryState(
            endpoints=tuple(StoredEndpoint(d.endpoint, d.status, d.last_modified, d.created)
                            for d in self._described.values()),
            components=tuple(StoredComponent(d.component, d.status, d.last_modified)
                             for d in self._components.values()),
            listed=tuple(self._listed), components_by_endpoint=dict(self._components_by_endpoint),
            tags=dict(self._tags), autoscaling=dict(self._autoscaling),
            config_history=dict(self._config_history), model_sizes=dict(self._model_sizes),
            settings_fetched_at=self._settings_fetched_at)

    def restore_state(self, state: InventoryState) -> None:
        """Before the first pass: the next listing then describes only what changed since."""
        self._described = {s.endpoint.name: _Described(s.last_modified, s.status, s.endpoint,
                                                       s.created) for s in state.endpoints}
        self._components = {c.component.name: _DescribedComponent(c.last_modified, c.status,
                                                                  c.component)
                            for c in state.components}
        self._listed = [n for n in state.listed if n in self._described]
        self._components_by_endpoint = dict(state.components_by_endpoint)
        self._tags = dict(state.tags)
        self._autoscaling = dict(state.autoscaling)
        self._config_history = dict(state.config_history)
        self._model_sizes = dict(state.model_sizes)
        self._settings_fetched_at = state.settings_fetched_at

    async def list_endpoints(self) -> list[dict[str, Any]]:
        """ListEndpoints alone: enough for the first rows on screen while the rest loads."""
        sagemaker = await self.aws.client("sagemaker", self.region)
        return await self._list_endpoints(sagemaker)

    def listed_snapshot(self, summary: dict[str, Any]) -> EndpointSnapshot:
        """What a listing says about an endpoint, until its describe arrives."""
        cached = self._described.get(summary["EndpointName"])
        if cached is not None and cached.created == summary["CreationTime"]:
            shown = self._with_settings(cached.endpoint)
            if (cached.last_modified, cached.status) == (summary["LastModifiedTime"],
                                                         summary["EndpointStatus"]):
                return shown
            # Changed since it was described (a warm start's stored one): the listing's status
            # until the describe arrives.
            return shown.model_copy(update={"status": summary["EndpointStatus"],
                                            "last_modified_time": summary["LastModifiedTime"]})
        return EndpointSnapshot(
            name=summary["EndpointName"], arn=summary["EndpointArn"], region=self.region,
            status=summary["EndpointStatus"], deployment=DeploymentOption.REAL_TIME,
            creation_time=summary["CreationTime"], last_modified_time=summary["LastModifiedTime"],
            described=False, account=self.aws.target.account)

    async def collect(self, now: dt.datetime,
                      summaries: list[dict[str, Any]] | None = None,
                      on_described: Callable[[EndpointSnapshot], None] | None = None
                      ) -> RegionInventory:
        """The region's endpoints, described where new or changed; `summaries` if just listed.

        `on_described` is told of each endpoint as soon as it is known (described now, or
        unchanged since its last describe) with its inference components, so that its metrics
        can be asked while the rest of the region is still being described. Its tags, scaling
        and artefact sizes may still be on their way then: the pass's result has them.
        """
        result = RegionInventory()
        sagemaker = await self.aws.client("sagemaker", self.region)
        try:
            if summaries is None:
                summaries = await self._list_endpoints(sagemaker)
        except RECOVERABLE as exc:
            # Keep the last inventory: one failing call must not blank the fleet.
            result.errors.append(collector_error(exc, "inventory", self.region, "sagemaker",
                                                 "ListEndpoints", now))
            result.endpoints = self.current()
            result.complete = False
            return result

        listed = {s["EndpointName"]: s for s in summaries}
        for gone in set(self._described) - set(listed):
            del self._described[gone]
            self._tags.pop(gone, None)
        changed = [
            s for s in summaries
            if (cached := self._described.get(s["EndpointName"])) is None
            or cached.last_modified != s["LastModifiedTime"]
            or cached.status != s["EndpointStatus"]
            or cached.created != s["CreationTime"]
        ]
        # What changed is described afresh, configs and models included: their names may stand
        # for new ones now. The caches only share one describe among this pass's endpoints.
        self._configs.clear()
        self._models.clear()
        settings_due = self._settings_fetched_at is None or (
            now - self._settings_fetched_at
            >= dt.timedelta(minutes=self.refresh.tags_minutes)
        )
        changed_names = {s["EndpointName"] for s in changed}
        tag_arns = {n: s["EndpointArn"] for n, s in listed.items()
                    if settings_due or n in changed_names}
        # Describes, tags, scaling and config history do not depend on one another: in parallel.
        scaling_due = settings_due or bool(changed_names)
        # An endpoint is told of once its inference components are known too.
        components_known = _ComponentsKnown()

        async def components() -> bool:
            try:
                return await self._refresh_components(sagemaker, set(listed), result.errors, now,
                                                      components_known)
            finally:
                components_known.release()

        async def tell(name: str) -> None:
            if on_described is not None and name in self._described:
                await components_known.wait(name)
                if (cached := self._described.get(name)) is not None:
                    on_described(self._with_settings(cached.endpoint))

        async def describe(summary: dict[str, Any]) -> bool:
            described = await self._describe(sagemaker, summary, result.errors, now)
            if described:
                await tell(summary["EndpointName"])
            return described

        async def unchanged() -> None:
            for name in [n for n in listed if n not in changed_names]:
                await tell(name)

        parts: list[Awaitable[Any]] = [
            asyncio.gather(*(describe(s) for s in changed)),
            self._fetch_tags(sagemaker, tag_arns, result.errors, now),
            components(),
            unchanged(),
        ]
        if scaling_due:
            parts.append(self._fetch_autoscaling(result.errors, now))
        if settings_due:
            parts.append(self._fetch_config_history(result.errors, now, set(listed)))
        described, _, new_components, _, *_ = await asyncio.gather(*parts)
        if new_components and not scaling_due:
            # A new component's scalable target is needed now, or its copies would read as
            # not autoscaling until the next tags_minutes.
            await self._fetch_autoscaling(result.errors, now)
        result.described = sum(1 for d in described if d)
        if settings_due:
            self._settings_fetched_at = now
        if any(is_transient(e) for e in result.errors
               if e.source in ("tags", "autoscaling") or e.operation == "ListEndpointConfigs"):
            # Tags, scaling or history missed a passing failure: ask again at the next pass,
            # not a whole tags_minutes later (a new endpoint would show no tags until then).
            self._settings_fetched_at = None
        self._listed = list(listed)
        result.endpoints = self.current()
        return result

    def current(self) -> list[EndpointSnapshot]:
        """The last inventory with the latest tags, scaling, sizes and history applied."""
        return [self._with_settings(cached.endpoint) for name in self._listed
                if (cached := self._described.get(name)) is not None]

    async def collect_details(self, now: dt.datetime) -> list[CollectorError]:
        """Slow-changing details that need described models (artefact sizes): after the rest."""
        errors: list[CollectorError] = []
        await self._fetch_model_sizes(errors, now)
        return errors

    async def _list_endpoints(self, sagemaker: Any) -> list[dict[str, Any]]:
        paginator = sagemaker.get_paginator("list_endpoints")
        summaries: list[dict[str, Any]] = []
        async for page in paginator.paginate(PaginationConfig={"PageSize": 100}):
            endpoints = page.get("Endpoints")
            # Endpoints is required in every ListEndpoints answer: without it this is not one,
            # and reading it as "no endpoints" would empty the fleet.
            if not isinstance(endpoints, list) or not all(_is_summary(e) for e in endpoints):
                raise UnreadableAnswer(detail="ListEndpoints answer without its Endpoints list "
                                              "of names, ARNs, statuses and times")
            summaries.extend(endpoints)
        return summaries

    async def _describe(self, sagemaker: Any, summary: dict[str, Any],
                        errors: list[CollectorError], now: dt.datetime) -> bool:
        name = summary["EndpointName"]
        operation = "DescribeEndpoint"
        async with self._semaphore:
            try:
                endpoint = await sagemaker.describe_endpoint(EndpointName=name)
                config_name = endpoint.get("EndpointConfigName")
                config: dict[str, Any] = {}
                if config_name:
                    operation = "DescribeEndpointConfig"
                    config = await self._shared(self._configs, config_name, lambda: (
                        sagemaker.describe_endpoint_config(EndpointConfigName=config_name)))
                operation = "DescribeModel"
                for variant in [*config.get("ProductionVariants", []),
                                *config.get("ShadowProductionVariants", [])]:
                    model_name = variant.get("ModelName")
                    if model_name:
                        await self._shared(self._models, model_name,
                                           partial(_parsed_model, sagemaker, model_name))
                snapshot = build_endpoint(self.region, endpoint, config, self._models)
            except RECOVERABLE as exc:
                if _is_not_found(exc):
                    return False  # deleted between the listing and the describe: normal
                errors.append(collector_error(exc, "inventory", self.region, "sagemaker",
                                              operation, now))
                return False
            except (ValidationError, KeyError, TypeError, ValueError, AttributeError) as exc:
                errors.append(CollectorError(
                    source="inventory", region=self.region, operation=operation,
                    message=f"unexpected answer from {operation} for {name}: {_short(exc)}",
                    at=now))
                return False
        self._described[name] = _Described(summary["LastModifiedTime"],
                                           summary["EndpointStatus"], snapshot,
                                           summary["CreationTime"])
        self._size_soon(v.model for v in snapshot.variants)
        return True

    async def _shared(self, cache: dict[str, Any], name: str,
                      fetch: Callable[[], Awaitable[Any]]) -> Any:
        """Configs and models are immutable and shared: describe each once, even concurrently."""
        if name in cache:
            return cache[name]
        pending = self._pending.get(name)
        if pending is None:
            pending = self._pending[name] = asyncio.ensure_future(fetch())
        try:
            value = await asyncio.shield(pending)
        finally:
            if pending.done():
                self._pending.pop(name, None)
        cache[name] = value
        return value

    async def _fetch_tags(self, sagemaker: Any, arns: dict[str, str],
                          errors: list[CollectorError], now: dt.datetime) -> None:
        """Tags of `arns`' endpoints: the Resource Groups Tagging API answers 100 endpoints a
        call where ListTags answers one (a thousand calls at a 1,000-endpoint cold start, each
        against SageMaker's quota); ListTags where that API is refused, or for a few endpoints."""
        if len(arns) > TAGS_ONE_BY_ONE_MAX and not self._tagging_refused:
            try:
                await self._fetch_tags_by_arn_list(arns)
                return
            except RECOVERABLE as exc:
                if error_code(exc) not in ACCESS_DENIED:
                    errors.append(collector_error(exc, "tags", self.region, TAGGING,
                                                  "GetResources", now))
                    return
                # A policy written for ListTags alone: keep to it, without asking again.
                self._tagging_refused = True

        async def one(name: str) -> None:
            async with self._semaphore:
                tags: dict[str, str] = {}
                paginator = sagemaker.get_paginator("list_tags")
                async for page in paginator.paginate(ResourceArn=arns[name],
                                                     PaginationConfig={"PageSize": 100}):
                    tags.update(_tag_dict(page.get("Tags", [])))
            self._tags[name] = tags

        results = await asyncio.gather(*(one(n) for n in sorted(arns)), return_exceptions=True)
        # An endpoint deleted since the listing has no tags to read: normal, not a failure.
        failures = [r for r in results if isinstance(r, BaseException) and not _is_not_found(r)]
        if failures:
            errors.append(collector_error(failures[0], "tags", self.region, "sagemaker",
                                          "ListTags", now))

    async def _fetch_tags_by_arn_list(self, arns: dict[str, str]) -> None:
        """GetResources with ResourceARNList, 100 ARNs a call. An endpoint it does not return
        has no tags (or is gone): AWS lists only resources that are, or were, tagged."""
        tagging = await self.aws.client(TAGGING, self.region)
        # SageMaker writes endpoint names in ARNs in lower case; match either way.
        by_arn = {arn.lower(): name for name, arn in arns.items()}
        ordered = sorted(arns.values())
        found: dict[str, dict[str, str]] = {}

        async def chunk(part: list[str]) -> None:
            async with self._semaphore:
                answer = await tagging.get_resources(ResourceARNList=part)
            for mapping in answer.get("ResourceTagMappingList", []):
                name = by_arn.get(str(mapping.get("ResourceARN", "")).lower())
                if name is not None:
                    found[name] = _tag_dict(mapping.get("Tags", []))

        await asyncio.gather(*(chunk(ordered[i:i + TAGGING_ARNS_PER_CALL])
                               for i in range(0, len(ordered), TAGGING_ARNS_PER_CALL)))
        for name in arns:
            self._tags[name] = found.get(name, {})

    async def _fetch_autoscaling(self, errors: list[CollectorError], now: dt.datetime) -> None:
        operation = "DescribeScalableTargets"
        try:
            client = await self.aws.client("application-autoscaling", self.region)
            targets: dict[str, dict[str, Any]] = {}
            paginator = client.get_paginator("describe_scalable_targets")
            async for page in paginator.paginate(ServiceNamespace="sagemaker"):
                for target in page.get("ScalableTargets", []):
                    targets[target["ResourceId"]] = target
            policies: dict[str, list[ScalingPolicyInfo]] = {}
            operation = "DescribeScalingPolicies"
            paginator = client.get_paginator("describe_scaling_policies")
            async for page in paginator.paginate(ServiceNamespace="sagemaker"):
                for policy in page.get("ScalingPolicies", []):
                    policies.setdefault(policy["ResourceId"], []).append(_policy(policy))
        except RECOVERABLE as exc:
            errors.append(collector_error(exc, "autoscaling", self.region,
                                          "application-autoscaling", operation, now))
            return
        self._autoscaling = {
            resource_id: AutoscalingInfo(
                min_capacity=t["MinCapacity"],
                max_capacity=t["MaxCapacity"],
                scalable_dimension=t["ScalableDimension"],
                policies=tuple(policies.get(resource_id, [])),
                suspended=any((t.get("SuspendedState") or {}).values()),
            )
            for resource_id, t in targets.items()
        }

    def _with_settings(self, endpoint: EndpointSnapshot) -> EndpointSnapshot:
        variants = tuple(
            v.model_copy(update={
                "autoscaling": self._autoscaling.get(variant_resource_id(endpoint.name, v.name)),
                "model": self._sized(v.model)})
            for v in endpoint.variants
        )
        history = self._config_history.get(endpoint.name, ())
        if endpoint.config_creation_time and endpoint.config_creation_time not in history:
            history = tuple(sorted((*history, endpoint.config_creation_time), reverse=True))
        components = tuple(
            described.component.model_copy(update={
                "autoscaling": self._autoscaling.get(component_resource_id(name)),
                "model": self._sized(described.component.model)})
            for name in self._components_by_endpoint.get(endpoint.name, ())
            if (described := self._components.get(name)) is not None)
        update: dict[str, Any] = {"variants": variants, "tags": self._tags.get(endpoint.name, {}),
                                  "config_history": history, "inference_components": components,
                                  "account": self.aws.target.account}
        if components:
            # ListInferenceComponents is what says so (the config only hints: no ModelName).
            update["deployment"] = DeploymentOption.INFERENCE_COMPONENTS
        return endpoint.model_copy(update=update)

    async def _refresh_components(self, sagemaker: Any, endpoints: set[str],
                                  errors: list[CollectorError], now: dt.datetime,
                                  known: _ComponentsKnown) -> bool:
        """The region's inference components; True when one appeared that was not known.
        `known` is told when each endpoint's are."""
        try:
            summaries: list[dict[str, Any]] = []
            paginator = sagemaker.get_paginator("list_inference_components")
            async for page in paginator.paginate(PaginationConfig={"PageSize": 100}):
                summaries.extend(page.get("InferenceComponents", []))
        except RECOVERABLE as exc:
            # The last components known stay: without them a busy endpoint would look idle.
            errors.append(collector_error(exc, "inventory", self.region, "sagemaker",
                                          "ListInferenceComponents", now))
            return False
        listed = {s["InferenceComponentName"]: s for s in summaries
                  if s.get("EndpointName") in endpoints}
        for gone in set(self._components) - set(listed):
            del self._components[gone]
        changed = [
            s for name, s in listed.items()
            if (cached := self._components.get(name)) is None
            or cached.last_modified != s["LastModifiedTime"]
            or cached.status != s["InferenceComponentStatus"]
        ]
        new = any(s["InferenceComponentName"] not in self._components for s in changed)
        # Every listed name now (each is shown once described), only the described ones after.
        self._components_by_endpoint = self._hosted(listed, described_only=False)
        for summary in changed:
            known.expect(summary["EndpointName"])
        known.listed.set()

        async def describe(summary: dict[str, Any]) -> None:
            try:
                await self._describe_component(sagemaker, summary, errors, now)
            finally:
                known.described(summary["EndpointName"])

        await asyncio.gather(*(describe(s) for s in changed))
        self._components_by_endpoint = self._hosted(listed)
        return new

    def _hosted(self, listed: dict[str, dict[str, Any]], described_only: bool = True
                ) -> dict[str, tuple[str, ...]]:
        """Endpoint -> the names of its listed components (that are described)."""
        by_endpoint: dict[str, list[str]] = {}
        for name, summary in sorted(listed.items()):
            if name in self._components or not described_only:
                by_endpoint.setdefault(summary["EndpointName"], []).append(name)
        return {k: tuple(v) for k, v in by_endpoint.items()}

    async def _describe_component(self, sagemaker: Any, summary: dict[str, Any],
                                  errors: list[CollectorError], now: dt.datetime) -> None:
        name = summary["InferenceComponentName"]
        operation = "DescribeInferenceComponent"
        async with self._semaphore:
            try:
                raw = await sagemaker.describe_inference_component(InferenceComponentName=name)
                model_name = (raw.get("Specification") or {}).get("ModelName")
                if model_name:
                    operation = "DescribeModel"
                    await self._shared(self._models, model_name,
                                       partial(_parsed_model, sagemaker, model_name))
                component = parse_component(raw, self._models)
            except RECOVERABLE as exc:
                if not _is_not_found(exc):  # deleted since the listing: normal
                    errors.append(collector_error(exc, "inventory", self.region, "sagemaker",
                                                  operation, now))
                return
            except (ValidationError, KeyError, TypeError, ValueError) as exc:
                errors.append(CollectorError(
                    source="inventory", region=self.region, operation=operation,
                    message=f"unexpected answer from {operation} for {name}: {_short(exc)}",
                    at=now))
                return
        self._components[name] = _DescribedComponent(
            summary["LastModifiedTime"], summary["InferenceComponentStatus"], component)
        self._size_soon((component.model,))

    def _sized(self, model: ModelInfo | None) -> ModelInfo | None:
        if model is None:
            return None
        containers = tuple(
            c.model_copy(update={"model_bytes": self._model_sizes.get(c.model_data_url or "")})
            for c in model.containers)
        return model.model_copy(update={"containers": containers})

    def _size_soon(self, models: Iterable[ModelInfo | None]) -> None:
        """Start the S3 HEAD of each artefact not sized yet (a new model means a new URL)."""
        for model in models:
            for container in model.containers if model is not None else ():
                url = container.model_data_url
                if (url and url.endswith(".tar.gz") and url not in self._model_sizes
                        and url not in self._sizing):
                    self._sizing[url] = asyncio.create_task(self._head(url))

    async def _head(self, url: str) -> None:
        s3 = await self.aws.client("s3", self.region)
        bucket, _, key = url.removeprefix("s3://").partition("/")
        async with self._sizing_limiter:
            try:
                answer = await s3.head_object(Bucket=bucket, Key=key)
                self._model_sizes[url] = int(answer.get("ContentLength", 0))
            except RECOVERABLE as exc:
                self._model_sizes[url] = None  # unknown; not asked again this session
                if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
                    self._sizing_denied.append(exc)  # a moved artefact is no failure

    async def _fetch_model_sizes(self, errors: list[CollectorError], now: dt.datetime) -> None:
        """Model artefact sizes by S3 HEAD: those started as models were described, and any
        still unknown (restored models, say)."""
        # The models of the variants and of the inference components (theirs are the
        # components' own: an inference-component endpoint's variants name none).
        self._size_soon([*(v.model for d in self._described.values()
                           for v in d.endpoint.variants),
                         *(d.component.model for d in self._components.values())])
        sizing, self._sizing = self._sizing, {}
        try:
            await asyncio.gather(*sizing.values())
        except BaseException:
            for task in sizing.values():
                task.cancel()
            raise
        denied, self._sizing_denied = self._sizing_denied, []
        if denied:
            errors.append(collector_error(denied[0], "inventory", self.region, "s3",
                                          "HeadObject", now))

    async def _fetch_config_history(self, errors: list[CollectorError], now: dt.datetime,
                                    endpoint_names: set[str]) -> None:
        """Creation times of each endpoint's configs: how often the endpoint is updated.

        SageMaker does not link old configs to endpoints; teams name configs after the endpoint
        (`<endpoint>-<version or timestamp>`), so configs are matched by that prefix.
        """
        sagemaker = await self.aws.client("sagemaker", self.region)
        configs: list[tuple[str, dt.datetime]] = []
        try:
            paginator = sagemaker.get_paginator("list_endpoint_configs")
            async for page in paginator.paginate(PaginationConfig={"PageSize": 100}):
                configs.extend((c["EndpointConfigName"], c["CreationTime"])
                               for c in page.get("EndpointConfigs", []))
        except RECOVERABLE as exc:
            errors.append(collector_error(exc, "inventory", self.region, "sagemaker",
                                          "ListEndpointConfigs", now))
            return
        history: dict[str, list[dt.datetime]] = {}
        for config_name, created in configs:
            owner = config_owner(config_name, endpoint_names)
            if owner is not None:
                history.setdefault(owner, []).append(created)
        self._config_history = {n: tuple(sorted(t, reverse=True)) for n, t in history.items()}


def config_owner(config_name: str, endpoint_names: set[str]) -> str | None:
    """The endpoint a config is named after: the config's whole name, or its longest prefix
    that ends before a "-" (`<endpoint>-<version or timestamp>`). Looked up by prefix, not by
    scanning every endpoint for every config: thousands of each meet at a large fleet."""
    if config_name in endpoint_names:
        return config_name
    cut = config_name.rfind("-")
    while cut > 0:
        if config_name[:cut] in endpoint_names:
            return config_name[:cut]
        cut = config_name.rfind("-", 0, cut)
    return None


async def _parsed_model(sagemaker: Any, name: str) -> ModelInfo:
    return parse_model(await sagemaker.describe_model(ModelName=name))


def _tag_dict(tags: list[dict[str, Any]]) -> dict[str, str]:
    """AWS's Key/Value tag list (ListTags and GetResources share it) as a mapping."""
    return {str(t.get("Key", "")): str(t.get("Value", "")) for t in tags}


def _policy(raw: dict[str, Any]) -> ScalingPolicyInfo:
    tracking = raw.get("TargetTrackingScalingPolicyConfiguration") or {}
    metric = (tracking.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType") or (
        (tracking.get("CustomizedMetricSpecification") or {}).get("MetricName"))
    return ScalingPolicyInfo(
        name=raw.get("PolicyName", ""),
        policy_type=raw.get("PolicyType", ""),
        target_value=tracking.get("TargetValue"),
        metric=metric,
    )


def _is_not_found(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    error = response.get("Error", {})
    return error.get("Code") in ("ValidationException", "ResourceNotFound") and (
        "not find" in str(error.get("Message", "")).lower()
        or "not found" in str(error.get("Message", "")).lower())


_SUMMARY_FIELDS = (("EndpointName", str), ("EndpointArn", str), ("EndpointStatus", str),
                   ("CreationTime", dt.datetime), ("LastModifiedTime", dt.datetime))


def _is_summary(entry: Any) -> bool:
    return isinstance(entry, dict) and all(isinstance(entry.get(key), kind)
                                           for key, kind in _SUMMARY_FIELDS)


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200]
