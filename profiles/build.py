"""Build an endpoint's current ML profile from the fleet snapshot.

The current profile says what is there, each value with its origin. What it measures (traffic,
errors, latency, utilisation, the busiest resource, the traffic pattern) it takes from the
advisors' features (`advisors.features`) and what it costs from the analysis: it never reads a
metric series itself, so a profile and a finding cannot tell two stories. The target profile is
built from it by applying the endpoint's plan (`profiles.target`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections.abc import Iterable, Mapping
from typing import Any

from advisors.components import reserved_fraction, share_basis
from advisors.cost import CostEstimate
from advisors.features import RESOURCES, FleetFeatures, measured
from advisors.limits import INVOCATION_TIMEOUT_S, MICROSECONDS_PER_MS
from advisors.opinions import RecommenderComparison
from advisors.rules.no_deployment_guardrails import guardrails_supported, strategy_label
from advisors.scaling import per_instance_policy
from ground.catalog import spec_for
from ground.domain import (
    AutoscalingInfo,
    DeploymentOption,
    EndpointSnapshot,
    FleetSnapshot,
    InferenceComponentSnapshot,
    ModelInfo,
    VariantSnapshot,
)
from ground.energy import Footprint, method_text
from ground.images import workload_of
from ground.requirements import Requirements
from profiles.model import (
    Bound,
    BusinessRequirements,
    CarbonEstimate,
    Characteristic,
    ComponentProfile,
    ContainerSource,
    LatencyClass,
    MLProfile,
    NetworkSecurity,
    Origin,
    PipelineShape,
    ProfileKind,
    ScaleToZero,
    TrafficPattern,
    VariantProfile,
)

SECONDS_PER_DAY = 86400.0

# Latency classes by p99 (ms): upper bounds, exclusive. Near-real-time ends where a real-time
# invocation times out (AWS's limit, `advisors.limits`).
LATENCY_CLASS_BOUNDS_MS: tuple[tuple[float, LatencyClass], ...] = (
    (100.0, LatencyClass.REAL_TIME_INTERACTIVE),
    (1000.0, LatencyClass.REAL_TIME),
    (INVOCATION_TIMEOUT_S * 1000.0, LatencyClass.NEAR_REAL_TIME),
)
Row = Mapping[str, Any]

CLOUDWATCH = "CloudWatch"
DESCRIBE = "DescribeEndpoint/DescribeEndpointConfig"
DESCRIBE_MODEL = "DescribeModel"


def latency_class_for(p99_ms: float) -> LatencyClass:
    for bound, latency_class in LATENCY_CLASS_BOUNDS_MS:
        if p99_ms < bound:
            return latency_class
    return LatencyClass.OFFLINE


# --------------------------------------------------------------------------------- current profile

def _models(endpoint: EndpointSnapshot) -> list[ModelInfo]:
    """Distinct models behind the endpoint, every variant (shadow included) and inference
    component in order."""
    seen: dict[str, ModelInfo] = {}
    for model in [*(v.model for v in endpoint.variants),
                  *(c.model for c in endpoint.inference_components)]:
        if model is not None and model.name not in seen:
            seen[model.name] = model
    return list(seen.values())


def _at(row: Row | None, column: str) -> float | None:
    """A measure of the features' row; None for no data (or no row)."""
    return None if row is None else measured(row.get(column))


def _days_between(moments: Iterable[dt.datetime]) -> list[float]:
    ordered = sorted(set(moments))
    return [(b - a).total_seconds() / SECONDS_PER_DAY for a, b in itertools.pairwise(ordered)]


def _interval(moments: list[dt.datetime], now: dt.datetime, what: str,
              source: str) -> Characteristic[float]:
    """Median days between events; with one event, its age (a lower bound on the interval)."""
    if not moments:
        return Characteristic[float](value=None, origin=Origin.INFERRED, unit="days",
                                     source=source, note=f"no {what} time known")
    gaps = _days_between(moments)
    if gaps:
        return Characteristic[float](
            value=round(statistics.median(gaps), 2), origin=Origin.INFERRED, unit="days",
            source=source,
            note=f"median interval between {len(gaps) + 1} {what}s")
    age_days = (now - max(moments)).total_seconds() / SECONDS_PER_DAY
    return Characteristic[float](
        value=round(max(age_days, 0.0), 2), origin=Origin.INFERRED, unit="days",
        bound=Bound.AT_LEAST, source=source,
        note=f"only one {what} seen; the interval is at least its age")


def _model_size(models: list[ModelInfo]) -> Characteristic[int]:
    """The largest model an instance must load: the sum of one model's container artefacts."""
    if not models:
        return Characteristic[int](value=None, origin=Origin.OBSERVED, unit="bytes",
                                   note="no model description available")
    sizes: list[int] = []
    for model in models:
        artefacts = [c for c in model.containers if c.model_data_url is not None]
        if not artefacts or any(c.model_bytes is None for c in artefacts):
            return Characteristic[int](
                value=None, origin=Origin.OBSERVED, unit="bytes", source="S3 HeadObject",
                note=f"size of the artefact of model {model.name} unknown"
                     + ("" if artefacts else " (model baked into the image)"))
        sizes.append(sum(c.model_bytes or 0 for c in artefacts))
    return Characteristic[int](value=max(sizes), origin=Origin.OBSERVED, unit="bytes",
                               source="S3 HeadObject of ModelDataUrl",
                               note="largest model; containers of one model summed")


