"""`under-provisioned`: saturation, a broken latency objective, or 5XX errors that rise with load.

CPU or GPU saturation asks for more instances (work spreads over them); memory saturation asks for
a larger type (every instance holds the whole model), one that keeps the model's accelerators:
the same kind and model, at least as many devices and as much accelerator memory. A model short
of GPU memory gets a GPU with more memory per device. A broken latency objective or errors under
load ask for more capacity whose effect on latency only a load test can confirm. Serverless
variants get more memory or a higher MaxConcurrency. LLM servers preallocate GPU memory for their
KV cache, so their GPU memory never counts as saturation (the features leave it out of the
busiest resource); their load is GPU utilisation, concurrent requests and latency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from advisors.context import AdvisorContext
from advisors.cost import (
    CostEstimate,
    ServerlessUsage,
    instances_monthly_cost,
    observed_hours,
    serverless_usage,
)
from advisors.finding import CostedOption, Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.limits import MICROSECONDS_PER_MS, SERVERLESS_MAX_MEMORY_MB, SERVERLESS_MEMORY_STEP_MB
from advisors.rules.common import (
    keep,
    number,
    option,
    resource_name,
    rows,
    savings,
    sentence,
    usd,
)
from advisors.sizing import larger_in_family, more_accelerator_memory
from ground.catalog import InstanceSpec, spec_for
from ground.domain import VariantSnapshot
from ground.energy import Footprint, serverless_footprint

_SPREADS_OVER_INSTANCES = {"cpu_p95_pct", "gpu_p95_pct"}
# Scale-out step when the cause (latency, errors) does not say how much capacity is missing.
SCALE_OUT_FACTOR = 1.5


@dataclass
class _Reasons:
    saturated: bool = False
    texts: list[str] = field(default_factory=list)
    evidence: dict[str, float | int | str | None] = field(default_factory=dict)


def _errors_with_load(ctx: AdvisorContext) -> pd.Series[bool]:
    frame = ctx.features.endpoints
    s = ctx.settings
    busy = frame["busy_hour_error_ratio"]
    quiet = frame["quiet_hour_error_ratio"].fillna(0.0)
    rising = (busy >= s.error_rate_warning_ratio) & (busy >= s.errors_with_load_factor * quiet)
    return rising.fillna(False).astype(bool)


def _collect(ctx: AdvisorContext) -> dict[tuple[str, str], _Reasons]:
    variants = ctx.features.variants
    endpoints = ctx.features.endpoints
    s = ctx.settings
    found: dict[tuple[str, str], _Reasons] = {}
    if variants.empty:
        return found
    serving = endpoints["serving"].reindex(variants.index.get_level_values("endpoint"))
    live = variants[serving.fillna(False).astype(bool).to_numpy()]

    saturated = (~live["serverless"].astype(bool)) & live["saturated"].astype(bool)
    for (key, name), row in rows(live, saturated):
        reasons = found.setdefault((key, name), _Reasons())
        reasons.saturated = True
        reasons.texts.append(f"{resource_name(row['busiest_resource'])} p95 is "
                             f"{row['busiest_pct']:.0f} % per instance (saturation threshold "
                             f"{s.saturation_pct:.0f} %)")
        reasons.evidence.update(busiest_pct=number(row["busiest_pct"]),
                                busiest_resource=str(row["busiest_resource"]))

    for (key, name), row in rows(live, live["serverless"].astype(bool)):
        memory = number(row["memory_p95_pct"])
        concurrency = number(row["serverless_concurrency_max_fraction"])
        if memory is not None and memory >= s.saturation_pct:
            reasons = found.setdefault((key, name), _Reasons())
            reasons.saturated = True
            reasons.texts.append(f"memory p95 is {memory:.0f} % of the configured "
                                 f"{row['serverless_memory_mb']:.0f} MB")
            reasons.evidence["memory_p95_pct"] = memory
        if concurrency is not None and concurrency >= s.saturation_pct / 100.0:
            reasons = found.setdefault((key, name), _Reasons())
            reasons.saturated = True
            reasons.texts.append(f"concurrent executions peaked at {concurrency:.0%} of "
                                 f"MaxConcurrency {row['serverless_max_concurrency']:.0f}; "
                                 "above it requests are throttled")
            reasons.evidence["serverless_concurrency_max_fraction"] = concurrency

    objective_ms = pd.Series(
        [ctx.requirements_of(str(key)).p99_latency_ms for key in
         live.index.get_level_values("endpoint")], index=live.index, dtype="float64")
    # CloudWatch latency is microseconds, objectives are milliseconds.
    latency_ms = live["model_latency_p99_us"] / MICROSECONDS_PER_MS
    too_slow = ~live["shadow"].astype(bool) & (latency_ms > objective_ms)
    for (key, name), row in rows(live, too_slow):
        slow_ms = float(row["model_latency_p99_us"]) / MICROSECONDS_PER_MS
        objective = float(objective_ms[(key, name)])
        reasons = found.setdefault((key, name), _Reasons())
        reasons.texts.append(f"model latency p99 is {slow_ms:,.0f} ms against an "
                             f"objective of {objective:,.0f} ms")
        reasons.evidence.update(model_latency_p99_ms=round(slow_ms, 1),
                                p99_objective_ms=objective)

    rising = _errors_with_load(ctx)
    endpoint_rows = dict(rows(endpoints, rising))
    for key in endpoint_rows:
        endpoint = ctx.endpoint(str(key))
        if not endpoint.serving_variants:
            continue
        target = max(endpoint.serving_variants, key=lambda v: v.current_instance_count)
        row = endpoint_rows[str(key)]
        reasons = found.setdefault((str(key), target.name), _Reasons())
        reasons.saturated = True
        reasons.texts.append(
            f"5XX errors rise with load: {row['busy_hour_error_ratio']:.2%} of requests in the "
            f"busiest hours against {row['quiet_hour_error_ratio']:.2%} in the others")
        reasons.evidence.update(busy_hour_error_ratio=number(row["busy_hour_error_ratio"]),
                                quiet_hour_error_ratio=number(row["quiet_hour_error_ratio"]))
    return found


_Plan = tuple[list[CostedOption], CostEstimate, CostEstimate | None]


def _sized(variant: VariantSnapshot, spec: InstanceSpec, count: int, instance_type: str,
           wanted: int) -> list[ProfileChange]:
    """Type and count, and the scalable target's bounds where they would hold the count back."""
    changes: list[ProfileChange] = []
    if instance_type != spec.instance_type:
        changes.append(ProfileChange(characteristic="instance_type", current=spec.instance_type,
                                     proposed=instance_type, variant=variant.name))
    if wanted != count:
        changes.append(ProfileChange(characteristic="instance_count", current=count,
                                     proposed=wanted, variant=variant.name))
    scaling = variant.autoscaling
    if scaling is not None and wanted > scaling.max_capacity:
        changes.append(ProfileChange(characteristic="max_instances",
                                     current=scaling.max_capacity, proposed=wanted,
                                     variant=variant.name))
    if scaling is not None and not scaling.scales and wanted > scaling.min_capacity:
        # A target that does not scale holds the count at MinCapacity: the floor moves with it.
        changes.append(ProfileChange(characteristic="min_instances",
                                     current=scaling.min_capacity, proposed=wanted,
                                     variant=variant.name))
    return changes


