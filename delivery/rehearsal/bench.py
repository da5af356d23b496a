"""Benchmark: rollback reaction, blind time and API calls per cutover, against the emulator.

    python -m delivery.rehearsal.bench [--rollbacks 20] [--alarms 100] [--poll 1] [--bake 2]

Real clock, real HTTP. Reaction time runs from the moment SetAlarmState returns (the alarm is
in ALARM) to the moment the rollback's ModifyListener returns (the listener reads 100/0).
Target: p95 at most one poll interval + 500 ms. Blind time runs from the start of the first
DescribeAlarms call that fails on every attempt (throttled, or hung until the read timeout) to
100/0 (the engine's report): target at most 2 polls + 1 s. A rollback whose ModifyListener is
throttled twice: target 100/0 within 2.5 s of the alarm, and the throttled call alone within
2.5 s at each committed stack's poll interval too.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from delivery.config.model import Colour, InsufficientData, TrafficPolicy
from delivery.config.stackfile import load_stack
from delivery.cutover.aws import ApiCalls, CallBudget, CloudWatchAlarms, ElbListener, aws_cutover
from delivery.cutover.clock import SystemClock
from delivery.cutover.errors import CutoverStopped
from delivery.cutover.events import CutoverReport, Event, EventKind
from delivery.cutover.ports import AlarmValue
from delivery.plans.schedule import Weights
from delivery.rehearsal.emulator import (
    Emulator,
    TrafficPlane,
    build_traffic_plane,
    force_weights,
    running_emulator,
    set_alarm,
)
from delivery.rehearsal.faults import Fault, FaultInjector

REGION = "eu-west-1"
BLIND_RUNS = 6  # per kind of failing read
THROTTLED_ROLLBACK_RUNS = 6
THROTTLED_ROLLBACK_TARGET_MS = 2500
STACKS = ("dev", "staging", "prod")


@dataclass
class Run:
    reaction_ms: float | None
    modify_calls: int
    describe_alarm_calls: int
    polls: int
    fired_step: int | None
    report: CutoverReport | None


def one_cutover(
    emulator: Emulator,
    plane: TrafficPlane,
    policy: TrafficPolicy,
    fire_step: int | None,
    rng: random.Random,
    faults: Sequence[Fault] = (),
) -> Run:
    """One shift blue → green; an alarm fires during ``fire_step``'s bake (None: none does).
    ``faults`` are injected into the engine's ELBv2 and CloudWatch clients."""
    operator = emulator.clients()
    alarm = rng.choice(plane.gating_alarms(Colour.GREEN))
    counter = ApiCalls()
    fired: list[float] = []
    rolled: list[float] = []
    polls = 0
    timers: list[threading.Timer] = []

    def fire() -> None:
        set_alarm(operator, alarm, AlarmValue.ALARM, "benchmark fault")
        fired.append(time.perf_counter())

    def observe(event: Event) -> None:
        nonlocal polls
        polls += event.kind is EventKind.POLL
        if event.kind is EventKind.STEP_SET and event.step == fire_step:
            timer = threading.Timer(rng.uniform(0.05, 0.95) * policy.bake_seconds, fire)
            timers.append(timer)
            timer.start()
        if event.kind is EventKind.ROLLED_BACK:
            rolled.append(time.perf_counter())

    clients = emulator.clients(counter=counter, budget=CallBudget.per_poll(policy.poll_seconds))
    injector = FaultInjector(*faults)
    injector.attach(clients.elbv2)
    injector.attach(clients.cloudwatch)
    engine = aws_cutover(
        clients,
        plane.listener_arn,
        plane.target_groups,
        plane.gating_alarms(Colour.GREEN),
        policy,
        SystemClock(),
        observe,
    )
    try:
        engine.shift(Colour.BLUE, Colour.GREEN)
    except CutoverStopped:
        pass  # a rollback, or a refusal or drift the run's report shows
    finally:
        for timer in timers:
            timer.cancel()
    set_alarm(operator, alarm, AlarmValue.OK, "benchmark reset")
    force_weights(operator, plane, Weights.all_on(Colour.BLUE))
    reaction = (rolled[0] - fired[0]) * 1000 if rolled and fired else None
    return Run(
        reaction,
        counter.calls["ModifyListener"],
        counter.calls["DescribeAlarms"],
        polls,
        fire_step,
        engine.report,
    )