def _models_per_endpoint(endpoint: EndpointSnapshot,
                         models: list[ModelInfo]) -> Characteristic[int]:
    if endpoint.inference_components:
        copies = sum(c.current_copies for c in endpoint.inference_components)
        return Characteristic[int](
            value=len(endpoint.inference_components), origin=Origin.CONFIGURED, unit="models",
            source="ListInferenceComponents",
            note=f"inference components sharing the instances, {copies} copies in all")
    if endpoint.deployment is DeploymentOption.MULTI_MODEL or any(
            c.mode == "MultiModel" for m in models for c in m.containers):
        return Characteristic[int](
            value=None, origin=Origin.CONFIGURED, unit="models", source=DESCRIBE_MODEL,
            note="multi-model endpoint: models are loaded on demand from an S3 prefix; "
                 "CloudWatch publishes no per-model metrics to count them")
    return Characteristic[int](value=len(models), origin=Origin.CONFIGURED, unit="models",
                               source=DESCRIBE_MODEL, note="distinct models over all variants")


def _pipeline_shape(models: list[ModelInfo]) -> Characteristic[PipelineShape]:
    chained = [m for m in models if m.inference_mode == "Serial" and len(m.containers) > 1]
    if chained:
        return Characteristic[PipelineShape](
            value=PipelineShape.CHAINED, origin=Origin.CONFIGURED, source=DESCRIBE_MODEL,
            note=f"inference pipeline of {max(len(m.containers) for m in chained)} containers")
    direct = [m for m in models if m.inference_mode == "Direct"]
    return Characteristic[PipelineShape](
        value=PipelineShape.SINGLE, origin=Origin.CONFIGURED, source=DESCRIBE_MODEL,
        note="multi-container, direct invocation: one container per request" if direct else "")


# When containers of one endpoint differ, the profile reports the one that asks the most of the
# team: an own image must be patched by its owner, a third-party registry also needs the network
# path to it.
_SOURCE_BURDEN = {
    ContainerSource.AWS_PREBUILT: 0,
    ContainerSource.OWN_IMAGE: 1,
    ContainerSource.THIRD_PARTY_REGISTRY: 2,
}


def heaviest_source(sources: list[ContainerSource]) -> ContainerSource | None:
    return max(sources, key=_SOURCE_BURDEN.__getitem__) if sources else None


def _images(models: list[ModelInfo]) -> tuple[Characteristic[list[str]],
                                              Characteristic[ContainerSource]]:
    workloads = [workload_of(m.containers) for m in models]
    facts = [image for workload in workloads for image in workload.images]
    frameworks = sorted({f for workload in workloads for f in workload.frameworks})
    repositories = ", ".join(dict.fromkeys(f.repository for f in facts))
    note = f"from {repositories}" if facts else "no container known"
    servers = [w for w in workloads if w.llm_server is not None]
    if servers:
        # Said here because the profile's GPU figures would otherwise be misread: these
        # servers fill GPU memory with their KV cache at start-up, whatever the load.
        note += (f"; LLM server ({servers[0].llm_server}, from {servers[0].llm_evidence}): "
                 "it preallocates most GPU memory for its KV cache at start-up, so GPU memory "
                 "use is not a measure of load")
    framework = Characteristic[list[str]](
        value=frameworks if facts else None, origin=Origin.INFERRED,
        source="container image URI and environment variable names", note=note)
    sources = [f.source for f in facts]
    distinct = sorted(set(sources))
    container = Characteristic[ContainerSource](
        value=heaviest_source(sources), origin=Origin.INFERRED,
        source="image registry account and RepositoryAccessMode",
        note=("containers differ: " + ", ".join(distinct)) if len(distinct) > 1 else "")
    return framework, container


def _utilisation(variant: VariantSnapshot, row: Row | None, series: str, unit: str,
                 what: str) -> Characteristic[float]:
    value = _at(row, series)
    note = ""
    if value is None:
        spec = spec_for(variant.instance_type)
        if variant.serverless is not None and series != "memory_p95_pct":
            note = "serverless endpoints publish no CPU or GPU utilisation"
        elif spec is None and series != "memory_p95_pct":
            note = (f"{variant.instance_type} is not in the instance catalogue: its utilisation "
                    "cannot be normalised per instance")
        elif series == "gpu_p95_pct" and spec is not None and not spec.has_gpu:
            note = (f"CloudWatch publishes no utilisation for {spec.gpu_model or 'these'} "
                    "accelerators (GPU metrics are NVIDIA's)" if spec.has_accelerator
                    else "no GPU on this instance type")
        else:
            note = "no datapoints in the lookback"
    return Characteristic[float](value=None if value is None else round(value, 2),
                                 origin=Origin.OBSERVED, unit=unit,
                                 source=f"{CLOUDWATCH} {what} p95", note=note)


