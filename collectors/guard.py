"""The read-only guard: sagetop sends only the operations it needs, all of them reads.

An allow-list, not a naming rule: `Get*` and `List*` operations can create state or hand out
secrets (cognito-identity GetId creates an identity, ecr GetAuthorizationToken mints a token,
secretsmanager GetSecretValue returns a secret), so only the exact (service, operation) pairs
`sagetop iam-policy` prints may leave (`collectors.iam.OPERATIONS`), and on top of them the calls
botocore's own credential providers make to obtain credentials (assuming a role, exchanging an SSO
token), which change nothing in an account.

Two layers, each first on `before-call` (before the request is built) and `before-send` (the last
moment before bytes leave), so no code path, including a handler that answers `before-call`
itself, gets past them:
* on the session, which every client inherits: sagetop's operations and the credential calls;
* on each client sagetop itself makes (`AwsContext.client`): sagetop's operations only, so
  sagetop's own code cannot assume a role or fetch a token either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collectors.iam import OPERATIONS
from ground.errors import ReadOnlyViolation

# The (event service id, operation) pairs sagetop calls: exactly what `iam-policy` is built from.
SAGETOP_OPERATIONS: frozenset[tuple[str, str]] = frozenset(OPERATIONS)
# What botocore's credential providers call to obtain credentials, and nothing else: a role
# profile or chain (sts AssumeRole), EKS/IRSA and web identity profiles (AssumeRoleWithWebIdentity),
# IAM Identity Center (sso GetRoleCredentials, sso-oidc CreateToken to refresh the token) and
# `aws login` sessions (signin CreateOAuth2Token). credential_process, environment variables,
# files and instance or container roles make no AWS API call.
CREDENTIAL_OPERATIONS: frozenset[tuple[str, str]] = frozenset({
    ("sts", "AssumeRole"),
    ("sts", "AssumeRoleWithWebIdentity"),
    ("sso", "GetRoleCredentials"),
    ("sso-oidc", "CreateToken"),
    ("signin", "CreateOAuth2Token"),
})


def is_allowed(service_id: str, operation: str, *, credentials: bool = False) -> bool:
    """Whether (`service_id`, `operation`) may be sent; `credentials` for the providers' clients.

    `service_id` is the hyphenated service id botocore puts in event names
    ("application-auto-scaling", "sso-oidc").
    """
    pair = (service_id, operation)
    return pair in SAGETOP_OPERATIONS or (credentials and pair in CREDENTIAL_OPERATIONS)


def _split_event(event_name: str) -> tuple[str, str]:
    # "before-call.sagemaker.DeleteEndpoint" -> ("sagemaker", "DeleteEndpoint")
    parts = event_name.split(".")
    if len(parts) < 3:
        raise ReadOnlyViolation(f"refused an unidentified AWS operation ({event_name})")
    return parts[1], parts[2]


def _refuse(service: str, operation: str) -> ReadOnlyViolation:
    return ReadOnlyViolation(
        f"refused {service}:{operation}: not one of the reads sagetop makes "
        "(sagetop is read-only and never changes an account)")


def refuse_unlisted(event_name: str, **_: Any) -> None:
    """Session layer: sagetop's reads and the credential providers' calls pass."""
    service, operation = _split_event(event_name)
    if not is_allowed(service, operation, credentials=True):
        raise _refuse(service, operation)


def refuse_all_but_sagetop_reads(event_name: str, **_: Any) -> None:
    """Client layer, on sagetop's own clients: only the operations `iam-policy` lists pass."""
    service, operation = _split_event(event_name)
    if not is_allowed(service, operation):
        raise _refuse(service, operation)


def _install(emitter: Any, handler: Callable[..., None], layer: str) -> None:
    for event in ("before-call", "before-send"):
        emitter.register_first(event, handler, unique_id=f"sagetop-read-only-{layer}-{event}")


def install_read_only_guard(session: Any) -> None:
    """The session layer, before any client exists: every client the session makes inherits it."""
    _install(session.get_component("event_emitter"), refuse_unlisted, "session")


def guard_client(client: Any) -> None:
    """The client layer, on a client sagetop made for its own calls."""
    _install(client.meta.events, refuse_all_but_sagetop_reads, "client")
