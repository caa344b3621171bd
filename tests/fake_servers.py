"""Endpoints that misbehave on purpose, on 127.0.0.1: refused, unreachable, silent, or not AWS.

* `refused_url()`: a port nothing listens on (connections refused at once).
* `Blackhole`: a listening socket whose backlog is full, so a connection is never accepted and
  the client waits for its connect timeout (what a firewalled or unrouted address does).
* `FakeAws`: an HTTP server that reads each request, notes which AWS operation it was (from the
  JSON protocol's X-Amz-Target or the query protocol's Action), then either never answers (a
  frozen server or a proxy that hangs) or answers every request with the same canned response (a
  login page, a load balancer's error page, a hostile error message).
* `OamStandIn`: CloudWatch cross-account observability for moto's server (served by the
  middleware of tests/moto_aws.py).
"""

from __future__ import annotations

import socket
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def refused_url() -> str:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: a connection is refused at once
    return f"http://127.0.0.1:{port}"


class Blackhole:
    """A port that never accepts: its listen backlog is held full by connections of our own."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        port = self._listener.getsockname()[1]
        self._fillers = []
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            with suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            self._fillers.append(filler)
        self.url = f"http://127.0.0.1:{port}"

    def close(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._listener.close()


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "text/html"


class FakeAws:
    """Reads requests, counts them by operation, answers with `answer` (or never, when None)."""

    def __init__(self, answer: Answer | None = None) -> None:
        self.answer = answer
        self.operations: Counter[str] = Counter()
        self.released = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self._serve()

            def do_GET(self) -> None:
                self._serve()

            def do_HEAD(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                owner.operations[_operation(self.headers, body, self.command, self.path)] += 1
                if owner.answer is None:
                    owner.released.wait()  # silent until the test ends
                    return
                self.send_response(owner.answer.status)
                self.send_header("Content-Type", owner.answer.content_type)
                self.send_header("Content-Length", str(len(owner.answer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(owner.answer.body)

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()


def _operation(headers: Any, body: bytes, method: str, path: str) -> str:
    target = headers.get("X-Amz-Target")
    if target:
        return str(target).rpartition(".")[2]
    if "x-www-form-urlencoded" in str(headers.get("Content-Type", "")):
        return urllib.parse.parse_qs(body.decode()).get("Action", ["?"])[0]
    return f"{method} {path.split('?')[0]}"


@contextmanager
def fake_aws(answer: Answer | None = None) -> Iterator[FakeAws]:
    server = FakeAws(answer)
    try:
        yield server
    finally:
        server.close()


@contextmanager
def blackhole() -> Iterator[Blackhole]:
    hole = Blackhole()
    try:
        yield hole
    finally:
        hole.close()


@dataclass
class OamStandIn:
    """CloudWatch cross-account observability, which moto has not: sinks, links, AccountId.

    `sinks` maps a monitoring account id to the source account ids linked to its sink (every
    region); `denied` holds the accounts whose oam:ListSinks is refused (AccessDenied). The
    middleware of tests/moto_aws.py answers oam:ListSinks / ListAttachedLinks from them for the
    caller's account (moto's, from its access key), and serves a GetMetricData query with an
    AccountId linked to the caller from that account's metrics in moto (Forbidden if not
    linked). `metric_calls` records each GetMetricData call's caller and its queries' AccountIds.
    """

    sinks: dict[str, list[str]] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)
    metric_calls: list[tuple[str, list[str | None]]] = field(default_factory=list)

    def clear(self) -> None:
        self.sinks.clear()
        self.denied.clear()
        self.metric_calls.clear()

    @staticmethod
    def sink_arn(account: str, region: str) -> str:
        return f"arn:aws:oam:{region}:{account}:sink/stand-in-{account}"

    def answer(self, operation: str, caller: str, region: str, params: dict[str, Any]
               ) -> tuple[int, dict[str, Any]]:
        if caller in self.denied:
            return 403, {"message": f"User: arn:aws:sts::{caller}:assumed-role/x/y is not "
                                    f"authorized to perform: oam:{operation}"}
        if operation == "ListSinks":
            items = [] if caller not in self.sinks else [{
                "Arn": self.sink_arn(caller, region), "Id": f"stand-in-{caller}",
                "Name": "monitoring"}]
            return 200, {"Items": items}
        if params.get("SinkIdentifier") != self.sink_arn(caller, region) or \
                caller not in self.sinks:
            return 404, {"message": "sink not found"}
        return 200, {"Items": [{
            "Label": f"account-{source}",
            "LinkArn": f"arn:aws:oam:{region}:{source}:link/stand-in-{source}",
            "ResourceTypes": ["AWS::CloudWatch::Metric"]} for source in self.sinks[caller]]}

    def readable(self, caller: str, account: str | None) -> bool:
        return account in (None, caller) or account in self.sinks.get(caller, [])
