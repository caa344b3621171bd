"""One hostile corpus through every output path: no byte from outside reaches a terminal raw.

The same strings (terminal escapes that clear the screen, write the clipboard through OSC 52 or
plant an OSC 8 link, C1 controls, bidi overrides and isolates, zero-width characters, line breaks
and an HTML error page) are put wherever text from outside enters: endpoint and variant names,
tags, failure reasons, Model Monitor findings, an API's error message, a profile file, a config
file, an endpoint that answers with them. Each output is then read back: the report (table, JSON,
stderr), the export (YAML, Markdown), `profile validate` and `profile diff`, every screen of the
dashboard and its problem line, and botocore's debug log.
"""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

import simulator
from collectors.aws import AwsContext, AwsTarget
from collectors.fleet import FleetCollector
from ground.config import AwsSettings
from ground.untrusted import inert
from sagetop.cli import main
from simulator import SimulatedAccount, SimVariant
from tests.conftest import REGION
from tests.fake_servers import Answer, fake_aws
from tests.test_tui_support import demo_app, wait_for_analysis, wait_until
from tui.app import SagetopApp
from tui.screens.endpoint import TABS, EndpointScreen
from tui.screens.summary import SummaryScreen

ESCAPES = ("\x1b]52;c;aGFja2Vk\x07"  # OSC 52: overwrite the clipboard
           "\x1b[2J\x1b[H"  # clear the screen, cursor home
           "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\"  # OSC 8 hyperlink
           "\x9b31m\x90q\x9c")  # C1 CSI and DCS
INVISIBLE = "\u202eevil\u202c \u2066iso\u2069 zero\u200bwidth\u200d\ufeff \u2028sep\u2029"
BREAKS = "first\r\nsecond\rthird\n"
HTML = ("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
        "<script>alert(1)</script><h1>502</h1></body></html>")
HOSTILE = f"{ESCAPES}{INVISIBLE} {BREAKS}{HTML}"
# An endpoint name within SageMaker's 63 characters, so every API call with it still goes out.
NAME = "ev\x1b]52;c;aGk=\x07il\u202eeman\u200bx"
COMPONENT = "chat\x1b[2J\u202ellama\u200b"
VARIANT = "Var\x1b[31m\u2066iant"

FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e"
                       "\u2060-\u2064\u2066-\u206f\ufeff]")


def assert_inert(text: str, where: str, *, one_line: bool = False, error: bool = True) -> None:
    """No unsafe character; with `one_line`, no line break inside, and for an error line no
    HTML page either (data, a tag's value in a diff, may hold the text "<html>")."""
    found = FORBIDDEN.search(text)
    if found is not None:
        context = text[max(0, found.start() - 60):found.end() + 20]
        pytest.fail(f"{where}: {found.group()!r} at ...{context!r}")
    if one_line:
        assert "\n" not in text.rstrip("\n"), f"{where}: a line break inside one line"
    if one_line and error:
        assert "<script" not in text and "<html" not in text.lower(), f"{where}: an HTML page"


def hostile_account(*args: Any, **kwargs: Any) -> SimulatedAccount:
    account = SimulatedAccount(*args, **kwargs)
    web = account.endpoint("web-ranker-prod")
    web.tags.update({"owner": HOSTILE, f"k{ESCAPES}": INVISIBLE})
    template = account.endpoint("checkout-upsell-prod")
    account.create_endpoint(replace(
        template, name=NAME, status="Failed", failure_reason=HOSTILE,
        tags={"team": HOSTILE},
        variants=[SimVariant(VARIANT, "ml.m5.large", 2, peak_rpm=30)]))
    credit = account.endpoint("credit-risk-prod")
    assert credit.monitor is not None
    credit.monitor.violations = [{"feature_name": f"income{ESCAPES}",
                                  "constraint_check_type": f"drift{INVISIBLE}",
                                  "description": HOSTILE}]
    # Inference Recommender: a job's name, its failed benchmark's reason.
    advised = next(e for e in account.fleet.values() if e.recommender_jobs)
    variant, job = advised.recommender_jobs[0]
    advised.recommender_jobs = ((variant, replace(
        job, name="job\x1b[31m\u202ex", failure_reason=HOSTILE,
        failed_types=(("ml.c5.large", HOSTILE),))),)
    # An inference component's name (its row under the endpoint, the pane, the report table).
    llm = account.endpoint("llm-assistants-prod")
    llm.components[0] = replace(llm.components[0], name=COMPONENT)
    # An API error whose message carries the corpus (any proxy or emulator can send one).
    account.faults.add("sagemaker:ListTrainingJobs", "error", status=400,
                       code="ValidationException", message=HOSTILE)
    return account


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simulator, "SimulatedAccount", hostile_account)