def _recommended(endpoint: EndpointSnapshot, variant: VariantSnapshot,
                 comparison: RecommenderComparison | None
                 ) -> tuple[Characteristic[str], Characteristic[int]]:
    """The recommender's suggestion for the variant, with the job, its date and payload."""
    jobs = [j for j in endpoint.recommender.jobs if variant.name in j.variants]
    rec = comparison.recommendation if comparison else None
    if comparison is None or rec is None:
        note = (endpoint.recommender.error or
                (f"job {jobs[0].name} {jobs[0].status.lower()}"
                 + (f": {jobs[0].failure_reason}" if jobs[0].failure_reason else "")
                 if jobs else "no Inference Recommender job for this model"))
        return (Characteristic[str](value=None, origin=Origin.RECOMMENDED,
                                    source="Inference Recommender", note=note),
                Characteristic[int](value=None, origin=Origin.RECOMMENDED, unit="instances",
                                    source="Inference Recommender", note=note))
    metrics = rec.metrics
    measured = ", ".join(part for part in (
        f"${metrics.cost_per_hour_usd:,.3f}/h" if metrics.cost_per_hour_usd is not None else "",
        f"${metrics.cost_per_inference_usd:.3g} per inference"
        if metrics.cost_per_inference_usd is not None else "",
        f"up to {metrics.max_invocations_per_minute:,} requests/min per instance"
        if metrics.max_invocations_per_minute is not None else "",
        f"model latency {metrics.model_latency_ms:,.0f} ms"
        if metrics.model_latency_ms is not None else "",
        f"CPU {metrics.cpu_utilisation_pct:.0f} %" if metrics.cpu_utilisation_pct is not None
        else "",
        f"memory {metrics.memory_utilisation_pct:.0f} % under load"
        if metrics.memory_utilisation_pct is not None else "") if part)
    source = (f"Inference Recommender job {comparison.job} ({comparison.job_type}, finished "
              f"{comparison.job_finished:%Y-%m-%d})")
    note = (f"{measured}; payload {comparison.payload or 'not recorded'}; sagetop's plan "
            f"{comparison.plan_label}: {comparison.winner}"
            + ("" if comparison.winner == "agree" else f" wins ({comparison.reason})"))
    return (Characteristic[str](value=rec.instance_type or rec.label,
                                origin=Origin.RECOMMENDED, source=source, note=note),
            Characteristic[int](value=rec.instance_count, origin=Origin.RECOMMENDED,
                                unit="instances", source=source, note=note))


def _guardrails(endpoint: EndpointSnapshot) -> tuple[Characteristic[str], Characteristic[bool]]:
    config = endpoint.deployment_config
    source = "DescribeEndpoint LastDeploymentConfig"
    if not endpoint.described:
        unknown = "the endpoint is not described yet"
        return (Characteristic[str](value=None, origin=Origin.CONFIGURED, source=source,
                                    note=unknown),
                Characteristic[bool](value=None, origin=Origin.CONFIGURED, source=source,
                                     note=unknown))
    if config is None:
        how = ("no deployment configuration on the last update: SageMaker shifts all traffic "
               "at once, with no baking period")
    elif config.strategy == "rolling":
        how = (f"rolling batches of {config.step.text if config.step else '?'}, waiting "
               f"{config.wait_s or 0} s between them")
    elif config.traffic in ("canary", "linear"):
        how = (f"{config.traffic} traffic shifting in steps of "
               f"{config.step.text if config.step else '?'}, baking {config.wait_s or 0} s")
    else:
        how = f"all traffic at once, then baking {config.wait_s or 0} s"
    if not guardrails_supported(endpoint):
        how += "; Inf1 instances cannot use deployment guardrails (AWS falls back to all at once)"
    alarms = config.rollback_alarms if config else ()
    return (Characteristic[str](value=strategy_label(endpoint).split(" ")[0],
                                origin=Origin.CONFIGURED, source=source, note=how),
            Characteristic[bool](value=bool(alarms), origin=Origin.CONFIGURED, source=source,
                                 note=(f"rolls back when {', '.join(alarms)} fire(s)" if alarms
                                       else "no CloudWatch alarm rolls an update back")))


BUSIEST_SOURCE = "busiest of CPU, memory, GPU and GPU memory p95 per instance (advisors)"


def _busiest(row: Row | None) -> tuple[Characteristic[str], Characteristic[float]]:
    """The variant's busiest resource and its utilisation, as the advisors judge it."""
    pct = _at(row, "busiest_pct")
    resource = row.get("busiest_resource") if row is not None else None
    if pct is None or not isinstance(resource, str):
        unknown = "no utilisation datapoints in the lookback"
        return (Characteristic[str](value=None, origin=Origin.OBSERVED, source=BUSIEST_SOURCE,
                                    note=unknown),
                Characteristic[float](value=None, origin=Origin.OBSERVED,
                                      unit="percent per instance", source=BUSIEST_SOURCE,
                                      note=unknown))
    llm = row.get("llm_server") if row is not None else None
    note = (f"GPU memory left out: {llm} preallocates it for its KV cache whatever the load"
            if isinstance(llm, str) else "")
    name = RESOURCES[resource][0]
    return (Characteristic[str](value=name, origin=Origin.OBSERVED, source=BUSIEST_SOURCE,
                                note=note),
            Characteristic[float](value=round(pct, 2), origin=Origin.OBSERVED,
                                  unit="percent per instance", source=BUSIEST_SOURCE,
                                  note=note))


