"""The rationale document of one endpoint: why the target profile differs from the current one.

Written for a person deciding whether to act, as one story: a summary, the business
requirements with their sources, then the plan (what is wrong, the ways weighed with their
monthly cost, the chosen one and why, what each finding became, what the team must do in AWS
terms and what to watch after the change), then each finding with its evidence in numbers and
units, the requirement it answers and its options with their monthly cost, price source and
place in the plan; last, maturity per pillar before and after. Everything that comes from the
account (endpoint names, tags, notes, advisor text quoting them) is escaped so it cannot inject
Markdown or HTML.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from advisors.finding import Finding
from advisors.opinions import RecommenderComparison, VerdictComparison
from advisors.variants import VariantComparison, p_text
from ground.energy import coefficients, method_text, quantity
from ground.untrusted import inert
from profiles.maturity import Maturity, Pillar, level_label
from profiles.model import AppliedChange, MLProfile
from profiles.plan import EndpointPlan, OptionStatus, Outcome, option_id

# What Markdown acts on inside a line: emphasis, code, links and images (their brackets: without
# them parentheses are plain), tables, strikethrough, HTML (as entities below). Underscores only
# at a word's edge (intraword ones never emphasise), "#" only where it would start a heading. The
# files are read with `cat` as often as rendered: "(2023)" stays "(2023)", not "\(2023\)".
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|^#)")

# Which business requirement each kind of finding answers to (profile requirement fields).
REQUIREMENTS_ANSWERED: dict[str, tuple[str, ...]] = {
    "idle": ("min_instances",),
    "idle-component": ("min_instances",),
    "over-provisioned": ("p99_latency_ms", "min_instances"),
    "under-provisioned": ("p99_latency_ms",),
    "serverless-candidate": ("cold_start_tolerance_ms", "max_payload_mb", "p99_latency_ms"),
    "async-candidate": ("p99_latency_ms", "max_payload_mb"),
    "batch-candidate": ("p99_latency_ms",),
    "multi-model-candidate": ("cold_start_tolerance_ms",),
    "multi-model-cache": ("cold_start_tolerance_ms",),
    "single-instance": ("min_instances",),
    "no-autoscaling": ("min_instances", "p99_latency_ms"),
    "cold-start-risk": ("cold_start_tolerance_ms",),
    "error-rate": ("p99_latency_ms",),
    "no-deployment-guardrails": ("environment",),
    "recommender-disagrees": ("p99_latency_ms", "min_instances"),
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
    """Dollars as finance writes them, the sign before the $: "-$1,598.99"."""
    if value is None:
        return "unknown"
    return f"-${-value:,.2f}" if value < 0 and round(value, 2) != 0 else f"${abs(value):,.2f}"


def saving_words(saving_usd: float | None) -> str:
    """'saving $1,963.00 a month' or 'costing $298.00 a month more': never 'saving -$298'."""
    if saving_usd is None:
        return "saving unknown"
    if saving_usd < 0:
        return f"costing {format_usd(-saving_usd)} a month more"
    return f"saving {format_usd(saving_usd)} a month"


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


_STATUS_WORDS = {
    OptionStatus.CHOSEN: "**chosen**", OptionStatus.ALTERNATIVE: "alternative",
    OptionStatus.COVERED: "covered", OptionStatus.EXCLUDED: "excluded", OptionStatus.UNFIT: "no",
    OptionStatus.EXPERIMENT: "experiment", OptionStatus.REJECTED: "rejected by you",
}


def _options_table(finding: Finding, plan: EndpointPlan | None) -> list[str]:
    lines = ["| Option | Monthly cost | kgCO2e a month (estimate) | Price source | "
             "Meets requirements | In the plan | Note |",
             "|---|---:|---:|---|---|---|---|"]
    for option in finding.options:
        label = escape_markdown(option.label)
        planned = plan.option(option_id(finding, option)) if plan is not None else None
        fits = "yes" if option.fits else "no"
        note = escape_markdown(option.note)
        if option.experiment:
            fits = "experiment"
            if option.one_time_cost_usd is not None:
                note += f" One-time cost about {format_usd(option.one_time_cost_usd)}."
        if option.evidence_source:
            note += f" ({escape_markdown(option.evidence_source)})"
        if option.kind.value == "keep":
            status = "today"
        elif planned is None:
            status = "-"
        else:
            status = _STATUS_WORDS[planned.status]
            if planned.why and planned.status is not OptionStatus.CHOSEN:
                status += f": {escape_markdown(planned.why)}"
        carbon = ("unknown" if option.monthly_kgco2e is None
                  else f"~{quantity(option.monthly_kgco2e)}")
        lines.append(f"| {label} | {format_usd(option.monthly_cost_usd)} | {carbon} | "
                     f"{escape_markdown(option.price_source)} | {fits} | {status} | {note} |")
    for option in finding.options:
        if option.command:
            # A fenced block shows the command verbatim; backticks in it could close the fence.
            lines += ["", f"To {escape_markdown(option.label)}:", "", "```sh",
                      inert(option.command).replace("`", "'"), "```"]
    return lines


def _outcome_text(finding: Finding, plan: EndpointPlan | None) -> str:
    if plan is None:
        return "Not planned."
    outcome = plan.outcome_of(finding)
    if outcome is None:
        return "Not planned."
    by = plan.option(outcome.by) if outcome.by else None
    words = {
        Outcome.RESOLVED: "The plan takes "
                          + (f"{escape_markdown(by.label)}" if by else "one of its options"),
        Outcome.COVERED: "Covered: " + escape_markdown(outcome.why),
        Outcome.EXCLUDED: "Not possible with the plan: " + escape_markdown(outcome.why),
        Outcome.DECLINED: "Not in the plan: " + escape_markdown(outcome.why),
        Outcome.UNRESOLVED: "Unresolved: " + escape_markdown(outcome.why),
        Outcome.REJECTED: "Rejected by you",
        Outcome.EVIDENCE: "Evidence only: nothing to choose",
    }[outcome.outcome]
    if outcome.outcome is Outcome.RESOLVED and by is not None:
        effects = []
        if by.monthly_savings_usd is not None:
            effects.append(saving_words(by.monthly_savings_usd))
        if by.monthly_kgco2e_saved is not None:
            effects.append(carbon_words(by.monthly_kgco2e_saved))
        if effects:
            words += f" ({', '.join(effects)})"
    return words + "."


def carbon_words(kg: float) -> str:
    """"saves ~2.9 kgCO2e a month (estimate)", "adds ..." when it emits more."""
    return (f"{'saves' if kg >= 0 else 'adds'} ~{quantity(abs(kg))} kgCO2e a month "
            "(estimate)")


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
    if change.component:
        where = f" on inference component {escape_markdown(change.component)}"
    if change.applied:
        status = "in the target" + (f", {escape_markdown(change.reason)}" if change.reason else "")
    else:
        status = f"not applied: {escape_markdown(change.reason)}"
    return (f"- `{change.id.replace('`', '')}` {escape_markdown(change.characteristic)}{where}: "
            f"{_value_text(change.current)} → {_value_text(change.proposed)} ({status})")


def _finding_section(number: int, finding: Finding, target: MLProfile,
                     current: MLProfile, plan: EndpointPlan | None) -> list[str]:
    kind = str(finding.kind)
    lines = [f"### {number}. {escape_markdown(kind)}: {escape_markdown(finding.summary)}", "",
             f"Severity: {escape_markdown(finding.severity)}"
             + (" (today's configuration breaks a requirement)" if finding.must else "") + ".",
             "", f"**In the plan.** {_outcome_text(finding, plan)}"]
    suggested = {(c.characteristic, c.variant, c.component) for o in finding.options
                 for c in o.changes}
    changes = [c for c in target.changes if c.finding == kind
               and (c.characteristic, c.variant, c.component) in suggested]
    if changes:
        lines += ["", "**Changes**", "", *(_change_line(c) for c in changes)]
    if finding.evidence:
        lines += ["", "**Evidence**", ""]
        lines += [_evidence_line(k, v) for k, v in finding.evidence.items()]
    lines += ["", f"**Requirement answered.** {_requirement_answered(current, kind)}"]
    if finding.options:
        lines += ["", "**Options considered**", "", *_options_table(finding, plan)]
    if finding.rationale:
        lines += ["", f"**Advisor's reasoning.** {escape_markdown(finding.rationale)}"]
    lines.append("")
    return lines


def _plan_section(plan: EndpointPlan, findings: Sequence[Finding]) -> list[str]:
    """The endpoint's story: what is wrong, the ways weighed, the choice, what to do and watch."""
    lines = ["## Plan", ""]
    if not findings:
        return [*lines, "Nothing is wrong: the target profile equals the current one.", ""]
    lines += ["**What is wrong.**", ""]
    for finding in findings:
        must = " (a requirement)" if finding.must else ""
        lines.append(f"- {escape_markdown(finding.kind)}{must}: "
                     f"{escape_markdown(finding.summary)}")
    lines += ["", "**Ways weighed.**", "",
              "| Plan | Monthly cost | Saves a month | kgCO2e saved a month (estimate) | "
              "Meets every requirement | Why |",
              "|---|---:|---:|---:|---|---|"]
    for alternative in plan.alternatives:
        label = escape_markdown(alternative.label)
        if alternative.chosen:
            label = f"**{label}** (chosen)"
        kg = alternative.monthly_kgco2e_saved
        lines.append(f"| {label} | {format_usd(alternative.monthly_cost_usd)} | "
                     f"{format_usd(alternative.monthly_savings_usd)} | "
                     f"{'unknown' if kg is None else '~' + quantity(kg)} | "
                     f"{'yes' if alternative.meets_requirements else 'no'} | "
                     f"{escape_markdown(alternative.why)} |")
    lines.append("")
    if plan.rejected:
        lines += ["**Chosen.** Nothing: you rejected the plan, so the target is today's "
                  "configuration.", ""]
        return lines
    chosen = plan.chosen
    saving = saving_words(plan.monthly_savings_usd)
    target = format_usd(plan.target_monthly_usd)
    lines += [f"**Chosen.** {escape_markdown(plan.summary)}: {saving} (target {target})"
              + (f"; {plan.unpriced} chosen option(s) change something whose effect on the "
                 "bill is not priced" if plan.unpriced else "")
              + (" (your choice)" if plan.decided else "") + ".", ""]
    for option in chosen:
        effect = ("effect on the bill not priced" if option.monthly_savings_usd is None
                  else saving_words(option.monthly_savings_usd))
        if option.monthly_kgco2e_saved is not None:
            effect += f", {carbon_words(option.monthly_kgco2e_saved)}"
        lines.append(f"- {escape_markdown(option.finding)}: {escape_markdown(option.label)}, "
                     f"{effect}; {escape_markdown(option.why)}")
    if plan.monthly_kgco2e_saved is not None:
        kg = plan.monthly_kgco2e_saved
        lines += ["", f"Emissions (estimate): the plan {carbon_words(kg)}, from the chosen "
                      "options' footprints against today's (the range of today's estimate and "
                      "the method are under Energy and carbon)."]
    elif chosen:
        lines += ["", "Emissions: not estimated for the chosen options (an instance type or "
                      "accelerator without coefficients, or no busy-time data)."]
    others = [f for f in plan.findings if f.outcome not in (Outcome.RESOLVED, Outcome.EVIDENCE)]
    if others:
        lines += ["", "**The other findings.**", ""]
        for outcome in others:
            lines.append(f"- {escape_markdown(outcome.kind)}: {escape_markdown(outcome.outcome)}"
                         f" ({escape_markdown(outcome.why)})")
    if plan.actions:
        lines += ["", "**What the team does.**", ""]
        lines += [f"{n}. {escape_markdown(step)}" for n, step in enumerate(plan.actions, 1)]
    if plan.watch:
        lines += ["", "**What to watch after the change.**", ""]
        lines += [f"- {escape_markdown(item)}" for item in plan.watch]
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
    for component in current.inference_components:
        per_copy = ", ".join(
            f"{_value_text(item.value)} {unit if item.value != 1 else unit.rstrip('s')}"
            for item, unit in ((component.accelerators_per_copy, "accelerators"),
                               (component.cpu_cores_per_copy, "CPU cores"),
                               (component.memory_mb_per_copy, "MB"))
            if item.value is not None) or "no reservation"
        share = component.reserved_share_pct.value
        lines.append(
            f"- Inference component {escape_markdown(component.name)} on variant "
            f"{escape_markdown(component.variant)}: {_value_text(component.copies.value)} "
            f"copies of {per_copy} each"
            + (f", {_value_text(share)} % of the instances" if share is not None else "")
            + f"; {_value_text(component.requests_per_day.value)} requests per day; "
            f"cost share {format_usd(component.monthly_cost_usd.value)} a month")
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
            cost_text += f", {saving_words(cost.value - new_cost.value)}"
    lines.append(cost_text)
    lines.append(_carbon_line(current, target))
    applied = sum(1 for c in target.changes if c.applied)
    lines.append(f"- Changes in the target: {applied} (of {len(target.changes)} considered)")
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


