"""`multi-model-cache`: an existing multi-model endpoint whose model cache thrashes.

Judged from the endpoint's own metrics (aws-facts.md 1.5): ModelCacheHit (its Average is the share
of requests that found their model loaded), ModelLoadingWaitTime (how long a request waited for its
model to load), the samples of ModelUnloadingTime (models evicted) and LoadedModelCount (models per
instance). A hit ratio under the threshold with loading waits beyond the endpoint's cold-start
tolerance means the models in use do not fit the cache: an MME keeps models until memory is full,
so more memory per instance (a larger type of the same kind) holds more of them. A healthy cache,
or misses that load within what callers tolerate, are left alone.
"""

from __future__ import annotations

from typing import Any

from advisors.context import AdvisorContext
from advisors.cost import instances_monthly_cost
from advisors.finding import CostedOption, Finding, FindingKind, OptionKind, ProfileChange, Severity
from advisors.limits import MICROSECONDS_PER_MS
from advisors.rules.common import carbon_saved, keep, number, option, rows, savings, usd
from advisors.sizing import eligible_types
from ground.catalog import InstanceSpec, spec_for
from ground.domain import DeploymentOption
from ground.energy import Footprint
from ground.pricing import Price

MAX_OTHER_OPTIONS = 3


def _same_kind(current: InstanceSpec, spec: InstanceSpec) -> bool:
    """Hosts the same models: the same accelerator (or none), no fewer cores."""
    if spec.vcpu < current.vcpu:
        return False
    if current.has_accelerator:
        # The same devices: GPU MMEs run on single-GPU types (aws-facts.md 5), and a compiled
        # model stays on its own accelerator model and generation.
        return (spec.accelerator is current.accelerator and spec.gpu_model == current.gpu_model
                and spec.gpu_count == current.gpu_count
                and spec.generation == current.generation)
    return not spec.has_accelerator


def larger_caches(current: InstanceSpec, region: str, ctx: AdvisorContext
                  ) -> list[tuple[InstanceSpec, Price | None]]:
    """Types of the same kind with at least `multi_model_cache_memory_factor` times the memory,
    priced ones cheapest first (then those whose price is unknown, smallest first)."""
    wanted_gib = current.memory_gib * ctx.settings.multi_model_cache_memory_factor
    found = [(spec, price) for spec, price in eligible_types(current, region, ctx.prices)
             if spec.memory_gib >= wanted_gib - 1e-9 and _same_kind(current, spec)]
    return sorted(found, key=lambda sp: (sp[1] is None, sp[1].usd_per_hour if sp[1] else 0.0,
                                         sp[0].memory_gib))


def _count(value: float) -> str:
    """Instances as said: whole when whole, else the time-weighted mean to one decimal."""
    return f"{value:.0f}" if value == int(value) else f"{value:.1f} (time-weighted)"


def _ms(value_us: Any) -> float | None:
    found = number(value_us)
    return None if found is None else found / MICROSECONDS_PER_MS


def find_multi_model_cache(ctx: AdvisorContext) -> list[Finding]:
    variants = ctx.features.variants
    if variants.empty:
        return []
    s = ctx.settings
    judged = ctx.features.endpoints.reindex(variants.index.get_level_values("endpoint"))
    mask = (
        ~variants["shadow"].astype(bool)
        & (variants["requests"] > 0)
        & (variants["model_cache_hit_ratio"] < s.multi_model_min_cache_hit_ratio)
        & variants["model_loading_wait_max_us"].notna()
        & (judged["deployment"] == DeploymentOption.MULTI_MODEL.value).to_numpy()
        & judged["serving"].astype(bool).to_numpy()
        & ~judged["too_new"].astype(bool).to_numpy()
    )
    findings: list[Finding] = []
    for (key, variant_name), row in rows(variants, mask):
        tolerance_ms = ctx.requirements_of(key).cold_start_tolerance_ms
        wait_avg_ms = _ms(row["model_loading_wait_avg_us"])
        wait_max_ms = _ms(row["model_loading_wait_max_us"])
        if wait_max_ms is None or wait_max_ms <= tolerance_ms:
            continue  # misses load within what callers tolerate: a cost of latency, not a fault
        hit = float(row["model_cache_hit_ratio"])
        findings.append(_finding(ctx, str(key), str(variant_name), row, hit, wait_avg_ms,
                                 wait_max_ms, tolerance_ms))
    return findings