def _variant_profile(endpoint: EndpointSnapshot, variant: VariantSnapshot,
                     features: FleetFeatures,
                     recommender: dict[str, RecommenderComparison] | None = None
                     ) -> VariantProfile:
    row = features.variant(endpoint.key, variant.name)
    busiest, busiest_pct = _busiest(row)
    serverless = variant.serverless
    instances_note = "serverless: no instances to manage" if serverless else ""
    recommended = _recommended(endpoint, variant, (recommender or {}).get(variant.name))
    scaling = variant.autoscaling
    if scaling is not None:
        min_instances = Characteristic[int](value=scaling.min_capacity, origin=Origin.CONFIGURED,
                                            unit="instances", source="Application Auto Scaling")
        max_instances = Characteristic[int](value=scaling.max_capacity, origin=Origin.CONFIGURED,
                                            unit="instances", source="Application Auto Scaling")
        scales_note = "" if scaling.scales else (
            "scaling suspended" if scaling.suspended else "scalable target without a policy")
    elif (managed := variant.managed_instance_scaling) is not None and managed.enabled:
        # Inference-component endpoints: instances follow the copies, between these bounds.
        source = "ManagedInstanceScaling"
        min_instances = Characteristic[int](value=managed.min_instances,
                                            origin=Origin.CONFIGURED, unit="instances",
                                            source=source)
        max_instances = Characteristic[int](value=managed.max_instances,
                                            origin=Origin.CONFIGURED, unit="instances",
                                            source=source)
        scales_note = "managed instance scaling: instances follow the components' copies"
    else:
        fixed = None if serverless else variant.current_instance_count
        fixed_note = instances_note or "no scalable target: the count is fixed"
        min_instances = Characteristic[int](value=fixed, origin=Origin.CONFIGURED,
                                            unit="instances", source=DESCRIBE, note=fixed_note)
        max_instances = Characteristic[int](value=fixed, origin=Origin.CONFIGURED,
                                            unit="instances", source=DESCRIBE, note=fixed_note)
        scales_note = "no scalable target registered"
    return VariantProfile(
        name=variant.name,
        shadow=variant.shadow,
        weight=variant.weight,
        instance_type=Characteristic[str](value=variant.instance_type, origin=Origin.CONFIGURED,
                                          source=DESCRIBE, note=instances_note),
        instance_count=Characteristic[int](
            value=None if serverless else variant.current_instance_count,
            origin=Origin.OBSERVED, unit="instances", source="DescribeEndpoint "
            "CurrentInstanceCount", note=instances_note or _count_note(row)),
        min_instances=min_instances,
        max_instances=max_instances,
        autoscaling=Characteristic[bool](
            value=bool(scaling and scaling.scales) or bool(
                scaling is None and variant.managed_instance_scaling
                and variant.managed_instance_scaling.enabled),
            origin=Origin.CONFIGURED, source="Application Auto Scaling", note=scales_note),
        serverless_memory_mb=Characteristic[int](
            value=serverless.memory_mb if serverless else None, origin=Origin.CONFIGURED,
            unit="MB", source=DESCRIBE, note="" if serverless else "not serverless"),
        serverless_max_concurrency=Characteristic[int](
            value=serverless.max_concurrency if serverless else None, origin=Origin.CONFIGURED,
            unit="concurrent requests", source=DESCRIBE,
            note="" if serverless else "not serverless"),
        cpu_p95_pct=_utilisation(variant, row, "cpu_p95_pct", "percent per instance",
                                 "CPUUtilization / vCPUs"),
        memory_p95_pct=_utilisation(variant, row, "memory_p95_pct",
                                    "percent of instance memory", "MemoryUtilization"),
        gpu_p95_pct=_utilisation(variant, row, "gpu_p95_pct", "percent per GPU",
                                 "GPUUtilization / GPUs"),
        recommended_instance_type=recommended[0],
        recommended_instance_count=recommended[1],
        scaling_target_value=_scaling_target(scaling),
        busiest_resource=busiest,
        busiest_resource_pct=busiest_pct,
    )


def _count_note(row: Row | None) -> str:
    """What the variant is billed for when that is not the count of the moment (features)."""
    billed = _at(row, "billed_instances")
    if billed is None or row is None or not row.get("time_weighted"):
        return ""
    return (f"at this moment; {billed:.1f} on average over the lookback (time-weighted, "
            "from CPUUtilization samples), the count it is billed for")


def _scaling_target(scaling: AutoscalingInfo | None) -> Characteristic[float]:
    policy = None if scaling is None else per_instance_policy(scaling)
    if policy is None:
        return Characteristic[float](
            value=None, origin=Origin.CONFIGURED, source="Application Auto Scaling",
            note="no target-tracking policy on load per instance")
    return Characteristic[float](
        value=policy.target_value, origin=Origin.CONFIGURED, unit=f"{policy.metric} per minute"
        if policy.metric == "SageMakerVariantInvocationsPerInstance" else policy.metric,
        source=f"Application Auto Scaling policy {policy.name}")


