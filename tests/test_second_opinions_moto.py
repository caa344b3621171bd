"""Second opinions against moto's server: Inference Recommender jobs (completed and failed),
Compute Optimizer and Cost Optimization Hub (enabled and not), deployment configurations.

moto has none of these APIs; `tests/moto_aws.py` stands in for them over the same HTTP.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from collectors.aws import AwsContext, AwsTarget
from collectors.fleet import FleetCollector
from ground.config import SagetopConfig
from ground.domain import FleetSnapshot
from pipeline.analysis import Analyst
from tests.conftest import REGION, Moto

NOW = dt.datetime.now(dt.UTC)
ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def completed_job(name: str, model: str, *, recommendations: list[dict[str, Any]],
                  days_ago: float = 3.0, job_type: str = "Default",
                  max_invocations: int | None = None) -> dict[str, Any]:
    created = (NOW - dt.timedelta(days=days_ago)).timestamp()
    job: dict[str, Any] = {
        "JobName": name, "JobDescription": "", "JobType": job_type,
        "JobArn": f"{ARN}:inference-recommendations-job/{name}", "Status": "COMPLETED",
        "CreationTime": created, "CompletionTime": created + 2700,
        "LastModifiedTime": created + 2700, "RoleArn": f"{ARN}:role/ir",
        "InputConfig": {"ModelName": model, "ContainerConfig": {"PayloadConfig": {
            "SamplePayloadUrl": f"s3://payloads/{model}.tar.gz",
            "SupportedContentTypes": ["text/csv"]}},
            "EndpointConfigurations": [{"InstanceType": r["type"]} for r in recommendations]},
        "InferenceRecommendations": [{
            "RecommendationId": f"{name}/{i}",
            "Metrics": {"CostPerHour": r["cost"], "CostPerInference": 0.000002,
                        "MaxInvocations": r["max"], "ModelLatency": r["latency"],
                        "CpuUtilization": 70.0, "MemoryUtilization": float("nan")},
            "EndpointConfiguration": {"EndpointName": f"{name}-{i}", "VariantName": "v",
                                      "InstanceType": r["type"],
                                      "InitialInstanceCount": r.get("count", 1)},
            "ModelConfiguration": {}} for i, r in enumerate(recommendations)],
    }
    if max_invocations:
        job["StoppingConditions"] = {"MaxInvocations": max_invocations}
    return job


def failed_job(name: str, model: str) -> dict[str, Any]:
    created = (NOW - dt.timedelta(days=1)).timestamp()
    return {"JobName": name, "JobDescription": "", "JobType": "Default",
            "JobArn": f"{ARN}:inference-recommendations-job/{name}", "Status": "FAILED",
            "CreationTime": created, "LastModifiedTime": created + 600,
            "CompletionTime": created + 600, "RoleArn": f"{ARN}:role/ir",
            "FailureReason": "Sample payload could not be parsed",
            "InputConfig": {"ModelName": model}}


async def collect(moto: Moto, rounds: int = 1) -> tuple[FleetSnapshot, dict[str, int]]:
    target = AwsTarget(regions=(REGION,), endpoint_url=moto.url)
    async with AwsContext(SagetopConfig().aws, target) as aws:
        collector = FleetCollector(aws)
        fleet = await collector.collect(force=True)
        for _ in range(rounds - 1):
            fleet = await collector.collect()
        return fleet, dict(aws.ledger.requests)


async def test_recommender_jobs_are_matched_to_the_endpoint_by_model(moto: Moto) -> None:
    moto.create_endpoint("fraud-prod", "ml.c5.2xlarge", 2, tags={"env": "prod"})
    moto.create_endpoint("other-prod", "ml.m5.large", 2)
    opinions = moto.middleware.opinions
    opinions.jobs += [
        completed_job("fraud-ir", "fraud-prod-model", recommendations=[
            {"type": "ml.c5.xlarge", "max": 1200, "latency": 18, "cost": 0.204},
            {"type": "ml.m5.xlarge", "max": 900, "latency": 25, "cost": 0.23}]),
        failed_job("fraud-ir-retry", "fraud-prod-model"),
        completed_job("unrelated-ir", "some-other-model", recommendations=[
            {"type": "ml.c5.large", "max": 500, "latency": 9, "cost": 0.102}])]
    opinions.steps["fraud-ir"] = [{
        "StepType": "BENCHMARK", "JobName": "fraud-ir", "Status": "FAILED",
        "InferenceBenchmark": {"EndpointConfiguration": {"EndpointName": "x",
                                                         "VariantName": "v",
                                                         "InstanceType": "ml.inf1.xlarge"},
                               "ModelConfiguration": {},
                               "FailureReason": "not compiled for Inferentia"}}]
    fleet, requests = await collect(moto)
    assert fleet.errors == ()
    fraud = fleet.endpoint("fraud-prod")
    assert fraud is not None
    jobs = {j.name: j for j in fraud.recommender.jobs}
    assert set(jobs) == {"fraud-ir", "fraud-ir-retry"}  # the unrelated job is not ours
    assert jobs["fraud-ir"].matched_by == "model name"
    assert jobs["fraud-ir"].variants == ("AllTraffic",)
    first = jobs["fraud-ir"].recommendations[0]
    assert (first.instance_type, first.instance_count) == ("ml.c5.xlarge", 1)
    assert first.metrics.model_latency_ms == 18  # milliseconds, as Inference Recommender says
    assert first.metrics.memory_utilisation_pct is None  # NaN: not available
    assert jobs["fraud-ir"].sample_payload_url == "s3://payloads/fraud-prod-model.tar.gz"
    assert jobs["fraud-ir"].benchmarks[0].failure_reason == "not compiled for Inferentia"
    assert jobs["fraud-ir-retry"].failure_reason == "Sample payload could not be parsed"
    assert fleet.endpoint("other-prod").recommender.jobs == ()  # type: ignore[union-attr]
    # The job of a model the fleet does not deploy is looked up (to match it by image) but
    # never described; the other two are described with their steps, once.
    assert requests["sagemaker:DescribeInferenceRecommendationsJob"] == 2
    assert requests["sagemaker:ListInferenceRecommendationsJobSteps"] == 2
    # Not opted in to either AWS advisor: "not enabled", not an error.
    assert {(s.source, s.status) for s in fleet.verdict_sources} == {
        ("compute-optimizer", "not enabled"), ("cost-optimization-hub", "not enabled")}

    analysis = Analyst().analyse(fleet)
    item = analysis.endpoints[fraud.key]
    (comparison,) = item.recommender
    assert comparison.job == "fraud-ir"  # a failed retry does not void the completed test
    variant = item.current.variants[0]
    assert variant.recommended_instance_type.value == "ml.c5.xlarge"
    assert variant.recommended_instance_type.origin == "recommended"
    assert "fraud-ir" in (variant.recommended_instance_type.source or "")
    assert "s3://payloads/fraud-prod-model.tar.gz" in variant.recommended_instance_type.note
    # moto created the model a moment ago, after the job ran: the test measured an older one.
    assert comparison.stale and comparison.winner == "production traffic"
    assert "earlier model" in comparison.reason
    disagreement = [f for f in item.findings if f.kind == "recommender-disagrees"]
    assert len(disagreement) == 1 and disagreement[0].suggested == ()


async def test_finished_jobs_are_described_once(moto: Moto) -> None:
    moto.create_endpoint("steady-prod", "ml.c5.xlarge", 2)
    moto.middleware.opinions.jobs.append(completed_job(
        "steady-ir", "steady-prod-model",
        recommendations=[{"type": "ml.c5.large", "max": 800, "latency": 12, "cost": 0.102}]))
    target = AwsTarget(regions=(REGION,), endpoint_url=moto.url)
    async with AwsContext(SagetopConfig().aws, target) as aws:
        collector = FleetCollector(aws)
        await collector.collect(force=True)
        await collector.collect(force=True)
        assert aws.ledger.requests["sagemaker:ListInferenceRecommendationsJobs"] == 2
        assert aws.ledger.requests["sagemaker:DescribeInferenceRecommendationsJob"] == 1


async def test_aws_verdicts_beside_findings_when_enabled(moto: Moto) -> None:
    moto.create_endpoint("quiet-prod", "ml.m5.large", 2)
    arn = f"{ARN}:endpoint/quiet-prod"
    opinions = moto.middleware.opinions
    opinions.compute_optimizer = [{
        "resourceArn": arn, "resourceId": "quiet-prod", "resourceType": "SageMakerEndpoint",
        "finding": "Idle", "findingDescription": "no invocations",
        "savingsOpportunity": {"savingsOpportunityPercentage": 100.0,
                               "estimatedMonthlySavings": {"currency": "USD", "value": 168.0}},
        "lookBackPeriodInDays": 14.0}]
    opinions.cost_hub = [
        {"recommendationId": "r1", "region": REGION, "resourceArn": arn,
         "currentResourceType": "SageMakerEndpoint", "actionType": "Delete",
         "estimatedMonthlySavings": 168.0, "currencyCode": "USD", "source": "ComputeOptimizer"},
        {"recommendationId": "r2", "region": "Global", "resourceArn": "",
         "currentResourceType": "SageMakerSavingsPlans", "actionType": "PurchaseSavingsPlans",
         "estimatedMonthlySavings": 40.0, "currencyCode": "USD",
         "recommendedResourceSummary": "1-year SageMaker Savings Plan"}]
    fleet, _ = await collect(moto)
    assert fleet.errors == ()
    quiet = fleet.endpoint("quiet-prod")
    assert quiet is not None
    assert {(v.source, v.action) for v in quiet.aws_verdicts} == {
        ("compute-optimizer", "Idle"), ("cost-optimization-hub", "Delete")}
    assert [v.action for v in fleet.account_verdicts] == ["PurchaseSavingsPlans"]
    analysis = Analyst().analyse(fleet)
    # moto's endpoint was created a moment ago: sagetop cannot call it idle yet, AWS does.
    rows = analysis.endpoints[quiet.key].verdicts
    assert {r.agreement for r in rows} == {"aws only"}
    assert analysis.opinions.verdicts_aws_only == 2
    assert analysis.opinions.account_verdicts[0].monthly_savings_usd == 40.0


async def test_not_enabled_is_asked_again_only_at_its_cadence(moto: Moto) -> None:
    moto.create_endpoint("plain-prod")
    target = AwsTarget(regions=(REGION,), endpoint_url=moto.url)
    async with AwsContext(SagetopConfig().aws, target) as aws:
        collector = FleetCollector(aws)
        first = await collector.collect(force=True)
        second = await collector.collect()
        assert aws.ledger.requests["compute-optimizer:GetIdleRecommendations"] == 1
        assert aws.ledger.requests["cost-optimization-hub:ListEnrollmentStatuses"] == 1
        assert "cost-optimization-hub:ListRecommendations" not in aws.ledger.requests
    for fleet in (first, second):
        assert fleet.errors == ()
        assert {s.status for s in fleet.verdict_sources} == {"not enabled"}


async def test_no_permission_for_an_advisor_is_one_line_and_the_rest_works(moto: Moto) -> None:
    moto.create_endpoint("denied-prod")
    moto.middleware.denied.add("compute-optimizer:GetIdleRecommendations")
    moto.middleware.denied.add("sagemaker:ListInferenceRecommendationsJobs")
    fleet, _ = await collect(moto)
    messages = sorted(e.message for e in fleet.errors)
    assert messages == ["no permission for compute-optimizer:GetIdleRecommendations",
                        "no permission for sagemaker:ListInferenceRecommendationsJobs"]
    denied = fleet.endpoint("denied-prod")
    assert denied is not None and denied.described
    assert denied.recommender.error == \
        "no permission for sagemaker:ListInferenceRecommendationsJobs"
    statuses = {s.source: s.status for s in fleet.verdict_sources}
    assert statuses == {"compute-optimizer": "no permission",
                        "cost-optimization-hub": "not enabled"}


async def test_deployment_guardrails_become_a_characteristic(moto: Moto) -> None:
    moto.create_endpoint("guarded-prod", "ml.c5.xlarge", 2)
    moto.create_endpoint("unguarded-prod", "ml.c5.xlarge", 2)
    moto.create_endpoint("sloppy-staging", "ml.c5.xlarge", 2, tags={"env": "staging"})
    moto.middleware.opinions.deployment_configs["guarded-prod"] = {
        "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
            "Type": "CANARY", "WaitIntervalInSeconds": 600,
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}},
            "TerminationWaitInSeconds": 300},
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "guarded-5xx"}]}}
    fleet, _ = await collect(moto)
    guarded = fleet.endpoint("guarded-prod")
    assert guarded is not None and guarded.deployment_config is not None
    assert guarded.deployment_config.traffic == "canary"
    assert guarded.deployment_config.step is not None
    assert guarded.deployment_config.step.text == "10 %"
    assert guarded.deployment_config.rollback_alarms == ("guarded-5xx",)
    analysis = Analyst().analyse(fleet)
    kinds = {key.split("/")[1]: {str(f.kind) for f in item.findings}
             for key, item in analysis.endpoints.items()}
    assert "no-deployment-guardrails" not in kinds["guarded-prod"]
    assert "no-deployment-guardrails" in kinds["unguarded-prod"]
    assert "no-deployment-guardrails" not in kinds["sloppy-staging"]  # production only
    levels = {key.split("/")[1]: item.maturity_current.characteristic("deployment_strategy")
              for key, item in analysis.endpoints.items()}
    assert int(levels["guarded-prod"].level or 0) == 4
    assert int(levels["unguarded-prod"].level or 0) == 1
    assert int(levels["sloppy-staging"].level or 0) == 2
    unguarded = analysis.endpoints[f"{REGION}/unguarded-prod"]
    assert unguarded.current.auto_rollback.value is False
    assert unguarded.current.deployment_strategy.value == "blue-green-all-at-once"
    # Accepting the finding gives the target automatic rollback, and a better level.
    assert unguarded.target.auto_rollback.value is True
    target_level = unguarded.maturity_target.characteristic("deployment_strategy").level
    assert int(target_level or 0) == 3
