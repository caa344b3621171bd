"""Rich renderables for the endpoint pane and the summary: pure functions of snapshot and analysis.

Everything from the account (names, tags, reasons, violation text, values of a profile) goes in as
`Text`, so a name like `[red]x` shows as typed and never as markup, and through `inert`/`outside`,
so no escape sequence, bidi override or zero-width character reaches the terminal. Colours come
from the `Look` (the active theme, or attributes only under NO_COLOR), box lines from its glyphs
(ASCII off UTF-8).

Figures over the lookback come from the analysis' features (`advisors.features`), as the fleet
row's do; only the latest minute is read from the metric store.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rich.console import Group, OverflowMethod, RenderableType
from rich.table import Table
from rich.text import Text

from advisors.components import BASIS_LABELS, variant_reservations
from advisors.cost import CostEstimate
from advisors.features import FleetFeatures, measured
from advisors.finding import Finding, OptionKind
from ground.domain import EndpointSnapshot, FleetSnapshot
from ground.energy import quantity
from ground.requirements import Requirements
from ground.untrusted import inert
from pipeline.analysis import EndpointAnalysis, FleetAnalysis
from profiles.maturity import Maturity, MaturityLevel, Pillar, level_label
from profiles.plan import EndpointPlan, Outcome, option_id
from tui.look import DEFAULT_LOOK, Look
from tui.render_opinions import opinions_summary_view
from tui.rows import (
    component_shape,
    cost_change,
    fmt,
    fmt_count,
    fmt_ms,
    fmt_usd,
    outside,
    severity_style,
    status_style,
    summed_series,
    variant_shape,
)

# Changes listed in each ranking of the summary screen.
RANKED_ROWS = 8
# Profile sections that are not characteristics, or that the pane shows elsewhere (the carbon
# estimate's detail: its value and range are the monthly_carbon_kgco2e characteristic).
NOT_CHARACTERISTICS = frozenset({"schema_version", "kind", "endpoint", "region", "generated_at",
                                 "requirements", "tags", "changes", "carbon"})
# Units that count things: "1 model", "2 models".
COUNTED_UNITS = frozenset({"models", "instances", "schedules", "days", "requests", "bytes",
                           "concurrent requests", "containers", "variants"})


def _table(*headers: str, title: str | None = None, look: Look = DEFAULT_LOOK) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", expand=False,
                  show_edge=False, pad_edge=False, header_style="bold",
                  box=look.glyphs.box)
    for header in headers:
        # Rich cuts an over-long word with "…": off UTF-8 it is folded onto the next line.
        table.add_column(header, overflow="ellipsis" if look.glyphs.ellipsis == "…" else "fold")
    return table


def short_source(source: str) -> str:
    """A price source without the documents it was read from: 'AWS list price, us-east-1, ...'."""
    cuts = [i for i in (source.find(" ("), source.find("; ")) if i > 0]
    return source[:min(cuts)] if cuts else source


def _overflow(look: Look) -> OverflowMethod:
    """Rich marks cut text with "…": off UTF-8 the cut is plain."""
    return "ellipsis" if look.glyphs.ellipsis == "…" else "crop"


def _one_line(text: Text, look: Look) -> Text:
    text.no_wrap = True
    text.overflow = _overflow(look)
    return text


def endpoint_title(endpoint: EndpointSnapshot, advice: EndpointAnalysis | None,
                   look: Look = DEFAULT_LOOK) -> RenderableType:
    """Who it is and what it costs; why it is worth a look (the worst finding); what the
    accepted changes do. A line each, cut short rather than wrapped at 80 columns."""
    palette = look.palette
    head = Text()
    head.append(outside(endpoint.name), style="bold")
    head.append(f"  {outside(endpoint.region)}  {endpoint.deployment.value}  ")
    head.append(outside(endpoint.status),
                style=status_style(endpoint.status, palette, in_service=palette.good))
    lines = [_one_line(head, look)]
    if advice is not None:
        head.append(f"  {fmt_usd(advice.monthly_cost_usd)}/month")
        footprint = advice.footprint
        head.append("  " + (f"{footprint.text}, ~{quantity(footprint.kwh)} kWh/month, "
                            "estimate" if footprint is not None
                            else "kgCO2e not estimated"), style=palette.muted)
        worst = advice.worst
        why = Text()
        if worst is None:
            why.append("no findings: nothing to change", style=palette.good)
        else:
            # The severity shows in the style (and in full in the Findings tab): at 80 columns
            # the line is for the saving.
            why.append(worst.kind.value, style=severity_style(worst.severity, palette))
            # Summaries quote names and tag values from the account.
            why.append(f": {inert(worst.summary, one_line=True)}")
        lines.append(_one_line(why, look))
        decided = Text()
        plan = advice.plan
        if plan.rejected:
            decided.append("plan rejected: nothing changes", style=palette.warning)
            decided.append(look.glyphs.separator, style=palette.muted)
        elif plan.chosen:
            saving = plan.monthly_savings_usd
            taken = len(plan.chosen)
            decided.append(f"plan {cost_change(saving)}", style=(
                palette.good if saving > 0 else palette.bad if saving < 0 else ""))
            carbon = plan.monthly_kgco2e_saved
            if carbon is not None and (said := carbon_change(carbon)) != NO_CARBON_CHANGE:
                decided.append(f", {said}", style=palette.good if carbon > 0 else palette.bad)
            decided.append(f" ({taken} option{'s' if taken != 1 else ''}"
                           + (", your choice" if plan.decided else "") + ")")
            decided.append(look.glyphs.separator, style=palette.muted)
        decided.append_text(requirements_text(advice.requirements, look))
        lines.append(_one_line(decided, look))
    if endpoint.tags:
        tags = Text("tags: ", style=palette.muted)
        tags.append(inert(", ".join(f"{k}={v}" for k, v in sorted(endpoint.tags.items())),
                          one_line=True, limit=1000), style=palette.muted)
        lines.append(_one_line(tags, look))
    if endpoint.failure_reason:
        lines.append(_one_line(Text(inert(endpoint.failure_reason, one_line=True),
                                    style=palette.bad), look))
    return Group(*lines)


def requirements_text(needs: Requirements, look: Look = DEFAULT_LOOK) -> Text:
    parts = [f"env {needs.environment.value}",
             f"p99 objective {fmt(needs.p99_latency_ms)} ms" if needs.p99_latency_ms
             else "no p99 objective",
             f"cold start tolerance {fmt(needs.cold_start_tolerance_ms)} ms",
             f"min instances {needs.min_instances}"]
    if needs.max_payload_mb is not None:
        parts.append(f"max payload {needs.max_payload_mb:g} MB")
    return Text("requirements: " + ", ".join(parts), style=look.palette.muted)


def _figure(row: Mapping[str, Any] | None, column: str) -> float | None:
    return None if row is None else measured(row.get(column))


def variants_view(endpoint: EndpointSnapshot, fleet: FleetSnapshot,
                  analysis: FleetAnalysis | None, look: Look = DEFAULT_LOOK) -> RenderableType:
    """The variants (and the inference components) as configured, with their figures over the
    lookback once the analysis has them ("…" until then)."""
    palette = look.palette
    table = _table("Variant", "Role", "Instances", "Model", "Autoscaling", "Policies",
                   f"p95 cpu/mem/gpu % {fleet.lookback_days}d", look=look)
    advice = analysis.endpoints.get(endpoint.key) if analysis is not None else None
    # An analysis of an older snapshot may not have this endpoint yet: its figures are pending.
    features = analysis.features if analysis is not None and advice is not None else None
    for variant in endpoint.variants:
        scaling = variant.autoscaling
        if scaling is None:
            bounds, policies = Text("none", style=palette.warning), Text("-")
        else:
            state = " suspended" if scaling.suspended else ""
            bounds = Text(f"{scaling.min_capacity}-{scaling.max_capacity}{state}",
                          style="" if scaling.scales else palette.warning)
            policies = Text("\n".join(
                f"{outside(p.metric or p.policy_type).removeprefix('SageMakerVariant')} "
                f"target {fmt(p.target_value, 1)}" for p in scaling.policies) or "no policy")
        row = features.variant(endpoint.key, variant.name) if features is not None else None
        loads = (" / ".join(fmt(_figure(row, s))
                            for s in ("cpu_p95_pct", "memory_p95_pct", "gpu_p95_pct"))
                 if features is not None else look.glyphs.ellipsis)
        managed = variant.managed_instance_scaling
        if scaling is None and managed is not None and managed.enabled:
            bounds = Text(f"{managed.min_instances}-{managed.max_instances} managed")
            policies = Text("instances follow copies "
                            f"({outside(managed.scale_in_strategy or '?')})")
        table.add_row(Text(outside(variant.name)),
                      "shadow" if variant.shadow else f"weight {variant.weight:g}",
                      Text(variant_shape(variant)),
                      Text(outside(variant.model_name) or ("components"
                                                           if endpoint.inference_components
                                                           else "-")),
                      bounds, policies, loads)
    if not endpoint.inference_components:
        return table
    reservations = reservations_view(endpoint, fleet, features, look)
    return Group(table, Text(""), *((reservations, Text("")) if reservations else ()),
                 components_view(endpoint, fleet, features,
                                 advice.component_costs if advice else {}, look))


def reservations_view(endpoint: EndpointSnapshot, fleet: FleetSnapshot,
                      features: FleetFeatures | None,
                      look: Look = DEFAULT_LOOK) -> RenderableType | None:
    """What the copies reserve of each variant's instances, beside the reservation CloudWatch
    measured on the fullest instance over the lookback (None: no variant holds copies)."""
    found = [(variant, reservations) for variant in endpoint.variants
             if (reservations := variant_reservations(endpoint, variant)) is not None]
    if not found:
        return None
    devices = ("GPUs" if all(reservations.spec.has_gpu for _, reservations in found)
               else "Accelerators")
    table = _table("Variant", devices, "vCPUs", "Memory GiB", "Reserved",
                   f"Max gpu/cpu/mem % {fleet.lookback_days}d",
                   title="What the copies reserve of the instances", look=look)
    for variant, reservations in found:
        reserved, offered = reservations.reserved, reservations.offered
        fraction = reservations.reserved_fraction
        # Of the resource the cost is shared by (accelerators, else cores, else memory).
        basis = (f"{fraction * 100:.0f} % of {BASIS_LABELS[reservations.basis]}"
                 if fraction is not None and reservations.basis else "-")
        row = features.variant(endpoint.key, variant.name) if features is not None else None
        peaks = (" / ".join(fmt(_figure(row, series))
                            for series in ("gpu_reservation_max_pct", "cpu_reservation_max_pct",
                                           "memory_reservation_max_pct"))
                 if features is not None else look.glyphs.ellipsis)
        table.add_row(Text(outside(variant.name)),
                      f"{reserved.accelerators:g} of {offered.accelerators:g}",
                      f"{reserved.cpu_cores:g} of {offered.cpu_cores:g}",
                      f"{reserved.memory_mb / 1024:,.0f} of {offered.memory_mb / 1024:,.0f}",
                      basis, peaks)
    return table


def components_view(endpoint: EndpointSnapshot, fleet: FleetSnapshot,
                    features: FleetFeatures | None, costs: Mapping[str, CostEstimate],
                    look: Look = DEFAULT_LOOK) -> RenderableType:
    palette = look.palette
    table = _table("Component", "Variant", "Copies", "Per copy", "Autoscaling",
                   f"Req/{fleet.lookback_days}d", "Req/min", f"p99 {fleet.lookback_days}d",
                   "$/month",
                   title="Inference components", look=look)
    for column in table.columns[5:]:
        column.justify = "right"
    pending = look.glyphs.ellipsis
    for component in endpoint.inference_components:
        scaling = component.autoscaling
        scales = bool(scaling and scaling.scales and scaling.max_capacity > scaling.min_capacity)
        bounds = (Text("none", style=palette.warning) if scaling is None else
                  Text(f"{scaling.min_capacity}-{scaling.max_capacity} copies",
                       style="" if scales else palette.warning))
        row = features.component(endpoint.key, component.name) if features else None
        p99_us = _figure(row, "model_latency_p99_us")
        live = summed_series(fleet, "live", "requests", endpoint.key, component.column).dropna()
        cost = costs.get(component.name)
        # Names come from the account: inert like every other.
        table.add_row(Text(outside(component.name)), Text(outside(component.variant)),
                      Text(f"{component.current_copies}/{component.desired_copies}"),
                      Text(component_shape(component).split(" ", 1)[-1]), bounds,
                      fmt_count(_figure(row, "requests")) if features else pending,
                      fmt_count(float(live.iloc[-1]) if len(live) else None),
                      fmt_ms(None if p99_us is None else p99_us / 1000.0) if features
                      else pending,
                      fmt_usd(cost.usd if cost else None) if features else pending)
    return table


def monitor_view(endpoint: EndpointSnapshot, look: Look = DEFAULT_LOOK) -> RenderableType:
    monitor = endpoint.monitor
    palette = look.palette
    parts: list[RenderableType] = []
    if monitor.error:
        parts.append(Text(f"Model Monitor unknown: {inert(monitor.error)}",
                          style=palette.warning))
    capture = endpoint.data_capture
    parts.append(Text(f"data capture: {'on' if capture.enabled else 'off'}"
                      + (f" ({capture.sampling_percentage}%)"
                         if capture.enabled and capture.sampling_percentage else ""),
                      style="" if capture.enabled else palette.warning))
    if not monitor.schedules:
        parts.append(Text("no Model Monitor schedules"))
    for schedule in monitor.schedules:
        latest = schedule.executions[0] if schedule.executions else None
        head = Text()
        head.append(outside(schedule.name), style="bold")
        head.append(f"  {outside(schedule.monitoring_type or '?')}  {outside(schedule.status)}  "
                    f"{outside(schedule.schedule_expression or '')}")
        if latest is not None:
            when = latest.scheduled_time.strftime("%Y-%m-%d %H:%M") if latest.scheduled_time \
                else "?"
            head.append(f"\n  latest run {when}: {outside(latest.status)}")
            if latest.failure_reason:
                head.append(f" ({inert(latest.failure_reason)})", style=palette.bad)
        parts.append(head)
        if schedule.violations:
            table = _table("Feature", "Check", "Violation", look=look)
            for violation in schedule.violations:
                table.add_row(Text(outside(violation.feature_name or "-")),
                              Text(outside(violation.check_type)),
                              Text(inert(violation.description), style=palette.bad))
            parts.append(table)
    for metric in monitor.drift_metrics:
        parts.append(Text(f"{outside(metric.metric_name)}: {fmt(metric.latest_value, 3)}"))
    return Group(*parts)


_OUTCOME_WORDS = {
    Outcome.RESOLVED: "in the plan", Outcome.COVERED: "covered", Outcome.EXCLUDED: "excluded",
    Outcome.DECLINED: "not in the plan", Outcome.UNRESOLVED: "unresolved",
    Outcome.REJECTED: "rejected by you", Outcome.EVIDENCE: "evidence",
}


def outcome_text(finding: Finding, plan: EndpointPlan | None, look: Look = DEFAULT_LOOK
                 ) -> Text | None:
    """What the plan made of the finding, in a line ('plan: covered, serverless ...')."""
    outcome = plan.outcome_of(finding) if plan else None
    if outcome is None or plan is None:
        return None
    palette = look.palette
    style = {Outcome.RESOLVED: palette.good, Outcome.UNRESOLVED: palette.bad,
             Outcome.REJECTED: palette.warning}.get(outcome.outcome, palette.muted)
    text = Text("plan: ", style="bold")
    text.append(_OUTCOME_WORDS[outcome.outcome], style=style)
    by = plan.option(outcome.by) if outcome.by else None
    if outcome.outcome is Outcome.RESOLVED and by is not None:
        text.append(f", {by.label}")
        if by.monthly_savings_usd is not None:
            text.append(f" ({cost_change(by.monthly_savings_usd)})")
    elif outcome.why:
        text.append(f": {outcome.why}", style=palette.muted)
    return text


def finding_view(finding: Finding, look: Look = DEFAULT_LOOK,
                 full_sources: bool = False, plan: EndpointPlan | None = None
                 ) -> RenderableType:
    """One finding: what, why, the evidence, the options and their prices.

    A price source shows who published the price, for where and when; `full_sources` adds the
    documents it was read from (several lines each at 80 columns, so only on demand).
    """
    palette = look.palette
    head = Text()
    head.append(f"{finding.severity.value.upper():8}",
                style=severity_style(finding.severity, palette))
    head.append(f" {finding.kind.value}", style="bold")
    if finding.component:
        head.append(f" on component {outside(finding.component)}")
    elif finding.variant:
        head.append(f" on {outside(finding.variant)}")
    if finding.monthly_savings_usd:
        head.append(f"  {cost_change(finding.monthly_savings_usd)}",
                    style=palette.good if finding.monthly_savings_usd > 0 else palette.bad)
    if finding.monthly_savings_kgco2e:
        head.append(f"  {carbon_change(finding.monthly_savings_kgco2e)}",
                    style=palette.good if finding.monthly_savings_kgco2e > 0 else palette.bad)
    head.append("\n")
    # Summaries and rationale quote names and tag values from the account.
    head.append(inert(finding.summary))
    head.append("\n")
    head.append(inert(finding.rationale), style=palette.muted)
    parts: list[RenderableType] = [head]
    planned = outcome_text(finding, plan, look)
    if planned is not None:
        parts.append(planned)
    if finding.evidence:
        evidence = Text("evidence: ", style="italic")
        evidence.append(inert(", ".join(f"{k}={_value_text(v)}"
                                        for k, v in finding.evidence.items())))
        parts.append(evidence)
    if finding.options:
        sources = [inert(option.price_source if full_sources
                         else short_source(option.price_source))
                   for option in finding.options]
        # Sources are said under the table, once each: as a column they would wrap every row
        # over several lines at 80 columns. With more than one, a number ties row and source.
        distinct = list(dict.fromkeys(sources))
        headers = ["Option", "$/month", "kgCO2e/mo", "Fits", "Plan", "Note"]
        if len(distinct) > 1:
            headers.insert(5, "Price")
        options = _table(*headers, look=look)
        options.columns[1].justify = "right"
        options.columns[2].justify = "right"
        for option, source in zip(finding.options, sources, strict=True):
            taken = plan.option(option_id(finding, option)) if plan else None
            status = ("today" if option.kind is OptionKind.KEEP else
                      taken.status.value if taken is not None else "-")
            cells: list[RenderableType] = [
                Text(inert(option.label)), fmt_usd(option.monthly_cost_usd),
                Text("?" if option.monthly_kgco2e is None
                     else f"~{quantity(option.monthly_kgco2e)}"),
                Text("yes" if option.fits else "no",
                     style=palette.good if option.fits else palette.bad),
                Text(status, style=f"bold {palette.good}" if status == "chosen" else "")]
            if len(distinct) > 1:
                cells.append(Text(f"[{distinct.index(source) + 1}]"))
            options.add_row(*cells, Text(inert(option.note)))
        parts.append(options)
        parts.append(Text("kgCO2e: estimates (Cloud Carbon Footprint coefficients; method in "
                          "the README and the rationale)", style=palette.muted))
        if len(distinct) == 1:
            parts.append(Text(f"prices: {distinct[0]}", style=palette.muted))
        else:
            parts.extend(Text(f"[{number}] {source}", style=palette.muted)
                         for number, source in enumerate(distinct, start=1))
        for option in finding.options:
            if option.command:
                # What the team would run (sagetop itself never does): shown in full.
                command = Text(f"to {inert(option.label)}", style="italic")
                if option.one_time_cost_usd is not None:
                    command.append(f" (one-time ~{fmt_usd(option.one_time_cost_usd)})")
                command.append(":\n")
                command.append(inert(option.command), style="bold")
                parts.append(command)
    parts.append(Text(""))
    return Group(*parts)


def findings_view(findings: Sequence[Finding], look: Look = DEFAULT_LOOK,
                  full_sources: bool = False, plan: EndpointPlan | None = None
                  ) -> RenderableType:
    if not findings:
        return Text("no findings: nothing to change", style=look.palette.good)
    hint = Text("p: price sources in full" if not full_sources
                else "p: price sources in short", style=look.palette.muted)
    return Group(*(finding_view(f, look, full_sources, plan) for f in findings), hint)


def _value_text(value: Any) -> str:
    if value is None:
        return "?"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(v) for v in value) or "-"
    return str(value)


def characteristics(dump: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, characteristic) pairs of a dumped profile, variants and nested groups flattened."""
    for name, value in dump.items():
        if name in NOT_CHARACTERISTICS:
            continue
        if isinstance(value, dict) and "origin" in value:
            yield name, value
        elif isinstance(value, dict):
            for inner, item in value.items():
                if isinstance(item, dict) and "origin" in item:
                    yield f"{name}.{inner}", item
        elif isinstance(value, list):
            for variant in value:
                if not isinstance(variant, dict):
                    continue
                for inner, item in variant.items():
                    if isinstance(item, dict) and "origin" in item:
                        yield f"{variant.get('name', '?')}.{inner}", item


