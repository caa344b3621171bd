"""Rich renderables for the endpoint pane and the summary: pure functions of snapshot and analysis.

Everything from the account (names, tags, reasons, violation text, values of a profile) goes in as
`Text`, so a name like `[red]x` shows as typed and never as markup, and through `inert`/`outside`,
so no escape sequence, bidi override or zero-width character reaches the terminal.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from advisors.finding import Finding
from ground.domain import EndpointSnapshot, FleetSnapshot
from ground.requirements import Requirements
from ground.untrusted import inert
from pipeline.analysis import EndpointAnalysis, FleetAnalysis
from profiles.maturity import Maturity, MaturityLevel, Pillar, level_label
from tui.render_opinions import opinions_summary_view
from tui.rows import SEVERITY_STYLE, fmt, fmt_usd, outside, variant_shape

# Profile sections that are not characteristics, or that the pane shows elsewhere.
NOT_CHARACTERISTICS = frozenset({"schema_version", "kind", "endpoint", "region", "generated_at",
                                 "requirements", "tags", "changes"})


def _table(*headers: str, title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", expand=False,
                  show_edge=False, pad_edge=False, header_style="bold", box=box.SIMPLE_HEAD)
    for header in headers:
        table.add_column(header)
    return table


def endpoint_title(endpoint: EndpointSnapshot, advice: EndpointAnalysis | None) -> Text:
    line = Text()
    line.append(outside(endpoint.name), style="bold")
    line.append(f"  {outside(endpoint.region)}  {endpoint.deployment.value}  ")
    line.append(outside(endpoint.status), style="red" if endpoint.status == "Failed" else "green")
    if advice is not None:
        line.append(f"  {fmt_usd(advice.monthly_cost_usd)}/month")
        accepted_savings = advice.monthly_savings_usd
        if accepted_savings:
            line.append(f"  accepted changes save {fmt_usd(accepted_savings)}/month",
                        style="green" if accepted_savings > 0 else "red")
        line.append("\n")
        line.append_text(requirements_text(advice.requirements))
    if endpoint.tags:
        line.append("\ntags: ", style="dim")
        line.append(inert(", ".join(f"{k}={v}" for k, v in sorted(endpoint.tags.items())),
                          one_line=True, limit=1000), style="dim")
    if endpoint.failure_reason:
        line.append("\n")
        line.append(inert(endpoint.failure_reason), style="red")
    return line


def requirements_text(needs: Requirements) -> Text:
    parts = [f"env {needs.environment.value}",
             f"p99 objective {fmt(needs.p99_latency_ms)} ms" if needs.p99_latency_ms
             else "no p99 objective",
             f"cold start tolerance {fmt(needs.cold_start_tolerance_ms)} ms",
             f"min instances {needs.min_instances}"]
    if needs.max_payload_mb is not None:
        parts.append(f"max payload {needs.max_payload_mb:g} MB")
    return Text("requirements: " + ", ".join(parts), style="dim")


def variants_view(endpoint: EndpointSnapshot, fleet: FleetSnapshot) -> RenderableType:
    table = _table("Variant", "Role", "Instances", "Model", "Autoscaling", "Policies",
                   "p95 cpu/mem/gpu %")
    store = fleet.metrics
    for variant in endpoint.variants:
        scaling = variant.autoscaling
        if scaling is None:
            bounds, policies = Text("none", style="yellow"), Text("-")
        else:
            state = " suspended" if scaling.suspended else ""
            bounds = Text(f"{scaling.min_capacity}-{scaling.max_capacity}{state}",
                          style="" if scaling.scales else "yellow")
            policies = Text("\n".join(
                f"{outside(p.metric or p.policy_type).removeprefix('SageMakerVariant')} "
                f"target {fmt(p.target_value, 1)}" for p in scaling.policies) or "no policy")
        loads = [store.window_value(endpoint.key, variant.name, s)
                 for s in ("cpu_p95_pct", "memory_p95_pct", "gpu_p95_pct")]
        table.add_row(Text(outside(variant.name)),
                      "shadow" if variant.shadow else f"weight {variant.weight:g}",
                      Text(variant_shape(variant)), Text(outside(variant.model_name or "-")),
                      bounds, policies, " / ".join(fmt(v) for v in loads))
    return table


def monitor_view(endpoint: EndpointSnapshot) -> RenderableType:
    monitor = endpoint.monitor
    parts: list[RenderableType] = []
    if monitor.error:
        parts.append(Text(f"Model Monitor unknown: {inert(monitor.error)}", style="yellow"))
    capture = endpoint.data_capture
    parts.append(Text(f"data capture: {'on' if capture.enabled else 'off'}"
                      + (f" ({capture.sampling_percentage}%)"
                         if capture.enabled and capture.sampling_percentage else ""),
                      style="" if capture.enabled else "yellow"))
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
                head.append(f" ({inert(latest.failure_reason)})", style="red")
        parts.append(head)
        if schedule.violations:
            table = _table("Feature", "Check", "Violation")
            for violation in schedule.violations:
                table.add_row(Text(outside(violation.feature_name or "-")),
                              Text(outside(violation.check_type)),
                              Text(inert(violation.description), style="red"))
            parts.append(table)
    for metric in monitor.drift_metrics:
        parts.append(Text(f"{outside(metric.metric_name)}: {fmt(metric.latest_value, 3)}"))
    return Group(*parts)


def finding_view(finding: Finding) -> RenderableType:
    head = Text()
    head.append(f"{finding.severity.value.upper():8}", style=SEVERITY_STYLE[finding.severity])
    head.append(f" {finding.kind.value}", style="bold")
    if finding.variant:
        head.append(f" [{outside(finding.variant)}]")
    if finding.monthly_savings_usd:
        head.append(f"  {fmt_usd(finding.monthly_savings_usd)}/month",
                    style="green" if finding.monthly_savings_usd > 0 else "red")
    head.append("\n")
    # Summaries and rationale quote names and tag values from the account.
    head.append(inert(finding.summary))
    head.append("\n")
    head.append(inert(finding.rationale), style="dim")
    parts: list[RenderableType] = [head]
    if finding.evidence:
        evidence = Text("evidence: ", style="italic")
        evidence.append(inert(", ".join(f"{k}={_value_text(v)}"
                                        for k, v in finding.evidence.items())))
        parts.append(evidence)
    if finding.options:
        options = _table("Option", "$/month", "Fits", "Price source", "Note")
        for option in finding.options:
            options.add_row(Text(inert(option.label)), fmt_usd(option.monthly_cost_usd),
                            Text("yes" if option.fits else "no",
                                 style="green" if option.fits else "red"),
                            Text(inert(option.price_source)), Text(inert(option.note)))
        parts.append(options)
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


def findings_view(findings: Sequence[Finding]) -> RenderableType:
    if not findings:
        return Text("no findings: nothing to change", style="green")
    return Group(*(finding_view(f) for f in findings))


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


def characteristic_text(item: Mapping[str, Any] | None) -> str:
    if item is None:
        return "-"
    bound = {"at-least": "≥", "at-most": "≤"}.get(str(item.get("bound") or ""), "")
    value = item.get("value")
    if item.get("unit") == "bytes" and isinstance(value, int | float):
        return f"{bound}{value / 1e6:,.0f} MB" if value >= 1e6 else f"{bound}{value:,.0f} bytes"
    unit = f" {item['unit']}" if item.get("unit") and item.get("value") is not None else ""
    return f"{bound}{_value_text(item.get('value'))}{unit}"


def profile_view(advice: EndpointAnalysis) -> RenderableType:
    """Current against target, characteristic by characteristic; changed rows stand out."""
    current = dict(characteristics(advice.current.model_dump(mode="json")))
    target = dict(characteristics(advice.target.model_dump(mode="json")))
    table = _table("Characteristic", "Current", "Target", "Origin: why")
    # One line per characteristic: names are what a reader scans down, and the values keep
    # their width on a narrow screen; long names and the explanation give way first.
    # (Rich shrinks only the columns that may wrap: the explanation is the one that may.)
    for column, widest in zip(table.columns[:3], (28, 22, 22), strict=True):
        column.no_wrap = True
        column.overflow = "ellipsis"
        column.max_width = widest
    table.columns[3].max_width = 64
    for name in dict.fromkeys([*current, *target]):
        before, after = current.get(name), target.get(name)
        before_text, after_text = characteristic_text(before), characteristic_text(after)
        changed = before_text != after_text
        origin = (after or before or {}).get("origin", "")
        why = (after or {}).get("rationale") or (after or before or {}).get("source") or ""
        # Values of a profile are the account's (images, names, tags): inert like the rest.
        table.add_row(Text(outside(name), style="bold" if changed else ""),
                      Text(outside(before_text)),
                      Text(outside(after_text), style="bold green" if changed else ""),
                      Text(inert(f"{origin}: {why}" if why else str(origin)), style="dim"))
    return table


def maturity_view(current: Maturity, target: Maturity) -> RenderableType:
    pillars = _table("Pillar", "Current", "Target", "Weakest", title="Maturity by pillar")
    for pillar in Pillar:
        now, then = current.pillar(pillar), target.pillar(pillar)
        pillars.add_row(pillar.display_name, _level(now.level), _level(then.level),
                        Text(outside(now.weakest or "-")))
    judged = _table("Characteristic", "Current", "Target", "Reason",
                    title="Maturity by characteristic")
    targets = {c.characteristic: c for c in target.characteristics}
    for entry in current.characteristics:
        after = targets.get(entry.characteristic)
        reason = after.reason if after is not None and after.level != entry.level \
            else entry.reason
        judged.add_row(Text(outside(entry.characteristic)), _level(entry.level),
                       _level(after.level if after else None), Text(inert(reason), style="dim"))
    return Group(pillars, Text(""), judged)


LEVEL_STYLE = {1: "red", 2: "yellow", 3: "cyan", 4: "green"}


def _level(level: int | None) -> Text:
    if level is None:
        return Text("-", style="dim")
    return Text(level_label(MaturityLevel(level)), style=LEVEL_STYLE.get(int(level), ""))


def summary_view(analysis: FleetAnalysis | None, fleet: FleetSnapshot,
                 profiles_ready: bool) -> RenderableType:
    """The fleet summary; savings of the accepted changes and maturity need every profile built,
    so they show once `profiles_ready` (a worker builds them off the UI thread)."""
    parts: list[RenderableType] = []
    totals = Text()
    totals.append(f"{len(fleet.endpoints)} endpoints in {outside(', '.join(fleet.regions))}\n",
                  style="bold")
    if analysis is None:
        totals.append("analysis pending", style="yellow")
        parts.append(totals)
    else:
        findings = sum(len(a.findings) for a in analysis.endpoints.values())
        accepted = fmt_usd(analysis.total_savings_usd) if profiles_ready else "computing..."
        totals.append(f"monthly cost {fmt_usd(analysis.total_monthly_cost_usd)}   "
                      f"savings of accepted changes {accepted}   {findings} findings\n")
        totals.append(f"prices: {inert(analysis.price_source)}", style="dim")
        parts.append(totals)
        kinds = _table("Finding kind", "Savings $/month", title="Savings by kind")
        for kind, usd in analysis.savings_by_kind.items():
            kinds.add_row(Text(kind), fmt_usd(usd))
        if not analysis.savings_by_kind:
            kinds.add_row("-", "-")
        pillars = _table("Pillar", "Mean level (1-4)", title="Maturity by pillar")
        for pillar in Pillar:
            mean = analysis.maturity_by_pillar.get(str(pillar)) if profiles_ready else None
            pillars.add_row(pillar.display_name,
                            Text(f"{mean:.2f} " + "█" * round(mean * 2)) if mean
                            else Text("computing..." if not profiles_ready else "-", style="dim"))
        parts += [Text(""), kinds, Text(""), pillars, Text(""),
                  opinions_summary_view(analysis.opinions)]
    matrix = _table("Region", "Workload", "Instance type", "Instances", "Jobs",
                    title="Provisioning matrix")
    for row in sorted(fleet.provisioning, key=lambda r: (r.region, r.workload, r.instance_type)):
        matrix.add_row(Text(outside(row.region)), Text(outside(row.workload)),
                       Text(outside(row.instance_type)), str(row.instance_count), str(row.jobs))
    if not fleet.provisioning:
        matrix.add_row("-", "-", "-", "-", "-")
    parts += [Text(""), matrix]
    return Group(*parts)
