"""One source per fact: the finding, the profile and the fleet row say the same number.

The 5XX rate, the busiest resource, the p99 and the traffic pattern are computed once, in the
advisors' features, and carried: for every endpoint of the demo fleet the finding's evidence, the
current profile and the dashboard's row must agree to the digit they show.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

from advisors.features import RESOURCES
from advisors.finding import FindingKind
from advisors.traffic import TrafficPattern
from pipeline.analysis import Analyst, FleetAnalysis
from simulator import SimulatedAccount
from tests.fleet_factory import EndpointPlan, Pattern, VariantPlan, fleet_of
from tests.test_experiments import _collect
from tui.rows import RowData, fleet_rows, fmt_ms, fmt_ratio, variant_row


@pytest.fixture(scope="module")
def demo() -> tuple[FleetAnalysis, dict[str, RowData]]:
    fleet = _collect(SimulatedAccount())
    analysis = Analyst().analyse(fleet)
    return analysis, {row.key: row for row in fleet_rows(fleet, analysis)}


def _cell(row: RowData, column: str) -> str:
    return row.signatures[column][0]


def test_the_5xx_rate_is_the_same_in_finding_profile_and_row(
        demo: tuple[FleetAnalysis, dict[str, RowData]]) -> None:
    analysis, rows = demo
    rated = 0
    for key, item in analysis.endpoints.items():
        pct = item.current.error_rate_5xx_pct.value
        ratio = None if pct is None else pct / 100.0
        assert _cell(rows[key], "errors") == fmt_ratio(ratio), key
        for finding in item.findings:
            if finding.kind is FindingKind.ERROR_RATE:
                assert ratio is not None
                assert finding.evidence["error_ratio"] == pytest.approx(ratio, abs=1e-5)
                assert f"{ratio:.1%}" in finding.summary
        rated += ratio is not None
    assert rated >= 30  # the demo fleet serves traffic: the comparison is not vacuous
    assert any(f.kind is FindingKind.ERROR_RATE for a in analysis.endpoints.values()
               for f in a.findings)


def test_the_busiest_resource_is_the_same_in_finding_profile_and_row(
        demo: tuple[FleetAnalysis, dict[str, RowData]]) -> None:
    analysis, rows = demo
    compared = 0
    for key, item in analysis.endpoints.items():
        serving = [v for v in item.current.serving_variants
                   if v.busiest_resource_pct.value is not None]
        by_variant = {v.name: v for v in item.current.variants}
        for finding in item.findings:
            pct, resource = finding.evidence.get("busiest_pct"), finding.evidence.get(
                "busiest_resource")
            if pct is None or finding.variant is None:
                continue
            variant = by_variant[finding.variant]
            assert variant.busiest_resource_pct.value == pytest.approx(float(pct), abs=0.01)
            if resource is not None:
                assert variant.busiest_resource.value == RESOURCES[str(resource)][0]
            compared += 1
        if not serving:
            assert _cell(rows[key], "busiest") == "-", key
            continue
        busiest = max(serving, key=lambda v: v.busiest_resource_pct.value or 0.0)
        labels = {name: label for name, label in RESOURCES.values()}
        label, shown = _cell(rows[key], "busiest").split()
        assert label == labels[str(busiest.busiest_resource.value)], key
        # The cell rounds the features' figure to a whole percent, the profile to two decimals.
        assert float(shown.rstrip("%")) == pytest.approx(
            busiest.busiest_resource_pct.value or 0.0, abs=0.51), key
    assert compared >= 5  # findings that size on the busiest resource were checked


def test_latency_and_traffic_pattern_are_the_features(
        demo: tuple[FleetAnalysis, dict[str, RowData]]) -> None:
    analysis, rows = demo
    features = analysis.features.endpoints
    for key, item in analysis.endpoints.items():
        assert _cell(rows[key], "p99") == fmt_ms(item.current.p99_latency_ms.value), key
        pattern = features.at[key, "traffic_pattern"]
        assert item.current.traffic_pattern.value == (
            pattern if isinstance(pattern, TrafficPattern) else None), key
        if any(f.kind is FindingKind.BATCH_CANDIDATE for f in item.findings):
            assert item.current.traffic_pattern.value is TrafficPattern.PERIODIC, key
    patterns = {a.current.traffic_pattern.value for a in analysis.endpoints.values()}
    assert {TrafficPattern.PERIODIC, TrafficPattern.DIURNAL, TrafficPattern.IDLE} <= patterns


def test_a_failing_shadow_variant_is_not_a_failing_endpoint() -> None:
    """Shadow variants answer copies of the callers' requests and their answers are dropped:
    their 5XX errors are the shadow test's business, not the callers' error rate (the profile
    once said 0.05 % while the finding said several percent failed)."""
    plan = EndpointPlan(
        name="rerank-shadow", pattern=Pattern.DIURNAL, peak_requests_per_hour=20_000,
        variants=(VariantPlan(name="Production", error_ratio=0.0005),
                  VariantPlan(name="Candidate", shadow=True, error_ratio=0.08)),
        tags={"env": "production"})
    fleet = fleet_of(plan)
    analysis = Analyst().analyse(fleet)
    key = "us-east-1/rerank-shadow"
    item = analysis.endpoints[key]
    assert FindingKind.ERROR_RATE not in {f.kind for f in item.findings}
    pct = item.current.error_rate_5xx_pct.value
    assert pct is not None and pct == pytest.approx(0.05, abs=0.02)
    (row,) = fleet_rows(fleet, analysis)
    assert _cell(row, "errors") == fmt_ratio(pct / 100.0)
    # The shadow variant's own row shows its own errors.
    endpoint = fleet.endpoint(key)
    assert endpoint is not None
    shadow = next(v for v in endpoint.variants if v.shadow)
    cells = variant_row(endpoint, shadow, fleet, analysis)
    shown = cells["errors"]
    text = shown if isinstance(shown, str) else shown.plain
    assert text.endswith("%") and math.isclose(float(text.rstrip("%")), 8.0, abs_tol=1.0)


# --- the rules, checked on the code ---------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
# Window statistics are the features' to read: whoever reads them again computes a fact twice.
WINDOW_READS = frozenset({"window_value"})
# Where a figure may be compared with a number: to pick its unit or digits (formatting), never
# to judge it (a threshold, which belongs to a settings module).
FORMATTING = ("fmt", "format", "_value_text", "characteristic_text")
NOT_THRESHOLDS = {
    ("tui/rows.py", "cost_change"): "half a cent rounds to no change",
    ("tui/rows.py", "savings_cell"): "half a cent rounds to no saving",
    ("tui/render.py", "carbon_change"): "half a gram rounds to no change",
    ("tui/render.py", "metrics_route_header"): "how many monitoring accounts the header names",
    ("tui/render_opinions.py", "experiment_view"): "a table column's position",
    ("tui/widgets/chrome.py", "show_state"): "how many problems fit on the line",
}


def _sources(*packages: str) -> list[tuple[str, ast.AST]]:
    found = []
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            found.append((relative, ast.parse(path.read_text("utf-8"), filename=relative)))
    return found


def test_profiles_and_the_dashboard_read_no_window_statistics() -> None:
    offences = []
    for name, tree in _sources("profiles", "tui"):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            if node.attr in WINDOW_READS or (
                    node.attr == "window" and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "metrics"):
                offences.append(f"{name}:{node.lineno} {ast.unparse(node)}")
            # Profiles read no metric series at all: every measure is in the features.
            if (name.startswith("profiles/") and node.attr == "metrics"
                    and ast.unparse(node.value).endswith("fleet")):
                offences.append(f"{name}:{node.lineno} {ast.unparse(node)}")
    assert offences == []


def test_the_dashboard_and_profiles_judge_figures_by_no_number_of_their_own() -> None:
    offences = []
    for name, tree in _sources("profiles", "tui"):
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if function.name.startswith(FORMATTING) or function.name.endswith(FORMATTING) or (
                    name, function.name) in NOT_THRESHOLDS:
                continue
            for node in ast.walk(function):
                if not isinstance(node, ast.Compare):
                    continue
                numbers = [side.value for side in (node.left, *node.comparators)
                           if isinstance(side, ast.Constant)
                           and isinstance(side.value, int | float)
                           and not isinstance(side.value, bool)]
                if any(value not in (0, 1) for value in numbers):
                    offences.append(f"{name}:{node.lineno} {function.name}: "
                                    f"{ast.unparse(node)}")
    assert offences == []


# Emphasis that reads the same in every theme and under NO_COLOR; every other style (colours,
# dim, reverse) is the look's (`tui/look.py`), so a theme or NO_COLOR changes it everywhere.
PLAIN_STYLES = frozenset({"", "bold", "italic"})
STYLE_KEYWORDS = frozenset({"style", "title_style", "header_style"})


def test_the_dashboard_takes_its_styles_from_the_look() -> None:
    offences = []
    for name, tree in _sources("tui"):
        if name == "tui/look.py":
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg not in STYLE_KEYWORDS:
                    continue
                if any(text.strip() not in PLAIN_STYLES for text in _literals(keyword.value)):
                    offences.append(f"{name}:{node.lineno} {ast.unparse(keyword)}")
    assert offences == []


def _literals(expression: ast.expr) -> list[str]:
    """The literal text a style expression can evaluate to (conditions are not styles)."""
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return [expression.value]
    if isinstance(expression, ast.JoinedStr):
        return [part.value for part in expression.values
                if isinstance(part, ast.Constant) and isinstance(part.value, str)]
    if isinstance(expression, ast.IfExp):
        return _literals(expression.body) + _literals(expression.orelse)
    if isinstance(expression, ast.BoolOp):
        return [text for value in expression.values for text in _literals(value)]
    return []
