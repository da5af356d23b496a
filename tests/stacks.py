"""A stack port that does nothing, for tests that need only its ``up`` or its config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from delivery.release.progress import OnProgress


class QuietStack:
    """Config in a dict; no outputs, nothing to cancel, no lock left; ``up`` does nothing."""

    def __init__(self, name: str = "staging", values: Mapping[str, str] | None = None) -> None:
        self._name = name
        self.values = dict(values or {})
        self.ups = 0

    @property
    def name(self) -> str:
        return self._name

    def config(self) -> dict[str, str]:
        return dict(self.values)

    def set_config(self, values: Mapping[str, str]) -> None:
        self.values.update(values)

    def up(self, on_progress: OnProgress) -> None:
        self.ups += 1

    def outputs(self) -> dict[str, Any]:
        return {}

    def cancel(self) -> None:
        return None

    def left_lock(self) -> str | None:
        return None
