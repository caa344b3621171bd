"""`no-autoscaling` for inference components (part of `no_autoscaling`'s rule): copies that
never follow the load.

An inference component scales its copies (`inference-component/<name>`, dimension
`sagemaker:inference-component:DesiredCopyCount`), not the variant's instances. Copies without a
scalable target, without a policy, suspended, or with min = max never move. Copies that scale
still need room: without managed instance scaling on the variant, no instance is added for them,
so their maximum must fit on the instances there are.
"""

from __future__ import annotations

from advisors.components import copies_of, instances_needed
from advisors.context import AdvisorContext
from advisors.finding import Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.rules.common import rows, unpriced
from ground.catalog import spec_for
from ground.domain import AutoscalingInfo


def _state(scaling: AutoscalingInfo | None) -> str:
    if scaling is None:
        return "no scalable target"
    if not scaling.policies:
        return (f"a scalable target ({scaling.min_capacity}-{scaling.max_capacity} copies) "
                "without a scaling policy, which never scales")
    if scaling.suspended:
        return "a scalable target whose scaling is suspended"
    return (f"a scalable target with min = max = {scaling.min_capacity} copies, "
            "which cannot move")


def find_component_no_autoscaling(ctx: AdvisorContext) -> list[Finding]:
    components = ctx.features.components
    if components.empty:
        return []
    judged = ctx.features.endpoints.reindex(components.index.get_level_values("endpoint"))
    serving = judged["serving"].fillna(False).astype(bool).to_numpy()
    # Adapters ride on their base component's copies: they have none of their own to scale.
    mask = ((components["status"] == "InService") & ~components["adapter"].astype(bool)
            & serving)
    findings: list[Finding] = []
    for (key, name), _ in rows(components, mask):
        if not ctx.is_production(key):
            continue
        endpoint = ctx.endpoint(key)
        component = next(c for c in endpoint.inference_components if c.name == name)
        variant = next((v for v in endpoint.variants if v.name == component.variant), None)
        scaling = component.autoscaling
        managed = bool(variant and variant.managed_instance_scaling
                       and variant.managed_instance_scaling.enabled)
        scales = bool(scaling and scaling.scales and scaling.max_capacity > scaling.min_capacity)
        if scales:
            continue
        state = _state(scaling)
        copies = component.current_copies
        findings.append(Finding(
            kind=FindingKind.NO_AUTOSCALING,
            severity=Severity.WARNING,
            endpoint=key,
            variant=component.variant,
            component=str(name),
            summary=f"Inference component copies do not autoscale: {state.split(',')[0]}",
            rationale=(
                f"Inference component {name} runs a fixed {copies} copies and has {state}. A "
                "traffic peak beyond them turns into latency and errors, and quiet hours pay "
                f"for the peak. Register inference-component/{name} (dimension "
                "sagemaker:inference-component:DesiredCopyCount) with a target-tracking policy "
                "on SageMakerInferenceComponentInvocationsPerCopy"
                + (", and enable managed instance scaling on the variant so instances follow "
                   "the copies." if not managed else "; managed instance scaling on the "
                   "variant adds instances as copies need them.")),
            evidence={"copies": copies,
                      "scalable_target": "yes" if scaling else "no",
                      "scaling_policies": len(scaling.policies) if scaling else 0,
                      "managed_instance_scaling": "yes" if managed else "no"},
            # The profile holds whether copies autoscale: a target-tracking policy makes it so.
            options=(
                unpriced(OptionKind.KEEP, f"{copies} fixed copies", fits=True,
                         note="peaks wait, quiet hours pay for the peak"),
                unpriced(OptionKind.CONFIGURE, "copies follow the load (target tracking)",
                         fits=True, note="the bill follows the copies: not priced",
                         changes=(ProfileChange(characteristic="copies_autoscaling",
                                                current=False, proposed=True,
                                                component=str(name)),)),
            ),
        ))
    findings += _instances_do_not_follow(ctx)
    return findings


def _instances_do_not_follow(ctx: AdvisorContext) -> list[Finding]:
    """Copies that scale past what the instances hold, with no managed instance scaling."""
    findings: list[Finding] = []
    for endpoint in ctx.fleet.endpoints:
        if not endpoint.inference_components or endpoint.status != "InService":
            continue
        if not ctx.is_production(endpoint.key):
            continue
        for variant in endpoint.variants:
            scaling = variant.managed_instance_scaling
            spec = spec_for(variant.instance_type)
            components = endpoint.components_on(variant.name)
            if not components or spec is None or (scaling is not None and scaling.enabled):
                continue
            at_max = instances_needed(spec, copies_of(components, "max"))
            count = variant.current_instance_count
            if at_max is None or at_max <= count:
                continue
            findings.append(Finding(
                kind=FindingKind.NO_AUTOSCALING,
                severity=Severity.WARNING,
                endpoint=endpoint.key,
                variant=variant.name,
                summary=(f"Copies may scale to what {at_max} instances hold, but the "
                         f"{count} instance(s) are fixed: no managed instance scaling"),
                rationale=(
                    f"At their autoscaling maximum the copies of {len(components)} component(s) "
                    f"need {at_max} instance(s) of {spec.instance_type}, and the variant runs "
                    f"{count} without managed instance scaling: the copies beyond what fits "
                    "stay pending when the load needs them. Enable managed instance scaling "
                    f"(MinInstanceCount {count}, MaxInstanceCount {at_max})."),
                evidence={"instances": count, "instances_needed_at_max_copies": at_max,
                          "managed_instance_scaling": "no"},
                options=(
                    unpriced(OptionKind.KEEP, f"{count} fixed instance(s)", fits=True,
                             note="copies beyond them stay pending"),
                    unpriced(OptionKind.CONFIGURE,
                             f"managed instance scaling, {count} to {at_max} instances",
                             fits=True, note="instances bill only while copies need them: not "
                                             "priced",
                             changes=(ProfileChange(characteristic="autoscaling", current=False,
                                                    proposed=True, variant=variant.name),
                                      ProfileChange(characteristic="max_instances",
                                                    current=count, proposed=at_max,
                                                    variant=variant.name))),
                ),
            ))
    return findings
