"""sagetop's configuration: pydantic models, the lookup order of the file, and one-line errors.

Lookup order: `--config PATH`, `$SAGETOP_CONFIG`, `$XDG_CONFIG_HOME/sagetop/config.toml` (default
`~/.config/sagetop/config.toml`), then the built-in defaults, which `config.toml` at the repository
root documents key by key.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ground import locations
from ground.errors import ConfigError
from ground.untrusted import shown
from ground.validation import describe_validation

_URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


def endpoint_url_problem(url: str) -> str | None:
    """Why `url` cannot be an AWS endpoint URL (botocore would refuse it at the first client)."""
    if not _URL_CHARACTERS.fullmatch(url):
        return f"{shown(url)} is not a URL"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"{shown(url)} is not an http:// or https:// URL"
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return f"{shown(url)} has a port that is not a number from 0 to 65535"
    if not parts.hostname:
        return f"{shown(url)} names no host"
    return None


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AwsSettings(Section):
    profile: str | None = None
    regions: tuple[str, ...] = ()
    endpoint_url: str | None = None
    max_attempts: int = Field(default=8, ge=1, le=20)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    read_timeout_s: float = Field(default=20.0, gt=0, le=600)
    max_pool_connections: int = Field(default=20, ge=1, le=200)
    describe_concurrency: int = Field(default=8, ge=1, le=64)
    # The ceiling the adaptive describe concurrency may grow to (collectors/concurrency.py).
    describe_concurrency_max: int = Field(default=20, ge=1, le=64)

    @field_validator("profile", "endpoint_url")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        # TOML has no null: an empty string is how the documented file says "not set".
        return value or None

    @field_validator("endpoint_url")
    @classmethod
    def _a_url(cls, value: str | None) -> str | None:
        problem = endpoint_url_problem(value) if value else None
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _start_within_ceiling(self) -> AwsSettings:
        if self.describe_concurrency > self.describe_concurrency_max:
            raise ValueError(f"describe_concurrency ({self.describe_concurrency}) is above "
                             f"describe_concurrency_max ({self.describe_concurrency_max})")
        return self


# An IAM role ARN (aws, aws-cn, aws-us-gov... partitions), the form STS AssumeRole takes.
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
# RoleSessionName: 2-64 of these characters (STS's own pattern).
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")


class AccountSettings(Section):
    """One `[[accounts]]` entry: a named profile, or a role assumed from a base profile."""

    name: str | None = None  # shown in the account column; default: the account id
    profile: str | None = None  # the profile itself, or the base the role is assumed from
    role_arn: str | None = None
    external_id: str | None = None
    session_name: str | None = None

    @field_validator("name", "profile", "role_arn", "external_id", "session_name")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("role_arn")
    @classmethod
    def _a_role(cls, value: str | None) -> str | None:
        if value is not None and not _ROLE_ARN.fullmatch(value):
            raise ValueError("expected an IAM role ARN such as "
                             "arn:aws:iam::123456789012:role/sagetop-read-only")
        return value

    @field_validator("session_name")
    @classmethod
    def _a_session_name(cls, value: str | None) -> str | None:
        if value is not None and not _SESSION_NAME.fullmatch(value):
            raise ValueError("expected 2-64 letters, digits or +=,.@_-")
        return value

    @field_validator("external_id")
    @classmethod
    def _an_external_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w+=,.@:/-]{2,1224}", value):
            raise ValueError("expected 2-1224 letters, digits or +=,.@:/_-")
        return value

    @model_validator(mode="after")
    def _something_to_use(self) -> AccountSettings:
        if self.profile is None and self.role_arn is None:
            raise ValueError("an account needs a profile, a role_arn, or both")
        if self.role_arn is None and (self.external_id or self.session_name):
            raise ValueError("external_id and session_name need a role_arn")
        return self


class OrgSettings(Section):
    """`--org`: the member accounts Organizations lists, each through this read-only role."""

    role_name: str = "sagetop-read-only"
    external_id: str | None = None
    session_name: str = "sagetop"
    # CloudWatch cross-account observability (collectors/oam.py), for any several accounts:
    # metrics of source accounts linked to a watched monitoring account are asked from it.
    cross_account_metrics: bool = True
    # The watched account (its name or 12-digit id) to ask for sinks and links; empty: every
    # watched account is asked (one oam:ListSinks per account and region, at start).
    monitoring_account: str = ""

    @field_validator("external_id")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("role_name")
    @classmethod
    def _a_role_name(cls, value: str) -> str:
        if not re.fullmatch(r"[\w+=,.@-]{1,64}", value):
            raise ValueError("expected an IAM role name (1-64 letters, digits or +=,.@_-)")
        return value

    @field_validator("session_name")
    @classmethod
    def _a_session_name(cls, value: str) -> str:
        if not _SESSION_NAME.fullmatch(value):
            raise ValueError("expected 2-64 letters, digits or +=,.@_-")
        return value


class HistorySettings(Section):
    lookback_days: int = Field(default=14, ge=1, le=15)
    live_window_minutes: int = Field(default=60, ge=5, le=180)


class RefreshSettings(Section):
    live_seconds: int = Field(default=60, ge=10, le=3600)
    fleet_seconds: int = Field(default=1800, ge=60, le=86400)
    inventory_seconds: int = Field(default=300, ge=30, le=86400)
    window_minutes: int = Field(default=360, ge=5, le=1440)
    tags_minutes: int = Field(default=60, ge=1, le=1440)
    model_monitor_minutes: int = Field(default=60, ge=5, le=1440)
    provisioning_minutes: int = Field(default=15, ge=1, le=1440)
    recommender_minutes: int = Field(default=60, ge=5, le=1440)
    aws_verdicts_minutes: int = Field(default=360, ge=15, le=1440)


class CostSettings(Section):
    getmetricdata_usd_per_1000_metrics: float = Field(default=0.01, ge=0)


class StoreSettings(Section):
    """The local state store: what makes a warm start instant, and the fleet's days."""

    enabled: bool = True
    # Day records (and series older than the lookback) are dropped after this many days.
    retention_days: int = Field(default=90, ge=1, le=3650)
    # The directory of the store files; empty: $XDG_STATE_HOME/sagetop/store.
    path: str = ""
    # How long a write waits for another sagetop process holding the file before giving up.
    busy_timeout_s: float = Field(default=5.0, gt=0, le=120)

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if value and not Path(value).expanduser().is_absolute():
            raise ValueError("expected an absolute directory (or empty for the default)")
        return value

    def directory(self) -> Path:
        return Path(self.path).expanduser() if self.path else locations.store_dir()


