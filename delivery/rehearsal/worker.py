"""The rehearsal's ``pulumi up`` out of the driver's thread, as the real one runs out of the
driver's process: a signal reaches the driver (Python delivers it to the main thread only),
never the cutover, which the real CLI runs in its provider's process. The main thread waits in
``Thread.join`` with a timeout, a lock wait that a signal interrupts (Python 3.2+ on POSIX);
the call goes on after an interrupt until ``SimulatedStack.cancel`` stops it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
JOIN_SLICE_SECONDS = 0.1


def on_worker(call: Callable[[], T], name: str) -> T:
    """``call()``, run on a daemon thread; its result or its exception, re-raised here."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def body() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # re-raised on the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=body, name=name, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(JOIN_SLICE_SECONDS)
    if failure:
        raise failure[0]
    return outcome[0]
