"""`cold-start-risk`: serverless cold starts take longer than the endpoint's requirements allow.

ModelSetupTime is reported in microseconds; requirements are in milliseconds.
"""

from __future__ import annotations

from advisors.carbon import NO_LOAD
from advisors.context import AdvisorContext
from advisors.cost import variant_monthly_cost
from advisors.finding import CostedOption, Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.limits import MIB_PER_GIB, MICROSECONDS_PER_MS
from advisors.rules.common import keep, number, option, rows, unpriced
from advisors.sizing import cpu_host_for


def find_cold_start_risk(ctx: AdvisorContext) -> list[Finding]:
    variants = ctx.features.variants
    if variants.empty:
        return []
    mask = variants["serverless"].astype(bool) & variants["cold_start_p99_us"].notna()
    findings: list[Finding] = []
    for (key, name), row in rows(variants, mask):
        tolerance_ms = ctx.requirements_of(key).cold_start_tolerance_ms
        cold_ms = float(row["cold_start_p99_us"]) / MICROSECONDS_PER_MS
        if cold_ms <= tolerance_ms:
            continue
        endpoint = ctx.endpoint(key)
        variant = next(v for v in endpoint.variants if v.name == name)
        cost = variant_monthly_cost(endpoint, variant, ctx.fleet, ctx.prices,
                                    ctx.requirements_of(key).max_payload_mb)
        cold_starts = number(row["cold_starts"]) or 0.0
        options: list[CostedOption] = [
            keep("current serverless", cost, fits=False, note="cold starts too long",
                 carbon=ctx.variant_footprint(key, str(name))),
            unpriced(OptionKind.CONFIGURE, "serverless with provisioned concurrency", fits=True,
                     note="keeps instances warm; provisioned concurrency rates are not sourced"),
        ]
        memory_gib = (variant.serverless.memory_mb if variant.serverless else 0) / MIB_PER_GIB
        host = cpu_host_for(memory_gib, endpoint.region, ctx.prices, ctx.settings,
                            max(1, ctx.requirements_of(key).min_instances))
        if host is not None:
            options.append(option(
                f"real-time on {host.label}", host.cost, fits=True,
                note=f"no cold starts; {host.spec.memory_gib:g} GiB holds the "
                     f"{memory_gib * MIB_PER_GIB:,.0f} MB the model is given today",
                kind=OptionKind.REAL_TIME,
                changes=(ProfileChange(characteristic="deployment_option",
                                       current="serverless", proposed="real-time"),
                         ProfileChange(characteristic="instance_type",
                                       proposed=host.spec.instance_type, variant=str(name)),
                         ProfileChange(characteristic="instance_count", proposed=host.count,
                                       variant=str(name))),
                # Instances at a utilisation nothing measured yet (serverless publishes none).
                carbon=ctx.shape_footprint(key, str(name), host.spec.instance_type, host.count,
                                           load=NO_LOAD)))
        findings.append(Finding(
            kind=FindingKind.COLD_START_RISK,
            severity=Severity.WARNING,
            endpoint=key,
            variant=str(name),
            summary=(f"Serverless cold starts take {cold_ms:,.0f} ms (p99), over the "
                     f"{tolerance_ms:,.0f} ms the endpoint tolerates"),
            rationale=(
                f"ModelSetupTime p99 is {cold_ms:,.0f} ms over {cold_starts:.0f} cold "
                f"start(s) in the lookback, and requests that hit one wait that long on top "
                f"of the model latency. The requirements allow {tolerance_ms:,.0f} ms. Provisioned "
                "concurrency keeps instances warm; a real-time endpoint has no cold starts."),
            evidence={"cold_start_p99_ms": round(cold_ms, 1),
                      "cold_start_tolerance_ms": tolerance_ms,
                      "cold_starts": number(row["cold_starts"])},
            options=tuple(options),
        ))
    return findings
