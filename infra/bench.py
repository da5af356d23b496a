"""Benchmark: evaluate the program under Pulumi's mock runtime and time it.

    python -m infra.bench [--repeat 3]

Prints each stack's resource count and evaluation time (target: prod under 3 s), then how the
prod program grows with the number of availability zones (2..6) and of rollback alarms per
colour.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Sequence
from typing import Any

from delivery.config.stackfile import load_stack, stack_config
from delivery.plans.alarms import rollback_alarm_specs
from infra.offline import evaluate, placeholder_secrets

STACK = "prod"
STACKS = ("dev", "staging", "prod")
TARGET_SECONDS = 3.0
WIDE_REGION = "us-east-1"  # six zones (delivery/config/regions.py), for the growth per zone


def timed(repeat: int, stack: str = STACK, **kwargs: Any) -> tuple[int, float]:
    """Resource count and median seconds over ``repeat`` evaluations."""
    seconds, count = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        run = evaluate(stack, secrets=placeholder_secrets(stack), **kwargs)
        seconds.append(time.perf_counter() - started)
        count = len(run.mocks.resources)
    return count, statistics.median(seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.bench", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="evaluations per measurement")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    timed(1)  # warm imports and caches
    print(f"stack     resources  time (ms, median of {args.repeat})")
    for stack in STACKS:
        count, seconds = timed(args.repeat, stack)
        verdict = ""
        if stack == STACK:
            verdict = "  within" if seconds < TARGET_SECONDS else "  OVER"
            verdict += f" the {TARGET_SECONDS:.0f} s target"
        print(f"{stack:<8}  {count:>9}  {seconds * 1000:>9.0f}{verdict}")
    # The stack moved to a six-zone region, with its regional ARNs (certificate, rotation).
    config = stack_config(STACK)
    region = config["aws:region"]
    in_wide_region = {
        key: value.replace(f":{region}:", f":{WIDE_REGION}:")
        for key, value in config.items()
        if isinstance(value, str) and f":{region}:" in value
    }
    in_wide_region["aws:region"] = WIDE_REGION
    print(f"\navailability zones  resources  time (ms)   (in {WIDE_REGION})")
    for zones in range(2, 7):
        wide = {**in_wide_region, "switchyard:azCount": zones}
        count, seconds = timed(args.repeat, overrides=wide)
        print(f"{zones:>18}  {count:>9}  {seconds * 1000:>9.0f}")
    base = rollback_alarm_specs(load_stack(STACK).alarms)
    print("\nalarms per colour   resources  time (ms)")
    for copies in (1, 2, 4, 8, 16):
        specs = [
            dataclasses.replace(s, name=f"{s.slug}-{i}") if i else s
            for i in range(copies)
            for s in base
        ]
        count, seconds = timed(args.repeat, alarm_specs=specs)
        print(f"{len(specs):>18}  {count:>9}  {seconds * 1000:>9.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
