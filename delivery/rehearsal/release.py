"""`release --rehearse`: the whole release flow against the embedded emulator.

The stack port is backed by the emulator's traffic plane and the real cutover engine (what the
program's `pulumi up` runs); each colour's pods are a small HTTP server on 127.0.0.1 that the
smoke and load checks reach as they would reach the test listener; notifications go to SNS
topics in the emulator; records to a local folder. Time is compressed so that a bake takes a
fraction of a second.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from delivery.config.model import PROJECT, Colour, LoadCheck, ReleaseStep, Settings, Tier
from delivery.config.stackfile import stack_config
from delivery.cutover.aws import ElbListener, TargetGroupHealth, aws_cutover
from delivery.cutover.engine import Cutover
from delivery.cutover.errors import CutoverStopped
from delivery.cutover.ports import AlarmValue
from delivery.plans.release import live_image_problem
from delivery.rehearsal.clock import CompressedClock
from delivery.rehearsal.emulator import (
    CUTOVER_BUDGET,
    Emulator,
    build_traffic_plane,
    emulator_session,
    running_emulator,
    set_alarm,
)
from delivery.rehearsal.scenarios import ScenarioError
from delivery.rehearsal.servers import ColourServer, colour_servers
from delivery.release.baseline import CloudWatchBaseline
from delivery.release.budget import CloudWatchErrorBudget, load_balancer_suffix, target_group_suffix
from delivery.release.incident import CloudWatchAlarmMetrics
from delivery.release.keys import LIVE_COLOUR, RELEASE_STEP, image_key
from delivery.release.notify import SnsNotifier
from delivery.release.orchestrate import Ports, Release, Request
from delivery.release.port import UpFailed
from delivery.release.progress import OnProgress, Progress
from delivery.release.record import LocalRecords, ReleaseRecord, now_utc

SCENARIOS = ("clean", "smoke-fails", "load-fails", "alarm-at:<step>")
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
            self._engine(wanted, on_progress).shift(self.live, wanted)
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
) -> ReleaseRecord:
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
        if scenario.broken_path:
            candidate.failing_paths = frozenset({settings.checks.smoke[-1].path})
        if scenario.flaky:
            # Every few requests fail: the smoke checks (the first ones) pass, the load run's
            # error rate lands above the threshold.
            threshold = settings.checks.load.error_rate_percent
            candidate.fail_every = max(len(settings.checks.smoke) + 1, int(50 / (threshold + 1)))
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
        fired: list[str] = []

        def fault(event: Progress) -> None:
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
            say=say,
        )
        return Release(settings, ports).run(request)


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
