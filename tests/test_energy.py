"""Energy and carbon estimates: the model on hand-computed cases, the coefficient file, and the
figures carried through findings, the report and the profile files."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from advisors.carbon import endpoint_footprint
from advisors.finding import FindingKind
from ground.catalog import instance_specs
from ground.energy import (
    coefficients,
    grid_factor,
    instance_power,
    instances_footprint,
    serverless_footprint,
)
from pipeline.analysis import Analyst
from pipeline.report import fleet_report
from profiles.files import read_profile
from tests.fleet_factory import (
    EndpointPlan,
    Pattern,
    VariantPlan,
    business_hours_endpoint,
    fleet_of,
    healthy_production,
)

HOURS = 730.0
PUE = 1.135
US_EAST_1 = 0.415755  # kgCO2e per kWh, the coefficient set's current figure
US_EAST_1_ALT = 0.379069  # the methodology's older edition: the low end
LIFESPAN_H = 35040.0


def test_idle_cpu_endpoint_by_hand() -> None:
    # ml.m5.xlarge: 4 vCPUs of Skylake (0.65-4.26 W each), 16 GiB of which 8 beyond what the
    # SPECpower servers hold (2 GiB per vCPU) at 0.392 W/GiB; 2 % mean CPU.
    watts = 4 * (0.65 + 0.02 * (4.26 - 0.65)) + 8 * 0.392
    kwh = watts * HOURS / 1000 * PUE
    embodied = 1610.38 * 4 / 96 / LIFESPAN_H * HOURS  # m5 host, shared by vCPUs over 4 years
    found = instances_footprint("ml.m5.xlarge", 1, "us-east-1", 0.02, None)
    assert found is not None
    assert found.kwh == pytest.approx(kwh)
    assert found.embodied_kgco2e == pytest.approx(embodied)
    assert found.kgco2e == pytest.approx(kwh * US_EAST_1 + embodied)
    # The low end: the alternate Skylake edition (0.43-3.438 W) and the older grid factor.
    low_watts = 4 * (0.43 + 0.02 * (3.438 - 0.43)) + 8 * 0.392
    low_kwh = low_watts * HOURS / 1000 * PUE
    assert found.kwh_low == pytest.approx(low_kwh)
    assert found.kgco2e_low == pytest.approx(low_kwh * US_EAST_1_ALT + embodied)
    assert found.kgco2e_low < found.kgco2e <= found.kgco2e_high
    assert found.text.startswith("~3.5 kgCO2e/month (")
    # Two instances, twice the month; idle capacity is not free.
    two = instances_footprint("ml.m5.xlarge", 2, "us-east-1", 0.02, None)
    assert two is not None and two.kgco2e == pytest.approx(2 * found.kgco2e)


def test_busy_gpu_endpoint_by_hand() -> None:
    # ml.g5.12xlarge: 48 vCPUs of AMD EPYC 2nd Gen (0.47-1.69 W), 192 GiB (48 x 1.33 held by
    # SPECpower servers), 4 A10G at 18-153 W; CPU 30 %, GPU 70 % on average.
    watts = (48 * (0.47 + 0.3 * (1.69 - 0.47)) + (192 - 48 * 1.33) * 0.392
             + 4 * (18 + 0.7 * (153 - 18)))
    kwh = watts * HOURS / 1000 * PUE
    embodied = 3434.0 * 48 / 192 / LIFESPAN_H * HOURS
    found = instances_footprint("ml.g5.12xlarge", 1, "us-east-1", 0.3, 0.7)
    assert found is not None
    assert found.kwh == pytest.approx(kwh)
    assert found.kgco2e == pytest.approx(kwh * US_EAST_1 + embodied)
    # The GPUs dominate: idle they would draw a small part of it.
    idle = instances_footprint("ml.g5.12xlarge", 1, "us-east-1", 0.3, 0.0)
    assert idle is not None and idle.kwh < 0.5 * found.kwh
    # The same instance in a low-carbon grid emits less for the same energy.
    nordic = instances_footprint("ml.g5.12xlarge", 1, "eu-north-1", 0.3, 0.7)
    assert nordic is not None and nordic.kwh == pytest.approx(found.kwh)
    # Embodied emissions are the same wherever the host runs; the grid's part is not.
    assert nordic.embodied_kgco2e == pytest.approx(found.embodied_kgco2e)
    assert (nordic.kgco2e - nordic.embodied_kgco2e
            < (found.kgco2e - found.embodied_kgco2e) / 10)


def test_serverless_from_the_compute_it_bills_by_hand() -> None:
    # 2,048 MB for 10 busy hours a month: 2048/1792 vCPUs (AWS Lambda's ratio, CCF's rule) at
    # CCF's AWS average watts at 50 % (0.74-3.5 W), plus 2 GiB of memory.
    vcpus = 2048 / 1792
    watts = vcpus * (0.74 + 0.5 * (3.5 - 0.74)) + 2 * 0.392
    kwh = watts * 10 / 1000 * PUE
    embodied = 1610.38 * vcpus / 96 / LIFESPAN_H * 10
    found = serverless_footprint(2048, 36_000, "us-east-1")
    assert found.kwh == pytest.approx(kwh)
    assert found.kgco2e == pytest.approx(kwh * US_EAST_1 + embodied)
    # Utilisation while busy is not measured: the range spans idle to full load.
    assert found.kwh_low == pytest.approx((vcpus * 0.45 + 2 * 0.392) * 10 / 1000 * PUE)
    assert found.kwh_high == pytest.approx((vcpus * 5.42 + 2 * 0.392) * 10 / 1000 * PUE)
    assert any("1,792 MB per vCPU" in note for note in found.notes)
    assert serverless_footprint(2048, 0, "us-east-1").kgco2e == 0.0


def test_unknown_things_are_unknown_or_said_to_be_estimates() -> None:
    assert instances_footprint("ml.x99.huge", 1, "us-east-1", 0.5, None) is None
    found = instances_footprint("ml.inf2.xlarge", 1, "us-east-1", 0.2, None)
    assert found is not None
    assert any("AWS publishes no board power for Inferentia2" in n for n in found.notes)
    assert any("utilisation not measured" in n for n in found.notes)
    assert found.kgco2e_high > 2 * found.kgco2e_low  # a wide range, as it should be
    # A region without a grid factor: the set's mean, said so.
    far = instances_footprint("ml.m5.xlarge", 1, "xx-nowhere-1", 0.1, None)
    assert far is not None and any("no grid factor" in n for n in far.notes)
    assert grid_factor("eu-north-1").central == pytest.approx(0.008)


def test_the_coefficient_file_is_versioned_sourced_and_covers_the_catalogue() -> None:
    raw = tomllib.loads(resources.files("ground").joinpath(
        "data/energy-coefficients.toml").read_text("utf-8"))
    assert raw["version"] and raw["retrieved"]
    data = coefficients()
    for name, group in [*data.microarchitectures.items(), *data.accelerators.items()]:
        assert group.source in data.sources, name
    for name, source in data.sources.items():
        assert source.url.startswith("https://") or name == "unsourced", name
    # Every hosting type sagetop knows gets an estimate: CPU, GPU, Inferentia, Trainium, Gaudi.
    for spec in instance_specs().values():
        assert spec.family in data.families, spec.instance_type
        assert instance_power(spec, 0.5, 0.5) is not None, spec.instance_type


def test_every_saving_finding_carries_its_carbon_and_options_theirs() -> None:
    fleet = fleet_of(healthy_production(variants=(VariantPlan(
        instance_type="ml.c5.4xlarge", instance_count=4, cpu_peak_pct=12.0,
        memory_pct=20.0),)), business_hours_endpoint(variants=(VariantPlan(
            instance_type="ml.c5.2xlarge", instance_count=2, memory_pct=60.0),)))
    analysis = Analyst().analyse(fleet)
    findings = [f for a in analysis.endpoints.values() for f in a.findings]
    saving = [f for f in findings if f.monthly_savings_usd]
    assert {f.kind for f in saving} >= {FindingKind.OVER_PROVISIONED,
                                        FindingKind.OFF_HOURS_CANDIDATE}
    for finding in saving:
        assert finding.monthly_savings_kgco2e is not None, finding.kind
        # The saving has the dollar saving's sign: both come from the same change.
        assert (finding.monthly_savings_kgco2e > 0) == (finding.monthly_savings_usd > 0)
        assert all(o.monthly_kgco2e is not None for o in finding.options), finding.kind
    downsize = next(f for f in saving if f.kind is FindingKind.OVER_PROVISIONED)
    current, chosen = downsize.options[0], downsize.options[1]
    assert current.monthly_kgco2e is not None and chosen.monthly_kgco2e is not None
    assert downsize.monthly_savings_kgco2e == pytest.approx(
        current.monthly_kgco2e - chosen.monthly_kgco2e, abs=0.01)
    assert "kgCO2e/month" in downsize.rationale


def test_carbon_round_trips_through_the_report_and_the_profile_files(tmp_path: Path) -> None:
    plan = EndpointPlan(name="ranker", pattern=Pattern.DIURNAL, variants=(VariantPlan(
        instance_type="ml.g5.2xlarge", instance_count=2, cpu_peak_pct=30.0, gpu_idle_pct=5.0,
        gpu_peak_pct=60.0, gpu_memory_pct=40.0),))
    fleet = fleet_of(plan, business_hours_endpoint(variants=(VariantPlan(
        instance_type="ml.c5.2xlarge", instance_count=2, memory_pct=60.0),)))
    analyst = Analyst()
    analysis = analyst.analyse(fleet)
    item = analysis.endpoints["us-east-1/ranker"]
    footprint = endpoint_footprint(fleet.endpoints[0], fleet)
    assert footprint is not None and item.footprint == footprint

    report = json.loads(json.dumps(fleet_report(fleet, analysis)))
    entry = next(e for e in report["endpoints"] if e["name"] == "ranker")
    assert entry["energy"]["kgco2e"] == pytest.approx(footprint.kgco2e)
    assert entry["energy"]["kwh_low"] == pytest.approx(footprint.kwh_low)
    assert entry["energy"]["estimate"] is True and "kgCO2e/month" in entry["energy"]["text"]
    summary = report["summary"]
    assert summary["monthly_carbon_kgco2e"] == pytest.approx(analysis.carbon.kgco2e)
    assert summary["greenest_changes"] and summary["top_changes_by_usd"]
    assert "Cloud Carbon Footprint" in summary["carbon_coefficients"]

    analyst.write_snapshot(analysis, tmp_path)
    current = read_profile(tmp_path / "us-east-1" / "ranker.current.yaml")
    assert current.monthly_carbon_kgco2e.value == pytest.approx(footprint.kgco2e, abs=0.001)
    assert current.carbon is not None
    assert current.carbon.kgco2e_high == pytest.approx(footprint.kgco2e_high, abs=0.001)
    assert current.carbon.coefficients == footprint.coefficients
    office = read_profile(tmp_path / "us-east-1" / "backoffice-classifier.target.yaml")
    before = read_profile(tmp_path / "us-east-1" / "backoffice-classifier.current.yaml")
    saved = analysis.endpoints["us-east-1/backoffice-classifier"].monthly_savings_kgco2e
    assert saved is not None and saved > 0
    assert office.monthly_carbon_kgco2e.value == pytest.approx(
        (before.monthly_carbon_kgco2e.value or 0.0) - saved, abs=0.001)
    rationale = (tmp_path / "us-east-1" / "ranker.rationale.md").read_text("utf-8")
    assert "## Energy and carbon: method and sources" in rationale
    assert "cloud-carbon-footprint" in rationale
    markdown = (tmp_path / "fleet-summary.md").read_text("utf-8")
    assert "## Greenest changes (by kgCO2e saved, estimates)" in markdown
    assert "## Top changes by dollars saved" in markdown


def test_the_plans_one_carbon_figure_and_the_greenest_changes(tmp_path: Path) -> None:
    # Two endpoints whose plans save: a resize (production) and an off-hours schedule (dev).
    fleet = fleet_of(healthy_production(variants=(VariantPlan(
        instance_type="ml.c5.4xlarge", instance_count=4, cpu_peak_pct=12.0,
        memory_pct=20.0),)), business_hours_endpoint(variants=(VariantPlan(
            instance_type="ml.c5.2xlarge", instance_count=2, memory_pct=60.0),)))
    analyst = Analyst()
    analysis = analyst.analyse(fleet)
    plans = [a.plan for a in analysis.endpoints.values()]
    kg = [p.monthly_kgco2e_saved for p in plans if p.monthly_kgco2e_saved is not None]
    assert len(kg) == 2 and all(k > 0 for k in kg)
    # One figure for the fleet: the sum of the plans, as each plan sums its chosen options.
    assert analysis.total_savings_kgco2e == pytest.approx(sum(kg), abs=0.001)
    for plan in plans:
        assert plan.monthly_kgco2e_saved == pytest.approx(
            sum(o.monthly_kgco2e_saved or 0.0 for o in plan.chosen), abs=0.001)
    summary = json.loads(json.dumps(fleet_report(fleet, analysis)))["summary"]
    assert summary["monthly_savings_kgco2e"] == analysis.total_savings_kgco2e
    assert summary["plans"]["monthly_kgco2e_saved"] == analysis.total_savings_kgco2e
    # The greenest changes are the plans' chosen options, largest kgCO2e first, with the
    # figures the plans count (no second source of savings).
    greenest = summary["greenest_changes"]
    chosen = {(p.endpoint, o.label): o for p in plans for o in p.chosen}
    assert [c["monthly_savings_kgco2e"] for c in greenest] == sorted(
        (c["monthly_savings_kgco2e"] for c in greenest), reverse=True)
    assert {c["kind"] for c in greenest} == {"over-provisioned", "off-hours-candidate"}
    for change in [*greenest, *summary["top_changes_by_usd"]]:
        option = chosen[(change["endpoint"], change["option"])]
        assert change["monthly_savings_kgco2e"] == option.monthly_kgco2e_saved
        assert change["monthly_savings_usd"] == option.monthly_savings_usd
    analyst.write_snapshot(analysis, tmp_path)
    written = (tmp_path / "fleet-summary.md").read_text("utf-8")
    assert "- Carbon the plans save (estimate): ~" in written
    target = read_profile(tmp_path / "us-east-1" / "backoffice-classifier.target.yaml")
    schedule = target.variants[0].off_hours_schedule.value
    assert schedule is not None and schedule.night == 1
