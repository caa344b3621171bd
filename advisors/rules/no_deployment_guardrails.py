"""`no-deployment-guardrails` (information): a production endpoint whose updates cannot roll back.

SageMaker updates every endpoint blue/green; what deployment guardrails add is the shifting of
traffic in steps (canary, linear, rolling) with baking periods, and CloudWatch alarms that roll the
update back automatically. Without rollback alarms a bad model reaches all traffic and stays until
someone notices. Endpoints on Inf1 instances cannot use guardrails (AWS falls back to
all-at-once), so they are not flagged. (Marketplace containers cannot either, but nothing in the
endpoint's description tells them apart.)
"""

from __future__ import annotations

from advisors.context import AdvisorContext
from advisors.finding import Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.rules.common import unpriced
from ground.domain import SERVING_STATUSES, EndpointSnapshot


def guardrails_supported(endpoint: EndpointSnapshot) -> bool:
    """AWS's exclusion that can be seen: Inf1 instances fall back to all-at-once."""
    return not any((v.instance_type or "").startswith("ml.inf1.") for v in endpoint.variants)


def strategy_label(endpoint: EndpointSnapshot) -> str:
    config = endpoint.deployment_config
    if config is None:
        return "blue-green-all-at-once (SageMaker's default)"
    if config.strategy == "rolling":
        return "rolling"
    return f"blue-green-{config.traffic or 'all-at-once'}"


def find_no_deployment_guardrails(ctx: AdvisorContext) -> list[Finding]:
    findings: list[Finding] = []
    for endpoint in ctx.fleet.endpoints:
        if not endpoint.described or endpoint.status not in SERVING_STATUSES:
            continue
        if not ctx.is_production(endpoint.key) or not guardrails_supported(endpoint):
            continue
        config = endpoint.deployment_config
        if config is not None and config.rollback_alarms:
            continue
        if config is None:
            summary = "Production endpoint updated without deployment guardrails"
            how = ("Its last update named no deployment configuration, so SageMaker shifted all "
                   "traffic to the new fleet at once, with no baking period and no alarm to roll "
                   "back on.")
        else:
            summary = f"Production endpoint deployed {strategy_label(endpoint)} without " \
                      "rollback alarms"
            how = (f"Its last update used a {strategy_label(endpoint)} deployment, but no "
                   "CloudWatch alarm is set to roll it back: a regression is only caught by "
                   "a person.")
        findings.append(Finding(
            kind=FindingKind.NO_DEPLOYMENT_GUARDRAILS,
            severity=Severity.INFO,
            endpoint=endpoint.key,
            summary=summary,
            rationale=(
                f"{how} Deployment guardrails shift traffic to the new model in steps (canary "
                "or linear, or rolling batches) and roll back automatically when an alarm on "
                "5XX errors or model latency fires. Set DeploymentConfig with "
                "AutoRollbackConfiguration on the next UpdateEndpoint."),
            evidence={"deployment_strategy": strategy_label(endpoint),
                      "rollback_alarms": len(config.rollback_alarms) if config else 0},
            options=(
                unpriced(OptionKind.KEEP, strategy_label(endpoint), fits=True,
                         note="no alarm rolls an update back"),
                unpriced(OptionKind.CONFIGURE, "rollback alarms on the next UpdateEndpoint",
                         fits=True, note="CloudWatch alarms bill a little; not priced",
                         changes=(ProfileChange(characteristic="auto_rollback", current=False,
                                                proposed=True),)),
            ),
        ))
    return findings
