"""The command line: ``python -m delivery <command>``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from delivery.alarm_plan import worst_case_fault_to_rollback
from delivery.emulator import running_emulator
from delivery.errors import SwitchyardError
from delivery.model import Settings
from delivery.plan import expected_duration_seconds, polls_per_bake, worst_case_reaction_seconds
from delivery.rehearsal import RunRecord, auto_speed, run_scenario
from delivery.report import print_summary, write_chart, write_json
from delivery.scenarios import NAMES, default_scenarios, parse_scenario
from delivery.shift import Event
from delivery.stackfile import load_stack

OUT = Path("out")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 120)
    try:
        settings = load_stack(args.stack)
        if args.command == "check":
            return _check(console, settings)
        return _rehearse(console, settings, args)
    except SwitchyardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m delivery", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a stack file and print its cutover plan")
    check.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    rehearse = commands.add_parser(
        "rehearse", help="run the real cutover engine against an embedded AWS emulator"
    )
    rehearse.add_argument("--stack", default="staging", help="stack whose policy to rehearse")
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
        help="time compression factor (default: one bake ≈ 1.5 s of wall time)",
    )
    rehearse.add_argument("--json", type=Path, default=None, help="write the JSON report here")
    rehearse.add_argument(
        "--chart",
        type=Path,
        default=None,
        help="timeline PNG path (default: out/rehearsal-<stack>.png)",
    )
    rehearse.add_argument("--quiet", action="store_true", help="no progress display")
    return parser


def _check(console: Console, settings: Settings) -> int:
    policy = settings.traffic
    console.print(
        f"stack {settings.stack}: valid ({settings.environment}, {settings.region}, "
        f"{settings.network.az_count} zones, live colour {settings.live_colour})"
    )
    console.print(
        f"steps {list(policy.steps)}, bake {policy.bake_seconds}s each, poll every "
        f"{policy.poll_seconds}s ({polls_per_bake(policy)} polls per bake)"
    )
    console.print(
        f"a healthy shift takes {expected_duration_seconds(policy)}s of bake; an alarm "
        f"is seen at most {worst_case_reaction_seconds(policy):.0f}s after it fires"
    )
    worst = worst_case_fault_to_rollback(settings)
    console.print(
        "worst case from a fault to 100/0 on the old colour: "
        + ", ".join(f"{kind} {seconds}s" for kind, seconds in worst.items()),
        soft_wrap=True,
    )
    return 0


def _rehearse(console: Console, settings: Settings, args: argparse.Namespace) -> int:
    policy = settings.traffic
    scenarios = (
        [parse_scenario(s, policy) for s in args.scenario]
        if args.scenario
        else default_scenarios(policy)
    )
    speed = args.speed if args.speed is not None else auto_speed(settings)
    if speed <= 0:
        raise SwitchyardError(f"--speed must be positive, got {speed}")
    console.print(
        f"Rehearsing stack [bold]{settings.stack}[/bold]: {settings.live_colour} → "
        f"{settings.live_colour.other}, steps {list(policy.steps)}, bake "
        f"{policy.bake_seconds}s, poll {policy.poll_seconds}s, time ×{speed:g}"
    )
    records: list[RunRecord] = []
    with running_emulator(settings.region) as emulator:
        console.print(f"AWS emulator listening on {emulator.endpoint}")
        for scenario in scenarios:
            console.print(f"\n[bold]{scenario.name}[/bold]: {scenario.description}")
            with _BakeProgress(
                console, scenario.name, policy.total_bake_seconds, args.quiet
            ) as view:
                records.append(run_scenario(emulator, settings, scenario, speed, view.on_event))
    print_summary(console, records)
    chart = args.chart or OUT / f"rehearsal-{settings.stack}.png"
    write_chart(
        chart,
        records,
        f"Rehearsal of {settings.stack}: {settings.live_colour} → {settings.live_colour.other}",
    )
    console.print(f"timeline chart: {chart}")
    if args.json:
        write_json(args.json, records)
        console.print(f"report: {args.json}")
    unexpected = [r.scenario.name for r in records if not r.as_expected]
    if unexpected:
        console.print(f"[red]not as expected: {', '.join(unexpected)}[/red]")
        return 1
    return 0


class _BakeProgress:
    """A live bar over the policy's total bake time, labelled with what the engine is doing."""

    def __init__(self, console: Console, name: str, total: float, quiet: bool) -> None:
        self._name = name
        self._total = total
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:.0f}s"),
            TimeElapsedColumn(),
            console=console,
            disable=quiet,
            transient=True,
        )
        self._task = self._progress.add_task(name, total=total)

    def __enter__(self) -> _BakeProgress:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def on_event(self, event: Event) -> None:
        doing = "baking" if event.kind == "poll" else event.kind
        label = f"step {event.step}% ({event.weights}) {doing}" if event.step else doing
        self._progress.update(
            self._task,
            completed=min(event.at, self._total),
            description=f"{self._name}: {label}",
        )


if __name__ == "__main__":
    sys.exit(main())
