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
import textwrap
import traceback
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ground import locations
from ground.config import SagetopConfig, load_config
from ground.errors import ExitCode, SagetopError, UsageError
from ground.untrusted import inert
from sagetop import __version__

if TYPE_CHECKING:  # imported where used: `sagetop --help` need not load pandas and botocore
    from collectors.aws import AwsContext, AwsTarget
    from collectors.org import AwsOrganisation
    from ground.domain import FleetSnapshot
    from pipeline.analysis import Analyst
    from pipeline.store import StateStore

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
    group.add_argument("--profile", action="append", metavar="PROFILE",
                       default=[] if top else argparse.SUPPRESS,
                       help="named AWS profile (default: $AWS_PROFILE or the default chain); "
                            "repeat to watch several accounts in one view")
    group.add_argument("--org", action="store_true", default=False if top else argparse.SUPPRESS,
                       help="watch every member account AWS Organizations lists, through the "
                            "[org] role_name assumed from the profile")
    group.add_argument("--region", action="append", metavar="REGION",
                       default=[] if top else argparse.SUPPRESS,
                       help="region to watch; repeat for several (default: $AWS_REGION)")
    group.add_argument("--endpoint-url", metavar="URL", default=default,
                       help="send AWS requests to this URL (default: $AWS_ENDPOINT_URL)")


def _demo_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoints", type=int, metavar="N", default=None,
                        help="scale the simulated fleet to N endpoints (default: the archetypes)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated fleet")
    parser.add_argument("--accounts", type=int, metavar="N", default=None,
                        help="simulate an organisation of N accounts, each its own fleet "
                             "(seeded) and quotas (default: one account)")


def _command(commands: Any, name: str, summary: str, description: str,
             examples: Sequence[str]) -> argparse.ArgumentParser:
    """A sub-command whose --help says what it does and shows how it is used."""
    epilog = "examples:\n" + "".join(f"  {example}\n" for example in examples)
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=textwrap.fill(description, 79), epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser


