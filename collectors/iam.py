"""The least-privilege IAM policy for exactly the operations sagetop calls.

`OPERATIONS` is the list the collectors use, by botocore service name; a test collects a whole
fleet (simulated and moto) and checks that every request sent is in it, and that it holds nothing
else, so the policy printed by `sagetop iam-policy` never drifts from the code. Object reads are
scoped to the buckets and prefixes given (`--s3`), never `"Resource": "*"`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ground.errors import UsageError

# (botocore event service id, operation) -> IAM action. Reads only, by construction.
OPERATIONS: dict[tuple[str, str], str] = {
    ("sagemaker", "ListEndpoints"): "sagemaker:ListEndpoints",
    ("sagemaker", "DescribeEndpoint"): "sagemaker:DescribeEndpoint",
    ("sagemaker", "DescribeEndpointConfig"): "sagemaker:DescribeEndpointConfig",
    ("sagemaker", "ListEndpointConfigs"): "sagemaker:ListEndpointConfigs",
    ("sagemaker", "DescribeModel"): "sagemaker:DescribeModel",
    ("sagemaker", "ListTags"): "sagemaker:ListTags",
    # Endpoint tags 100 at a time (ListTags where this is refused, or for a few endpoints).
    ("resource-groups-tagging-api", "GetResources"): "tag:GetResources",
    ("sagemaker", "ListMonitoringSchedules"): "sagemaker:ListMonitoringSchedules",
    ("sagemaker", "DescribeMonitoringSchedule"): "sagemaker:DescribeMonitoringSchedule",
    ("sagemaker", "ListMonitoringExecutions"): "sagemaker:ListMonitoringExecutions",
    ("sagemaker", "DescribeProcessingJob"): "sagemaker:DescribeProcessingJob",
    ("sagemaker", "ListTrainingJobs"): "sagemaker:ListTrainingJobs",
    ("sagemaker", "DescribeTrainingJob"): "sagemaker:DescribeTrainingJob",
    ("sagemaker", "ListTransformJobs"): "sagemaker:ListTransformJobs",
    ("sagemaker", "DescribeTransformJob"): "sagemaker:DescribeTransformJob",
    ("sagemaker", "ListNotebookInstances"): "sagemaker:ListNotebookInstances",
    # Inference Recommender jobs beside sagetop's plan.
    ("sagemaker", "ListInferenceRecommendationsJobs"):
        "sagemaker:ListInferenceRecommendationsJobs",
    ("sagemaker", "DescribeInferenceRecommendationsJob"):
        "sagemaker:DescribeInferenceRecommendationsJob",
    ("sagemaker", "ListInferenceRecommendationsJobSteps"):
        "sagemaker:ListInferenceRecommendationsJobSteps",
    # AWS's own verdicts (opt-in services: "not enabled" is an answer, not an error).
    ("compute-optimizer", "GetIdleRecommendations"): "compute-optimizer:GetIdleRecommendations",
    ("cost-optimization-hub", "ListEnrollmentStatuses"):
        "cost-optimization-hub:ListEnrollmentStatuses",
    ("cost-optimization-hub", "ListRecommendations"): "cost-optimization-hub:ListRecommendations",
    # Inference components: the models sharing an endpoint's instances.
    ("sagemaker", "ListInferenceComponents"): "sagemaker:ListInferenceComponents",
    ("sagemaker", "DescribeInferenceComponent"): "sagemaker:DescribeInferenceComponent",
    ("application-auto-scaling", "DescribeScalableTargets"):
        "application-autoscaling:DescribeScalableTargets",
    ("application-auto-scaling", "DescribeScalingPolicies"):
        "application-autoscaling:DescribeScalingPolicies",
    ("cloudwatch", "GetMetricData"): "cloudwatch:GetMetricData",
    ("cloudwatch", "ListMetrics"): "cloudwatch:ListMetrics",
    # Model Monitor violation files and model artefact sizes (HEAD needs s3:GetObject).
    ("s3", "GetObject"): "s3:GetObject",
    ("s3", "HeadObject"): "s3:GetObject",
    # `sagetop prices refresh` only.
    ("pricing", "GetProducts"): "pricing:GetProducts",
    # GetCallerIdentity needs no permission; listed so the test sees every operation.
    ("sts", "GetCallerIdentity"): "",
    # `--org` only, from the base (management or delegated administrator) account: the member
    # accounts to watch. Assuming the role in each is the credential providers' sts:AssumeRole.
    ("organizations", "ListAccounts"): "organizations:ListAccounts",
    # Several accounts only (collectors/oam.py): whether a watched account is a CloudWatch
    # monitoring account and which source accounts are linked to its sinks, so their metrics
    # are asked from it. In the member role too: the monitoring account is usually a member.
    ("oam", "ListSinks"): "oam:ListSinks",
    ("oam", "ListAttachedLinks"): "oam:ListAttachedLinks",
}


# Stand-ins for the S3 locations when none are given: not valid bucket names, so the policy grants
# no object at all until they are replaced (never the whole of S3).
S3_PLACEHOLDERS = (
    "arn:aws:s3:::REPLACE-WITH-MODEL-ARTEFACT-BUCKET/*",
    "arn:aws:s3:::REPLACE-WITH-MODEL-MONITOR-OUTPUT-BUCKET/REPLACE-WITH-PREFIX/*",
)
# S3 bucket names: 3-63 lower-case letters, digits, dots and hyphens (AWS's naming rules).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def actions() -> list[str]:
    return sorted({action for action in OPERATIONS.values() if action})


def s3_object_arn(uri: str) -> str:
    """`s3://bucket` or `s3://bucket/prefix` -> the ARN of the objects under it.

    Raises UsageError (one line) for anything that is not an S3 location.
    """
    if not uri.startswith("s3://"):
        raise UsageError(f"--s3 {uri}: expected s3://BUCKET or s3://BUCKET/PREFIX")
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not _BUCKET.fullmatch(bucket):
        raise UsageError(f"--s3 {uri}: {bucket!r} is not an S3 bucket name")
    if any(c in prefix for c in "*?"):
        raise UsageError(f"--s3 {uri}: give a prefix, not a pattern")
    return f"arn:aws:s3:::{bucket}/{prefix}*"


def policy_document(s3_locations: Sequence[str] = ()) -> dict[str, Any]:
    """An identity policy: the reads sagetop makes. The listings and describes need `*` (their
    resources are the ones to find); s3:GetObject is limited to `s3_locations` (or to
    placeholders that grant nothing until replaced)."""
    by_service: dict[str, list[str]] = {}
    for action in actions():
        by_service.setdefault(action.split(":")[0], []).append(action)
    objects = list(dict.fromkeys(s3_object_arn(u) for u in s3_locations)) or list(
        S3_PLACEHOLDERS)
    statements = [
        {"Sid": f"SagetopRead{service.title().replace('-', '')}", "Effect": "Allow",
         "Action": names, "Resource": objects if service == "s3" else "*"}
        for service, names in sorted(by_service.items())
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def policy_json(s3_locations: Sequence[str] = ()) -> str:
    return json.dumps(policy_document(s3_locations), indent=2) + "\n"


# Reads made only in the account that lists the organisation (the monitoring side), never in a
# member account: left out of the member role's policy.
MONITORING_ONLY = frozenset({"organizations:ListAccounts"})
PRINCIPAL_PLACEHOLDER = "arn:aws:iam::REPLACE-WITH-MONITORING-ACCOUNT-ID:role/REPLACE-WITH-ROLE"
_PRINCIPAL = re.compile(r"arn:aws[a-z-]*:(iam|sts)::\d{12}:[\w+=,.@/:-]+|\d{12}")
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")


def cross_account_documents(s3_locations: Sequence[str] = (), *,
                            role_name: str = "sagetop-read-only",
                            principal: str | None = None,
                            external_id: str | None = None) -> dict[str, Any]:
    """The three documents of a cross-account setup, all from `OPERATIONS`:

    * `member_role_policy`: the role in each member account, sagetop's reads there;
    * `member_role_trust_policy`: who may assume it (the monitoring principal, with the
      external ID when one is used);
    * `monitoring_policy`: the monitoring side's sts:AssumeRole on that role name in any
      account, and the organisation listing `--org` makes.
    """
    if not _ROLE_NAME.fullmatch(role_name):
        raise UsageError(f"--role-name {role_name}: not an IAM role name")
    if principal is not None and not _PRINCIPAL.fullmatch(principal):
        raise UsageError(f"--monitoring-principal {principal}: expected an account id or an "
                         "IAM role or user ARN")
    member = policy_document(s3_locations)
    statements = []
    for statement in member["Statement"]:
        kept = [a for a in statement["Action"] if a not in MONITORING_ONLY]
        if kept:
            statements.append({**statement, "Action": kept})
    trust: dict[str, Any] = {
        "Sid": "SagetopMonitoringAssumesRole", "Effect": "Allow",
        "Principal": {"AWS": principal or PRINCIPAL_PLACEHOLDER}, "Action": "sts:AssumeRole"}
    if external_id:
        trust["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    monitoring = [
        {"Sid": "SagetopAssumeMemberRole", "Effect": "Allow", "Action": "sts:AssumeRole",
         "Resource": f"arn:aws:iam::*:role/{role_name}"},
        {"Sid": "SagetopListOrganizationAccounts", "Effect": "Allow",
         "Action": sorted(MONITORING_ONLY), "Resource": "*"},
    ]
    return {
        "member_role_policy": {"Version": "2012-10-17", "Statement": statements},
        "member_role_trust_policy": {"Version": "2012-10-17", "Statement": [trust]},
        "monitoring_policy": {"Version": "2012-10-17", "Statement": monitoring},
    }


def cross_account_json(s3_locations: Sequence[str] = (), **options: Any) -> str:
    return json.dumps(cross_account_documents(s3_locations, **options), indent=2) + "\n"
