"""The simulated account served over real HTTP on 127.0.0.1, from a child process of its own.

Its answers are `SimulatedAccount.respond`'s, the very bytes the in-process hook hands botocore,
so collectors pointed at `url` (an endpoint URL, as for any emulator) see what they see in
process; only now the account's memory and CPU are not theirs. The service and operation the hook
reads from botocore's event name are read here from the request as sent: the SigV4 credential
scope names the service (its signing name), `X-Amz-Target` the operation of the JSON protocols,
`Action` that of the query protocol (STS), the method that of S3's objects.

The child keeps the account's latency and GetMetricData quota. Its clock is wall time until the
parent sets it (`set_clock`, a control route under `/_sim/`, a path no AWS request takes): a
benchmark that simulates an hour in seconds moves the account's time with its own.

    with SimulatedServer(endpoints=1000, latency_s=0.02, getmetricdata_tps=50) as server:
        ...AwsTarget(regions=server.regions, endpoint_url=server.url, ...)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http.client
import json
import multiprocessing
import os
import re
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from simulator.account import SIMULATED_CREDENTIALS, SimulatedAccount

# What the account answers, by botocore service name: the request names its signing name.
SERVICES = ("sagemaker", "cloudwatch", "application-autoscaling", "sts", "s3",
            "resourcegroupstaggingapi", "compute-optimizer", "cost-optimization-hub")
CONTROL = "/_sim/"
START_TIMEOUT_S = 120.0  # a 10,000-endpoint fleet takes a while to generate
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[a-z0-9-]+/([a-z0-9-]+)/aws4_request")
_PARENT_POLL_S = 0.5



class SimServerError(Exception):
    """The simulated account's server could not start or answer: one line saying why."""


@dataclass(frozen=True)
class WireRequest:
    """A request as it arrived, in the shape `SimulatedAccount.respond` reads (botocore's)."""

    url: str
    method: str
    headers: Any  # case-insensitive, str values
    body: bytes


def _service_ids() -> dict[str, str]:
    """Signing name (the credential scope's service) -> botocore's hyphenated service id."""
    from botocore.loaders import create_loader
    from botocore.model import ServiceId

    loader = create_loader()
    names: dict[str, str] = {}
    for service in SERVICES:
        meta = loader.load_service_model(service, "service-2")["metadata"]
        names[meta.get("signingName", meta["endpointPrefix"])] = ServiceId(
            meta["serviceId"]).hyphenize()
    return names


def operation_of(request: WireRequest, services: dict[str, str]) -> tuple[str, str] | None:
    """(service id, operation) as botocore's event name says them, or None if not a request
    the account can tell (unsigned, or a service it does not serve)."""
    scope = _SCOPE.search(request.headers.get("Authorization", ""))
    if scope is None or scope.group(1) not in services:
        return None
    service = services[scope.group(1)]
    target = request.headers.get("X-Amz-Target")
    if target:
        return service, target.rsplit(".", 1)[-1]
    if service == "s3":
        return service, "HeadObject" if request.method == "HEAD" else "GetObject"
    action = parse_qs(request.body.decode("utf-8", "replace")).get("Action")
    return (service, action[0]) if action else None


# The child --------------------------------------------------------------------------------


class _SetClock:
    """The account's clock: wall time until the parent sets a time, then that time."""

    def __init__(self, now: dt.datetime | None) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.UTC)


def _serve(account: dict[str, Any], now: dt.datetime | None, port: int, report: Any,
           parent: int) -> None:
    """The child's whole life: build the account, listen, say the port (or why not), serve until
    the parent stops it or is gone."""
    try:
        asyncio.run(_serve_async(account, now, port, report, parent))
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # the parent waits on the pipe: tell it, in one line
        with contextlib.suppress(OSError):
            report.send(("error", f"{type(exc).__name__}: {exc}".splitlines()[0]))


