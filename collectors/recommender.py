"""Inference Recommender jobs of one region, and which endpoint each one speaks for.

ListInferenceRecommendationsJobs runs on its own (slow) cadence. A job is described only when it
concerns a model the fleet deploys: by model name, by Model Registry package version, or, for a
model created just for the test, by the same container image and model artefact (its DescribeModel
tells). A finished job never changes, so it is described once (its benchmark steps too, for the
configurations that failed or were not recommended); a job still running is asked again.

Inference Recommender reports ModelLatency in milliseconds, unlike CloudWatch's microseconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from collectors.aws import AwsContext
from collectors.failures import RECOVERABLE, collector_error, error_code
from ground.domain import (
    CollectorError,
    EndpointSnapshot,
    InferenceRecommendation,
    RecommenderBenchmark,
    RecommenderJob,
    RecommenderMetrics,
    RecommenderState,
)

FINISHED = frozenset({"COMPLETED", "FAILED", "STOPPED"})
GONE = frozenset({"DELETING", "DELETED"})


@dataclass(frozen=True)
class _ModelIdentity:
    """What a job's model is, to match it with the fleet's models."""

    name: str | None
    package_arn: str | None
    image: str | None = None
    data_url: str | None = None


@dataclass
class RecommenderPass:
    jobs: list[RecommenderJob] = field(default_factory=list)
    errors: list[CollectorError] = field(default_factory=list)
    error: str | None = None  # the listing failed: shown on every endpoint of the region


@dataclass(frozen=True)
class _FleetModels:
    names: frozenset[str]
    packages: frozenset[str]
    artefacts: frozenset[tuple[str, str]]  # (image, model data URL)

    @classmethod
    def of(cls, endpoints: Iterable[EndpointSnapshot]) -> _FleetModels:
        names: set[str] = set()
        packages: set[str] = set()
        artefacts: set[tuple[str, str]] = set()
        for endpoint in endpoints:
            for variant in endpoint.variants:
                if variant.model_name:
                    names.add(variant.model_name)
                for container in variant.model.containers if variant.model else ():
                    if container.model_package_name:
                        packages.add(container.model_package_name)
                    if container.image and container.model_data_url:
                        artefacts.add((container.image, container.model_data_url))
        return cls(frozenset(names), frozenset(packages), frozenset(artefacts))

    def concerns(self, identity: _ModelIdentity) -> bool:
        return bool(
            (identity.name and identity.name in self.names)
            or (identity.package_arn and _package_matches(identity.package_arn, self.packages))
            or (identity.image and identity.data_url
                and (identity.image, identity.data_url) in self.artefacts))


def _package_matches(arn: str, packages: Iterable[str]) -> bool:
    # A container may name its package by versioned ARN or by name; the job always by ARN.
    return any(arn == p or arn.endswith(f"/{p}") for p in packages)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number  # AWS: "NaN indicates not available"


def _metrics(raw: dict[str, Any] | None) -> RecommenderMetrics:
    raw = raw or {}
    invocations = _number(raw.get("MaxInvocations"))
    return RecommenderMetrics(
        cost_per_hour_usd=_number(raw.get("CostPerHour")),
        cost_per_inference_usd=_number(raw.get("CostPerInference")),
        max_invocations_per_minute=None if invocations is None else int(invocations),
        model_latency_ms=_number(raw.get("ModelLatency")),
        cpu_utilisation_pct=_number(raw.get("CpuUtilization")),
        memory_utilisation_pct=_number(raw.get("MemoryUtilization")))


def _recommendation(raw: dict[str, Any]) -> InferenceRecommendation:
    config = raw.get("EndpointConfiguration") or {}
    serverless = config.get("ServerlessConfig") or {}
    environment = (raw.get("ModelConfiguration") or {}).get("EnvironmentParameters") or []
    return InferenceRecommendation(
        recommendation_id=raw.get("RecommendationId"),
        instance_type=config.get("InstanceType"),
        instance_count=config.get("InitialInstanceCount"),
        serverless_memory_mb=serverless.get("MemorySizeInMB"),
        serverless_max_concurrency=serverless.get("MaxConcurrency"),
        metrics=_metrics(raw.get("Metrics")),
        environment=tuple((str(e.get("Key", "")), str(e.get("Value", "")))
                          for e in environment))


def _benchmark(raw: dict[str, Any]) -> RecommenderBenchmark:
    bench = raw.get("InferenceBenchmark") or {}
    return RecommenderBenchmark(
        instance_type=(bench.get("EndpointConfiguration") or {}).get("InstanceType"),
        status=str(raw.get("Status", "UNKNOWN")),
        failure_reason=bench.get("FailureReason"),
        metrics=_metrics(bench.get("Metrics")))


def parse_job(region: str, summary: dict[str, Any], described: dict[str, Any] | None,
              identity: _ModelIdentity | None = None,
              steps: Iterable[dict[str, Any]] = ()) -> RecommenderJob:
    """A job from its listing summary and, once finished, its description and steps."""
    source = described or summary
    inputs = (described or {}).get("InputConfig") or {}
    container = inputs.get("ContainerConfig") or {}
    payload = container.get("PayloadConfig") or {}
    stopping = (described or {}).get("StoppingConditions") or {}
    thresholds = tuple((str(t.get("Percentile", "")), int(t["ValueInMilliseconds"]))
                       for t in stopping.get("ModelLatencyThresholds") or []
                       if t.get("ValueInMilliseconds") is not None)
    return RecommenderJob(
        name=source["JobName"], arn=source["JobArn"], region=region,
        job_type=str(source.get("JobType", "Default")), status=str(source["Status"]),
        created=source["CreationTime"], completed=source.get("CompletionTime"),
        failure_reason=source.get("FailureReason"),
        model_name=inputs.get("ModelName") or summary.get("ModelName"),
        model_package_version_arn=(inputs.get("ModelPackageVersionArn")
                                   or summary.get("ModelPackageVersionArn")),
        model_image=identity.image if identity else None,
        model_data_url=identity.data_url if identity else None,
        sample_payload_url=payload.get("SamplePayloadUrl") or summary.get("SamplePayloadUrl"),
        content_types=tuple(payload.get("SupportedContentTypes") or ()),
        endpoint_names=tuple(e["EndpointName"] for e in inputs.get("Endpoints") or []
                             if e.get("EndpointName")),
        instance_types_tested=tuple(c["InstanceType"]
                                    for c in inputs.get("EndpointConfigurations") or []
                                    if c.get("InstanceType")),
        max_invocations_per_minute=stopping.get("MaxInvocations"),
        latency_thresholds_ms=thresholds,
        recommendations=tuple(_recommendation(r)
                              for r in (described or {}).get("InferenceRecommendations") or []),
        benchmarks=tuple(_benchmark(s) for s in steps))


def match_jobs(endpoint: EndpointSnapshot, jobs: Iterable[RecommenderJob],
               error: str | None = None) -> RecommenderState:
    """The region's jobs that speak for this endpoint, newest first, with how they match."""
    matched: list[RecommenderJob] = []
    serving = tuple(v.name for v in endpoint.serving_variants)
    for job in jobs:
        if job.region != endpoint.region:
            continue
        how: str | None = None
        variants: list[str] = []
        if endpoint.name in job.endpoint_names:
            how, variants = "load test of this endpoint", list(serving)
        for variant in endpoint.variants:
            if how == "load test of this endpoint":
                break
            containers = variant.model.containers if variant.model else ()
            reason = None
            if job.model_name and job.model_name == variant.model_name:
                reason = "model name"
            elif job.model_package_version_arn and _package_matches(
                    job.model_package_version_arn,
                    [c.model_package_name for c in containers if c.model_package_name]):
                reason = "model package version"
            elif job.model_image and job.model_data_url and any(
                    (c.image, c.model_data_url) == (job.model_image, job.model_data_url)
                    for c in containers):
                reason = "container image and model artefact"
            if reason is not None:
                how = how or reason
                variants.append(variant.name)
        if how is not None:
            matched.append(job.model_copy(update={"matched_by": how,
                                                  "variants": tuple(variants)}))
    matched.sort(key=lambda j: j.finished_at, reverse=True)
    return RecommenderState(jobs=tuple(matched), error=error)


