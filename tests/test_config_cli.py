"""Configuration lookup and validation, and the CLI's exit codes and one-line errors."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ground.config import SagetopConfig, load_config, parse_config_file
from ground.errors import ConfigError
from sagetop.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_documented_config_is_exactly_the_built_in_default() -> None:
    documented = parse_config_file(ROOT / "config.toml")
    assert documented.model_dump(exclude={"advisors", "maturity", "requirements"}) == \
        SagetopConfig().model_dump(exclude={"advisors", "maturity", "requirements"})


def _is_key(line: str) -> bool:
    return "=" in line and not line.lstrip().startswith("#")


def test_every_documented_key_has_a_comment() -> None:
    """Each key, or the group of consecutive keys it belongs to, has a comment above it."""
    lines = (ROOT / "config.toml").read_text().splitlines()
    for index, line in enumerate(lines):
        if _is_key(line):
            above = index - 1
            while above >= 0 and _is_key(lines[above]):
                above -= 1
            assert above >= 0 and lines[above].lstrip().startswith("#"), f"undocumented: {line}"
    assert tomllib.loads((ROOT / "config.toml").read_text())


def test_documented_thresholds_are_the_built_in_defaults() -> None:
    from advisors.settings import AdvisorSettings
    from ground.requirements import Environment, RequirementsSettings, RequirementValues
    from profiles.maturity import MaturitySettings

    documented = parse_config_file(ROOT / "config.toml")
    assert AdvisorSettings.from_config(documented.advisors, "config.toml") == \
        AdvisorSettings.from_config({}, "default")
    assert MaturitySettings.from_config(documented.maturity, "config.toml") == \
        MaturitySettings.from_config({}, "default")
    stated = RequirementsSettings.from_config(documented.requirements, "config.toml")
    built_in = RequirementsSettings.from_config({}, "default")
    assert stated.default_environment == built_in.default_environment
    for environment in Environment:
        for name in RequirementValues.model_fields:
            assert stated.default_value(environment, name)[0] == \
                built_in.default_value(environment, name)[0], (environment, name)


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "xdg" / "sagetop" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[history]\nlookback_days = 7\n")
    env = tmp_path / "env.toml"
    env.write_text("[history]\nlookback_days = 5\n")
    explicit = tmp_path / "explicit.toml"
    explicit.write_text("[history]\nlookback_days = 3\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert load_config(None)[0].history.lookback_days == 7
    monkeypatch.setenv("SAGETOP_CONFIG", str(env))
    assert load_config(None)[0].history.lookback_days == 5
    assert load_config(str(explicit))[0].history.lookback_days == 3
    monkeypatch.delenv("SAGETOP_CONFIG")
    user.unlink()
    assert load_config(None) == (SagetopConfig(), None)


@pytest.mark.parametrize(("content", "expected"), [
    ("[history]\nlookback_days = 'two weeks'\n", "history.lookback_days: expected a whole number,"
                                                 " got 'two weeks'"),
    ("[history]\nlookback_days = 40\n", "history.lookback_days: expected a number of at most "
                                        "15, got 40"),
    ("[history]\nlookbak_days = 4\n", "history.lookbak_days: unknown key"),
    ("[colours]\n", "colours: unknown key"),
    ("[aws]\nregions = 'us-east-1'\n", "aws.regions: expected a list, got 'us-east-1'"),
    ("[history\n", "not valid TOML"),
])
def test_bad_config_gets_one_line_naming_file_and_key(tmp_path: Path, content: str,
                                                      expected: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        parse_config_file(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_missing_and_binary_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        parse_config_file(tmp_path / "absent.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse_config_file(binary)


def test_cli_bad_config_exits_2_with_one_line(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[refresh]\nlive_seconds = -1\n")
    assert main(["report", "--demo", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("sagetop: error: ") and "refresh.live_seconds" in err
    assert "Traceback" not in err


def test_cli_no_region_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert main(["report"]) == 2
    assert "no AWS region" in capsys.readouterr().err


def test_cli_unknown_profile_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--profile", "nope"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and err.count("\n") == 1


def test_cli_unreachable_endpoint_fails_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # Port 9 on loopback: nothing listens there, so the connection is refused at once.
    code = main(["report", "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1",
                 "--config", str(_fast_fail_config())])
    assert code == 1
    err = capsys.readouterr().err
    assert "cannot reach AWS" in err and "Traceback" not in err


def _fast_fail_config() -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "config.toml"
    path.write_text("[aws]\nmax_attempts = 1\nconnect_timeout_s = 1\n")
    return path


@pytest.mark.parametrize("command", [[], ["report"], ["demo"], ["dashboard"]])
def test_help_on_every_command(command: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "sagetop", *command, "--help"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "usage: sagetop" in result.stdout


def test_version_and_usage_errors() -> None:
    version = subprocess.run([sys.executable, "-m", "sagetop", "--version"],
                             capture_output=True, text=True, check=False)
    assert version.returncode == 0 and version.stdout.startswith("sagetop ")
    bad = subprocess.run([sys.executable, "-m", "sagetop", "report", "--format", "xml"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


COMMANDS = ("dashboard", "demo", "report", "snapshot", "profile", "profile diff",
            "profile validate", "profile schema", "prices", "prices refresh", "prices show",
            "iam-policy")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_describes_it_and_shows_an_example(
        command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([*command.split(), "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    usage, _, rest = text.partition("\n\n")
    description = rest.split("\n\n")[0]
    assert usage.startswith("usage: sagetop") and len(description) > 30, text
    examples = text.split("examples:\n", 1)[1].splitlines()
    assert examples and all(line.startswith(("  sagetop", "  aws "))
                            for line in examples if line.strip()), text
    assert any(line.startswith(f"  sagetop {command.split()[0]}") or command == "dashboard"
               for line in examples), text


def test_snapshot_writes_to_the_xdg_data_directory_not_the_current_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "checkout"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["snapshot", "--demo", "--endpoints", "3"]) == 0
    assert list(work.iterdir()) == []
    written = tmp_path / "xdg-data" / "sagetop" / "profiles"  # conftest's XDG_DATA_HOME
    assert (written / "fleet-summary.md").is_file() and str(written) in capsys.readouterr().out


@pytest.mark.parametrize(("section", "key"), [
    ("[advisors]\ntarget_utilisation_pctt = 50\n", "advisors.target_utilisation_pctt"),
    ("[maturity]\nerror_rate_pct_managed = 'low'\n", "maturity.error_rate_pct_managed"),
    ("[[requirements.rules]]\npattern = 'web-*'\nmin_instances = 'two'\n",
     "requirements.rules[0].min_instances"),
])
@pytest.mark.parametrize("command", [["demo"], ["dashboard"], ["report", "--demo"]])
def test_every_section_is_checked_before_anything_connects(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        section: str, key: str, command: list[str]) -> None:
    """Not after the fleet has loaded, and against the file actually read."""
    from collectors.aws import AwsContext
    from tui.app import SagetopApp

    def connects(*_: object, **__: object) -> None:
        raise AssertionError("an AWS session was made before the configuration was checked")

    monkeypatch.setattr(AwsContext, "__init__", connects)
    monkeypatch.setattr(SagetopApp, "run", connects)
    path = tmp_path / "team.toml"
    path.write_text(section)
    assert main(["--config", str(path), *command]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sagetop: error: {path}: {key}: ") and err.count("\n") == 1


@pytest.mark.parametrize(("section", "expected"), [
    # Retired by the one traffic classification and the one saturation threshold: a file that
    # still names them is refused, not silently ignored.
    ("[advisors]\nbatch_hours_of_day = 4\n", "advisors.batch_hours_of_day: unknown key"),
    ("[maturity]\nutilisation_pct_saturated = 85\n",
     "maturity.utilisation_pct_saturated: unknown key"),
    # Their replacements, checked at start in the same words as every other key.
    ("[advisors]\nperiodic_hours_of_day = 0\n",
     "advisors.periodic_hours_of_day: expected a number of at least 1, got 0"),
    ("[advisors]\nspiky_min_peak_to_median = 'high'\n",
     "advisors.spiky_min_peak_to_median: expected a number, got 'high'"),
])
def test_traffic_and_saturation_keys_are_checked_at_start(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        section: str, expected: str) -> None:
    from collectors.aws import AwsContext

    def connects(*_: object, **__: object) -> None:
        raise AssertionError("an AWS session was made before the configuration was checked")

    monkeypatch.setattr(AwsContext, "__init__", connects)
    path = tmp_path / "team.toml"
    path.write_text(section)
    assert main(["--config", str(path), "report", "--demo"]) == 2
    err = capsys.readouterr().err
    assert err == f"sagetop: error: {path}: {expected}\n"


@pytest.mark.parametrize(("options", "expected"), [
    (["--region", "moon"], "--region: 'moon' is not an AWS region"),
    (["--profile", "nope"], "AWS profile 'nope' (from --profile) is not in"),
    (["--endpoint-url", "localhost:4566"],
     "--endpoint-url: 'localhost:4566' is not an http:// or https:// URL"),
])
def test_usage_errors_exit_2_before_the_dashboard_opens(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        options: list[str], expected: str) -> None:
    from tui.app import SagetopApp

    def opens(*_: object, **__: object) -> None:
        raise AssertionError("the dashboard opened on settings that cannot work")

    monkeypatch.setattr(SagetopApp, "run", opens)
    assert main(["dashboard", *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sagetop: error: {expected}") and err.count("\n") == 1, err
