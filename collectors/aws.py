"""One aiobotocore session for the whole run: clients made once per (service, region) and reused.

AWS settings follow the AWS CLI: the standard credential chain (role profiles, web identity, SSO,
credential_process included), a named profile, one or more regions, an endpoint URL (and the
AWS_* variables botocore already honours). Retries are botocore's adaptive mode, which also
rate-limits the client after throttling, bounded per collection by `collectors.budget`. Settings
that cannot work (an unknown profile, an unreadable ~/.aws/config, a region or URL that is not
one) are a `ConfigError` when the context is made, before anything is sent; no region at all is
refused when it is entered, so the dashboard can say NO REGION in its header instead of exiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from aiobotocore.client import AioClientCreator
from aiobotocore.config import AioConfig
from aiobotocore.credentials import (
    AioAssumeRoleCredentialFetcher,
    AioCredentialResolver,
    AioDeferredRefreshableCredentials,
)
from aiobotocore.session import AioSession, get_session
from botocore.config import Config
from botocore.credentials import CredentialProvider
from botocore.exceptions import (
    ConfigParseError,
    InvalidConfigError,
    PartialCredentialsError,
    ProfileNotFound,
    UnknownCredentialError,
)
from botocore.loaders import Loader, create_loader
from botocore.useragent import UserAgentString
from botocore.utils import parse_timestamp, validate_region_name

from collectors import answers, fastparse
from collectors.budget import RetryBudget
from collectors.failures import RECOVERABLE, UnreadableAnswer, describe_credentials_failure
from collectors.guard import (
    CREDENTIAL_OPERATIONS,
    SAGETOP_OPERATIONS,
    guard_client,
    install_read_only_guard,
)
from collectors.ledger import RequestLedger
from collectors.tls import SharedTlsSession
from ground.config import AwsSettings, CostSettings, endpoint_url_problem
from ground.errors import ConfigError, UsageError
from ground.untrusted import inert, shown

_SECRETS = (
    # Session tokens in headers and query strings, however they are quoted.
    re.compile(r"(?i)(x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)[^'\",}\s&]+"),
    re.compile(r"(Signature=)[0-9a-f]+"),
    re.compile(r"(Credential=)[A-Z0-9]+"),
    re.compile(r"(?i)((?:aws_)?secret_?(?:access_)?key['\"]?\s*[:=]\s*['\"]?)[^'\",}\s]+"),
)


_LIBRARY_LOGGERS = ("botocore", "aiobotocore", "urllib3", "aiohttp")


class _RedactingRecords:
    """Log records with credentials blanked, whatever logger made them (botocore logs every
    signed request, session token included, at DEBUG)."""

    def __init__(self, factory: Callable[..., logging.LogRecord]) -> None:
        self.factory = factory

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.factory(*args, **kwargs)
        if not record.name.startswith(_LIBRARY_LOGGERS):
            return record
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return record
        for pattern in _SECRETS:
            message = pattern.sub(r"\1[REDACTED]", message)
        # Logged answers carry outside bytes: inert before any handler writes them anywhere.
        record.msg, record.args = inert(message), None
        return record


def install_log_redaction() -> None:
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _RedactingRecords):
        logging.setLogRecordFactory(_RedactingRecords(factory))
    # With no handler configured, Python prints a library's warnings to stderr with their
    # traceback (botocore warns so when a credential refresh fails): several raw lines through
    # the dashboard's screen or a report's one-line error. The failure itself is reported by
    # the part that met it; a handler that is configured (SAGETOP_DEBUG, a test) still sees it.
    for name in _LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in library.handlers):
            library.addHandler(logging.NullHandler())


_BOTOCORE_USER_AGENT = UserAgentString.from_environment().with_client_config(Config()).to_string()


def utc_timestamp(value: Any) -> dt.datetime:
    """A timestamp of an answer, in UTC; one that is not a time fails that call, not the run."""
    try:
        if isinstance(value, int | float):
            return dt.datetime.fromtimestamp(value, dt.UTC)
        parsed: dt.datetime = _common_text_timestamp(value) or parse_timestamp(value)
    except (ValueError, TypeError, OverflowError, OSError):
        raise UnreadableAnswer(detail=f"{shown(value)} is not a timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _common_text_timestamp(value: Any) -> dt.datetime | None:
    """The two forms AWS writes times in as text, read by the standard library: an HTTP date
    ("Wed, 02 Dec 2026 13:21:53 GMT", S3's Last-Modified, 4 us where dateutil took 60) and
    ISO 8601 with a time ("2026-12-02T13:21:53.000Z", XML bodies). Anything else (a number
    written as text, which botocore reads as epoch seconds) is botocore's to read."""
    if not isinstance(value, str):
        return None
    try:
        if len(value) >= 26 and value[3:5] == ", " and value.endswith(" GMT"):
            return parsedate_to_datetime(value)
        if len(value) >= 19 and value[4] == "-" and value[10] == "T":
            return dt.datetime.fromisoformat(value)
    except (ValueError, TypeError, IndexError):
        return None
    return None


# Configuration problems in the credential chain: the user must fix a file or a variable.
CREDENTIAL_CONFIG_ERRORS = (InvalidConfigError, ProfileNotFound, ConfigParseError,
                            PartialCredentialsError, UnknownCredentialError)
NO_CREDENTIALS = "no AWS credentials found (profile, environment, SSO or instance role)"
NO_REGION = "no AWS region: pass --region, set AWS_REGION, or set aws.regions in config.toml"


@functools.cache
def _partition_region_patterns() -> tuple[re.Pattern[str], ...]:
    partitions = create_loader().load_data("partitions")["partitions"]
    return tuple(re.compile(p["regionRegex"]) for p in partitions)


def region_problem(region: str, custom_endpoint: bool) -> str | None:
    """Why `region` cannot be a region, or None. Any host label will do for an emulator's URL."""
    try:
        validate_region_name(region)
    except ValueError:
        return f"{shown(region)} is not a region name"
    if not region:
        return "an empty region name"
    if not custom_endpoint and not any(p.match(region) for p in _partition_region_patterns()):
        return f"{shown(region)} is not an AWS region (expected a name like us-east-1)"
    return None


@dataclass(frozen=True)
class AssumedRole:
    """A role STS AssumeRole hands credentials for, with what the trust policy may ask."""

    arn: str
    external_id: str | None = None
    session_name: str = "sagetop"


@dataclass
class AwsTarget:
    """Where to look: what the command line and configuration chose."""

    profile: str | None = None
    regions: tuple[str, ...] = ()
    endpoint_url: str | None = None
    simulated: bool = False
    # One of several accounts watched at once: its name on every endpoint (the account column,
    # and part of each endpoint's key). None when one account is watched.
    account: str | None = None
    # A role to assume from `profile` (the base; the default chain when None), as a role profile
    # would, but named in sagetop's configuration or found by --org.
    role: AssumedRole | None = None
    # Called with the session before any client exists (the simulated account installs here).
    prepare_session: Callable[[AioSession], None] | None = field(default=None, repr=False)


@functools.cache
def _loader(data_path: str | None) -> Loader:
    return create_loader(data_path)


# One client class per service and API version, for the whole process. aiobotocore builds a
# class for every client it makes, a method and a docstring object for each operation of the
# service (SageMaker has ~400): about 0.17 MB and 3.5 ms a client, and an organisation of 50
# accounts makes some 900 clients. The class holds no state of a session or client: each
# client's own emitter, endpoint, credentials and config are its instance's. Every sagetop
# session registers the same `creating-client-class` handlers (botocore's built-in ones), so
# the class a first client got is the class every later one would get. aiobotocore has no
# public hook for this: its creator's class-building method is wrapped, passing through
# untouched anything it does not recognise.
_CLIENT_CLASSES: dict[tuple[str, str], Any] = {}
_build_client_class = getattr(AioClientCreator, "_create_client_class", None)


async def _shared_client_class(creator: Any, service_name: str, service_model: Any,
                               *rest: Any, **named: Any) -> Any:
    assert _build_client_class is not None
    if rest or named:  # a signature this was not written for: aiobotocore's own way
        return await _build_client_class(creator, service_name, service_model, *rest, **named)
    key = (service_name, str(service_model.api_version))
    found = _CLIENT_CLASSES.get(key)
    if found is None:
        found = _CLIENT_CLASSES[key] = await _build_client_class(
            creator, service_name, service_model)
    return found


if _build_client_class is not None:
    AioClientCreator._create_client_class = _shared_client_class


def _session() -> AioSession:
    """A botocore session whose service models come from one loader per process.

    Each session would otherwise load and keep its own copy of every service model it uses
    (SageMaker's alone is ~19 MB once parsed): an organisation of 50 accounts, a session each,
    held 50 copies. The models are read-only data, so one copy serves every session.
    """
    session = get_session()
    # Lazily, as botocore registers its own: the profile (which may name a data_path) is set
    # and the config files checked before the first client asks for a model.
    session.lazy_register_component(
        "data_loader", lambda: _loader(session.get_config_variable("data_path")))
    return session


class AwsContext:
    """Owns the session, the clients, the guard and the ledger; use as an async context manager.

    It gets the `[aws]` settings and the CloudWatch price (`[cost]`) only: what to refresh when is
    the collectors' business, not the session's.
    """

    def __init__(self, settings: AwsSettings, target: AwsTarget,
                 cost: CostSettings | None = None, *,
                 ledger: RequestLedger | None = None) -> None:
        self.settings = settings
        self.target = target
        if target.endpoint_url is not None and (
                problem := endpoint_url_problem(target.endpoint_url)):
            raise UsageError(f"--endpoint-url: {problem}")
        self.session: AioSession = _session()
        self._check_aws_files(target.profile or settings.profile)
        install_read_only_guard(self.session)
        install_log_redaction()
        # botocore parses epoch timestamps with dateutil into local time, ~30 us each; a refresh
        # of a large fleet carries hundreds of thousands of them. UTC and direct is exact and fast.
        answers.install(self.session, timestamp_parser=utc_timestamp)
        fastparse.install(self.session)
        # Shared by the accounts of an organisation: its requests and charge are the fleet's.
        self.ledger = ledger or RequestLedger(
            (cost or CostSettings()).getmetricdata_usd_per_1000_metrics)
        self.ledger.install(self.session)
        if target.prepare_session is not None:
            target.prepare_session(self.session)
        self.regions = self._resolve_regions()
        # The credential providers' clients (sts for a role chain) take the session's region:
        # without one a profile that names none could not assume its role.
        if self.regions and not self.session.get_config_variable("region"):
            self.session.set_config_variable("region", self.regions[0])
        aws = settings
        self.client_config = AioConfig(
            # One TLS context for all the clients (collectors.tls): a thousand in a large org.
            http_session_cls=SharedTlsSession,
            retries={"mode": "adaptive", "max_attempts": aws.max_attempts},
            connect_timeout=aws.connect_timeout_s,
            read_timeout=aws.read_timeout_s,
            max_pool_connections=aws.max_pool_connections,
            # botocore rebuilds its User-Agent for every request, a tenth of a describe's CPU
            # in a cold start; given one, it sends that as it is. Built once, in its own format.
            user_agent=_BOTOCORE_USER_AGENT,
            user_agent_extra="sagetop",
        )
        # The clients the credential providers make (sts AssumeRole, sso) get the same bounded
        # timeouts and retries: botocore's defaults (60 s, 5 attempts) would hang a refresh.
        self.session.set_default_client_config(self.client_config)
        if target.role is not None:
            self._assume(target.role)
        self.budget = RetryBudget(aws.max_attempts)
        self.budget.install(self.session, {service for service, _ in
                                           SAGETOP_OPERATIONS | CREDENTIAL_OPERATIONS})
        self._stack = contextlib.AsyncExitStack()
        self._clients: dict[tuple[str, str], Any] = {}
        self._creating: dict[tuple[str, str], asyncio.Lock] = {}

    def _assume(self, role: AssumedRole) -> None:
        """This session's credentials are `role`'s, assumed with the base profile's credentials.

        botocore's own AssumeRole fetcher and refreshable credentials, as for a role profile:
        assumed at the first request, refreshed before they expire, a failure (AccessDenied, a
        role that does not exist) raised at each attempt so a fixed trust policy recovers. The
        base session is guarded like every other (only the credential calls pass on it).
        """
        base = _session()
        profile = self.target.profile
        if profile:
            base.set_config_variable("profile", profile)
        install_read_only_guard(base)
        base.set_default_client_config(self.client_config)
        region = self.regions[0] if self.regions else None
        extra: dict[str, str] = {"RoleSessionName": role.session_name}
        if role.external_id:
            extra["ExternalId"] = role.external_id

        def sts(service: str, **kwargs: Any) -> Any:
            return base.create_client(service, region_name=region, **kwargs)

        class _Provider(CredentialProvider):  # type: ignore[misc]  # awaited by aio
            METHOD = "sagetop-assume-role"

            async def load(self) -> Any:
                source = await base.get_credentials()
                if source is None:
                    return None
                fetcher = AioAssumeRoleCredentialFetcher(
                    client_creator=sts, source_credentials=source, role_arn=role.arn,
                    extra_args=extra)
                return AioDeferredRefreshableCredentials(
                    method=self.METHOD, refresh_using=fetcher.fetch_credentials)

        self.session.register_component("credential_provider",
                                        AioCredentialResolver([_Provider()]))

    def _check_aws_files(self, profile: str | None) -> None:
        """The profile exists and ~/.aws/config parses: a usage error now, not mid-collection."""
        if profile:
            self.session.set_config_variable("profile", profile)
        try:
            self.session.get_scoped_config()
        except ProfileNotFound:
            name = self.session.get_config_variable("profile")
            origin = ("--profile" if self.target.profile else "aws.profile in the configuration"
                      if self.settings.profile else "AWS_PROFILE")
            where = self.session.get_config_variable("config_file") or "~/.aws/config"
            raise ConfigError(f"AWS profile {shown(name)} (from {origin}) is not in {where} "
                              "or the credentials file") from None
        except ConfigParseError as exc:
            raise ConfigError(f"AWS config file {inert(str(exc.kwargs.get('path', '')))}: "
                              "cannot be parsed (not an INI file)") from None

    def _resolve_regions(self) -> tuple[str, ...]:
        regions, origin = self.target.regions, "--region"
        if not regions:
            regions, origin = self.settings.regions, "aws.regions in the configuration"
        if not regions:
            # As the AWS CLI: AWS_REGION first (botocore itself reads only AWS_DEFAULT_REGION),
            # then AWS_DEFAULT_REGION, then the profile's region.
            default = os.environ.get("AWS_REGION") or self.session.get_config_variable("region")
            regions = (default,) if default else ()
            origin = "AWS_REGION" if os.environ.get("AWS_REGION") else (
                "AWS_DEFAULT_REGION" if os.environ.get("AWS_DEFAULT_REGION")
                else "the AWS profile's region")
        if not regions:
            return ()  # refused on entry (`__aenter__`): the dashboard shows it in its header
        custom = bool(self.target.endpoint_url or self.settings.endpoint_url
                      or self.target.simulated)
        for region in regions:
            problem = region_problem(region, custom)
            if problem:
                error = UsageError if origin == "--region" else ConfigError
                raise error(f"{origin}: {problem}")
        return tuple(dict.fromkeys(regions))

    async def credentials_problem(self) -> str | None:
        """Why no request can be signed, or None once credentials are in hand.

        Resolving them runs the credential chain now (assuming a role, reading the SSO cache,
        running credential_process), so its failure is one line before any collection starts.
        A chain that is misconfigured (a source_profile loop, a missing source profile, half a
        key pair) raises `ConfigError`: no refresh can fix it.
        """
        try:
            credentials = await self.session.get_credentials()
            if credentials is None:
                return NO_CREDENTIALS
            frozen = await credentials.get_frozen_credentials()
            if not frozen.access_key:
                return NO_CREDENTIALS
        except CREDENTIAL_CONFIG_ERRORS as exc:
            raise ConfigError(f"AWS credentials: {inert(str(exc), one_line=True, limit=200)}"
                              ) from None
        except RECOVERABLE as exc:
            return describe_credentials_failure(exc)
        return None

    @property
    def profile_name(self) -> str | None:
        profile: str | None = self.target.profile or self.settings.profile or (
            self.session.get_config_variable("profile"))
        return profile

    async def __aenter__(self) -> AwsContext:
        if not self.regions:
            raise ConfigError(NO_REGION)
        await self._stack.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.__aexit__(None, None, None)
        self._clients.clear()

    async def client(self, service: str, region: str) -> Any:
        key = (service, region)
        client = self._clients.get(key)
        if client is not None:
            return client
        # Callers that start together share one client: each would otherwise make its own
        # (its own connection pool and credential resolution), keeping only the last.
        lock = self._creating.setdefault(key, asyncio.Lock())
        async with lock:
            client = self._clients.get(key)
            return client if client is not None else await self._new_client(service, region)

    async def _new_client(self, service: str, region: str) -> Any:
        endpoint_url = self.target.endpoint_url or self.settings.endpoint_url
        try:
            config = self.client_config
            if service == "cloudwatch":
                # botocore validates every call's parameters against the model before sending:
                # for a 500-query GetMetricData that walks 500 nested structures, a third of the
                # call's CPU. sagetop builds those queries itself (collectors.metrics, tested
                # against moto's server), and CloudWatch still rejects a malformed one.
                config = config.merge(Config(parameter_validation=False))
            creator = self.session.create_client(
                service, region_name=region, endpoint_url=endpoint_url, config=config)
            client = await self._stack.enter_async_context(creator)
        except ValueError as exc:
            # An endpoint URL from AWS_ENDPOINT_URL or ~/.aws/config that is not a URL.
            raise ConfigError(f"AWS endpoint for {service}: "
                              f"{inert(str(exc), one_line=True, limit=120)}") from None
        guard_client(client)  # sagetop's own calls: its reads only, no credential calls
        self._clients[(service, region)] = client
        return client

    async def account_id(self) -> str | None:
        """The caller's account, for the header; a failure here is not worth stopping for."""
        try:
            sts = await self.client("sts", self.regions[0])
            identity = await sts.get_caller_identity()
        except RECOVERABLE:
            return None
        account: str | None = identity.get("Account")
        return account