def characteristic_text(item: Mapping[str, Any] | None, look: Look = DEFAULT_LOOK) -> str:
    if item is None:
        return "-"
    glyphs = look.glyphs
    bound = {"at-least": glyphs.at_least, "at-most": glyphs.at_most}.get(
        str(item.get("bound") or ""), "")
    value = item.get("value")
    if item.get("unit") == "bytes" and isinstance(value, int | float):
        return f"{bound}{value / 1e6:,.0f} MB" if value >= 1e6 else f"{bound}{value:,.0f} bytes"
    unit = str(item.get("unit") or "")
    if unit in COUNTED_UNITS and value == 1:
        unit = unit.removesuffix("s")
    shown = f" {unit}" if unit and value is not None else ""
    return f"{bound}{_value_text(value)}{shown}"


def profile_view(advice: EndpointAnalysis, look: Look = DEFAULT_LOOK) -> RenderableType:
    """Current against target, characteristic by characteristic; changed rows stand out."""
    palette = look.palette
    current = dict(characteristics(advice.current.model_dump(mode="json")))
    target = dict(characteristics(advice.target.model_dump(mode="json")))
    table = _table("Characteristic", "Current", "Target", "Origin: why", look=look)
    # One line per characteristic: names are what a reader scans down, and the values keep
    # their width on a narrow screen; long names and the explanation give way first.
    # (Rich shrinks only the columns that may wrap: the explanation is the one that may.)
    for column, widest in zip(table.columns[:3], (28, 22, 22), strict=True):
        column.no_wrap = True
        column.overflow = _overflow(look)
        column.max_width = widest
    table.columns[3].max_width = 64
    for name in dict.fromkeys([*current, *target]):
        before, after = current.get(name), target.get(name)
        before_text, after_text = characteristic_text(before, look), characteristic_text(after,
                                                                                          look)
        changed = before_text != after_text
        origin = (after or before or {}).get("origin", "")
        why = (after or {}).get("rationale") or (after or before or {}).get("source") or ""
        # Values of a profile are the account's (images, names, tags): inert like the rest.
        table.add_row(Text(outside(name), style="bold" if changed else ""),
                      Text(outside(before_text)),
                      Text(outside(after_text), style=f"bold {palette.good}" if changed else ""),
                      Text(inert(f"{origin}: {why}" if why else str(origin)),
                           style=palette.muted))
    return table


