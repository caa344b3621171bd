"""The one export writer: the ML profiles of the fleet (or of some endpoints), all or nothing.

Layout under the output directory: `<region>/<name>.current.yaml`, `.target.yaml` and
`.rationale.md` per endpoint, plus `fleet-summary.md` and `fleet-summary.yaml`. Every file goes
through `write_files_atomically`: either the whole new snapshot is there or the previous one is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from advisors.finding import Finding
from advisors.opinions import OpinionsSummary, RecommenderComparison, VerdictComparison
from advisors.variants import VariantComparison
from ground.atomic import write_files_atomically
from ground.domain import DeploymentOption, FleetSnapshot
from ground.energy import coefficients, quantity
from profiles.files import model_to_yaml, profile_to_yaml
from profiles.maturity import Maturity, MaturityLevel, Pillar
from profiles.model import FleetSummary, MLProfile, PillarLevelCount, ProvisioningEntry
from profiles.plan import EndpointPlan, FleetPlanTotals, PlannedOption
from profiles.rationale import escape_markdown, format_usd, render_rationale, saving_words

SUMMARY_MARKDOWN = "fleet-summary.md"
SUMMARY_YAML = "fleet-summary.yaml"
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]")
# Windows device names: a file called "con.current.yaml" cannot be opened there.
_RESERVED_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                             *(f"lpt{i}" for i in range(1, 10))})
ENDPOINT_WORKLOADS = frozenset({"real-time", "async"})


class Profiled(Protocol):
    """One endpoint ready to export: its two profiles, the findings behind the target, and both
    profiles' maturity (pipeline.analysis.EndpointAnalysis is one, built once)."""

    @property
    def current(self) -> MLProfile: ...

    @property
    def target(self) -> MLProfile: ...

    @property
    def findings(self) -> Sequence[Finding]: ...

    @property
    def maturity_current(self) -> Maturity: ...

    @property
    def maturity_target(self) -> Maturity: ...

    @property
    def comparison(self) -> VariantComparison | None: ...

    @property
    def recommender(self) -> Sequence[RecommenderComparison]: ...

    @property
    def verdicts(self) -> Sequence[VerdictComparison]: ...

    @property
    def plan(self) -> EndpointPlan: ...


@dataclass(frozen=True)
class SnapshotResult:
    out_dir: Path
    files: tuple[Path, ...]  # every file of the snapshot
    written: tuple[Path, ...]  # the files whose content changed
    endpoints: int
    summary: FleetSummary | None  # None: an export of some endpoints, without the summary


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


def ranked_changes(plans: Iterable[EndpointPlan], by: str, limit: int = RANKED_CHANGES
                   ) -> list[dict[str, Any]]:
    """The plans' chosen options that save something, largest first: by "usd" or by
    (estimated) "kgco2e" a month, each with both figures as its plan counts them (the same
    figures the fleet's totals add up). The greenest changes are not always the cheapest: a
    GPU idling costs more carbon than its dollars say."""
    name = "monthly_savings_usd" if by == "usd" else "monthly_kgco2e_saved"
    found: list[tuple[EndpointPlan, PlannedOption]] = [
        (plan, option) for plan in plans for option in plan.chosen
        if (getattr(option, name) or 0.0) > 0]
    found.sort(key=lambda pair: (-(getattr(pair[1], name) or 0.0), pair[0].endpoint,
                                 pair[1].id))
    ranked: list[dict[str, Any]] = []
    for plan, option in found[:limit]:
        outcome = next((f for f in plan.findings if f.kind is option.finding
                        and f.variant == option.variant and f.component == option.component),
                       None)
        ranked.append({"endpoint": plan.endpoint, "kind": str(option.finding),
                       "option": option.label,
                       "summary": outcome.summary if outcome is not None else option.label,
                       "monthly_savings_usd": option.monthly_savings_usd,
                       "monthly_savings_kgco2e": option.monthly_kgco2e_saved})
    return ranked


