"""DescribeEndpoint's LastDeploymentConfig as typed deployment guardrails.

Blue/green is what SageMaker does on every update; the config says how traffic moves to the new
fleet (all at once, a canary, linear steps) or that instances are replaced in rolling batches,
and which CloudWatch alarms roll the update back.
"""

from __future__ import annotations

from typing import Any

from ground.domain import CapacityStep, DeploymentGuardrails

_TRAFFIC = {"ALL_AT_ONCE": "all-at-once", "CANARY": "canary", "LINEAR": "linear"}


def _step(raw: dict[str, Any] | None) -> CapacityStep | None:
    if not raw or raw.get("Value") is None:
        return None
    return CapacityStep(unit=str(raw.get("Type", "INSTANCE_COUNT")), value=int(raw["Value"]))


def parse_deployment_config(raw: dict[str, Any] | None) -> DeploymentGuardrails | None:
    """None when the endpoint's last update named no deployment configuration."""
    if not raw:
        return None
    alarms = tuple(str(a["AlarmName"]) for a in
                   (raw.get("AutoRollbackConfiguration") or {}).get("Alarms") or []
                   if a.get("AlarmName"))
    rolling = raw.get("RollingUpdatePolicy")
    if rolling:
        return DeploymentGuardrails(
            strategy="rolling", step=_step(rolling.get("MaximumBatchSize")),
            wait_s=rolling.get("WaitIntervalInSeconds"),
            max_execution_s=rolling.get("MaximumExecutionTimeoutInSeconds"),
            rollback_batch=_step(rolling.get("RollbackMaximumBatchSize")),
            rollback_alarms=alarms)
    blue_green = raw.get("BlueGreenUpdatePolicy") or {}
    routing = blue_green.get("TrafficRoutingConfiguration") or {}
    traffic = _TRAFFIC.get(str(routing.get("Type", "ALL_AT_ONCE")), "all-at-once")
    step = _step(routing.get("CanarySize") if traffic == "canary"
                 else routing.get("LinearStepSize") if traffic == "linear" else None)
    return DeploymentGuardrails(
        strategy="blue-green", traffic=traffic, step=step,
        wait_s=routing.get("WaitIntervalInSeconds"),
        termination_wait_s=blue_green.get("TerminationWaitInSeconds"),
        max_execution_s=blue_green.get("MaximumExecutionTimeoutInSeconds"),
        rollback_alarms=alarms)
