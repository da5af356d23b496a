"""Reads raw configuration values, collecting every problem instead of stopping at the first."""

from __future__ import annotations

import contextlib
import difflib
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any, Final, TypeVar

from delivery.errors import Problem

E = TypeVar("E", bound=StrEnum)
_MISSING: Final = object()


def whole(value: Any) -> Any:
    """Integral values as int: Pulumi carries every number as a float, config carries text."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    return value


class ConfigReader:
    """Typed getters over a raw mapping; each records a ``Problem`` and returns None when bad."""

    def __init__(self, raw: Mapping[str, Any], prefix: str) -> None:
        self._raw = raw
        self._prefix = prefix
        self.problems: list[Problem] = []

    def key(self, name: str) -> str:
        return name if ":" in name else f"{self._prefix}{name}"

    def fail(self, name: str, reason: str) -> None:
        self.problems.append(Problem(self.key(name), reason))

    def has_problem(self, name: str) -> bool:
        return any(p.key == self.key(name) for p in self.problems)

    def _value(self, name: str, required: bool = True) -> Any:
        value = self._raw.get(self.key(name), _MISSING)
        if value is _MISSING or value is None or value == "":
            if required:
                self.fail(
                    name, f"is required; set it with `pulumi config set {self.key(name)} <value>`"
                )
            return _MISSING
        return value

    def integer(self, name: str, low: int, high: int) -> int | None:
        value = self._value(name)
        if value is _MISSING:
            return None
        value = whole(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f"must be a whole number in {low}..{high}, got {value!r}")
            return None
        if not low <= value <= high:
            self.fail(name, f"must be in {low}..{high}, got {value}")
            return None
        return value

    def listing(self, name: str, required: bool = True) -> list[Any] | None:
        value = self._value(name, required)
        if value is _MISSING:
            return None if required else []
        if isinstance(value, str):
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        if not isinstance(value, list):
            self.fail(name, f"must be a list such as [10, 50, 100], got {value!r}")
            return None
        return [v if isinstance(v, str) else whole(v) for v in value]

    def choice(self, name: str, enum: type[E]) -> E | None:
        value = self._value(name)
        if value is _MISSING:
            return None
        for member in enum:
            if str(value).strip().lower() == member.value.lower():
                return member
        options = ", ".join(member.value for member in enum)
        self.fail(name, f"must be one of {options}, got {value!r}")
        return None

    def text(
        self, name: str, check: Callable[[str], str | None], required: bool = True
    ) -> str | None:
        value = self._value(name, required)
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

    def matching(
        self, name: str, pattern: re.Pattern[str], what: str, required: bool = True
    ) -> str | None:
        """Text that ``pattern`` matches; otherwise a problem saying it must be ``what``."""
        return self.text(
            name,
            lambda v: None if pattern.match(v) else f"must be {what}, got {v!r}",
            required=required,
        )

    def network(self, name: str, low_prefix: int, high_prefix: int) -> ipaddress.IPv4Network | None:
        def problem(value: str) -> str | None:
            try:
                net = ipaddress.IPv4Network(value)
            except ValueError:
                return f"must be an IPv4 CIDR block such as 10.20.0.0/16, got {value!r}"
            if not low_prefix <= net.prefixlen <= high_prefix:
                return f"must be a /{low_prefix} to /{high_prefix} block, got /{net.prefixlen}"
            return None

        value = self.text(name, problem)
        return None if value is None else ipaddress.IPv4Network(value)

    def unknown_keys(self, namespace: str, known: Iterable[str]) -> None:
        known = list(known)
        for key in self._raw:
            if key.startswith(f"{namespace}:") and key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"; did you mean {close[0]}?" if close else "; remove it"
                self.problems.append(Problem(key, f"is not a Switchyard setting{hint}"))
