"""One aiobotocore session for the whole run: clients made once per (service, region) and reused.

AWS settings follow the AWS CLI: the standard credential chain, a named profile, one or more
regions, an endpoint URL (and the AWS_* variables botocore already honours). Retries are
botocore's adaptive mode, which also rate-limits the client after throttling.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiobotocore.session import AioSession, get_session
from botocore.config import Config
from botocore.exceptions import ProfileNotFound
from botocore.utils import parse_timestamp

from collectors import fastparse
from collectors.failures import RECOVERABLE
from collectors.guard import install_read_only_guard
from collectors.ledger import RequestLedger
from ground.config import AwsSettings, CostSettings
from ground.errors import ConfigError

_SECRETS = (
    # Session tokens in headers and query strings, however they are quoted.
    re.compile(r"(?i)(x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)[^'\",}\s&]+"),
    re.compile(r"(Signature=)[0-9a-f]+"),
    re.compile(r"(Credential=)[A-Z0-9]+"),
    re.compile(r"(?i)((?:aws_)?secret_?(?:access_)?key['\"]?\s*[:=]\s*['\"]?)[^'\",}\s]+"),
)


class _RedactingRecords:
    """Log records with credentials blanked, whatever logger made them (botocore logs every
    signed request, session token included, at DEBUG)."""

    def __init__(self, factory: Callable[..., logging.LogRecord]) -> None:
        self.factory = factory

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.factory(*args, **kwargs)
        if not record.name.startswith(("botocore", "aiobotocore", "urllib3", "aiohttp")):
            return record
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return record
        for pattern in _SECRETS:
            message = pattern.sub(r"\1[REDACTED]", message)
        record.msg, record.args = message, None
        return record


def install_log_redaction() -> None:
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _RedactingRecords):
        logging.setLogRecordFactory(_RedactingRecords(factory))


def utc_timestamp(value: Any) -> dt.datetime:
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    parsed: dt.datetime = parse_timestamp(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass
class AwsTarget:
    """Where to look: what the command line and configuration chose."""

    profile: str | None = None
    regions: tuple[str, ...] = ()
    endpoint_url: str | None = None
    simulated: bool = False
    # Called with the session before any client exists (the simulated account installs here).
    prepare_session: Callable[[AioSession], None] | None = field(default=None, repr=False)


class AwsContext:
    """Owns the session, the clients, the guard and the ledger; use as an async context manager.

    It gets the `[aws]` settings and the CloudWatch price (`[cost]`) only: what to refresh when is
    the collectors' business, not the session's.
    """

    def __init__(self, settings: AwsSettings, target: AwsTarget,
                 cost: CostSettings | None = None) -> None:
        self.settings = settings
        self.target = target
        profile = target.profile or settings.profile
        try:
            self.session: AioSession = get_session()
            if profile:
                self.session.set_config_variable("profile", profile)
                self.session.get_scoped_config()  # fails now, not mid-collection
        except ProfileNotFound as exc:
            raise ConfigError(f"AWS profile: {exc}") from None
        install_read_only_guard(self.session)
        install_log_redaction()
        # botocore parses epoch timestamps with dateutil into local time, ~30 us each; a refresh
        # of a large fleet carries hundreds of thousands of them. UTC and direct is exact and fast.
        self.session.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=utc_timestamp)
        fastparse.install(self.session)
        self.ledger = RequestLedger((cost or CostSettings()).getmetricdata_usd_per_1000_metrics)
        self.ledger.install(self.session)
        if target.prepare_session is not None:
            target.prepare_session(self.session)
        self.regions = self._resolve_regions()
        aws = settings
        self.client_config = Config(
            retries={"mode": "adaptive", "max_attempts": aws.max_attempts},
            connect_timeout=aws.connect_timeout_s,
            read_timeout=aws.read_timeout_s,
            max_pool_connections=aws.max_pool_connections,
            user_agent_extra="sagetop",
        )
        self._stack = contextlib.AsyncExitStack()
        self._clients: dict[tuple[str, str], Any] = {}

    def _resolve_regions(self) -> tuple[str, ...]:
        regions = self.target.regions or self.settings.regions
        if not regions:
            default = self.session.get_config_variable("region")
            regions = (default,) if default else ()
        if not regions:
            raise ConfigError(
                "no AWS region: pass --region, set AWS_REGION, or set aws.regions in config.toml"
            )
        return tuple(dict.fromkeys(regions))

    @property
    def profile_name(self) -> str | None:
        profile: str | None = self.target.profile or self.settings.profile or (
            self.session.get_config_variable("profile"))
        return profile

    async def __aenter__(self) -> AwsContext:
        await self._stack.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.__aexit__(None, None, None)
        self._clients.clear()

    async def client(self, service: str, region: str) -> Any:
        key = (service, region)
        client = self._clients.get(key)
        if client is None:
            endpoint_url = self.target.endpoint_url or self.settings.endpoint_url
            creator = self.session.create_client(
                service, region_name=region, endpoint_url=endpoint_url, config=self.client_config
            )
            client = await self._stack.enter_async_context(creator)
            self._clients[key] = client
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
