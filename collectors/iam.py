"""The least-privilege IAM policy for exactly the operations sagetop calls.

`OPERATIONS` is the list the collectors use, by botocore service name; a test collects a whole
fleet (simulated and moto) and checks that every request sent is in it, and that it holds nothing
else, so the policy printed by `sagetop iam-policy` never drifts from the code.
"""

from __future__ import annotations

import json
from typing import Any

# (botocore event service id, operation) -> IAM action. Reads only, by construction.
OPERATIONS: dict[tuple[str, str], str] = {
    ("sagemaker", "ListEndpoints"): "sagemaker:ListEndpoints",
    ("sagemaker", "DescribeEndpoint"): "sagemaker:DescribeEndpoint",
    ("sagemaker", "DescribeEndpointConfig"): "sagemaker:DescribeEndpointConfig",
    ("sagemaker", "ListEndpointConfigs"): "sagemaker:ListEndpointConfigs",
    ("sagemaker", "DescribeModel"): "sagemaker:DescribeModel",
    ("sagemaker", "ListTags"): "sagemaker:ListTags",
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
}


def actions() -> list[str]:
    return sorted({action for action in OPERATIONS.values() if action})


def policy_document() -> dict[str, Any]:
    """An identity policy: the reads sagetop makes, on any resource (the listings need `*`)."""
    by_service: dict[str, list[str]] = {}
    for action in actions():
        by_service.setdefault(action.split(":")[0], []).append(action)
    statements = [
        {"Sid": f"SagetopRead{service.title().replace('-', '')}", "Effect": "Allow",
         "Action": names, "Resource": "*"}
        for service, names in sorted(by_service.items())
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def policy_json() -> str:
    return json.dumps(policy_document(), indent=2) + "\n"
