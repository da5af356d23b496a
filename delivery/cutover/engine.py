"""The cutover state machine: moves traffic step by step and rolls back on any gating alarm.

It talks only to the ports in ``delivery.cutover.ports``. Semantics (DESIGN.md, "The cutover"):
resume from the listener's actual weights; gate on target health and alarms before anything
moves; one listener call per step; bake with one alarm poll per interval; on ALARM put 100% back
on the old colour at once and fail loudly; never fight someone else's weight change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from delivery.config.model import Colour, InsufficientData, TrafficPolicy
from delivery.cutover.ports import (
    ALARM,
    INSUFFICIENT_DATA,
    Alarms,
    AlarmState,
    Clock,
    Listener,
    TargetHealth,
)
from delivery.errors import ListenerDrift, PortError, RollbackFailed, RolledBack, ShiftRefused
from delivery.plans.schedule import Step, Weights, schedule


@dataclass(frozen=True)
class Event:
    """One thing the engine did or saw, at policy-clock time ``at``."""

    at: float
    kind: str  # gates-passed, weights-set, poll, bake-passed, alarm, rolled-back, promoted, ...
    weights: Weights
    step: int | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "at": round(self.at, 3),
            "kind": self.kind,
            "weights": self.weights.as_dict(),
            "step": self.step,
            "detail": self.detail,
        }


Observer = Callable[[Event], None]


@dataclass(frozen=True)
class ShiftResult:
    live: Colour
    weights: Weights
    history: tuple[Event, ...] = field(default=())


@dataclass(frozen=True)
class Verdict:
    """Why the gating alarms say stop, or None when they do not."""

    alarm: str
    state: str
    reason: str

    def __str__(self) -> str:
        because = f" ({self.reason})" if self.reason else ""
        return f"alarm {self.alarm!r} is {self.state}{because}"


class Cutover:
    def __init__(
        self,
        listener: Listener,
        alarms: Alarms,
        health: TargetHealth,
        clock: Clock,
        policy: TrafficPolicy,
        gating_alarms: Sequence[str],
        observer: Observer | None = None,
    ) -> None:
        self._listener = listener
        self._alarms = alarms
        self._health = health
        self._clock = clock
        self._policy = policy
        self._gating = tuple(dict.fromkeys(gating_alarms))
        self._observer = observer
        self._history: list[Event] = []

    # -- public operations -------------------------------------------------------------------

    def establish(self, live: Colour) -> ShiftResult:
        """Make sure ``live`` carries all traffic when the cutover is first created.

        A listener found at 99/1 is the pulumi-aws #5772 artefact (a declared weight 0 became
        1) and is corrected. Anything further from 100/0 is somebody's traffic split; creating
        the cutover must not silently move it.
        """
        current = self._listener.read_weights()
        if current.of(live) == 100:
            return self._result(live, current)
        if current.of(live) == 99:
            corrected = Weights.all_on(live)
            self._set(corrected, step=None, detail="corrected the 99/1 weight artefact")
            return self._result(live, corrected)
        raise ListenerDrift(
            f"the listener sends {current} but the stack says {live} is live. Switchyard will "
            f"not move that traffic at create time. Set liveColour to the colour that carries "
            f"the traffic, or restore {Weights.all_on(live)} on the listener, then run again."
        )

    def shift(self, source: Colour, target: Colour) -> ShiftResult:
        """Move all traffic from ``source`` to ``target`` step by step, or roll back."""
        if source is target:
            raise ValueError(f"source and target are both {source}")
        try:
            current = self._listener.read_weights()
        except PortError as exc:
            raise ShiftRefused(
                f"could not read the listener's weights: {exc}. No traffic was moved by this run; "
                "check the listener ARN and the elasticloadbalancing:DescribeListeners permission"
            ) from exc
        steps = schedule(self._policy, current.of(target))
        self._gate(current, source, target)
        expected = current
        for step in steps:
            if step.move:
                expected = self._advance(expected, step, source, target)
            self._bake(step, expected, source)
        self._confirm(expected, steps[-1].weight, source)
        self._emit("promoted", expected, steps[-1].weight, f"{target} is live")
        return self._result(target, expected)

    # -- the steps ---------------------------------------------------------------------------

    def _gate(self, current: Weights, source: Colour, target: Colour) -> None:
        """Health and alarm gates. Before traffic moves a failure refuses; after, it rolls back."""
        resuming = current.of(target) > 0

        def stop(cause: str) -> NoReturn:
            if resuming:
                self._rollback(source, current.of(target), cause)
            self._emit("refused", current, None, cause)
            raise ShiftRefused(f"{cause}. No traffic was moved: {current} still in force.")

        try:
            healthy = self._health.healthy_targets(target)
        except PortError as exc:
            stop(f"could not read {target}'s target health: {exc}")
        if healthy < self._policy.min_healthy_targets:
            stop(
                f"{target} has {healthy} healthy target(s); it needs at least "
                f"{self._policy.min_healthy_targets} before it takes traffic. "
                f"Deploy or fix {target}'s targets, or lower minHealthyTargets"
            )
        try:
            verdict = self._judge()
        except PortError as exc:
            stop(f"could not read the gating alarms: {exc}")
        if verdict:
            stop(f"{verdict} before the shift started")
        self._emit("gates-passed", current, None, f"{healthy} healthy target(s) in {target}")

    def _confirm(self, expected: Weights, step: int, source: Colour) -> None:
        """The listener still carries what this run set; someone else's change stops the run."""
        try:
            observed = self._listener.read_weights()
        except PortError as exc:
            self._rollback(source, step, f"could not read the listener: {exc}")
        if observed != expected:
            self._emit("drift", observed, step, f"expected {expected}")
            raise ListenerDrift(
                f"the listener's weights were changed outside Switchyard: expected {expected}, "
                f"found {observed}. Stopped at step {step}% without touching them. "
                f"Decide which colour should be live, set the listener, then run again."
            )

    def _advance(self, expected: Weights, step: Step, source: Colour, target: Colour) -> Weights:
        self._confirm(expected, step.weight, source)
        wanted = Weights.split(target, step.weight)
        try:
            self._set(wanted, step.weight)
        except PortError as exc:
            self._rollback(source, step.weight, f"setting {wanted} failed: {exc}")
        return wanted

    def _bake(self, step: Step, weights: Weights, source: Colour) -> None:
        deadline = self._clock.now() + self._policy.bake_seconds
        polls = 0
        while True:
            try:
                verdict = self._judge()
            except PortError as exc:
                self._rollback(source, step.weight, f"could not read the gating alarms: {exc}")
            polls += 1
            self._emit("poll", weights, step.weight)
            if verdict:
                self._emit("alarm", weights, step.weight, str(verdict))
                self._rollback(source, step.weight, str(verdict))
            now = self._clock.now()
            if now >= deadline:
                break
            self._clock.sleep(min(self._policy.poll_seconds, deadline - now))
        self._emit("bake-passed", weights, step.weight, f"{polls} poll(s), no alarm")

    def _rollback(self, source: Colour, step: int, cause: str) -> NoReturn:
        safe = Weights.all_on(source)
        try:
            self._set(safe, step, detail="rollback")
        except PortError as exc:
            actual = self._describe_actual()
            self._emit("rollback-failed", safe, step, str(exc))
            raise RollbackFailed(
                f"ROLLBACK FAILED at step {step}%: {cause}; the call to restore {safe} failed: "
                f"{exc}. Weights in force now: {actual}. Restore {safe} on the listener by hand "
                f"at once."
            ) from exc
        self._emit("rolled-back", safe, step, cause)
        raise RolledBack(f"{cause} at step {step}%; rolled back, {safe} now in force.")

    # -- helpers -----------------------------------------------------------------------------

    def _judge(self) -> Verdict | None:
        if not self._gating:
            return None
        states = self._alarms.states(self._gating)
        for name in self._gating:
            state = states.get(name)
            if state is None:
                fix = "create it or fix the name in the gating alarm list"
                return Verdict(name, "missing", f"no such alarm; {fix}")
            if self._is_bad(state):
                return Verdict(name, state.value, state.reason)
        return None

    def _is_bad(self, state: AlarmState) -> bool:
        if state.value == ALARM:
            return True
        rollback_on_no_data = self._policy.insufficient_data is InsufficientData.ROLLBACK
        return state.value == INSUFFICIENT_DATA and rollback_on_no_data

    def _set(self, weights: Weights, step: int | None, detail: str = "") -> None:
        self._listener.set_weights(weights)
        self._emit("weights-set", weights, step, detail)

    def _describe_actual(self) -> str:
        try:
            return str(self._listener.read_weights())
        except PortError as exc:
            return f"unknown, the listener could not be read either ({exc})"

    def _emit(self, kind: str, weights: Weights, step: int | None, detail: str = "") -> None:
        event = Event(self._clock.now(), kind, weights, step, detail)
        if kind != "poll":
            self._history.append(event)
        if self._observer:
            self._observer(event)

    def _result(self, live: Colour, weights: Weights) -> ShiftResult:
        return ShiftResult(live, weights, tuple(self._history))
