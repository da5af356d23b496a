"""The one typed configuration model.

A plain mapping of fully qualified config keys (what a ``Pulumi.<stack>.yaml`` holds under
``config:``, or what ``pulumi.Config`` returns) goes in; frozen dataclasses come out, or one
``ConfigError`` that names every bad key and why. Nothing else in Switchyard reads configuration.
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, TypeVar

from delivery.errors import ConfigError, Problem

PROJECT: Final = "switchyard"
E = TypeVar("E", bound=StrEnum)


class Colour(StrEnum):
    BLUE = "blue"
    GREEN = "green"

    @property
    def other(self) -> Colour:
        return Colour.GREEN if self is Colour.BLUE else Colour.BLUE


class InsufficientData(StrEnum):
    """What an alarm in INSUFFICIENT_DATA means during a cutover."""

    IGNORE = "ignore"  # no data is not evidence of harm (quiet services, new targets)
    ROLLBACK = "rollback"  # no data is treated like ALARM: prove health or go back


REGION_KEY: Final = "aws:region"  # the AWS provider's key; Pulumi allows it no schema entry

# The project's own keys and their Pulumi schema types. Pulumi.yaml documents each one with the
# same type (a test holds the two together), so `pulumi config` rejects mistyped values too.
KEYS: Final[Mapping[str, str]] = {
    f"{PROJECT}:environment": "string",
    f"{PROJECT}:liveColour": "string",
    f"{PROJECT}:trafficSteps": "array",
    f"{PROJECT}:bakeSeconds": "integer",
    f"{PROJECT}:pollSeconds": "integer",
    f"{PROJECT}:minHealthyTargets": "integer",
    f"{PROJECT}:insufficientData": "string",
}


@dataclass(frozen=True)
class TrafficPolicy:
    steps: tuple[int, ...]
    bake_seconds: int
    poll_seconds: int
    min_healthy_targets: int
    insufficient_data: InsufficientData

    @property
    def total_bake_seconds(self) -> int:
        return self.bake_seconds * len(self.steps)

    def to_inputs(self) -> dict[str, Any]:
        """The stack-config spelling, so a policy can travel as plain data (dynamic provider)."""
        return {
            "trafficSteps": list(self.steps),
            "bakeSeconds": self.bake_seconds,
            "pollSeconds": self.poll_seconds,
            "minHealthyTargets": self.min_healthy_targets,
            "insufficientData": self.insufficient_data.value,
        }


@dataclass(frozen=True)
class Settings:
    stack: str
    environment: str
    region: str
    live_colour: Colour
    traffic: TrafficPolicy


_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ENVIRONMENTS: Final = ("dev", "staging", "prod")
_MISSING: Final = object()


def _whole(value: Any) -> Any:
    """Integral values as int: Pulumi carries every number as a float, config carries text."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    return value


class _Reader:
    """Reads keys from a raw mapping, collecting every problem instead of stopping at one."""

    def __init__(self, raw: Mapping[str, Any], prefix: str) -> None:
        self._raw = raw
        self._prefix = prefix
        self.problems: list[Problem] = []

    def key(self, name: str) -> str:
        return name if ":" in name else f"{self._prefix}{name}"

    def fail(self, name: str, reason: str) -> None:
        self.problems.append(Problem(self.key(name), reason))

    def _value(self, name: str) -> Any:
        value = self._raw.get(self.key(name), _MISSING)
        if value is _MISSING or value is None:
            self.fail(
                name, f"is required; set it with `pulumi config set {self.key(name)} <value>`"
            )
            return _MISSING
        return value

    def integer(self, name: str, low: int, high: int) -> int | None:
        value = self._value(name)
        if value is _MISSING:
            return None
        value = _whole(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f"must be a whole number in {low}..{high}, got {value!r}")
            return None
        if not low <= value <= high:
            self.fail(name, f"must be in {low}..{high}, got {value}")
            return None
        return value

    def integers(self, name: str) -> list[Any] | None:
        value = self._value(name)
        if value is _MISSING:
            return None
        if isinstance(value, str):
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        if not isinstance(value, list):
            self.fail(name, f"must be a list such as [10, 50, 100], got {value!r}")
            return None
        return [v if isinstance(v, str) else _whole(v) for v in value]

    def choice(self, name: str, enum: type[E]) -> E | None:
        value = self._value(name)
        if value is _MISSING:
            return None
        try:
            return enum(str(value).strip().lower())
        except ValueError:
            options = ", ".join(member.value for member in enum)
            self.fail(name, f"must be one of {options}, got {value!r}")
            return None

    def text(self, name: str, check: Callable[[str], str | None]) -> str | None:
        value = self._value(name)
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            self.fail(name, f"must be text, got {value!r}")
            return None
        reason = check(value)
        if reason:
            self.fail(name, reason)
            return None
        return value

    def unknown_keys(self, known: Sequence[str]) -> None:
        for key in self._raw:
            if key.startswith(f"{PROJECT}:") and key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"; did you mean {close[0]}?" if close else "; remove it"
                self.problems.append(Problem(key, f"is not a Switchyard setting{hint}"))


