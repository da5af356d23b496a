"""The rehearsal's policy clock: compressed sleeps, real time elsewhere, never backwards."""

from __future__ import annotations

import itertools
import math
import threading

import pytest

from delivery.rehearsal.clock import CompressedClock


def test_a_sleep_counts_in_full_and_real_time_counts_once() -> None:
    clock = CompressedClock(speed=100)
    before = clock.now()
    clock.sleep(10)
    assert clock.now() - before >= 10  # the whole policy sleep, at a hundredth of the wall time


def test_time_runs_smoothly_and_forwards_while_another_thread_sleeps() -> None:
    clock = CompressedClock(speed=200)
    sleeper = threading.Thread(target=clock.sleep, args=(40,))
    readings = []
    sleeper.start()
    while sleeper.is_alive():
        readings.append(clock.now())
    readings.append(clock.now())
    assert readings == sorted(readings)  # never backwards
    steps = [b - a for a, b in itertools.pairwise(readings)]
    assert max(steps) < 20  # no jump of the whole sleep at its end: it ran while it lasted
    assert readings[-1] >= 40


@pytest.mark.parametrize("speed", [0, -1, math.nan, math.inf])
def test_a_speed_that_is_not_a_positive_number_is_refused(speed: float) -> None:
    with pytest.raises(ValueError, match="positive number"):
        CompressedClock(speed)
