"""The engine driven through random fault schedules; every invariant of docs/architecture.md
checked after every event.

Alarms change at random times, calls are slow or fail (throttling that outlasted botocore's
retries), and the process may crash at any call, after which a second run takes over. The world
(tests/world.py) checks rises, rollbacks and weights at each listener change; this file checks
how each run ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from delivery.config.model import Colour, InsufficientData, TrafficPolicy
from delivery.cutover.engine import Cutover
from delivery.cutover.errors import ListenerDrift, RollbackFailed, RolledBack, ShiftRefused
from delivery.cutover.ports import AlarmValue
from delivery.plans.schedule import Weights
from tests.world import Crash, World, make_world

ALARMS = ("green-5xx", "green-latency", "green-cpu")
OPERATIONS = ("DescribeListeners", "ModifyListener", "DescribeAlarms", "DescribeTargetHealth")


@st.composite
def policies(draw: st.DrawFn) -> TrafficPolicy:
    middle = draw(st.lists(st.integers(1, 99), max_size=4, unique=True))
    bake = draw(st.integers(1, 120))
    return TrafficPolicy(
        steps=(*sorted(middle), 100),
        bake_seconds=bake,
        poll_seconds=draw(st.integers(1, bake)),
        min_healthy_targets=draw(st.integers(1, 3)),
        insufficient_data=draw(st.sampled_from(InsufficientData)),
    )


@dataclass
class Faults:
    alarm_changes: list[tuple[float, str, AlarmValue]]
    failures: dict[str, list[int]]  # timed out: a write may have landed
    rejections: dict[str, list[int]]  # AWS answered that it did nothing
    landed_then_rejected: list[int]  # a write landed, its answer lost, the retry refused
    crash_at_call: int | None
    latency: float
    healthy: int
    start_weight: int
    downtime: float


@st.composite
def faults(draw: st.DrawFn, policy: TrafficPolicy) -> Faults:
    horizon = policy.total_bake_seconds * 1.5 + 10
    return Faults(
        alarm_changes=draw(
            st.lists(
                st.tuples(
                    st.floats(0, horizon, allow_nan=False),
                    st.sampled_from(ALARMS),
                    st.sampled_from(list(AlarmValue)),
                ),
                max_size=5,
            )
        ),
        failures=draw(
            st.dictionaries(
                st.sampled_from(OPERATIONS), st.lists(st.integers(1, 40), max_size=3), max_size=3
            )
        ),
        rejections=draw(
            st.dictionaries(
                st.sampled_from(OPERATIONS), st.lists(st.integers(1, 40), max_size=3), max_size=2
            )
        ),
        landed_then_rejected=draw(st.lists(st.integers(1, 6), max_size=1)),
        crash_at_call=draw(st.none() | st.integers(1, 80)),
        latency=draw(st.sampled_from([0.0, 0.05, 0.7, 1.5])),  # 1.5: a read slower than a poll
        healthy=draw(st.integers(0, 4)),
        start_weight=draw(st.sampled_from([0, 0, 0, *policy.steps])),
        downtime=draw(st.floats(0, 60, allow_nan=False)),
    )


def run_once(world: World) -> Exception | str:
    world.start_run()
    engine = Cutover(world, world, world, world, world.policy, ALARMS)
    try:
        engine.shift(world.source, world.target)
    except (RolledBack, ShiftRefused, RollbackFailed, ListenerDrift) as exc:
        return exc
    return "promoted"


def assert_run_ended_safely(
    world: World, outcome: Exception | str, modify_calls: int, weights_at_start: Weights
) -> None:
    steps = len(world.policy.steps)
    # one call per step and one rollback call, plus a retried rollback call per failed one
    failed = sum(
        len(calls.get("ModifyListener", []))
        for calls in (
            world.failures,
            world.rejections,
            {"ModifyListener": world.landed_then_rejected},
        )
    )
    limit = steps + 1 + failed
    assert modify_calls <= limit, f"{modify_calls} ModifyListener calls for {steps} steps"
    if outcome == "promoted":
        assert world.weights == Weights.all_on(world.target)
    elif isinstance(outcome, ShiftRefused):
        # nothing moved: no write, or one AWS answered it did not make
        assert modify_calls <= 1, outcome
        assert world.weights == weights_at_start, outcome
    elif isinstance(outcome, RolledBack):
        assert world.weights == Weights.all_on(world.source), outcome
    elif isinstance(outcome, RollbackFailed):
        message = str(outcome)
        assert message.startswith("ROLLBACK FAILED")
        assert str(world.weights) in message or "unknown" in message
    else:
        raise AssertionError(f"unexpected outcome {outcome!r}: nobody else touched the listener")


@given(data=st.data(), policy=policies())
def test_invariants_hold_under_random_faults_crashes_and_resumes(
    data: st.DataObject, policy: TrafficPolicy
) -> None:
    plan = data.draw(faults(policy))
    world = make_world(
        policy, alarm_names=ALARMS, healthy=plan.healthy, start_weight=plan.start_weight
    )
    world.latency = plan.latency
    for when, name, state in plan.alarm_changes:
        world.set_alarm_at(when, name, state)
    for operation, calls in plan.failures.items():
        world.fail(operation, *calls)
    for operation, calls in plan.rejections.items():
        world.reject(operation, *calls)
    world.landed_then_rejected.extend(plan.landed_then_rejected)
    world.crash_at_call = plan.crash_at_call

    before, weights_at_start = world.op_calls.get("ModifyListener", 0), world.weights
    try:
        outcome = run_once(world)
    except Crash:
        world.crash_at_call = None
        world.advance(plan.downtime)
        before, weights_at_start = world.op_calls.get("ModifyListener", 0), world.weights
        outcome = run_once(world)
    modify_calls = world.op_calls.get("ModifyListener", 0) - before
    assert_run_ended_safely(world, outcome, modify_calls, weights_at_start)


@given(policy=policies(), fire_at=st.floats(0.001, 1, allow_nan=False), step=st.integers(0, 4))
def test_an_alarm_is_acted_on_within_one_poll_interval(
    policy: TrafficPolicy, fire_at: float, step: int
) -> None:
    world = make_world(policy, alarm_names=ALARMS)
    step = min(step, len(policy.steps) - 1)
    moment = step * policy.bake_seconds + fire_at * policy.bake_seconds
    world.set_alarm_at(moment, "green-cpu", AlarmValue.ALARM)
    outcome = run_once(world)
    if isinstance(outcome, RolledBack):
        rollback_time = world.sets[-1][0]
        assert rollback_time - moment <= policy.poll_seconds + 1e-6
        assert world.weights == Weights.all_on(Colour.BLUE)
    else:
        # Only an alarm landing exactly as the final bake ends can miss it.
        assert outcome == "promoted"
        assert moment >= policy.total_bake_seconds - 1e-6
