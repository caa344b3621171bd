"""The simulated account, or a simulated organisation, served over real HTTP on 127.0.0.1 from a
child process of its own.

Its answers are `SimulatedAccount.respond`'s, the very bytes the in-process hook hands botocore,
so collectors pointed at `url` (an endpoint URL, as for any emulator) see what they see in
process; only now the account's memory and CPU are not theirs. The service and operation the hook
reads from botocore's event name are read here from the request as sent: the SigV4 credential
scope names the service (its signing name), `X-Amz-Target` the operation of the JSON protocols,
`Action` that of the query protocol (STS), the method and path those of the REST protocols (S3's
objects, OAM).

The child keeps each account's latency and GetMetricData quota. An organisation's accounts are
one port each (each its own endpoint URL, as each is its own account), built in the one child so
a monitoring account's GetMetricData can read its linked sources' metrics. The clock is wall
time until the parent sets it (`set_clock`, a control route under `/_sim/`, a path no AWS request
takes, on any of the ports): one call moves every account, as a benchmark that simulates an hour
in seconds moves its own time. The stats are the organisation's, summed and per account.

    with SimulatedServer(endpoints=1000, latency_s=0.02, getmetricdata_tps=50) as server:
        ...AwsTarget(regions=server.regions, endpoint_url=server.url, ...)
    with SimulatedOrgServer(Organisation(accounts=50, linked=True, ...)) as org:
        ...[AwsTarget(endpoint_url=url, account=name, ...) for name, url in org.endpoints]
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
import resource
import socket
from collections import Counter
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from simulator.account import SIMULATED_CREDENTIALS, SimulatedAccount
from simulator.organisation import Organisation, build_organisation

# What the account answers, by botocore service name: the request names its signing name.
SERVICES = ("sagemaker", "cloudwatch", "application-autoscaling", "sts", "s3",
            "resourcegroupstaggingapi", "compute-optimizer", "cost-optimization-hub", "oam")
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


@dataclass(frozen=True)
class Services:
    """What the service models say about telling a request: signing name (the credential
    scope's service) -> botocore's hyphenated service id; and for the REST-JSON services, whose
    operation is their method and path, (service id, method, path) -> operation. Only literal
    paths: the operations the account answers there (OAM's List calls) take no path label."""

    ids: dict[str, str]
    routes: dict[tuple[str, str, str], str]
    rest: frozenset[str]  # the REST-JSON services' ids


def load_services() -> Services:
    from botocore.loaders import create_loader
    from botocore.model import ServiceId

    loader = create_loader()
    ids: dict[str, str] = {}
    routes: dict[tuple[str, str, str], str] = {}
    rest: set[str] = set()
    for service in SERVICES:
        model = loader.load_service_model(service, "service-2")
        meta = model["metadata"]
        service_id = ServiceId(meta["serviceId"]).hyphenize()
        ids[meta.get("signingName", meta["endpointPrefix"])] = service_id
        if meta["protocol"] != "rest-json":
            continue
        rest.add(service_id)
        for operation, spec in model["operations"].items():
            path = spec["http"]["requestUri"].split("?", 1)[0]
            if "{" not in path:
                routes[(service_id, spec["http"]["method"], path)] = operation
    return Services(ids, routes, frozenset(rest))


def operation_of(request: WireRequest, services: Services) -> tuple[str, str] | None:
    """(service id, operation) as botocore's event name says them, or None if not a request
    the account can tell (unsigned, or a service or path it does not serve)."""
    scope = _SCOPE.search(request.headers.get("Authorization", ""))
    if scope is None or scope.group(1) not in services.ids:
        return None
    service = services.ids[scope.group(1)]
    target = request.headers.get("X-Amz-Target")
    if target:
        return service, target.rsplit(".", 1)[-1]
    if service == "s3":
        return service, "HeadObject" if request.method == "HEAD" else "GetObject"
    if service in services.rest:
        operation = services.routes.get((service, request.method, urlsplit(request.url).path))
        return (service, operation) if operation else None
    action = parse_qs(request.body.decode("utf-8", "replace")).get("Action")
    return (service, action[0]) if action else None


# The child --------------------------------------------------------------------------------


class _SetClock:
    """The accounts' clock: wall time until the parent sets a time, then that time."""

    def __init__(self, now: dt.datetime | None) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.UTC)


# What the child builds: one account's SimulatedAccount arguments, or an organisation.
Served = dict[str, Any] | Organisation


def _build(served: Served, clock: _SetClock) -> list[SimulatedAccount]:
    # GetMetricData in a worker thread, as AWS answers one call while serving others.
    if isinstance(served, Organisation):
        return build_organisation(served, clock, metrics_in_thread=True)
    return [SimulatedAccount(clock=clock, metrics_in_thread=True, **served)]


def _stats(account: SimulatedAccount) -> dict[str, Any]:
    return {"busy_seconds": account.busy_seconds, "throttled": account.throttled,
            "requests": dict(account.requests)}


def _serve(served: Served, now: dt.datetime | None, ports: tuple[int, ...], report: Any,
           parent: int) -> None:
    """The child's whole life: build the accounts, listen, say the ports (or why not), serve
    until the parent stops it or is gone."""
    try:
        asyncio.run(_serve_async(served, now, ports, report, parent))
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # the parent waits on the pipe: tell it, in one line
        with contextlib.suppress(OSError):
            report.send(("error", f"{type(exc).__name__}: {exc}".splitlines()[0]))


_PENDING_CONNECTIONS = 4096  # the kernel caps it at net.core.somaxconn


def _listen(ports: tuple[int, ...]) -> tuple[list[socket.socket], str | None]:
    """A socket bound per port (0: any free one), or none and why not."""
    listeners: list[socket.socket] = []
    for port in ports:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listeners.append(listener)
        try:
            listener.bind(("127.0.0.1", port))
        except OSError as exc:
            for taken in listeners:
                taken.close()
            return [], f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}"
    return listeners, None


