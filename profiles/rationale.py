"""The rationale document of one endpoint: why the target profile differs from the current one.

Written for a person deciding whether to act: a summary, the business requirements with their
sources, then each finding with its evidence in numbers and units, the requirement it answers,
the options considered with their monthly cost and price source, and why the chosen one wins;
last, maturity per pillar before and after. Everything that comes from the account (endpoint
names, tags, notes, advisor text quoting them) is escaped so it cannot inject Markdown or HTML.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from advisors.finding import CostedOption, Finding
from ground.untrusted import inert
from profiles.maturity import Maturity, MaturitySettings, Pillar, assess, level_label
from profiles.model import AppliedChange, MLProfile

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~])")

# Which business requirement each kind of finding answers to (profile requirement fields).
REQUIREMENTS_ANSWERED: dict[str, tuple[str, ...]] = {
    "idle": ("min_instances",),
    "over-provisioned": ("p99_latency_ms", "min_instances"),
    "under-provisioned": ("p99_latency_ms",),
    "serverless-candidate": ("cold_start_tolerance_ms", "max_payload_mb", "p99_latency_ms"),
    "async-candidate": ("p99_latency_ms", "max_payload_mb"),
    "batch-candidate": ("p99_latency_ms",),
    "multi-model-candidate": ("cold_start_tolerance_ms",),
    "single-instance": ("min_instances",),
    "no-autoscaling": ("min_instances", "p99_latency_ms"),
    "cold-start-risk": ("cold_start_tolerance_ms",),
    "error-rate": ("p99_latency_ms",),
}

REQUIREMENT_LABELS = {
    "environment": ("Environment", ""),
    "p99_latency_ms": ("p99 latency objective", "ms"),
    "cold_start_tolerance_ms": ("Cold-start tolerance", "ms"),
    "max_payload_mb": ("Largest request payload", "MB"),
    "min_instances": ("Minimum instances", "instances"),
}

# Evidence keys carry their unit as a suffix (STYLE: units in names).
_UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_us", "µs"), ("_ms", "ms"), ("_s", "s"), ("_pct", "%"), ("_usd", "USD"),
    ("_bytes", "bytes"), ("_mb", "MB"), ("_gb", "GB"), ("_gib", "GiB"), ("_days", "days"),
    ("_hours", "h"), ("_fraction", "(fraction)"), ("_ratio", "(ratio)"),
)


def escape_markdown(text: object) -> str:
    """Untrusted text as inert Markdown: one line, special characters backslash-escaped."""
    # Control characters (ESC colour codes, OSC 8 links) would act in a terminal showing the file.
    flat = " ".join(inert(str(text)).split())
    # Entities, not backslashes, for HTML: every renderer honours them, even inside raw HTML.
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def format_number(value: float | int) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if value == 0 or abs(value) >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def format_usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.2f}"


def _evidence_line(key: str, value: float | int | str | None) -> str:
    name = escape_markdown(key)
    if value is None:
        return f"- {name}: unknown"
    if isinstance(value, str):
        return f"- {name}: {escape_markdown(value)}"
    unit = next((u for suffix, u in _UNIT_SUFFIXES if key.endswith(suffix)), "")
    text = f"{format_number(value)} {unit}".strip()
    if unit == "µs" and not isinstance(value, bool):
        text += f" ({format_number(value / 1000.0)} ms)"
    return f"- {name}: {text}"


def _value_text(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool | int | float):
        return format_number(value)
    if isinstance(value, list):
        return ", ".join(escape_markdown(v) for v in value) or "none"
    return escape_markdown(value)


def _chosen_option(options: Sequence[CostedOption]) -> CostedOption | None:
    """The cheapest option that meets the requirements (unpriced ones only if none is priced)."""
    fitting = [o for o in options if o.fits]
    priced = [o for o in fitting if o.monthly_cost_usd is not None]
    if priced:
        return min(priced, key=lambda o: o.monthly_cost_usd or 0.0)
    return fitting[0] if fitting else None


def _options_table(options: Sequence[CostedOption], chosen: CostedOption | None) -> list[str]:
    lines = ["| Option | Monthly cost | Price source | Meets requirements | Note |",
             "|---|---:|---|---|---|"]
    for option in options:
        label = escape_markdown(option.label)
        if option is chosen:
            label = f"**{label}** (chosen)"
        lines.append(f"| {label} | {format_usd(option.monthly_cost_usd)} | "
                     f"{escape_markdown(option.price_source)} | "
                     f"{'yes' if option.fits else 'no'} | {escape_markdown(option.note)} |")
    return lines


def _why_chosen(finding: Finding, chosen: CostedOption | None) -> str:
    if chosen is None:
        return "No option considered meets the requirements; the finding stands as a warning."
    fitting = [o for o in finding.options if o.fits and o is not chosen]
    text = f"{escape_markdown(chosen.label)} meets the requirements"
    if chosen.monthly_cost_usd is not None:
        text += f" at {format_usd(chosen.monthly_cost_usd)} a month"
        cheaper_rivals = [o for o in fitting if o.monthly_cost_usd is not None]
        if cheaper_rivals:
            runner_up = min(cheaper_rivals, key=lambda o: o.monthly_cost_usd or 0.0)
            gap = (runner_up.monthly_cost_usd or 0.0) - chosen.monthly_cost_usd
            text += (f", {format_usd(gap)} less than the next option that also fits "
                     f"({escape_markdown(runner_up.label)})")
        else:
            text += ", the only priced option that fits"
    text += "."
    if finding.monthly_savings_usd is not None:
        verb = "saves" if finding.monthly_savings_usd >= 0 else "costs"
        text += f" Against today it {verb} {format_usd(abs(finding.monthly_savings_usd))} a month."
    return text


def _requirements_section(profile: MLProfile) -> list[str]:
    business = profile.requirements
    lines = ["## Business requirements", "",
             "| Requirement | Value | Source |", "|---|---|---|"]
    for field, (label, unit) in REQUIREMENT_LABELS.items():
        value = getattr(business, field)
        shown = "not stated" if value is None else f"{_value_text(value)} {unit}".strip()
        source = business.sources.get(field, "" if value is None else "requirements")
        lines.append(f"| {label} | {shown} | {escape_markdown(source)} |")
    lines.append("")
    lines += [f"- Warning: {escape_markdown(w)}" for w in business.warnings]
    if business.warnings:
        lines.append("")
    return lines


def _requirement_answered(profile: MLProfile, kind: str) -> str:
    fields = REQUIREMENTS_ANSWERED.get(kind, ())
    parts = []
    for field in fields:
        label, unit = REQUIREMENT_LABELS[field]
        value = getattr(profile.requirements, field)
        if value is None:
            parts.append(f"{label}: not stated")
        else:
            source = profile.requirements.sources.get(field, "requirements")
            parts.append(f"{label} {_value_text(value)} {unit} ({escape_markdown(source)})"
                         .replace("  ", " "))
    if not parts:
        return "No stated business requirement; the change follows from the evidence alone."
    return "; ".join(parts) + "."


def _change_line(change: AppliedChange) -> str:
    where = f" on variant {escape_markdown(change.variant)}" if change.variant else ""
    status = "accepted" if change.applied else f"not applied: {escape_markdown(change.reason)}"
    return (f"- `{change.id.replace('`', '')}` {escape_markdown(change.characteristic)}{where}: "
            f"{_value_text(change.current)} → {_value_text(change.proposed)} ({status})")


def _finding_section(number: int, finding: Finding, target: MLProfile,
                     current: MLProfile) -> list[str]:
    kind = str(finding.kind)
    lines = [f"### {number}. {escape_markdown(kind)}: {escape_markdown(finding.summary)}", "",
             f"Severity: {escape_markdown(finding.severity)}."]
    changes = [c for c in target.changes if c.finding == kind and any(
        c.characteristic == s.characteristic and c.variant == s.variant
        for s in finding.suggested)]
    if changes:
        lines += ["", "**Changes**", "", *(_change_line(c) for c in changes)]
    if finding.evidence:
        lines += ["", "**Evidence**", ""]
        lines += [_evidence_line(k, v) for k, v in finding.evidence.items()]
    lines += ["", f"**Requirement answered.** {_requirement_answered(current, kind)}"]
    if finding.options:
        chosen = _chosen_option(finding.options)
        lines += ["", "**Options considered**", "", *_options_table(finding.options, chosen)]
        lines += ["", f"**Why this option.** {_why_chosen(finding, chosen)}"]
    if finding.rationale:
        lines += ["", f"**Advisor's reasoning.** {escape_markdown(finding.rationale)}"]
    lines.append("")
    return lines


def _summary(current: MLProfile, target: MLProfile) -> list[str]:
    lines = ["## Summary", ""]
    lines.append(f"- Deployment: {_value_text(current.deployment_option.value)}, "
                 f"region {escape_markdown(current.region)}")
    for variant in current.variants:
        shadow = " (shadow)" if variant.shadow else ""
        if variant.instance_type.value is not None:
            size = (f"{_value_text(variant.instance_count.value)} × "
                    f"{escape_markdown(variant.instance_type.value)}")
        else:
            size = f"serverless {_value_text(variant.serverless_memory_mb.value)} MB"
        lines.append(f"- Variant {escape_markdown(variant.name)}{shadow}: {size}")
    traffic = current.traffic_pattern
    lines.append(f"- Traffic: {_value_text(traffic.value)}, "
                 f"{_value_text(current.requests_per_day.value)} requests per day"
                 + (f" ({escape_markdown(traffic.note)})" if traffic.note else ""))
    p99 = current.p99_latency_ms.value
    lines.append(f"- p99 model latency: {_value_text(p99)} ms"
                 + ("" if p99 is None else f" ({_value_text(current.latency_class.value)})"))
    cost, new_cost = current.monthly_cost_usd, target.monthly_cost_usd
    cost_text = f"- Monthly cost: {format_usd(cost.value)}"
    if cost.source:
        cost_text += f" (prices: {escape_markdown(cost.source)})"
    if new_cost.value != cost.value:
        cost_text += f"; target {format_usd(new_cost.value)}"
        if new_cost.value is not None and cost.value is not None:
            cost_text += f", saving {format_usd(cost.value - new_cost.value)} a month"
    lines.append(cost_text)
    applied = sum(1 for c in target.changes if c.applied)
    lines.append(f"- Suggested changes: {len(target.changes)}, applied to the target: {applied}")
    if current.tags:
        tags = ", ".join(f"{escape_markdown(k)}={escape_markdown(v)}"
                         for k, v in current.tags.items())
        lines.append(f"- Tags: {tags}")
    lines.append("")
    return lines


def _maturity_section(before: Maturity, after: Maturity) -> list[str]:
    lines = ["## Maturity (Well-Architected pillars)", "",
             "Levels: 1 initial, 2 managed, 3 defined, 4 optimised.", "",
             "| Pillar | Current | Target |", "|---|---|---|"]
    for pillar in Pillar:
        lines.append(f"| {pillar.display_name} | {level_label(before.pillar(pillar).level)} | "
                     f"{level_label(after.pillar(pillar).level)} |")
    lines += ["", "| Characteristic | Current | Target | Why (target) |", "|---|---|---|---|"]
    for old, new in zip(before.characteristics, after.characteristics, strict=True):
        lines.append(f"| {old.characteristic} | {level_label(old.level)} | "
                     f"{level_label(new.level)} | {escape_markdown(new.reason)} |")
    lines.append("")
    return lines


def render_rationale(current: MLProfile, target: MLProfile, findings: Sequence[Finding],
                     settings: MaturitySettings) -> str:
    """The Markdown rationale of one endpoint (findings of other endpoints are ignored)."""
    own = [f for f in findings if f.endpoint == current.key]
    lines = [f"# ML profile rationale: {escape_markdown(current.endpoint)}", "",
             f"Region {escape_markdown(current.region)}, generated "
             f"{current.generated_at.isoformat()} by sagetop from the fleet snapshot. "
             "Current and target profiles are in the YAML files next to this one.", ""]
    lines += _summary(current, target)
    lines += _requirements_section(current)
    lines += ["## Findings and changes", ""]
    if not own:
        lines += ["No finding for this endpoint: the target profile equals the current one.", ""]
    for number, finding in enumerate(own, start=1):
        lines += _finding_section(number, finding, target, current)
    lines += _maturity_section(assess(current, settings), assess(target, settings))
    return "\n".join(lines).rstrip("\n") + "\n"