def _component_profile(endpoint: EndpointSnapshot, component: InferenceComponentSnapshot,
                       features: FleetFeatures, cost: CostEstimate | None) -> ComponentProfile:
    scaling = component.autoscaling
    resources = component.resources
    source = "DescribeInferenceComponent"
    variant = next((v for v in endpoint.variants if v.name == component.variant), None)
    spec = spec_for(variant.instance_type) if variant else None
    basis = share_basis(spec, endpoint.components_on(component.variant)) if spec else None
    share = (reserved_fraction(component, variant, spec, basis)
             if variant is not None and spec is not None and basis else None)
    row = features.component(endpoint.key, component.name)
    per_day = _at(row, "requests_per_day")
    p99_us = _at(row, "model_latency_p99_us")
    if scaling is not None:
        low = Characteristic[int](value=scaling.min_capacity, origin=Origin.CONFIGURED,
                                  unit="copies", source="Application Auto Scaling")
        high = Characteristic[int](value=scaling.max_capacity, origin=Origin.CONFIGURED,
                                   unit="copies", source="Application Auto Scaling")
    else:
        fixed = "no scalable target: the copies are fixed"
        low = Characteristic[int](value=component.current_copies, origin=Origin.CONFIGURED,
                                  unit="copies", source=source, note=fixed)
        high = Characteristic[int](value=component.current_copies, origin=Origin.CONFIGURED,
                                   unit="copies", source=source, note=fixed)
    scales = bool(scaling and scaling.scales and scaling.max_capacity > scaling.min_capacity)
    unset = "not reserved"
    return ComponentProfile(
        name=component.name,
        variant=component.variant,
        model=Characteristic[str](value=component.model_name or component.base_component,
                                  origin=Origin.CONFIGURED, source=source,
                                  note=f"adapter on {component.base_component}"
                                  if component.base_component else (component.image or "")),
        copies=Characteristic[int](value=component.current_copies, origin=Origin.OBSERVED,
                                   unit="copies", source=f"{source} CurrentCopyCount",
                                   note=f"desired {component.desired_copies}"),
        min_copies=low,
        max_copies=high,
        copies_autoscaling=Characteristic[bool](
            value=scales, origin=Origin.CONFIGURED, source="Application Auto Scaling",
            note="" if scales else ("no scalable target registered" if scaling is None
                                    else "a scalable target that cannot move")),
        accelerators_per_copy=Characteristic[int](
            value=resources.accelerators, origin=Origin.CONFIGURED, unit="accelerators",
            source=source, note="" if resources.accelerators is not None else unset),
        cpu_cores_per_copy=Characteristic[float](
            value=resources.cpu_cores, origin=Origin.CONFIGURED, unit="CPU cores",
            source=source, note="" if resources.cpu_cores is not None else unset),
        memory_mb_per_copy=Characteristic[int](
            value=resources.min_memory_mb, origin=Origin.CONFIGURED, unit="MB", source=source,
            note="MinMemoryRequiredInMb" if resources.min_memory_mb is not None else unset),
        reserved_share_pct=Characteristic[float](
            value=None if share is None else round(share * 100.0, 2), origin=Origin.INFERRED,
            unit=f"percent of the instances' {basis or 'capacity'}".replace("_", " "),
            source="copies x reservation per copy / what the instances offer"),
        requests_per_day=Characteristic[float](
            value=None if per_day is None else round(per_day, 2),
            origin=Origin.OBSERVED, unit="requests per day",
            source=f"{CLOUDWATCH} Invocations (InferenceComponentName)",
            note="" if per_day is not None else "no request data in the lookback"),
        p99_latency_ms=Characteristic[float](
            value=None if p99_us is None else round(p99_us / MICROSECONDS_PER_MS, 3),
            origin=Origin.OBSERVED, unit="ms",
            source=f"{CLOUDWATCH} ModelLatency p99 (InferenceComponentName)"),
        monthly_cost_usd=Characteristic[float](
            value=None if cost is None else cost.usd, origin=Origin.INFERRED,
            unit="USD per month", source=None if cost is None else cost.source,
            note="its share of the instances it shares"),
    )


def _traffic(endpoint: EndpointSnapshot, row: Row | None) -> Characteristic[TrafficPattern]:
    """The pattern the advisors decided (`advisors.traffic`), with their reason."""
    source = f"{CLOUDWATCH} Invocations hourly"
    if row is None or not _at(row, "hours_observed"):
        return Characteristic[TrafficPattern](value=None, origin=Origin.INFERRED, source=source,
                                              note="no hourly request data")
    pattern = row.get("traffic_pattern")
    note = str(row.get("traffic_reason") or "")
    dark = int(_at(row, "unobserved_hours") or 0)
    if dark and any(v.managed_instance_scaling and v.managed_instance_scaling.enabled
                    and v.managed_instance_scaling.min_instances == 0 for v in endpoint.variants):
        # Scaled to zero, a component publishes nothing: those hours are no data, not zero.
        note += f"; scales to zero: no data for {dark} h without copies, not counted"
    return Characteristic[TrafficPattern](
        value=pattern if isinstance(pattern, TrafficPattern) else None, origin=Origin.INFERRED,
        source=source, note=note)


