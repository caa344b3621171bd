"""The read-only guard, over every operation botocore knows for the services sagetop uses."""

from __future__ import annotations

import botocore.session
import pytest

from collectors.guard import is_read_operation, refuse_writes
from ground.errors import ReadOnlyViolation

SERVICES = ("sagemaker", "cloudwatch", "application-autoscaling", "s3", "sts", "pricing")


def _operations(service: str) -> list[str]:
    model = botocore.session.get_session().get_service_model(service)
    return list(model.operation_names)


@pytest.mark.parametrize("service", SERVICES)
def test_every_write_operation_is_refused(service: str) -> None:
    service_id = botocore.session.get_session().get_service_model(service).service_id.hyphenize()
    refused = allowed = 0
    for operation in _operations(service):
        event = f"before-call.{service_id}.{operation}"
        if is_read_operation(service_id, operation):
            refuse_writes(event)
            allowed += 1
            assert operation.startswith(("Describe", "List", "Get", "Head"))
        else:
            with pytest.raises(ReadOnlyViolation):
                refuse_writes(event)
            refused += 1
    assert allowed > 0 or service == "s3"


@pytest.mark.parametrize("operation", [
    "CreateEndpoint", "UpdateEndpoint", "DeleteEndpoint", "UpdateEndpointWeightsAndCapacities",
    "StopMonitoringSchedule", "AddTags", "DeleteTags", "InvokeEndpoint", "StartPipelineExecution",
])
def test_sagemaker_writes(operation: str) -> None:
    assert not is_read_operation("sagemaker", operation)


def test_s3_only_object_reads() -> None:
    assert is_read_operation("s3", "GetObject")
    assert is_read_operation("s3", "HeadObject")
    assert not is_read_operation("s3", "PutObject")
    assert not is_read_operation("s3", "GetBucketPolicy")
    assert not is_read_operation("sts", "GetSessionToken")
    assert not is_read_operation("cloudwatch", "PutMetricData")
    assert is_read_operation("cloudwatch", "GetMetricData")


def test_malformed_event_is_refused() -> None:
    with pytest.raises(ReadOnlyViolation):
        refuse_writes("before-call")