def _instance_plan(ctx: AdvisorContext, key: str, variant: VariantSnapshot,
                   row: dict[str, Any], reasons: _Reasons) -> _Plan | None:
    spec = spec_for(row["instance_type"])
    if spec is None:
        return None
    region = str(row["region"])
    count = int(row["instance_count"])
    current = instances_monthly_cost(spec.instance_type, count, region, ctx.prices)

    def carbon(instance_type: str, instances: int) -> Footprint | None:
        # Today's load over the new capacity: a lower bound, since more capacity is wanted
        # because the load does not fit today's.
        return ctx.shape_footprint(key, variant.name, instance_type, instances)

    options = [keep(f"current: {count}x {spec.instance_type}", current, fits=False,
                    note="short of capacity", carbon=carbon(spec.instance_type, count))]
    resource = row["busiest_resource"] if reasons.saturated else None
    bigger = larger_in_family(spec)
    if resource in ("memory_p95_pct", "gpu_memory_p95_pct"):
        if resource == "gpu_memory_p95_pct":
            bigger = more_accelerator_memory(spec)
            note = (f"more memory per device: {bigger.accelerator_label if bigger else ''} "
                    f"against {spec.memory_per_device_gib or 0:g} GiB per {spec.gpu_model} "
                    "today; another device model, so confirm latency with a load test")
        else:
            bigger = larger_in_family(spec, more_memory=True)
            note = "more memory per instance; the model is on every instance"
        if bigger is None:
            return options, current, None
        proposed = instances_monthly_cost(bigger.instance_type, count, region, ctx.prices)
        options.append(option(f"{count}x {bigger.instance_type}", proposed, fits=True,
                              note=note, kind=OptionKind.RESIZE,
                              changes=_sized(variant, spec, count, bigger.instance_type, count),
                              carbon=carbon(bigger.instance_type, count)))
        return options, current, proposed
    if resource in _SPREADS_OVER_INSTANCES:
        wanted = math.ceil(count * float(row["busiest_pct"]) / ctx.settings.target_utilisation_pct)
    else:
        wanted = math.ceil(count * SCALE_OUT_FACTOR)
    wanted = max(wanted, count + 1)
    proposed = instances_monthly_cost(spec.instance_type, wanted, region, ctx.prices)
    options.append(option(f"{wanted}x {spec.instance_type}", proposed, fits=True,
                          note="effect on latency to confirm with a load test"
                          if resource is None else "", kind=OptionKind.RESIZE,
                          changes=_sized(variant, spec, count, spec.instance_type, wanted),
                          carbon=carbon(spec.instance_type, wanted)))
    if bigger is not None:
        options.append(option(f"{count}x {bigger.instance_type}",
                              instances_monthly_cost(bigger.instance_type, count, region,
                                                     ctx.prices),
                              fits=True, note="larger instances instead of more of them, "
                                              f"same accelerators ({bigger.accelerator_label})"
                              if bigger.has_accelerator else
                              "larger instances instead of more of them",
                              kind=OptionKind.RESIZE,
                              changes=_sized(variant, spec, count, bigger.instance_type, count),
                              carbon=carbon(bigger.instance_type, count)))
    return options, current, proposed


