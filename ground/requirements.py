"""Business requirements per endpoint: environment, latency objective, cold starts, payload, floor.

Each value is resolved by precedence, lowest to highest:

1. the defaults of the endpoint's environment (built in, optionally overridden in config.toml
   `[requirements.defaults.<environment>]`);
2. config.toml `[[requirements.rules]]` whose `pattern` (and `region`, if given) match the endpoint,
   in file order, later rules overriding earlier ones;
3. the endpoint's tags (`sagetop:p99-latency-ms`, ...), which the endpoint's owners control.

The environment itself comes from `requirements.default_environment`, then rules, then the tags
`env` / `environment` / `stage` and, above them, `sagetop:environment`. Every value records where
it came from; a tag that cannot be used is a warning, never an error: tags are free text that
anyone with TagResource may write.
"""

from __future__ import annotations

import math
import zoneinfo
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from ground.domain import EndpointSnapshot
from ground.errors import ConfigError
from ground.validation import describe_validation


class Environment(StrEnum):
    PRODUCTION = "production"
    STAGING = "staging"
    TEST = "test"
    DEVELOPMENT = "development"


# Values teams actually put in env/stage tags, mapped to the four environments.
ENVIRONMENT_ALIASES: dict[str, Environment] = {
    "prod": Environment.PRODUCTION, "production": Environment.PRODUCTION,
    "prd": Environment.PRODUCTION, "live": Environment.PRODUCTION,
    "stg": Environment.STAGING, "stage": Environment.STAGING, "staging": Environment.STAGING,
    "preprod": Environment.STAGING,
    "test": Environment.TEST, "qa": Environment.TEST, "uat": Environment.TEST,
    "dev": Environment.DEVELOPMENT, "development": Environment.DEVELOPMENT,
    "sandbox": Environment.DEVELOPMENT,
}
# Generic tags, in the order they are consulted; matched case-insensitively.
ENVIRONMENT_TAGS: tuple[str, ...] = ("env", "environment", "stage")
SAGETOP_ENVIRONMENT_TAG = "sagetop:environment"
VALUE_TAGS: dict[str, str] = {
    "p99_latency_ms": "sagetop:p99-latency-ms",
    "cold_start_tolerance_ms": "sagetop:cold-start-tolerance-ms",
    "max_payload_mb": "sagetop:max-payload-mb",
    "min_instances": "sagetop:min-instances",
    "off_hours": "sagetop:off-hours",
    "timezone": "sagetop:timezone",
}
# Tag values read as yes / no for `sagetop:off-hours`.
YES = frozenset({"true", "yes", "allowed", "allow", "on", "1"})
NO = frozenset({"false", "no", "never", "off", "0"})
VALUE_FIELDS: tuple[str, ...] = tuple(VALUE_TAGS)


def known_timezone(name: str) -> bool:
    """An IANA zone zoneinfo can load (the system's database, else the tzdata package)."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


class Requirements(BaseModel):
    """What one endpoint must keep delivering, and where each value came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    environment: Environment
    p99_latency_ms: float | None  # latency objective; None = none stated
    cold_start_tolerance_ms: float  # 0 = no request may wait for a cold start
    max_payload_mb: float | None  # largest request the endpoint must accept; None = not stated
    min_instances: int  # instances the endpoint must keep (availability floor)
    # Whether capacity may be lowered outside working hours (an off-hours schedule), and the
    # time zone its working hours are in (IANA name).
    off_hours: bool = False
    timezone: str = "UTC"
    sources: dict[str, str]  # field -> where the value came from
    warnings: tuple[str, ...] = ()


