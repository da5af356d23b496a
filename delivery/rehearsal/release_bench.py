"""Benchmark: each `release --rehearse` scenario end to end, with its wall time per phase.

`python -m delivery.rehearsal.release_bench [--stack staging] [--runs 3]` prints one row per run,
then the runner's cancel during each step of a prod shift (SIGINT → 100/0) and the old colour's
minimum replica count.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from delivery.config.stackfile import load_stack
from delivery.rehearsal.capacity import promotion_trace
from delivery.rehearsal.release import parse_release_scenario, rehearse_release
from delivery.rehearsal.runner import RunnerCancel
from delivery.release.orchestrate import EXIT_CODES, Request

SCENARIOS = ("clean", "smoke-fails", "load-fails", "alarm-at:50")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m delivery.rehearsal.release_bench")
    parser.add_argument("--stack", default="staging")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    settings = load_stack(args.stack)
    print(f"release rehearsal of {args.stack}, {args.runs} run(s) per scenario")
    print(f"{'scenario':<13} {'outcome':<12} exit  {'wall s':>7}  phases (s)")
    with tempfile.TemporaryDirectory() as folder:
        for name in SCENARIOS:
            scenario = parse_release_scenario(name, settings)
            walls = []
            for run in range(args.runs):
                started = time.perf_counter()
                record = rehearse_release(
                    settings,
                    scenario,
                    Request(f"web:bench-{run}"),
                    Path(folder),
                    lambda _line: None,
                )
                walls.append(time.perf_counter() - started)
                assert record.outcome is not None
                phases = ", ".join(
                    f"{p.phase} {(p.ended_at - p.started_at).total_seconds():.2f}"
                    for p in record.phases
                )
                code = EXIT_CODES[record.outcome]
                print(f"{name:<13} {record.outcome:<12} {code:>4}  {walls[-1]:7.2f}  {phases}")
            print(f"{'':<13} median wall {statistics.median(walls):.2f} s")
    cancel_times(args.runs)
    trace = promotion_trace(settings)
    print(
        f"old colour's minimum replica count during a rehearsed shift: {trace.old_minimum} "
        f"(started at {trace.starting_old}; a rollback after the last bake lands on "
        f"{trace.old_at_end}); the candidate's at the first step: {trace.starting_new}"
    )
    return 0


def cancel_times(runs: int, stack: str = "prod") -> None:
    """The runner's cancel (real signals to this process, Python's own SIGINT handler) during
    each step of a prod shift: the time from SIGINT until the listener, read from outside,
    carries 100% on the old colour. Target: at most 2 s."""
    settings = load_stack(stack)
    times: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        for step in settings.traffic.steps:
            scenario = parse_release_scenario(f"cancel-at:{step}", settings)
            for run in range(runs):
                runners: list[RunnerCancel] = []
                rehearse_release(
                    settings,
                    scenario,
                    Request(f"web:cancel-{step}-{run}"),
                    Path(folder),
                    lambda _line: None,
                    runners=runners,
                )
                restored = runners[0].restored_after
                if restored is None:
                    print(f"cancel at {step}%: 100/0 NOT seen before the runner's SIGTERM")
                    continue
                times.append(restored)
    if times:
        print(
            f"{stack} cancel (SIGINT -> 100/0 on the old colour), {len(times)} run(s) over "
            f"steps {', '.join(str(s) for s in settings.traffic.steps)}: median "
            f"{statistics.median(times):.3f} s, max {max(times):.3f} s (target: max <= 2 s)"
        )


if __name__ == "__main__":
    raise SystemExit(main())
