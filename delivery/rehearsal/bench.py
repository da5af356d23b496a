"""Benchmark: rollback reaction time and API calls per cutover, against the embedded emulator.

    python -m delivery.rehearsal.bench [--rollbacks 20] [--alarms 100] [--poll 1] [--bake 2]

Real clock, real HTTP. Reaction time runs from the moment SetAlarmState returns (the alarm is
in ALARM) to the moment the rollback's ModifyListener returns (the listener reads 100/0).
Target: p95 at most one poll interval + 500 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from delivery.config.model import Colour, InsufficientData, TrafficPolicy
from delivery.cutover.aws import ApiCalls, CloudWatchAlarms, ElbListener, aws_cutover
from delivery.cutover.clock import SystemClock
from delivery.cutover.engine import Event
from delivery.errors import RolledBack
from delivery.plans.schedule import Weights
from delivery.rehearsal.emulator import (
    Emulator,
    TrafficPlane,
    build_traffic_plane,
    force_weights,
    running_emulator,
    set_alarm,
)

REGION = "eu-west-1"


@dataclass
class Run:
    reaction_ms: float | None
    modify_calls: int
    describe_alarm_calls: int
    polls: int
    fired_step: int | None


def one_cutover(
    emulator: Emulator,
    plane: TrafficPlane,
    policy: TrafficPolicy,
    fire_step: int | None,
    rng: random.Random,
) -> Run:
    operator = emulator.clients()
    alarm = rng.choice(plane.gating_alarms(Colour.GREEN))
    counter = ApiCalls()
    fired: list[float] = []
    rolled: list[float] = []
    polls = 0
    timers: list[threading.Timer] = []

    def fire() -> None:
        set_alarm(operator, alarm, "ALARM", "benchmark fault")
        fired.append(time.perf_counter())

    def observe(event: Event) -> None:
        nonlocal polls
        polls += event.kind == "poll"
        if event.kind == "weights-set" and event.step == fire_step and event.detail != "rollback":
            timer = threading.Timer(rng.uniform(0.05, 0.95) * policy.bake_seconds, fire)
            timers.append(timer)
            timer.start()
        if event.kind == "rolled-back":
            rolled.append(time.perf_counter())

    try:
        engine = aws_cutover(
            emulator.clients(counter=counter),
            plane.listener_arn,
            plane.target_groups,
            plane.gating_alarms(Colour.GREEN),
            policy,
            SystemClock(),
            observe,
        )
        engine.shift(Colour.BLUE, Colour.GREEN)
    except RolledBack:
        pass
    finally:
        for timer in timers:
            timer.cancel()
    set_alarm(operator, alarm, "OK", "benchmark reset")
    force_weights(operator, plane, Weights.all_on(Colour.BLUE))
    reaction = (rolled[0] - fired[0]) * 1000 if rolled and fired else None
    return Run(
        reaction, counter.calls["ModifyListener"], counter.calls["DescribeAlarms"], polls, fire_step
    )


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main(argv: Sequence[str] | None = None) -> int:
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
    return 0 if percentile(reactions, 0.95) <= args.poll * 1000 + 500 else 1


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