def blind_cutover(
    emulator: Emulator, plane: TrafficPlane, policy: TrafficPolicy, rng: random.Random, hung: bool
) -> float | None:
    """Blind time (ms) when every DescribeAlarms attempt fails from a random poll on."""
    budget = CallBudget.per_poll(policy.poll_seconds)
    first = rng.randint(3, 1 + len(policy.steps) * policy.bake_seconds // policy.poll_seconds)
    stall = (lambda: time.sleep(budget.read_timeout)) if hung else None
    failing = Fault("DescribeAlarms", 10_000, first=first, timeout=hung, stall=stall)
    report = one_cutover(emulator, plane, policy, None, rng, [failing]).report
    if report is None or report.reaction_seconds is None:
        return None
    return report.reaction_seconds * 1000


def throttled_rollback(
    emulator: Emulator, plane: TrafficPlane, policy: TrafficPolicy, rng: random.Random, step: int
) -> Run:
    """An alarm during ``step``'s bake; the rollback's ModifyListener is throttled twice."""
    rollback_call = policy.steps.index(step) + 2
    throttled = Fault("ModifyListener", 2, first=rollback_call)
    return one_cutover(emulator, plane, policy, step, rng, [throttled])


def throttled_call_at_stack_polls(emulator: Emulator, plane: TrafficPlane) -> dict[str, float]:
    """The slowest of ``THROTTLED_ROLLBACK_RUNS`` rollback writes throttled twice, per committed
    stack, with the listener client's budget at that stack's poll interval (the back-off cap
    grows with the budget), in ms on the real clock."""
    slowest = {}
    for stack in STACKS:
        poll = load_stack(stack).traffic.poll_seconds
        took = []
        for _ in range(THROTTLED_ROLLBACK_RUNS):
            clients = emulator.clients(budget=CallBudget.per_poll(poll))
            FaultInjector(Fault("ModifyListener", 2)).attach(clients.elbv2)
            listener = ElbListener(clients.elbv2, plane.listener_arn, plane.target_groups)
            listener.read_weights()
            started = time.perf_counter()
            listener.set_weights(Weights.all_on(Colour.BLUE))
            took.append((time.perf_counter() - started) * 1000)
        slowest[f"{stack} (poll {poll} s)"] = max(took)
    return slowest


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _bench(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _bench(argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m delivery.rehearsal.bench", description=__doc__)
    parser.add_argument("--rollbacks", type=int, default=20)
    parser.add_argument("--alarms", type=int, default=100, help="gating alarms per colour")
    parser.add_argument("--poll", type=int, default=1, help="poll interval, seconds")
    parser.add_argument("--bake", type=int, default=2, help="bake per step, seconds")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.rollbacks < 1 or not 1 <= args.alarms <= 100 or args.poll < 1 or args.bake < args.poll:
        parser.error("need --rollbacks >= 1, --alarms in 1..100, --poll >= 1, --bake >= --poll")
    policy = TrafficPolicy((10, 50, 100), args.bake, args.poll, 1, InsufficientData.IGNORE)
    rng = random.Random(args.seed)
    with running_emulator(REGION) as emulator:
        plane = build_traffic_plane(emulator.clients(), "bench", alarms_per_colour=args.alarms)
        _latencies(emulator, plane)
        promoted = one_cutover(emulator, plane, policy, None, rng)
        force_weights(emulator.clients(), plane, Weights.all_on(Colour.BLUE))
        runs = [
            one_cutover(emulator, plane, policy, policy.steps[i % len(policy.steps)], rng)
            for i in range(args.rollbacks)
        ]
        blind = {
            kind: [blind_cutover(emulator, plane, policy, rng, hung) for _ in range(BLIND_RUNS)]
            for kind, hung in (("throttled", False), ("hung until the read timeout", True))
        }
        throttled = [
            throttled_rollback(emulator, plane, policy, rng, policy.steps[i % len(policy.steps)])
            for i in range(THROTTLED_ROLLBACK_RUNS)
        ]
        at_stack_polls = throttled_call_at_stack_polls(emulator, plane)
    reactions = [r.reaction_ms for r in runs if r.reaction_ms is not None]
    print(
        f"\nrollback reaction over {len(reactions)} rollbacks "
        f"(poll {args.poll}s, {args.alarms} gating alarms):"
    )
    print(f"  median {statistics.median(reactions):7.1f} ms")
    print(
        f"  p95    {percentile(reactions, 0.95):7.1f} ms   (target <= {args.poll * 1000 + 500} ms)"
    )
    print(f"  max    {max(reactions):7.1f} ms")
    print(
        f"ModifyListener per promoted cutover: {promoted.modify_calls} "
        f"(target: {len(policy.steps)}, one per step)"
    )
    for step in policy.steps:
        counts = sorted({r.modify_calls for r in runs if r.fired_step == step})
        expected = policy.steps.index(step) + 2
        print(f"ModifyListener per rollback at step {step:>3}%: {counts} (target: {expected})")
    all_runs = [promoted, *runs]
    checks = sum(r.polls for r in all_runs) + len(all_runs)  # bake polls + one gate per cutover
    per_check = sum(r.describe_alarm_calls for r in all_runs) / checks
    print(f"DescribeAlarms per alarm check ({args.alarms} alarms): {per_check:.3f} (target: 1)")
    blind_target = (2 * args.poll + 1) * 1000
    worst_blind = 0.0
    for kind, values in blind.items():
        seen = [v for v in values if v is not None]
        worst_blind = max([worst_blind, *seen]) if len(seen) == len(values) else float("inf")
        print(
            f"blind time to rollback, DescribeAlarms {kind} on every attempt ({len(seen)} runs): "
            f"median {statistics.median(seen):.0f} ms, max {max(seen):.0f} ms "
            f"(target <= {blind_target} ms)"
        )
    throttled_ms = [r.reaction_ms for r in throttled if r.reaction_ms is not None]
    calls_ms = [
        r.report.reaction_seconds * 1000
        for r in throttled
        if r.report and r.report.reaction_seconds is not None
    ]
    print(
        f"rollback reaction with ModifyListener throttled twice ({len(throttled_ms)} runs): "
        f"median {statistics.median(throttled_ms):.0f} ms, max {max(throttled_ms):.0f} ms "
        f"(target <= {THROTTLED_ROLLBACK_TARGET_MS} ms); of which the throttled rollback call: "
        f"median {statistics.median(calls_ms):.0f} ms, max {max(calls_ms):.0f} ms"
    )
    print(
        f"a rollback call throttled twice, at each stack's poll, slowest of "
        f"{THROTTLED_ROLLBACK_RUNS}: "
        + ", ".join(f"{stack} {ms:.0f} ms" for stack, ms in at_stack_polls.items())
        + f" (target <= {THROTTLED_ROLLBACK_TARGET_MS} ms)"
    )
    met = (
        percentile(reactions, 0.95) <= args.poll * 1000 + 500
        and worst_blind <= blind_target
        and len(throttled_ms) == len(throttled)
        and max(throttled_ms) <= THROTTLED_ROLLBACK_TARGET_MS
        and max(at_stack_polls.values()) <= THROTTLED_ROLLBACK_TARGET_MS
    )
    return 0 if met else 1


def _latencies(emulator: Emulator, plane: TrafficPlane, samples: int = 20) -> None:
    clients = emulator.clients()
    listener = ElbListener(clients.elbv2, plane.listener_arn, plane.target_groups)
    alarms = CloudWatchAlarms(clients.cloudwatch)
    listener.read_weights()

    def timed(action: object) -> float:
        started = time.perf_counter()
        action()  # type: ignore[operator]
        return (time.perf_counter() - started) * 1000

    modify = [
        timed(lambda: listener.set_weights(Weights.all_on(Colour.BLUE))) for _ in range(samples)
    ]
    names = plane.gating_alarms(Colour.GREEN)
    describe = [timed(lambda: alarms.states(names)) for _ in range(samples)]
    print(
        f"emulator latency: ModifyListener median {statistics.median(modify):.1f} ms; "
        f"DescribeAlarms ({len(names)} alarms) median {statistics.median(describe):.1f} ms"
    )


if __name__ == "__main__":
    raise SystemExit(main())
