"""Write the ML profiles of the whole fleet as one all-or-nothing export.

Layout under the output directory: `<region>/<name>.current.yaml`, `.target.yaml` and
`.rationale.md` per endpoint, plus `fleet-summary.md` and `fleet-summary.yaml`. Every file goes
through `write_files_atomically`: either the whole new snapshot is there or the previous one is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisors.carbon import endpoint_footprint
from advisors.finding import Finding
from advisors.opinions import OpinionsSummary
from ground.atomic import write_files_atomically
from ground.domain import DeploymentOption, FleetSnapshot
from ground.energy import coefficients, quantity
from ground.pricing import PriceBook
from ground.requirements import Requirements
from profiles.build import current_profile, target_profile
from profiles.files import model_to_yaml, profile_to_yaml
from profiles.maturity import Maturity, MaturityLevel, MaturitySettings, Pillar, assess
from profiles.model import FleetSummary, MLProfile, PillarLevelCount, ProvisioningEntry
from profiles.rationale import escape_markdown, format_usd, render_rationale, saving_words

SUMMARY_MARKDOWN = "fleet-summary.md"
SUMMARY_YAML = "fleet-summary.yaml"
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]")
# Windows device names: a file called "con.current.yaml" cannot be opened there.
_RESERVED_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                             *(f"lpt{i}" for i in range(1, 10))})
ENDPOINT_WORKLOADS = frozenset({"real-time", "async"})


@dataclass(frozen=True)
class SnapshotResult:
    out_dir: Path
    files: tuple[Path, ...]  # every file of the snapshot
    written: tuple[Path, ...]  # the files whose content changed
    endpoints: int
    summary: FleetSummary


def safe_file_stem(name: str) -> str:
    """A file-name stem that is the name itself when safe, else a cleaned name plus a hash.

    SageMaker names are letters, digits and dashes, but the snapshot must not trust that: a name
    with "/", "..", control characters or a leading dot would escape or hide in the directory.
    The hash keeps two cleaned names that collide apart.
    """
    cleaned = _UNSAFE_NAME_CHARACTERS.sub("_", name)[:100]
    if cleaned == name and cleaned and cleaned.lower() not in _RESERVED_NAMES:
        return cleaned
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{cleaned or 'endpoint'}~{digest}"


def endpoint_paths(out_dir: Path, region: str, name: str) -> tuple[Path, Path, Path]:
    """(current, target, rationale) paths of one endpoint."""
    directory = out_dir / safe_file_stem(region)
    stem = safe_file_stem(name)
    return (directory / f"{stem}.current.yaml", directory / f"{stem}.target.yaml",
            directory / f"{stem}.rationale.md")


def _pillar_counts(assessments: Sequence[Maturity]) -> dict[str, PillarLevelCount]:
    result: dict[str, PillarLevelCount] = {}
    for pillar in Pillar:
        levels = [a.pillar(pillar).level for a in assessments]
        judged = sorted(int(level) for level in levels if level is not None)
        counts = {level.label: sum(1 for j in judged if j == int(level))
                  for level in MaturityLevel}
        result[pillar.value] = PillarLevelCount(
            **counts, not_judged=len(levels) - len(judged),
            median_level=int(statistics.median_low(judged)) if judged else None)
    return result


def _provisioning(fleet: FleetSnapshot) -> list[ProvisioningEntry]:
    """Region × workload × instance type → instances, from the collector's provisioning rows.

    If the collector reported no endpoint workloads at all, instance-based endpoint variants are
    counted from the inventory instead, so the matrix never omits the hosting fleet.
    """
    totals: dict[tuple[str, str, str], tuple[int, int]] = {}
    for row in fleet.provisioning:
        key = (row.region, row.workload, row.instance_type)
        count, jobs = totals.get(key, (0, 0))
        totals[key] = (count + row.instance_count, jobs + row.jobs)
    if not any(row.workload in ENDPOINT_WORKLOADS for row in fleet.provisioning):
        for endpoint in fleet.endpoints:
            workload = "async" if endpoint.deployment is DeploymentOption.ASYNC else "real-time"
            for variant in endpoint.variants:
                if variant.instance_type is None or variant.current_instance_count <= 0:
                    continue
                key = (endpoint.region, workload, variant.instance_type)
                count, jobs = totals.get(key, (0, 0))
                totals[key] = (count + variant.current_instance_count, jobs + 1)
    return [ProvisioningEntry(region=r, workload=w, instance_type=t, instance_count=c, jobs=j)
            for (r, w, t), (c, j) in sorted(totals.items())]


RANKED_CHANGES = 10


def ranked_changes(findings: Iterable[Finding], by: str, limit: int = RANKED_CHANGES
                   ) -> list[dict[str, Any]]:
    """Suggestions that save something, largest first: by "usd" or by (estimated) "kgco2e" a
    month. The greenest changes are not always the cheapest: a GPU idling costs more carbon
    than dollars says."""
    name = "monthly_savings_usd" if by == "usd" else "monthly_savings_kgco2e"
    found = [f for f in findings if (getattr(f, name) or 0.0) > 0]
    found.sort(key=lambda f: (-(getattr(f, name) or 0.0), f.endpoint, str(f.kind)))
    return [{"endpoint": f.endpoint, "kind": str(f.kind), "summary": f.summary,
             "monthly_savings_usd": f.monthly_savings_usd,
             "monthly_savings_kgco2e": f.monthly_savings_kgco2e} for f in found[:limit]]


def fleet_summary(fleet: FleetSnapshot, currents: Sequence[MLProfile],
                  targets: Sequence[MLProfile], findings: Sequence[Finding],
                  assessments: Sequence[Maturity], generated_at: dt.datetime,
                  opinions: OpinionsSummary | None = None) -> FleetSummary:
    costs = [p.monthly_cost_usd for p in currents]
    known = [c.value for c in costs if c.value is not None]
    target_costs = [t.monthly_cost_usd.value if t.monthly_cost_usd.value is not None
                    else c.monthly_cost_usd.value for t, c in zip(targets, currents, strict=True)]
    savings_by_kind: dict[str, float] = {}
    for finding in findings:
        if finding.monthly_savings_usd is not None:
            kind = str(finding.kind)
            savings_by_kind[kind] = savings_by_kind.get(kind, 0.0) + finding.monthly_savings_usd
    target_total = sum(c for c in target_costs if c is not None)
    estimates = [p.carbon for p in currents if p.carbon is not None]
    target_carbon = [t.monthly_carbon_kgco2e.value for t, c in zip(targets, currents, strict=True)
                     if c.carbon is not None and t.monthly_carbon_kgco2e.value is not None]
    return FleetSummary(
        generated_at=generated_at,
        collected_at=fleet.collected_at,
        account_id=fleet.account_id,
        regions=sorted(fleet.regions),
        endpoints=len(currents),
        instances=sum(e.instance_count for e in fleet.endpoints),
        serverless_endpoints=sum(1 for e in fleet.endpoints
                                 if e.deployment is DeploymentOption.SERVERLESS),
        monthly_cost_usd=round(sum(known), 2),
        endpoints_without_price=len(costs) - len(known),
        price_sources=sorted({c.source for c in costs if c.source}),
        target_monthly_cost_usd=round(target_total, 2),
        savings_usd_by_finding_kind={k: round(v, 2) for k, v in sorted(savings_by_kind.items())},
        accepted_savings_usd=round(sum(known) - target_total, 2),
        maturity_by_pillar=_pillar_counts(assessments),
        provisioning=_provisioning(fleet),
        second_opinions=_opinion_counts(opinions) if opinions else {},
        monthly_energy_kwh=round(sum(e.kwh for e in estimates), 3) if estimates else None,
        monthly_carbon_kgco2e=round(sum(e.kgco2e for e in estimates), 3) if estimates else None,
        monthly_carbon_kgco2e_low=(round(sum(e.kgco2e_low for e in estimates), 3)
                                   if estimates else None),
        monthly_carbon_kgco2e_high=(round(sum(e.kgco2e_high for e in estimates), 3)
                                    if estimates else None),
        endpoints_without_carbon=len(currents) - len(estimates),
        target_monthly_carbon_kgco2e=round(sum(target_carbon), 3) if estimates else None,
        carbon_coefficients=coefficients().label,
        top_changes_by_usd=ranked_changes(findings, "usd"),
        greenest_changes=ranked_changes(findings, "kgco2e"),
        aws_advisors={f"{s.source} {s.region}": s.status for s in fleet.verdict_sources},
    )


def _opinion_counts(opinions: OpinionsSummary) -> dict[str, int]:
    return {"aws_agrees": opinions.verdicts_agree, "aws_only": opinions.verdicts_aws_only,
            "sagetop_only": opinions.verdicts_sagetop_only,
            "recommender_agrees": opinions.recommender_agree,
            "production_traffic_wins": opinions.recommender_production_wins,
            "load_test_wins": opinions.recommender_load_test_wins,
            "load_tests_suggested": opinions.experiments_suggested}


def _carbon_totals(summary: FleetSummary) -> list[str]:
    if summary.monthly_carbon_kgco2e is None:
        return ["- Energy and carbon: not estimated"]
    line = (f"- Energy and carbon (estimate): ~{quantity(summary.monthly_energy_kwh or 0.0)} kWh "
            f"a month, ~{quantity(summary.monthly_carbon_kgco2e)} kgCO2e a month "
            f"({quantity(summary.monthly_carbon_kgco2e_low or 0.0)}-"
            f"{quantity(summary.monthly_carbon_kgco2e_high or 0.0)})")
    if summary.endpoints_without_carbon:
        line += f" ({summary.endpoints_without_carbon} endpoints not estimated, not included)"
    if summary.target_monthly_carbon_kgco2e is not None:
        line += f"; target ~{quantity(summary.target_monthly_carbon_kgco2e)}"
    return [line, f"- Carbon coefficients: {escape_markdown(summary.carbon_coefficients)} "
                  "(method and sources in each rationale and the README)"]


def _rankings(summary: FleetSummary) -> list[str]:
    """The changes ranked by dollars and, beside them, by kgCO2e saved."""
    lines: list[str] = []
    for title, ranked in (("Top changes by dollars saved", summary.top_changes_by_usd),
                          ("Greenest changes (by kgCO2e saved, estimates)",
                           summary.greenest_changes)):
        lines += ["", f"## {title}", "",
                  "| # | Endpoint | Finding kind | USD per month | kgCO2e per month | Summary |",
                  "|---:|---|---|---:|---:|---|"]
        for rank, change in enumerate(ranked, start=1):
            carbon = change.get("monthly_savings_kgco2e")
            lines.append(
                f"| {rank} | {escape_markdown(str(change['endpoint']))} | "
                f"{escape_markdown(str(change['kind']))} | "
                f"{format_usd(change.get('monthly_savings_usd'))} | "
                f"{'unknown' if carbon is None else '~' + quantity(carbon)} | "
                f"{escape_markdown(str(change['summary']))} |")
        if not ranked:
            lines.append("| - | - | - | - | - | nothing to save |")
    return lines


def summary_markdown(summary: FleetSummary) -> str:
    lines = ["# Fleet summary", "",
             f"Collected {summary.collected_at.isoformat()}"
             + (f", account {escape_markdown(summary.account_id)}" if summary.account_id else "")
             + f", regions {escape_markdown(', '.join(summary.regions) or 'none')}.", "",
             "## Totals", "",
             f"- Endpoints: {summary.endpoints} ({summary.serverless_endpoints} serverless)",
             f"- Instances behind endpoints: {summary.instances}",
             f"- Monthly cost: {format_usd(summary.monthly_cost_usd)}"
             + (f" ({summary.endpoints_without_price} endpoints without a price, not included)"
                if summary.endpoints_without_price else ""),
             f"- Target monthly cost (accepted changes): "
             f"{format_usd(summary.target_monthly_cost_usd)}, "
             f"{saving_words(summary.accepted_savings_usd)}",
             f"- Price sources: {escape_markdown('; '.join(summary.price_sources) or 'none')}",
             *_carbon_totals(summary),
             "", "## Potential savings by finding kind", "",
             "| Finding kind | USD per month |", "|---|---:|"]
    lines += [f"| {escape_markdown(kind)} | {format_usd(usd)} |"
              for kind, usd in summary.savings_usd_by_finding_kind.items()]
    lines += _rankings(summary)
    lines += ["", "## Maturity by pillar (endpoints per level)", "",
              "| Pillar | 1 initial | 2 managed | 3 defined | 4 optimised | not judged | median |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for pillar in Pillar:
        counts = summary.maturity_by_pillar[pillar.value]
        lines.append(f"| {pillar.display_name} | {counts.initial} | {counts.managed} | "
                     f"{counts.defined} | {counts.optimised} | {counts.not_judged} | "
                     f"{counts.median_level or '-'} |")
    lines += ["", "## Provisioning matrix", "",
              "| Region | Workload | Instance type | Instances | Jobs |", "|---|---|---|---:|---:|"]
    lines += [f"| {escape_markdown(p.region)} | {escape_markdown(p.workload)} | "
              f"{escape_markdown(p.instance_type)} | {p.instance_count} | {p.jobs} |"
              for p in summary.provisioning]
    if summary.second_opinions or summary.aws_advisors:
        lines += ["", "## Second opinions", "", "| Against sagetop | Count |", "|---|---:|"]
        lines += [f"| {escape_markdown(name.replace('_', ' '))} | {count} |"
                  for name, count in summary.second_opinions.items()]
        lines += ["", *(f"- {escape_markdown(source)}: {escape_markdown(status)}"
                        for source, status in summary.aws_advisors.items())]
    return "\n".join(lines) + "\n"


def write_snapshot(fleet: FleetSnapshot, findings_by_key: Mapping[str, Sequence[Finding]],
                   requirements_by_key: Mapping[str, Requirements], prices: PriceBook,
                   out_dir: Path, accepted: set[str] | None = None,
                   settings: MaturitySettings | None = None) -> SnapshotResult:
    """Profiles, rationale and fleet summary for every endpoint, written all or nothing.

    `accepted` holds change ids (see `profiles.build.change_id`); None accepts every suggestion.
    An endpoint without requirements is profiled against none (and says so).
    """
    maturity_settings = settings or MaturitySettings()
    files: dict[Path, str] = {}
    currents: list[MLProfile] = []
    targets: list[MLProfile] = []
    assessments: list[Maturity] = []
    all_findings: list[Finding] = []
    for endpoint in sorted(fleet.endpoints, key=lambda e: (e.region, e.name)):
        findings = list(findings_by_key.get(endpoint.key, ()))
        current = current_profile(endpoint, fleet, requirements_by_key.get(endpoint.key), prices,
                                  footprint=endpoint_footprint(endpoint, fleet))
        target = target_profile(current, findings, accepted)
        current_path, target_path, rationale_path = endpoint_paths(out_dir, endpoint.region,
                                                                   endpoint.name)
        if current_path in files:
            raise ValueError(f"two endpoints map to {current_path}")  # same region and name
        files[current_path] = profile_to_yaml(current)
        files[target_path] = profile_to_yaml(target)
        files[rationale_path] = render_rationale(current, target, findings, maturity_settings)
        currents.append(current)
        targets.append(target)
        assessments.append(assess(current, maturity_settings))
        all_findings += findings
    summary = fleet_summary(fleet, currents, targets, all_findings, assessments,
                            fleet.collected_at)
    files[out_dir / SUMMARY_YAML] = model_to_yaml(summary)
    files[out_dir / SUMMARY_MARKDOWN] = summary_markdown(summary)
    written = write_files_atomically(files)
    return SnapshotResult(out_dir=out_dir, files=tuple(files), written=tuple(written),
                          endpoints=len(currents), summary=summary)
