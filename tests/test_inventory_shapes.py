"""Deployment options told apart from API-shaped configurations (moto cannot create them all)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from collectors.inventory import build_endpoint, classify, config_owner, parse_model
from ground.domain import DeploymentOption

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def endpoint(**extra: Any) -> dict[str, Any]:
    return {"EndpointName": "e", "EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/e",
            "EndpointStatus": "InService", "CreationTime": NOW, "LastModifiedTime": NOW,
            "EndpointConfigName": "c",
            "ProductionVariants": [{"VariantName": "v", "CurrentInstanceCount": 2,
                                    "DesiredInstanceCount": 2, "CurrentWeight": 1.0}],
            **extra}


def config(**variant: Any) -> dict[str, Any]:
    return {"EndpointConfigName": "c", "CreationTime": NOW,
            "ProductionVariants": [{"VariantName": "v", "ModelName": "m",
                                    "InstanceType": "ml.c5.xlarge", "InitialInstanceCount": 2,
                                    **variant}]}


def model(*containers: dict[str, Any], mode: str | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = {"ModelName": "m", "ModelArn": "arn", "CreationTime": NOW}
    if len(containers) == 1:
        raw["PrimaryContainer"] = containers[0]
    else:
        raw["Containers"] = list(containers)
    if mode:
        raw["InferenceExecutionConfig"] = {"Mode": mode}
    return raw


SINGLE = {"Image": "img:1", "ModelDataUrl": "s3://b/model.tar.gz"}


def test_real_time() -> None:
    assert classify(endpoint(), config(), {"m": parse_model(model(SINGLE))}) is \
        DeploymentOption.REAL_TIME


def test_async_from_async_inference_config() -> None:
    async_config = {"OutputConfig": {"S3OutputPath": "s3://b/out"},
                    "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4}}
    built = build_endpoint("us-east-1", endpoint(AsyncInferenceConfig=async_config), config(),
                           {"m": parse_model(model(SINGLE))})
    assert built.deployment is DeploymentOption.ASYNC
    assert built.async_settings is not None
    assert built.async_settings.max_concurrent_invocations_per_instance == 4


def test_serverless_from_current_serverless_config() -> None:
    summary = endpoint()
    summary["ProductionVariants"][0]["CurrentServerlessConfig"] = {
        "MemorySizeInMB": 3072, "MaxConcurrency": 20}
    built = build_endpoint("us-east-1", summary, config(), {"m": parse_model(model(SINGLE))})
    assert built.deployment is DeploymentOption.SERVERLESS
    assert built.variants[0].serverless is not None
    assert built.variants[0].serverless.max_concurrency == 20
    assert built.variants[0].instance_type is None
    assert built.instance_count == 0


def test_multi_model_from_container_mode() -> None:
    mme = parse_model(model({**SINGLE, "Mode": "MultiModel"}))
    assert classify(endpoint(), config(), {"m": mme}) is DeploymentOption.MULTI_MODEL


def test_pipeline_from_several_containers() -> None:
    pipeline = parse_model(model(SINGLE, {"Image": "img:2"}, mode="Serial"))
    assert pipeline.inference_mode == "Serial"
    assert classify(endpoint(), config(), {"m": pipeline}) is DeploymentOption.MULTI_CONTAINER


def test_inference_components_have_no_model_on_the_variant() -> None:
    ic_config = config()
    del ic_config["ProductionVariants"][0]["ModelName"]
    assert classify(endpoint(), ic_config, {}) is DeploymentOption.INFERENCE_COMPONENTS


def test_instance_type_comes_from_the_config_and_counts_from_the_endpoint() -> None:
    summary = endpoint()
    summary["ProductionVariants"][0]["CurrentInstanceCount"] = 5
    built = build_endpoint("us-east-1", summary, config(InitialInstanceCount=2),
                           {"m": parse_model(model(SINGLE))})
    assert built.variants[0].instance_type == "ml.c5.xlarge"
    assert built.variants[0].current_instance_count == 5


def test_shadow_variants_are_kept_and_marked() -> None:
    shadow_config = config()
    shadow_config["ShadowProductionVariants"] = [{"VariantName": "shadow", "ModelName": "m",
                                                  "InstanceType": "ml.c5.large",
                                                  "InitialInstanceCount": 1}]
    built = build_endpoint("us-east-1", endpoint(), shadow_config,
                           {"m": parse_model(model(SINGLE))})
    assert [(v.name, v.shadow) for v in built.variants] == [("v", False), ("shadow", True)]
    assert [v.name for v in built.serving_variants] == ["v"]


def test_vpc_and_network_isolation_from_the_model() -> None:
    raw = model(SINGLE)
    raw["VpcConfig"] = {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}
    raw["EnableNetworkIsolation"] = True
    parsed = parse_model(raw)
    assert parsed.vpc and parsed.network_isolation


_NAME_PART = st.text(alphabet="ab1-", min_size=1, max_size=6)


@given(st.sets(_NAME_PART, max_size=8), st.lists(_NAME_PART, max_size=8))
def test_a_config_belongs_to_the_endpoint_it_is_named_after(endpoints: set[str],
                                                           configs: list[str]) -> None:
    # The rule as it reads: the config's own name, else the longest endpoint name it starts
    # with followed by "-". The lookup by prefix must agree with it for any names.
    by_length = sorted(endpoints, key=len, reverse=True)
    for config in [*configs, *(f"{e}-{c}" for e in endpoints for c in configs)]:
        expected = next((n for n in by_length if config == n or config.startswith(f"{n}-")),
                        None)
        assert config_owner(config, endpoints) == expected
