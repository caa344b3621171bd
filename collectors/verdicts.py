"""AWS's own verdicts on the fleet: Compute Optimizer and Cost Optimization Hub.

Both are opt-in services. An account that has not opted in gets `OptInRequiredException` from
Compute Optimizer and an inactive enrollment from Cost Optimization Hub: that is "not enabled",
shown as such, never an error, and asked again only at the slow cadence of this part (AWS
refreshes these recommendations about daily). Compute Optimizer is regional; Cost Optimization
Hub is one global service answered from us-east-1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from collectors.aws import AwsContext
from collectors.failures import RECOVERABLE, collector_error
from ground.domain import AwsVerdict, CollectorError, VerdictSourceStatus

COMPUTE_OPTIMIZER = "compute-optimizer"
COST_HUB = "cost-optimization-hub"
COST_HUB_REGION = "us-east-1"  # the service's only endpoint in the aws partition
ENDPOINT_TYPE = "SageMakerEndpoint"
SAVINGS_PLANS_TYPE = "SageMakerSavingsPlans"
_NOT_ENABLED_CODES = frozenset({"OptInRequiredException"})


@dataclass
class VerdictsPass:
    verdicts: list[AwsVerdict] = field(default_factory=list)
    statuses: list[VerdictSourceStatus] = field(default_factory=list)
    errors: list[CollectorError] = field(default_factory=list)


def _code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _not_enabled(exc: BaseException) -> bool:
    """Opt-in errors, however each service words them (Cost Optimization Hub says "enroll")."""
    if not isinstance(exc, ClientError):
        return False
    error = exc.response.get("Error", {})
    message = str(error.get("Message", "")).lower()
    return _code(exc) in _NOT_ENABLED_CODES or (
        _code(exc) in ("ValidationException", "AccessDeniedException")
        and ("not enrolled" in message or "opt in" in message or "opted in" in message))


def _region_of_arn(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[3] or None if len(parts) > 4 else None


def parse_idle(raw: dict[str, Any], region: str) -> AwsVerdict:
    savings = raw.get("savingsOpportunity") or {}
    monthly = (savings.get("estimatedMonthlySavings") or {})
    usd = monthly.get("value") if monthly.get("currency", "USD") == "USD" else None
    metrics = ", ".join(f"{m.get('name')} {m.get('statistic', '').lower()} {m.get('value')}"
                        for m in raw.get("utilizationMetrics") or [] if m.get("name"))
    return AwsVerdict(
        source=COMPUTE_OPTIMIZER, resource_arn=raw.get("resourceArn"),
        resource_type=str(raw.get("resourceType", ENDPOINT_TYPE)), region=region,
        action=str(raw.get("finding", "Idle")),
        description=str(raw.get("findingDescription") or "")
        + (f" ({metrics})" if metrics else ""),
        monthly_savings_usd=None if usd is None else float(usd),
        savings_pct=savings.get("savingsOpportunityPercentage"),
        lookback_days=raw.get("lookBackPeriodInDays"),
        refreshed_at=raw.get("lastRefreshTimestamp"))


def parse_hub(raw: dict[str, Any]) -> AwsVerdict:
    usd = raw.get("estimatedMonthlySavings") if raw.get("currencyCode", "USD") == "USD" \
        else None
    return AwsVerdict(
        source=COST_HUB, resource_arn=raw.get("resourceArn") or None,
        resource_type=str(raw.get("currentResourceType") or ""),
        region=raw.get("region") or _region_of_arn(raw.get("resourceArn")),
        action=str(raw.get("actionType") or ""),
        description=f"{raw.get('implementationEffort') or '?'} effort"
                    + ("; restart needed" if raw.get("restartNeeded") else ""),
        monthly_savings_usd=None if usd is None else float(usd),
        savings_pct=raw.get("estimatedSavingsPercentage"),
        lookback_days=raw.get("recommendationLookbackPeriodInDays"),
        refreshed_at=raw.get("lastRefreshTimestamp"),
        current_summary=raw.get("currentResourceSummary"),
        recommended_summary=raw.get("recommendedResourceSummary"),
        recommended_resource_type=raw.get("recommendedResourceType"),
        origin=raw.get("source"))


class AwsVerdictsCollector:
    def __init__(self, aws: AwsContext) -> None:
        self.aws = aws

    async def collect(self, now: dt.datetime) -> VerdictsPass:
        result = VerdictsPass()
        await asyncio.gather(*(self._compute_optimizer(r, result, now) for r in self.aws.regions),
                             self._cost_hub(result, now))
        return result

    def _failed(self, result: VerdictsPass, exc: BaseException, source: str, region: str,
                operation: str, now: dt.datetime) -> None:
        if _not_enabled(exc):
            what = ("Compute Optimizer is not enabled for this account (opt in to see its idle "
                    "endpoint recommendations)" if source == COMPUTE_OPTIMIZER else
                    "Cost Optimization Hub is not enabled for this account (enroll to see its "
                    "SageMaker recommendations)")
            result.statuses.append(VerdictSourceStatus(source=source, region=region,
                                                       status="not enabled", message=what,
                                                       checked_at=now))
            return
        error = collector_error(exc, "aws-verdicts", region, source, operation, now)
        result.errors.append(error)
        result.statuses.append(VerdictSourceStatus(
            source=source, region=region, status="no permission" if error.permission
            else "failed", message=error.message, checked_at=now))

    async def _compute_optimizer(self, region: str, result: VerdictsPass,
                                 now: dt.datetime) -> None:
        found: list[AwsVerdict] = []
        try:
            client = await self.aws.client(COMPUTE_OPTIMIZER, region)
            token: str | None = None
            while True:  # botocore has no paginator for this operation
                kwargs: dict[str, Any] = {
                    "filters": [{"name": "ResourceType", "values": [ENDPOINT_TYPE]}],
                    "maxResults": 100}
                if token:
                    kwargs["nextToken"] = token
                page = await client.get_idle_recommendations(**kwargs)
                found += [parse_idle(r, region) for r in page.get("idleRecommendations", [])
                          if r.get("resourceType", ENDPOINT_TYPE) == ENDPOINT_TYPE]
                token = page.get("nextToken")
                if not token:
                    break
        except RECOVERABLE as exc:
            self._failed(result, exc, COMPUTE_OPTIMIZER, region, "GetIdleRecommendations", now)
            return
        result.verdicts += found
        result.statuses.append(VerdictSourceStatus(
            source=COMPUTE_OPTIMIZER, region=region, status="enabled",
            message=f"{len(found)} idle SageMaker endpoint recommendation(s)", checked_at=now))

    async def _cost_hub(self, result: VerdictsPass, now: dt.datetime) -> None:
        operation = "ListEnrollmentStatuses"
        found: list[AwsVerdict] = []
        try:
            client = await self.aws.client(COST_HUB, COST_HUB_REGION)
            statuses: list[dict[str, Any]] = []
            paginator = client.get_paginator("list_enrollment_statuses")
            async for page in paginator.paginate():
                statuses.extend(page.get("items", []))
            if not any(s.get("status") == "Active" for s in statuses):
                result.statuses.append(VerdictSourceStatus(
                    source=COST_HUB, region=COST_HUB_REGION, status="not enabled",
                    message="Cost Optimization Hub is not enabled for this account (enroll to "
                            "see its SageMaker recommendations)", checked_at=now))
                return
            operation = "ListRecommendations"
            paginator = client.get_paginator("list_recommendations")
            async for page in paginator.paginate(
                    filter={"resourceTypes": [ENDPOINT_TYPE, SAVINGS_PLANS_TYPE]},
                    PaginationConfig={"PageSize": 100}):
                found += [parse_hub(r) for r in page.get("items", [])]
        except RECOVERABLE as exc:
            self._failed(result, exc, COST_HUB, COST_HUB_REGION, operation, now)
            return
        result.verdicts += found
        result.statuses.append(VerdictSourceStatus(
            source=COST_HUB, region=COST_HUB_REGION, status="enabled",
            message=f"{len(found)} SageMaker recommendation(s)", checked_at=now))