def _requests_and_errors(endpoint: EndpointSnapshot, row: Row | None
                         ) -> tuple[Characteristic[float], Characteristic[float]]:
    """Requests per day and the 5XX rate callers saw (serving variants and inference
    components; `advisors.features` says why shadow variants are not counted)."""
    requests, errors = _at(row, "requests"), _at(row, "errors_5xx")
    hours = _at(row, "observed_hours") or 0.0
    if requests is None:
        unknown = "no request data in the lookback"
        return (Characteristic[float](value=None, origin=Origin.OBSERVED, unit="requests per day",
                                      source=f"{CLOUDWATCH} Invocations", note=unknown),
                Characteristic[float](value=None, origin=Origin.OBSERVED, unit="percent",
                                      source=f"{CLOUDWATCH} Invocation5XXErrors", note=unknown))
    per_day = Characteristic[float](
        value=round(_at(row, "requests_per_day") or 0.0, 2), origin=Origin.OBSERVED,
        unit="requests per day", source=f"{CLOUDWATCH} Invocations",
        note=f"{requests:,.0f} requests over {hours:,.0f} h ("
             + ("inference components)" if endpoint.inference_components
                else "serving variants)"))
    ratio = _at(row, "error_ratio")
    if ratio is None or errors is None:
        rate = Characteristic[float](value=None, origin=Origin.OBSERVED, unit="percent",
                                     source=f"{CLOUDWATCH} Invocation5XXErrors",
                                     note="no requests to rate" if requests <= 0
                                     else "no error data")
    else:
        rate = Characteristic[float](value=round(ratio * 100.0, 4),
                                     origin=Origin.OBSERVED, unit="percent",
                                     source=f"{CLOUDWATCH} Invocation5XXErrors",
                                     note=f"{errors:,.0f} 5XX of {requests:,.0f} requests")
    return per_day, rate


def _latency(row: Row | None, objective_ms: float | None
             ) -> tuple[Characteristic[float], Characteristic[LatencyClass]]:
    p99_us = _at(row, "model_latency_p99_us")
    if p99_us is not None:
        p99_ms = p99_us / MICROSECONDS_PER_MS
        p99 = Characteristic[float](
            value=round(p99_ms, 3), origin=Origin.OBSERVED, unit="ms",
            source=f"{CLOUDWATCH} ModelLatency p99 (microseconds, converted)",
            note="slowest serving variant or component; excludes SageMaker's OverheadLatency "
                 "and the network")
        return p99, Characteristic[LatencyClass](
            value=latency_class_for(p99_ms), origin=Origin.INFERRED, source="p99 model latency",
            note="interactive < 100 ms <= real-time < 1 s <= near-real-time < 60 s <= offline")
    p99 = Characteristic[float](value=None, origin=Origin.OBSERVED, unit="ms",
                                source=f"{CLOUDWATCH} ModelLatency p99",
                                note="no latency datapoints in the lookback")
    if objective_ms is not None:
        return p99, Characteristic[LatencyClass](
            value=latency_class_for(objective_ms), origin=Origin.REQUIRED,
            source="requirements p99_latency_ms",
            note="no observed latency: class of the objective")
    return p99, Characteristic[LatencyClass](value=None, origin=Origin.INFERRED,
                                             note="no observed latency and no objective")


def business_requirements(requirements: Requirements | None) -> BusinessRequirements:
    if requirements is None:
        return BusinessRequirements(warnings=["no business requirements configured"])
    return BusinessRequirements(
        environment=requirements.environment,
        p99_latency_ms=requirements.p99_latency_ms,
        cold_start_tolerance_ms=requirements.cold_start_tolerance_ms,
        max_payload_mb=requirements.max_payload_mb,
        min_instances=requirements.min_instances,
        sources=dict(sorted(requirements.sources.items())),
        warnings=list(requirements.warnings),
    )


def _required(value: float | None, field: str, unit: str, requirements: BusinessRequirements,
              unknown_note: str) -> Characteristic[float]:
    if value is None:
        return Characteristic[float](value=None, origin=Origin.REQUIRED, unit=unit,
                                     note=unknown_note)
    return Characteristic[float](value=value, origin=Origin.REQUIRED, unit=unit,
                                 source=requirements.sources.get(field, "requirements"))


def _security(endpoint: EndpointSnapshot, models: list[ModelInfo]) -> NetworkSecurity:
    capture = endpoint.data_capture
    vpc_models = [m.name for m in models if m.vpc]
    isolated = [m.name for m in models if m.network_isolation]
    vpc_registry = [c.image for m in models for c in m.containers
                    if c.repository_access_mode == "Vpc"]
    serverless = endpoint.deployment is DeploymentOption.SERVERLESS
    not_for_serverless = "serverless endpoints cannot use it" if serverless else ""
    return NetworkSecurity(
        kms_key=Characteristic[bool](
            value=endpoint.kms_key_id is not None, origin=Origin.CONFIGURED, source=DESCRIBE,
            note="customer managed KMS key on the ML storage volume" if endpoint.kms_key_id
            else "AWS managed encryption only"),
        vpc=Characteristic[bool](
            value=bool(models) and len(vpc_models) == len(models), origin=Origin.CONFIGURED,
            source=DESCRIBE_MODEL,
            note=not_for_serverless or (f"{len(vpc_models)} of {len(models)} models in a VPC"
                                        if models else "no model description")),
        network_isolation=Characteristic[bool](
            value=bool(models) and len(isolated) == len(models), origin=Origin.CONFIGURED,
            source=DESCRIBE_MODEL,
            note=not_for_serverless or (f"{len(isolated)} of {len(models)} models isolated"
                                        if models else "no model description")),
        multi_variant=Characteristic[bool](
            value=len(endpoint.variants) > 1, origin=Origin.CONFIGURED, source=DESCRIBE,
            note=f"{len(endpoint.serving_variants)} serving, "
                 f"{len(endpoint.variants) - len(endpoint.serving_variants)} shadow variants"),
        third_party_registry=Characteristic[bool](
            value=bool(vpc_registry), origin=Origin.CONFIGURED, source=DESCRIBE_MODEL,
            note="RepositoryAccessMode=Vpc" if vpc_registry else ""),
        data_capture=Characteristic[bool](
            value=capture.enabled, origin=Origin.CONFIGURED, source=DESCRIBE,
            note=not_for_serverless or (f"sampling {capture.sampling_percentage} %"
                                        if capture.enabled and capture.sampling_percentage
                                        is not None else "")),
    )


