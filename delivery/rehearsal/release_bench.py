"""Benchmark: each `release --rehearse` scenario end to end, with its wall time per phase.

`python -m delivery.rehearsal.release_bench [--stack staging] [--runs 3]` prints one row per run.
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
    trace = promotion_trace(settings)
    print(
        f"old colour's minimum replica count during a rehearsed shift: {trace.old_minimum} "
        f"(started at {trace.starting_old}; a rollback after the last bake lands on "
        f"{trace.old_at_end})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