@pytest.mark.usefixtures("hostile")
def test_report_table_json_and_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--demo"]) == 0
    captured = capsys.readouterr()
    assert "ev?]52;c;aGk=?il?eman?x" in captured.out  # the endpoint is there, inert
    assert "chat?[2J?lla" in captured.out  # and the component, cut to its column
    assert_inert(captured.out, "report table")
    assert_inert(captured.err, "report stderr")
    for line in captured.out.splitlines():
        assert_inert(line, "report table line", one_line=True, error=False)

    assert main(["report", "--demo", "--format", "json"]) == 0
    raw = capsys.readouterr().out
    assert raw.isascii()  # every character outside ASCII escaped by JSON itself
    report = json.loads(raw)
    names = {e["name"] for e in report["endpoints"]}
    assert NAME in names  # JSON keeps the data exact
    web = next(e for e in report["endpoints"] if e["name"] == "web-ranker-prod")
    assert web["tags"]["owner"] == HOSTILE
    messages = [e["message"] for e in report["errors"]]
    assert messages and all(FORBIDDEN.search(m) is None and "\n" not in m for m in messages)
    assert any("an HTML page titled '502 Bad Gateway'" in m for m in messages)


def test_an_error_message_on_stderr_is_one_inert_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def failing(*args: Any, **kwargs: Any) -> SimulatedAccount:
        account = SimulatedAccount(*args, **kwargs)
        account.faults.add("sagemaker:ListEndpoints", "error", status=400,
                           code="ValidationException", message=HOSTILE)
        return account

    monkeypatch.setattr(simulator, "SimulatedAccount", failing)
    assert main(["report", "--demo"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert_inert(err, "stderr", one_line=True)
    assert "sagemaker:ListEndpoints failed: ValidationException:" in err


@pytest.mark.parametrize("content_type", ["application/x-amz-json-1.1", "text/html"])
def test_a_hostile_endpoint_url_answer_on_stderr(
        capsys: pytest.CaptureFixture[str], content_type: str) -> None:
    body = (json.dumps({"__type": "ValidationException", "message": HOSTILE}).encode()
            if "json" in content_type else HOSTILE.encode())
    with fake_aws(Answer(400, body, content_type)) as server:
        assert main(["report", "--endpoint-url", server.url, "--region", REGION]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert_inert(err, "stderr", one_line=True)


@pytest.mark.usefixtures("hostile")
def test_export_yaml_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "export"
    assert main(["snapshot", "--demo", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert_inert(captured.out + captured.err, "snapshot output")
    for line in captured.err.splitlines():
        assert_inert(line, "snapshot warning", one_line=True)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 50
    exact = 0
    for path in files:
        text = path.read_text("utf-8")
        assert_inert(text, str(path.relative_to(out)))
        assert "\x1b" not in path.name and FORBIDDEN.search(path.name) is None
        if path.suffix == ".yaml":
            loaded = yaml.safe_load(text)
            if loaded.get("endpoint") == NAME:  # escaped in the file, exact when read
                assert loaded["tags"]["team"] == HOSTILE
                exact += 1
    assert exact == 2  # current and target


def test_profile_validate_and_diff_of_hostile_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snapshot", "--demo", "-o", str(tmp_path / "export")]) == 0
    capsys.readouterr()
    source = next((tmp_path / "export").rglob("web-ranker-prod.current.yaml"))
    data = yaml.safe_load(source.read_text())
    data["endpoint"] = NAME
    data["tags"] = {"owner": HOSTILE}
    edited = tmp_path / "hostile.current.yaml"
    edited.write_text(yaml.safe_dump(data, allow_unicode=True))  # raw characters in the file
    assert main(["profile", "validate", str(edited)]) == 0
    out = capsys.readouterr().out
    assert "valid current profile of us-east-1/ev?]52" in out
    assert_inert(out, "profile validate", one_line=True)

    assert main(["profile", "diff", str(source), str(edited)]) == 1
    diff = capsys.readouterr().out
    assert "endpoint:" in diff and "tags['owner']" in diff
    assert_inert(diff, "profile diff")
    for line in diff.splitlines():
        assert_inert(line, "profile diff line", one_line=True, error=False)

    data["instance_count"] = HOSTILE  # a bad value is quoted, short and inert
    bad = tmp_path / "bad.current.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True))
    assert main(["profile", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert_inert(err, "profile error", one_line=True)
    assert len(err) < 400


def test_config_and_aws_profile_names_in_errors(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    # A JSON string is a TOML basic string: escapes as \\uXXXX, which TOML decodes.
    config.write_text(f"[aws]\nmax_attempts = {json.dumps(HOSTILE)}\n")
    assert main(["report", "--demo", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert_inert(err, "config error", one_line=True)
    assert "aws.max_attempts" in err and len(err) < 300
    assert main(["report", "--profile", NAME, "--region", REGION]) == 2
    err = capsys.readouterr().err
    assert_inert(err, "profile not found", one_line=True)


def screen_text(app: SagetopApp) -> str:
    """What the terminal would show, as text: the compositor's full frame, unstyled."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system=None, record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)


async def test_every_screen_of_the_dashboard() -> None:
    account = hostile_account()
    app, _ = demo_app(account)
    key = f"{REGION}/{NAME}"
    advised = next(f"{e.region}/{e.name}" for e in account.fleet.values() if e.recommender_jobs)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_analysis(pilot)
        await pilot.pause(0.2)
        fleet = screen_text(app)
        # Inert, and cut to the name column's width at 160 columns.
        assert "ev?]52;c;aGk=?il?eman?" in fleet
        assert "ValidationException" in fleet  # the problem line shows the error, inert
        assert_inert(fleet, "fleet screen")
        problems = app.state.problems()
        assert problems and all(FORBIDDEN.search(p) is None and "\n" not in p for p in problems)
        tabs = [str(n) for n in range(1, len(TABS) + 1)]
        # The hostile endpoint, the Model Monitor violations, the recommender job.
        for opened in (key, f"{REGION}/credit-risk-prod", advised, f"{REGION}/llm-assistants-prod"):
            app.open_endpoint(opened)
            await wait_until(pilot, lambda: isinstance(app.screen, EndpointScreen), "the pane")
            for tab in tabs:
                await pilot.press(tab)
                await pilot.pause(0.1)
                text = screen_text(app)
                assert_inert(text, f"{opened} pane tab {tab}")
                if opened == advised and tab == tabs[-1]:
                    assert "benchmark on ml.c5.large failed" in text  # the job's text is shown
                if opened.endswith("llm-assistants-prod") and tab == "2":
                    assert "chat?[2J?llama?" in text  # the component is listed, inert
            await pilot.press("escape")
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, SummaryScreen), "the summary")
        await pilot.pause(0.2)
        assert_inert(screen_text(app), "summary screen")


async def test_botocores_debug_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    account = hostile_account()
    async with AwsContext(AwsSettings(), AwsTarget(
            regions=account.regions, simulated=True, prepare_session=account.install)) as aws:
        await FleetCollector(aws).collect(force=True)
    records = [r for r in caplog.records if r.name.startswith(("botocore", "aiobotocore"))]
    assert records
    for record in records:
        assert_inert(record.getMessage(), f"log record of {record.name}")


def test_the_sanitiser_covers_every_invisible_character_python_knows() -> None:
    import unicodedata

    for code in range(0x110000):
        character = chr(code)
        if character in "\t\n":
            continue
        if unicodedata.category(character) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            assert inert(character) == "?", f"U+{code:04X} passes"