ESTIMATE_SOURCE = "Cloud Carbon Footprint coefficients (ground/data/energy-coefficients.toml)"


def _carbon(footprint: Footprint | None) -> tuple[Characteristic[float], Characteristic[float],
                                                   CarbonEstimate | None]:
    if footprint is None:
        unknown = ("not estimated: an instance type or accelerator without coefficients, or no "
                   "busy-time data")
        return (Characteristic[float](value=None, origin=Origin.INFERRED, unit="kWh per month",
                                      source=ESTIMATE_SOURCE, note=unknown),
                Characteristic[float](value=None, origin=Origin.INFERRED,
                                      unit="kgCO2e per month", source=ESTIMATE_SOURCE,
                                      note=unknown), None)
    notes = "; ".join(footprint.notes)
    energy = Characteristic[float](
        value=round(footprint.kwh, 3), origin=Origin.INFERRED, unit="kWh per month",
        source=ESTIMATE_SOURCE,
        note=f"estimate {footprint.energy_text}" + (f"; {notes}" if notes else ""))
    carbon = Characteristic[float](
        value=round(footprint.kgco2e, 3), origin=Origin.INFERRED, unit="kgCO2e per month",
        source=ESTIMATE_SOURCE,
        note=(f"estimate {footprint.text}, of which embodied "
              f"{footprint.embodied_kgco2e:.3g} kg"))
    detail = CarbonEstimate(
        kwh=round(footprint.kwh, 3), kwh_low=round(footprint.kwh_low, 3),
        kwh_high=round(footprint.kwh_high, 3), kgco2e=round(footprint.kgco2e, 3),
        kgco2e_low=round(footprint.kgco2e_low, 3), kgco2e_high=round(footprint.kgco2e_high, 3),
        embodied_kgco2e=round(footprint.embodied_kgco2e, 3),
        coefficients=footprint.coefficients, method=method_text(), notes=list(footprint.notes))
    return energy, carbon, detail


def _capacity_utilisation(endpoint: EndpointSnapshot, row: Row | None
                          ) -> Characteristic[float]:
    """Mean use of the capacity paid for: the busier of CPU and GPU, averaged over the lookback
    and weighted by the vCPUs (GPUs) of the billed instances of every serving variant (the
    features' figures, `capacity_cpu_mean_pct` / `capacity_gpu_mean_pct`)."""
    source = f"{CLOUDWATCH} CPUUtilization / GPUUtilization Average"
    if endpoint.deployment is DeploymentOption.SERVERLESS:
        return Characteristic[float](value=None, origin=Origin.OBSERVED, unit="percent",
                                     source=source,
                                     note="serverless: capacity exists only while requests run")
    means = {name: value for name in ("cpu", "gpu")
             if (value := _at(row, f"capacity_{name}_mean_pct")) is not None}
    if not means:
        return Characteristic[float](value=None, origin=Origin.OBSERVED, unit="percent",
                                     source=source, note="no mean utilisation measured")
    busiest = max(means, key=lambda name: means[name])
    return Characteristic[float](
        value=round(means[busiest], 2), origin=Origin.OBSERVED, unit="percent",
        source=source,
        note=(f"{busiest.upper()} mean over the lookback, per instance, weighted by the billed "
              "instances" + (f"; CPU {means['cpu']:.1f} %" if busiest == "gpu" and "cpu"
                             in means else "")))


def _idle_hours(row: Row | None) -> Characteristic[float]:
    """Share of the observed hours without a request callers made (the features' hourly
    shape: `hours_observed`, `active_hours`)."""
    observed, active = _at(row, "hours_observed"), _at(row, "active_hours")
    source = f"{CLOUDWATCH} Invocations hourly"
    if not observed or active is None:
        return Characteristic[float](value=None, origin=Origin.OBSERVED,
                                     unit="percent of hours", source=source,
                                     note="no hourly request data")
    idle = observed - active
    return Characteristic[float](value=round(idle / observed * 100.0, 2), origin=Origin.OBSERVED,
                                 unit="percent of hours", source=source,
                                 note=f"{idle:.0f} of {observed:.0f} observed hours without a "
                                      "request")


def _scales_to_zero(endpoint: EndpointSnapshot, requirements: Requirements | None
                    ) -> Characteristic[ScaleToZero]:
    source = "deployment option, Application Auto Scaling and requirements"
    serving = endpoint.serving_variants
    if endpoint.deployment is DeploymentOption.SERVERLESS:
        value, note = ScaleToZero.SCALES_TO_ZERO, "serverless: nothing runs between requests"
    elif any(v.autoscaling and v.autoscaling.scales and v.autoscaling.min_capacity == 0
             for v in serving):
        value, note = ScaleToZero.SCALES_TO_ZERO, "MinCapacity 0 with a scaling policy"
    elif any(v.managed_instance_scaling and v.managed_instance_scaling.enabled
             and v.managed_instance_scaling.min_instances == 0 for v in serving) and any(
            c.autoscaling and c.autoscaling.min_capacity == 0
            for c in endpoint.inference_components):
        value, note = (ScaleToZero.SCALES_TO_ZERO,
                       "components at 0 copies release their instances (managed scaling)")
    elif requirements is not None and requirements.off_hours:
        value = ScaleToZero.POSSIBLE
        note = ("async and inference components can go to 0; a real-time variant to one "
                "instance outside working hours, or serverless" if endpoint.deployment in (
                    DeploymentOption.ASYNC, DeploymentOption.INFERENCE_COMPONENTS)
                else "the requirements allow capacity to follow working hours "
                     "(an off-hours schedule or serverless)")
    else:
        value, note = (ScaleToZero.NOT_POSSIBLE,
                       "production keeps its capacity around the clock (sagetop:off-hours not "
                       "allowed)")
    return Characteristic[ScaleToZero](value=value, origin=Origin.INFERRED, source=source,
                                       note=note)


