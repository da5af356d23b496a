"""`release --rehearse`: the whole release flow against the embedded emulator.

The stack port is backed by the emulator's traffic plane and the real cutover engine (what the
program's `pulumi up` runs); each colour's pods are a small HTTP server on 127.0.0.1 that the
smoke and load checks reach as they would reach the test listener; notifications go to SNS
topics in the emulator; records to a local folder. Time is compressed so that a bake takes a
fraction of a second.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from delivery.config.model import PROJECT, Colour, LoadCheck, ReleaseStep, Settings, Tier
from delivery.config.stackfile import stack_config
from delivery.cutover.aws import CloudWatchAlarms, ElbListener, TargetGroupHealth, aws_cutover
from delivery.cutover.engine import Cutover
from delivery.cutover.errors import CutoverStopped
from delivery.cutover.ports import Alarms, AlarmState, AlarmValue
from delivery.plans.release import live_image_problem
from delivery.plans.schedule import Weights
from delivery.rehearsal.clock import CompressedClock
from delivery.rehearsal.emulator import (
    CUTOVER_BUDGET,
    Emulator,
    build_traffic_plane,
    emulator_session,
    running_emulator,
    set_alarm,
)
from delivery.rehearsal.runner import SIGTERM_AFTER, RunnerCancel
from delivery.rehearsal.scenarios import ScenarioError
from delivery.rehearsal.servers import Behaviour, ColourServer, colour_servers
from delivery.rehearsal.worker import on_worker
from delivery.release.baseline import CloudWatchBaseline
from delivery.release.budget import CloudWatchErrorBudget, load_balancer_suffix, target_group_suffix
from delivery.release.incident import CloudWatchAlarmMetrics, write_post_incident
from delivery.release.keys import LIVE_COLOUR, RELEASE_STEP, image_key
from delivery.release.notify import SnsNotifier
from delivery.release.orchestrate import Ports, Release, Request
from delivery.release.port import UpFailed
from delivery.release.progress import OnProgress, Progress
from delivery.release.record import LocalRecords, ReleaseRecord, now_utc

SCENARIOS = (
    "clean",
    "smoke-fails",
    "load-fails",
    "alarm-at:<step>",
    "cancel-at:<stage|smoke|load|step>",
)
CANCEL_PHASES = ("stage", "smoke", "load")
WALL_SECONDS_PER_BAKE = 0.3
# A bounded load run sized for a laptop: the stack's thresholds, fewer requests.
REHEARSAL_LOAD = LoadCheck(
    requests=200, duration_seconds=10, concurrency=8, p95_ms=0, error_rate_percent=0
)


@dataclass(frozen=True)
class ReleaseScenario:
    name: str
    expected_exit: int
    alarm_step: int | None = None
    broken_path: bool = False
    flaky: bool = False
    cancel_at: str | None = None  # a phase of CANCEL_PHASES or a step: the runner cancels there


def parse_release_scenario(text: str, settings: Settings) -> ReleaseScenario:
    if text == "clean":
        return ReleaseScenario(text, 0)
    if text == "smoke-fails":
        return ReleaseScenario(text, 4, broken_path=True)
    if text == "load-fails":
        return ReleaseScenario(text, 4, flaky=True)
    name, _, step = text.partition(":")
    steps = settings.traffic.steps
    if name == "alarm-at" and step.isdigit() and int(step) in steps:
        return ReleaseScenario(text, 3, alarm_step=int(step))
    if name == "cancel-at" and (step in CANCEL_PHASES or (step.isdigit() and int(step) in steps)):
        return ReleaseScenario(text, 130, cancel_at=step)
    raise ScenarioError(
        f"unknown release scenario {text!r}; use one of {', '.join(SCENARIOS)} with a step of "
        f"stack {settings.stack} ({', '.join(str(s) for s in steps)})"
    )


def rehearsal_settings(settings: Settings) -> Settings:
    load = settings.checks.load
    small = dataclasses.replace(
        REHEARSAL_LOAD,
        requests=min(load.requests, REHEARSAL_LOAD.requests),
        concurrency=min(load.concurrency, REHEARSAL_LOAD.concurrency),
        duration_seconds=min(load.duration_seconds, REHEARSAL_LOAD.duration_seconds),
        p95_ms=load.p95_ms,
        error_rate_percent=load.error_rate_percent,
    )
    return dataclasses.replace(settings, checks=dataclasses.replace(settings.checks, load=small))


PROVIDER_STOP_SECONDS = 4.0  # CancellableCommand.stop's bound


def policy_time(clock: CompressedClock) -> Callable[[], datetime]:
    """Moments on ``clock``'s policy time, from now on the wall clock."""
    start = now_utc() - timedelta(seconds=clock.now())
    return lambda: start + timedelta(seconds=clock.now())


