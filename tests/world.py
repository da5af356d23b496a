"""An in-memory world for the engine's ports, on a fake clock, that checks the invariants.

The engine under test is real; only the outside world (listener, alarms, target health, time)
is simulated here, with scheduled alarm changes, API latency, failures and crashes. Every
listener change is checked against the cutover's invariants (docs/architecture.md) the moment
it happens.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from delivery.config.model import Colour, InsufficientData, TrafficPolicy
from delivery.cutover.ports import AlarmState, AlarmValue
from delivery.errors import PortError
from delivery.plans.schedule import Weights


class Crash(BaseException):
    """The process died: not an Exception, so the engine cannot catch it."""


class InvariantViolated(AssertionError):
    pass


@dataclass
class Poll:
    at: float
    bad: bool


@dataclass
class World:
    policy: TrafficPolicy
    source: Colour
    target: Colour
    weights: Weights
    alarms: dict[str, AlarmState]
    healthy: dict[Colour, int]
    t: float = 0.0
    latency: float = 0.0
    crash_at_call: int | None = None
    calls: int = 0
    failures: dict[str, list[int]] = field(default_factory=dict)  # operation -> call numbers
    rejections: dict[str, list[int]] = field(default_factory=dict)  # answered "not done" (4xx)
    landed_then_rejected: list[int] = field(default_factory=list)  # ModifyListener calls
    starting: dict[Colour, int] = field(default_factory=dict)  # targets still `initial`
    ctrl_c_after_landing: list[int] = field(default_factory=list)  # ModifyListener calls
    op_calls: dict[str, int] = field(default_factory=dict)
    polls: list[Poll] = field(default_factory=list)
    sets: list[tuple[float, Weights]] = field(default_factory=list)
    run_starts: list[float] = field(default_factory=list)
    weight_since: float = 0.0
    health_reads: list[tuple[float, int]] = field(default_factory=list)
    alarm_seen: bool = False  # a bad poll since the last listener change
    _timeline: list[tuple[float, int, Callable[[], None]]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)

    # -- scripting -----------------------------------------------------------------------------

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._timeline, (when, next(self._order), action))

    def set_alarm_at(self, when: float, name: str, state: AlarmValue, reason: str = "test") -> None:
        self.at(when, lambda: self.alarms.__setitem__(name, AlarmState(name, state, reason)))

    def fail(self, operation: str, *call_numbers: int) -> None:
        """Make the given calls (1-based, per operation) of ``operation`` raise PortError."""
        self.failures.setdefault(operation, []).extend(call_numbers)

    def reject(self, operation: str, *call_numbers: int) -> None:
        """Make the given calls of ``operation`` answer an error that says nothing was done."""
        self.rejections.setdefault(operation, []).extend(call_numbers)

    def start_run(self) -> None:
        self.run_starts.append(self.t)
        self.alarm_seen = False

    # -- time ----------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        until = self.t + max(0.0, seconds)
        while self._timeline and self._timeline[0][0] <= until:
            when, _, action = heapq.heappop(self._timeline)
            self.t = max(self.t, when)
            action()
        self.t = until

    def _call(self, operation: str) -> None:
        self.calls += 1
        self.op_calls[operation] = self.op_calls.get(operation, 0) + 1
        self.advance(self.latency)
        if self.crash_at_call is not None and self.calls == self.crash_at_call:
            raise Crash(f"crash at call {self.calls} ({operation})")
        if self.op_calls[operation] in self.failures.get(operation, []):
            raise PortError(f"{operation} failed: timed out")
        if self.op_calls[operation] in self.rejections.get(operation, []):
            raise PortError(f"{operation} failed: Throttling: Rate exceeded", rejected=True)

    # -- the ports -----------------------------------------------------------------------------

    def read_weights(self) -> Weights:
        self._call("DescribeListeners")
        return self.weights

    def set_weights(self, weights: Weights) -> None:
        self._call("ModifyListener")
        if not (0 <= weights.blue <= 100 and weights.blue + weights.green == 100):
            raise InvariantViolated(f"weights out of range: {weights}")
        if self.alarm_seen and weights != Weights.all_on(self.source):
            raise InvariantViolated(
                f"set {weights} after an alarm was seen instead of rolling back"
            )
        self.alarm_seen = False
        self._check_rise(weights)
        if weights != self.weights:
            self.weight_since = self.t
        self.weights = weights
        self.sets.append((self.t, weights))
        if self.op_calls["ModifyListener"] in self.ctrl_c_after_landing:
            raise KeyboardInterrupt  # pressed while the call's answer was on its way
        if self.op_calls["ModifyListener"] in self.landed_then_rejected:
            # an attempt landed but its answer was lost; the retry was throttled
            raise PortError("ModifyListener failed: Throttling: Rate exceeded", rejected=True)

    def states(self, names: Sequence[str]) -> Mapping[str, AlarmState]:
        self._call("DescribeAlarms")
        found = {n: self.alarms[n] for n in names if n in self.alarms}
        bad = len(found) < len(names) or any(self._bad(s) for s in found.values())
        self.polls.append(Poll(self.t, bad))
        self.alarm_seen = self.alarm_seen or bad
        return found

    def healthy_targets(self, colour: Colour) -> int:
        self._call("DescribeTargetHealth")
        self.health_reads.append((self.t, self.healthy[colour]))
        return self.healthy[colour]

    def running_targets(self, colour: Colour) -> int:
        """The healthy targets and those still ``initial`` (TargetGroupHealth.running_targets)."""
        self._call("DescribeTargetHealth")
        return self.healthy[colour] + self.starting.get(colour, 0)

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    # -- invariants ----------------------------------------------------------------------------

    def _bad(self, state: AlarmState) -> bool:
        if state.value is AlarmValue.ALARM:
            return True
        no_data_rolls_back = self.policy.insufficient_data is InsufficientData.ROLLBACK
        return state.value is AlarmValue.INSUFFICIENT_DATA and no_data_rolls_back

    def _check_rise(self, new: Weights) -> None:
        before, after = self.weights.of(self.target), new.of(self.target)
        if after <= before:
            return
        run_start = self.run_starts[-1] if self.run_starts else 0.0
        since = max(run_start, self.weight_since if before > 0 else run_start)
        window = [p for p in self.polls if p.at >= since]
        if not window or any(p.bad for p in window):
            raise InvariantViolated(
                f"{self.target} rose {before}->{after} at t={self.t} without a clean "
                f"alarm check since t={since}: {window}"
            )
        if before == 0:
            reads = [count for at, count in self.health_reads if at >= run_start]
            if not reads or reads[-1] < self.policy.min_healthy_targets:
                raise InvariantViolated(
                    f"{self.target} took traffic without a passing health gate: {reads}"
                )
        else:
            baked = window[-1].at - since
            gaps = [b.at - a.at for a, b in itertools.pairwise([Poll(since, False), *window])]
            if baked < self.policy.bake_seconds - 1e-9:
                raise InvariantViolated(
                    f"{self.target} rose {before}->{after} after only {baked}s of bake "
                    f"(policy: {self.policy.bake_seconds}s)"
                )
            slack = 3 * self.latency + 1e-9  # a resumed run reads, checks health, then polls
            if any(g > self.policy.poll_seconds + slack for g in gaps):
                raise InvariantViolated(f"polls further apart than the interval: {gaps}")


def make_world(
    policy: TrafficPolicy,
    source: Colour = Colour.BLUE,
    alarm_names: Sequence[str] = ("green-5xx", "green-latency"),
    healthy: int = 3,
    start_weight: int = 0,
) -> World:
    target = source.other
    return World(
        policy=policy,
        source=source,
        target=target,
        weights=Weights.split(target, start_weight),
        alarms={n: AlarmState(n, AlarmValue.OK, "fine") for n in alarm_names},
        healthy={source: 3, target: healthy},
    )
