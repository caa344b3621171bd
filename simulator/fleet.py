"""The simulated fleet: endpoint archetypes a real account has, and how they scale to thousands.

Every endpoint is described by a handful of numbers (traffic pattern and peak rate, latency,
utilisation at peak, error ratio...) from which `simulator.metrics` derives every CloudWatch
metric on demand. Nothing is stored per minute, so a fleet of 5,000 endpoints costs kilobytes.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

from ground.catalog import spec_for

ACCOUNT_ID = "123456789012"
PREBUILT_REGISTRY = "763104351884.dkr.ecr.{region}.amazonaws.com"
OWN_REGISTRY = f"{ACCOUNT_ID}.dkr.ecr.{{region}}.amazonaws.com"


class Pattern(IntEnum):
    """Traffic shapes over the day and the week (hours UTC)."""

    STEADY = 0
    DIURNAL = 1  # busy by day, quiet at night, never zero
    BUSINESS_HOURS = 2  # weekdays 09-18 only
    NIGHTLY = 3  # one burst at 02:00
    IDLE = 4  # nobody calls
    SPIKY = 5  # a trickle with random bursts
    SPARSE = 6  # a few requests now and then: idle most hours


@dataclass
class SimVariant:
    name: str
    instance_type: str | None  # None: serverless
    instance_count: int = 1
    weight: float = 1.0
    shadow: bool = False
    serverless_memory_mb: int | None = None
    serverless_max_concurrency: int | None = None
    # Traffic and behaviour.
    pattern: Pattern = Pattern.STEADY
    peak_rpm: float = 0.0  # requests per minute at the peak of the pattern
    latency_ms: float = 50.0  # mean model latency at low load
    latency_spread: float = 2.5  # p99 / mean within a minute
    cpu_idle_pct: float = 3.0  # per instance, with no traffic
    cpu_peak_pct: float = 40.0  # per instance, at peak traffic
    memory_pct: float = 35.0
    gpu_idle_pct: float = 0.0
    gpu_peak_pct: float = 0.0
    gpu_memory_pct: float = 0.0
    disk_pct: float = 12.0
    error_5xx_ratio: float = 0.0005
    error_4xx_ratio: float = 0.002
    errors_grow_with_load: bool = False  # 5XX ratio rises steeply near the peak
    cold_start_ms: float = 0.0  # serverless only
    container_count: int = 1
    # Nobody is routed to the variant from this moment on (a finished A/B test at weight 0).
    traffic_until: dt.datetime | None = None
    # Autoscaled variants: instances at the peak of the pattern. The count follows the load
    # between the scalable target's MinCapacity and MaxCapacity; None keeps `instance_count`.
    peak_instances: int | None = None
    # Multi-model endpoints: share of requests finding their model loaded, the wait for a model
    # to load on a miss, and the models an instance holds at once.
    model_cache_hit: float = 0.97
    model_load_ms: float = 800.0
    models_per_instance: float = 20.0


@dataclass
class SimComponent:
    """An inference component: a model with its copies sharing the instances of one variant.

    It carries the same traffic and behaviour numbers as a variant: invocation metrics are
    published per component (dims InferenceComponentName), not per variant.
    """

    name: str
    variant: str
    image: str
    accelerators: int = 0  # NumberOfAcceleratorDevicesRequired per copy (0: not set)
    cpu_cores: float = 1.0  # NumberOfCpuCoresRequired per copy
    memory_mb: int = 1024  # MinMemoryRequiredInMb per copy
    copies: int = 1
    # (min copies, max copies, has a scaling policy) on inference-component/<name>
    autoscaling: tuple[int, int, bool] | None = None
    scale_to_zero: bool = False  # copies go to 0 while its traffic pattern is at 0
    pattern: Pattern = Pattern.STEADY
    peak_rpm: float = 0.0
    latency_ms: float = 500.0
    latency_spread: float = 2.0
    cpu_idle_pct: float = 5.0  # of the copy's reserved cores
    cpu_peak_pct: float = 40.0
    memory_pct: float = 60.0  # of the copy's reserved memory
    gpu_idle_pct: float = 0.0  # of the copy's accelerators
    gpu_peak_pct: float = 0.0
    gpu_memory_pct: float = 0.0
    error_5xx_ratio: float = 0.0005
    error_4xx_ratio: float = 0.002
    errors_grow_with_load: bool = False
    model_bytes: int = 13_500_000_000

    @property
    def model_name(self) -> str:
        return f"{self.name}-model".lower()


@dataclass
class SimMonitor:
    """A Model Monitor schedule with its recent executions and what the latest one found."""

    schedule_name: str
    monitoring_type: str = "DataQuality"
    violations: list[dict[str, str]] = field(default_factory=list)
    drift: dict[str, float] = field(default_factory=dict)  # feature -> drift distance


@dataclass(frozen=True)
class SimDeployment:
    """The LastDeploymentConfig of the endpoint's last update."""

    strategy: str = "blue-green"  # blue-green | rolling
    traffic: str = "ALL_AT_ONCE"  # ALL_AT_ONCE | CANARY | LINEAR (blue/green)
    step_percent: int = 10  # canary size, linear step or rolling batch, percent of capacity
    wait_s: int = 600
    rollback_alarms: tuple[str, ...] = ()


