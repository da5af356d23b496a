"""The cutover state machine: moves traffic step by step and rolls back on any gating alarm.

It talks only to the ports in ``delivery.cutover.ports``. Semantics (docs/architecture.md,
"The cutover"):
resume from the listener's actual weights; gate on target health and alarms before anything
moves; one listener call per step; bake with one alarm poll per interval; on ALARM put 100% back
on the old colour at once and fail loudly; never fight someone else's weight change.

Every operation ends with one ``CutoverReport`` (``Cutover.report``, and ``report`` on the
error it raises); observers get each ``Event`` as it happens through ``on_event``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NoReturn

from delivery.config.model import Colour, InsufficientData, TrafficPolicy
from delivery.cutover.errors import (
    CutoverStopped,
    ListenerDrift,
    RollbackFailed,
    RolledBack,
    ShiftRefused,
)
from delivery.cutover.events import CutoverReport, Event, EventKind, Observer, Outcome, Verdict
from delivery.cutover.ports import Alarms, AlarmState, AlarmValue, Clock, Listener, TargetHealth
from delivery.errors import PortError
from delivery.plans.schedule import Step, Weights, schedule

INTERRUPTED = "interrupted (Ctrl-C); aborted"
TERMINATED = "terminated (SIGTERM: a cancelled job); aborted"
# How long a rollback keeps retrying its listener write after the first call (itself within
# one poll's call budget) fails: a throttling burst on ModifyListener lasts seconds to a minute,
# and giving up earlier leaves traffic split. Three minutes stays well inside the update's
# custom timeout (expected duration + components.cutover.TIMEOUT_MARGIN_SECONDS, 600 s).
ROLLBACK_RETRY_SECONDS: Final = 180.0
ROLLBACK_RETRY_PAUSE: Final = 1.0  # between two budgeted rollback calls


class Cutover:
    """One production listener's cutover between the blue and green target groups.

    ``establish`` (Pulumi create), ``hold`` (an update that keeps the live colour) and
    ``shift`` (an update that changes it) each return a ``CutoverReport`` or raise a
    ``CutoverStopped`` error carrying one. ``on_event`` is called with every ``Event``,
    polls included, from the engine's thread.
    """

    def __init__(
        self,
        listener: Listener,
        alarms: Alarms,
        health: TargetHealth,
        clock: Clock,
        policy: TrafficPolicy,
        gating_alarms: Sequence[str],
        on_event: Observer | None = None,
    ) -> None:
        self._listener = listener
        self._alarms = alarms
        self._health = health
        self._clock = clock
        self._policy = policy
        self._gating = tuple(dict.fromkeys(gating_alarms))
        self._on_event = on_event
        self.report: CutoverReport | None = None
        self._source = self._target = Colour.BLUE
        self._events: list[Event] = []
        self._polls = 0
        self._step: int | None = None
        self._moving = False
        self._current = Weights.all_on(Colour.BLUE)
        self._seen = False
        self._attempted: Weights | None = None
        self._rolling: tuple[str, Verdict | None] | None = None
        self._rollback_deadline: float | None = None
        self._trouble_at: float | None = None

    # -- public operations -------------------------------------------------------------------

    def establish(self, live: Colour) -> CutoverReport:
        """Make sure ``live`` carries all traffic when the cutover is first created.

        A listener found at 99/1 is the pulumi-aws #5772 artefact (a declared weight 0 became
        1) and is corrected. Anything further from 100/0 is somebody's traffic split; creating
        the cutover must not silently move it.
        """
        self._begin(live, live)
        current = self._read_or_refuse()
        if current.of(live) == 100:
            return self._finish(Outcome.ESTABLISHED, current)
        if current.of(live) == 99:
            corrected = Weights.all_on(live)
            try:
                self._set(corrected, None, EventKind.CORRECTED, "corrected the 99/1 artefact")
            except PortError as exc:
                now = self._actual_weights()
                if now == corrected:  # the call's answer was lost, but it landed
                    self._current = corrected
                    self._emit(EventKind.CORRECTED, corrected, None, "the 99/1 correction landed")
                    return self._finish(Outcome.ESTABLISHED, corrected)
                self._refuse(
                    f"the listener carries {current} (the pulumi-aws #5772 artefact) and setting "
                    f"{corrected} failed: {exc}. Weights in force: {_shown(now)}; "
                    + exc.advice("elasticloadbalancing:ModifyListener", "the listener ARN")
                )
            return self._finish(Outcome.ESTABLISHED, corrected)
        return self._drift(
            current,
            None,
            f"the listener sends {current} but the stack says {live} is live. Switchyard will "
            f"not move that traffic at create time. Set liveColour to the colour that carries "
            f"the traffic, or restore {Weights.all_on(live)} on the listener, then run again.",
        )

    def hold(self, live: Colour, because: str = "") -> CutoverReport:
        """Keep ``live`` (the colour last promoted) at 100%.

        100% on ``live``: nothing to do. A split: a shift to the other colour did not finish,
        so 100% goes back on ``live`` at once, reported as a rollback. 100% on the other colour:
        someone finished a change outside Switchyard; stop with ``ListenerDrift``, move nothing.
        ``because`` says why ``live`` is the colour to keep (default: the stack still says so).
        """
        other = live.other
        self._begin(live, other)
        current = self._read_or_refuse()
        if current.of(live) == 100:
            self._target = live
            return self._finish(Outcome.UNCHANGED, current)
        if current.of(other) == 100:
            self._drift(
                current,
                None,
                f"the listener sends all traffic to {other} ({current}), but {live} is the "
                f"colour Switchyard last promoted and the stack says {live}: someone finished a "
                f"change outside Switchyard. Nothing was moved. Either set liveColour to {other} "
                f"(the next pulumi up bakes {other} where it stands and records it as live), or "
                f"restore {Weights.all_on(live)} on the listener by hand, then run again.",
            )
        self._trouble_at = self._clock.now()
        because = because or f"the stack says {live}, the colour last promoted, is live"
        return self._rollback(
            live,
            current.of(other),
            f"a shift to {other} did not finish (the listener carried {current}) and {because}; "
            "this is a rollback, not a release",
        )

    def shift(self, source: Colour, target: Colour) -> CutoverReport:
        """Move all traffic from ``source`` to ``target`` step by step, or roll back.

        Ctrl-C (KeyboardInterrupt) during a shift is an abort: 100% goes back on ``source``
        and the KeyboardInterrupt propagates with a note saying what is in force.
        """
        if source is target:
            raise ValueError(f"source and target are both {source}")
        self._begin(source, target)
        try:
            return self._shift(source, target)
        except KeyboardInterrupt as interrupt:
            interrupt.add_note(
                self._abort(source, TERMINATED if "SIGTERM" in interrupt.args else INTERRUPTED)
            )
            raise

    # -- the steps ---------------------------------------------------------------------------

    def _shift(self, source: Colour, target: Colour) -> CutoverReport:
        current = self._read_or_refuse()
        steps = schedule(self._policy, current.of(target))
        self._gate(current, source, target)
        expected = current
        for step in steps:
            if step.move:
                expected = self._advance(expected, step, source, target)
            self._bake(step, expected, source)
        self._confirm(expected, source)
        self._emit(EventKind.PROMOTED, expected, steps[-1].weight, f"{target} is live")
        return self._finish(Outcome.PROMOTED, expected, step=steps[-1].weight)

    def _read_or_refuse(self) -> Weights:
        try:
            current = self._listener.read_weights()
        except ListenerDrift as drift:
            self._finish(Outcome.DRIFT, None, None, str(drift), None, drift)
            raise
        except PortError as exc:
            self._refuse(
                f"could not read the listener's weights: {exc}. No traffic was moved by this "
                f"run; {exc.advice('elasticloadbalancing:DescribeListeners', 'the listener ARN')}"
            )
        self._current, self._seen = current, True
        return current

    def _gate(self, current: Weights, source: Colour, target: Colour) -> None:
        """Health and alarm gates. Before traffic moves a failure refuses; after, it rolls back."""
        resuming = current.of(target) > 0

        def stop(cause: str, verdict: Verdict | None = None) -> NoReturn:
            if resuming:
                self._trouble_at = self._clock.now()
                self._rollback(source, current.of(target), cause, verdict)
            self._emit(EventKind.REFUSED, current, None, cause)
            self._refuse(f"{cause}. No traffic was moved: {current} still in force.", verdict)

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
            stop(f"{verdict} before the shift {'resumed' if resuming else 'started'}", verdict)
        self._emit(
            EventKind.GATES_PASSED, current, None, f"{healthy} healthy target(s) in {target}"
        )

    def _confirm(self, expected: Weights, source: Colour) -> None:
        """The listener still carries what this run set; someone else's change stops the run.
        A read that fails before anything moved refuses; after, it rolls back."""
        try:
            observed = self._listener.read_weights()
        except ListenerDrift as drift:
            self._emit(EventKind.DRIFT, self._current, self._step, str(drift))
            self._finish(Outcome.DRIFT, None, self._step, str(drift), None, drift)
            raise
        except PortError as exc:
            cause = f"could not read the listener: {exc}"
            if self._untouched(source):
                self._refuse_unmoved(cause, exc, "elasticloadbalancing:DescribeListeners")
            self._trouble_at = self._clock.now()
            self._rollback(source, self._current.of(source.other), cause)
        if observed != expected:
            self._current = observed
            where = f"after the {self._step}% step" if self._step else "before the first step"
            self._drift(
                observed,
                self._step,
                f"the listener's weights were changed outside Switchyard: expected {expected}, "
                f"found {observed}. Stopped {where} without touching them. To keep {source} "
                f"live, set liveColour back to {source}; to go on to {source.other}, run again "
                "(the shift resumes from the weights in force).",
            )

    def _advance(self, expected: Weights, step: Step, source: Colour, target: Colour) -> Weights:
        self._confirm(expected, source)
        wanted = Weights.split(target, step.weight)
        untouched = self._untouched(source)
        self._moving, self._step = True, step.weight
        self._attempted = wanted  # until the write is known to have landed
        try:
            self._set(wanted, step.weight, EventKind.STEP_SET)
            self._attempted = None
        except PortError as exc:
            cause = f"setting {wanted} failed: {exc}"
            # AWS answered that it did not make the change (its last attempt did; an earlier
            # one that timed out may have landed, so look): still 100% on the source.
            if untouched and exc.rejected and self._actual_weights() == self._current:
                self._moving, self._step = False, None
                self._refuse_unmoved(cause, exc, "elasticloadbalancing:ModifyListener")
            self._trouble_at = self._clock.now()
            self._rollback(source, step.weight, cause)
        return wanted

    def _refuse_unmoved(self, cause: str, exc: PortError, permission: str) -> NoReturn:
        advice = exc.advice(permission, "the listener ARN")
        self._refuse(f"{cause}. No traffic was moved: {self._current} still in force; {advice}")

    def _untouched(self, source: Colour) -> bool:
        """Nothing set by this run, and the source carried all traffic when last seen."""
        return self._step is None and self._current == Weights.all_on(source)

    def _bake(self, step: Step, weights: Weights, source: Colour) -> None:
        self._step = step.weight
        deadline = self._clock.now() + self._policy.bake_seconds
        polls = 0
        while True:
            started = self._clock.now()
            try:
                verdict = self._judge()
            except PortError as exc:
                # Blind: the alarms could not be read within the call budget. Roll back now;
                # the reaction counts from the start of the read that failed.
                self._trouble_at = started
                self._rollback(source, step.weight, f"could not read the gating alarms: {exc}")
            polls += 1
            self._polls += 1
            self._emit(EventKind.POLL, weights, step.weight)
            if verdict:
                self._trouble_at = self._clock.now()
                self._emit(EventKind.ALARM, weights, step.weight, str(verdict))
                self._rollback(source, step.weight, str(verdict), verdict)
            now = self._clock.now()
            if now >= deadline:
                break
            # Polls keep their cadence however long a read took: the next starts one interval
            # after this one started.
            self._clock.sleep(max(0.0, min(started + self._policy.poll_seconds, deadline) - now))
        self._emit(EventKind.BAKE_PASSED, weights, step.weight, f"{polls} poll(s), no alarm")

    def _rollback(
        self, source: Colour, step: int, cause: str, verdict: Verdict | None = None
    ) -> NoReturn:
        """100% back on ``source``. A failed call is retried (each call within its budget)
        until ``ROLLBACK_RETRY_SECONDS``; the first failure is reported at once as a
        ``ROLLBACK_RETRYING`` event whose ``report`` (provisional) has the weights in force if
        they are known. Between tries the listener is read: 100% on ``source`` restored by
        someone else ends the rollback; weights this run neither saw nor wrote are someone
        else's choice, which the rollback does not overwrite."""
        safe = Weights.all_on(source)
        ours = {safe, self._current, self._attempted}
        self._rolling = (cause, verdict)
        deadline = self._rollback_deadline
        while True:
            try:
                self._set(safe, step, EventKind.ROLLBACK_SET, "rollback")
                break
            except ListenerDrift as rebuilt:  # the listener was rebuilt by hand
                self._overruled(safe, step, cause, verdict, None, str(rebuilt))
            except PortError as exc:
                now = self._clock.now()
                if deadline is None:
                    deadline = self._rollback_deadline = now + ROLLBACK_RETRY_SECONDS
                    # Any failed write may have landed (an attempt whose answer was lost):
                    # what is in force is not known until the listener is read again.
                    retrying = (
                        f"{cause}; the call to restore {safe} failed: {exc}. Weights in force: "
                        f"{_maybe(self._current, ours)}. Switchyard keeps retrying for up to "
                        f"{ROLLBACK_RETRY_SECONDS:.0f} s"
                    )
                    self._finish(Outcome.ROLLBACK_FAILED, None, step, retrying, verdict)
                    self._emit(EventKind.ROLLBACK_RETRYING, safe, step, retrying)
                if now >= deadline:
                    self._rollback_failed(safe, step, cause, verdict, exc)
                self._clock.sleep(min(ROLLBACK_RETRY_PAUSE, deadline - now))
                try:
                    actual: Weights | None = self._listener.read_weights()
                except ListenerDrift as rebuilt:
                    self._overruled(safe, step, cause, verdict, None, str(rebuilt))
                except PortError:
                    actual = None  # unreadable: keep trying to restore
                if actual == safe:
                    self._restored_anyway(safe, step, cause, verdict)
                if actual is not None and actual not in ours:
                    self._overruled(safe, step, cause, verdict, actual, str(actual))
        self._rolled_back(safe, step, cause, verdict)

    def _rolled_back(
        self, safe: Weights, step: int, cause: str, verdict: Verdict | None
    ) -> NoReturn:
        self._current = safe
        self._emit(EventKind.ROLLED_BACK, safe, step, cause)
        error = RolledBack(f"{cause} at step {step}%; rolled back, {safe} now in force.")
        self._finish(Outcome.ROLLED_BACK, safe, step, cause, verdict, error)
        raise error

    def _restored_anyway(
        self, safe: Weights, step: int, cause: str, verdict: Verdict | None
    ) -> NoReturn:
        """The listener reads ``safe`` although this run's last call to set it failed."""
        self._rolled_back(
            safe,
            step,
            f"{cause}; the listener reads {safe}: a call that failed landed after all, or "
            "someone restored it by hand",
            verdict,
        )

    def _rollback_failed(
        self, safe: Weights, step: int, cause: str, verdict: Verdict | None, exc: PortError
    ) -> NoReturn:
        actual = self._actual_weights()
        if actual == safe:
            self._restored_anyway(safe, step, cause, verdict)
        self._emit(EventKind.ROLLBACK_FAILED, safe, step, str(exc))
        failed = RollbackFailed(
            f"ROLLBACK FAILED at step {step}%: {cause}; every call to restore {safe} for "
            f"{ROLLBACK_RETRY_SECONDS:.0f} s failed, the last: {exc}. Weights in force now: "
            f"{_shown(actual)}. Restore {safe} on the listener by hand at once."
        )
        self._finish(Outcome.ROLLBACK_FAILED, actual, step, cause, verdict, failed)
        raise failed from exc

    def _overruled(
        self,
        safe: Weights,
        step: int,
        cause: str,
        verdict: Verdict | None,
        actual: Weights | None,
        found: str,
    ) -> NoReturn:
        """Someone changed the listener while the rollback's calls failed: theirs stands."""
        self._emit(EventKind.ROLLBACK_FAILED, safe, step, "overruled by a change by hand")
        failed = RollbackFailed(
            f"ROLLBACK NOT FINISHED at step {step}%: {cause}; while rolling back to {safe}, "
            f"Switchyard found the listener changed by someone else ({found}) and does not "
            f"overwrite it. If that is not what should carry the traffic, restore {safe} by hand "
            "at once."
        )
        self._finish(Outcome.ROLLBACK_FAILED, actual, step, cause, verdict, failed)
        raise failed

    def _abort(self, source: Colour, why: str) -> str:
        """After Ctrl-C: 100% back on ``source`` if this run moved or found traffic on the
        other colour. Returns what is in force, for the interrupt's note."""
        if not self._moving:
            seen = self._current if self._seen else self._actual_weights()
            if seen == Weights.all_on(source):
                return f"interrupted before any traffic moved: {seen} still in force"
            if seen is None:
                return (
                    "interrupted before this run moved any traffic; the listener could not be "
                    "read, so check what it carries"
                )
        cause, verdict = why, None
        if self._rolling is not None:  # interrupted while rolling back: finish that rollback
            cause, verdict = f"{self._rolling[0]}; {why} during the rollback", self._rolling[1]
        else:
            self._trouble_at = self._clock.now()
        try:
            self._rollback(source, self._step or 0, cause, verdict)
        except CutoverStopped as stopped:
            return str(stopped)

    # -- helpers -----------------------------------------------------------------------------

    def _judge(self) -> Verdict | None:
        if not self._gating:
            return None
        states = self._alarms.states(self._gating)
        for name in self._gating:
            state = states.get(name)
            if state is None:
                fix = "create it or fix the name in the gating alarm list"
                return Verdict(name, None, f"no such alarm; {fix}")
            if self._is_bad(state):
                return Verdict(name, state.value, state.reason, state.since)
        return None

    def _is_bad(self, state: AlarmState) -> bool:
        if state.value is AlarmValue.ALARM:
            return True
        rollback_on_no_data = self._policy.insufficient_data is InsufficientData.ROLLBACK
        return state.value is AlarmValue.INSUFFICIENT_DATA and rollback_on_no_data

    def _set(self, weights: Weights, step: int | None, kind: EventKind, detail: str = "") -> None:
        self._listener.set_weights(weights)
        self._current = weights
        self._emit(kind, weights, step, detail)

    def _actual_weights(self) -> Weights | None:
        """The listener's weights now, or None: unreadable, or not a forward Switchyard can
        read as blue/green weights (someone rebuilt it)."""
        try:
            return self._listener.read_weights()
        except (PortError, ListenerDrift):
            return None

    def _emit(self, kind: EventKind, weights: Weights, step: int | None, detail: str = "") -> None:
        event = Event(self._clock.now(), kind, weights, step, detail)
        if kind is not EventKind.POLL:
            self._events.append(event)
        if self._on_event:
            self._on_event(event)

    def _refuse(self, message: str, verdict: Verdict | None = None) -> NoReturn:
        error = ShiftRefused(message)
        self._finish(Outcome.REFUSED, self._current, None, message, verdict, error)
        raise error

    def _drift(self, observed: Weights, step: int | None, message: str) -> NoReturn:
        self._emit(EventKind.DRIFT, observed, step, message)
        error = ListenerDrift(message)
        self._finish(Outcome.DRIFT, observed, step, message, None, error)
        raise error

    def _begin(self, source: Colour, target: Colour) -> None:
        self._source, self._target = source, target
        self._events = []
        self._polls = 0
        self._step = None
        self._moving = False
        self._current = Weights.all_on(source)
        self._seen = False  # whether _current was read from the listener yet
        self._attempted = None  # a step write that failed but may have landed
        self._rolling = None  # a rollback under way: its cause and verdict
        self._rollback_deadline = None
        self._trouble_at = None

    def _finish(
        self,
        outcome: Outcome,
        weights: Weights | None,
        step: int | None = None,
        cause: str = "",
        verdict: Verdict | None = None,
        error: CutoverStopped | None = None,
    ) -> CutoverReport:
        reaction = None
        if self._trouble_at is not None and outcome is Outcome.ROLLED_BACK:
            reaction = max(0.0, self._clock.now() - self._trouble_at)
        self.report = CutoverReport(
            source=self._source,
            target=self._target,
            outcome=outcome,
            weights=weights,
            events=tuple(self._events),
            polls=self._polls,
            step=step,
            cause=cause,
            alarm=verdict,
            reaction_seconds=reaction,
        )
        if error is not None:
            error.report = self.report
        return self.report


def _maybe(current: Weights, possible: set[Weights | None]) -> str:
    """Weights not known since a write failed: what was last seen, and what may have landed."""
    others = sorted(str(w) for w in possible if w is not None and w != current)
    landed = f", or a failed write's {' or '.join(others)}" if others else ""
    return f"unknown (last seen {current}{landed})"


def _shown(weights: Weights | None) -> str:
    return str(weights) if weights else "unknown, the listener could not be read either"
