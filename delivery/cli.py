"""The command line: ``python -m delivery <command>``."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from delivery import extras
from delivery.cli_args import output_file, positive_speed
from delivery.config.accounts import check_sibling_stacks
from delivery.config.first_deploy import (
    bootstrap_warnings,
    example_value_warnings,
    incident_manager_warnings,
)
from delivery.config.model import Settings
from delivery.config.regions import unlisted_region_problem
from delivery.config.settings import REGION_KEY
from delivery.config.stackfile import PROJECT_ROOT, load_stack, stack_config, stack_secret_values
from delivery.errors import EXIT_MEANINGS, ConfigError, Exit, Problem, SwitchyardError
from delivery.interrupts import first_signal_aborts
from delivery.plans.alarms import worst_case_fault_to_rollback
from delivery.plans.schedule import (
    expected_duration_seconds,
    polls_per_bake,
    worst_case_reaction_seconds,
)
from delivery.rehearsal.scenarios import NAMES
from delivery.streams import surviving_a_closed_pipe

REHEARSAL_EXTRA = extras.EXTRAS["rehearse"]

DESCRIPTION = """\
Switchyard's delivery tools. They read the same stack files
(Pulumi.<stack>.yaml) as `pulumi up`, through one validated configuration
model. `rehearse`, `release --rehearse` and `report --chart` need the
rehearse extra (make rehearse installs it):
pip install -c constraints.txt -e '.[rehearse]'

  check     validate a stack file; print its cutover plan and reaction budgets
  rehearse  the real cutover engine against an embedded AWS emulator
  release   a whole release through the Automation API (or --rehearse on the
            emulator): baseline, stage, smoke, load, promote; one record each
  status    live colour, weights, candidate, alarms, last releases; --watch
            follows a shift
  release-state
            the release-owned keys in the stack file beside the release state in
            SSM; --pull sets the file from it, --push makes the file's the truth
  preview   a stack's changes as a pull-request comment (Automation API, or
            --offline: the program under mocks at a base ref and the tree)
  report    delivery metrics from the release records, with a chart
  incident  the post-incident record of a release that rolled back, as Markdown
  pr-env    environments per pull request: up, destroy, sweep
"""


def _exit_codes() -> str:
    """The one table of exit codes (delivery.errors.Exit), as every command's help ends."""
    lines = ["exit codes:"]
    for code, meaning in EXIT_MEANINGS.items():
        lines += textwrap.wrap(
            meaning, width=HELP_WIDTH, initial_indent=f"  {code:<4} ", subsequent_indent=" " * 7
        )
    return "\n".join(lines) + "\n"


HELP_WIDTH: Final = 80
EXIT_CODES = _exit_codes()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        with first_signal_aborts(), surviving_a_closed_pipe():
            args = _parser().parse_args(argv)
            extras.check(args.command, extras.needed(args))
            with _extra_needed(args.command):
                return _run(args)
    except SwitchyardError as exc:
        said = "refused" if exc.exit_code is Exit.STOPPED else "error"
        print(f"{said}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as interrupt:
        print(interrupted_line(interrupt), file=sys.stderr)
        return Exit.INTERRUPTED


def interrupted_line(interrupt: KeyboardInterrupt) -> str:
    """One line for Ctrl-C, with what the interrupted work left in force (its notes)."""
    notes = getattr(interrupt, "__notes__", [])
    return "interrupted" + (f": {'; '.join(notes)}" if notes else "")


@contextmanager
def _extra_needed(command: str) -> Iterator[None]:
    """A module of an extra missing where extras.needed did not foresee it (a broken install)
    says what to install, as the check before the run does."""
    try:
        yield
    except ModuleNotFoundError as exc:
        extra = extras.extra_of(exc.name or "")
        if extra is None:
            raise
        message = extras.missing_message(command, [str(exc.name)], [extra])
        raise extras.ExtraMissing(message) from exc


def _run(args: argparse.Namespace) -> int:
    if args.command in ("report", "incident"):
        return _release_command(args.command, None, args)
    if args.command == "pr-env":
        from delivery.release.pr_command import run

        return run(args)
    if args.command == "preview":  # reads the stack itself: a failure still writes a comment
        from delivery.release.preview import preview_command

        return preview_command(args)
    settings = load_stack(args.stack)
    if args.command == "check":
        return _check(settings)
    if args.command == "rehearse":
        return _rehearse(settings, args)
    return _release_command(args.command, settings, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m delivery",
        description=DESCRIPTION,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="validate a stack file and print its cutover plan",
        description="Validate Pulumi.<stack>.yaml and print its cutover plan and the worst\n"
        "case from a fault to the rollback for each alarm.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    rehearse = commands.add_parser(
        "rehearse",
        help="run the real cutover engine against an embedded AWS emulator",
        description="Run the real cutover engine against an embedded AWS emulator (moto's\n"
        "server on 127.0.0.1), one scenario at a time, and report each run's outcome,\n"
        "rollback reaction and API calls.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rehearse.add_argument(
        "--stack", default="staging", help="stack whose policy to rehearse (default: staging)"
    )
    rehearse.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help=f"repeatable; one of: {', '.join(NAMES)} "
        "(default: healthy, then fail-at the middle step)",
    )
    rehearse.add_argument(
        "--speed",
        type=positive_speed,
        default=None,
        help="time compression factor (default: one bake takes about 1.5 s of wall time)",
    )
    rehearse.add_argument(
        "--json", type=output_file(), default=None, help="also write the JSON report here"
    )
    rehearse.add_argument(
        "--chart",
        type=output_file(".png"),
        default=None,
        help="timeline PNG path (default: out/rehearsal-<stack>-<time>.png, a new file per run)",
    )
    rehearse.add_argument("--quiet", action="store_true", help="no progress display")
    _release_parsers(commands)
    from delivery.release.pr_command import add_parser

    add_parser(commands, EXIT_CODES)
    return parser


