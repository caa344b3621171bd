"""The retries one collection may spend, shared by every call in it.

botocore retries each call on its own (up to `aws.max_attempts`, waits of up to 20 s), which is
right for one throttled or failing call and wrong for an endpoint that is down: every call of every
part then waits its own retries (a refused URL took four minutes to report, a silent one nineteen).
The budget makes the collection the unit:

* Connection failures (refused, no such host, connection dropped) and read timeouts: the first
  call of the collection that meets one may try once more; once a call has failed that way, no
  call of the collection retries one. A connect timeout is never retried: it already waited
  `aws.connect_timeout_s`. The endpoint is down; waiting again only delays the line that says so.
* Throttling and 5XX answers: botocore's adaptive retries, paid from a pool the collection shares,
  shaped like botocore's own retry quota (which is per client): a retry costs 5 tokens, a call
  answered at its first attempt gives 1 back, the pool holds 500. A burst is ridden out; a storm
  ends the collection's retries instead of adding up every call's waits.

The handler sits first on each service's `needs-retry` event, ahead of botocore's retry handler:
answering False stops a retry through botocore's own path (its exceptions, its counters), None lets
botocore decide.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.exceptions import ConnectTimeoutError, HTTPClientError

from collectors.ledger import THROTTLE_CODES

POOL_TOKENS = 500
RETRY_COST = 5
FIRST_ATTEMPT_REFUND = 1
CONNECTION_ATTEMPTS = 2  # the first connection failure of a collection may be tried once more

# Error codes botocore retries that are not throttles (its "transient" list).
TRANSIENT_ERROR_CODES = frozenset({"RequestTimeout", "RequestTimeoutException",
                                   "PriorRequestNotComplete", "InternalError",
                                   "InternalServerError", "ServiceUnavailable"})


class RetryBudget:
    """One collection's retries; `begin` starts the next collection's."""

    def __init__(self, max_attempts: int) -> None:
        self.max_attempts = max_attempts
        self.tokens = POOL_TOKENS
        self.unreachable = False  # a call of this collection failed to connect or timed out
        self.refused_retries = 0  # retries the budget stopped (for tests and the benchmark)

    def begin(self) -> None:
        self.tokens = POOL_TOKENS
        self.unreachable = False

    def on_needs_retry(self, attempts: int, response: Any = None,
                       caught_exception: BaseException | None = None, **_: Any) -> bool | None:
        """False: do not retry this attempt; None: botocore's retry handler decides."""
        if caught_exception is not None:
            if isinstance(caught_exception, BotocoreConnectionError | HTTPClientError):
                return self._after_connection_failure(attempts, caught_exception)
            return None
        if response is None:
            return None
        http, parsed = response
        status = int(getattr(http, "status_code", 0))
        if status < 300:
            if attempts == 1:
                self.tokens = min(POOL_TOKENS, self.tokens + FIRST_ATTEMPT_REFUND)
            return None
        code = ((parsed or {}).get("Error") or {}).get("Code")
        retryable = status >= 500 or status == 429 or code in THROTTLE_CODES or (
            code in TRANSIENT_ERROR_CODES)
        if not retryable or attempts >= self.max_attempts:
            return None  # botocore does not retry these anyway
        if self.tokens < RETRY_COST:
            self.refused_retries += 1
            return False
        self.tokens -= RETRY_COST
        return None

    def _after_connection_failure(self, attempts: int, failure: BaseException) -> bool | None:
        if (self.unreachable or attempts >= CONNECTION_ATTEMPTS
                or isinstance(failure, ConnectTimeoutError)):
            self.unreachable = True
            self.refused_retries += 1
            return False
        return None

    def install(self, session: Any, service_ids: Iterable[str]) -> None:
        """First on `needs-retry.<service>` of every service the session may call."""
        emitter = session.get_component("event_emitter")
        for service_id in sorted(set(service_ids)):
            emitter.register_first(f"needs-retry.{service_id}", self.on_needs_retry,
                                   unique_id=f"sagetop-retry-budget-{service_id}")
