"""Requirements per endpoint: defaults, config rules, tags, precedence and bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ground.domain import DeploymentOption, EndpointSnapshot
from ground.errors import ConfigError
from ground.requirements import (
    Environment,
    Requirements,
    RequirementsSettings,
    requirements_for,
)

ORIGIN = "config.toml"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def endpoint(name: str = "fraud-scorer", region: str = "us-east-1",
             tags: dict[str, str] | None = None) -> EndpointSnapshot:
    return EndpointSnapshot(
        name=name, arn=f"arn:aws:sagemaker:{region}:123456789012:endpoint/{name}",
        region=region, status="InService", deployment=DeploymentOption.REAL_TIME,
        creation_time=T0, last_modified_time=T0, tags=tags or {},
    )


def resolve(raw: dict[str, Any] | None = None, **kwargs: Any) -> Requirements:
    return requirements_for(endpoint(**kwargs), RequirementsSettings.from_config(raw or {}, ORIGIN))


# --- defaults --------------------------------------------------------------------------------


def test_untagged_endpoint_is_production_with_its_defaults() -> None:
    found = resolve()
    assert found.environment is Environment.PRODUCTION
    assert found.cold_start_tolerance_ms == 0
    assert found.min_instances == 2
    assert found.p99_latency_ms is None
    assert found.max_payload_mb is None
    assert found.sources["environment"] == "default for endpoints without an environment tag"
    assert found.sources["min_instances"] == "default for production"
    assert found.warnings == ()


@pytest.mark.parametrize("environment", ["staging", "test", "development"])
def test_non_production_defaults_tolerate_cold_starts_and_one_instance(environment: str) -> None:
    found = resolve(tags={"sagetop:environment": environment})
    assert found.environment == environment
    assert found.cold_start_tolerance_ms == 10_000
    assert found.min_instances == 1
    assert found.sources["cold_start_tolerance_ms"] == f"default for {environment}"


def test_default_environment_from_config() -> None:
    found = resolve({"default_environment": "development"})
    assert found.environment is Environment.DEVELOPMENT
    assert found.min_instances == 1
    assert found.sources["environment"] == "config.toml requirements.default_environment"


def test_defaults_overridden_per_environment_keep_other_built_ins() -> None:
    found = resolve({"defaults": {"production": {"min_instances": 3, "p99_latency_ms": 500}}})
    assert found.min_instances == 3
    assert found.p99_latency_ms == 500
    assert found.cold_start_tolerance_ms == 0  # not overridden: built-in
    assert found.sources["min_instances"] == "config.toml [requirements.defaults.production]"
    assert found.sources["cold_start_tolerance_ms"] == "default for production"


# --- environment from tags -------------------------------------------------------------------


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("env", "prod", Environment.PRODUCTION),
    ("Environment", "PRD", Environment.PRODUCTION),
    ("STAGE", "live", Environment.PRODUCTION),
    ("env", "stg", Environment.STAGING),
    ("env", "preprod", Environment.STAGING),
    ("stage", "Staging", Environment.STAGING),
    ("env", "qa", Environment.TEST),
    ("env", "uat", Environment.TEST),
    ("env", " test ", Environment.TEST),
    ("env", "dev", Environment.DEVELOPMENT),
    ("env", "sandbox", Environment.DEVELOPMENT),
    ("sagetop:environment", "development", Environment.DEVELOPMENT),
])
def test_environment_tags_and_aliases(key: str, value: str, expected: Environment) -> None:
    # A default that differs from the expected value, so the tag is what decides.
    default = "production" if expected is Environment.TEST else "test"
    found = resolve({"default_environment": default}, tags={key: value})
    assert found.environment is expected
    assert found.sources["environment"] == f"tag {key}"
    assert found.warnings == ()


def test_unknown_environment_value_is_a_warning_and_the_default_stays() -> None:
    found = resolve(tags={"env": "blue"})
    assert found.environment is Environment.PRODUCTION
    assert found.warnings == (
        "tag env='blue' is not a known environment (production, staging, test, development, "
        "or prod/stg/qa/dev and similar); ignored",)


def test_look_alike_tag_keys_are_not_environment_tags() -> None:
    found = resolve(tags={"envoy": "dev", "team-env": "dev", "owner": "dev"})
    assert found.environment is Environment.PRODUCTION


def test_sagetop_environment_tag_outranks_generic_tags() -> None:
    found = resolve(tags={"env": "dev", "sagetop:environment": "production"})
    assert found.environment is Environment.PRODUCTION
    assert found.sources["environment"] == "tag sagetop:environment"


def test_disagreeing_generic_tags_warn_and_the_first_wins() -> None:
    found = resolve(tags={"env": "dev", "stage": "prod"})
    assert found.environment is Environment.DEVELOPMENT
    assert found.warnings == ("tag stage='prod' disagrees with tag env; tag env is used",)


# --- rules -----------------------------------------------------------------------------------


RULES: dict[str, Any] = {"rules": [
    {"pattern": "fraud-*", "p99_latency_ms": 200, "max_payload_mb": 1.5},
    {"pattern": "*-scorer", "p99_latency_ms": 150, "min_instances": 3},
    {"pattern": "batch-*", "environment": "development"},
    {"pattern": "fraud-*", "region": "eu-west-1", "min_instances": 4},
]}


def test_later_matching_rules_override_earlier_ones() -> None:
    found = resolve(RULES)
    assert found.p99_latency_ms == 150
    assert found.max_payload_mb == 1.5
    assert found.min_instances == 3
    rule = "config.toml [[requirements.rules]] pattern"
    assert found.sources["p99_latency_ms"] == f"{rule} '*-scorer'"
    assert found.sources["max_payload_mb"] == f"{rule} 'fraud-*'"


def test_rule_region_must_match() -> None:
    assert resolve(RULES).min_instances == 3
    in_eu = resolve(RULES, region="eu-west-1")
    assert in_eu.min_instances == 4
    assert in_eu.sources["min_instances"] == (
        "config.toml [[requirements.rules]] pattern 'fraud-*' region 'eu-west-1'")


def test_pattern_is_case_insensitive_and_whole_name() -> None:
    assert resolve(RULES, name="FRAUD-v2").max_payload_mb == 1.5
    assert resolve(RULES, name="antifraud-v2").max_payload_mb is None  # look-alike


def test_rule_sets_environment_and_its_defaults_follow() -> None:
    found = resolve(RULES, name="batch-nightly")
    assert found.environment is Environment.DEVELOPMENT
    assert found.min_instances == 1
    assert found.cold_start_tolerance_ms == 10_000
    assert found.sources["environment"] == "config.toml [[requirements.rules]] pattern 'batch-*'"


def test_environment_tag_overrides_rule() -> None:
    found = resolve(RULES, name="batch-nightly", tags={"env": "prod"})
    assert found.environment is Environment.PRODUCTION
    assert found.min_instances == 2


# --- value tags ------------------------------------------------------------------------------


def test_value_tags_override_rules() -> None:
    found = resolve(RULES, tags={
        "sagetop:p99-latency-ms": "80", "sagetop:cold-start-tolerance-ms": "2500",
        "sagetop:max-payload-mb": "0.5", "SageTop:Min-Instances": " 5 ",
    })
    assert (found.p99_latency_ms, found.cold_start_tolerance_ms, found.max_payload_mb,
            found.min_instances) == (80, 2500, 0.5, 5)
    assert found.sources["p99_latency_ms"] == "tag sagetop:p99-latency-ms"
    assert found.sources["min_instances"] == "tag SageTop:Min-Instances"


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("sagetop:min-instances", "two", "is not a whole number"),
    ("sagetop:min-instances", "2.5", "is not a whole number"),
    ("sagetop:min-instances", "-1", "is negative"),
    ("sagetop:p99-latency-ms", "fast", "is not a number"),
    ("sagetop:p99-latency-ms", "-5", "is negative"),
    ("sagetop:p99-latency-ms", "0", "must be greater than 0"),
    ("sagetop:max-payload-mb", "inf", "is not a finite number"),
    ("sagetop:cold-start-tolerance-ms", "nan", "is not a finite number"),
    ("sagetop:cold-start-tolerance-ms", "", "is not a number"),
])
def test_unusable_tag_values_are_warnings_not_errors(key: str, value: str, problem: str) -> None:
    found = resolve(RULES, tags={key: value})
    assert found.warnings == (f"tag {key}={value!r} {problem}; ignored",)
    assert found.min_instances == 3  # the rule's value stands
    assert found.p99_latency_ms == 150
    assert found.cold_start_tolerance_ms == 0
    assert found.max_payload_mb == 1.5


def test_cold_start_tolerance_zero_tag_is_valid() -> None:
    found = resolve(tags={"env": "dev", "sagetop:cold-start-tolerance-ms": "0"})
    assert found.cold_start_tolerance_ms == 0
    assert found.warnings == ()


# --- configuration errors: one line naming the key -------------------------------------------


@pytest.mark.parametrize(("raw", "message"), [
    ({"rules": [{"pattern": "a"}, {"pattern": "b"}, {"pattern": "c", "min_instances": "x"}]},
     "config.toml: requirements.rules[2].min_instances: expected a whole number, got 'x'"),
    ({"rules": [{"pattern": "a", "min_instances": 2.5}]},
     "config.toml: requirements.rules[0].min_instances: expected a whole number, got 2.5"),
    ({"rules": [{"pattern": "a", "p99_latency_ms": -1}]},
     "config.toml: requirements.rules[0].p99_latency_ms: expected a number greater than 0, "
     "got -1"),
    ({"rules": [{"pattern": "a", "p99_latency_ms": "fast"}]},
     "config.toml: requirements.rules[0].p99_latency_ms: expected a number, got 'fast'"),
    ({"rules": [{"pattern": "a", "environment": "prodd"}]},
     "config.toml: requirements.rules[0].environment: expected one of 'production', "
     "'staging', 'test' or 'development', got 'prodd'"),
    ({"rules": [{"pattern": "a", "min_instance": 2}]},
     "config.toml: requirements.rules[0].min_instance: unknown key"),
    ({"rules": [{"min_instances": 1}]},
     "config.toml: requirements.rules[0].pattern: missing required key"),
    ({"rules": [{"pattern": ""}]},
     "config.toml: requirements.rules[0].pattern: expected non-empty text, got ''"),
    ({"rules": {"pattern": "a"}},
     "config.toml: requirements.rules: expected [[requirements.rules]] entries (an array of "
     "tables), got {'pattern': 'a'}"),
    ({"defaults": {"prod": {"min_instances": 1}}},
     "config.toml: requirements.defaults.prod: expected one of 'production', 'staging', "
     "'test' or 'development', got 'prod'"),
    ({"defaults": {"staging": {"cold_start_tolerance_ms": -1}}},
     "config.toml: requirements.defaults.staging.cold_start_tolerance_ms: expected a number of "
     "at least 0, got -1"),
    ({"default_environment": "qa"},
     "config.toml: requirements.default_environment: expected one of 'production', 'staging', "
     "'test' or 'development', got 'qa'"),
    ({"colour": "blue"}, "config.toml: requirements.colour: unknown key"),
])
def test_bad_configuration_is_one_line(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        RequirementsSettings.from_config(raw, ORIGIN)
    assert str(raised.value) == message


def test_several_problems_are_counted() -> None:
    with pytest.raises(ConfigError, match=r"\(and 1 more problem\)$"):
        RequirementsSettings.from_config(
            {"rules": [{"pattern": "a", "min_instances": "x", "p99_latency_ms": "y"}]}, ORIGIN)


def test_empty_section_is_the_built_in_defaults() -> None:
    settings = RequirementsSettings.from_config({}, "built-in defaults")
    assert settings.default_environment is Environment.PRODUCTION
    assert settings.rules == []