@dataclass(frozen=True)
class SimRecommendation:
    """One configuration an Inference Recommender job measured (ModelLatency in ms)."""

    instance_type: str
    instance_count: int
    max_invocations: int  # per minute per instance, at the latency below
    model_latency_ms: int
    cpu_pct: float
    memory_pct: float
    cost_per_hour: float


@dataclass(frozen=True)
class SimRecommenderJob:
    name: str
    model_name: str
    created: dt.datetime
    job_type: str = "Default"  # Default | Advanced
    status: str = "COMPLETED"
    failure_reason: str | None = None
    recommendations: tuple[SimRecommendation, ...] = ()
    failed_types: tuple[tuple[str, str], ...] = ()  # (instance type, why its benchmark failed)
    max_invocations: int | None = None  # Advanced: the load the test stops at (per minute)
    latency_threshold_ms: int | None = None  # Advanced: P95 model latency limit
    duration_minutes: int = 45

    @property
    def instance_types(self) -> tuple[str, ...]:
        return tuple(r.instance_type for r in self.recommendations) + tuple(
            t for t, _ in self.failed_types)


@dataclass
class SimEndpoint:
    index: int
    name: str
    region: str
    archetype: str
    created: dt.datetime
    last_modified: dt.datetime
    variants: list[SimVariant]
    image: str
    # The model container's environment; empty: the framework's script default.
    framework_env: dict[str, str] = field(default_factory=dict)
    status: str = "InService"
    failure_reason: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # variant -> (min capacity, max capacity, has a scaling policy)
    autoscaling: dict[str, tuple[int, int, bool]] = field(default_factory=dict)
    data_capture: bool = False
    async_endpoint: bool = False
    multi_model: bool = False
    pipeline: bool = False  # serial inference pipeline (two containers)
    kms_key: bool = False
    vpc: bool = False
    network_isolation: bool = False
    model_bytes: int = 250_000_000
    config_generation: int = 1  # bumps on every update, with a new config name
    config_history_days: tuple[int, ...] = ()  # ages in days of earlier configs
    monitor: SimMonitor | None = None
    deployment: SimDeployment | None = None  # None: the last update named no DeploymentConfig
    # Inference Recommender jobs run on this endpoint's models (keyed by variant name).
    recommender_jobs: tuple[tuple[str, SimRecommenderJob], ...] = ()
    aws_idle_verdict: bool = False  # Compute Optimizer and Cost Optimization Hub call it idle
    # MetricsConfig.MetricPublishFrequencyInSeconds (10, 30, 60, 120, 180, 240, 300), with
    # enhanced metrics on so that invocation metrics follow it too (aws-facts.md 1.8).
    metric_publish_frequency_s: int = 60
    # Inference components (the variants then name no model) and the variants' managed
    # instance scaling (min instances, max instances); min 0 lets the endpoint scale to zero.
    components: list[SimComponent] = field(default_factory=list)
    managed_scaling: tuple[int, int] | None = None

    @property
    def config_name(self) -> str:
        return f"{self.name}-config-{self.config_generation:03d}"

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{ACCOUNT_ID}:endpoint/{self.name}"

    def model_name(self, variant: SimVariant) -> str:
        return f"{self.name}-{variant.name}-model".lower()

    def scales(self, variant: SimVariant) -> tuple[int, int] | None:
        """(MinCapacity, MaxCapacity) when the variant's count follows its load, else None."""
        low, high, policy = self.autoscaling.get(variant.name, (0, 0, False))
        if not policy or high <= low or variant.peak_instances is None:
            return None
        return low, high