def maturity_view(current: Maturity, target: Maturity,
                  look: Look = DEFAULT_LOOK) -> RenderableType:
    pillars = _table("Pillar", "Current", "Target", "Weakest", title="Maturity by pillar",
                     look=look)
    for pillar in Pillar:
        now, then = current.pillar(pillar), target.pillar(pillar)
        pillars.add_row(pillar.display_name, _level(now.level, look), _level(then.level, look),
                        Text(outside(now.weakest or "-")))
    judged = _table("Characteristic", "Current", "Target", "Reason",
                    title="Maturity by characteristic", look=look)
    targets = {c.characteristic: c for c in target.characteristics}
    for entry in current.characteristics:
        after = targets.get(entry.characteristic)
        reason = after.reason if after is not None and after.level != entry.level \
            else entry.reason
        judged.add_row(Text(outside(entry.characteristic)), _level(entry.level, look),
                       _level(after.level if after else None, look),
                       Text(inert(reason), style=look.palette.muted))
    return Group(pillars, Text(""), judged)


def _level(level: int | None, look: Look = DEFAULT_LOOK) -> Text:
    palette = look.palette
    if level is None:
        return Text("-", style=palette.muted)
    styles = {1: palette.bad, 2: palette.warning, 3: palette.info, 4: palette.good}
    return Text(level_label(MaturityLevel(level)), style=styles.get(int(level), ""))


