"""Failures the simulated account can inject: what ops engineers meet on a long day.

A fault matches `service:Operation` (either part may be `*`) and fires a number of times or until
cleared. The plan counts what it fired, so tests can check that every fault was reported.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from dataclasses import dataclass, field

FAULT_KINDS = ("throttle", "deny", "expired", "network", "unavailable", "error")
# GetMetricData answers the call but refuses single queries with these StatusCodes.
METRIC_STATUSES = ("Forbidden", "InternalError")


@dataclass
class Fault:
    pattern: str  # "cloudwatch:GetMetricData", "sagemaker:*", "*"
    kind: str  # one of FAULT_KINDS
    times: int | None = None  # None: until cleared
    status: int | None = None
    code: str | None = None
    message: str | None = None

    def matches(self, service: str, operation: str) -> bool:
        return fnmatch.fnmatchcase(f"{service}:{operation}", self.pattern)


@dataclass
class MetricStatusFault:
    """GetMetricData results for metrics matching `pattern` ("Namespace:MetricName", `*` as
    wildcard) come back with `status` instead of datapoints."""

    pattern: str
    status: str
    times: int | None = None  # None: until cleared

    def matches(self, namespace: str, metric: str) -> bool:
        return fnmatch.fnmatchcase(f"{namespace}:{metric}", self.pattern)


@dataclass
class FaultPlan:
    faults: list[Fault] = field(default_factory=list)
    fired: Counter[str] = field(default_factory=Counter)
    statuses: list[MetricStatusFault] = field(default_factory=list)

    def add(self, pattern: str, kind: str, times: int | None = None, *, status: int | None = None,
            code: str | None = None, message: str | None = None) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        fault = Fault(pattern, kind, times, status, code, message)
        self.faults.append(fault)
        return fault

    def throttle(self, pattern: str = "*", times: int | None = 1, status: int = 400) -> Fault:
        return self.add(pattern, "throttle", times, status=status)

    def deny(self, pattern: str) -> Fault:
        return self.add(pattern, "deny")

    def expire_credentials(self) -> Fault:
        return self.add("*", "expired")

    def network_down(self, pattern: str = "*") -> Fault:
        return self.add(pattern, "network")

    def refuse_metric(self, pattern: str, status: str = "Forbidden",
                      times: int | None = None) -> MetricStatusFault:
        """GetMetricData answers queries of matching metrics with `status`, no datapoints."""
        if status not in METRIC_STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {METRIC_STATUSES}")
        fault = MetricStatusFault(pattern, status, times)
        self.statuses.append(fault)
        return fault

    def metric_status(self, namespace: str, metric: str) -> str | None:
        """The StatusCode a query of this metric meets, if any (counted per query)."""
        for fault in self.statuses:
            if fault.matches(namespace, metric):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.statuses.remove(fault)
                self.fired[f"{fault.status}:{namespace}:{metric}"] += 1
                return fault.status
        return None

    def clear(self, kind: str | None = None) -> None:
        self.faults = [f for f in self.faults if kind is not None and f.kind != kind]
        if kind is None:
            self.statuses = []

    def take(self, service: str, operation: str) -> Fault | None:
        """The fault this request meets, if any (STS identity checks are never faulted)."""
        for fault in self.faults:
            if fault.matches(service, operation):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                self.fired[f"{fault.kind}:{service}:{operation}"] += 1
                return fault
        return None
