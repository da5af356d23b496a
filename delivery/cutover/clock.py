"""Clocks for the engine: real time, and real time compressed for rehearsals."""

from __future__ import annotations

import time


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class CompressedClock:
    """Policy time for rehearsals: the engine's own waits (bakes, polls) run ``speed`` times
    faster than the wall clock, while everything else (API calls, botocore's retry back-off)
    counts at its real duration. Multiplying real waits by ``speed`` would show a 3 s retry as
    a 20-minute stall that never happened.
    """

    def __init__(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self._origin = time.monotonic()
        self._saved = 0.0  # policy seconds slept beyond the wall seconds they took

    def now(self) -> float:
        return time.monotonic() - self._origin + self._saved

    def sleep(self, seconds: float) -> None:
        wanted = max(0.0, seconds)
        started = time.monotonic()
        time.sleep(wanted / self.speed)
        self._saved += max(0.0, wanted - (time.monotonic() - started))

    def wall_seconds(self, policy_seconds: float) -> float:
        """How long a wait of ``policy_seconds`` takes on the wall clock."""
        return policy_seconds / self.speed