def _pct(value: float | None, digits: int = 2) -> str:
    return "no data" if value is None else f"{value * 100:.{digits}f} %"


def _ms(value: float | None) -> str:
    return "no data" if value is None else f"{value:,.1f} ms"


def _experiment_section(comparison: VariantComparison) -> list[str]:
    age = comparison.age_days
    title = {"a/b": "A/B test", "shadow": "Shadow test",
             "a/b with shadow": "A/B test with a shadow variant"}.get(comparison.kind, "Test")
    lines = [f"### {title}", "",
             f"Running {'for ' + format_number(round(age, 1)) + ' days' if age is not None else ''}"
             f" since {comparison.started_at:%Y-%m-%d %H:%M} UTC (the current endpoint config); "
             f"{comparison.hours} hours of data compared; significance level "
             f"{format_number(comparison.significance_level)}." if comparison.started_at
             else "No start time known.", "",
             "| Variant | Role | Weight | Instances | Requests | Traffic share | p50 | p99 | "
             "5XX rate | 4XX rate | CPU p95 | $ per 1,000 requests |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for v in comparison.variants:
        lines.append(
            f"| {escape_markdown(v.name)} | {'shadow' if v.shadow else 'production'} | "
            f"{format_number(v.weight)} | {escape_markdown(v.shape)} | "
            f"{'no data' if v.requests is None else format_number(v.requests)} | "
            f"{_pct(v.traffic_share, 1)} | {_ms(v.latency_p50_ms)} | {_ms(v.latency_p99_ms)} | "
            f"{_pct(v.error_5xx_rate, 3)} | {_pct(v.error_4xx_rate, 3)} | "
            f"{'no data' if v.cpu_p95_pct is None else format_number(v.cpu_p95_pct) + ' %'} | "
            f"{format_usd(v.cost_per_1k_requests_usd)} |")
    lines.append("")
    for verdict in comparison.verdicts:
        lines.append(f"- {escape_markdown(verdict.summary)}.")
        for c in verdict.comparisons:
            detail = escape_markdown(c.note or p_text(c.p_value))
            lines.append(f"  - {escape_markdown(c.metric)}: {escape_markdown(verdict.baseline)} "
                         f"{_value_of(c.metric, c.baseline)}, "
                         f"{escape_markdown(verdict.challenger)} "
                         f"{_value_of(c.metric, c.challenger)} ({detail}"
                         f"{', significant' if c.significant else ''})")
    lines.append("")
    return lines


def _value_of(metric: str, value: float | None) -> str:
    return _ms(value) if metric in ("p50", "p99") else _pct(value, 3)


def _recommender_section(items: Sequence[RecommenderComparison]) -> list[str]:
    lines = ["### Inference Recommender", ""]
    for c in items:
        lines.append(f"- Variant {escape_markdown(c.variant)}: job {escape_markdown(c.job)} "
                     f"({escape_markdown(c.job_type)}, {escape_markdown(c.job_status.lower())},"
                     f" finished {c.job_finished:%Y-%m-%d}; matched by "
                     f"{escape_markdown(c.matched_by or '?')}; payload "
                     f"{escape_markdown(c.payload or 'not recorded')}).")
        rec = c.recommendation
        if rec is not None:
            m = rec.metrics
            lines.append(f"  - Recommends {escape_markdown(rec.label)}: "
                         f"{format_usd(m.cost_per_hour_usd)} per hour, "
                         f"{'?' if m.cost_per_inference_usd is None else m.cost_per_inference_usd}"
                         f" USD per inference, up to {m.max_invocations_per_minute or '?'} "
                         f"requests per minute per instance at {_ms(m.model_latency_ms)}, CPU "
                         f"{m.cpu_utilisation_pct or '?'} %, memory "
                         f"{m.memory_utilisation_pct or '?'} % under load; "
                         f"{format_usd(c.recommendation_monthly_usd)} a month "
                         f"({escape_markdown(c.price_source)}).")
        for instance_type, why in c.failed_benchmarks:
            lines.append(f"  - Benchmark on {escape_markdown(instance_type)} failed: "
                         f"{escape_markdown(why)}.")
        lines.append(f"  - sagetop's plan: {escape_markdown(c.plan_label)} "
                     f"({escape_markdown(c.plan_source)}, "
                     f"{format_usd(c.plan_monthly_usd)} a month).")
        verdict = "They agree" if c.winner == "agree" else (
            f"Evidence that wins: {escape_markdown(c.winner)}")
        lines.append(f"  - {verdict}: {escape_markdown(c.reason)}.")
    lines.append("")
    return lines


def _verdicts_section(items: Sequence[VerdictComparison]) -> list[str]:
    lines = ["### AWS's own verdicts", "", "| Source | Says | Saving | Against sagetop | Why |",
             "|---|---|---:|---|---|"]
    for v in items:
        lines.append(f"| {escape_markdown(v.source)} | {escape_markdown(v.action)} | "
                     f"{format_usd(v.monthly_savings_usd)} | {escape_markdown(v.agreement)} | "
                     f"{escape_markdown(v.note)} |")
    lines.append("")
    return lines


def second_opinions_section(comparison: VariantComparison | None,
                            recommender: Sequence[RecommenderComparison],
                            verdicts: Sequence[VerdictComparison]) -> list[str]:
    """Experiments and second opinions beside the plan; nothing when there are none."""
    if comparison is None and not recommender and not verdicts:
        return []
    lines = ["## Experiments and second opinions", ""]
    if comparison is not None:
        lines += _experiment_section(comparison)
    if recommender:
        lines += _recommender_section(recommender)
    if verdicts:
        lines += _verdicts_section(verdicts)
    return lines


def _carbon_line(current: MLProfile, target: MLProfile) -> str:
    estimate = current.carbon
    if estimate is None:
        return ("- Energy and carbon: not estimated "
                f"({escape_markdown(current.monthly_carbon_kgco2e.note)})")
    text = (f"- Energy and carbon (estimate): ~{quantity(estimate.kwh)} kWh a month "
            f"({quantity(estimate.kwh_low)}-{quantity(estimate.kwh_high)}), "
            f"~{quantity(estimate.kgco2e)} kgCO2e a month ({quantity(estimate.kgco2e_low)}-"
            f"{quantity(estimate.kgco2e_high)}), of which embodied "
            f"~{quantity(estimate.embodied_kgco2e)}")
    after = target.monthly_carbon_kgco2e.value
    if after is not None and after != estimate.kgco2e:
        saved = estimate.kgco2e - after
        text += (f"; target ~{quantity(after)}, "
                 f"{'saving' if saved >= 0 else 'adding'} ~{quantity(abs(saved))} a month")
    return text


def _carbon_section(current: MLProfile) -> list[str]:
    """How the estimate was made and from which sources, said in every rationale."""
    data = coefficients()
    lines = ["## Energy and carbon: method and sources", "", escape_markdown(method_text()), ""]
    if current.carbon is not None and current.carbon.notes:
        lines += ["Estimated beyond the coefficients for this endpoint:", ""]
        lines += [f"- {escape_markdown(n)}" for n in current.carbon.notes]
        lines.append("")
    lines += ["Sources:", ""]
    lines += [f"- {escape_markdown(s.what)}" + (f": {s.url}" if s.url else "")
              for s in data.sources.values()]
    lines.append("")
    return lines


def render_rationale(current: MLProfile, target: MLProfile, findings: Sequence[Finding],
                     maturity: tuple[Maturity, Maturity], *, plan: EndpointPlan | None = None,
                     comparison: VariantComparison | None = None,
                     recommender: Sequence[RecommenderComparison] = (),
                     verdicts: Sequence[VerdictComparison] = ()) -> str:
    """The Markdown rationale of one endpoint (findings of other endpoints are ignored);
    `maturity` is the current and the target profile's, as the analysis assessed them."""
    # With several accounts a finding's key leads with the account ("prod/us-east-1/x"); the
    # profile's is region/name, unique within the one account its findings come from.
    own = [f for f in findings
           if f.endpoint == current.key or f.endpoint.endswith(f"/{current.key}")]
    lines = [f"# ML profile rationale: {escape_markdown(current.endpoint)}", "",
             f"Region {escape_markdown(current.region)}, generated "
             f"{current.generated_at.isoformat()} by sagetop from the fleet snapshot. "
             "Current and target profiles are in the YAML files next to this one.", ""]
    lines += _summary(current, target)
    lines += _requirements_section(current)
    if plan is not None:
        lines += _plan_section(plan, own)
    lines += ["## Findings and changes", ""]
    if not own:
        lines += ["No finding for this endpoint: the target profile equals the current one.", ""]
    for number, finding in enumerate(own, start=1):
        lines += _finding_section(number, finding, target, current, plan)
    lines += second_opinions_section(comparison, recommender, verdicts)
    lines += _maturity_section(*maturity)
    lines += _carbon_section(current)
    return "\n".join(lines).rstrip("\n") + "\n"
