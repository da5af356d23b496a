"""The listener watch around a real `pulumi up` never holds up an abort."""

from __future__ import annotations

import threading

import pytest

from delivery.config.model import Colour
from delivery.plans.schedule import Weights
from delivery.release.progress import OnProgress
from delivery.release.status import WatchedStack
from tests.stacks import QuietStack

PROD_POLL = 15.0


class SplitListener:
    def read_weights(self) -> Weights:
        return Weights.split(Colour.GREEN, 10)

    def set_weights(self, weights: Weights) -> None:
        raise AssertionError("the watch only reads")


class PollThatNeverEnds:
    """A clock whose sleep lasts until the test ends: the watch is always mid-poll."""

    def __init__(self) -> None:
        self.sleeping = threading.Event()
        self.wake = threading.Event()

    def now(self) -> float:
        return 0.0

    def sleep(self, seconds: float) -> None:
        self.sleeping.set()
        self.wake.wait()


class InterruptedUp(QuietStack):
    """A `pulumi up` that a first SIGINT interrupts once the watch is polling."""

    def __init__(self, clock: PollThatNeverEnds, interrupt: type[BaseException]) -> None:
        super().__init__("prod")
        self._clock = clock
        self._interrupt = interrupt

    def up(self, on_progress: OnProgress) -> None:
        assert self._clock.sleeping.wait(timeout=30)
        raise self._interrupt("SIGINT")


def run_up(interrupt: type[BaseException]) -> tuple[threading.Thread, PollThatNeverEnds]:
    clock = PollThatNeverEnds()
    watched = WatchedStack(
        InterruptedUp(clock, interrupt), SplitListener(), clock, PROD_POLL, lambda _: None
    )

    def up() -> None:
        with pytest.raises(interrupt):
            watched.up(lambda _: None)

    driver = threading.Thread(target=up, daemon=True)
    driver.start()
    return driver, clock


def test_an_interrupt_leaves_up_at_once_while_the_watch_sleeps_its_poll() -> None:
    driver, clock = run_up(KeyboardInterrupt)
    # Generous: the interrupt is out in milliseconds; waiting out the poll and the join's
    # timeout (pollSeconds + 30 s) would keep the driver here for 45 s.
    driver.join(timeout=20)
    try:
        assert not driver.is_alive(), "the abort waited for the listener watch"
    finally:
        clock.wake.set()


def test_a_failed_up_still_waits_for_the_watchs_last_report() -> None:
    driver, clock = run_up(RuntimeError)
    driver.join(timeout=0.5)
    assert driver.is_alive(), "joined the watch before its last look"
    clock.wake.set()
    driver.join(timeout=30)
    assert not driver.is_alive()