def _serverless_plan(ctx: AdvisorContext, key: str, variant: VariantSnapshot,
                     row: dict[str, Any], reasons: _Reasons) -> list[CostedOption]:
    endpoint = ctx.endpoint(key)
    payload = ctx.requirements_of(key).max_payload_mb
    metrics = ctx.fleet.metrics
    memory_mb = int(row["serverless_memory_mb"])

    def usage(memory: int) -> ServerlessUsage:
        return serverless_usage(memory,
                                metrics.window_value(key, variant.name, "model_latency_sum_us"),
                                metrics.window_value(key, variant.name, "requests"),
                                observed_hours(endpoint, ctx.fleet), payload, ctx.prices)

    def cost(memory: int) -> CostEstimate:
        return usage(memory).cost

    def carbon(memory: int) -> Footprint | None:
        # What serverless bills, in energy: the same busy seconds at the configured memory.
        busy = usage(memory).busy_seconds_per_month
        return None if busy is None else serverless_footprint(memory, busy, endpoint.region)

    changes: list[ProfileChange] = []
    raised_mb = memory_mb
    if "memory_p95_pct" in reasons.evidence and memory_mb < SERVERLESS_MAX_MEMORY_MB:
        raised_mb = memory_mb + SERVERLESS_MEMORY_STEP_MB
        changes.append(ProfileChange(characteristic="serverless_memory_mb", current=memory_mb,
                                     proposed=raised_mb, variant=variant.name))
    max_concurrency = int(row["serverless_max_concurrency"])
    if "serverless_concurrency_max_fraction" in reasons.evidence:
        raised = min(ctx.settings.serverless_max_concurrency,
                     math.ceil(max_concurrency * ctx.settings.serverless_concurrency_headroom))
        if raised > max_concurrency:
            changes.append(ProfileChange(characteristic="serverless_max_concurrency",
                                         current=max_concurrency, proposed=raised,
                                         variant=variant.name))
    options = [keep(f"serverless {memory_mb} MB, MaxConcurrency {max_concurrency}",
                    cost(memory_mb), fits=False, note="short of capacity",
                    carbon=carbon(memory_mb))]
    if changes:
        # Billed per GB-second of configured memory: the same busy time at more memory.
        options.append(option(
            "raise " + " and ".join(c.characteristic.replace("_", " ") for c in changes),
            cost(raised_mb), fits=True, note="same busy time at the new memory size",
            kind=OptionKind.RESIZE, changes=changes, carbon=carbon(raised_mb)))
    return options


