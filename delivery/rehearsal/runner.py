"""GitHub's runner cancelling a step, as the rehearsal's ``cancel-at`` scenarios play it.

actions/runner src/Runner.Sdk/ProcessInvoker.cs ``CancelAndKillProcessTree``: ``kill(pid,
SIGINT)`` to the step's process, then, if it is still alive 7.5 s later (``_sigintTimeout``),
SIGTERM, then 2.5 s after that (``_sigtermTimeout``) SIGKILL. Only the step's process is
signalled; the workflows ``exec`` the driver so that it is that process.

While it waits, the runner here also watches the listener from outside (an operator's view)
and notes when the old colour has all the traffic again: the SIGINT → 100/0 time.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

from delivery.errors import PortError
from delivery.plans.schedule import Weights

SIGTERM_AFTER = 7.5
SIGKILL_AFTER = 2.5
LOOK_EVERY = 0.01


class RunnerCancel:
    def __init__(
        self,
        read_weights: Callable[[], Weights],
        safe: Weights,
        kill: Callable[[int, int], None] = os.kill,
        pid: int | None = None,
    ) -> None:
        self._read = read_weights
        self._safe = safe
        self._kill = kill
        self._pid = pid or os.getpid()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.signalled_at: float | None = None
        self.restored_after: float | None = None  # seconds from SIGINT to 100/0 on the old colour
        self.sent: list[str] = []

    def start(self) -> None:
        """Send SIGINT now; SIGTERM and SIGKILL follow unless ``finish`` comes first."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._cancel, name="runner-cancel", daemon=True)
        self._thread.start()

    def finish(self) -> None:
        """The step's process is about to exit: the runner sends nothing more."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def _send(self, signum: signal.Signals) -> None:
        self.sent.append(signum.name)
        self._kill(self._pid, signum)

    def _cancel(self) -> None:
        self.signalled_at = time.monotonic()
        self._send(signal.SIGINT)
        deadline = self.signalled_at + SIGTERM_AFTER
        while self.restored_after is None and not self._done.is_set():
            try:
                if self._read() == self._safe:
                    self.restored_after = time.monotonic() - self.signalled_at
                    break
            except PortError:
                pass
            if time.monotonic() >= deadline:
                break
            time.sleep(LOOK_EVERY)
        for signum, at in ((signal.SIGTERM, deadline), (signal.SIGKILL, deadline + SIGKILL_AFTER)):
            if self._done.wait(max(0.0, at - time.monotonic())):
                return
            self._send(signum)
