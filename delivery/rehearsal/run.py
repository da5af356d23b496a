"""Runs the real cutover engine against the embedded AWS emulator, one scenario at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from delivery.config.model import Colour, Settings, TrafficPolicy
from delivery.cutover.aws import ApiCalls, AwsClients, aws_cutover
from delivery.cutover.engine import Cutover
from delivery.cutover.errors import ListenerDrift, RollbackFailed, RolledBack, ShiftRefused
from delivery.cutover.events import CutoverReport, Event, EventKind
from delivery.cutover.ports import AlarmValue
from delivery.plans.schedule import Weights
from delivery.rehearsal.clock import CompressedClock
from delivery.rehearsal.emulator import (
    CUTOVER_BUDGET,
    Emulator,
    TrafficPlane,
    build_traffic_plane,
    listener_weights,
    set_alarm,
)
from delivery.rehearsal.faults import Fault, FaultInjector
from delivery.rehearsal.scenarios import Outcome, Scenario

FAULTED_ALARM = 0  # index of the gating alarm a scenario trips (the 5xx-rate alarm)
FLAP_ALARM_POLLS = 0.5
FLAP_OK_POLLS = 1.25


@dataclass(frozen=True)
class AlarmMark:
    at: float  # policy time
    alarm: str
    state: AlarmValue


@dataclass
class RunRecord:
    scenario: Scenario
    speed: float
    target: Colour
    outcome: Outcome = Outcome.FAILED
    message: str = ""
    # From the alarm entering ALARM to the rollback's listener write: on the wall clock, where
    # the engine's waits ran ``speed`` times faster, and on the policy clock, the time a real
    # cutover with this policy would take (its waits at full length, its calls as they took).
    reaction_wall_ms: float | None = None
    events: list[Event] = field(default_factory=list)
    report: CutoverReport | None = None  # the engine's own report of the run
    alarm_marks: list[AlarmMark] = field(default_factory=list)
    api_calls: dict[str, Any] = field(default_factory=dict)
    final_weights: Weights | None = None
    wall_seconds: float = 0.0

    @property
    def reaction_policy_seconds(self) -> float | None:
        fired = next((m.at for m in self.alarm_marks if m.state is not AlarmValue.OK), None)
        rolled = next((e.at for e in self.events if e.kind is EventKind.ROLLED_BACK), None)
        return None if fired is None or rolled is None else max(0.0, rolled - fired)

    @property
    def as_expected(self) -> bool:
        return self.outcome is self.scenario.expected

    def steps(self) -> list[dict[str, Any]]:
        """One row per step the engine reached: when it started, how long it baked, its end."""
        rows: dict[int, dict[str, Any]] = {}
        for event in self.events:
            if event.step is None or event.kind is EventKind.POLL:
                continue
            row = rows.setdefault(
                event.step,
                {
                    "step": event.step,
                    "started_at": round(event.at, 3),
                    "baked_seconds": 0.0,
                    "result": "in progress",
                },
            )
            if event.kind is EventKind.STEP_SET:
                row["weights"] = event.weights.as_dict()
            if event.kind is EventKind.BAKE_PASSED:
                row["baked_seconds"] = round(event.at - row["started_at"], 3)
                row["result"] = "passed"
            if event.kind in (EventKind.ROLLED_BACK, EventKind.ROLLBACK_FAILED):
                row["baked_seconds"] = round(event.at - row["started_at"], 3)
                row["result"] = event.kind
        for event in self.events:
            if event.kind is EventKind.POLL and event.step in rows:
                rows[event.step]["polls"] = rows[event.step].get("polls", 0) + 1
        return list(rows.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "expected": self.scenario.expected.value,
            "outcome": self.outcome.value,
            "as_expected": self.as_expected,
            "message": self.message,
            "reaction_wall_ms": _rounded(self.reaction_wall_ms, 1),
            "reaction_policy_seconds": _rounded(self.reaction_policy_seconds, 3),
            "target": self.target.value,
            "speed": self.speed,
            "wall_seconds": round(self.wall_seconds, 3),
            "final_weights": self.final_weights.as_dict() if self.final_weights else None,
            "steps": self.steps(),
            "alarm_events": [
                {"at": round(m.at, 3), "alarm": m.alarm, "state": m.state.value}
                for m in self.alarm_marks
            ],
            "api_calls": self.api_calls,
        }


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def fault_delay(scenario: Scenario, policy: TrafficPolicy) -> float:
    """Policy seconds from the step to the fault: ``fault_at`` of the bake, moved to halfway
    between two polls. A real fault falls anywhere between polls, half a poll before the next
    on average; one on a poll's instant would show a best-case reaction of milliseconds."""
    poll = policy.poll_seconds
    return (scenario.fault_at * policy.bake_seconds // poll) * poll + poll / 2


class _AlarmDriver:
    """Puts the scenario's alarm into its states on a timer, like CloudWatch would."""

    def __init__(
        self, clients: AwsClients, alarm: str, clock: CompressedClock, record: RunRecord
    ) -> None:
        self._clients = clients
        self._alarm = alarm
        self._clock = clock
        self._record = record
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fired_at: float | None = None  # perf_counter when the scenario's fault landed

    def set(self, state: AlarmValue, reason: str) -> None:
        set_alarm(self._clients, self._alarm, state, reason)
        if self.fired_at is None and state is not AlarmValue.OK:
            self.fired_at = time.perf_counter()
        self._record.alarm_marks.append(AlarmMark(self._clock.now(), self._alarm, state))

    def start(self, delay_policy_seconds: float, scenario: Scenario, poll_seconds: float) -> None:
        def run() -> None:
            due = self._clock.now() + delay_policy_seconds
            if self._wait_until(due):
                return
            reason = f"rehearsal: {scenario.description}"
            self.set(scenario.alarm_state, reason)
            while scenario.flapping:
                # ALARM for half a poll, then OK for a poll and a quarter: every ALARM has
                # cleared by the next poll (an engine that waits to see it twice never rolls
                # back), and a poll lands inside an ALARM within seven polls.
                due += FLAP_ALARM_POLLS * poll_seconds
                if self._wait_until(due):
                    return
                self.set(AlarmValue.OK, "rehearsal: flapped back")
                due += FLAP_OK_POLLS * poll_seconds
                if self._wait_until(due):
                    return
                self.set(scenario.alarm_state, reason)

        self._thread = threading.Thread(target=run, name="alarm-driver", daemon=True)
        self._thread.start()

    def _wait_until(self, policy_time: float) -> bool:
        """Sleep until the rehearsal's policy clock reads ``policy_time``; True when stopped."""
        while (remaining := policy_time - self._clock.now()) > 0:
            if self._stop.wait(self._clock.wall_seconds(remaining)):
                return True
        return self._stop.is_set()

    def await_recovery_after(self, policy_time: float, poll_seconds: float) -> None:
        """Let policy time run on, as the engine would, until the alarm is back to OK after
        ``policy_time`` (a flapping alarm), for at most two polls."""
        deadline = policy_time + 2 * poll_seconds
        while self._clock.now() < deadline:
            if any(
                m.state is AlarmValue.OK and m.at > policy_time for m in self._record.alarm_marks
            ):
                return
            self._clock.sleep(poll_seconds / 10)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()


def run_scenario(
    emulator: Emulator,
    settings: Settings,
    scenario: Scenario,
    speed: float,
    on_event: Callable[[Event], None] | None = None,
) -> RunRecord:
    """A fresh traffic plane, the engine over boto3 adapters, and the scenario's faults."""
    emulator.reset()
    policy = settings.traffic
    source = settings.live_colour
    target = source.other
    operator = emulator.clients()
    healthy = scenario.healthy_targets
    targets = {source: 2, target: policy.min_healthy_targets if healthy is None else healthy}
    plane: TrafficPlane = build_traffic_plane(
        operator,
        settings.name_prefix,
        zones=settings.network.az_count,
        targets=targets,
        live=source,
        thresholds=settings.alarms,
        workload=settings.workload,
    )
    counter = ApiCalls()
    clients = emulator.clients(counter=counter, budget=CUTOVER_BUDGET)
    if scenario.throttled_calls:
        FaultInjector(
            Fault("ModifyListener", scenario.throttled_calls),
            Fault("DescribeListeners", scenario.throttled_calls - 1, first=2),
        ).attach(clients.elbv2)
    record = RunRecord(scenario, speed, target)
    clock = CompressedClock(speed)
    alarm = plane.gating_alarms(target)[FAULTED_ALARM]
    driver = _AlarmDriver(operator, alarm, clock, record)
    rolled_back_at: list[float] = []

    def observe(event: Event) -> None:
        record.events.append(event)
        if event.kind is EventKind.ROLLED_BACK:
            rolled_back_at.append(time.perf_counter())
        if event.kind is EventKind.STEP_SET and event.step == scenario.fault_step:
            driver.start(fault_delay(scenario, policy), scenario, policy.poll_seconds)
        if on_event:
            on_event(event)

    if scenario.firing_before_start:
        driver.set(AlarmValue.ALARM, "rehearsal: already firing before the release")
    engine = aws_cutover(
        clients,
        plane.listener_arn,
        plane.target_groups,
        plane.gating_alarms(target),
        policy,
        clock,
        observe,
    )
    started = time.perf_counter()
    try:
        _shift(engine, record, source, target)
        if scenario.flapping and record.outcome is Outcome.ROLLED_BACK:
            # Keep watching: the alarm clears, and the rollback must stick all the same.
            driver.await_recovery_after(record.events[-1].at, policy.poll_seconds)
    except KeyboardInterrupt as interrupt:
        # The engine aborted as on any Ctrl-C (100% back on the old colour); say what the
        # emulator's listener carries, as read now, and let the interrupt end the rehearsal.
        now = listener_weights(operator, plane)
        left = (
            "as an abort leaves it"
            if now == Weights.all_on(source)
            else f"not {Weights.all_on(source)}: the abort's restore did not finish"
        )
        interrupt.add_note(
            f"rehearsal {scenario.name!r} interrupted; the emulator's listener carries {now}, "
            f"{left}"
        )
        raise
    finally:
        driver.stop()
        record.wall_seconds = time.perf_counter() - started
    if rolled_back_at and driver.fired_at is not None:
        record.reaction_wall_ms = (rolled_back_at[0] - driver.fired_at) * 1000
    record.api_calls = counter.as_dict()
    record.final_weights = listener_weights(operator, plane)
    return record


def _shift(engine: Cutover, record: RunRecord, source: Colour, target: Colour) -> None:
    """Run the shift; its outcome, message and report go into ``record``."""
    try:
        engine.shift(source, target)
        record.outcome, record.message = Outcome.PROMOTED, f"{target} is live"
    except RolledBack as exc:
        record.outcome, record.message = Outcome.ROLLED_BACK, str(exc)
    except ShiftRefused as exc:
        record.outcome, record.message = Outcome.REFUSED, str(exc)
    except (ListenerDrift, RollbackFailed) as exc:
        record.outcome, record.message = Outcome.FAILED, str(exc)
    finally:
        record.report = engine.report


def auto_speed(settings: Settings, wall_seconds_per_bake: float = 1.5) -> float:
    """Compress time so that one bake takes about ``wall_seconds_per_bake`` on the wall clock."""
    return max(1.0, settings.traffic.bake_seconds / wall_seconds_per_bake)