def find_under_provisioned(ctx: AdvisorContext) -> list[Finding]:
    findings: list[Finding] = []
    collected = _collect(ctx)
    variants = ctx.features.variants
    picked = variants.index.isin(list(collected))
    by_variant = dict(rows(variants, pd.Series(picked, index=variants.index)))
    for (key, variant), reasons in collected.items():
        row = by_variant[(key, variant)]
        severity = Severity.CRITICAL if reasons.saturated else Severity.WARNING
        variant_snapshot = next(v for v in ctx.endpoint(key).variants if v.name == variant)
        saved: float | None = None
        options: list[CostedOption]
        if row["serverless"]:
            options = _serverless_plan(ctx, key, variant_snapshot, row, reasons)
            changes = [c for o in options for c in o.changes]
            action = ("raise " + " and ".join(c.characteristic for c in changes)
                      if changes else "move to a real-time or async endpoint")
            if len(options) > 1:
                saved = savings(CostEstimate(usd=options[0].monthly_cost_usd, source="",
                                             estimated=True), options[1].monthly_cost_usd)
        else:
            plan = _instance_plan(ctx, key, variant_snapshot, row, reasons)
            if plan is None:
                continue
            options, current, proposed = plan
            changes = list(options[1].changes) if len(options) > 1 else []
            saved = savings(current, proposed.usd) if proposed is not None else None
            action = (", ".join(f"{c.characteristic} {c.current} -> {c.proposed}"
                                for c in changes) or "no larger size in the family")
        cost_text = ""
        if saved is not None and saved < 0:
            cost_text = f" Extra cost {usd(-saved)}."
        elif saved is not None and saved > 0:
            # A device with more memory can be of a cheaper generation (V100 -> A10G).
            cost_text = f" It also costs {usd(saved)} less."
        workload = ctx.workload(key, variant)
        llm_text = ""
        if workload.llm_server is not None and number(row["gpu_memory_p95_pct"]) is not None:
            concurrency = number(row["concurrency_max"])
            gpu = number(row["gpu_p95_pct"])
            llm_text = (
                f" GPU memory ({row['gpu_memory_p95_pct']:.0f} %) is not read as saturation: "
                f"the LLM server ({workload.llm_server}, from {workload.llm_evidence}) "
                "preallocates most of it for its KV cache at start-up; its load is GPU "
                f"utilisation ({f'p95 {gpu:.0f} %' if gpu is not None else 'no data'}), "
                "concurrent requests ("
                f"{f'peak {concurrency:.0f} per model' if concurrency is not None else 'no data'}"
                ") and latency.")
            reasons.evidence.update(llm_server=workload.llm_server.value,
                                    gpu_memory_p95_pct=number(row["gpu_memory_p95_pct"]),
                                    gpu_p95_pct=gpu, concurrency_max=concurrency)
        findings.append(Finding(
            kind=FindingKind.UNDER_PROVISIONED,
            severity=severity,
            endpoint=key,
            variant=variant,
            summary=f"Short of capacity: {reasons.texts[0]}",
            rationale=(sentence("; ".join(reasons.texts))
                       + f". Suggested: {action}." + cost_text + llm_text),
            evidence={**reasons.evidence,
                      "instance_count": int(row["instance_count"]),
                      "instance_type": row["instance_type"]},
            options=tuple(options),
            monthly_savings_usd=saved,
        ))
    return findings
