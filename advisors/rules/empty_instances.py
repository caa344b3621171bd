"""`over-provisioned` for inference-component endpoints (part of `over_provisioned`'s rule):
instances their copies leave empty.

SageMaker places copies by their reservation (accelerators, CPU cores, memory per copy). When
fewer instances would hold every copy, the others are paid for and reserved by nobody. Managed
instance scaling releases such instances itself (pitfall: check it before advising), so with it
enabled only a MinInstanceCount above what the copies need keeps them; without it the instance
count must come down by hand. Utilisation-based sizing (`over_provisioned`) leaves these
endpoints alone: their instances hold what the copies reserve, not what one model needs.
"""

from __future__ import annotations

from advisors.components import copies_of, instances_needed, variant_reservations
from advisors.context import AdvisorContext
from advisors.cost import instances_monthly_cost
from advisors.finding import Finding, FindingKind, OptionKind, ProfileChange
from advisors.rules.common import (
    carbon_clause,
    keep,
    number,
    opportunity_severity,
    option,
    savings,
    usd,
)
from ground.domain import DeploymentOption

SERVING = frozenset({"InService"})


def find_empty_instances(ctx: AdvisorContext) -> list[Finding]:
    findings: list[Finding] = []
    frame = ctx.features.endpoints
    for endpoint in ctx.fleet.endpoints:
        if (endpoint.deployment is not DeploymentOption.INFERENCE_COMPONENTS
                or endpoint.status not in SERVING):
            continue
        for variant in endpoint.variants:
            found = variant_reservations(endpoint, variant)
            count = variant.current_instance_count
            if found is None or count <= 0:
                continue
            if any(c.status != "InService" for c in found.components):
                continue  # copies are moving: the placement is not settled
            spec = found.spec
            needed = instances_needed(spec, copies_of(found.components))
            if needed is None:
                continue  # a copy larger than an instance: the reservation is not placeable
            requirements = ctx.requirements_of(endpoint.key)
            floor = 1 if variant.shadow else max(1, requirements.min_instances)
            proposed = max(needed, floor)
            scaling = variant.managed_instance_scaling
            managed = scaling is not None and scaling.enabled
            holding = (scaling.min_instances or 0) if scaling is not None and managed else count
            if proposed >= count or (managed and holding <= proposed):
                continue  # nothing empty, or managed instance scaling releases it already
            current = instances_monthly_cost(spec.instance_type, count, endpoint.region,
                                             ctx.prices)
            after = instances_monthly_cost(spec.instance_type, proposed, endpoint.region,
                                           ctx.prices)
            saved = savings(current, after.usd)
            if saved is not None and saved < ctx.settings.min_monthly_savings_usd:
                continue
            carbon_now = ctx.shape_footprint(endpoint.key, variant.name, spec.instance_type,
                                             count)
            carbon_after = ctx.shape_footprint(endpoint.key, variant.name, spec.instance_type,
                                               proposed)
            at_max = instances_needed(spec, copies_of(found.components, "max"))
            changes = [ProfileChange(characteristic="instance_count", current=count,
                                     proposed=proposed, variant=variant.name)]
            if managed:
                changes.append(ProfileChange(characteristic="min_instances", current=holding,
                                             proposed=proposed, variant=variant.name))
                how = (f"Managed instance scaling would release them, but its MinInstanceCount "
                       f"of {holding} keeps them: lower it to {proposed}.")
            else:
                how = (f"Lower the instance count to {proposed}"
                       + (f"; at their autoscaling maximum the copies need {at_max}, so enable "
                          f"managed instance scaling (up to {at_max} instances) to add them "
                          "only when the copies do." if at_max and at_max > proposed else "."))
            reserved = found.reserved
            offered = found.offered
            measured_min = number(ctx.fleet.metrics.window_value(
                endpoint.key, variant.name, "gpu_reservation_min_pct" if spec.has_gpu
                else "cpu_reservation_min_pct"))
            findings.append(Finding(
                kind=FindingKind.OVER_PROVISIONED,
                severity=opportunity_severity(saved, current),
                endpoint=endpoint.key,
                variant=variant.name,
                summary=(f"{count}x {spec.instance_type} for copies that fit on {needed}: "
                         f"saves {usd(saved)}"),
                rationale=(
                    f"The {sum(c.current_copies for c in found.components)} copies of "
                    f"{len(found.components)} inference component(s) reserve "
                    f"{reserved.accelerators:g} of {offered.accelerators:g} accelerators, "
                    f"{reserved.cpu_cores:g} of {offered.cpu_cores:g} vCPUs and "
                    f"{reserved.memory_mb / 1024:,.0f} of {offered.memory_mb / 1024:,.0f} GiB "
                    f"on {count} instance(s); placed by their reservations they fit on "
                    f"{needed}, so {count - needed} instance(s) hold no copy"
                    + (f" (CloudWatch: the emptiest instance reserved {measured_min:.0f} % at "
                       "least once in the lookback)" if measured_min is not None else "")
                    + f". {how} Production keeps at least {floor} instance(s). Current "
                    f"{usd(current.usd)}, proposed {usd(after.usd)} ({after.source})."
                    + carbon_clause(carbon_now, carbon_after)),
                evidence={
                    "instances": count,
                    "instances_needed": needed,
                    "instances_needed_at_max_copies": at_max,
                    "min_instances": floor,
                    "reserved_accelerators": reserved.accelerators,
                    "offered_accelerators": offered.accelerators,
                    "reserved_cpu_cores": reserved.cpu_cores,
                    "offered_cpu_cores": offered.cpu_cores,
                    "reserved_memory_mb": reserved.memory_mb,
                    "offered_memory_mb": offered.memory_mb,
                    "reservation_min_pct": measured_min,
                    "managed_instance_scaling": "yes" if managed else "no",
                    "current_monthly_usd": current.usd,
                    "proposed_monthly_usd": after.usd,
                    "endpoint_requests": number(frame.at[endpoint.key, "requests"])
                    if endpoint.key in frame.index else None,
                },
                options=(keep(f"current: {count}x {spec.instance_type}", current, fits=True,
                              note=f"{count - needed} instance(s) without a copy",
                              carbon=carbon_now),
                         option(f"{proposed}x {spec.instance_type}", after, fits=True,
                                note="holds every copy as reserved", kind=OptionKind.RESIZE,
                                changes=changes, carbon=carbon_after)),
                monthly_savings_usd=saved,
            ))
    return findings
