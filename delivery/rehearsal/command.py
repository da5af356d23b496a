"""`python -m delivery rehearse`: the real engine against the embedded emulator, with progress."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.markdown import Markdown
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from delivery.config.model import Settings, Tier
from delivery.cutover.events import Event
from delivery.errors import Exit
from delivery.rehearsal.emulator import running_emulator
from delivery.rehearsal.report import print_summary, write_chart, write_json
from delivery.rehearsal.run import RunRecord, auto_speed, run_scenario
from delivery.rehearsal.scenarios import default_scenarios, parse_scenario
from delivery.release.incident import PostIncident, page_description
from delivery.release.record import Outcome, ReleaseRecord, now_utc

OUT = Path("out")


def rehearse(settings: Settings, args: argparse.Namespace) -> int:
    console = Console()
    policy = settings.traffic
    scenarios = (
        [parse_scenario(s, policy) for s in args.scenario]
        if args.scenario
        else default_scenarios(policy)
    )
    speed = args.speed if args.speed is not None else auto_speed(settings)
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
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    chart = args.chart or OUT / f"rehearsal-{settings.stack}-{stamp}.png"
    write_chart(
        chart,
        records,
        f"Rehearsal of {settings.stack}: {settings.live_colour} → {settings.live_colour.other}",
    )
    console.print(f"timeline chart: {chart}")
    if args.json:
        write_json(args.json, records)
        console.print(f"report: {args.json}")
    for record in records:
        if record.report is not None and record.report.rolled_back:
            name = record.scenario.name.replace(":", "-")
            folder = chart.parent  # beside the chart
            path = folder / f"post-incident-{settings.stack}-{name}-{stamp}.md"
            document = rehearsed_post_incident(settings, record)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(document)
            console.print(Markdown(document))
            console.print(f"post-incident record: {path}")
    unexpected = [r.scenario.name for r in records if not r.as_expected]
    if unexpected:
        console.print(f"[red]not as expected: {', '.join(unexpected)}[/red]")
        return Exit.FAILED
    return Exit.OK


def rehearsed_post_incident(settings: Settings, run: RunRecord) -> str:
    """The post-incident record the release driver would keep for this rolled-back run: the
    rehearsal has no release, so the release is the scenario and the restore its reaction, in
    policy time (what the policy's polls and bakes would take, not their compressed run)."""
    assert run.report is not None
    seen = now_utc()
    record = ReleaseRecord.begin(
        settings.stack, f"rehearsal:{run.scenario.name}", run.report.source, seen
    )
    record.outcome, record.cause, record.cutover = (
        Outcome.ROLLED_BACK,
        run.report.cause,
        run.report.as_dict(),
    )
    record.failed_at = seen
    if run.reaction_policy_seconds is not None:
        record.restored_at = seen + timedelta(seconds=run.reaction_policy_seconds)
    record.ended_at = record.restored_at or seen
    page = page_description(settings, Tier.CRITICAL)
    return PostIncident(record, page).markdown()


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
