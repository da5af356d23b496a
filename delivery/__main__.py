"""The command line: ``python -m delivery <command>``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from delivery.config.model import Settings
from delivery.config.stackfile import load_stack
from delivery.errors import SwitchyardError
from delivery.plans.alarms import worst_case_fault_to_rollback
from delivery.plans.schedule import (
    expected_duration_seconds,
    polls_per_bake,
    worst_case_reaction_seconds,
)
from delivery.rehearsal.scenarios import NAMES

REHEARSAL_EXTRA = frozenset({"moto", "rich", "matplotlib"})
EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

DESCRIPTION = """\
Switchyard's delivery tools. They read the same stack files (Pulumi.<stack>.yaml) as
`pulumi up`, through one validated configuration model. `rehearse` needs the rehearsal
extra: pip install -e '.[rehearse]' (make rehearse installs it).
"""

EXIT_CODES = f"""\
exit codes:
  {EXIT_OK}    done; every rehearsed scenario ended as it expects
  {EXIT_UNEXPECTED}    a rehearsed scenario ended otherwise than it expects (see the outcome table)
  {EXIT_BAD_INPUT}    bad input: an invalid stack file, an unknown scenario, a bad option
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_stack(args.stack)
        if args.command == "check":
            return _check(settings)
        return _rehearse(settings, args)
    except SwitchyardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


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
        type=float,
        default=None,
        help="time compression factor (default: one bake takes about 1.5 s of wall time)",
    )
    rehearse.add_argument("--json", type=Path, default=None, help="also write the JSON report here")
    rehearse.add_argument(
        "--chart",
        type=Path,
        default=None,
        help="timeline PNG path (default: out/rehearsal-<stack>-<time>.png, a new file per run)",
    )
    rehearse.add_argument("--quiet", action="store_true", help="no progress display")
    return parser


def _check(settings: Settings) -> int:
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
    return EXIT_OK


def _rehearse(settings: Settings, args: argparse.Namespace) -> int:
    try:
        from delivery.rehearsal.command import rehearse
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in REHEARSAL_EXTRA:
            raise
        raise SwitchyardError(
            f"the rehearsal needs {exc.name!r}, which is in the rehearsal extra; install it "
            "with: pip install -e '.[rehearse]' (make rehearse does this)"
        ) from exc
    return rehearse(settings, args)


if __name__ == "__main__":
    sys.exit(main())