def _export_dir_option(parser: argparse.ArgumentParser, flags: Sequence[str],
                       dest: str) -> None:
    parser.add_argument(*flags, dest=dest, metavar="DIR", default=None,
                        help="directory the profiles are written to (default: "
                             f"{locations.display(locations.export_dir())}, "
                             "from $XDG_DATA_HOME; never the current directory unasked)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagetop",
        description="Watch SageMaker inference endpoints live and right-size them. "
                    "Read-only: sagetop never changes anything in an AWS account.",
        epilog="examples:\n  sagetop demo\n  sagetop --profile prod --region us-east-1\n"
               "  sagetop report --format json > fleet.json\n"
               "run `sagetop COMMAND --help` for what each command does",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sagetop {__version__}")
    _aws_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    dashboard = _command(
        commands, "dashboard", "open the live dashboard (the default)",
        "Open the live dashboard on the account your AWS configuration points at: every "
        "inference endpoint, what it costs, what it could save and why.",
        ["sagetop", "sagetop dashboard --profile prod --region us-east-1 --region eu-west-1"])
    _aws_options(dashboard, top=False)
    _export_dir_option(dashboard, ("--export-dir",), "export_dir")

    demo = _command(
        commands, "demo", "open the dashboard on a simulated account",
        "Open the dashboard on a simulated account (no AWS account, no network): "
        "the way to try sagetop.",
        ["sagetop demo", "sagetop demo --endpoints 500 --seed 3"])
    _aws_options(demo, top=False)
    _demo_options(demo)
    _export_dir_option(demo, ("--export-dir",), "export_dir")

    report = _command(
        commands, "report", "collect once and print the fleet",
        "Collect the fleet once and print its endpoints and findings, as a table or as JSON.",
        ["sagetop report", "sagetop report --format json | jq '.endpoints | length'",
         "sagetop report --demo"])
    _aws_options(report, top=False)
    report.add_argument("--format", choices=("table", "json"), default="table",
                        help="table (default) or json")
    report.add_argument("--demo", action="store_true", help="report on the simulated account")
    _demo_options(report)

    snapshot = _command(
        commands, "snapshot", "write every endpoint's ML profile (current, target) and rationale",
        "Collect once and write each endpoint's current and target ML profile (YAML), the "
        "rationale for the difference (Markdown) and a fleet summary. Refused (exit 1, nothing "
        "written) when the collection failed, or found no endpoints where the directory holds "
        "an earlier export (--allow-empty writes that empty fleet).",
        ["sagetop snapshot", "sagetop snapshot -o ./profiles --region eu-west-1",
         "sagetop snapshot --demo -o /tmp/demo-profiles"])
    _aws_options(snapshot, top=False)
    _export_dir_option(snapshot, ("-o", "--output"), "output")
    snapshot.add_argument("--demo", action="store_true", help="use the simulated account")
    snapshot.add_argument("--allow-empty", action="store_true",
                          help="write a fleet of no endpoints even over an earlier export")
    _demo_options(snapshot)

    profile = _command(
        commands, "profile", "work with ML profile files",
        "Compare, validate and describe ML profile files (no AWS access).",
        ["sagetop profile diff current.yaml target.yaml", "sagetop profile validate *.yaml",
         "sagetop profile schema > ml-profile.schema.json"])
    profile_commands = profile.add_subparsers(dest="profile_command", metavar="ACTION",
                                              required=True)
    diff = _command(profile_commands, "diff",
                    "what changes from profile A to profile B (exit 1: they differ, "
                    "2: one cannot be read)",
                    "Print what changes from profile A to profile B; exit 1 when they differ, "
                    "2 when one cannot be read (missing, too large, not a profile).",
                    ["sagetop profile diff churn.current.yaml churn.target.yaml"])
    diff.add_argument("a", metavar="A", help="the profile before")
    diff.add_argument("b", metavar="B", help="the profile after")
    validate = _command(profile_commands, "validate", "check profile files",
                        "Check profile files against the schema; one line per file.",
                        ["sagetop profile validate profiles/us-east-1/*/*.yaml"])
    validate.add_argument("files", metavar="FILE", nargs="+", help="profile files (YAML)")
    _command(profile_commands, "schema", "print the profile's JSON Schema",
             "Print the JSON Schema every profile file follows.",
             ["sagetop profile schema > ml-profile.schema.json"])

    prices = _command(
        commands, "prices", "the price catalogue",
        "Where sagetop's prices come from, and refreshing them from the AWS Price List API.",
        ["sagetop prices show", "sagetop prices refresh --region eu-west-1"])
    price_commands = prices.add_subparsers(dest="prices_command", metavar="ACTION",
                                           required=True)
    refresh = _command(
        price_commands, "refresh", "rebuild the price cache from the AWS Price List API (a read)",
        "Fetch on-demand hosting prices for the given regions from the AWS Price List API "
        f"into {locations.display(locations.default_cache_dir())} (needs pricing:GetProducts).",
        ["sagetop prices refresh --region us-east-1 --region eu-west-1"])
    _aws_options(refresh, top=False)
    _command(price_commands, "show", "where prices come from, and the cached regions",
             "Print where prices come from: the bundled list, and the refreshed regions.",
             ["sagetop prices show"])

    cache = _command(
        commands, "cache", "the local state store: what it holds, or delete it",
        "sagetop keeps the last inventory, tags, scaling and metric series of each watched "
        "account-and-region set in a local SQLite file (the [store] section of config.toml), "
        "so a start shows the fleet and its findings at once and asks AWS only for what "
        "changed since. `info` says what each file holds; `clear` deletes them (the next start "
        "is cold).",
        ["sagetop cache info", "sagetop cache clear"])
    _aws_options(cache, top=False)
    cache_commands = cache.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    _command(cache_commands, "info", "each store file: size, schema, what it holds, its age",
             "Print each state store file: its size and schema version, which fleet it is for, "
             "when it was saved, and the endpoints, series and day records it holds.",
             ["sagetop cache info", "sagetop --config team.toml cache info"])
    _command(cache_commands, "clear", "delete sagetop's state store files (one line each)",
             "Delete sagetop's own state store files (and set-aside ones); nothing else in "
             "the directory is touched.",
             ["sagetop cache clear"])

    iam = _command(
        commands, "iam-policy", "print the least-privilege IAM policy for what sagetop calls",
        "Print an IAM identity policy allowing exactly the reads sagetop makes. s3:GetObject "
        "(Model Monitor violation files, model artefact sizes) is limited to the S3 locations "
        "given with --s3; without them the policy names placeholders to replace.",
        ["sagetop iam-policy --s3 s3://ml-models --s3 s3://ml-monitoring/reports/ > policy.json",
         "aws iam create-policy --policy-name sagetop-read --policy-document file://policy.json"])
    iam.add_argument("--s3", action="append", metavar="S3_URI", default=[],
                     help="a bucket or prefix sagetop may read: the model artefacts "
                          "(ModelDataUrl) and Model Monitor outputs (S3Uri); repeat for several")
    iam.add_argument("--cross-account", action="store_true",
                     help="print the member-account role's policy, its trust policy for the "
                          "monitoring principal, and the monitoring side's sts:AssumeRole "
                          "statement (one JSON object)")
    iam.add_argument("--role-name", default="sagetop-read-only",
                     help="the member accounts' role ([org] role_name; default: %(default)s)")
    iam.add_argument("--monitoring-principal", metavar="ARN", default=None,
                     help="who assumes the role: the monitoring account id or role ARN "
                          "(default: a placeholder that trusts nobody until replaced)")
    iam.add_argument("--external-id", default=None,
                     help="require this external ID in the trust policy")
    return parser


def _target(args: argparse.Namespace, demo: bool) -> AwsTarget:
    from collectors.aws import AwsTarget

    if not demo:
        return AwsTarget(profile=args.profile[0] if args.profile else None,
                         regions=tuple(args.region or ()), endpoint_url=args.endpoint_url)

    return _simulated_targets(args)[0]


def _simulated_targets(args: argparse.Namespace) -> list[AwsTarget]:
    """One simulated account, or with --accounts N an organisation of N: account i is seeded
    `seed + i` (its own fleet) and has its own quotas, as AWS's are per account."""
    from collectors.aws import AwsTarget
    from simulator import SimulatedAccount

    regions = tuple(args.region or ()) or (DEMO_REGION,)
    count = getattr(args, "accounts", None) or 1
    seed = getattr(args, "seed", 7)
    targets = []
    for index in range(count):
        account = SimulatedAccount(endpoints=getattr(args, "endpoints", None), seed=seed + index,
                                   regions=regions, account_id=f"{100000000001 + index:012d}")
        targets.append(AwsTarget(regions=regions, simulated=True,
                                 account=f"sim-{index + 1:02d}" if count > 1 else None,
                                 prepare_session=account.install))
    return targets


def _aws(args: argparse.Namespace, config: SagetopConfig, demo: bool
         ) -> AwsContext | AwsOrganisation:
    """The AWS session: an unknown profile, a bad region or URL fails here, before any screen
    (no region at all on entry: the dashboard shows NO REGION, a report exits 2).

    Several accounts (repeated --profile, else config.toml's [[accounts]]; or --org) are one
    `AwsOrganisation`; one profile, or none, is the single-account session it always was.
    """
    from collectors.aws import AwsContext

    if demo and (getattr(args, "accounts", None) or 1) > 1:
        from collectors.org import AwsOrganisation

        return AwsOrganisation(config.aws, _simulated_targets(args), config.cost)
    if not demo:
        from collectors.org import AwsOrganisation, account_targets

        regions = tuple(args.region or ())
        if args.org:
            if len(args.profile) > 1:
                raise UsageError("--org: give one --profile, the account to list members from")
            return AwsOrganisation(config.aws, [], config.cost, discover=_target(args, demo),
                                   org=config.org)
        if len(args.profile) > 1 or (not args.profile and config.accounts):
            targets = account_targets(args.profile, () if args.profile else config.accounts,
                                      regions, args.endpoint_url)
            return AwsOrganisation(config.aws, targets, config.cost)
    return AwsContext(config.aws, _target(args, demo), config.cost)


def _store_identity(args: argparse.Namespace, config: SagetopConfig, demo: bool,
                    aws: AwsContext | AwsOrganisation) -> str:
    """Which fleet a store file is for, from what is known before any AWS call."""
    regions = ",".join(aws.regions or aws.target.regions)
    endpoint_url = aws.target.endpoint_url or config.aws.endpoint_url or ""
    if demo:
        return (f"demo seed {getattr(args, 'seed', 7)}, endpoints "
                f"{getattr(args, 'endpoints', None) or 'archetypes'}, accounts "
                f"{getattr(args, 'accounts', None) or 1}, regions {regions}")
    if args.org:
        who = f"organisation of profile {aws.target.profile or 'default'} role " \
              f"{config.org.role_name}"
    elif len(args.profile) > 1 or (not args.profile and config.accounts):
        entries = [f"profile {p}" for p in args.profile] if args.profile else [
            f"{a.name or ''}:{a.profile or ''}:{a.role_arn or ''}" for a in config.accounts]
        who = "accounts " + ", ".join(entries)
    else:
        who = f"profile {aws.target.profile or 'default'}"
    return f"{who}, regions {regions}" + (f", endpoint {endpoint_url}" if endpoint_url else "")


def _state_store(args: argparse.Namespace, config: SagetopConfig, demo: bool,
                 aws: AwsContext | AwsOrganisation) -> StateStore | None:
    from pipeline.store import StateStore

    if not config.store.enabled:
        return None
    return StateStore.in_directory(config.store.directory(),
                                   _store_identity(args, config, demo, aws),
                                   retention_days=config.store.retention_days,
                                   busy_timeout_s=config.store.busy_timeout_s)


def run_cache(args: argparse.Namespace, config: SagetopConfig) -> int:
    import datetime as dt

    from pipeline.store import inspect_store, store_files

    directory = config.store.directory()
    files = store_files(directory)
    if args.cache_command == "clear":
        if not files:
            print(f"no state store files in {locations.display(directory)}")
        for path in files:
            try:
                path.unlink()
            except FileNotFoundError:
                continue  # its store closed and removed it (a WAL file) meanwhile
            except OSError as exc:
                raise SagetopError(f"{locations.display(path)}: cannot delete: "
                                   f"{exc.strerror}") from None
            print(f"deleted {locations.display(path)}")
        return ExitCode.OK
    stores = [p for p in files if not p.name.endswith(("-wal", "-shm"))]
    if not stores:
        print(f"no state store files in {locations.display(directory)}"
              + ("" if config.store.enabled else " (the store is disabled: [store] enabled)"))
    now = dt.datetime.now(dt.UTC)
    for path in stores:
        info = inspect_store(path)
        if isinstance(info, str):
            print(inert(f"{locations.display(path)}: {info}", one_line=True))
            continue
        saved = ("never saved" if info.saved_at is None else
                 f"saved {_age_words((now - info.saved_at).total_seconds())} ago "
                 f"({info.saved_at:%Y-%m-%d %H:%M} UTC)")
        series = ("no series" if info.series_start is None or info.series_end is None else
                  f"{info.series} series {info.series_start:%Y-%m-%d %H:%M} to "
                  f"{info.series_end:%Y-%m-%d %H:%M} UTC")
        days = ("no day records" if info.first_day is None else
                f"{info.days} day records {info.first_day} to {info.last_day}")
        print(inert(f"{locations.display(path)}: {info.size_bytes / 1e6:.1f} MB, schema "
                    f"v{info.schema_version}, for {info.identity or '?'}; {saved}; "
                    f"{info.endpoints:,} endpoints, {info.components:,} inference components, "
                    f"{series}, {days}", one_line=True, limit=ERROR_LINE_CHARACTERS))
    return ExitCode.OK


def _age_words(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{max(0.0, seconds):.0f}s"


async def _collect_once(config: SagetopConfig, aws: AwsContext | AwsOrganisation
                        ) -> FleetSnapshot:
    from collectors.fleet import FleetCollector
    from collectors.org import AwsOrganisation, OrgCollector

    if isinstance(aws, AwsOrganisation):
        async with aws:
            return await OrgCollector(aws, config.refresh, config.history).collect(force=True)
    async with aws:
        return await FleetCollector(aws, config.refresh, config.history).collect(force=True)


def error_line(text: str) -> str:
    """One inert line for stderr: outside text (AWS messages, file contents) included."""
    return f"sagetop: error: {inert(text, one_line=True, limit=ERROR_LINE_CHARACTERS)}"


def _distinct(lines: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def _listing_failures(fleet: FleetSnapshot) -> list[str]:
    """The errors that mean the collection did not see the fleet: credentials, the inventory."""
    lines = []
    for error in fleet.errors:
        # Which account, when several are watched: the others' data is still there.
        account = f"account {error.account}: " if error.account else ""
        if error.source == "credentials":
            lines.append(f"{account}{error.message}")
        elif error.operation == "ListEndpoints":
            lines.append(f"{account}{error.region}: {error.message}")
    return _distinct(lines)


def run_report(args: argparse.Namespace, config: SagetopConfig, analyst: Analyst) -> int:
    from pipeline.report import findings_table, fleet_report, fleet_table

    fleet = asyncio.run(_collect_once(config, _aws(args, config, demo=args.demo)))
    failures = _listing_failures(fleet)
    if fleet.unseen:
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


def run_snapshot(args: argparse.Namespace, config: SagetopConfig, analyst: Analyst) -> int:
    from pathlib import Path

    fleet = asyncio.run(_collect_once(config, _aws(args, config, demo=args.demo)))
    out_dir = Path(args.output) if args.output else locations.export_dir()
    # Refused (exit 1, nothing written) when the collection failed or found nothing where the
    # directory holds a fleet: see pipeline.export_guard.
    export = analyst.write_snapshot(analyst.analyse(fleet), out_dir,
                                    allow_empty=args.allow_empty)
    for line in _distinct([f"{e.region}: {e.message}" for e in fleet.errors]):
        print(f"warning: {inert(line, one_line=True, limit=ERROR_LINE_CHARACTERS)}",
              file=sys.stderr)
    print(f"wrote {len(export.files)} files for {len(fleet.endpoints)} endpoints to "
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
        return validate_profiles(args.files)
    a, b = read_profile(Path(args.a)), read_profile(Path(args.b))
    differences = diff_profiles(a, b)
    print(render_diff(args.a, args.b, differences))
    return ExitCode.FAILURE if differences else ExitCode.OK


def validate_profiles(names: Sequence[str]) -> int:
    """Every file checked, the schema and a target's cross-field rules: `valid ...` on stdout
    for a good one, one error line per problem on stderr for a bad one (naming the file and
    the field); exit 2 when any file is bad."""
    from pathlib import Path

    from profiles.errors import ProfileError
    from profiles.files import read_profile

    status = ExitCode.OK
    for name in names:
        try:
            profile = read_profile(Path(name))
        except ProfileError as exc:
            for line in exc.lines:
                print(error_line(line), file=sys.stderr)
            status = exc.exit_code
            continue
        # The endpoint and region are the file's: as untrusted as the rest of it.
        print(inert(f"{name}: valid {profile.kind.value} profile of {profile.key}",
                    one_line=True, limit=ERROR_LINE_CHARACTERS))
    return status


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

    from collectors.aws import AwsContext

    async def refresh() -> Any:
        # Prices are public and the same in every account: the one (first) profile's session.
        async with AwsContext(config.aws, _target(args, False), config.cost) as aws:
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


def run_dashboard(args: argparse.Namespace, config: SagetopConfig, analyst: Analyst,
                  demo: bool) -> int:
    from pathlib import Path

    from pipeline.live import LiveSession
    from tui.app import SagetopApp

    export_dir = Path(args.export_dir) if getattr(args, "export_dir", None) else None
    aws = _aws(args, config, demo)
    session = LiveSession(aws, config.refresh, config.history,
                          store=_state_store(args, config, demo, aws))
    app = SagetopApp(session, analyst, export_dir=export_dir)
    app.run()  # restores the terminal on every exit, a termination signal's included
    return app.return_code or ExitCode.OK


def dispatch(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("config", "endpoint_url"):
        if not hasattr(args, name):
            setattr(args, name, None)
    for name in ("region", "profile"):
        if not hasattr(args, name):
            setattr(args, name, [])
    if not hasattr(args, "org"):
        args.org = False
    if getattr(args, "endpoints", None) is not None and args.endpoints < 1:
        raise UsageError("--endpoints: expected a whole number of at least 1")
    if getattr(args, "accounts", None) is not None and not 1 <= args.accounts <= 200:
        raise UsageError("--accounts: expected a whole number from 1 to 200")
    command = args.command or "dashboard"
    if command == "profile":
        return run_profile(args)  # works on files alone: no configuration, no AWS
    if command == "iam-policy":
        from collectors.iam import cross_account_json, policy_json

        if args.cross_account:
            sys.stdout.write(cross_account_json(
                args.s3, role_name=args.role_name, principal=args.monitoring_principal,
                external_id=args.external_id))
        else:
            sys.stdout.write(policy_json(args.s3))
        return ExitCode.OK
    config, path = load_config(args.config)
    origin = str(path) if path else "built-in configuration"
    from pipeline.analysis import AnalysisSettings

    # Every section checked now, before anything connects: a typo in [advisors] is one line
    # naming the file read, not a surprise once the fleet has loaded.
    analysis = AnalysisSettings.from_config(config, origin)
    if command == "prices":
        return run_prices(args, config)
    if command == "cache":
        return run_cache(args, config)
    from pipeline.analysis import Analyst

    analyst = Analyst(analysis)
    if command == "report":
        return run_report(args, config, analyst)
    if command == "snapshot":
        return run_snapshot(args, config, analyst)
    return run_dashboard(args, config, analyst, demo=command == "demo")


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