async def _serve_async(served: Served, now: dt.datetime | None, ports: tuple[int, ...],
                       report: Any, parent: int) -> None:
    from aiohttp import web
    from botocore.exceptions import EndpointConnectionError

    # An organisation's every client keeps its connections open to this one process.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):  # an unlimited hard limit: keep soft
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # Bound before the fleets are built: a taken port fails at once, not minutes later.
    listeners, problem = _listen(ports)
    if problem is not None:
        report.send(("error", problem))
        return
    clock = _SetClock(now)
    accounts = _build(served, clock)
    services = load_services()

    async def control(request: web.BaseRequest) -> web.StreamResponse:
        route = request.path[len(CONTROL):]
        if route == "clock" and request.method == "PUT":
            clock.now = dt.datetime.fromtimestamp(float((await request.json())["now"]), dt.UTC)
            return web.json_response({"now": clock().timestamp()})
        if route == "stats" and request.method == "GET":
            requests: Counter[str] = Counter()
            for account in accounts:
                requests.update(account.requests)
            return web.json_response({
                "busy_seconds": sum(a.busy_seconds for a in accounts),
                "throttled": sum(a.throttled for a in accounts), "requests": dict(requests),
                "accounts": {a.account_id: _stats(a) for a in accounts}})
        return web.json_response({"message": f"no control route {request.path}"}, status=404)

    def handler(account: SimulatedAccount) -> Any:
        async def handle(request: web.BaseRequest) -> web.StreamResponse:
            if request.path.startswith(CONTROL):
                return await control(request)
            wire = WireRequest(url=f"http://{request.host}{request.raw_path}",
                               method=request.method, headers=request.headers,
                               body=await request.read())
            named = operation_of(wire, services)
            if named is None:
                return web.json_response({"__type": "UnrecognizedClientException",
                                          "message": "not a signed request the simulated "
                                                     "account serves"}, status=400)
            try:
                status, headers, data = await account.respond(*named, wire)
            except EndpointConnectionError:
                # The network fault: the connection drops with no answer, as a dead link would.
                if request.transport is not None:
                    request.transport.close()
                return web.Response(status=503)  # never read: the connection is gone
            # Content-Length is the account's: a HEAD answer's is the object's, with no body.
            return web.Response(status=status, headers=headers, body=data)

        return handle

    runners = []
    try:
        for account, listener in zip(accounts, listeners, strict=True):
            runner = web.ServerRunner(web.Server(handler(account)), handle_signals=False)
            runners.append(runner)
            await runner.setup()
            # AWS's front doors take every connection an organisation's clients open at once;
            # aiohttp's default queue of 128 pending made the burst of a 50-account cold start
            # wait out the clients' connect timeout ("no connection").
            await web.SockSite(runner, listener, backlog=_PENDING_CONNECTIONS).start()
        report.send(("ready", [listener.getsockname()[1] for listener in listeners]))
        # Dies with the parent: when it is gone (killed too), this process is re-parented.
        while os.getppid() == parent:
            await asyncio.sleep(_PARENT_POLL_S)
    finally:
        for runner in runners:
            await runner.cleanup()


