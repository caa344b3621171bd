"""Turn what botocore raises into one line a person understands, kept as a `CollectorError`."""

from __future__ import annotations

import datetime as dt

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from collectors.ledger import THROTTLE_CODES
from ground.domain import CollectorError

ACCESS_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden"}
)
EXPIRED = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId",
     "UnrecognizedClientException"}
)
SERVICE_PREFIX = {
    "sagemaker": "sagemaker",
    "cloudwatch": "cloudwatch",
    "application-autoscaling": "application-autoscaling",
    "s3": "s3",
    "sts": "sts",
}


def describe(exc: BaseException, service: str, operation: str | None) -> tuple[str, bool]:
    """The message and whether it is a missing permission."""
    action = f"{SERVICE_PREFIX.get(service, service)}:{operation}" if operation else service
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", "")).strip()
        if code in ACCESS_DENIED:
            return f"no permission for {action}", True
        if code in EXPIRED:
            return (f"AWS credentials expired or invalid ({code}); "
                    "renew them and sagetop picks them up"), False
        if code in THROTTLE_CODES:
            return f"{action} throttled after retries", False
        detail = f": {message}" if message else ""
        return f"{action} failed: {code}{detail}", False
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found (profile, environment or instance role)", False
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return f"{action} timed out", False
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach AWS for {action}: {exc}", False
    if isinstance(exc, BotoCoreError):
        return f"{action} failed: {exc}", False
    if isinstance(exc, OSError):
        return f"{action} failed: {exc.strerror or exc}", False
    return f"{action} failed: {type(exc).__name__}: {exc}", False


RECOVERABLE = (ClientError, BotoCoreError, OSError, TimeoutError)

# Server-side codes of failures that pass by themselves (5XX answers).
TRANSIENT_CODES = frozenset(
    {"ServiceUnavailable", "ServiceUnavailableException", "InternalFailure", "InternalError",
     "InternalServerError", "InternalServerException", "RequestTimeout",
     "RequestTimeoutException"}
)
# What `describe` says of throttling, timeouts, an unreachable network and expired credentials.
_TRANSIENT_PHRASES = ("throttled after retries", " timed out", "cannot reach AWS for",
                      "AWS credentials expired")


def is_transient(error: CollectorError) -> bool:
    """Whether a part that met `error` should be asked again at the next refresh.

    Throttling, 5XX answers, timeouts, a network outage and expired credentials pass; a missing
    permission or an unreadable answer does not, and asking again every refresh would only
    repeat it (those wait for the part's normal cadence).
    """
    if error.permission:
        return False
    message = error.message
    if any(phrase in message for phrase in _TRANSIENT_PHRASES):
        return True
    return any(f"failed: {code}" in message for code in TRANSIENT_CODES)


def collector_error(
    exc: BaseException, source: str, region: str, service: str, operation: str | None,
    now: dt.datetime | None = None,
) -> CollectorError:
    message, permission = describe(exc, service, operation)
    return CollectorError(
        source=source, region=region, operation=operation, message=message,
        at=now or dt.datetime.now(dt.UTC), permission=permission,
    )
