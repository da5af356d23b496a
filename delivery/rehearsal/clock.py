"""Policy time for rehearsals: bakes compressed, real waits at their real duration."""

from __future__ import annotations

import math
import threading
import time


class CompressedClock:
    """Policy time for rehearsals: the engine's own waits (bakes, polls) run ``speed`` times
    faster than the wall clock, while everything else (API calls, botocore's retry back-off)
    counts at its real duration. Multiplying real waits by ``speed`` would show a 3 s retry as
    a 20-minute stall that never happened.

    Time runs smoothly and never backwards, also while a sleep is under way, so that another
    thread (a scenario's alarm driver) can wait for a moment in policy time.
    """

    def __init__(self, speed: float) -> None:
        if not math.isfinite(speed) or speed <= 0:
            raise ValueError(f"speed must be a positive number, got {speed}")
        self.speed = speed
        self._origin = time.monotonic()
        self._saved = 0.0  # policy seconds gained by finished sleeps, beyond their wall time
        self._sleep: tuple[float, float] | None = None  # (wall start, wall length) under way
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            wall = time.monotonic()
            gained = self._saved
            if self._sleep is not None:
                started, length = self._sleep
                gained += min(wall - started, length) * (self.speed - 1)
            return wall - self._origin + gained

    def sleep(self, seconds: float) -> None:
        length = self.wall_seconds(max(0.0, seconds))
        with self._lock:
            self._sleep = (time.monotonic(), length)
        try:
            time.sleep(length)
        finally:
            with self._lock:
                started, _ = self._sleep
                elapsed = min(time.monotonic() - started, length)
                self._saved += elapsed * (self.speed - 1)
                self._sleep = None

    def wall_seconds(self, policy_seconds: float) -> float:
        """How long a wait of ``policy_seconds`` takes on the wall clock."""
        return policy_seconds / self.speed
