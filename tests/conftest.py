"""Shared fixtures: an isolated AWS environment and moto's server with its stand-ins."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tests.moto_aws import MotoAws, StandInMiddleware

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.3-cpu-py311"


@pytest.fixture(autouse=True)
def isolated_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No test may read the developer's AWS files or reach AWS."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN",
                 "AWS_REGION", "SAGETOP_CONFIG", "NO_COLOR", "SAGETOP_ASCII"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTINGSAGETOP00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    # The dashboard remembers its view and exports profiles under these: never the user's own.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoAws]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = MotoAws()
    yield server
    server.stop()


@dataclass
class Moto:
    """One test's view of the server: a clean account, boto3 clients to load it, the log."""

    url: str
    middleware: StandInMiddleware

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.url)

    @property
    def log(self) -> list[str]:
        return self.middleware.log

    def create_endpoint(self, name: str, instance_type: str = "ml.c5.xlarge", count: int = 2,
                        variants: tuple[str, ...] = ("AllTraffic",), image: str = IMAGE,
                        tags: dict[str, str] | None = None,
                        serverless: dict[str, int] | None = None) -> None:
        sagemaker = self.client("sagemaker")
        sagemaker.create_model(
            ModelName=f"{name}-model", ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": image, "ModelDataUrl": f"s3://models/{name}/model.tar.gz"})
        production = []
        for variant in variants:
            spec: dict[str, Any] = {"VariantName": variant, "ModelName": f"{name}-model"}
            if serverless:
                spec["ServerlessConfig"] = serverless
            else:
                spec.update(InstanceType=instance_type, InitialInstanceCount=count)
            production.append(spec)
        sagemaker.create_endpoint_config(EndpointConfigName=f"{name}-config",
                                         ProductionVariants=production)
        sagemaker.create_endpoint(
            EndpointName=name, EndpointConfigName=f"{name}-config",
            Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])

    def put_metric(self, namespace: str, metric: str, dims: dict[str, str],
                   values: list[tuple[dt.datetime, float]], unit: str | None = None) -> None:
        cloudwatch = self.client("cloudwatch")
        data = [{"MetricName": metric, "Timestamp": at, "Value": value,
                 "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                 **({"Unit": unit} if unit else {})} for at, value in values]
        for offset in range(0, len(data), 500):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[offset:offset + 500])

    def operations(self, name: str) -> int:
        return sum(1 for entry in self.log if entry == name)


@pytest.fixture
def moto(moto_server: MotoAws) -> Moto:
    request = urllib.request.Request(f"{moto_server.url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).read()
    middleware = moto_server.middleware
    middleware.monitor.schedules.clear()
    middleware.monitor.executions.clear()
    middleware.monitor.processing_jobs.clear()
    middleware.components.clear()
    middleware.oam.clear()
    middleware.denied.clear()
    middleware.unassumable.clear()
    middleware.opinions.clear()
    middleware.page_datapoints = None
    middleware.refused.clear()
    middleware.log.clear()
    middleware.sso = type(middleware.sso)()
    return Moto(moto_server.url, middleware)


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's own backoff and adaptive rate limiting, a fiftieth as long.

    The retries, their number and their order are unchanged; only the waits shrink, so a storm
    that outlasts the retries costs a test a second or two, not half a minute (unscaled waits
    are exercised by the short burst test).
    """
    from aiobotocore.retries.bucket import AsyncTokenBucket
    from botocore.retries.standard import ExponentialBackoff

    delay = ExponentialBackoff.delay_amount
    sleep = AsyncTokenBucket._sleep_amount
    monkeypatch.setattr(ExponentialBackoff, "delay_amount",
                        lambda self, context: delay(self, context) / 50)
    monkeypatch.setattr(AsyncTokenBucket, "_sleep_amount",
                        lambda self, amount: sleep(self, amount) / 50)


def role_arn(account: str, name: str = "sagetop-read-only") -> str:
    return f"arn:aws:iam::{account}:role/{name}"


@contextlib.contextmanager
def acting_as(moto: Moto, monkeypatch: pytest.MonkeyPatch, account: str) -> Iterator[None]:
    """boto3 calls made with credentials of `account` (moto files what they make there)."""
    sts = boto3.client("sts", region_name=REGION, endpoint_url=moto.url)
    keys = sts.assume_role(RoleArn=role_arn(account, "admin"), RoleSessionName="setup")[
        "Credentials"]
    with monkeypatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", keys["AccessKeyId"])
        env.setenv("AWS_SECRET_ACCESS_KEY", keys["SecretAccessKey"])
        env.setenv("AWS_SESSION_TOKEN", keys["SessionToken"])
        env.setattr(boto3, "DEFAULT_SESSION", None)  # its credentials are resolved once
        yield