class RequirementValues(BaseModel):
    """The settable values, each optional: a default set or a rule states only what it changes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    p99_latency_ms: float | None = Field(default=None, gt=0, strict=True, allow_inf_nan=False)
    cold_start_tolerance_ms: float | None = Field(default=None, ge=0, strict=True,
                                                  allow_inf_nan=False)
    max_payload_mb: float | None = Field(default=None, gt=0, strict=True, allow_inf_nan=False)
    min_instances: int | None = Field(default=None, ge=0, strict=True)
    off_hours: bool | None = Field(default=None, strict=True)
    timezone: str | None = Field(default=None, min_length=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and not known_timezone(value):
            raise ValueError("expected an IANA time zone such as Europe/Berlin")
        return value

    def stated(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in VALUE_FIELDS
                if getattr(self, name) is not None}


class RequirementsRule(RequirementValues):
    """`[[requirements.rules]]`: values for endpoints whose name matches `pattern`."""

    pattern: str = Field(min_length=1)  # fnmatch, case-insensitive (endpoint names are)
    region: str | None = Field(default=None, min_length=1)
    environment: Environment | None = None

    def matches(self, endpoint: EndpointSnapshot) -> bool:
        if self.region is not None and self.region != endpoint.region:
            return False
        return fnmatchcase(endpoint.name.lower(), self.pattern.lower())

    def describe(self, origin: str) -> str:
        where = f" region '{self.region}'" if self.region else ""
        return f"{origin} [[requirements.rules]] pattern '{self.pattern}'{where}"


# Built-in defaults. Production tolerates no cold start and keeps two instances: one instance is a
# single point of failure (AWS recommends two or more for availability across zones). Elsewhere a
# cold start of up to 10 s is accepted: serverless cold starts (ModelSetupTime plus container
# start) last seconds, and a non-production caller can wait that long; one instance suffices.
# No latency objective or payload limit is assumed: only the owners know them.
# Outside production capacity may follow working hours (an off-hours schedule); production keeps
# its capacity around the clock unless its owners say otherwise. Working hours are in UTC unless
# a time zone is configured or tagged.
BUILT_IN_DEFAULTS: dict[Environment, RequirementValues] = {
    Environment.PRODUCTION: RequirementValues(cold_start_tolerance_ms=0.0, min_instances=2,
                                              off_hours=False, timezone="UTC"),
    Environment.STAGING: RequirementValues(cold_start_tolerance_ms=10_000.0, min_instances=1,
                                           off_hours=True, timezone="UTC"),
    Environment.TEST: RequirementValues(cold_start_tolerance_ms=10_000.0, min_instances=1,
                                        off_hours=True, timezone="UTC"),
    Environment.DEVELOPMENT: RequirementValues(cold_start_tolerance_ms=10_000.0, min_instances=1,
                                               off_hours=True, timezone="UTC"),
}



class RequirementsSettings(BaseModel):
    """The `[requirements]` section of config.toml."""

    model_config = ConfigDict(extra="forbid")

    # Untagged endpoints count as production: assuming less would let the advisors propose
    # cheaper, less available setups for something that may serve customers.
    default_environment: Environment = Environment.PRODUCTION
    # Overrides of the built-in defaults, per environment; keys not given keep the built-in value.
    defaults: dict[Environment, RequirementValues] = Field(default_factory=dict)
    rules: list[RequirementsRule] = Field(default_factory=list)
    _origin: str = PrivateAttr(default="built-in defaults")

    @field_validator("rules", mode="before")
    @classmethod
    def _rules_are_a_list(cls, value: Any) -> Any:
        # `[requirements.rules]` (one table) instead of `[[requirements.rules]]` (an array) is an
        # easy slip; say so rather than "input should be a valid list".
        if isinstance(value, dict):
            raise ValueError("expected [[requirements.rules]] entries (an array of tables)")
        return value

    @classmethod
    def from_config(cls, raw: dict[str, Any], origin: str) -> RequirementsSettings:
        """Validate `config.requirements`; raise ConfigError with one line naming the key."""
        try:
            settings = cls.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(describe_validation(exc, origin, section="requirements")) from None
        settings._origin = origin
        return settings

    @property
    def origin(self) -> str:
        return self._origin

    def default_value(self, environment: Environment, name: str) -> tuple[Any, str]:
        override = self.defaults.get(environment)
        if override is not None and getattr(override, name) is not None:
            return (getattr(override, name),
                    f"{self._origin} [requirements.defaults.{environment.value}]")
        return getattr(BUILT_IN_DEFAULTS[environment], name), f"default for {environment.value}"


# --- resolution ------------------------------------------------------------------------------


def _tags_by_lower_key(tags: dict[str, str]) -> dict[str, tuple[str, str]]:
    """lower-cased key -> (key as written, value); the first spelling wins on collisions."""
    found: dict[str, tuple[str, str]] = {}
    for key, value in tags.items():
        found.setdefault(key.strip().lower(), (key, value))
    return found


def _environment_from_tags(
    tags: dict[str, tuple[str, str]], warnings: list[str]
) -> tuple[Environment, str] | None:
    chosen: tuple[Environment, str] | None = None
    for lower in (*ENVIRONMENT_TAGS, SAGETOP_ENVIRONMENT_TAG):
        if lower not in tags:
            continue
        key, value = tags[lower]
        environment = ENVIRONMENT_ALIASES.get(value.strip().lower())
        if environment is None:
            warnings.append(
                f"tag {key}={value!r} is not a known environment (production, staging, test, "
                "development, or prod/stg/qa/dev and similar); ignored")
            continue
        if lower == SAGETOP_ENVIRONMENT_TAG:
            chosen = (environment, f"tag {key}")  # sagetop's own tag outranks the generic ones
        elif chosen is None:
            chosen = (environment, f"tag {key}")
        elif chosen[0] != environment:
            warnings.append(f"tag {key}={value!r} disagrees with {chosen[1]}; "
                            f"{chosen[1]} is used")
    return chosen


def _parse_tag_value(name: str, key: str, value: str
                     ) -> tuple[float | int | bool | str | None, str | None]:
    """The tag's value, or None and a warning naming the tag."""
    text = value.strip()
    if name == "off_hours":
        if text.lower() in YES:
            return True, None
        if text.lower() in NO:
            return False, None
        return None, f"tag {key}={value!r} is not yes or no (true/false, allowed/never); ignored"
    if name == "timezone":
        if known_timezone(text):
            return text, None
        return None, f"tag {key}={value!r} is not an IANA time zone (e.g. Europe/Berlin); ignored"
    if name == "min_instances":
        try:
            whole = int(text)
        except ValueError:
            return None, f"tag {key}={value!r} is not a whole number; ignored"
        if whole < 0:
            return None, f"tag {key}={value!r} is negative; ignored"
        return whole, None
    try:
        number = float(text)
    except ValueError:
        return None, f"tag {key}={value!r} is not a number; ignored"
    if not math.isfinite(number):
        return None, f"tag {key}={value!r} is not a finite number; ignored"
    if number < 0:
        return None, f"tag {key}={value!r} is negative; ignored"
    if number == 0 and name in ("p99_latency_ms", "max_payload_mb"):
        return None, f"tag {key}={value!r} must be greater than 0; ignored"
    return number, None