def _accounts_table(fleet: FleetSnapshot, analysis: FleetAnalysis, profiles_ready: bool,
                    look: Look) -> RenderableType:
    """Each account's endpoints, monthly cost and savings; a stale one says why."""
    from pipeline.accounts import account_totals, metrics_route_line

    # Where each account's CloudWatch metrics are asked from (cross-account observability).
    via = {a.name: a.metrics_via for a in fleet.accounts}
    table = _table("Account", "Endpoints", "$/month", "Saves $/month", "Metrics from", "State",
                   title="By account", look=look)
    for totals in account_totals(fleet, analysis):
        state = (Text(f"stale: {outside(totals.problem)}", style=look.palette.warning)
                 if totals.problem else Text("live"))
        table.add_row(Text(outside(totals.name)), str(totals.endpoints),
                      fmt_usd(totals.monthly_cost_usd),
                      fmt_usd(totals.monthly_savings_usd) if profiles_ready
                      else f"computing{look.glyphs.ellipsis}",
                      Text(outside(via.get(totals.name) or "its own credentials")), state)
    table.caption = outside(metrics_route_line(fleet))
    return table


# The header's route: a monitoring account's name is cut here, and past two they are counted.
ROUTE_NAME_CHARACTERS = 16


def metrics_route_header(fleet: FleetSnapshot, short: bool = False) -> str | None:
    """The header's word on CloudWatch cross-account observability: 'metrics via acct-01 (OAM)
    for 49 accounts' (the source accounts; `short`: without them), None when no account's
    metrics come that way."""
    from pipeline.accounts import metrics_route

    route = metrics_route(fleet)
    if not route.linked:
        return None
    monitors = (", ".join(outside(name, ROUTE_NAME_CHARACTERS) for name in route.monitors)
                if len(route.monitors) <= 2 else f"{len(route.monitors)} monitoring accounts")
    words = f"metrics via {monitors} (OAM)"
    return words if short else (f"{words} for {route.linked} "
                                f"account{'s' if route.linked > 1 else ''}")


