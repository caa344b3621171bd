"""`no-autoscaling`: a production variant that cannot follow its load.

A scalable target without a scaling policy does not scale, nor does a suspended one or one whose
minimum equals its maximum. Inference-component endpoints scale copies, not variants: their
targets are on the components, judged by `component_autoscaling`.
"""

from __future__ import annotations

from advisors.context import AdvisorContext
from advisors.finding import Finding, FindingKind, ProfileChange, Severity
from advisors.rules.common import rows
from advisors.rules.component_autoscaling import find_component_no_autoscaling
from ground.domain import DeploymentOption, VariantSnapshot


def _state(variant: VariantSnapshot) -> str:
    scaling = variant.autoscaling
    if scaling is None:
        return "no scalable target"
    if not scaling.policies:
        return (f"a scalable target ({scaling.min_capacity}-{scaling.max_capacity} instances) "
                "without a scaling policy, which never scales")
    if scaling.suspended:
        return "a scalable target whose scaling is suspended"
    return (f"a scalable target with min = max = {scaling.min_capacity} instances, "
            "which cannot move")


def find_no_autoscaling(ctx: AdvisorContext) -> list[Finding]:
    variants = ctx.features.variants
    if variants.empty:
        return []
    judged = ctx.features.endpoints.reindex(variants.index.get_level_values("endpoint"))
    mask = (~variants["serverless"].astype(bool) & ~variants["shadow"].astype(bool)
            & ~variants["autoscaling_scales"].astype(bool)
            & judged["serving"].fillna(False).astype(bool).to_numpy()
            & (judged["deployment"] != DeploymentOption.INFERENCE_COMPONENTS.value).to_numpy())
    findings: list[Finding] = []
    for (key, name), _ in rows(variants, mask):
        if not ctx.is_production(key):
            continue
        variant = next(v for v in ctx.endpoint(key).variants if v.name == name)
        state = _state(variant)
        count = variant.current_instance_count
        findings.append(Finding(
            kind=FindingKind.NO_AUTOSCALING,
            severity=Severity.WARNING,
            endpoint=key,
            variant=str(name),
            summary=f"Production variant does not autoscale: {state.split(',')[0]}",
            rationale=(
                f"Variant {name} runs a fixed {count} instance(s) and has {state}. A traffic "
                "peak beyond that capacity turns into latency and errors, and quiet hours pay "
                "for the peak. Attach a target-tracking policy (for example on "
                "SageMakerVariantInvocationsPerInstance) to the scalable target."),
            evidence={"instance_count": count,
                      "scalable_target": "yes" if variant.autoscaling else "no",
                      "scaling_policies": len(variant.autoscaling.policies)
                      if variant.autoscaling else 0},
            suggested=(ProfileChange(characteristic="autoscaling", current=state,
                                     proposed="target tracking", variant=str(name)),),
        ))
    return findings + find_component_no_autoscaling(ctx)
