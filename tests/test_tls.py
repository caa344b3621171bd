"""What every client of the process shares, made once: one TLS context (collectors.tls), where an
organisation's thousand clients would otherwise load the CA bundle a thousand times; one copy of
each service model; one User-Agent. Over real HTTP, against the simulated account's server: the
clients of two accounts, two services each."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from collectors.aws import AwsContext, AwsTarget
from collectors.tls import SharedTlsSession
from ground.config import SagetopConfig
from simulator.server import SimulatedServer, prepare_credentials


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatedServer]:
    with SimulatedServer(endpoints=2) as running:
        yield running


def tls_contexts(client: Any) -> list[ssl.SSLContext]:
    """The SSL contexts of a client's connections, once it has sent a request."""
    http = client._endpoint.http_session
    assert isinstance(http, SharedTlsSession)
    return [session.connector._ssl for session in http._sessions.values()]


async def sagemaker_of_two_accounts(stack: contextlib.AsyncExitStack,
                                    server: SimulatedServer) -> list[Any]:
    """The us-east-1 SageMaker clients of two accounts' sessions, open until `stack` closes."""
    config = SagetopConfig()
    clients = []
    for account in ("team-1", "team-2"):
        target = AwsTarget(regions=server.regions, endpoint_url=server.url, simulated=True,
                           account=account, prepare_session=prepare_credentials)
        aws = await stack.enter_async_context(AwsContext(config.aws, target, config.cost))
        clients.append(await aws.client("sagemaker", "us-east-1"))
    return clients


async def test_the_clients_of_every_account_share_one_tls_context(
        server: SimulatedServer) -> None:
    config = SagetopConfig()
    contexts: list[ssl.SSLContext] = []
    for account in ("team-1", "team-2"):
        target = AwsTarget(regions=server.regions, endpoint_url=server.url, simulated=True,
                           account=account, prepare_session=prepare_credentials)
        async with AwsContext(config.aws, target, config.cost) as aws:
            sagemaker = await aws.client("sagemaker", "us-east-1")
            sts = await aws.client("sts", "us-east-1")
            assert (await sagemaker.list_endpoints())["Endpoints"]
            assert (await sts.get_caller_identity())["Account"]
            contexts += tls_contexts(sagemaker) + tls_contexts(sts)
    assert len(contexts) == 4
    assert all(isinstance(c, ssl.SSLContext) for c in contexts)
    assert len({id(c) for c in contexts}) == 1
    # Verifying, as each client's own would: shared is not loosened.
    assert contexts[0].verify_mode == ssl.CERT_REQUIRED and contexts[0].check_hostname


async def test_the_sessions_of_every_account_share_one_copy_of_each_service_model(
        server: SimulatedServer) -> None:
    # Fifty accounts' sessions each held their own parsed models (~19 MB for SageMaker's).
    async with contextlib.AsyncExitStack() as stack:
        models = []
        for sagemaker in await sagemaker_of_two_accounts(stack, server):
            assert (await sagemaker.list_endpoints())["Endpoints"]  # the clients work
            models.append(sagemaker.meta.service_model)
    first, second = models
    assert first is not second  # a client's own model object, as botocore makes them
    assert first._service_description is second._service_description  # one parsed copy


async def test_every_request_carries_one_user_agent_built_once_naming_sagetop(
        server: SimulatedServer) -> None:
    # botocore would rebuild the header for every request (a tenth of a describe's CPU).
    config = SagetopConfig()
    sent: list[str] = []

    def record(request: Any, **_: Any) -> None:
        agent = request.headers["User-Agent"]
        sent.append(agent.decode() if isinstance(agent, bytes) else agent)

    target = AwsTarget(regions=server.regions, endpoint_url=server.url, simulated=True,
                       prepare_session=prepare_credentials)
    async with AwsContext(config.aws, target, config.cost) as aws:
        aws.session.get_component("event_emitter").register("before-send", record)
        sagemaker = await aws.client("sagemaker", "us-east-1")
        sts = await aws.client("sts", "us-east-1")
        await sagemaker.list_endpoints()
        await sagemaker.list_endpoints()
        await sts.get_caller_identity()
        built = aws.client_config.user_agent
    assert len(sent) == 3 and len(set(sent)) == 1
    # aiobotocore's session adds its botocore version between the two.
    assert sent[0].startswith(f"{built} ") and sent[0].endswith(" sagetop")
    assert built.startswith("Botocore/") and " lang/python#" in built


async def test_the_clients_of_every_account_share_one_class_and_keep_their_own_state(
        server: SimulatedServer) -> None:
    # aiobotocore built a class per client (a method and docstring per operation): ~0.17 MB
    # and 3.5 ms each, some 900 clients in a 50-account organisation.
    async with contextlib.AsyncExitStack() as stack:
        clients = await sagemaker_of_two_accounts(stack, server)
        first, second = clients
        assert type(first) is type(second)
        # Each its own: events (the read-only guard is installed per client), credentials.
        assert first.meta.events is not second.meta.events
        assert first._request_signer._credentials is not second._request_signer._credentials
        for client in clients:
            assert (await client.list_endpoints())["Endpoints"]
            with pytest.raises(Exception, match="read-only"):
                await client.delete_endpoint(EndpointName="anything")