async def _serve_async(account_args: dict[str, Any], now: dt.datetime | None, port: int,
                       report: Any, parent: int) -> None:
    from aiohttp import web
    from botocore.exceptions import EndpointConnectionError

    # Bound before the fleet is built: a taken port fails at once, not minutes later.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError as exc:
        listener.close()
        report.send(("error", f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}"))
        return
    bound = listener.getsockname()[1]
    clock = _SetClock(now)
    account = SimulatedAccount(clock=clock, metrics_in_thread=True, **account_args)
    services = _service_ids()

    async def control(request: web.BaseRequest) -> web.StreamResponse:
        route = request.path[len(CONTROL):]
        if route == "clock" and request.method == "PUT":
            clock.now = dt.datetime.fromtimestamp(float((await request.json())["now"]), dt.UTC)
            return web.json_response({"now": clock().timestamp()})
        if route == "stats" and request.method == "GET":
            return web.json_response({"busy_seconds": account.busy_seconds,
                                      "throttled": account.throttled,
                                      "requests": dict(account.requests)})
        return web.json_response({"message": f"no control route {request.path}"}, status=404)

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        if request.path.startswith(CONTROL):
            return await control(request)
        wire = WireRequest(url=f"http://{request.host}{request.raw_path}",
                           method=request.method, headers=request.headers,
                           body=await request.read())
        named = operation_of(wire, services)
        if named is None:
            return web.json_response({"__type": "UnrecognizedClientException",
                                      "message": "not a signed request the simulated account "
                                                 "serves"}, status=400)
        try:
            status, headers, data = await account.respond(*named, wire)
        except EndpointConnectionError:
            # The network fault: the connection drops with no answer, as a dead link would.
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=503)  # never read: the connection is gone
        # Content-Length is the account's: a HEAD answer's is the object's, with no body.
        return web.Response(status=status, headers=headers, body=data)

    runner = web.ServerRunner(web.Server(handle), handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, listener).start()
    report.send(("ready", bound))
    try:
        # Dies with the parent: when it is gone (killed too), this process is re-parented.
        while os.getppid() == parent:
            await asyncio.sleep(_PARENT_POLL_S)
    finally:
        await runner.cleanup()


# The parent -------------------------------------------------------------------------------


class SimulatedServer:
    """A `SimulatedAccount(**account)` served from a child process; a context manager.

    `now` starts the account's clock at a simulated time (wall time if None); `port` 0 takes an
    ephemeral port. Entering raises `SimServerError` (one line) if the child cannot start.
    """

    def __init__(self, *, now: dt.datetime | None = None, port: int = 0,
                 start_timeout_s: float = START_TIMEOUT_S, **account: Any) -> None:
        self.account = account
        self.regions: tuple[str, ...] = tuple(account.get("regions", ("us-east-1",)))
        self._now = now
        self._port = port
        self._start_timeout_s = start_timeout_s
        self._process: Any = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def __enter__(self) -> SimulatedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")  # no copy of the parent's memory
        receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve, args=(self.account, self._now, self._port, send, os.getpid()),
            name="sagetop-simulated-account", daemon=True)
        self._process.start()
        send.close()
        try:
            if not receive.poll(self._start_timeout_s):
                raise SimServerError(f"simulated account server: no answer within "
                                     f"{self._start_timeout_s:.0f} s")
            kind, value = receive.recv()
        except EOFError:
            self._process.join(5)
            raise SimServerError("simulated account server: the child process exited "
                                 f"(code {self._process.exitcode}) before listening") from None
        except SimServerError:
            self.stop()
            raise
        finally:
            receive.close()
        if kind != "ready":
            self.stop()
            raise SimServerError(f"simulated account server: {value}")
        self.port = int(value)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.is_alive():
            process.terminate()
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()
        process.close()

    def set_clock(self, now: dt.datetime) -> None:
        set_clock(self.url, now)

    def stats(self) -> dict[str, Any]:
        return server_stats(self.url)

    def rss_mb(self, peak: bool = True) -> float | None:
        """The child's resident memory (its peak by default), from /proc; None elsewhere."""
        field = "VmHWM" if peak else "VmRSS"
        try:
            with open(f"/proc/{self.pid}/status") as status:
                for line in status:
                    if line.startswith(field + ":"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None


# Control, from any process that knows the URL ----------------------------------------------


def _control(url: str, method: str, route: str, body: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80,
                                            timeout=30)
    try:
        connection.request(method, CONTROL + route,
                           body=json.dumps(body).encode() if body is not None else None,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        answer: dict[str, Any] = json.loads(response.read() or b"{}")
    except (OSError, ValueError) as exc:
        raise SimServerError(f"simulated account server at {url}: {exc}") from None
    finally:
        connection.close()
    if response.status != 200:
        raise SimServerError(f"simulated account server at {url}: {answer.get('message')}")
    return answer


def set_clock(url: str, now: dt.datetime) -> None:
    """The account's time from now on is `now` (until set again)."""
    _control(url, "PUT", "clock", {"now": now.timestamp()})


def server_stats(url: str) -> dict[str, Any]:
    """What the account has done: CPU seconds answering (`busy_seconds`), throttled calls,
    requests by service:operation."""
    return _control(url, "GET", "stats")


def prepare_credentials(session: Any) -> None:
    """For `AwsTarget.prepare_session`: credentials to sign with (the server checks no
    signature, as the in-process hook checks none), nothing intercepted."""
    session.set_credentials(*SIMULATED_CREDENTIALS)