def _steps_problem(steps: list[Any]) -> str | None:
    if not steps:
        return "must list at least one step, ending at 100"
    if any(isinstance(s, bool) or not isinstance(s, int) for s in steps):
        return f"must contain whole percentages only, got {steps!r}"
    if any(not 1 <= s <= 100 for s in steps):
        return f"every step must be in 1..100, got {steps!r}"
    if any(b <= a for a, b in itertools.pairwise(steps)):
        return f"steps must be strictly increasing, got {steps!r}"
    if steps[-1] != 100:
        return f"the last step must be 100 so the release ends with all traffic, got {steps!r}"
    return None


def read_traffic_policy(reader: _Reader) -> TrafficPolicy | None:
    raw_steps = reader.integers("trafficSteps")
    steps: tuple[int, ...] | None = None
    if raw_steps is not None:
        problem = _steps_problem(raw_steps)
        if problem:
            reader.fail("trafficSteps", problem)
        else:
            steps = tuple(raw_steps)
    bake = reader.integer("bakeSeconds", 1, 86_400)
    poll = reader.integer("pollSeconds", 1, 300)
    if bake is not None and poll is not None and poll > bake:
        reader.fail("pollSeconds", f"must not exceed bakeSeconds ({bake}), got {poll}")
        poll = None
    healthy = reader.integer("minHealthyTargets", 1, 1000)
    insufficient = reader.choice("insufficientData", InsufficientData)
    if None in (steps, bake, poll, healthy, insufficient):
        return None
    assert steps is not None and bake is not None and poll is not None
    assert healthy is not None and insufficient is not None
    return TrafficPolicy(steps, bake, poll, healthy, insufficient)


def traffic_policy_from_inputs(inputs: Mapping[str, Any]) -> TrafficPolicy:
    """Parse a policy in its stack-config spelling (``TrafficPolicy.to_inputs``)."""
    reader = _Reader(inputs, prefix="")
    policy = read_traffic_policy(reader)
    if reader.problems or policy is None:
        raise ConfigError(reader.problems, source="traffic policy")
    return policy


def _region_problem(value: str) -> str | None:
    if _REGION.match(value):
        return None
    return f"must be an AWS region such as eu-west-1, got {value!r}"


def _environment_problem(value: str) -> str | None:
    if value in _ENVIRONMENTS:
        return None
    return f"must be one of {', '.join(_ENVIRONMENTS)}, got {value!r}"


def load_settings(raw: Mapping[str, Any], stack: str) -> Settings:
    """Validate a stack's whole configuration; raise one ConfigError listing every problem."""
    reader = _Reader(raw, prefix=f"{PROJECT}:")
    region = reader.text(REGION_KEY, _region_problem)
    environment = reader.text("environment", _environment_problem)
    live = reader.choice("liveColour", Colour)
    traffic = read_traffic_policy(reader)
    reader.unknown_keys(list(KEYS))
    if reader.problems:
        raise ConfigError(reader.problems, source=f"stack {stack!r}")
    assert region is not None and environment is not None
    assert live is not None and traffic is not None
    return Settings(stack, environment, region, live, traffic)