class RecommenderCollector:
    """Keeps one region's jobs; finished ones are described once per session."""

    def __init__(self, aws: AwsContext, region: str) -> None:
        self.aws = aws
        self.region = region
        self._identities: dict[str, _ModelIdentity] = {}  # job name -> its model
        self._finished: dict[str, RecommenderJob] = {}  # described, never changes again
        self._foreign: dict[str, tuple[str | None, str | None]] = {}  # model -> (image, url)
        self._semaphore = asyncio.Semaphore(aws.settings.describe_concurrency)

    async def collect(self, endpoints: list[EndpointSnapshot], now: dt.datetime
                      ) -> RecommenderPass:
        result = RecommenderPass()
        sagemaker = await self.aws.client("sagemaker", self.region)
        try:
            summaries: list[dict[str, Any]] = []
            paginator = sagemaker.get_paginator("list_inference_recommendations_jobs")
            async for page in paginator.paginate(PaginationConfig={"PageSize": 100}):
                summaries.extend(page.get("InferenceRecommendationsJobs", []))
        except RECOVERABLE as exc:
            error = collector_error(exc, "recommender", self.region, "sagemaker",
                                    "ListInferenceRecommendationsJobs", now)
            result.errors.append(error)
            result.error = error.message
            return result
        ours = _FleetModels.of(e for e in endpoints if e.region == self.region)
        summaries = [s for s in summaries if s.get("Status") not in GONE]
        await asyncio.gather(*(self._identify(sagemaker, s, ours, result, now)
                               for s in summaries))
        jobs = await asyncio.gather(*(self._job(sagemaker, s, ours, result, now)
                                      for s in summaries))
        listed = {s["JobName"] for s in summaries}
        for gone in set(self._finished) - listed:
            del self._finished[gone]  # deleted jobs leave
        result.jobs = [j for j in jobs if j is not None]
        return result

    async def _identify(self, sagemaker: Any, summary: dict[str, Any], ours: _FleetModels,
                        result: RecommenderPass, now: dt.datetime) -> None:
        """The job's model: from the summary, plus DescribeModel once for a model not deployed."""
        name = summary["JobName"]
        model = summary.get("ModelName")
        package = summary.get("ModelPackageVersionArn")
        if name in self._identities:
            return
        image = data_url = None
        if model and model not in ours.names:
            if model not in self._foreign:
                self._foreign[model] = await self._describe_model(sagemaker, model, result, now)
            image, data_url = self._foreign[model]
        self._identities[name] = _ModelIdentity(model, package, image, data_url)

    async def _describe_model(self, sagemaker: Any, model: str, result: RecommenderPass,
                              now: dt.datetime) -> tuple[str | None, str | None]:
        async with self._semaphore:
            try:
                raw = await sagemaker.describe_model(ModelName=model)
            except RECOVERABLE as exc:
                if error_code(exc) not in ("ValidationException", "ResourceNotFound"):
                    result.errors.append(collector_error(exc, "recommender", self.region,
                                                         "sagemaker", "DescribeModel", now))
                return None, None  # a test model deleted since: nothing to match it by
        container: dict[str, Any] = raw.get("PrimaryContainer") or next(
            iter(raw.get("Containers") or []), {})
        return container.get("Image"), container.get("ModelDataUrl")

    async def _job(self, sagemaker: Any, summary: dict[str, Any], ours: _FleetModels,
                   result: RecommenderPass, now: dt.datetime) -> RecommenderJob | None:
        name = summary["JobName"]
        identity = self._identities.get(name) or _ModelIdentity(
            summary.get("ModelName"), summary.get("ModelPackageVersionArn"))
        if not ours.concerns(identity):
            return None
        cached = self._finished.get(name)
        if cached is not None:
            return cached
        if summary.get("Status") not in FINISHED:
            return parse_job(self.region, summary, None, identity)
        operation = "DescribeInferenceRecommendationsJob"
        async with self._semaphore:
            try:
                described = await sagemaker.describe_inference_recommendations_job(JobName=name)
                operation = "ListInferenceRecommendationsJobSteps"
                steps: list[dict[str, Any]] = []
                paginator = sagemaker.get_paginator("list_inference_recommendations_job_steps")
                async for page in paginator.paginate(JobName=name):
                    steps.extend(page.get("Steps", []))
            except RECOVERABLE as exc:
                result.errors.append(collector_error(exc, "recommender", self.region,
                                                     "sagemaker", operation, now))
                return parse_job(self.region, summary, None, identity)
        try:
            job = parse_job(self.region, summary, described, identity, steps)
        except (KeyError, TypeError, ValueError) as exc:
            result.errors.append(CollectorError(
                source="recommender", region=self.region, operation=operation, at=now,
                message=f"unreadable Inference Recommender job {name}: "
                        f"{str(exc).splitlines()[0][:160]}"))
            return None
        self._finished[name] = job
        return job
