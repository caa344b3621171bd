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
from sagetop.domain import CollectorError

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


class CollectionFailure(Exception):
    """Raised inside collectors to carry an already-described failure upwards."""

    def __init__(self, error: CollectorError) -> None:
        super().__init__(error.message)
        self.error = error


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


def collector_error(
    exc: BaseException, source: str, region: str, service: str, operation: str | None,
    now: dt.datetime | None = None,
) -> CollectorError:
    message, permission = describe(exc, service, operation)
    return CollectorError(
        source=source, region=region, operation=operation, message=message,
        at=now or dt.datetime.now(dt.UTC), permission=permission,
    )