def _image(region: str, repo: str, prebuilt: bool = True) -> str:
    registry = (PREBUILT_REGISTRY if prebuilt else OWN_REGISTRY).format(region=region)
    return f"{registry}/{repo}"


PROD = {"env": "production", "team": "ml-platform"}
DEV = {"env": "dev", "team": "research"}
STAGING = {"environment": "staging", "team": "growth"}


def archetypes(region: str, now: dt.datetime) -> list[SimEndpoint]:
    """The hand-made fleet: each endpoint is a situation an ops engineer meets."""
    def days(n: int) -> dt.datetime:
        return now - dt.timedelta(days=n)

    torch_cpu = _image(region, "pytorch-inference:2.3.0-cpu-py311-ubuntu20.04-sagemaker")
    torch_gpu = _image(region, "pytorch-inference:2.3.0-gpu-py311-cu121-ubuntu20.04-sagemaker")
    xgboost = _image(region, "sagemaker-xgboost:1.7-1").replace(
        "763104351884", "683313688378")
    sklearn = _image(region, "sagemaker-scikit-learn:1.2-1-cpu-py3").replace(
        "763104351884", "683313688378")
    tgi = _image(region, "huggingface-pytorch-tgi-inference:2.3.0-tgi2.2.0-gpu-py310-cu121-"
                         "ubuntu22.04")
    own = _image(region, "fraud-scorer:2026.11.02", prebuilt=False)
    neuronx = _image(region, "pytorch-inference-neuronx:2.1.2-neuronx-py310-sdk2.20.0-"
                             "ubuntu20.04")
    fleet: list[SimEndpoint] = []

    def add(name: str, archetype: str, variants: list[SimVariant], image: str,
            created_days: int = 120, **kwargs: Any) -> SimEndpoint:
        # Every endpoint owns its tags: a test or the demo editing one must not edit others.
        kwargs["tags"] = dict(kwargs.get("tags", {}))
        kwargs["autoscaling"] = dict(kwargs.get("autoscaling", {}))
        endpoint = SimEndpoint(index=len(fleet), name=name, region=region, archetype=archetype,
                               created=days(created_days),
                               last_modified=days(min(created_days, kwargs.pop("modified", 30))),
                               variants=variants, image=image, **kwargs)
        fleet.append(endpoint)
        return endpoint

    add("web-ranker-prod", "steady busy, healthy", [SimVariant(
        "AllTraffic", "ml.c5.2xlarge", 3, pattern=Pattern.DIURNAL, peak_rpm=2400,
        latency_ms=18, cpu_peak_pct=62, cpu_idle_pct=6, memory_pct=41, peak_instances=6)],
        torch_cpu, tags=PROD, autoscaling={"AllTraffic": (3, 8, True)}, data_capture=True,
        kms_key=True, vpc=True, config_history_days=(62, 95, 128),
        deployment=SimDeployment(traffic="CANARY", step_percent=10, wait_s=600,
                                 rollback_alarms=("web-ranker-prod-5xx", "web-ranker-prod-p99")))
    add("search-embed-prod", "GPU busy, healthy", [SimVariant(
        "AllTraffic", "ml.g5.xlarge", 2, pattern=Pattern.DIURNAL, peak_rpm=1500,
        latency_ms=35, cpu_peak_pct=35, memory_pct=52, gpu_idle_pct=6, gpu_peak_pct=68,
        gpu_memory_pct=61, peak_instances=4)], torch_gpu, tags=PROD,
        autoscaling={"AllTraffic": (2, 6, True)}, data_capture=True, kms_key=True,
        deployment=SimDeployment(traffic="LINEAR", step_percent=25, wait_s=300,
                                 rollback_alarms=("search-embed-prod-errors",)),
        recommender_jobs=(("AllTraffic", SimRecommenderJob(
            "search-embed-prod-ir-g5", "search-embed-prod-alltraffic-model", days(12),
            status="FAILED", failure_reason="Benchmark failed for ml.g5.xlarge: the sample "
            "payload could not be parsed by the container (HTTP 415 Unsupported Media Type)",
            failed_types=(("ml.g5.xlarge", "ClientError: 415 from the container"),
                          ("ml.g6.xlarge", "ClientError: 415 from the container")))),))
    add("churn-predictor-prod", "over-provisioned CPU", [SimVariant(
        "AllTraffic", "ml.c5.4xlarge", 4, pattern=Pattern.DIURNAL, peak_rpm=300,
        latency_ms=22, cpu_peak_pct=9, cpu_idle_pct=2, memory_pct=14)], xgboost,
        tags=PROD, autoscaling={"AllTraffic": (4, 8, True)}, data_capture=True,
        # A load test from before the endpoint was trimmed: sized for far more than it gets.
        recommender_jobs=(("AllTraffic", SimRecommenderJob(
            "churn-predictor-ir-default", "churn-predictor-prod-alltraffic-model", days(20),
            recommendations=(
                SimRecommendation("ml.c5.2xlarge", 1, 4_500, 14, 71.0, 22.0, 0.408),
                SimRecommendation("ml.c5.xlarge", 1, 2_300, 17, 78.0, 31.0, 0.204),
                SimRecommendation("ml.m5.xlarge", 1, 1_900, 21, 74.0, 17.0, 0.23)),
            failed_types=(("ml.inf1.xlarge", "the model is not compiled for Inferentia"),))),))
    add("image-tagger-dev", "idle GPU", [SimVariant(
        "AllTraffic", "ml.g4dn.2xlarge", 1, pattern=Pattern.SPARSE, peak_rpm=2,
        latency_ms=80, cpu_peak_pct=4, memory_pct=22, gpu_idle_pct=0.5, gpu_peak_pct=3,
        gpu_memory_pct=18)], torch_gpu, tags=DEV, aws_idle_verdict=True)
    add("invoice-ocr-prod", "business-hours traffic", [SimVariant(
        "AllTraffic", "ml.m5.xlarge", 2, pattern=Pattern.BUSINESS_HOURS, peak_rpm=220,
        latency_ms=140, cpu_peak_pct=48, memory_pct=38)], torch_cpu, tags=PROD,
        autoscaling={"AllTraffic": (2, 4, True)}, data_capture=True,
        # A load test at the load production sees, which agrees with sagetop's plan.
        recommender_jobs=(("AllTraffic", SimRecommenderJob(
            "invoice-ocr-load-test", "invoice-ocr-prod-alltraffic-model", days(9),
            job_type="Advanced", max_invocations=300, latency_threshold_ms=400,
            duration_minutes=120, recommendations=(
                SimRecommendation("ml.c5.xlarge", 2, 170, 150, 63.0, 74.0, 0.408),
                SimRecommendation("ml.m5.xlarge", 2, 165, 155, 61.0, 38.0, 0.46)))),))
    add("nightly-scoring", "nightly bursts", [SimVariant(
        "AllTraffic", "ml.m5.2xlarge", 2, pattern=Pattern.NIGHTLY, peak_rpm=900,
        latency_ms=60, cpu_peak_pct=71, memory_pct=30)], xgboost,
        tags={"env": "production", "team": "finance"},
        autoscaling={"AllTraffic": (2, 2, False)})
    add("doc-summarizer", "slow large requests", [SimVariant(
        "AllTraffic", "ml.g5.2xlarge", 1, pattern=Pattern.STEADY, peak_rpm=3,
        latency_ms=41_000, latency_spread=1.6, cpu_peak_pct=20, memory_pct=55,
        gpu_idle_pct=2, gpu_peak_pct=45, gpu_memory_pct=72, error_5xx_ratio=0.01)], tgi,
        tags=STAGING, model_bytes=14_800_000_000)
    add("legacy-recs-v1", "idle for weeks", [SimVariant(
        "AllTraffic", "ml.m5.large", 2, pattern=Pattern.IDLE, peak_rpm=0, cpu_idle_pct=1.5,
        memory_pct=19)], sklearn, created_days=240, modified=200,
        tags={"env": "production", "team": "recs", "owner": "left-the-company"},
        aws_idle_verdict=True)
    for tenant in ("acme", "globex", "initech", "umbrella", "hooli", "stark"):
        add(f"forecast-{tenant}", "small look-alike (shared image)", [SimVariant(
            "AllTraffic", "ml.c5.xlarge", 1, pattern=Pattern.SPARSE, peak_rpm=4,
            latency_ms=12, cpu_peak_pct=5, cpu_idle_pct=1, memory_pct=9)], xgboost,
            # Forecasts are read by dashboards that tolerate a slow first answer.
            tags={"env": "production", "team": "forecasting", "tenant": tenant,
                  "sagetop:cold-start-tolerance-ms": "10000"},
            model_bytes=3_500_000)
    add("payments-fraud-prod", "saturated with 5XX", [SimVariant(
        "AllTraffic", "ml.c5.xlarge", 2, pattern=Pattern.DIURNAL, peak_rpm=5200,
        latency_ms=48, latency_spread=6.0, cpu_peak_pct=97, cpu_idle_pct=22, memory_pct=71,
        error_5xx_ratio=0.004, errors_grow_with_load=True)], own,
        tags={"env": "production", "team": "payments", "sagetop:p99-latency-ms": "150"},
        autoscaling={"AllTraffic": (2, 2, True)}, data_capture=True, kms_key=True, vpc=True,
        network_isolation=True,
        deployment=SimDeployment(strategy="rolling", step_percent=50, wait_s=300,
                                 rollback_alarms=("payments-fraud-prod-5xx",)))
    add("checkout-upsell-prod", "single-instance production", [SimVariant(
        "AllTraffic", "ml.m5.xlarge", 1, pattern=Pattern.DIURNAL, peak_rpm=600,
        latency_ms=25, cpu_peak_pct=38, memory_pct=33)], sklearn, tags=PROD)
    add("faq-bot-serverless", "serverless with cold starts", [SimVariant(
        "AllTraffic", None, 0, serverless_memory_mb=2048, serverless_max_concurrency=10,
        pattern=Pattern.SPARSE, peak_rpm=6, latency_ms=180, memory_pct=44,
        cold_start_ms=4_800)], torch_cpu, tags=PROD)
    add("credit-risk-prod", "drift violations", [SimVariant(
        "AllTraffic", "ml.m5.xlarge", 2, pattern=Pattern.DIURNAL, peak_rpm=450,
        latency_ms=30, cpu_peak_pct=41, memory_pct=36)], xgboost, tags=PROD,
        autoscaling={"AllTraffic": (2, 6, True)}, data_capture=True, kms_key=True,
        monitor=SimMonitor("credit-risk-prod-data-quality", violations=[
            {"feature_name": "income", "constraint_check_type": "baseline_drift_check",
             "description": "Baseline drift distance 0.31 exceeds threshold 0.1"},
            {"feature_name": "employment_length", "constraint_check_type":
                "data_type_check", "description": "Data type match 0.82 below 1.0"}],
            drift={"income": 0.31, "age": 0.04}),
        # Blue/green with a baking period, but no alarm to roll back on.
        deployment=SimDeployment(traffic="ALL_AT_ONCE", wait_s=900))
    add("pricing-ab-prod", "multi-variant A/B", [
        SimVariant("ModelA", "ml.c5.xlarge", 2, weight=0.5, pattern=Pattern.DIURNAL,
                   peak_rpm=700, latency_ms=20, cpu_peak_pct=44, memory_pct=28),
        SimVariant("ModelB", "ml.c5.xlarge", 2, weight=0.5, pattern=Pattern.DIURNAL,
                   peak_rpm=700, latency_ms=27, cpu_peak_pct=52, memory_pct=31)], xgboost,
        tags=PROD, autoscaling={"ModelA": (2, 4, True), "ModelB": (2, 4, True)},
        data_capture=True, modified=4, config_history_days=(11, 18, 25, 32, 39))
    add("sentiment-staging", "sparse traffic, tolerates cold starts", [SimVariant(
        "AllTraffic", "ml.m5.large", 1, pattern=Pattern.SPARSE, peak_rpm=3, latency_ms=40,
        cpu_peak_pct=6, memory_pct=24)], torch_cpu, tags=STAGING)
    add("video-captions-async", "asynchronous inference", [SimVariant(
        "AllTraffic", "ml.g4dn.xlarge", 1, pattern=Pattern.SPIKY, peak_rpm=30,
        latency_ms=95_000, latency_spread=1.4, cpu_peak_pct=25, memory_pct=47,
        gpu_idle_pct=1, gpu_peak_pct=80, gpu_memory_pct=58)], torch_gpu, tags=PROD,
        async_endpoint=True, autoscaling={"AllTraffic": (1, 4, True)})
    add("ner-pipeline-prod", "serial inference pipeline", [SimVariant(
        "AllTraffic", "ml.m5.large", 2, pattern=Pattern.STEADY, peak_rpm=260, latency_ms=65,
        cpu_peak_pct=55, memory_pct=61, container_count=2)], sklearn, tags=PROD,
        pipeline=True, autoscaling={"AllTraffic": (2, 4, True)}, data_capture=True,
        # Its config publishes every 5 minutes: one datapoint per 300 s, never per minute.
        metric_publish_frequency_s=300)
    add("recs-multi-model", "multi-model endpoint", [SimVariant(
        "AllTraffic", "ml.c5.2xlarge", 2, pattern=Pattern.DIURNAL, peak_rpm=900,
        latency_ms=15, cpu_peak_pct=45, memory_pct=66, peak_instances=3,
        model_cache_hit=0.985, model_load_ms=600, models_per_instance=24)], xgboost, tags=PROD,
        multi_model=True, autoscaling={"AllTraffic": (2, 6, True)}, data_capture=True)
    add("ads-tenant-models", "multi-model cache thrashing", [SimVariant(
        "AllTraffic", "ml.c5.xlarge", 2, pattern=Pattern.DIURNAL, peak_rpm=400,
        latency_ms=25, cpu_peak_pct=38, memory_pct=76, model_cache_hit=0.55,
        model_load_ms=4_200, models_per_instance=6)], xgboost,
        tags={"env": "production", "team": "ads", "sagetop:cold-start-tolerance-ms": "2000"},
        multi_model=True, data_capture=True, model_bytes=900_000_000)
    add("llm-canary", "too new to judge", [SimVariant(
        "AllTraffic", "ml.g5.2xlarge", 1, pattern=Pattern.SPARSE, peak_rpm=2,
        latency_ms=900, cpu_peak_pct=5, memory_pct=50, gpu_idle_pct=1, gpu_peak_pct=5,
        gpu_memory_pct=70)], tgi, created_days=3, modified=3, tags=STAGING)
    # An LLM behind TGI, sharded over the 4 GPUs of each instance. TGI preallocates ~90 % of GPU
    # memory for its KV cache at start-up, so GPU memory sits at 91 % whatever the load; the GPUs
    # themselves are comfortably busy and generation takes seconds, within the objective.
    add("chat-assistant-prod", "LLM server, GPU memory preallocated", [SimVariant(
        "AllTraffic", "ml.g5.12xlarge", 2, pattern=Pattern.DIURNAL, peak_rpm=90,
        latency_ms=2_600, latency_spread=1.8, cpu_peak_pct=14, cpu_idle_pct=4, memory_pct=31,
        gpu_idle_pct=8, gpu_peak_pct=52, gpu_memory_pct=91)], tgi,
        tags={**PROD, "sagetop:p99-latency-ms": "12000"},
        framework_env={"HF_MODEL_ID": "meta-llama/Llama-3.1-8B-Instruct", "SM_NUM_GPUS": "4",
                       "MAX_INPUT_TOKENS": "4096", "MAX_TOTAL_TOKENS": "8192"},
        autoscaling={"AllTraffic": (2, 4, True)}, data_capture=True, kms_key=True,
        model_bytes=16_100_000_000)
    # A model compiled for Inferentia2 (neuronx), lightly used. CloudWatch publishes no
    # Inferentia utilisation: only CPU and memory are seen.
    add("product-embed-inf2", "Inferentia2, lightly used", [SimVariant(
        "AllTraffic", "ml.inf2.xlarge", 1, pattern=Pattern.DIURNAL, peak_rpm=45,
        latency_ms=14, cpu_peak_pct=9, cpu_idle_pct=2, memory_pct=28)], neuronx,
        tags=STAGING, model_bytes=1_300_000_000)
    # A GPU build of PyTorch whose GPUs are barely used: a smaller GPU type, never a CPU one
    # (the image only runs on CUDA).
    add("reranker-gpu-prod", "GPU build, GPU barely used", [SimVariant(
        "AllTraffic", "ml.g5.2xlarge", 2, pattern=Pattern.DIURNAL, peak_rpm=240,
        latency_ms=28, cpu_peak_pct=11, cpu_idle_pct=3, memory_pct=24, gpu_idle_pct=0.5,
        gpu_peak_pct=4, gpu_memory_pct=19)], torch_gpu, tags=PROD,
        autoscaling={"AllTraffic": (2, 4, True)}, data_capture=True, kms_key=True)
    add("speech-to-text-beta", "failed deployment", [SimVariant(
        "AllTraffic", "ml.g4dn.xlarge", 1, pattern=Pattern.IDLE)], torch_gpu,
        created_days=1, modified=1, status="Failed", tags=DEV,
        failure_reason="The primary container for production variant AllTraffic did not pass "
                       "the ping health check.")
    # Experiments (appended: the endpoints above keep their index and so their metrics).
    add("search-rerank-shadow", "shadow test", [
        SimVariant("Production", "ml.c5.xlarge", 2, pattern=Pattern.DIURNAL, peak_rpm=800,
                   latency_ms=25, cpu_peak_pct=46, memory_pct=30, error_5xx_ratio=0.0004),
        # The shadow receives a sampled copy of half the requests; its answers are discarded.
        SimVariant("Candidate", "ml.c6i.xlarge", 1, weight=0.5, shadow=True,
                   pattern=Pattern.DIURNAL, peak_rpm=400, latency_ms=19, cpu_peak_pct=40,
                   memory_pct=33, error_5xx_ratio=0.006)], torch_cpu, tags=PROD,
        autoscaling={"Production": (2, 4, True)}, data_capture=True, modified=6,
        config_history_days=(20, 48),
        deployment=SimDeployment(traffic="CANARY", step_percent=20, wait_s=600,
                                 rollback_alarms=("search-rerank-5xx",)))
    add("recs-ab-finished", "finished A/B test", [
        SimVariant("ModelA", "ml.m5.large", 2, weight=1.0, pattern=Pattern.DIURNAL,
                   peak_rpm=500, latency_ms=30, cpu_peak_pct=45, memory_pct=40),
        SimVariant("ModelB", "ml.m5.large", 2, weight=0.0, pattern=Pattern.DIURNAL,
                   peak_rpm=500, latency_ms=33, cpu_peak_pct=47, memory_pct=41,
                   traffic_until=days(9))], sklearn, tags=PROD,
        autoscaling={"ModelA": (2, 4, True)}, data_capture=True, modified=9,
        config_history_days=(30, 61))
    add("ranker-ab-equal", "A/B test of two equal variants", [
        SimVariant("ModelA", "ml.c5.xlarge", 2, weight=0.5, pattern=Pattern.DIURNAL,
                   peak_rpm=600, latency_ms=22, cpu_peak_pct=41, memory_pct=29),
        SimVariant("ModelB", "ml.c5.xlarge", 2, weight=0.5, pattern=Pattern.DIURNAL,
                   peak_rpm=600, latency_ms=22, cpu_peak_pct=41, memory_pct=29)], xgboost,
        tags=PROD, autoscaling={"ModelA": (2, 4, True), "ModelB": (2, 4, True)},
        data_capture=True, modified=6)
    add("upsell-ab-canary", "A/B test with too little traffic", [
        SimVariant("ModelA", "ml.m5.large", 2, weight=0.99, pattern=Pattern.DIURNAL,
                   peak_rpm=300, latency_ms=28, cpu_peak_pct=35, memory_pct=31),
        SimVariant("ModelB", "ml.m5.large", 1, weight=0.01, pattern=Pattern.DIURNAL,
                   peak_rpm=0.3, latency_ms=26, cpu_peak_pct=4, memory_pct=30)], sklearn,
        tags=PROD, autoscaling={"ModelA": (2, 4, True)}, data_capture=True, modified=1)
    # Last, so that every endpoint above keeps its index (and its seeded metrics).
    # Two LLMs sharing one ml.g5.12xlarge (4 A10G GPUs) as inference components, busy all day:
    # ~80 requests a minute in total, none of them visible per variant.
    add("llm-assistants-prod", "inference components sharing a GPU instance", [SimVariant(
        "AllTraffic", "ml.g5.12xlarge", 1, pattern=Pattern.STEADY, peak_rpm=90, latency_ms=0,
        cpu_idle_pct=4, cpu_peak_pct=18, memory_pct=46, gpu_idle_pct=20, gpu_peak_pct=72,
        gpu_memory_pct=81)], tgi, tags=PROD, components=[
        SimComponent("chat-llama-8b", "AllTraffic", tgi, accelerators=1, cpu_cores=4,
                     memory_mb=32_768, copies=2, autoscaling=(1, 3, True),
                     pattern=Pattern.STEADY, peak_rpm=50, latency_ms=1_400,
                     latency_spread=2.2, cpu_peak_pct=35, memory_pct=70, gpu_idle_pct=15,
                     gpu_peak_pct=75, gpu_memory_pct=88),
        SimComponent("summarize-mistral-7b", "AllTraffic", tgi, accelerators=1, cpu_cores=4,
                     memory_mb=32_768, copies=2, pattern=Pattern.STEADY, peak_rpm=40,
                     latency_ms=2_600, latency_spread=1.8, cpu_peak_pct=30, memory_pct=66,
                     gpu_idle_pct=10, gpu_peak_pct=68, gpu_memory_pct=84)],
        managed_scaling=(1, 2), data_capture=True, kms_key=True)
    # Scales to zero at night: managed instance scaling down to 0 instances, the component's
    # copies down to 0 outside business hours (no metrics then: no data, not zero traffic).
    add("code-review-llm", "inference component scaling to zero at night", [SimVariant(
        "AllTraffic", "ml.g5.2xlarge", 1, pattern=Pattern.BUSINESS_HOURS, peak_rpm=25,
        latency_ms=0, cpu_idle_pct=3, cpu_peak_pct=22, memory_pct=40, gpu_idle_pct=5,
        gpu_peak_pct=60, gpu_memory_pct=75)], tgi, tags=STAGING, components=[
        SimComponent("code-review-qwen-7b", "AllTraffic", tgi, accelerators=1, cpu_cores=4,
                     memory_mb=24_576, copies=1, autoscaling=(0, 2, True),
                     scale_to_zero=True, pattern=Pattern.BUSINESS_HOURS, peak_rpm=25,
                     latency_ms=1_800, cpu_peak_pct=30, memory_pct=62, gpu_idle_pct=5,
                     gpu_peak_pct=70, gpu_memory_pct=80)],
        managed_scaling=(0, 2))
    # A development endpoint used only in office hours (09-18 UTC, 10-19 in Berlin in winter)
    # that keeps two instances through nights and weekends: an off-hours schedule's case.
    add("contract-ner-dev", "office hours only, capacity around the clock", [SimVariant(
        "AllTraffic", "ml.c5.2xlarge", 2, pattern=Pattern.BUSINESS_HOURS, peak_rpm=120,
        latency_ms=90, cpu_idle_pct=2, cpu_peak_pct=55, memory_pct=25)], torch_cpu,
        tags={**DEV, "sagetop:timezone": "Europe/Berlin"})
    return fleet


