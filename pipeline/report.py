"""The headless report: the fleet snapshot as a JSON document or a plain-text table."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

from ground.domain import (
    EndpointSnapshot,
    FleetSnapshot,
    InferenceComponentSnapshot,
    VariantSnapshot,
)
from ground.energy import method_text, quantity
from ground.series import Tier, series_for
from ground.untrusted import inert

if TYPE_CHECKING:
    from pipeline.analysis import FleetAnalysis
    from pipeline.history import History

WINDOW_SERIES = [s.name for s in series_for(Tier.WINDOW)]
UNITS = {s.name: s.unit for s in series_for(Tier.WINDOW)}


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat() if moment else None


def _number(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    return round(float(value), 4)


def variant_report(endpoint: EndpointSnapshot, variant: VariantSnapshot,
                   fleet: FleetSnapshot) -> dict[str, Any]:
    metrics = {
        name: _number(fleet.metrics.window_value(endpoint.key, variant.name, name))
        for name in WINDOW_SERIES
    }
    return {
        "name": variant.name,
        "shadow": variant.shadow,
        "instance_type": variant.instance_type,
        "instance_count": variant.current_instance_count,
        "desired_instance_count": variant.desired_instance_count,
        "serverless": variant.serverless.model_dump() if variant.serverless else None,
        "weight": variant.weight,
        "model": variant.model_name,
        "images": [c.image for c in variant.model.containers] if variant.model else [],
        "model_bytes": [c.model_bytes for c in variant.model.containers] if variant.model else [],
        "autoscaling": (
            {**variant.autoscaling.model_dump(mode="json"), "scales": variant.autoscaling.scales}
            if variant.autoscaling else None
        ),
        "managed_instance_scaling": (variant.managed_instance_scaling.model_dump()
                                     if variant.managed_instance_scaling else None),
        "routing_strategy": variant.routing_strategy,
        "metrics": {k: v for k, v in metrics.items() if v is not None},
    }


def component_report(endpoint: EndpointSnapshot, component: InferenceComponentSnapshot,
                     fleet: FleetSnapshot) -> dict[str, Any]:
    """One inference component: its copies, what each reserves, scaling and its own metrics."""
    metrics = {
        name: _number(fleet.metrics.window_value(endpoint.key, component.column, name))
        for name in WINDOW_SERIES
    }
    scaling = component.autoscaling
    return {
        "name": component.name,
        "variant": component.variant,
        "status": component.status,
        "model": component.model_name,
        "base_component": component.base_component,
        "image": component.image,
        "current_copies": component.current_copies,
        "desired_copies": component.desired_copies,
        "per_copy": {
            "accelerators": component.resources.accelerators,
            "cpu_cores": component.resources.cpu_cores,
            "min_memory_mb": component.resources.min_memory_mb,
            "max_memory_mb": component.resources.max_memory_mb,
        },
        "autoscaling": ({**scaling.model_dump(mode="json"), "scales": scaling.scales}
                        if scaling else None),
        "created": _iso(component.creation_time),
        "last_modified": _iso(component.last_modified_time),
        "metrics": {k: v for k, v in metrics.items() if v is not None},
    }


def endpoint_report(endpoint: EndpointSnapshot, fleet: FleetSnapshot) -> dict[str, Any]:
    endpoint_level = {
        name: _number(fleet.metrics.window_value(endpoint.key, "", name))
        for name in WINDOW_SERIES
    }
    monitor = endpoint.monitor
    return {
        "name": endpoint.name,
        "account": endpoint.account,
        "region": endpoint.region,
        "arn": endpoint.arn,
        "status": endpoint.status,
        "deployment": endpoint.deployment.value,
        "created": _iso(endpoint.creation_time),
        "last_modified": _iso(endpoint.last_modified_time),
        "config": endpoint.config_name,
        "config_history": [_iso(t) for t in endpoint.config_history],
        "tags": dict(sorted(endpoint.tags.items())),
        "data_capture": endpoint.data_capture.model_dump(),
        "deployment_config": (endpoint.deployment_config.model_dump(mode="json")
                              if endpoint.deployment_config else None),
        "recommender_jobs": [j.model_dump(mode="json") for j in endpoint.recommender.jobs],
        "recommender_error": endpoint.recommender.error,
        "variants": [variant_report(endpoint, v, fleet) for v in endpoint.variants],
        "inference_components": [component_report(endpoint, c, fleet)
                                 for c in endpoint.inference_components],
        "metrics": {k: v for k, v in endpoint_level.items() if v is not None},
        "model_monitor": {
            "schedules": [s.model_dump(mode="json") for s in monitor.schedules],
            "violations": monitor.violation_count,
            "drift_metrics": [d.model_dump(mode="json") for d in monitor.drift_metrics],
            "error": monitor.error,
        },
    }


def fleet_report(fleet: FleetSnapshot, analysis: FleetAnalysis | None = None,
                 history: History | None = None) -> dict[str, Any]:
    """The report's JSON contract: `endpoints[]` with `name`, `region`, `findings`, `profile`;
    `history` (how the fleet moved over the stored days) only when asked for (`--since`)."""
    endpoints = [endpoint_report(e, fleet) for e in fleet.endpoints]
    summary: dict[str, Any] | None = None
    if analysis is not None:
        from pipeline.analysis import endpoint_report as analysed

        for entry, endpoint in zip(endpoints, fleet.endpoints, strict=True):
            item = analysis.endpoints.get(endpoint.key)
            if item is not None:
                entry.update(analysed(item))
                costs = entry.pop("component_costs", {})
                for component in entry["inference_components"]:
                    share = costs.get(component["name"], {})
                    component["monthly_cost_usd"] = share.get("monthly_cost_usd")
                    component["cost_source"] = share.get("source")
        totals = analysis.carbon
        summary = {
            "monthly_cost_usd": round(analysis.total_monthly_cost_usd, 2),
            # The plans' savings: the same figure the dashboard and fleet-summary show; the
            # kinds add up to it.
            "monthly_savings_usd": round(analysis.total_savings_usd, 2),
            # Estimates (ground.energy): the fleet's energy and carbon a month, what the
            # plans save (the carbon figure beside monthly_savings_usd), and the plans'
            # changes ranked by dollars and by kgCO2e.
            "monthly_energy_kwh": totals.kwh,
            "monthly_carbon_kgco2e": totals.kgco2e,
            "monthly_carbon_kgco2e_low": totals.kgco2e_low,
            "monthly_carbon_kgco2e_high": totals.kgco2e_high,
            "endpoints_without_carbon": totals.endpoints_without,
            "monthly_savings_kgco2e": analysis.total_savings_kgco2e,
            "carbon_coefficients": totals.coefficients,
            "carbon_method": method_text(),
            "top_changes_by_usd": analysis.ranked_changes("usd"),
            "greenest_changes": analysis.ranked_changes("kgco2e"),
            "savings_by_kind": {k: round(v, 2) for k, v in analysis.savings_by_kind.items()},
            "plans": analysis.totals.model_dump(mode="json"),
            "maturity_by_pillar": analysis.maturity_by_pillar,
            "price_source": analysis.price_source,
            "warnings": list(analysis.warnings),
            "second_opinions": analysis.opinions.model_dump(mode="json"),
        }
        from pipeline.accounts import account_totals

        by_account = account_totals(fleet, analysis)
        if by_account:
            # Per account, USD per month; they add up to the organisation's figures above.
            summary["by_account"] = [
                {"account": t.name, "account_id": t.account_id, "endpoints": t.endpoints,
                 "monthly_cost_usd": round(t.monthly_cost_usd, 2),
                 "monthly_savings_usd": round(t.monthly_savings_usd, 2),
                 "stale": t.problem is not None, "problem": t.problem} for t in by_account]
    extra: dict[str, Any] = {}
    if history is not None:
        from pipeline.history import history_report

        extra["history"] = history_report(history)
    return {
        "collected_at": _iso(fleet.collected_at),
        "account_id": fleet.account_id,
        "accounts": [a.model_dump() | {"stale": a.stale} for a in fleet.accounts],
        # Which way CloudWatch metrics came (each account's is its `metrics_via`).
        "metrics_route": _metrics_route(fleet),
        "regions": list(fleet.regions),
        "simulated": fleet.simulated,
        "lookback_days": fleet.lookback_days,
        "metric_units": UNITS,
        "summary": summary,
        "endpoints": endpoints,
        "provisioning": [r.model_dump() for r in fleet.provisioning],
        "errors": [e.model_dump(mode="json") for e in fleet.errors],
        "requests": {**fleet.requests.model_dump(), "total_calls": fleet.requests.total_calls},
        **extra,
    }


def _metrics_route(fleet: FleetSnapshot) -> str | None:
    from pipeline.accounts import metrics_route_line

    return metrics_route_line(fleet) if fleet.accounts else None


def _fmt(value: float | None, scale: float = 1.0, digits: int = 0, suffix: str = "") -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value / scale:.{digits}f}{suffix}"


def _shape(variant: VariantSnapshot) -> str:
    if variant.serverless:
        return f"serverless {variant.serverless.memory_mb}MB"
    return f"{variant.current_instance_count}x {variant.instance_type or '?'}"


def printable(text: str) -> str:
    """Names and tags are untrusted: no escape sequence from the account reaches the terminal,
    and no line break splits a row of the table."""
    return inert(text, one_line=True)


def _effect(saving: float | None) -> str:
    """The change in monthly cost in words: "$1,963 less", "$298 more", never "+-298"."""
    if saving is None:
        return "unpriced"
    if round(saving) == 0:
        return "-"
    return f"${abs(saving):,.0f} {'less' if saving > 0 else 'more'}"


def _green(saving: float | None) -> str:
    """Estimated kgCO2e a month in the same words: "~2.9 kg less"."""
    if saving is None:
        return "not estimated"
    if abs(saving) < 0.005:
        return "-"
    return f"~{quantity(abs(saving))} kg {'less' if saving > 0 else 'more'}"


def findings_table(analysis: FleetAnalysis) -> str:
    """What to change, worst first: each finding, what its endpoint's plan made of it and what
    that part of the plan does to the bill and (estimated) to the carbon; the plans' totals
    last (the one savings figure and its one carbon figure)."""
    lines = [f"{'ENDPOINT':<30} {'SEVERITY':<8} {'FINDING':<24} {'PLAN':<10} "
             f"{'EFFECT':>11} {'CO2E/MONTH':>14}  SUMMARY"]
    ranked = sorted(((f, a) for a in analysis.endpoints.values() for f in a.findings),
                    key=lambda pair: (-_SEVERITY[str(pair[0].severity)],
                                      -(pair[0].monthly_savings_usd or 0.0), pair[0].endpoint))
    for finding, item in ranked:
        # "region/name", or "account/region/name": the account stays, the region goes.
        parts = finding.endpoint.split("/")
        name = "/".join(parts[:-2] + parts[-1:]) if len(parts) > 2 else parts[-1]
        outcome = item.plan.outcome_of(finding)
        by = item.plan.option(outcome.by) if outcome and outcome.by else None
        resolved = outcome is not None and outcome.outcome.value == "resolved" and by is not None
        effect = _effect(by.monthly_savings_usd) if resolved and by is not None else "-"
        green = _green(by.monthly_kgco2e_saved) if resolved and by is not None else "-"
        state = outcome.outcome.value if outcome is not None else "-"
        lines.append(f"{printable(name)[:30]:<30} {finding.severity.value:<8} "
                     f"{finding.kind.value:<24} {state:<10} {effect:>11} {green:>14}  "
                     f"{printable(finding.summary)}")
    lines.append("")
    saving = analysis.total_savings_usd
    totals = analysis.totals
    words = (f"save ${saving:,.0f}/month" if saving >= 0
             else f"cost ${-saving:,.0f}/month more")
    lines.append(f"fleet: ${analysis.total_monthly_cost_usd:,.0f}/month; the accepted plans "
                 f"{words} ({totals.endpoints_saving} endpoints save, "
                 f"{totals.endpoints_costing} cost more to meet a requirement; "
                 f"prices: {analysis.price_source})")
    from pipeline.accounts import account_totals, saving_words

    for account in account_totals(analysis.fleet, analysis):
        stale = f" (stale: {account.problem})" if account.problem else ""
        lines.append(f"  account {printable(account.name)}: {account.endpoints} endpoints, "
                     f"${account.monthly_cost_usd:,.0f}/month, "
                     f"{saving_words(account.monthly_savings_usd)}{printable(stale)}")
    carbon = analysis.carbon
    kg = analysis.total_savings_kgco2e
    plans = ("the plans' effect on it is not estimated" if kg is None else
             f"the accepted plans {'save' if kg >= 0 else 'add'} ~{quantity(abs(kg))} "
             "kgCO2e/month")
    lines.append(f"energy and carbon (estimate): ~{quantity(carbon.kwh)} kWh/month, "
                 f"~{quantity(carbon.kgco2e)} kgCO2e/month ({quantity(carbon.kgco2e_low)}-"
                 f"{quantity(carbon.kgco2e_high)}); {plans} ({carbon.coefficients})")
    return "\n".join(lines)


_SEVERITY = {"critical": 3, "warning": 2, "info": 1}


def fleet_table(fleet: FleetSnapshot) -> str:
    """A fixed-width table, one line per variant, for terminals and logs."""
    # The account column only when several are watched: one account's table stays as it was.
    several = bool(fleet.accounts)
    header = (f"{'ACCOUNT':<16} " if several else "") + (
        f"{'ENDPOINT':<34} {'REGION':<10} {'STATUS':<10} {'OPTION':<12} {'VARIANT':<12} "
        f"{'SHAPE':<24} {'REQ/14d':>9} {'P99 ms':>8} {'CPU p95':>7} {'MEM p95':>7} "
        f"{'5XX':>6} DRIFT")
    lines = [header]
    window = fleet.metrics
    for endpoint in sorted(fleet.endpoints, key=lambda e: (e.account or "", e.region, e.name)):
        account = f"{printable(endpoint.account or '')[:16]:<16} " if several else ""
        drift = "violations" if endpoint.monitor.violation_count else (
            "monitored" if endpoint.monitor.schedules else "-")
        for variant in endpoint.variants:
            def value(name: str, e: EndpointSnapshot = endpoint,
                      v: VariantSnapshot = variant) -> float | None:
                return window.window_value(e.key, v.name, name)
            lines.append(
                f"{account}{printable(endpoint.name)[:34]:<34} {endpoint.region:<10} "
                f"{endpoint.status[:10]:<10} "
                f"{endpoint.deployment.value:<12} {printable(variant.name)[:12]:<12} "
                f"{_shape(variant)[:24]:<24} {_fmt(value('requests')):>9} "
                f"{_fmt(value('model_latency_p99_us'), 1000, 1):>8} "
                f"{_fmt(value('cpu_p95_pct'), 1, 0, '%'):>7} "
                f"{_fmt(value('memory_p95_pct'), 1, 0, '%'):>7} "
                f"{_fmt(value('errors_5xx')):>6} {drift}")
        for component in endpoint.inference_components:
            def measured(name: str, e: EndpointSnapshot = endpoint,
                         c: InferenceComponentSnapshot = component) -> float | None:
                return window.window_value(e.key, c.column, name)
            shape = (f"{component.current_copies} copies x "
                     f"{component.resources.accelerators or 0} acc")
            lines.append(
                f"{account}{printable(endpoint.name)[:34]:<34} {endpoint.region:<10} "
                f"{printable(component.status)[:10]:<10} {'component':<12} "
                f"{printable(component.name)[:12]:<12} {shape[:24]:<24} "
                f"{_fmt(measured('requests')):>9} "
                f"{_fmt(measured('model_latency_p99_us'), 1000, 1):>8} "
                f"{'-':>7} {'-':>7} {_fmt(measured('errors_5xx')):>6} {drift}")
    lines.append("")
    requests = fleet.requests
    if several:
        from pipeline.accounts import metrics_route_line

        stale = [a.name for a in fleet.accounts if a.stale]
        lines.append(f"{len(fleet.accounts)} accounts"
                     + (f" ({len(stale)} stale: {printable(', '.join(stale))})" if stale else ""))
        lines.append(printable(metrics_route_line(fleet)))
    lines.append(f"{len(fleet.endpoints)} endpoints in {', '.join(fleet.regions)}; "
                 f"{requests.total_calls} requests, {requests.throttles} throttled, "
                 f"{requests.metrics_requested} metrics requested "
                 f"(~${requests.cloudwatch_usd:.4f} CloudWatch)")
    # The same failure met by several calls is one warning.
    lines += dict.fromkeys(
        f"warning: {printable(e.account) + ': ' if e.account else ''}{printable(e.region)}: "
        f"{e.message}" for e in fleet.errors)
    return "\n".join(lines)