class SagetopConfig(Section):
    aws: AwsSettings = AwsSettings()
    accounts: tuple[AccountSettings, ...] = ()
    org: OrgSettings = OrgSettings()
    history: HistorySettings = HistorySettings()
    refresh: RefreshSettings = RefreshSettings()
    cost: CostSettings = CostSettings()
    store: StoreSettings = StoreSettings()
    # Advisor thresholds, maturity thresholds and per-endpoint requirements are validated by their
    # own packages (advisors/, profiles/); kept raw here so this module stays at the bottom.
    advisors: dict[str, Any] = Field(default_factory=dict)
    maturity: dict[str, Any] = Field(default_factory=dict)
    requirements: dict[str, Any] = Field(default_factory=dict)


def resolve_config_path(explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    from_env = os.environ.get("SAGETOP_CONFIG")
    if from_env:
        return Path(from_env)
    user = locations.config_file()
    return user if user.is_file() else None


def load_config(explicit: str | None = None) -> tuple[SagetopConfig, Path | None]:
    path = resolve_config_path(explicit)
    if path is None:
        return SagetopConfig(), None
    return parse_config_file(path), path


def parse_config_file(path: Path) -> SagetopConfig:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config_data(data, str(path))


def _non_finite(data: Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """The key of the first inf or nan (TOML has both; no threshold or price can be either)."""
    if isinstance(data, float) and not math.isfinite(data):
        return path
    items = data.items() if isinstance(data, dict) else enumerate(data) \
        if isinstance(data, list) else ()
    for key, value in items:
        found = _non_finite(value, (*path, str(key)))
        if found is not None:
            return found
    return None


def parse_config_data(data: dict[str, Any], origin: str) -> SagetopConfig:
    found = _non_finite(data)
    if found is not None:
        raise ConfigError(f"{origin}: {'.'.join(found) or '(top level)'}: expected a finite "
                          "number, got inf or nan")
    try:
        config = SagetopConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation(exc, origin)) from None
    return config