def scaled_fleet(count: int | None, seed: int, regions: tuple[str, ...],
                 now: dt.datetime) -> list[SimEndpoint]:
    """The archetypes of every region, or `count` endpoints made from them with seeded variety."""
    base = [e for region in regions for e in archetypes(region, now)]
    if count is None:
        return base
    if count <= len(base):
        return _renumber(base[:count])
    rng = random.Random(seed)
    fleet = list(base)
    serial = 0
    while len(fleet) < count:
        template = base[serial % len(base)]
        serial += 1
        if template.status != "InService":
            continue
        factor = rng.choice((0.25, 0.5, 1.0, 1.5, 2.0))
        variants = [replace(v, peak_rpm=v.peak_rpm * factor,
                            cpu_peak_pct=min(99.0, v.cpu_peak_pct * rng.uniform(0.7, 1.3)))
                    for v in template.variants]
        # Component names are unique per region, like endpoint names.
        components = [replace(c, name=f"{c.name}-{serial:05d}") for c in template.components]
        fleet.append(replace(template, name=f"{template.name}-{serial:05d}", variants=variants,
                             created=template.created - dt.timedelta(hours=rng.randrange(0, 96)),
                             tags=dict(template.tags), autoscaling=dict(template.autoscaling),
                             components=components))
    return _renumber(fleet)


def _renumber(fleet: list[SimEndpoint]) -> list[SimEndpoint]:
    return [replace(e, index=i) for i, e in enumerate(fleet)]


def vcpus(instance_type: str | None) -> int:
    spec = spec_for(instance_type)
    return spec.vcpu if spec else 2


def gpus(instance_type: str | None) -> int:
    """GPUs that publish GPUUtilization: NVIDIA ones. Inferentia and Trainium chips publish no
    accelerator metric in CloudWatch, so a Neuron variant has none (an unknown type neither)."""
    spec = spec_for(instance_type)
    return spec.gpu_count if spec and spec.has_gpu else 0
