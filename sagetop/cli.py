"""The `sagetop` command: the dashboard, the demo, the headless report.

Exit codes: 0 ok, 2 usage or configuration error, 1 anything else, always with one line on stderr
(`profile diff`: 1 when the files differ, 2 when one cannot be read). A termination signal
(SIGTERM, SIGHUP) unwinds the command like Ctrl-C, so its cleanup runs, and exits 128 + signal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import traceback
from collections.abc import Iterator, Sequence
from typing import Any

from ground.config import SagetopConfig, load_config
from ground.errors import ExitCode, SagetopError, UsageError
from ground.untrusted import inert
from sagetop import __version__

# A stderr line says what went wrong and where; past this it is a page, not a line.
ERROR_LINE_CHARACTERS = 400

DEMO_REGION = "us-east-1"


def _aws_options(parser: argparse.ArgumentParser, top: bool) -> None:
    # Defaults are suppressed on sub-commands so an option given before the command survives.
    default: Any = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("AWS and configuration (as in the AWS CLI)")
    group.add_argument("--config", metavar="PATH", default=default,
                       help="configuration file (default: $SAGETOP_CONFIG, then "
                            "~/.config/sagetop/config.toml, then built-in defaults)")
    group.add_argument("--profile", default=default,
                       help="named AWS profile (default: $AWS_PROFILE or the default chain)")
    group.add_argument("--region", action="append", metavar="REGION",
                       default=[] if top else argparse.SUPPRESS,
                       help="region to watch; repeat for several (default: $AWS_REGION)")
    group.add_argument("--endpoint-url", metavar="URL", default=default,
                       help="send AWS requests to this URL (default: $AWS_ENDPOINT_URL)")


def _demo_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoints", type=int, metavar="N", default=None,
                        help="scale the simulated fleet to N endpoints (default: the archetypes)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated fleet")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagetop",
        description="Watch SageMaker inference endpoints live and right-size them. "
                    "Read-only: sagetop never changes anything in an AWS account.",
    )
    parser.add_argument("--version", action="version", version=f"sagetop {__version__}")
    _aws_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    dashboard = commands.add_parser("dashboard", help="open the live dashboard (the default)")
    _aws_options(dashboard, top=False)

    demo = commands.add_parser("demo", help="open the dashboard on a simulated account")
    _aws_options(demo, top=False)
    _demo_options(demo)

    report = commands.add_parser("report", help="collect once and print the fleet")
    _aws_options(report, top=False)
    report.add_argument("--format", choices=("table", "json"), default="table")
    report.add_argument("--demo", action="store_true", help="report on the simulated account")
    _demo_options(report)

    snapshot = commands.add_parser(
        "snapshot", help="write every endpoint's ML profile (current, target) and rationale")
    _aws_options(snapshot, top=False)
    snapshot.add_argument("-o", "--output", metavar="DIR", default="sagetop-profiles",
                          help="directory to write into (default: ./sagetop-profiles)")
    snapshot.add_argument("--demo", action="store_true", help="use the simulated account")
    snapshot.add_argument("--allow-empty", action="store_true",
                          help="write a fleet of no endpoints even over an earlier export")
    _demo_options(snapshot)

    profile = commands.add_parser("profile", help="work with ML profile files")
    profile_commands = profile.add_subparsers(dest="profile_command", metavar="ACTION",
                                              required=True)
    diff = profile_commands.add_parser(
        "diff", help="what changes from profile A to profile B (exit 1: they differ, "
                     "2: one cannot be read)")
    diff.add_argument("a", metavar="A")
    diff.add_argument("b", metavar="B")
    validate = profile_commands.add_parser("validate", help="check profile files")
    validate.add_argument("files", metavar="FILE", nargs="+")
    profile_commands.add_parser("schema", help="print the profile's JSON Schema")

    prices = commands.add_parser("prices", help="the price catalogue")
    price_commands = prices.add_subparsers(dest="prices_command", metavar="ACTION",
                                           required=True)
    refresh = price_commands.add_parser(
        "refresh", help="rebuild the price cache from the AWS Price List API (a read)")
    _aws_options(refresh, top=False)
    price_commands.add_parser("show", help="where prices come from, and the cached regions")

    commands.add_parser("iam-policy",
                        help="print the least-privilege IAM policy for what sagetop calls")
    return parser


def _target(args: argparse.Namespace, demo: bool) -> Any:
    from collectors.aws import AwsTarget

    if not demo:
        return AwsTarget(profile=args.profile, regions=tuple(args.region or ()),
                         endpoint_url=args.endpoint_url)
    from simulator import SimulatedAccount

    regions = tuple(args.region or ()) or (DEMO_REGION,)
    account = SimulatedAccount(endpoints=getattr(args, "endpoints", None),
                               seed=getattr(args, "seed", 7), regions=regions)
    return AwsTarget(regions=regions, simulated=True, prepare_session=account.install)


async def _collect_once(config: SagetopConfig, target: Any) -> Any:
    from collectors.aws import AwsContext
    from collectors.fleet import FleetCollector

    async with AwsContext(config, target) as aws:
        return await FleetCollector(aws).collect(force=True)


def error_line(text: str) -> str:
    """One inert line for stderr: outside text (AWS messages, file contents) included."""
    return f"sagetop: error: {inert(text, one_line=True, limit=ERROR_LINE_CHARACTERS)}"


def _distinct(lines: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def _listing_failures(fleet: Any) -> list[str]:
    """The errors that mean the collection did not see the fleet: credentials, the inventory."""
    lines = []
    for error in fleet.errors:
        if error.source == "credentials":
            lines.append(error.message)
        elif error.operation == "ListEndpoints":
            lines.append(f"{error.region}: {error.message}")
    return _distinct(lines)


def run_report(args: argparse.Namespace, config: SagetopConfig, origin: str) -> int:
    from pipeline.analysis import Analyst
    from pipeline.report import findings_table, fleet_report, fleet_table

    analyst = Analyst(config, origin=origin)  # a bad [advisors] section fails before AWS
    fleet = asyncio.run(_collect_once(config, _target(args, demo=args.demo)))
    failures = _listing_failures(fleet)
    unlisted = {e.region for e in fleet.errors if e.operation == "ListEndpoints"}
    if any(e.source == "credentials" for e in fleet.errors) or (
            failures and set(fleet.regions) <= unlisted):
        # Nothing was seen: an empty table and "$0/month" would read as an empty account.
        for line in failures:
            print(error_line(line), file=sys.stderr)
        return ExitCode.FAILURE
    analysis = analyst.analyse(fleet)
    if args.format == "json":
        print(json.dumps(fleet_report(fleet, analysis), indent=2, sort_keys=False))
    else:
        print(fleet_table(fleet))
        print()
        print(findings_table(analysis))
    for line in failures:
        print(error_line(line), file=sys.stderr)
    return ExitCode.FAILURE if failures else ExitCode.OK


def run_snapshot(args: argparse.Namespace, config: SagetopConfig, origin: str) -> int:
    from pathlib import Path

    from pipeline.analysis import Analyst

    analyst = Analyst(config, origin=origin)
    fleet = asyncio.run(_collect_once(config, _target(args, demo=args.demo)))
    out_dir = Path(args.output)
    # Refused (exit 1, nothing written) when the collection failed or found nothing where the
    # directory holds a fleet: see pipeline.export_guard.
    written = analyst.write_snapshot(analyst.analyse(fleet), out_dir,
                                     allow_empty=args.allow_empty)
    for line in _distinct([f"{e.region}: {e.message}" for e in fleet.errors]):
        print(f"warning: {inert(line, one_line=True, limit=ERROR_LINE_CHARACTERS)}",
              file=sys.stderr)
    print(f"wrote {len(written)} files for {len(fleet.endpoints)} endpoints to "
          f"{inert(str(out_dir), one_line=True)}")
    return ExitCode.OK


def run_profile(args: argparse.Namespace) -> int:
    from pathlib import Path

    from profiles.diff import diff_profiles, render_diff
    from profiles.files import profile_schema_text, read_profile

    if args.profile_command == "schema":
        sys.stdout.write(profile_schema_text())
        return ExitCode.OK
    if args.profile_command == "validate":
        for name in args.files:
            profile = read_profile(Path(name))  # raises a one-line ProfileError (exit 2)
            # The endpoint and region are the file's: as untrusted as the rest of it.
            print(inert(f"{name}: valid {profile.kind.value} profile of {profile.key}",
                        one_line=True, limit=ERROR_LINE_CHARACTERS))
        return ExitCode.OK
    a, b = read_profile(Path(args.a)), read_profile(Path(args.b))
    differences = diff_profiles(a, b)
    print(render_diff(args.a, args.b, differences))
    return ExitCode.FAILURE if differences else ExitCode.OK


def run_prices(args: argparse.Namespace, config: SagetopConfig) -> int:
    from collectors.prices import refresh_prices
    from ground.pricing import PriceBook

    if args.prices_command == "show":
        book = PriceBook.load()
        print(inert(book.source))  # the cache file's text, as any file's
        for warning in book.warnings:
            print(f"warning: {inert(warning, one_line=True, limit=ERROR_LINE_CHARACTERS)}",
                  file=sys.stderr)
        return ExitCode.OK

    async def refresh() -> Any:
        from collectors.aws import AwsContext

        async with AwsContext(config, _target(args, demo=False)) as aws:
            return await refresh_prices(aws, aws.regions)

    result = asyncio.run(refresh())
    counts = ", ".join(f"{r}: {n}" for r, n in sorted(result.prices_by_region.items()))
    print(inert(f"wrote {result.path} ({counts})", one_line=True))
    if result.new_types:
        # Instance type names from the Price List API: outside text like any other.
        print(inert(f"specs of {len(result.new_types)} instance type(s) newer than the bundled "
                    f"catalogue: {', '.join(result.new_types)}", one_line=True))
    for warning in result.warnings:
        print(f"warning: {inert(warning, one_line=True, limit=ERROR_LINE_CHARACTERS)}",
              file=sys.stderr)
    return ExitCode.OK


def run_dashboard(args: argparse.Namespace, config: SagetopConfig, demo: bool) -> int:
    from tui.app import SagetopApp

    app = SagetopApp(config=config, target=_target(args, demo=demo))
    app.run()  # restores the terminal on every exit, a termination signal's included
    return app.return_code or ExitCode.OK


def dispatch(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("config", "profile", "endpoint_url"):
        if not hasattr(args, name):
            setattr(args, name, None)
    if not hasattr(args, "region"):
        args.region = []
    if getattr(args, "endpoints", None) is not None and args.endpoints < 1:
        raise UsageError("--endpoints: expected a whole number of at least 1")
    command = args.command or "dashboard"
    if command == "profile":
        return run_profile(args)  # works on files alone: no configuration, no AWS
    if command == "iam-policy":
        from collectors.iam import policy_json

        sys.stdout.write(policy_json())
        return ExitCode.OK
    config, path = load_config(args.config)
    origin = str(path) if path else "built-in configuration"
    if command == "report":
        return run_report(args, config, origin)
    if command == "snapshot":
        return run_snapshot(args, config, origin)
    if command == "prices":
        return run_prices(args, config)
    return run_dashboard(args, config, demo=command == "demo")


class Terminated(SystemExit):
    """A termination signal, raised where the program is so that every cleanup on the way out
    runs (an export's temporaries, the terminal's modes); exits 128 + the signal's number."""


def _terminate(signum: int, _frame: object) -> None:
    raise Terminated(128 + signum)


@contextlib.contextmanager
def _termination_unwinds() -> Iterator[None]:
    names = ("SIGTERM", "SIGHUP")
    signals = [s for s in (getattr(signal, n, None) for n in names) if s is not None]
    try:
        previous = {s: signal.signal(s, _terminate) for s in signals}
    except ValueError:  # not the main thread (a test calling main): leave signals alone
        yield
        return
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def main(argv: Sequence[str] | None = None) -> int:
    with _termination_unwinds():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    try:
        return dispatch(argv)
    except SagetopError as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `sagetop report | head`: the reader left; stop quietly, as Unix tools do.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("SAGETOP_DEBUG"):
            traceback.print_exc()
        print(error_line(f"unexpected {type(exc).__name__}: {exc} "
                         "(set SAGETOP_DEBUG=1 for details)"), file=sys.stderr)
        return int(ExitCode.FAILURE)