def fleet_summary(fleet: FleetSnapshot, currents: Sequence[MLProfile],
                  totals: FleetPlanTotals, assessments: Sequence[Maturity],
                  generated_at: dt.datetime,
                  opinions: OpinionsSummary | None = None, *,
                  plans: Sequence[EndpointPlan] = ()) -> FleetSummary:
    """The fleet's totals; its savings are the plans' (the one figure every place shows, and
    its one carbon figure beside it), the changes ranked from the same `plans`."""
    costs = [p.monthly_cost_usd for p in currents]
    known = [c.value for c in costs if c.value is not None]
    monthly = round(sum(known), 2)
    estimates = [p.carbon for p in currents if p.carbon is not None]
    carbon_today = round(sum(e.kgco2e for e in estimates), 3) if estimates else None
    saved_kg = totals.monthly_kgco2e_saved
    return FleetSummary(
        generated_at=generated_at,
        collected_at=fleet.collected_at,
        account_id=fleet.account_id,
        regions=sorted(fleet.regions),
        endpoints=len(currents),
        instances=sum(e.instance_count for e in fleet.endpoints),
        serverless_endpoints=sum(1 for e in fleet.endpoints
                                 if e.deployment is DeploymentOption.SERVERLESS),
        monthly_cost_usd=monthly,
        endpoints_without_price=len(costs) - len(known),
        price_sources=sorted({c.source for c in costs if c.source}),
        target_monthly_cost_usd=round(monthly - totals.monthly_savings_usd, 2),
        savings_usd_by_finding_kind=dict(totals.savings_by_kind),
        accepted_savings_usd=totals.monthly_savings_usd,
        endpoints_saving=totals.endpoints_saving,
        endpoints_costing_more=totals.endpoints_costing,
        unpriced_options=totals.unpriced_options,
        covered_findings=totals.covered_findings,
        monthly_kgco2e_saved=totals.monthly_kgco2e_saved,
        maturity_by_pillar=_pillar_counts(assessments),
        provisioning=_provisioning(fleet),
        second_opinions=_opinion_counts(opinions) if opinions else {},
        monthly_energy_kwh=round(sum(e.kwh for e in estimates), 3) if estimates else None,
        monthly_carbon_kgco2e=carbon_today,
        monthly_carbon_kgco2e_low=(round(sum(e.kgco2e_low for e in estimates), 3)
                                   if estimates else None),
        monthly_carbon_kgco2e_high=(round(sum(e.kgco2e_high for e in estimates), 3)
                                    if estimates else None),
        endpoints_without_carbon=len(currents) - len(estimates),
        target_monthly_carbon_kgco2e=(None if carbon_today is None else
                                      round(max(carbon_today - (saved_kg or 0.0), 0.0), 3)),
        carbon_coefficients=coefficients().label,
        top_changes_by_usd=ranked_changes(plans, "usd"),
        greenest_changes=ranked_changes(plans, "kgco2e"),
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
    saved = summary.monthly_kgco2e_saved
    plans = ("- Carbon the plans save (estimate): not estimated for any chosen option"
             if saved is None else
             f"- Carbon the plans save (estimate): ~{quantity(abs(saved))} kgCO2e a month"
             + ("" if saved >= 0 else " more emitted"))
    return [line, plans,
            f"- Carbon coefficients: {escape_markdown(summary.carbon_coefficients)} "
            "(method and sources in each rationale and the README)"]


def _rankings(summary: FleetSummary) -> list[str]:
    """The changes ranked by dollars and, beside them, by kgCO2e saved."""
    lines: list[str] = []
    for title, ranked in (("Top changes by dollars saved", summary.top_changes_by_usd),
                          ("Greenest changes (by kgCO2e saved, estimates)",
                           summary.greenest_changes)):
        lines += ["", f"## {title}", "",
                  "The plans' chosen changes, each as its plan counts it.", "",
                  "| # | Endpoint | Finding kind | Change | USD per month | kgCO2e per month |",
                  "|---:|---|---|---|---:|---:|"]
        for rank, change in enumerate(ranked, start=1):
            carbon = change.get("monthly_savings_kgco2e")
            lines.append(
                f"| {rank} | {escape_markdown(str(change['endpoint']))} | "
                f"{escape_markdown(str(change['kind']))} | "
                f"{escape_markdown(str(change.get('option', change['summary'])))} | "
                f"{format_usd(change.get('monthly_savings_usd'))} | "
                f"{'unknown' if carbon is None else '~' + quantity(carbon)} |")
        if not ranked:
            lines.append("| - | - | - | nothing to save | - | - |")
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
             f"- Target monthly cost (the accepted plans): "
             f"{format_usd(summary.target_monthly_cost_usd)}, "
             f"{saving_words(summary.accepted_savings_usd)}"
             + (f" ({summary.endpoints_saving} endpoints save, "
                f"{summary.endpoints_costing_more} cost more to meet their requirements)"
                if summary.endpoints_costing_more else ""),
             f"- Price sources: {escape_markdown('; '.join(summary.price_sources) or 'none')}",
             *_carbon_totals(summary),
             "", "## Savings of the plans by finding kind", "",
             "Each plan's chosen options, by the finding that opened them; the rows add up to "
             "the total above. A finding whose change another option already makes is counted "
             f"once, under that option ({summary.covered_findings} such findings)"
             + (f"; {summary.unpriced_options} chosen option(s) change something whose effect "
                "on the bill is not priced" if summary.unpriced_options else "") + ".", "",
             "| Finding kind | USD per month |", "|---|---:|"]
    lines += [f"| {escape_markdown(kind)} | {format_usd(usd)} |"
              for kind, usd in summary.savings_usd_by_finding_kind.items()]
    lines.append(f"| total | {format_usd(summary.accepted_savings_usd)} |")
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


