"""The report's JSON contract, the snapshot export and the profile commands, through the CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from collectors.aws import AwsContext, AwsTarget
from collectors.fleet import FleetCollector
from ground.config import AwsSettings
from ground.domain import FleetSnapshot
from pipeline.analysis import Analyst
from sagetop.cli import main
from simulator import SimulatedAccount
from tests.test_tui_support import fixed_clock

HEALTHY = ("web-ranker-prod", "search-embed-prod", "invoice-ocr-prod", "recs-multi-model",
           # An LLM server whose GPU memory is preallocated (91 %) and an Inferentia2 model:
           # both well used for what they are.
           "chat-assistant-prod", "product-embed-inf2")


@pytest.fixture(scope="module")
def demo_report() -> dict[str, object]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["report", "--demo", "--format", "json"]) == 0
    report: dict[str, object] = json.loads(out.getvalue())
    return report


def _endpoints(report: dict[str, object]) -> dict[str, dict[str, object]]:
    endpoints = report["endpoints"]
    assert isinstance(endpoints, list)
    return {e["name"]: e for e in endpoints}


def _kinds(endpoint: dict[str, object]) -> set[str]:
    findings = endpoint["findings"]
    assert isinstance(findings, list)
    return {f["kind"] for f in findings}


def _opening(endpoint: dict[str, object]) -> set[str]:
    """The kinds of the findings that open an option to take (not only evidence)."""
    findings = endpoint["findings"]
    assert isinstance(findings, list)
    return {f["kind"] for f in findings
            if any(o["fits"] and o["kind"] not in ("keep", "experiment") and o["changes"]
                   for o in f["options"])}


def test_report_json_contract(demo_report: dict[str, object]) -> None:
    for endpoint in _endpoints(demo_report).values():
        assert {"name", "region", "findings", "profile"} <= set(endpoint)
        profile = endpoint["profile"]
        assert isinstance(profile, dict)
        assert set(profile) == {"current", "target", "maturity"}
        for finding in endpoint["findings"]:  # type: ignore[attr-defined]
            assert {"kind", "severity", "summary", "rationale", "evidence", "options",
                    "monthly_savings_usd"} <= set(finding)
            assert finding["severity"] in ("info", "warning", "critical")
            for option in finding["options"]:
                assert {"kind", "label", "monthly_cost_usd", "fits", "changes",
                        "monthly_kgco2e"} <= set(option)
        plan = endpoint["plan"]
        assert isinstance(plan, dict)
        assert plan["monthly_savings_usd"] == endpoint["monthly_savings_usd"]
        assert {"options", "findings", "alternatives", "actions", "watch"} <= set(plan)
    summary = demo_report["summary"]
    assert isinstance(summary, dict)
    # One savings figure: the sum of the endpoint plans, and the kinds add up to it.
    total = sum(e["monthly_savings_usd"] for e in _endpoints(demo_report).values())
    assert summary["monthly_savings_usd"] == pytest.approx(total, abs=0.005)
    assert sum(summary["savings_by_kind"].values()) == pytest.approx(total, abs=0.005)


def test_demo_archetypes_get_the_findings_a_careful_engineer_gives(
        demo_report: dict[str, object]) -> None:
    by_name = _endpoints(demo_report)
    expected = {
        "churn-predictor-prod": "over-provisioned",
        "image-tagger-dev": "over-provisioned",
        "reranker-gpu-prod": "over-provisioned",
        "legacy-recs-v1": "idle",
        "nightly-scoring": "batch-candidate",
        "doc-summarizer": "async-candidate",
        "payments-fraud-prod": "under-provisioned",
        "checkout-upsell-prod": "single-instance",
        "faq-bot-serverless": "cold-start-risk",
        "credit-risk-prod": "drift",
        "sentiment-staging": "serverless-candidate",
        "forecast-acme": "multi-model-candidate",
        "ads-tenant-models": "multi-model-cache",
        "llm-assistants-prod": "no-autoscaling",  # its summarizer's copies never scale
    }
    for name, kind in expected.items():
        assert kind in _kinds(by_name[name]), (name, _kinds(by_name[name]))
    assert "error-rate" in _kinds(by_name["payments-fraud-prod"])
    wasteful_or_risky = {"idle", "over-provisioned", "under-provisioned", "serverless-candidate",
                         "async-candidate", "batch-candidate", "multi-model-candidate",
                         "single-instance", "multi-model-cache"}
    for name in HEALTHY:
        assert not _opening(by_name[name]) & wasteful_or_risky, (name, _kinds(by_name[name]))
    assert not _kinds(by_name["llm-canary"]) & wasteful_or_risky  # too new to judge
    # Busy inference-component endpoints: never "idle", whatever their variants publish.
    for name in ("llm-assistants-prod", "code-review-llm"):
        assert not _kinds(by_name[name]) & {"idle", "idle-component"}, name


def test_report_json_carries_inference_components(demo_report: dict[str, object]) -> None:
    pair = _endpoints(demo_report)["llm-assistants-prod"]
    assert pair["deployment"] == "inference-components"
    assert pair["monthly_cost_usd"] == pytest.approx(7.09 * 730)
    components = {c["name"]: c for c in pair["inference_components"]}  # type: ignore[attr-defined]
    assert set(components) == {"chat-llama-8b", "summarize-mistral-7b"}
    for component in components.values():
        assert component["variant"] == "AllTraffic" and component["current_copies"] == 2
        assert component["per_copy"]["accelerators"] == 1
        assert component["metrics"]["requests"] > 0  # its own traffic, per component
        assert component["monthly_cost_usd"] == pytest.approx(7.09 * 730 / 2, abs=0.01)
        assert "accelerators" in component["cost_source"]
    assert components["chat-llama-8b"]["autoscaling"]["scales"] is True
    assert components["summarize-mistral-7b"]["autoscaling"] is None
    (variant,) = pair["variants"]  # type: ignore[misc]
    assert variant["managed_instance_scaling"]["enabled"] is True
    assert "requests" not in variant["metrics"]  # not published per variant: not zero either
    profile = pair["profile"]["current"]  # type: ignore[index]
    assert profile["models_per_endpoint"]["value"] == 2
    assert [c["name"] for c in profile["inference_components"]] == [
        "chat-llama-8b", "summarize-mistral-7b"]
    assert profile["requests_per_day"]["value"] > 50_000  # ~80 a minute, summed
    finding = next(f for f in pair["findings"]  # type: ignore[attr-defined]
                   if f["kind"] == "no-autoscaling")
    assert finding["component"] == "summarize-mistral-7b"


def test_demo_accelerator_endpoints_stay_on_their_accelerators(
        demo_report: dict[str, object]) -> None:
    """Issue 9: the idle GPU and the barely used GPU build were sent to ml.m5 types; the
    suggestion is now the smaller GPU of the same model (the images are CUDA builds)."""
    from ground.catalog import spec_for

    by_name = _endpoints(demo_report)
    proposals = {}
    for name, endpoint in by_name.items():
        chosen = [o for o in endpoint["plan"]["options"]  # type: ignore[index]
                  if o["status"] == "chosen"]
        for planned in chosen:
            for change in planned["option"]["changes"]:
                if change["characteristic"] == "instance_type" and change["current"]:
                    proposals[name] = change["proposed"]
                    current, proposed = spec_for(change["current"]), spec_for(change["proposed"])
                    assert current is not None and proposed is not None
                    assert proposed.accelerator is current.accelerator, (name, change)
                    assert proposed.gpu_model == current.gpu_model, (name, change)
                    # An instance holds a whole model; on an inference-component endpoint
                    # that is one copy (its own accelerators), not the whole instance's.
                    per_copy = [c["per_copy"]["accelerators"] or 0
                                for c in endpoint["inference_components"]]  # type: ignore[index]
                    needed = max(per_copy) if per_copy else current.gpu_count
                    assert proposed.gpu_count >= needed, (name, change)
    assert proposals["image-tagger-dev"] == "ml.g4dn.xlarge"  # was ml.m5.xlarge
    assert proposals["reranker-gpu-prod"] == "ml.g5.xlarge"
    assert "product-embed-inf2" not in proposals  # was ml.m5.large
    assert "chat-assistant-prod" not in proposals  # was ml.g5.16xlarge, one GPU of four
    # Issue 10: managed instance scaling sizes llm-assistants-prod's instances from its copies;
    # it was told to raise MinInstanceCount (+$5,176/month) or to move to 4x ml.g5.4xlarge.
    assert "llm-assistants-prod" not in proposals
    assert "single-instance" not in _kinds(by_name["llm-assistants-prod"])
    # The profiles read the same facts: why a GPU figure is missing or means nothing.
    inf2 = by_name["product-embed-inf2"]["profile"]["current"]  # type: ignore[index]
    assert "no utilisation for Inferentia2" in inf2["variants"][0]["gpu_p95_pct"]["note"]
    llm = by_name["chat-assistant-prod"]["profile"]["current"]  # type: ignore[index]
    assert "tgi" in llm["frameworks"]["value"] and "KV cache" in llm["frameworks"]["note"]


def test_snapshot_writes_profiles_rationale_and_summary(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    out = tmp_path / "profiles"
    assert main(["snapshot", "--demo", "-o", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    current = out / "us-east-1" / "churn-predictor-prod.current.yaml"
    target = out / "us-east-1" / "churn-predictor-prod.target.yaml"
    rationale = out / "us-east-1" / "churn-predictor-prod.rationale.md"
    assert current.exists() and target.exists() and rationale.exists()
    assert (out / "fleet-summary.md").exists() and (out / "fleet-summary.yaml").exists()
    text = rationale.read_text()
    assert "over-provisioned" in text.lower() and "$" in text
    llm = (out / "us-east-1" / "llm-assistants-prod.rationale.md").read_text()
    assert "Inference component chat-llama-8b on variant AllTraffic: 2 copies" in llm
    assert "on inference component summarize-mistral-7b" in llm
    llm_profile = (out / "us-east-1" / "llm-assistants-prod.current.yaml").read_text()
    assert "inference_components:" in llm_profile and "accelerators_per_copy" in llm_profile

    assert main(["profile", "validate", str(current), str(target)]) == 0
    assert main(["profile", "diff", str(current), str(target)]) == 1  # they differ
    diff = capsys.readouterr().out
    assert "instance_type" in diff
    assert main(["profile", "diff", str(current), str(current)]) == 0


async def _demo_fleet() -> FleetSnapshot:
    account = SimulatedAccount(clock=fixed_clock)
    target = AwsTarget(regions=account.regions, simulated=True, prepare_session=account.install)
    async with AwsContext(AwsSettings(), target) as aws:
        return await FleetCollector(aws, clock=fixed_clock).collect(force=True)


def test_the_shipped_export_rewrites_only_what_a_decision_changes(tmp_path: Path) -> None:
    """The one export writer, as the app and `snapshot` call it: through the Analyst."""
    fleet = asyncio.run(_demo_fleet())
    analyst = Analyst()
    out = tmp_path / "export"
    first = analyst.write_snapshot(analyst.analyse(fleet), out)
    on_disk = {p for p in out.rglob("*") if p.is_file()}
    assert on_disk == set(first.files) == set(first.written)
    assert len(first.files) == 3 * len(fleet.endpoints) + 2 and first.summary is not None
    assert first.summary.endpoints == len(fleet.endpoints)
    assert analyst.write_snapshot(analyst.analyse(fleet), out).written == ()

    churn = analyst.analyse(fleet).endpoints["us-east-1/churn-predictor-prod"]
    analyst.reject_plan(churn.key)
    rejected = analyst.write_snapshot(analyst.analyse(fleet), out)
    region = out / "us-east-1"
    assert set(rejected.written) == {
        region / "churn-predictor-prod.target.yaml", region / "churn-predictor-prod.rationale.md",
        out / "fleet-summary.md", out / "fleet-summary.yaml"}

    # One endpoint (the dashboard's `e`): its three files and no fleet summary.
    alone = analyst.write_snapshot(analyst.analyse(fleet), tmp_path / "one", keys={churn.key})
    assert {p.name for p in alone.files} == {
        "churn-predictor-prod.current.yaml", "churn-predictor-prod.target.yaml",
        "churn-predictor-prod.rationale.md"}
    assert alone.summary is None and set(alone.written) == set(alone.files)


def test_hand_edited_profile_gets_one_line_naming_the_field(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    out = tmp_path / "p"
    assert main(["snapshot", "--demo", "-o", str(out)]) == 0
    path = out / "us-east-1" / "web-ranker-prod.current.yaml"
    text = path.read_text()
    broken = path.with_name("broken.yaml")
    broken.write_text(text.replace("schema_version: 1", "schema_version: one"))
    capsys.readouterr()
    assert main(["profile", "validate", str(broken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.yaml" in err[0] and "schema_version" in err[0]


def test_profile_schema_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["type"] == "object" and "variants" in schema["properties"]


def test_bad_advisor_setting_is_one_line_and_exit_2(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[advisors]\nno_such_threshold = 3\n")
    assert main(["--config", str(config), "report", "--demo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "advisors" in err[0] and "no_such_threshold" in err[0]