def requirements_for(endpoint: EndpointSnapshot, settings: RequirementsSettings) -> Requirements:
    """Resolve the requirements of `endpoint`: defaults → config rules → tags."""
    warnings: list[str] = []
    sources: dict[str, str] = {}
    tags = _tags_by_lower_key(endpoint.tags)
    matching = [rule for rule in settings.rules if rule.matches(endpoint)]

    environment = settings.default_environment
    sources["environment"] = (
        f"{settings.origin} requirements.default_environment"
        if "default_environment" in settings.model_fields_set
        else "default for endpoints without an environment tag")
    for rule in matching:
        if rule.environment is not None:
            environment = rule.environment
            sources["environment"] = rule.describe(settings.origin)
    from_tags = _environment_from_tags(tags, warnings)
    if from_tags is not None:
        environment, sources["environment"] = from_tags

    values: dict[str, Any] = {}
    for name in VALUE_FIELDS:
        values[name], sources[name] = settings.default_value(environment, name)
    for rule in matching:
        for name, value in rule.stated().items():
            values[name] = value
            sources[name] = rule.describe(settings.origin)
    for name, tag in VALUE_TAGS.items():
        if tag not in tags:
            continue
        key, raw = tags[tag]
        parsed, problem = _parse_tag_value(name, key, raw)
        if problem is not None:
            warnings.append(problem)
            continue
        values[name] = parsed
        sources[name] = f"tag {key}"

    return Requirements(environment=environment, sources=sources, warnings=tuple(warnings),
                        **values)
