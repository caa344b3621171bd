"""The read-only guard: sagetop never sends an operation that could change an AWS account.

It is installed on the session's event system before any client exists, at the first place of
both `before-call` (before the request is built into HTTP) and `before-send` (the last moment
before bytes leave), so no code path, including a handler that answers `before-call` itself, can
get a write past it.
"""

from __future__ import annotations

from typing import Any

from ground.errors import ReadOnlyViolation

READ_PREFIXES = ("Describe", "List", "Get")
# S3 is only read for objects (violation reports, model archives); nothing else on S3 is needed.
S3_READS = frozenset({"GetObject", "HeadObject", "ListObjectsV2"})
# Get* operations that mint credentials or exchange tokens are not what "read" means here.
DENIED_GETS = frozenset({"GetSessionToken", "GetFederationToken", "GetPresignedUrl"})


def is_read_operation(service_id: str, operation: str) -> bool:
    if service_id.lower() == "s3":
        return operation in S3_READS
    if operation in DENIED_GETS:
        return False
    return operation.startswith(READ_PREFIXES)


def _split_event(event_name: str) -> tuple[str, str]:
    # "before-call.sagemaker.DeleteEndpoint" -> ("sagemaker", "DeleteEndpoint")
    parts = event_name.split(".")
    if len(parts) < 3:
        raise ReadOnlyViolation(f"refused an unidentified AWS operation ({event_name})")
    return parts[1], parts[2]


def refuse_writes(event_name: str, **_: Any) -> None:
    service, operation = _split_event(event_name)
    if not is_read_operation(service, operation):
        raise ReadOnlyViolation(
            f"refused {service}:{operation}: sagetop is read-only and never changes an account"
        )


def install_read_only_guard(session: Any) -> None:
    """Put the guard first on `before-call` and `before-send` of every client the session makes."""
    emitter = session.get_component("event_emitter")
    for event in ("before-call", "before-send"):
        emitter.register_first(event, refuse_writes, unique_id=f"sagetop-read-only-{event}")