def _account_of(item: Profiled) -> str | None:
    """The account of a profiled endpoint watched among several (None: the one account).

    Optional, not part of `Profiled`: only the analysis of a multi-account fleet carries it.
    """
    account = getattr(item, "account", None)
    return account if isinstance(account, str) else None


def _safe_folder(name: str) -> str:
    """An account name as one folder name: no separator, no `..`, nothing a shell trips on."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".")
    return cleaned or "account"


def snapshot_files(fleet: FleetSnapshot, endpoints: Sequence[Profiled], out_dir: Path,
                   totals: FleetPlanTotals, summary: bool = True,
                   opinions: OpinionsSummary | None = None
                   ) -> tuple[dict[Path, str], FleetSummary | None]:
    """Every file of an export: profiles and rationale per endpoint, and the fleet summary
    (when `summary`: an export of the whole fleet rather than of a few endpoints)."""
    files: dict[Path, str] = {}
    chosen = sorted(endpoints, key=lambda e: (_account_of(e) or "", e.current.region,
                                              e.current.endpoint))
    for item in chosen:
        # Several accounts: one folder each, as the same name can run in two of them.
        account = _account_of(item)
        folder = out_dir if account is None else out_dir / _safe_folder(account)
        current_path, target_path, rationale_path = endpoint_paths(
            folder, item.current.region, item.current.endpoint)
        if current_path in files:
            raise ValueError(f"two endpoints map to {current_path}")  # same region and name
        files[current_path] = profile_to_yaml(item.current)
        files[target_path] = profile_to_yaml(item.target)
        files[rationale_path] = render_rationale(
            item.current, item.target, item.findings,
            (item.maturity_current, item.maturity_target), plan=item.plan,
            comparison=item.comparison, recommender=item.recommender, verdicts=item.verdicts)
    if not summary:
        return files, None
    fleet_wide = fleet_summary(fleet, [e.current for e in chosen], totals,
                               [e.maturity_current for e in chosen], fleet.collected_at, opinions,
                               plans=[e.plan for e in chosen])
    files[out_dir / SUMMARY_YAML] = model_to_yaml(fleet_wide)
    files[out_dir / SUMMARY_MARKDOWN] = summary_markdown(fleet_wide)
    return files, fleet_wide


def write_snapshot(fleet: FleetSnapshot, endpoints: Sequence[Profiled], out_dir: Path,
                   totals: FleetPlanTotals, summary: bool = True,
                   opinions: OpinionsSummary | None = None) -> SnapshotResult:
    """Write the export all or nothing; files whose content is unchanged are left alone.
    `totals`: the fleet's plans (the one savings figure the summary shows)."""
    files, fleet_wide = snapshot_files(fleet, endpoints, out_dir, totals, summary, opinions)
    written = write_files_atomically(files)
    return SnapshotResult(out_dir=out_dir, files=tuple(sorted(files)), written=tuple(written),
                          endpoints=len(endpoints), summary=fleet_wide)
