"""The small interfaces the cutover engine talks through; AWS adapters: delivery.cutover.aws."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from delivery.config.model import Colour
from delivery.plans.schedule import Weights


class AlarmValue(StrEnum):
    """A CloudWatch alarm's state, as CloudWatch spells it."""

    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


@dataclass(frozen=True)
class AlarmState:
    name: str
    value: AlarmValue
    reason: str = ""
    since: datetime | None = None  # when the alarm entered this state, by CloudWatch's clock


class Listener(Protocol):
    """The production listener's forward action over both colours' target groups."""

    def read_weights(self) -> Weights: ...

    def set_weights(self, weights: Weights) -> None:
        """Set both weights in one call, so they change atomically."""
        ...


class Alarms(Protocol):
    def states(self, names: Sequence[str]) -> Mapping[str, AlarmState]:
        """Current state of each named alarm in one call; names that do not exist are absent."""
        ...


class TargetHealth(Protocol):
    def healthy_targets(self, colour: Colour) -> int: ...


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...