class PolicyTimedAlarms:
    """The emulator's alarms, with the moment each fault put one in ALARM in policy time: the
    emulator stamps it on the wall clock, where the bakes before it took a fraction of their
    length, so a time to restore from it would be the compressed one."""

    def __init__(self, inner: Alarms) -> None:
        self._inner = inner
        self.entered: dict[str, datetime] = {}

    def states(self, names: Sequence[str]) -> Mapping[str, AlarmState]:
        return {
            name: dataclasses.replace(state, since=self.entered.get(name, state.since))
            for name, state in self._inner.states(names).items()
        }


class ProviderKilled(BaseException):
    """The cutover's provider process ended under it: no handler of its runs (a BaseException
    that the engine, which catches PortError and KeyboardInterrupt, lets through)."""


class SimulatedStack:
    """The stack port in a simulation: the config in memory; ``up`` deploys changed images onto
    the colours' servers and, when liveColour changes, runs the real cutover engine that
    ``engine(target, on_progress)`` builds, as the program's dynamic resource does."""

    def __init__(
        self,
        settings: Settings,
        servers: Mapping[Colour, ColourServer],
        engine: Callable[[Colour, OnProgress], Cutover],
        outputs: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.servers = dict(servers)
        self._engine = engine
        self._outputs = dict(outputs or {})
        raw = stack_config(settings.stack)
        self.values = {k: v if isinstance(v, str) else str(v) for k, v in raw.items()}
        self.live = settings.live_colour
        self.deployed: dict[Colour, str] = {}
        self.cleaned: Colour | None = None  # the colour the last clean-up shrank
        self.stopped = False  # cancel() stopped an update
        self.on_up: Callable[[str], None] | None = None  # told each up's releaseStep
        self._killed = threading.Event()
        self._done: threading.Event | None = None

    @property
    def name(self) -> str:
        return self.settings.stack

    def config(self) -> dict[str, str]:
        return dict(self.values)

    def set_config(self, values: Mapping[str, str]) -> None:
        self.values.update(values)

    def changed_images(self) -> dict[Colour, str]:
        return {
            colour: image
            for colour in Colour
            if (image := self.values.get(image_key(colour))) and image != self.deployed.get(colour)
        }

    def up(self, on_progress: OnProgress) -> None:
        """As a real ``pulumi up``: the work runs out of the driver's thread (the CLI's
        provider process), so that an interrupt reaches the driver, not the cutover."""
        self._killed.clear()
        done = threading.Event()
        self._done = done

        def apply() -> None:
            try:
                self._apply(on_progress)
            finally:
                done.set()

        on_worker(apply, "simulated-pulumi-up")

    def cancel(self) -> None:
        """The CLI's terminate (two SIGINTs): its plugins are closed, so the cutover makes no
        call after its next event; waited for as ``CancellableCommand.stop`` waits."""
        done = self._done
        if done is None or done.is_set():
            return
        self._killed.set()
        done.wait(PROVIDER_STOP_SECONDS)
        self.stopped = True

    def left_lock(self) -> str | None:
        return "the rehearsal has no state backend, so no state lock" if self.stopped else None

    def _killable(self, on_progress: OnProgress) -> OnProgress:
        def progress(event: Progress) -> None:
            if self._killed.is_set():
                raise ProviderKilled("the interrupted `pulumi up` terminated its plugins")
            on_progress(event)

        return progress

    def _apply(self, on_progress: OnProgress) -> None:
        if self.on_up:
            self.on_up(self.values.get(RELEASE_STEP, ""))
        # As the program does (components/workload.py): the live colour's pods are never
        # changed in place, so a config naming another image for it stops the update.
        running = self.deployed.get(self.live)
        configured = self.values.get(image_key(self.live))
        problem = (
            live_image_problem(self.live, configured, running) if running and configured else None
        )
        if problem:
            raise UpFailed(problem)
        for colour, image in self.changed_images().items():
            self.deployed[colour] = image
            self.servers[colour].behaviour.image = image
        if self.values.get(RELEASE_STEP) == ReleaseStep.CLEANUP:
            self.cleaned = self.live.other
        wanted = Colour(self.values[LIVE_COLOUR])
        if wanted is self.live:
            return
        try:
            self._engine(wanted, self._killable(on_progress)).shift(self.live, wanted)
        except CutoverStopped as exc:
            raise UpFailed(f"cutover: {exc}", exc.report) from exc
        self.live = wanted

    def outputs(self) -> dict[str, Any]:
        return {
            "testListenerUrl": self.servers[self.live.other].url,
            "images": {c.value: image for c, image in self.deployed.items()},
            **self._outputs,
        }


def _topics(emulator: Emulator, prefix: str) -> tuple[Any, dict[Tier, str]]:
    sns = emulator_session(emulator.region).client("sns", endpoint_url=emulator.endpoint)
    topics = {t: sns.create_topic(Name=f"{prefix}-{t.value}")["TopicArn"] for t in Tier}
    return sns, topics


def rehearse_release(
    settings: Settings,
    scenario: ReleaseScenario,
    request: Request,
    records: Path,
    say: Callable[[str], None],
    speed: float | None = None,
    kill: Callable[[int, int], None] = os.kill,
    runners: list[RunnerCancel] | None = None,
) -> ReleaseRecord:
    """The release against the emulator. A ``cancel-at`` scenario plays the runner's cancel
    with ``kill`` (os.kill: the real signals to this process) and appends it to ``runners``."""
    settings = rehearsal_settings(settings)
    speed = speed or max(1.0, settings.traffic.bake_seconds / WALL_SECONDS_PER_BAKE)
    prefix = f"{PROJECT}-{settings.environment}"
    source = settings.live_colour
    with (
        running_emulator(settings.region) as emulator,
        colour_servers(*(c.value for c in Colour)) as by_name,
    ):
        emulator.reset()  # moto's backends are per process: start from an empty account
        servers = {Colour(name): server for name, server in by_name.items()}
        candidate = servers[source.other].behaviour
        _break_candidate(candidate, scenario, settings)
        operator = emulator.clients()
        plane = build_traffic_plane(
            operator,
            prefix,
            zones=settings.network.az_count,
            targets={source: 2, source.other: settings.traffic.min_healthy_targets},
            live=source,
            thresholds=settings.alarms,
        )
        clients = emulator.clients(budget=CUTOVER_BUDGET)
        sns, topics = _topics(emulator, prefix)
        clock = CompressedClock(speed)
        now = policy_time(clock)
        alarms = PolicyTimedAlarms(CloudWatchAlarms(clients.cloudwatch))
        fired: list[str] = []

        runner = RunnerCancel(
            ElbListener(operator.elbv2, plane.listener_arn, plane.target_groups).read_weights,
            Weights.all_on(source),
            kill,
        )
        if runners is not None:
            runners.append(runner)

        def fault(event: Progress) -> None:
            if event.kind == "poll" and scenario.cancel_at == str(event.step):
                runner.start()
            if (
                scenario.alarm_step is not None
                and not fired
                and event.kind == "poll"
                and event.step == scenario.alarm_step
            ):
                alarm = plane.gating_alarms(source.other)[0]
                fault_datapoints(operator.cloudwatch, alarm)
                set_alarm(operator, alarm, AlarmValue.ALARM, f"rehearsal: 5xx at {event.step}%")
                fired.append(alarm)
                alarms.entered[alarm] = now()

        say(
            f"emulator on {emulator.endpoint}; {source} on {servers[source].url}, "
            f"{source.other} on {servers[source.other].url}; time x{speed:g}"
        )

        def engine(target: Colour, on_progress: OnProgress) -> Cutover:
            def observe(event: Progress) -> None:
                on_progress(event)
                fault(event)

            return aws_cutover(
                clients,
                plane.listener_arn,
                plane.target_groups,
                plane.gating_alarms(target),
                settings.traffic,
                clock,
                observe,
                alarms,
            )

        stack = SimulatedStack(
            settings,
            servers,
            engine,
            {
                "targetGroupArns": {c.value: arn for c, arn in plane.target_groups.items()},
                "loadBalancerArn": plane.load_balancer_arn,
                "productionListenerArn": plane.listener_arn,
            },
        )
        ports = Ports(
            stack=stack,
            listener=ElbListener(clients.elbv2, plane.listener_arn, plane.target_groups),
            health=TargetGroupHealth(clients.elbv2, plane.target_groups),
            records=LocalRecords(records),
            notifier=SnsNotifier(sns, topics),
            clock=clock,
            baseline=CloudWatchBaseline(clients.cloudwatch, now_utc()),
            budget=CloudWatchErrorBudget(
                clients.cloudwatch,
                load_balancer_suffix(plane.load_balancer_arn),
                target_group_suffix(plane.target_groups[source]),
                now_utc,
            ),
            alarm_metrics=CloudWatchAlarmMetrics(clients.cloudwatch),
            # The record's moments in policy time: its failure, restore and promotion as long
            # apart as the policy's bakes and polls make them, not as the compression does.
            now=now,
            say=say,
        )
        cancel_at = scenario.cancel_at
        if cancel_at == "stage":
            stack.on_up = lambda step: runner.start() if step == ReleaseStep.STAGE else None
        first_request = {"smoke": 1, "load": len(settings.checks.smoke) + 1}.get(cancel_at or "")
        if first_request:
            candidate.on_request = lambda n: runner.start() if n == first_request else None
        try:
            record = Release(settings, ports).run(request)
        finally:
            runner.finish()
            if runner.sent:
                say(runner_line(runner, source))
        return _ended_now(record, now() - now_utc(), settings, ports)


def _ended_now(
    record: ReleaseRecord, ahead: timedelta, settings: Settings, ports: Ports
) -> ReleaseRecord:
    """The record as if its release had run at the policy's pace and ended now: policy time
    ran ``ahead`` of the wall clock by the compression's gain, so its moments would lie in the
    future, outside any report's window."""
    if ahead <= timedelta(0):
        return record

    def back(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment - ahead

    record.started_at = record.started_at - ahead
    for phase in record.phases:
        phase.started_at, phase.ended_at = phase.started_at - ahead, phase.ended_at - ahead
    record.ended_at, record.failed_at = back(record.ended_at), back(record.failed_at)
    record.restored_at, record.promoted_at = back(record.restored_at), back(record.promoted_at)
    if record.post_incident:
        quiet = lambda _: None  # noqa: E731  (said once already, at the same path)
        write_post_incident(record, settings, ports.records, ports.alarm_metrics, now_utc(), quiet)
    ports.records.save(record)
    return record


def _break_candidate(candidate: Behaviour, scenario: ReleaseScenario, settings: Settings) -> None:
    if scenario.broken_path:
        candidate.failing_paths = frozenset({settings.checks.smoke[-1].path})
    if scenario.flaky:
        # Every few requests fail: the smoke checks (the first ones) pass, the load run's
        # error rate lands above the threshold.
        threshold = settings.checks.load.error_rate_percent
        candidate.fail_every = max(len(settings.checks.smoke) + 1, int(50 / (threshold + 1)))


def runner_line(runner: RunnerCancel, source: Colour) -> str:
    restored = (
        f"{Weights.all_on(source)} {runner.restored_after:.3f} s after SIGINT"
        if runner.restored_after is not None
        else f"{Weights.all_on(source)} NOT seen within {SIGTERM_AFTER} s"
    )
    return f"runner cancel: sent {', '.join(runner.sent)}; listener {restored}"


# What the faulty candidate's metrics show when the rehearsal fires its alarm: moto evaluates
# no alarm, so the state is set by hand, and these datapoints are what the post-incident
# record reads back as the alarm's metric around the fault.
FAULT_VALUES: Final = {"HTTPCode_Target_5XX_Count": 70.0, "RequestCount": 1000.0}


def fault_datapoints(cloudwatch: Any, alarm: str) -> None:
    """Put a minute of the fault on every input metric of ``alarm`` (its own dimensions)."""
    (definition,) = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    stats = [q["MetricStat"]["Metric"] for q in definition.get("Metrics", []) if "MetricStat" in q]
    if "MetricName" in definition:
        stats.append(definition)
    for metric in stats:
        cloudwatch.put_metric_data(
            Namespace=metric["Namespace"],
            MetricData=[
                {
                    "MetricName": metric["MetricName"],
                    "Dimensions": metric.get("Dimensions", []),
                    "Value": FAULT_VALUES.get(metric["MetricName"], 1.0),
                    "Timestamp": now_utc(),
                }
            ],
        )
