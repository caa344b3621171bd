"""Second opinions beside sagetop's plan: Inference Recommender load tests and AWS's own advisors.

* Inference Recommender: the latest finished job for a variant's model is compared with sagetop's
  plan for that variant (the sizing finding's proposal, else the configuration as it is). When
  they disagree, which evidence wins and why: production traffic over the lookback, or a load
  test on the very type proposed. The answer is a `recommender-disagrees` finding whose options
  are both configurations, costed from one price book, so a planner can choose between them.
* Where no job exists and sagetop's own sizing options are close in cost, the sizing finding gets
  one more option: an experiment, "run Inference Recommender on these types", with the command.
* Compute Optimizer and Cost Optimization Hub verdicts are set beside sagetop's findings:
  agreement and disagreement, counted for the summary.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from advisors.context import AdvisorContext
from advisors.cost import CostEstimate, instances_monthly_cost, variant_monthly_cost
from advisors.finding import CostedOption, Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.limits import RECOMMENDER_DEFAULT_JOB_HOURS
from advisors.rules.common import keep, kgco2e
from ground.domain import (
    AwsVerdict,
    EndpointSnapshot,
    InferenceRecommendation,
    RecommenderJob,
    VariantSnapshot,
    VerdictSourceStatus,
)

SIZING_KINDS = frozenset({FindingKind.OVER_PROVISIONED, FindingKind.UNDER_PROVISIONED})
_SIZED_LABEL = re.compile(r"^(\d+)x (ml\.[a-z0-9.-]+)$")
_FRACTIONS = {2: "half", 3: "a third", 4: "a quarter", 5: "a fifth", 6: "a sixth",
              7: "a seventh", 8: "an eighth", 9: "a ninth", 10: "a tenth"}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RecommenderComparison(_Model):
    """sagetop's plan for one variant beside the latest finished Inference Recommender job."""

    endpoint: str
    variant: str
    job: str
    job_type: str
    job_status: str
    job_finished: dt.datetime
    matched_by: str | None
    payload: str | None
    plan_label: str  # e.g. "2x ml.c5.large"
    plan_source: str  # the finding kind that proposed it, or "current configuration"
    plan_monthly_usd: float | None
    recommendation: InferenceRecommendation | None  # the one the job lists first
    recommendation_monthly_usd: float | None
    price_source: str
    production_p95_rpm: float | None  # p95 of the hourly mean requests per minute
    production_peak_rpm: float | None
    test_load_rpm: float | None  # the load the recommendation was sized for
    load_ratio: float | None  # production p95 / test load
    stale: bool  # the job measured an older model than the one deployed
    agree: bool
    winner: str  # agree | production traffic | load test | no result
    reason: str
    # Benchmarks of the job that failed (ListInferenceRecommendationsJobSteps): (type, why).
    failed_benchmarks: tuple[tuple[str, str], ...] = ()


class VerdictComparison(_Model):
    endpoint: str
    source: str  # compute-optimizer | cost-optimization-hub
    action: str
    monthly_savings_usd: float | None
    agreement: str  # agree | aws only | sagetop only
    sagetop_finding: str | None  # the finding kind that agrees, or sagetop's own one
    note: str


class OpinionsSummary(_Model):
    verdicts_agree: int = 0
    verdicts_aws_only: int = 0
    verdicts_sagetop_only: int = 0
    recommender_agree: int = 0
    recommender_production_wins: int = 0
    recommender_load_test_wins: int = 0
    experiments_suggested: int = 0
    sources: tuple[VerdictSourceStatus, ...] = ()
    account_verdicts: tuple[AwsVerdict, ...] = ()  # SageMaker Savings Plans purchases


# ---------------------------------------------------------------------------- small helpers

def fraction_words(ratio: float) -> str:
    """0.33 -> "a third"; 0.1 -> "a tenth"; 2.5 -> "2.5 times"."""
    if ratio >= 1:
        return f"{ratio:.1f} times"
    parts = round(1.0 / ratio) if ratio > 0 else 0
    return _FRACTIONS.get(parts, f"1/{parts}" if parts else "none")


def _plan(endpoint: EndpointSnapshot, variant: VariantSnapshot,
          findings: Sequence[Finding]) -> tuple[str | None, int, str, Finding | None]:
    """(type, count, source, finding) of sagetop's plan for the variant."""
    for finding in findings:
        if finding.kind not in SIZING_KINDS or finding.variant != variant.name:
            continue
        proposed = {c.characteristic: c.proposed for c in finding.suggested}
        return (str(proposed.get("instance_type", variant.instance_type)),
                int(proposed.get("instance_count", variant.current_instance_count)),
                f"{finding.kind} finding", finding)
    return variant.instance_type, variant.current_instance_count, "current configuration", None