NO_CARBON_CHANGE = "no change in kgCO2e"


def carbon_change(saving_kg: float | None, plural: bool = False) -> str:
    """An estimated carbon saving in words: 'saves ~2.9 kgCO2e/month', 'adds ~7.3 ...'."""
    if saving_kg is None or math.isnan(saving_kg):
        return "kgCO2e unknown"
    if abs(saving_kg) < 0.0005:
        return NO_CARBON_CHANGE
    verb = ("save" if plural else "saves") if saving_kg > 0 else ("add" if plural else "adds")
    return f"{verb} ~{quantity(abs(saving_kg))} kgCO2e/month"


def rankings_view(analysis: FleetAnalysis, look: Look = DEFAULT_LOOK) -> list[RenderableType]:
    """The changes ranked by dollars saved, and beside them the greenest (by kgCO2e saved)."""
    glyphs = look.glyphs
    parts: list[RenderableType] = []
    for title, by in (("Top changes by $ saved", "usd"),
                      ("Greenest changes (kgCO2e saved, estimates)", "kgco2e")):
        table = _table("Endpoint", "Change", "$/month", "kgCO2e/mo", title=title, look=look)
        table.columns[2].justify = "right"
        table.columns[3].justify = "right"
        for change in analysis.ranked_changes(by, limit=RANKED_ROWS):
            kg = change["monthly_savings_kgco2e"]
            # "region/name" or "account/region/name": the account stays, the region goes.
            where, _, name = str(change["endpoint"]).rpartition("/")
            account, sep, _ = where.rpartition("/")
            name = f"{account}{sep}{name}"
            table.add_row(Text(inert(name, one_line=True)),
                          Text(str(change["kind"])),
                          fmt_usd(change["monthly_savings_usd"], minus=glyphs.minus),
                          "?" if kg is None else f"~{quantity(kg)}")
        if not table.row_count:
            table.add_row("-", "nothing to save", "-", "-")
        parts += [table, Text("")]
    return parts


