"""Ctrl-C and a cancelled CI job, for every command.

A cancelled CI job gets SIGINT, then SIGTERM a few seconds later, then SIGKILL; a person may
press Ctrl-C twice. The first signal of either kind becomes ``KeyboardInterrupt`` (the cutover
and the release driver abort on it: 100% back on the old colour); later ones are ignored, so
that the abort (a listener call, the config, the record) is not itself interrupted.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _ignore(_signum: int, _frame: FrameType | None) -> None:
    """A signal after the first: ignored until the block ends (a handler of ours, unlike
    SIG_IGN, so that a nested block sees the guard is on)."""


def _is_guard(handler: object) -> bool:
    return handler is _ignore or getattr(handler, "switchyard_guard", False) is True


@contextlib.contextmanager
def first_signal_aborts() -> Iterator[None]:
    """Within the block, the first SIGINT or SIGTERM raises ``KeyboardInterrupt`` and any
    later one is ignored; the previous handlers come back when the block ends. A signal the
    process was started ignoring stays ignored (a shell starts a background job ignoring
    SIGINT, so that Ctrl-C meant for the foreground leaves it alone). Outside the main thread,
    which Python never delivers a signal to, and nested in another such block it changes
    nothing either (the outer block's first signal stays the only one)."""
    in_main = threading.current_thread() is threading.main_thread()
    if not in_main or any(_is_guard(signal.getsignal(s)) for s in _SIGNALS):
        yield
        return
    previous = {
        s: signal.getsignal(s) for s in _SIGNALS if signal.getsignal(s) is not signal.SIG_IGN
    }
    handled = tuple(previous)

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        for each in handled:
            signal.signal(each, _ignore)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    interrupt.switchyard_guard = True  # type: ignore[attr-defined]
    for each in handled:
        signal.signal(each, interrupt)
    try:
        yield
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)
