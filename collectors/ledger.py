"""Counts every request sagetop sends, per operation, and the CloudWatch charge it implies.

GetMetricData is billed per metric requested (each query of each successful call), not per call,
and is excluded from CloudWatch's free tier, so it is the figure worth watching.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from ground.domain import RequestStats

THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "LimitExceeded",
        "LimitExceededException",
        "RequestLimitExceededException",
        "ProvisionedThroughputExceededException",
    }
)
_QUERIES_KEY = "sagetop_metric_queries"


class RequestLedger:
    def __init__(self, usd_per_1000_metrics: float = 0.01) -> None:
        self.usd_per_1000_metrics = usd_per_1000_metrics
        self.requests: Counter[str] = Counter()  # HTTP requests sent, retries included
        self.calls: Counter[str] = Counter()  # API calls completed (after retries)
        self.throttles = 0
        self.errors = 0  # error answers and failed attempts, retried ones included
        self.metrics_requested = 0
        self.datapoints_received = 0
        # time.monotonic() of the last HTTP answer of any kind: how long AWS has been silent.
        self.last_answer_at: float | None = None

    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def cloudwatch_usd(self) -> float:
        return self.metrics_requested * self.usd_per_1000_metrics / 1000.0

    def stats(self) -> RequestStats:
        return RequestStats(
            calls_by_operation=dict(self.requests),
            throttles=self.throttles,
            errors=self.errors,
            metrics_requested=self.metrics_requested,
            datapoints_received=self.datapoints_received,
            cloudwatch_usd=self.cloudwatch_usd,
        )

    # Event handlers -------------------------------------------------------------------------

    def on_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_QUERIES_KEY] = len(params.get("MetricDataQueries", ()))

    def on_send(self, event_name: str, **_: Any) -> None:
        service, operation = event_name.split(".")[1:3]
        self.requests[f"{service}:{operation}"] += 1

    def on_needs_retry(self, response: Any = None, caught_exception: Any = None,
                       **_: Any) -> None:
        # Emitted after every attempt, retried or not: the one place that sees each error,
        # including the 5XX answers and dropped connections a retry then absorbs.
        if response is None:
            if caught_exception is not None:
                self.errors += 1
            return
        self.last_answer_at = time.monotonic()
        http, parsed = response
        code = (parsed or {}).get("Error", {}).get("Code")
        status = getattr(http, "status_code", 0)
        if code in THROTTLE_CODES or status == 429:
            self.throttles += 1
        elif status >= 300:
            self.errors += 1

    def on_after_call(
        self, event_name: str, http_response: Any, parsed: dict[str, Any],
        context: dict[str, Any], **_: Any,
    ) -> None:
        service, operation = event_name.split(".")[1:3]
        self.calls[f"{service}:{operation}"] += 1
        if http_response.status_code >= 300:
            return  # counted at needs-retry
        if operation == "GetMetricData":
            self.metrics_requested += int(context.get(_QUERIES_KEY, 0))
            self.datapoints_received += sum(
                len(r.get("Values", ())) for r in parsed.get("MetricDataResults", ())
            )

    def on_after_call_error(self, **_: Any) -> None:
        # Connection failures and timeouts were counted at needs-retry, attempt by attempt.
        return None

    def install(self, session: Any) -> None:
        emitter = session.get_component("event_emitter")
        emitter.register("provide-client-params.cloudwatch.GetMetricData", self.on_params,
                         unique_id="sagetop-ledger-params")
        # First on before-send so it counts requests even when a handler answers them.
        emitter.register_first("before-send", self.on_send, unique_id="sagetop-ledger-send")
        emitter.register_first("needs-retry", self.on_needs_retry, unique_id="sagetop-ledger-retry")
        emitter.register("after-call", self.on_after_call, unique_id="sagetop-ledger-after")
        emitter.register("after-call-error", self.on_after_call_error,
                         unique_id="sagetop-ledger-error")