def summary_view(analysis: FleetAnalysis | None, fleet: FleetSnapshot,
                 profiles_ready: bool, look: Look = DEFAULT_LOOK) -> RenderableType:
    """The fleet summary; the plans' savings are known at once, maturity needs every profile
    built, so it shows once `profiles_ready` (a worker builds them off the UI thread)."""
    palette, glyphs = look.palette, look.glyphs
    computing = f"computing{glyphs.ellipsis}"
    parts: list[RenderableType] = []
    totals = Text()
    totals.append(f"{len(fleet.endpoints)} endpoints in {outside(', '.join(fleet.regions))}\n",
                  style="bold")
    if analysis is None:
        totals.append("analysis pending", style=palette.warning)
        parts.append(totals)
    else:
        count = sum(len(a.findings) for a in analysis.endpoints.values())
        plans = analysis.totals
        totals.append(f"monthly cost {fmt_usd(analysis.total_monthly_cost_usd)}/month   "
                      f"plans {cost_change(analysis.total_savings_usd, plural=True)}   "
                      f"{count} finding{'s' if count != 1 else ''}\n")
        totals.append(f"{plans.endpoints_saving} endpoints save, {plans.endpoints_costing} cost "
                      f"more to meet a requirement; {plans.covered_findings} findings covered "
                      f"by another's option (counted once); {plans.unpriced_options} chosen "
                      "options not priced\n", style=palette.muted)
        totals.append(f"prices: {inert(analysis.price_source)}\n", style=palette.muted)
        carbon = analysis.carbon
        totals.append(f"energy ~{quantity(carbon.kwh)} kWh/month, carbon "
                      f"~{quantity(carbon.kgco2e)} kgCO2e/month ({quantity(carbon.kgco2e_low)}-"
                      f"{quantity(carbon.kgco2e_high)}), estimate   plans "
                      f"{carbon_change(analysis.total_savings_kgco2e, plural=True)}\n")
        totals.append(f"carbon: {carbon.coefficients}"
                      + (f"; {carbon.endpoints_without} endpoints not estimated"
                         if carbon.endpoints_without else ""), style=palette.muted)
        parts.append(totals)
        kinds = _table("Finding kind", "Savings $/month", title="Savings of the plans by kind",
                       look=look)
        for kind, usd in analysis.savings_by_kind.items():
            kinds.add_row(Text(kind), fmt_usd(usd, minus=glyphs.minus))
        if not analysis.savings_by_kind:
            kinds.add_row("-", "-")
        else:
            kinds.add_row(Text("total", style="bold"),
                          Text(fmt_usd(analysis.total_savings_usd, minus=glyphs.minus),
                               style="bold"))
        pillars = _table("Pillar", "Mean level (1-4)", title="Maturity by pillar", look=look)
        for pillar in Pillar:
            mean = analysis.maturity_by_pillar.get(str(pillar)) if profiles_ready else None
            pillars.add_row(pillar.display_name,
                            Text(f"{mean:.2f} " + glyphs.bar * round(mean * 2)) if mean
                            else Text(computing if not profiles_ready else "-",
                                      style=palette.muted))
        if fleet.accounts:
            parts += [Text(""), _accounts_table(fleet, analysis, profiles_ready, look)]
        parts += [Text(""), kinds, Text(""), *rankings_view(analysis, look), pillars,
                  Text(""), opinions_summary_view(analysis.opinions, look)]
    several = bool(fleet.accounts)  # the matrix per account, when several are watched
    matrix = _table(*(("Account",) if several else ()), "Region", "Workload", "Instance type",
                    "Instances", "Jobs", title="Provisioning matrix", look=look)
    for row in sorted(fleet.provisioning,
                      key=lambda r: (r.account or "", r.region, r.workload, r.instance_type)):
        matrix.add_row(*((Text(outside(row.account or "")),) if several else ()),
                       Text(outside(row.region)), Text(outside(row.workload)),
                       Text(outside(row.instance_type)), str(row.instance_count), str(row.jobs))
    if not fleet.provisioning:
        matrix.add_row(*(["-"] * (6 if several else 5)))
    parts += [Text(""), matrix]
    return Group(*parts)