def _production_rpm(ctx: AdvisorContext, key: str, variant: str) -> tuple[float | None,
                                                                         float | None]:
    frame = ctx.fleet.metrics.series("hourly", "requests", key)
    columns = [c for c in frame.columns if c[1] == variant]
    if not columns:
        return None, None
    values = frame[columns[0]].to_numpy(dtype="float64")
    values = values[~np.isnan(values)]
    if not len(values) or not values.any():
        return None, None
    per_minute = values / 60.0
    return float(np.quantile(per_minute, 0.95)), float(per_minute.max())


def _cost(instance_type: str | None, count: int, region: str, ctx: AdvisorContext
          ) -> CostEstimate:
    if instance_type is None:
        return CostEstimate(usd=None, source="serverless: priced per request", estimated=True)
    return instances_monthly_cost(instance_type, count, region, ctx.prices)


def _day(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d")


# ---------------------------------------------------------------- Inference Recommender

def _latest_finished(jobs: Sequence[RecommenderJob], variant: str) -> RecommenderJob | None:
    """The newest job with recommendations; else the newest finished one (why it failed).

    A failed retry does not void an earlier completed load test of the same model."""
    mine = [j for j in jobs if variant in j.variants]  # newest first
    completed = next((j for j in mine if j.status == "COMPLETED" and j.recommendations), None)
    return completed or next((j for j in mine if j.status in ("COMPLETED", "FAILED",
                                                              "STOPPED")), None)


def compare_recommender(ctx: AdvisorContext, endpoint: EndpointSnapshot,
                        variant: VariantSnapshot, job: RecommenderJob,
                        findings: Sequence[Finding]) -> RecommenderComparison:
    plan_type, plan_count, plan_source, _ = _plan(endpoint, variant, findings)
    plan_label = (f"{plan_count}x {plan_type}" if plan_type else
                  f"serverless {variant.serverless.memory_mb if variant.serverless else '?'} MB")
    plan_cost = _cost(plan_type, plan_count, endpoint.region, ctx)
    p95, peak = _production_rpm(ctx, endpoint.key, variant.name)
    base = {"endpoint": endpoint.key, "variant": variant.name, "job": job.name,
            "job_type": job.job_type, "job_status": job.status,
            "job_finished": job.finished_at, "matched_by": job.matched_by,
            "payload": job.sample_payload_url, "plan_label": plan_label,
            "failed_benchmarks": tuple((b.instance_type or "?", b.failure_reason or b.status)
                                       for b in job.benchmarks if b.status == "FAILED"),
            "plan_source": plan_source, "plan_monthly_usd": plan_cost.usd,
            "production_p95_rpm": p95, "production_peak_rpm": peak}
    rec = job.recommendations[0] if job.recommendations else None
    if rec is None:
        why = (f"job {job.status.lower()}: {job.failure_reason}" if job.failure_reason
               else f"job {job.status.lower()} without recommendations")
        return RecommenderComparison(**base, recommendation=None,
                                     recommendation_monthly_usd=None,
                                     price_source=plan_cost.source, test_load_rpm=None,
                                     load_ratio=None, stale=False, agree=False,
                                     winner="no result", reason=why)
    count = rec.instance_count or 1
    rec_cost = _cost(rec.instance_type, count, endpoint.region, ctx)
    per_instance = rec.metrics.max_invocations_per_minute
    test_load = (float(job.max_invocations_per_minute) if job.max_invocations_per_minute
                 else float(per_instance * count) if per_instance else None)
    ratio = p95 / test_load if p95 is not None and test_load else None
    model_created = variant.model.creation_time if variant.model else None
    stale = model_created is not None and model_created > job.finished_at
    agree = rec.instance_type == plan_type and count == plan_count
    needs = ctx.requirements_of(endpoint.key)
    notes: list[str] = []
    if rec.instance_type is not None and count < needs.min_instances:
        notes.append(f"it runs {count} instance(s), below the required minimum of "
                     f"{needs.min_instances}")
    latency = rec.metrics.model_latency_ms
    if latency is not None and needs.p99_latency_ms is not None and \
            latency > needs.p99_latency_ms:
        notes.append(f"its model latency under load ({latency:,.0f} ms) misses the p99 "
                     f"objective of {needs.p99_latency_ms:,.0f} ms")
    measured = (f"the test measured {rec.label} at {per_instance:,} requests/min per instance "
                f"and {latency:,.0f} ms" if per_instance and latency is not None
                else f"the test measured {rec.label}")
    if agree:
        winner, reason = "agree", (f"both choose {plan_label}: {measured}"
                                   + (f"; production p95 is {p95:,.0f}/min" if p95 else ""))
    elif stale and model_created is not None:
        winner, reason = "production traffic", (
            f"the load test measured an earlier model: the job finished "
            f"{_day(job.finished_at)}, the deployed model was created {_day(model_created)}")
    elif p95 is None or test_load is None:
        winner, reason = "load test", (
            "no production traffic to size on yet" if p95 is None
            else "the job reports no throughput to compare") + f"; {measured}"
    elif ratio is not None and ratio < ctx.settings.recommender_load_ratio_low:
        winner, reason = "production traffic", (
            f"production p95 ({p95:,.0f} requests/min) is {fraction_words(ratio)} of the load "
            f"the test assumed ({test_load:,.0f}/min): the recommendation is sized for traffic "
            "this endpoint does not get, and sagetop sizes on the utilisation production shows "
            f"over {ctx.fleet.lookback_days} days")
    elif ratio is not None and ratio > 1.0:
        winner, reason = "production traffic", (
            f"production p95 ({p95:,.0f} requests/min) exceeds what {rec.label} sustained in "
            f"the test ({test_load:,.0f}/min): it would saturate; sagetop sizes on production")
    else:
        sagetop_side = (f"while sagetop projects utilisation onto {plan_type} from what "
                        f"{variant.instance_type} shows" if plan_type != variant.instance_type
                        else f"evidence sagetop lacks: production has only run on {plan_type}")
        winner, reason = "load test", (
            f"the test drove load comparable to production (p95 {p95:,.0f} requests/min, "
            f"{(ratio or 0) * 100:.0f} % of the {test_load:,.0f}/min tested) and {measured}, "
            + sagetop_side)
    if notes and winner == "load test":
        winner = "production traffic"
        reason += "; but " + " and ".join(notes)
    elif notes:
        reason += "; also, " + " and ".join(notes)
    return RecommenderComparison(
        **base, recommendation=rec, recommendation_monthly_usd=rec_cost.usd,
        price_source=rec_cost.source, test_load_rpm=test_load, load_ratio=ratio, stale=stale,
        agree=agree, winner=winner, reason=reason)


def _disagreement(ctx: AdvisorContext, endpoint: EndpointSnapshot, variant: VariantSnapshot,
                  job: RecommenderJob, comparison: RecommenderComparison) -> Finding:
    rec = comparison.recommendation
    assert rec is not None
    needs = ctx.requirements_of(endpoint.key)
    count = max(rec.instance_count or 1, needs.min_instances)
    # What the variant is billed today (time-weighted when it autoscales).
    current = variant_monthly_cost(endpoint, variant, ctx.fleet, ctx.prices)
    proposed = _cost(rec.instance_type, count, endpoint.region, ctx)
    load_test_wins = comparison.winner == "load test"
    changes: list[ProfileChange] = []
    if load_test_wins and rec.instance_type is not None:
        if rec.instance_type != variant.instance_type:
            changes.append(ProfileChange(characteristic="instance_type",
                                         current=variant.instance_type,
                                         proposed=rec.instance_type, variant=variant.name))
        if count != variant.current_instance_count:
            changes.append(ProfileChange(characteristic="instance_count",
                                         current=variant.current_instance_count,
                                         proposed=count, variant=variant.name))
    source = f"Inference Recommender job {job.name}, {_day(job.finished_at)}"
    saved = (round(current.usd - proposed.usd, 2)
             if load_test_wins and current.usd is not None and proposed.usd is not None
             else None)
    rec_carbon = ctx.shape_footprint(endpoint.key, variant.name, rec.instance_type, count)
    metrics = rec.metrics
    return Finding(
        kind=FindingKind.RECOMMENDER_DISAGREES,
        severity=Severity.INFO,
        endpoint=endpoint.key,
        variant=variant.name,
        summary=(f"Inference Recommender suggests {rec.label} where sagetop plans "
                 f"{comparison.plan_label}: {comparison.winner} wins"),
        rationale=(f"Job {job.name} ({job.job_type}, finished {_day(job.finished_at)}, "
                   f"payload {job.sample_payload_url or 'not recorded'}) lists {rec.label} "
                   f"first; sagetop's plan ({comparison.plan_source}) is "
                   f"{comparison.plan_label}. {comparison.winner.capitalize()} wins: "
                   f"{comparison.reason}."),
        evidence={
            "job": job.name, "job_finished": job.finished_at.isoformat(),
            "job_type": job.job_type, "matched_by": job.matched_by,
            "sample_payload": job.sample_payload_url,
            "recommended": rec.label, "plan": comparison.plan_label,
            "max_invocations_per_minute": metrics.max_invocations_per_minute,
            "model_latency_ms": metrics.model_latency_ms,
            "cost_per_hour_usd": metrics.cost_per_hour_usd,
            "cost_per_inference_usd": metrics.cost_per_inference_usd,
            "cpu_utilisation_pct": metrics.cpu_utilisation_pct,
            "memory_utilisation_pct": metrics.memory_utilisation_pct,
            "production_p95_rpm": (None if comparison.production_p95_rpm is None
                                   else round(comparison.production_p95_rpm, 1)),
            "test_load_rpm": comparison.test_load_rpm,
            "load_ratio": (None if comparison.load_ratio is None
                           else round(comparison.load_ratio, 3)),
            "winner": comparison.winner,
        },
        # When the load test wins, today's configuration (and sagetop's own sizing of it) is
        # what the evidence rules out: the plan must take the recommendation. When production
        # traffic wins, the recommendation is listed and loses.
        options=(
            keep(f"current: {variant.current_instance_count}x {variant.instance_type}", current,
                 fits=not load_test_wins,
                 note=("sagetop's plan for it: " + comparison.plan_label
                       + f" ({comparison.plan_source})"),
                 carbon=ctx.variant_footprint(endpoint.key, variant.name)),
            CostedOption(kind=OptionKind.RESIZE,
                         label=f"Inference Recommender: {count}x {rec.instance_type}"
                         if rec.instance_type else rec.label,
                         monthly_cost_usd=proposed.usd, price_source=proposed.source,
                         fits=load_test_wins and bool(changes),
                         note=(f"measured {metrics.max_invocations_per_minute or '?'}/min per "
                               f"instance at {metrics.model_latency_ms or '?'} ms"
                               + ("" if load_test_wins else
                                  f"; {comparison.winner} wins: {comparison.reason}")),
                         evidence_source=source, changes=tuple(changes),
                         monthly_kgco2e=kgco2e(rec_carbon)),
        ),
        monthly_savings_usd=saved,
    )


def _label_parts(label: str) -> tuple[str | None, int]:
    matched = _SIZED_LABEL.match(label)
    if matched is None:
        return None, 0
    return matched.group(2), int(matched.group(1))


# --------------------------------------------------------------- the experiment option

def _job_name(endpoint: EndpointSnapshot, variant: VariantSnapshot, now: dt.datetime) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", f"{endpoint.name}-{variant.name}".lower()).strip("-")
    return f"{stem[:50].rstrip('-')}-ir-{now:%Y%m%d}"


def recommender_command(endpoint: EndpointSnapshot, variant: VariantSnapshot,
                        types: Sequence[str], payload: str | None,
                        content_types: Sequence[str], now: dt.datetime) -> str:
    """The AWS CLI command that load-tests `types` for the variant's model (Default job)."""
    model = variant.model
    package = next((c.model_package_name for c in model.containers
                    if (c.model_package_name or "").startswith("arn:")), None) if model else None
    inputs: dict[str, object] = (
        {"ModelPackageVersionArn": package} if package else {"ModelName": variant.model_name})
    inputs["EndpointConfigurations"] = [{"InstanceType": t} for t in types]
    if not package:
        # A model name needs the sample requests; a registered package carries its own.
        inputs["ContainerConfig"] = {"PayloadConfig": {
            "SamplePayloadUrl": payload or "s3://YOUR-BUCKET/sample-payload.tar.gz",
            "SupportedContentTypes": list(content_types) or ["application/json"]}}
    role = (model.execution_role_arn if model and model.execution_role_arn
            else "$SAGEMAKER_ROLE_ARN")
    return (f"aws sagemaker create-inference-recommendations-job --region {endpoint.region} "
            f"--job-name {_job_name(endpoint, variant, now)} --job-type Default "
            f"--role-arn {role} --input-config '{json.dumps(inputs, separators=(',', ':'))}'")


def experiment_option(ctx: AdvisorContext, endpoint: EndpointSnapshot, finding: Finding
                      ) -> CostedOption | None:
    """"Run Inference Recommender on these types" when the fitting choices are close in cost
    and no finished job for the variant's model has results."""
    variant = next((v for v in endpoint.variants if v.name == finding.variant), None)
    if variant is None or variant.instance_type is None or variant.model_name is None:
        return None
    jobs = [j for j in endpoint.recommender.jobs if variant.name in j.variants]
    if any(j.status == "COMPLETED" and j.recommendations for j in jobs):
        return None  # there is a load test to compare with instead
    fitting = []
    for item in finding.options:
        parts = _label_parts(item.label)
        if item.fits and not item.experiment and parts[0] and item.monthly_cost_usd is not None:
            fitting.append((item.monthly_cost_usd, parts[0], item))
    fitting.sort(key=lambda f: f[0])
    if len(fitting) < 2 or fitting[0][0] <= 0:
        return None
    gap = (fitting[1][0] - fitting[0][0]) / fitting[0][0]
    if gap > ctx.settings.recommender_close_fraction:
        return None
    close = [t for cost, t, _ in fitting if (cost - fitting[0][0]) / fitting[0][0]
             <= ctx.settings.recommender_close_fraction]
    types = list(dict.fromkeys([*close, variant.instance_type]))[:4]
    failed = next((j for j in jobs if j.status == "FAILED"), None)
    payload = next((j.sample_payload_url for j in jobs if j.sample_payload_url), None)
    content_types = next((j.content_types for j in jobs if j.content_types), ())
    hourly = [ctx.prices.hourly(t, endpoint.region) for t in types]
    one_time = (round(sum(p.usd_per_hour for p in hourly if p is not None)
                      * RECOMMENDER_DEFAULT_JOB_HOURS, 2)
                if all(p is not None for p in hourly) else None)
    # Nothing changes while the test runs: the variant keeps costing what it costs today.
    current = variant_monthly_cost(endpoint, variant, ctx.fleet, ctx.prices)
    note = (f"{fitting[0][2].label} and {fitting[1][2].label} are within "
            f"{gap * 100:.0f} % of each other a month, closer than sagetop's projection can "
            f"tell apart: load-test them on the model before choosing (a Default job takes "
            f"about {RECOMMENDER_DEFAULT_JOB_HOURS * 60:.0f} minutes and bills one instance of "
            f"each type meanwhile).")
    if failed is not None:
        note += f" The last job, {failed.name}, failed: {failed.failure_reason or 'no reason'}."
    if payload is None:
        note += (" Replace SamplePayloadUrl with a tar.gz of sample requests"
                 + (f" (data capture writes real ones under "
                    f"{endpoint.data_capture.destination_s3_uri})"
                    if endpoint.data_capture.destination_s3_uri else "") + ".")
    return CostedOption(
        kind=OptionKind.EXPERIMENT,
        label=f"run Inference Recommender on {', '.join(types)}",
        monthly_cost_usd=current.usd, price_source=current.source, fits=True, note=note,
        monthly_kgco2e=kgco2e(ctx.variant_footprint(endpoint.key, variant.name)),
        command=recommender_command(endpoint, variant, types, payload, content_types, ctx.now),
        one_time_cost_usd=one_time)


# ---------------------------------------------------------------------- AWS's verdicts

_AGREEING_KINDS: dict[str, frozenset[str]] = {
    "Idle": frozenset({"idle", "finished-ab-test"}),
    "Unused": frozenset({"idle", "finished-ab-test"}),
    "Unattached": frozenset({"idle"}),
    "Delete": frozenset({"idle", "finished-ab-test"}),
    "Stop": frozenset({"idle"}),
    "Rightsize": frozenset({"over-provisioned", "under-provisioned"}),
    "ScaleIn": frozenset({"over-provisioned"}),
    "MigrateToGraviton": frozenset({"over-provisioned"}),
    "Upgrade": frozenset({"under-provisioned"}),
}
# sagetop's kinds AWS's advisors would be expected to echo when they are on.
_ECHOED = {"idle": frozenset({"Idle", "Unused", "Delete", "Stop"})}


def _requests(ctx: AdvisorContext, key: str) -> float | None:
    values = [ctx.fleet.metrics.window_value(key, v.name, "requests")
              for v in ctx.endpoint(key).variants]
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def compare_verdicts(ctx: AdvisorContext, findings: Mapping[str, Sequence[Finding]]
                     ) -> dict[str, list[VerdictComparison]]:
    result: dict[str, list[VerdictComparison]] = {}
    enabled = {(s.source, s.region) for s in ctx.fleet.verdict_sources if s.status == "enabled"}
    for endpoint in ctx.fleet.endpoints:
        kinds = {str(f.kind) for f in findings.get(endpoint.key, ())}
        rows: list[VerdictComparison] = []
        for verdict in endpoint.aws_verdicts:
            agreeing = _AGREEING_KINDS.get(verdict.action, frozenset()) & kinds
            if agreeing:
                kind = sorted(agreeing)[0]
                note = f"sagetop's {kind} finding says the same"
                agreement = "agree"
            else:
                kind = None
                agreement = "aws only"
                requests = _requests(ctx, endpoint.key)
                if verdict.action in ("Idle", "Unused", "Delete", "Stop"):
                    note = ("sagetop saw no traffic data to judge by" if requests is None else
                            f"sagetop saw {requests:,.0f} requests over "
                            f"{ctx.fleet.lookback_days} days: not idle by its rule")
                    if requests is not None and requests > 0 and verdict.lookback_days:
                        note += (f" (AWS looked back {verdict.lookback_days:.0f} days and "
                                 "counts very low traffic as idle)")
                else:
                    note = "sagetop's sizing rules found no change worth making"
            rows.append(VerdictComparison(
                endpoint=endpoint.key, source=verdict.source, action=verdict.action,
                monthly_savings_usd=verdict.monthly_savings_usd, agreement=agreement,
                sagetop_finding=kind, note=note))
        for kind, actions in _ECHOED.items():
            if kind not in kinds:
                continue
            for source, region in sorted(enabled):
                if source == "compute-optimizer" and region != endpoint.region:
                    continue
                if any(v.source == source and v.action in actions for v in endpoint.aws_verdicts):
                    continue
                rows.append(VerdictComparison(
                    endpoint=endpoint.key, source=source, action="-", monthly_savings_usd=None,
                    agreement="sagetop only", sagetop_finding=kind,
                    note=f"{source} is enabled but calls it nothing; sagetop's {kind} finding "
                         "stands on the traffic it measured"))
        if rows:
            result[endpoint.key] = rows
    return result


# ----------------------------------------------------------------------------- the pass

def second_opinions(ctx: AdvisorContext, by_endpoint: dict[str, list[Finding]]
                    ) -> tuple[dict[str, list[RecommenderComparison]],
                               dict[str, list[VerdictComparison]], OpinionsSummary]:
    """Adds experiment options and `recommender-disagrees` findings to `by_endpoint` (in
    place) and returns the comparisons and the summary counts."""
    recommender: dict[str, list[RecommenderComparison]] = {}
    experiments = 0
    for endpoint in ctx.fleet.endpoints:
        key = endpoint.key
        findings = by_endpoint.setdefault(key, [])
        for index, finding in enumerate(list(findings)):
            if finding.kind in SIZING_KINDS:
                extra = experiment_option(ctx, endpoint, finding)
                if extra is not None:
                    findings[index] = finding.model_copy(
                        update={"options": (*finding.options, extra)})
                    experiments += 1
        for variant in endpoint.variants:
            job = _latest_finished(endpoint.recommender.jobs, variant.name)
            if job is None:
                continue
            comparison = compare_recommender(ctx, endpoint, variant, job, findings)
            recommender.setdefault(key, []).append(comparison)
            if comparison.recommendation is not None and not comparison.agree:
                findings.append(_disagreement(ctx, endpoint, variant, job, comparison))
    verdicts = compare_verdicts(ctx, by_endpoint)
    rows = [r for group in verdicts.values() for r in group]
    comparisons = [c for group in recommender.values() for c in group]
    summary = OpinionsSummary(
        verdicts_agree=sum(1 for r in rows if r.agreement == "agree"),
        verdicts_aws_only=sum(1 for r in rows if r.agreement == "aws only"),
        verdicts_sagetop_only=sum(1 for r in rows if r.agreement == "sagetop only"),
        recommender_agree=sum(1 for c in comparisons if c.winner == "agree"),
        recommender_production_wins=sum(1 for c in comparisons
                                        if c.winner == "production traffic"),
        recommender_load_test_wins=sum(1 for c in comparisons if c.winner == "load test"),
        experiments_suggested=experiments,
        sources=ctx.fleet.verdict_sources, account_verdicts=ctx.fleet.account_verdicts)
    return recommender, verdicts, summary