# The parent -------------------------------------------------------------------------------


class _ServedProcess:
    """The child process serving `served` on `ports` (one per account); a context manager.
    Entering raises `SimServerError` (one line) if the child cannot start."""

    kind = "simulated account"

    def __init__(self, served: Served, ports: tuple[int, ...], now: dt.datetime | None,
                 start_timeout_s: float) -> None:
        self._served = served
        self._asked_ports = ports
        self._now = now
        self._start_timeout_s = start_timeout_s
        self._process: Any = None
        self.ports: tuple[int, ...] = ()

    @property
    def port(self) -> int:
        """The first account's port (0 until started)."""
        return self.ports[0] if self.ports else 0

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(f"http://127.0.0.1:{port}" for port in self.ports)

    @property
    def url(self) -> str:
        """The first account's URL; its control routes are every account's."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")  # no copy of the parent's memory
        receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve, args=(self._served, self._now, self._asked_ports, send, os.getpid()),
            name=f"sagetop-{self.kind.replace(' ', '-')}", daemon=True)
        self._process.start()
        send.close()
        try:
            if not receive.poll(self._start_timeout_s):
                raise SimServerError(f"{self.kind} server: no answer within "
                                     f"{self._start_timeout_s:.0f} s")
            kind, value = receive.recv()
        except EOFError:
            self._process.join(5)
            raise SimServerError(f"{self.kind} server: the child process exited "
                                 f"(code {self._process.exitcode}) before listening") from None
        except SimServerError:
            self.stop()
            raise
        finally:
            receive.close()
        if kind != "ready":
            self.stop()
            raise SimServerError(f"{self.kind} server: {value}")
        self.ports = tuple(int(port) for port in value)

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
        """Every account's time from now on is `now`."""
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

    def cpu_s(self) -> float | None:
        """The child's CPU seconds so far (user and system, all of it: building, HTTP, answers),
        from /proc; None elsewhere."""
        try:
            with open(f"/proc/{self.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class SimulatedServer(_ServedProcess):
    """A `SimulatedAccount(**account)` served from a child process; a context manager.

    `now` starts the account's clock at a simulated time (wall time if None); `port` 0 takes an
    ephemeral port.
    """

    def __init__(self, *, now: dt.datetime | None = None, port: int = 0,
                 start_timeout_s: float = START_TIMEOUT_S, **account: Any) -> None:
        super().__init__(account, (port,), now, start_timeout_s)
        self.account = account
        self.regions: tuple[str, ...] = tuple(account.get("regions", ("us-east-1",)))


class SimulatedOrgServer(_ServedProcess):
    """A simulated `Organisation` served from one child process, each account on its own
    ephemeral port; a context manager. `now` as for `SimulatedServer`."""

    kind = "simulated organisation"

    def __init__(self, organisation: Organisation, *, now: dt.datetime | None = None,
                 start_timeout_s: float = START_TIMEOUT_S) -> None:
        super().__init__(organisation, (0,) * organisation.accounts, now, start_timeout_s)
        self.organisation = organisation
        self.regions = organisation.regions

    @property
    def endpoints(self) -> list[tuple[str, str]]:
        """(account name, its endpoint URL), in the organisation's order."""
        return list(zip(self.organisation.names, self.urls, strict=True))


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
    """The served accounts' time from now on is `now` (until set again)."""
    _control(url, "PUT", "clock", {"now": now.timestamp()})


def server_stats(url: str) -> dict[str, Any]:
    """What the served accounts have done, summed: CPU seconds answering (`busy_seconds`),
    throttled calls, requests by service:operation; and each account's own under `accounts`
    (by account id)."""
    return _control(url, "GET", "stats")


def prepare_credentials(session: Any) -> None:
    """For `AwsTarget.prepare_session`: credentials to sign with (the server checks no
    signature, as the in-process hook checks none), nothing intercepted."""
    session.set_credentials(*SIMULATED_CREDENTIALS)
