"""The read-only guard's decision over every operation of every service botocore knows.

botocore's loader lists the services and their operations without making a client; the guard's
decision function is asked about each (event service id, operation) pair, and exactly the pairs on
sagetop's allow-list pass (those `iam-policy` is built from, plus the credential providers' calls
on the session layer). The walk through real clients is in tests/test_security.py.
"""

from __future__ import annotations

import functools

import botocore.loaders
import pytest
from botocore.utils import hyphenize_service_id

from collectors.guard import (
    CREDENTIAL_OPERATIONS,
    SAGETOP_OPERATIONS,
    is_allowed,
    refuse_all_but_sagetop_reads,
    refuse_unlisted,
)
from collectors.iam import OPERATIONS
from ground.errors import ReadOnlyViolation


@functools.cache
def every_operation() -> frozenset[tuple[str, str]]:
    loader = botocore.loaders.create_loader()
    pairs: set[tuple[str, str]] = set()
    for name in loader.list_available_services("service-2"):
        model = loader.load_service_model(name, "service-2")
        # The id botocore's event names carry, without building a ServiceModel per service.
        service_id = hyphenize_service_id(model["metadata"].get("serviceId") or name)
        pairs.update((service_id, operation) for operation in model["operations"])
    return frozenset(pairs)


def test_exactly_the_allow_list_passes_over_every_operation_botocore_knows() -> None:
    pairs = every_operation()
    services = {service for service, _ in pairs}
    assert len(services) > 400 and len(pairs) > 15_000  # the walk really covered botocore
    on_sessions = {pair for pair in pairs if is_allowed(*pair, credentials=True)}
    on_sagetop_clients = {pair for pair in pairs if is_allowed(*pair)}
    assert on_sagetop_clients == SAGETOP_OPERATIONS == set(OPERATIONS)
    assert on_sessions == SAGETOP_OPERATIONS | CREDENTIAL_OPERATIONS
    # Every listed pair names a real operation (a typo would pass nothing and prove nothing).
    assert pairs >= (SAGETOP_OPERATIONS | CREDENTIAL_OPERATIONS)


@pytest.mark.parametrize(("service", "operation"), [
    # Reads by name that create state, mint credentials or return secrets.
    ("cognito-identity", "GetId"),
    ("cognito-identity", "GetCredentialsForIdentity"),
    ("ecr", "GetAuthorizationToken"),
    ("redshift", "GetClusterCredentials"),
    ("secrets-manager", "GetSecretValue"),
    ("ssm", "GetParameter"),
    ("ssm", "GetParameters"),
    ("sts", "GetSessionToken"),
    ("sts", "GetFederationToken"),
    ("kms", "GenerateDataKey"),
    # Reads sagetop does not need, of services it uses.
    ("sagemaker", "DescribeUserProfile"),
    ("sagemaker", "ListApps"),
    ("cloudwatch", "GetMetricStatistics"),
    ("s3", "ListObjectsV2"),
    ("s3", "GetBucketPolicy"),
    # Writes.
    ("sagemaker", "DeleteEndpoint"),
    ("sagemaker", "UpdateEndpointWeightsAndCapacities"),
    ("sagemaker-runtime", "InvokeEndpoint"),
    ("s3", "PutObject"),
    ("cloudwatch", "PutMetricData"),
])
def test_named_dangers_are_refused_on_both_layers(service: str, operation: str) -> None:
    assert (service, operation) in every_operation()
    for handler in (refuse_unlisted, refuse_all_but_sagetop_reads):
        with pytest.raises(ReadOnlyViolation, match=f"refused {service}:{operation}"):
            handler(f"before-call.{service}.{operation}")
        with pytest.raises(ReadOnlyViolation):
            handler(f"before-send.{service}.{operation}")


@pytest.mark.parametrize("pair", sorted(CREDENTIAL_OPERATIONS))
def test_credential_calls_pass_the_session_but_not_sagetops_clients(
        pair: tuple[str, str]) -> None:
    service, operation = pair
    refuse_unlisted(f"before-send.{service}.{operation}")
    with pytest.raises(ReadOnlyViolation):
        refuse_all_but_sagetop_reads(f"before-send.{service}.{operation}")


def test_sagetops_reads_pass_both_layers() -> None:
    for service, operation in SAGETOP_OPERATIONS:
        refuse_unlisted(f"before-call.{service}.{operation}")
        refuse_all_but_sagetop_reads(f"before-send.{service}.{operation}")


def test_malformed_event_is_refused() -> None:
    with pytest.raises(ReadOnlyViolation):
        refuse_unlisted("before-call")
    with pytest.raises(ReadOnlyViolation):
        refuse_all_but_sagetop_reads("before-send.sagemaker")
