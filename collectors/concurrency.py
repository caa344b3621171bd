"""How many Describe calls one region of one account keeps in flight: it adapts to throttling.

A fixed number is wrong both ways: too few leaves a large fleet's cold start waiting on round
trips, too many is throttled in an account whose Describe quotas are low. The limit grows by one
per limit's worth of answered calls (additive increase) and halves on a throttle (multiplicative
decrease), between 1 and a configured ceiling, as TCP's congestion window does. botocore's
retries stay in charge of retrying; this only decides how many calls start.
"""

from __future__ import annotations

import asyncio
from typing import Any

from collectors.ledger import THROTTLE_CODES


class ConcurrencyController:
    """The additive-increase / multiplicative-decrease rule, without I/O (pure, testable)."""

    def __init__(self, start: int, ceiling: int) -> None:
        if not 1 <= start <= ceiling:
            raise ValueError(f"start {start} must be between 1 and the ceiling {ceiling}")
        self.ceiling = ceiling
        self._window = float(start)
        # Attempts answered since the last decrease, and how many calls could be in flight
        # then: throttles of those calls belong to the same burst and must not cut it again.
        self._since_decrease: int | None = None
        self._burst = 0

    @property
    def limit(self) -> int:
        return max(1, min(self.ceiling, int(self._window)))

    def on_answer(self) -> None:
        """A call answered without throttling: one more call in flight per window's answers."""
        self._window = min(float(self.ceiling), self._window + 1.0 / self._window)
        if self._since_decrease is not None:
            self._since_decrease += 1

    def on_throttle(self) -> None:
        """A call was throttled (botocore retries it): halve, once per burst."""
        if self._since_decrease is not None and self._since_decrease < self._burst:
            self._since_decrease += 1
            return
        self._burst = self.limit
        self._window = max(1.0, self._window / 2.0)
        self._since_decrease = 0


class AdaptiveLimiter:
    """At most `controller.limit` holders at once; use as `async with limiter:`."""

    def __init__(self, controller: ConcurrencyController) -> None:
        self.controller = controller
        self._in_flight = 0
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def __aenter__(self) -> None:
        while self._in_flight >= self.controller.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                self._wake()  # a slot it was woken for must not be lost
                raise
        self._in_flight += 1

    async def __aexit__(self, *exc: object) -> None:
        self._in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        free = self.controller.limit - self._in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def on_needs_retry(self, response: Any = None, request_dict: Any = None,
                       region: str | None = None, **_: Any) -> None:
        """botocore's `needs-retry` event, after every attempt: feed the controller.

        Returns None always, so botocore's own retry handler (and the retry budget) decide.
        """
        if response is None:
            return  # a connection failure: no news about the quota
        context = (request_dict or {}).get("context") or {}
        if region is not None and context.get("client_region") not in (None, region):
            return  # another region's calls: its quota is its own
        http, parsed = response
        status = int(getattr(http, "status_code", 0))
        code = ((parsed or {}).get("Error") or {}).get("Code")
        if code in THROTTLE_CODES or status == 429:
            self.controller.on_throttle()
        elif status < 300:
            self.controller.on_answer()
            self._wake()  # the limit may have grown

    def install(self, session: Any, service: str, region: str) -> None:
        """Listen to `service`'s attempts in `region` on this account's session."""
        emitter = session.get_component("event_emitter")

        def handler(**kwargs: Any) -> None:
            self.on_needs_retry(region=region, **kwargs)

        emitter.register(f"needs-retry.{service}", handler,
                         unique_id=f"sagetop-concurrency-{service}-{region}-{id(self)}")
