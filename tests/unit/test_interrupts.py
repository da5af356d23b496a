"""The first SIGINT or SIGTERM aborts; later ones wait for the abort to finish."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from delivery.interrupts import first_signal_aborts

pytestmark = pytest.mark.usefixtures("foreground_signals")


def test_the_first_signal_interrupts_and_later_ones_do_not() -> None:
    survived: list[str] = []

    def cancelled_job() -> None:
        with first_signal_aborts():
            try:
                os.kill(os.getpid(), signal.SIGTERM)  # the runner cancels the job
                time.sleep(5)  # the handler raises long before this ends
            except KeyboardInterrupt:
                os.kill(os.getpid(), signal.SIGINT)  # its next signal, during the abort
                os.kill(os.getpid(), signal.SIGTERM)
                survived.append("abort finished")
                raise

    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        cancelled_job()
    assert survived == ["abort finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_outside_the_main_thread_it_changes_nothing() -> None:
    seen: list[object] = []

    def worker() -> None:
        with first_signal_aborts():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]


def terminated() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)  # the handler raises long before this ends


def test_a_signal_the_process_ignores_stays_ignored() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # started in the background
    with first_signal_aborts():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGINT)  # a Ctrl-C meant for the foreground job
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            terminated()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_a_nested_block_leaves_the_outer_guard_alone() -> None:
    survived: list[str] = []

    def command() -> None:
        with first_signal_aborts():
            try:
                with first_signal_aborts():
                    terminated()  # the first signal, taken inside the inner block
            except KeyboardInterrupt:
                os.kill(os.getpid(), signal.SIGTERM)  # during the outer block's abort
                survived.append("abort finished")
                raise

    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        command()
    assert survived == ["abort finished"]