def _release_parsers(commands: Any) -> None:
    def command(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        made: argparse.ArgumentParser = commands.add_parser(
            name,
            help=help_text,
            description=description,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        return made

    release = command(
        "release",
        "a whole release of an image to a stack",
        "Release an image: measure the latency baseline, stage the image on the idle\n"
        "colour, smoke and load test it through the test listener, then promote it\n"
        "(liveColour and `pulumi up`), recording every phase. A second run with the\n"
        "same image resumes an interrupted release.",
    )
    release.add_argument("--stack", required=True, help="the stack to release to")
    release.add_argument("--image", required=True, help="the image, by digest (repo@sha256:...)")
    release.add_argument("--commit", help="the commit the image was built from (lead time)")
    release.add_argument(
        "--commit-time",
        help="that commit's time, ISO 8601 (default: from git, when this checkout has the "
        "commit; the application's commit usually lives in another repository)",
    )
    release.add_argument("--json", type=output_file(), help="also write the release record here")
    release.add_argument(
        "--records",
        type=Path,
        help="keep records in this folder (default: the stack's releaseRecordsBucket in S3; "
        "with --rehearse: out/releases)",
    )
    release.add_argument(
        "--test-url",
        help="base URL of the test listener (default: http(s)://<albDnsName>:<testListenerPort>;"
        " with HTTPS give a host name the certificate covers)",
    )
    release.add_argument(
        "--stage-only",
        action="store_true",
        help="stop after the load test, ready to promote: the same command without this flag "
        "resumes and promotes (the production-stage approval gate)",
    )
    release.add_argument(
        "--dast-report",
        type=Path,
        action="append",
        metavar="ZAP_JSON",
        help="repeatable: ZAP's JSON report of the staged colour (the DAST job's baseline and "
        "API scans): a High finding stops the release before promote, Medium ones are recorded",
    )
    release.add_argument(
        "--override-error-budget",
        action="store_true",
        help="prod: release although the availability budget is spent (the fix for the outage "
        "itself); the release record keeps it",
    )
    release.add_argument(
        "--break-lock",
        metavar="LOCK_ID",
        help="take over the stack's release lock from this holder (its id, as the refusal "
        "names it) when that run is dead",
    )
    release.add_argument("--rehearse", action="store_true", help="against the embedded emulator")
    release.add_argument(
        "--scenario",
        help="with --rehearse: clean, smoke-fails, load-fails, alarm-at:<step> or "
        "cancel-at:<stage|smoke|load|step> (the runner's cancel) (default: clean)",
    )
    release.add_argument(
        "--speed",
        type=positive_speed,
        help="with --rehearse: time compression (default: one bake takes about 0.3 s)",
    )
    status = command(
        "status",
        "where a stack's traffic stands, and its last releases",
        "Print the live colour, the listener's weights, the candidate image, the gating\n"
        "alarms and the last releases; --watch follows a shift until a colour carries\n"
        "100%.",
    )
    status.add_argument("--stack", required=True, help="stack name")
    status.add_argument("--watch", action="store_true", help="follow a shift until it settles")
    status.add_argument("--records", type=Path, help="records folder (default: the S3 bucket)")
    truth = command(
        "release-state",
        "the release-owned keys: the stack file beside the release state",
        "liveColour, the images and releaseStep as the stack file and the release state\n"
        "(SSM /switchyard/<environment>/release/<stack>) hold them. The program refuses\n"
        "a stack file that disagrees: --pull when the file is older than the last\n"
        "release, --push before a release by hand (it holds the release lock).",
    )
    truth.add_argument("--stack", required=True, help="stack name")
    direction = truth.add_mutually_exclusive_group()
    direction.add_argument("--pull", action="store_true", help="set the stack file from it")
    direction.add_argument("--push", action="store_true", help="make the file's values it")
    preview = command(
        "preview",
        "a stack's changes rendered as a pull-request comment",
        "Render a stack's changes as a pull-request comment: pulumi preview --diff\n"
        "through the Automation API, or --offline the program under mocks at --base\n"
        "and now.",
    )
    preview.add_argument("--stack", required=True, help="stack name")
    preview.add_argument(
        "--markdown", type=output_file(), required=True, help="write the comment here"
    )
    preview.add_argument(
        "--offline",
        action="store_true",
        help="no credentials or CLI: compare the program under mocks at --base and now",
    )
    preview.add_argument(
        "--base",
        default="origin/main",
        help="with --offline: the base git ref (default: origin/main)",
    )
    report = command(
        "report",
        "delivery metrics from the release records",
        "Deployment frequency, lead time, change failure rate and time to restore from\n"
        "the release records, against the targets, with a chart.",
    )
    report.add_argument("--since", default="30d", help="window: 30d, 12h, 4w (default: 30d)")
    report.add_argument("--stack", help="only this stack's releases (default: every stack)")
    source = report.add_mutually_exclusive_group()
    source.add_argument("--records", type=Path, help="records folder")
    source.add_argument("--bucket", help="records bucket in S3")
    report.add_argument("--json", type=output_file(), help="also write the metrics here")
    report.add_argument("--chart", type=output_file(".png"), help="write a PNG chart here")
    incident = command(
        "incident",
        "the post-incident record of a release that rolled back",
        "Print the post-incident record the release driver kept for a rollback, a failed\n"
        "rollback or an aborted promote (timeline, weights over time, the alarm's metric,\n"
        "time to detect and to restore, open questions) as Markdown.",
    )
    incident.add_argument("release_id", metavar="RELEASE_ID", help="the release's id")
    kept = incident.add_mutually_exclusive_group(required=True)
    kept.add_argument("--records", type=Path, help="records folder")
    kept.add_argument("--bucket", help="records bucket in S3 (the releaseRecordsBucket output)")
    incident.add_argument("--markdown", type=output_file(), help="also write it here")


def _check(settings: Settings) -> int:
    unlisted = unlisted_region_problem(settings.region)
    if unlisted:
        raise ConfigError([Problem(REGION_KEY, unlisted)], source=f"stack {settings.stack!r}")
    secrets = stack_secret_values(settings.stack, settings)  # plain text: a ConfigError
    check_sibling_stacks(settings, PROJECT_ROOT)
    warnings = [
        *secrets.warnings(),
        *bootstrap_warnings(settings),
        *incident_manager_warnings(settings),
        *example_value_warnings(stack_config(settings.stack)),
    ]
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    policy = settings.traffic
    print(
        f"stack {settings.stack}: valid ({settings.environment}, {settings.region}, "
        f"{settings.network.az_count} zones, live colour {settings.live_colour})"
    )
    print(
        f"steps {list(policy.steps)}, bake {policy.bake_seconds}s each, poll every "
        f"{policy.poll_seconds}s ({polls_per_bake(policy)} polls per bake)"
    )
    print(
        f"a healthy shift takes {expected_duration_seconds(policy)}s of bake; an alarm "
        f"is seen at most {worst_case_reaction_seconds(policy):.0f}s after it fires"
    )
    worst = worst_case_fault_to_rollback(settings)
    print(
        "worst case from a fault to 100/0 on the old colour: "
        + ", ".join(f"{kind} {seconds}s" for kind, seconds in worst.items())
    )
    return Exit.OK


def _rehearse(settings: Settings, args: argparse.Namespace) -> int:
    from delivery.rehearsal.command import rehearse

    return rehearse(settings, args)


def _release_command(command: str, settings: Settings | None, args: argparse.Namespace) -> int:
    from delivery.release import command as release

    if command == "report":
        return release.report(args)
    if command == "incident":
        return release.incident(args)
    assert settings is not None
    if command == "release":
        return release.release(settings, args)
    if command == "status":
        return release.status(settings, args)
    assert command == "release-state", command
    return release.release_state(settings, args)