def current_profile(endpoint: EndpointSnapshot, fleet: FleetSnapshot, features: FleetFeatures,
                    requirements: Requirements | None, cost: CostEstimate,
                    component_costs: Mapping[str, CostEstimate] | None = None,
                    recommender: Iterable[RecommenderComparison] = ()) -> MLProfile:
    """The endpoint as it is; `requirements` None = none configured.

    What it measures comes from `features` (the advisors' frames of this snapshot), what it
    costs (`cost`, and each inference component's share) from the analysis. `recommender`
    carries the advisors' comparisons of Inference Recommender jobs with the plan, so the
    recommended instance size is recorded with the job it comes from. Its energy and carbon are
    the features' estimate (`FleetFeatures.carbon`, computed once).
    """
    by_variant = {c.variant: c for c in recommender}
    strategy, rollback = _guardrails(endpoint)
    models = _models(endpoint)
    business = business_requirements(requirements)
    frameworks, container = _images(models)
    row = features.endpoint(endpoint.key)
    per_day, error_rate = _requests_and_errors(endpoint, row)
    p99, latency_class = _latency(row, business.p99_latency_ms)
    concurrency = _at(row, "concurrency_max")
    shares = component_costs or {}
    monitor = endpoint.monitor
    energy, carbon, detail = _carbon(features.carbon.endpoint(endpoint.key))
    model_times = [m.creation_time for m in models if m.creation_time is not None]
    config_times = list(endpoint.config_history) or [
        endpoint.config_creation_time or endpoint.last_modified_time]
    return MLProfile(
        kind=ProfileKind.CURRENT,
        endpoint=endpoint.name,
        region=endpoint.region,
        generated_at=fleet.collected_at,
        deployment_option=Characteristic[DeploymentOption](
            value=endpoint.deployment, origin=Origin.CONFIGURED, source=DESCRIBE),
        location=Characteristic[str](value=endpoint.region, origin=Origin.CONFIGURED,
                                     unit="AWS Region", source="endpoint ARN"),
        pipeline_shape=_pipeline_shape(models),
        models_per_endpoint=_models_per_endpoint(endpoint, models),
        model_size_bytes=_model_size(models),
        frameworks=frameworks,
        container=container,
        variants=[_variant_profile(endpoint, v, features, by_variant)
                  for v in endpoint.variants],
        inference_components=[_component_profile(endpoint, c, features, shares.get(c.name))
                              for c in endpoint.inference_components],
        retraining_frequency_days=_interval(model_times, fleet.collected_at, "model creation",
                                            "model CreationTime"),
        update_frequency_days=_interval(config_times, fleet.collected_at, "endpoint config",
                                        "endpoint config CreationTime history"),
        traffic_pattern=_traffic(endpoint, row),
        requests_per_day=per_day,
        error_rate_5xx_pct=error_rate,
        p99_latency_ms=p99,
        latency_class=latency_class,
        concurrency=Characteristic[float](
            value=concurrency, origin=Origin.OBSERVED,
            unit="concurrent requests", source=f"{CLOUDWATCH} ConcurrentRequestsPerModel max",
            note="" if concurrency is not None else "not published for this endpoint (async, "
                                                    "serverless) or no datapoints"),
        payload_size_mb=_required(business.max_payload_mb, "max_payload_mb", "MB", business,
                                  "not observable from CloudWatch metrics and not configured"),
        cold_start_tolerance_ms=_required(business.cold_start_tolerance_ms,
                                          "cold_start_tolerance_ms", "ms", business,
                                          "not configured"),
        network_security=_security(endpoint, models),
        model_monitor_schedules=Characteristic[int](
            value=None if monitor.error else len(monitor.schedules), origin=Origin.OBSERVED,
            unit="schedules", source="ListMonitoringSchedules",
            note=monitor.error or ("" if monitor.schedules else
                                   "none: Model Monitor is closed to new customers, "
                                   "so most accounts have none")),
        monthly_cost_usd=Characteristic[float](
            value=None if cost.usd is None else round(cost.usd, 2), origin=Origin.INFERRED,
            unit="USD per month", source=cost.source,
            note="estimate" if cost.estimated else "list prices x 730 h"),
        requirements=business,
        tags=dict(sorted(endpoint.tags.items())),
        deployment_strategy=strategy,
        auto_rollback=rollback,
        monthly_energy_kwh=energy,
        monthly_carbon_kgco2e=carbon,
        carbon=detail,
        capacity_utilisation_pct=_capacity_utilisation(endpoint, row),
        idle_hours_pct=_idle_hours(row),
        scale_to_zero=_scales_to_zero(endpoint, requirements),
    )
