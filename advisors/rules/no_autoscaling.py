"""`no-autoscaling`: a production variant that cannot follow its load.

A scalable target without a scaling policy does not scale, nor does a suspended one or one whose
minimum equals its maximum. Inference-component endpoints scale copies, not variants: their
targets are on the components, judged by `component_autoscaling`.
"""

from __future__ import annotations

from advisors.context import AdvisorContext
from advisors.finding import CostedOption, Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.rules.common import rows, sentence, unpriced
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


def _how(variant: VariantSnapshot) -> str:
    """What makes this variant scale, by what stops it today."""
    scaling = variant.autoscaling
    if scaling is None:
        return ("register the variant as a scalable target and attach a target-tracking "
                "policy (for example on SageMakerVariantInvocationsPerInstance)")
    if not scaling.policies:
        return "attach a target-tracking policy to its scalable target"
    if scaling.suspended:
        return "resume the scalable target's scaling (its policy is there)"
    return (f"raise MaxCapacity above MinCapacity {scaling.min_capacity}: its policy is there "
            "but has no room to move the count")


def _fix(variant: VariantSnapshot, count: int) -> CostedOption:
    scaling = variant.autoscaling
    note = "the bill follows the load: quiet hours cost less, peaks more; not priced"
    if scaling is not None and scaling.scales:
        # A policy already: only the bounds hold it (min = max).
        wanted = max(2 * scaling.max_capacity, scaling.max_capacity + 1)
        return unpriced(OptionKind.CONFIGURE, f"MaxCapacity {wanted}", fits=True, note=note,
                        changes=(ProfileChange(characteristic="max_instances",
                                               current=scaling.max_capacity, proposed=wanted,
                                               variant=variant.name),))
    label = ("resume scaling" if scaling is not None and scaling.suspended and scaling.policies
             else "a target-tracking policy")
    return unpriced(OptionKind.CONFIGURE, label, fits=True, note=note,
                    changes=(ProfileChange(characteristic="autoscaling", current=False,
                                           proposed=True, variant=variant.name),))


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
                f"for the peak. {sentence(_how(variant))}."),
            evidence={"instance_count": count,
                      "scalable_target": "yes" if variant.autoscaling else "no",
                      "scaling_policies": len(variant.autoscaling.policies)
                      if variant.autoscaling else 0},
            options=(
                unpriced(OptionKind.KEEP, f"fixed at {count} instance(s)", fits=True,
                         note=state),
                _fix(variant, count),
            ),
        ))
    return findings + find_component_no_autoscaling(ctx)