def _finding(ctx: AdvisorContext, key: str, variant: str, row: dict[str, Any], hit: float,
             wait_avg_ms: float | None, wait_max_ms: float, tolerance_ms: float) -> Finding:
    region = str(row["region"])
    spec = spec_for(row["instance_type"])
    count = float(row["billed_instances"])
    loaded = number(row["loaded_models_avg"])
    unloads = number(row["model_unloads"])
    # A typical miss waiting longer than callers tolerate is a fault users meet; only the
    # slowest ones doing so is worth knowing.
    severity = (Severity.WARNING if wait_avg_ms is not None and wait_avg_ms > tolerance_ms
                else Severity.INFO)
    waits = (f"a request whose model is not loaded waits {wait_avg_ms:,.0f} ms on average"
             if wait_avg_ms is not None else "a request whose model is not loaded waits")
    held = (f"Each instance holds {loaded:.0f} models on average (LoadedModelCount)"
            if loaded is not None else "LoadedModelCount is not published")
    evicted = (f"; {unloads:,.0f} models were unloaded over the lookback to make room"
               if unloads else "")
    options: list[CostedOption] = []
    saved: float | None = None
    carbon: float | None = None
    proposal = ("Split the models over more multi-model endpoints, or give each instance more "
                "memory.")
    summary_tail = ""
    evidence: dict[str, float | int | str | None] = {}
    if spec is not None:
        current = instances_monthly_cost(spec.instance_type, count, region, ctx.prices)

        def footprint(instance_type: str) -> Footprint | None:
            return ctx.shape_footprint(key, variant, instance_type, count)

        carbon_now = footprint(spec.instance_type)
        options.append(keep(f"current: {_count(count)}x {spec.instance_type} "
                            f"({spec.memory_gib:g} GiB each)", current, fits=False,
                            note=f"{hit:.0%} cache hits", carbon=carbon_now))
        bigger = larger_caches(spec, region, ctx)
        if bigger:
            chosen, _ = bigger[0]
            proposed = instances_monthly_cost(chosen.instance_type, count, region, ctx.prices)
            saved = savings(current, proposed.usd)
            carbon = carbon_saved(carbon_now, footprint(chosen.instance_type))
            factor = chosen.memory_gib / spec.memory_gib
            projected = None if loaded is None else loaded * factor
            holds = ("" if projected is None
                     else f", about {projected:.0f} models per instance instead of {loaded:.0f}")
            for other, _ in bigger[: 1 + MAX_OTHER_OPTIONS]:
                cost = (proposed if other is chosen else
                        instances_monthly_cost(other.instance_type, count, region, ctx.prices))
                options.append(option(
                    f"{_count(count)}x {other.instance_type} ({other.memory_gib:g} GiB each)",
                    cost,
                    fits=True, note=f"{other.memory_gib / spec.memory_gib:.1f}x the memory for "
                                    "the model cache", kind=OptionKind.RESIZE,
                    changes=(ProfileChange(characteristic="instance_type",
                                           current=spec.instance_type,
                                           proposed=other.instance_type, variant=variant),),
                    carbon=footprint(other.instance_type)))
            proposal = (f"{chosen.instance_type} has {chosen.memory_gib:g} GiB per instance "
                        f"instead of {spec.memory_gib:g} ({factor:.1f}x){holds}, at "
                        f"{usd(proposed.usd)} instead of {usd(current.usd)} "
                        f"({proposed.source}).")
            summary_tail = (f": {chosen.instance_type} ({chosen.memory_gib:g} GiB) holds "
                            f"{factor:.1f}x the models")
            evidence.update(proposed_memory_gib=chosen.memory_gib,
                            proposed_monthly_usd=proposed.usd,
                            projected_loaded_models=None if projected is None
                            else round(projected, 1))
        evidence.update(memory_gib=spec.memory_gib, current_monthly_usd=current.usd)
    return Finding(
        kind=FindingKind.MULTI_MODEL_CACHE,
        severity=severity,
        endpoint=key,
        variant=variant,
        summary=(f"Model cache thrashing: {hit:.0%} of requests find their model loaded, "
                 f"loads wait up to {wait_max_ms:,.0f} ms against a {tolerance_ms:,.0f} ms "
                 f"tolerance{summary_tail}"),
        rationale=(
            f"Over {ctx.fleet.lookback_days} days {hit:.1%} of requests found their model "
            f"loaded (ModelCacheHit, threshold {ctx.settings.multi_model_min_cache_hit_ratio:.0%}"
            f"); {waits} and up to {wait_max_ms:,.0f} ms (ModelLoadingWaitTime), against a "
            f"cold-start tolerance of {tolerance_ms:,.0f} ms. {held}{evicted}: the models in "
            "use do not fit the cache, which a multi-model endpoint fills until memory is full "
            f"(memory p95 {row['memory_p95_pct']:.0f} %). {proposal}"),
        evidence={
            "model_cache_hit_ratio": round(hit, 4),
            "model_loading_wait_avg_ms": None if wait_avg_ms is None else round(wait_avg_ms, 1),
            "model_loading_wait_max_ms": round(wait_max_ms, 1),
            "cold_start_tolerance_ms": tolerance_ms,
            "loaded_models_avg": None if loaded is None else round(loaded, 1),
            "model_unloads": unloads,
            "memory_p95_pct": number(row["memory_p95_pct"]),
            **evidence,
        },
        options=tuple(options),
        monthly_savings_usd=saved,
        monthly_savings_kgco2e=carbon,
    )
