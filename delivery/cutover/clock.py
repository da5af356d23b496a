"""The engine's real clock. Rehearsals compress time with ``delivery.rehearsal.clock``."""

from __future__ import annotations

import time


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))
