"""Rich renderables for experiments and second opinions: A/B and shadow tests, Inference
Recommender beside sagetop's plan, AWS's own verdicts, deployment guardrails, and their counts in
the fleet summary. Pure functions of the analysis; everything from the account goes in as `Text`,
through `inert`/`outside`.
Styles by meaning from the `Look` (theme colours, attributes under NO_COLOR, ASCII off UTF-8).
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from advisors.opinions import OpinionsSummary, RecommenderComparison, VerdictComparison
from advisors.variants import VariantComparison, p_text
from ground.domain import EndpointSnapshot
from ground.untrusted import inert
from pipeline.analysis import EndpointAnalysis
from tui.look import DEFAULT_LOOK, Look
from tui.rows import fmt, fmt_count, fmt_usd, outside

# Palette roles (tui.look.Palette) by outcome.
WINNER_STYLE = {"agree": "good", "production traffic": "info", "load test": "warning",
                "no result": "bad"}
AGREEMENT_STYLE = {"agree": "good", "aws only": "warning", "sagetop only": "info"}
TEST_TITLES = {"a/b": "A/B test", "shadow": "Shadow test",
               "a/b with shadow": "A/B test with a shadow variant"}


def _role(look: Look, role: str | None) -> str:
    return str(getattr(look.palette, role)) if role else ""


def _table(*headers: str, title: str | None = None, look: Look = DEFAULT_LOOK) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", expand=False,
                  show_edge=False, pad_edge=False, header_style="bold", box=look.glyphs.box)
    for header in headers:
        # Rich cuts an over-long word with "…": off UTF-8 it is folded onto the next line.
        table.add_column(header, overflow="ellipsis" if look.glyphs.ellipsis == "…" else "fold")
    return table


def _pct(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def experiment_view(comparison: VariantComparison, look: Look = DEFAULT_LOOK) -> RenderableType:
    palette, glyphs = look.palette, look.glyphs
    title = TEST_TITLES.get(comparison.kind, "Test")
    age = comparison.age_days
    head = Text()
    head.append(title, style="bold")
    if comparison.started_at is not None:
        head.append(f"  running {fmt(age, 1)} days since "
                    f"{comparison.started_at:%Y-%m-%d %H:%M} UTC, {comparison.hours} h compared")
    table = _table("Variant", "Weight", "Instances", "Req (share)", "p50/p99 ms", "5XX/4XX %",
                   "CPU", "$/1k", look=look)
    # The names and numbers keep their width on a narrow screen; the instance shape wraps.
    for index, column in enumerate(table.columns):
        column.no_wrap = index != 2
    table.columns[0].min_width = 9
    for v in comparison.variants:
        errors = ("-" if v.error_5xx_rate is None else
                  f"{v.error_5xx_rate * 100:.2f}/{(v.error_4xx_rate or 0) * 100:.2f}")
        table.add_row(Text(outside(v.name)), "shadow" if v.shadow else fmt(v.weight, 2),
                      Text(outside(v.shape)),
                      f"{fmt_count(v.requests)} ({_pct(v.traffic_share, 0)})",
                      f"{fmt(v.latency_p50_ms)}/{fmt(v.latency_p99_ms)}", errors,
                      fmt(v.cpu_p95_pct), fmt_usd(v.cost_per_1k_requests_usd))
    lines: list[RenderableType] = [head, table]
    for verdict in comparison.verdicts:
        line = Text("* " if glyphs.arrow.isascii() else "• ")
        style = "bold" if verdict.better else (palette.warning if not verdict.enough_data
                                                else "")
        line.append(inert(verdict.summary), style=style)
        if verdict.better:
            line.append(f"  {glyphs.arrow} {outside(verdict.better)} is better",
                        style=palette.good)
        lines.append(line)
        tests = [f"{c.metric} {c.note or p_text(c.p_value)}" for c in verdict.comparisons]
        if tests:
            lines.append(Text("   " + "; ".join(tests), style=palette.muted))
    return Group(*lines)


def recommender_view(items: tuple[RecommenderComparison, ...],
                     endpoint: EndpointSnapshot, look: Look = DEFAULT_LOOK) -> RenderableType:
    palette = look.palette
    parts: list[RenderableType] = [Text("Inference Recommender beside sagetop's plan",
                                        style="bold")]
    if endpoint.recommender.error:
        parts.append(Text(f"unknown: {inert(endpoint.recommender.error)}",
                          style=palette.warning))
    if not items:
        running = [j for j in endpoint.recommender.jobs if j.status not in
                   ("COMPLETED", "FAILED", "STOPPED")]
        parts.append(Text(f"job {outside(running[0].name)} is "
                          f"{outside(running[0].status.lower())}" if running
                          else "no Inference Recommender job for this endpoint's models",
                          style=palette.muted))
    for c in items:
        head = Text()
        head.append(f"{outside(c.variant)}: ", style="bold")
        head.append(f"job {inert(c.job)} ({outside(c.job_type)}, "
                    f"{outside(c.job_status.lower())}, "
                    f"{c.job_finished:%Y-%m-%d}), matched by {c.matched_by or '?'}\n")
        head.append(f"payload {inert(c.payload or 'not recorded')}", style=palette.muted)
        parts.append(head)
        table = _table("Configuration", "$/month", "$/hour", "$/inference", "Max req/min",
                       "Latency ms", "CPU %", "Mem %", look=look)
        table.add_row(Text(f"plan: {outside(c.plan_label)}"), fmt_usd(c.plan_monthly_usd),
                      "", "", "", "", "", "")
        rec = c.recommendation
        if rec is not None:
            m = rec.metrics
            table.add_row(Text(f"recommender: {outside(rec.label)}"),
                          fmt_usd(c.recommendation_monthly_usd),
                          fmt(m.cost_per_hour_usd, 3),
                          "-" if m.cost_per_inference_usd is None
                          else f"{m.cost_per_inference_usd:.2g}",
                          fmt(m.max_invocations_per_minute), fmt(m.model_latency_ms),
                          fmt(m.cpu_utilisation_pct), fmt(m.memory_utilisation_pct))
        parts.append(table)
        for instance_type, why in c.failed_benchmarks:
            parts.append(Text(f"benchmark on {outside(instance_type)} failed: {inert(why)}",
                              style=palette.bad))
        verdict = Text()
        verdict.append("agree" if c.winner == "agree" else f"{c.winner} wins",
                       style=_role(look, WINNER_STYLE.get(c.winner)))
        verdict.append(f": {inert(c.reason)}")
        parts.append(verdict)
    return Group(*parts)


def verdicts_view(items: tuple[VerdictComparison, ...], endpoint: EndpointSnapshot,
                  look: Look = DEFAULT_LOOK) -> RenderableType:
    if not items:
        return Text("AWS's own advisors: no verdict on this endpoint", style=look.palette.muted)
    table = _table("AWS says", "Source", "Saving $/mo", "Against sagetop", "Why",
                   title="AWS's own verdicts", look=look)
    for v in items:
        table.add_row(Text(outside(v.action)), Text(outside(v.source)),
                      fmt_usd(v.monthly_savings_usd),
                      Text(v.agreement, style=_role(look, AGREEMENT_STYLE.get(v.agreement))),
                      Text(inert(v.note), style=look.palette.muted))
    return table


def deployment_view(advice: EndpointAnalysis, look: Look = DEFAULT_LOOK) -> RenderableType:
    palette = look.palette
    strategy, rollback = advice.current.deployment_strategy, advice.current.auto_rollback
    line = Text()
    line.append("Deployment: ", style="bold")
    line.append(outside(f"{strategy.value or 'unknown'}"))
    line.append(f" ({inert(strategy.note)})", style=palette.muted)
    line.append("\nRollback: ", style="bold")
    line.append("automatic" if rollback.value else "none" if rollback.value is False
                else "unknown", style=palette.good if rollback.value else palette.warning)
    line.append(f" ({inert(rollback.note)})", style=palette.muted)
    return line


def opinions_view(advice: EndpointAnalysis | None, endpoint: EndpointSnapshot,
                  look: Look = DEFAULT_LOOK) -> RenderableType:
    """The Experiments tab: how it is deployed, its test, the recommender and AWS beside it."""
    if advice is None:
        return Text("analysis pending", style=look.palette.warning)
    parts: list[RenderableType] = [deployment_view(advice, look), Text("")]
    if advice.comparison is not None:
        parts += [experiment_view(advice.comparison, look), Text("")]
    else:
        parts += [Text("one variant: no A/B or shadow test", style=look.palette.muted),
                  Text("")]
    parts += [recommender_view(advice.recommender, endpoint, look), Text(""),
              verdicts_view(advice.verdicts, endpoint, look)]
    return Group(*parts)


def opinions_summary_view(summary: OpinionsSummary, look: Look = DEFAULT_LOOK
                          ) -> RenderableType:
    """Agreement with AWS's advisors and the recommender, for the fleet summary."""
    palette = look.palette
    table = _table("Second opinion", "Count", title="Second opinions", look=look)
    for label, count in (
            ("AWS agrees with sagetop", summary.verdicts_agree),
            ("AWS only (sagetop disagrees)", summary.verdicts_aws_only),
            ("sagetop only (AWS silent)", summary.verdicts_sagetop_only),
            ("Inference Recommender agrees", summary.recommender_agree),
            ("production traffic outweighs the load test", summary.recommender_production_wins),
            ("load test outweighs the plan", summary.recommender_load_test_wins),
            ("load tests suggested before choosing", summary.experiments_suggested)):
        table.add_row(label, str(count))
    parts: list[RenderableType] = [table]
    for status in summary.sources:
        parts.append(Text(outside(f"{status.source} ({status.region}): {status.status}")
                          + (f" - {inert(status.message)}" if status.status != "enabled"
                             else ""),
                          style=palette.muted if status.status == "enabled"
                          else palette.warning))
    if not summary.sources:
        parts.append(Text("AWS's advisors not read yet", style=palette.muted))
    for verdict in summary.account_verdicts:
        parts.append(Text(f"{outside(verdict.source)}: {outside(verdict.action)} "
                          f"{inert(verdict.recommended_summary or '')} saves "
                          f"{fmt_usd(verdict.monthly_savings_usd)}/month"))
    return Group(*parts)
