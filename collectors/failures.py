"""Turn what botocore raises into one line a person understands, kept as a `CollectorError`.

Every message is made inert and bounded by `CollectorError` itself; here the wording: what was
asked (`service:Operation`), of which URL when it could not be reached, and why.
"""

from __future__ import annotations

import datetime as dt
import errno
import socket
from urllib.parse import urlsplit

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
)
from botocore.parsers import ResponseParserError

from collectors.ledger import THROTTLE_CODES
from ground.domain import CollectorError
from ground.untrusted import inert


class UnreadableAnswer(BotoCoreError):  # type: ignore[misc]
    """An answer that parsed but is not what AWS sends (a field that is not its type)."""

    fmt = "unreadable answer: {detail}"

ACCESS_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden"}
)
EXPIRED = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId",
     "UnrecognizedClientException"}
)
def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a failed call (`ClientError`'s `Error.Code`), or None."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = (response.get("Error") or {}).get("Code")
    return str(code) if code is not None else None


SERVICE_PREFIX = {
    "sagemaker": "sagemaker",
    "cloudwatch": "cloudwatch",
    "application-autoscaling": "application-autoscaling",
    "s3": "s3",
    "sts": "sts",
    "resourcegroupstaggingapi": "tag",
}


def _origin(url: object) -> str:
    """Scheme, host and port of a request URL: where, without the path or query."""
    parts = urlsplit(str(url or ""))
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "the AWS endpoint"


def _connection_reason(exc: BaseException) -> str:
    cause = exc.kwargs.get("error") if isinstance(exc, BotoCoreError) else None
    seen = 0
    while cause is not None and seen < 5:  # aiohttp wraps the OSError that says why
        if isinstance(cause, socket.gaierror):
            return "no such host"
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) in (
                errno.ECONNREFUSED,):
            return "connection refused"
        if getattr(cause, "errno", None) in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "network unreachable"
        cause = getattr(cause, "os_error", None) or cause.__cause__ or cause.__context__
        seen += 1
    return "no connection"


def describe(exc: BaseException, service: str, operation: str | None) -> tuple[str, bool]:
    """The message and whether it is a missing permission."""
    action = f"{SERVICE_PREFIX.get(service, service)}:{operation}" if operation else service
    url = _origin(exc.kwargs.get("endpoint_url")) if isinstance(exc, BotoCoreError) else ""
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
        return "no AWS credentials found (profile, environment, SSO or instance role)", False
    if isinstance(exc, ConnectTimeoutError):
        return f"{action} timed out: no connection to {url}", False
    if isinstance(exc, ReadTimeoutError):
        return f"{action} timed out: no answer from {url}", False
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach AWS for {action} at {url} ({_connection_reason(exc)})", False
    if isinstance(exc, ConnectionClosedError):
        return f"cannot reach AWS for {action} at {url} (connection closed)", False
    if isinstance(exc, ResponseParserError):
        return f"{action} failed: not an AWS answer ({_first_line(exc)})", False
    if isinstance(exc, BotoCoreError):
        return f"{action} failed: {exc}", False
    if isinstance(exc, OSError):
        return f"{action} failed: {exc.strerror or exc}", False
    return f"{action} failed: {type(exc).__name__}: {exc}", False


def _first_line(exc: BaseException) -> str:
    return inert(str(exc).split("\n", 1)[0], one_line=True, limit=120)


def describe_credentials_failure(exc: BaseException) -> str:
    """Why the credential chain gave no credentials this time (a refresh may succeed)."""
    if isinstance(exc, SSOError | TokenRetrievalError):
        return f"AWS SSO credentials unavailable: {_first_line(exc)}"
    if isinstance(exc, ClientError):
        operation = getattr(exc, "operation_name", None) or "the credential call"
        message, permission = describe(exc, "sts", operation)
        if permission:
            return f"cannot obtain AWS credentials: {operation} was refused (AccessDenied)"
        return f"cannot obtain AWS credentials: {message}"
    if isinstance(exc, BotoCoreError) and "endpoint_url" in exc.kwargs:
        return f"cannot obtain AWS credentials: {describe(exc, 'credentials', None)[0]}"
    return f"cannot obtain AWS credentials: {_first_line(exc)}"


# Failures that end one part of a collection, never the run. ResponseParserError (an answer that
# is not XML or JSON) is not a BotoCoreError, hence named.
RECOVERABLE = (ClientError, BotoCoreError, ResponseParserError, OSError, TimeoutError)

# Server-side codes of failures that pass by themselves (5XX answers).
TRANSIENT_CODES = frozenset(
    {"ServiceUnavailable", "ServiceUnavailableException", "InternalFailure", "InternalError",
     "InternalServerError", "InternalServerException", "RequestTimeout",
     "RequestTimeoutException"}
)
# What `describe` says of throttling, timeouts, an unreachable network and expired credentials.
_TRANSIENT_PHRASES = ("throttled after retries", " timed out", "cannot reach AWS for",
                      "AWS credentials expired", "cannot obtain AWS credentials",
                      "AWS SSO credentials unavailable", "no AWS credentials found")


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
