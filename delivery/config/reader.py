"""Declares configuration keys and reads raw values, collecting every problem at once.

A key is declared once, as a ``Key`` (``delivery.config.keys`` lists them all): its name, type,
range or choices, and the description that becomes its ``Pulumi.yaml`` schema entry. The
``ConfigReader`` getters take a key's name and find its range there, so no range is written twice.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal, TypeVar

from delivery.config.model import PROJECT
from delivery.errors import Problem

E = TypeVar("E", bound=StrEnum)
_MISSING: Final = object()
KeyType = Literal["string", "integer", "array", "object"]


@dataclass(frozen=True)
class Key:
    """One configuration key. ``name`` is a project key's bare name (``bakeSeconds``) or a
    provider's qualified one (``aws:region``, which Pulumi allows no schema entry)."""

    name: str
    type: KeyType
    description: str
    low: int | None = None  # integers: the allowed range, shown in the schema description
    high: int | None = None
    items: Literal["string", "integer"] | None = None  # arrays: the type of each entry
    choices: tuple[str, ...] = ()  # text with a fixed set of values
    optional: bool = False  # may be left out: the schema gives it an empty default
    default: int | None = None  # an optional integer's value when left out
    secret: bool = False  # set with `pulumi config set --secret`

    @property
    def full(self) -> str:
        return self.name if ":" in self.name else f"{PROJECT}:{self.name}"

    @property
    def in_schema(self) -> bool:
        return ":" not in self.name

    def schema(self) -> dict[str, Any]:
        """This key's entry in ``Pulumi.yaml``'s ``config:`` schema."""
        text = self.description
        if self.low is not None:
            text = f"{text.removesuffix('.')} ({self.low}..{self.high})."
        if self.choices:
            text += f" One of: {', '.join(self.choices)}."
        entry: dict[str, Any] = {}
        if self.secret:
            entry["secret"] = True
        else:
            entry["type"] = self.type
        if self.default is not None:
            entry["default"] = self.default
        elif self.optional:
            entry["default"] = [] if self.type == "array" else ""
        if self.items:
            entry["items"] = {"type": self.items}
        entry["description"] = text
        return entry


def integer(name: str, low: int, high: int, description: str, default: int | None = None) -> Key:
    """A whole number in low..high; with a ``default`` the key may be left out."""
    return Key(
        name,
        "integer",
        description,
        low=low,
        high=high,
        optional=default is not None,
        default=default,
    )


def text(name: str, description: str, optional: bool = False) -> Key:
    return Key(name, "string", description, optional=optional)


def choice(name: str, enum: type[StrEnum], description: str) -> Key:
    return Key(name, "string", description, choices=tuple(member.value for member in enum))


def array(
    name: str, items: Literal["string", "integer"], description: str, optional: bool = False
) -> Key:
    return Key(name, "array", description, items=items, optional=optional)


def whole(value: Any) -> Any:
    """Integral values as int: Pulumi carries every number as a float, config carries text.
    Only ASCII digits count: ``int()`` would also read full-width or Arabic-Indic ones."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]{1,18}", value.strip()):
        return int(value)
    return value


def structured(value: Any) -> Any:
    """A list or object as the stack file holds it. Pulumi hands the program every list and
    object as JSON text, so JSON text of one is decoded here: ``check``, which reads the stack
    file, and the program then judge the same value and say the same thing."""
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        # ValueError, not only JSONDecodeError: json.loads raises it for a number with more
        # digits than int() converts; RecursionError for hundreds of nested brackets.
        with contextlib.suppress(ValueError, RecursionError):
            decoded = json.loads(value)
            if isinstance(decoded, list | dict):
                return decoded
    return value


_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)(?:[^/\s'\"@]*@)?([^/\s'\"?#]*)[^\s'\"]*")
# A host name with a path but no scheme (hooks.slack.com/services/...): a URL pasted short.
_BARE_URL = re.compile(r"(?i)(?<![\w./-])((?:[a-z0-9-]+\.)+[a-z]{2,63}(?::\d+)?)/[^\s'\"]+")


def shown(value: Any, limit: int = 80) -> str:
    """A value quoted for a message: URLs, with or without a scheme, keep only scheme and host
    (a webhook's token lives in its path), and a long value is cut short so a pasted blob
    cannot flood the output."""
    text = _BARE_URL.sub(r"\1/...", _URL.sub(r"\1\2/...", repr(value)))
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"


# IANA's special-purpose IPv4 ranges (RFC 6890) that no host sends from or is reached at:
# no client connects from these, and no VPC resource can hold one of their addresses.
SPECIAL_RANGES: Final[Mapping[ipaddress.IPv4Network, str]] = {
    ipaddress.IPv4Network("0.0.0.0/8"): '"this network"',
    ipaddress.IPv4Network("127.0.0.0/8"): "loopback",
    ipaddress.IPv4Network("169.254.0.0/16"): "link-local",
    ipaddress.IPv4Network("224.0.0.0/4"): "multicast",
    ipaddress.IPv4Network("240.0.0.0/4"): "reserved",
}


# Addresses only a private network holds (RFC 1918, and RFC 6598's shared space a VPC may use):
# what the private API endpoint can be reached from, and what EKS refuses on the public one.
PRIVATE_RANGES: Final = tuple(
    ipaddress.IPv4Network(block)
    for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)


def private_range(net: ipaddress.IPv4Network) -> ipaddress.IPv4Network | None:
    """The private range ``net`` overlaps, or None."""
    return next((p for p in PRIVATE_RANGES if net.overlaps(p)), None)


def special_range(net: ipaddress.IPv4Network) -> str | None:
    """The special-purpose range ``net`` overlaps, as '127.0.0.0/8 (loopback)', or None."""
    for special, name in SPECIAL_RANGES.items():
        if net.overlaps(special):
            return f"{special} ({name})"
    return None


def _host_bits(written: str, net: ipaddress.IPv4Network) -> str | None:
    """A block written with host bits (10.20.0.1/16): name the block it means. Judged after
    every other rule, so the suggestion is one that would be accepted."""
    if "/" in written and written != str(net):
        return f"{shown(written)} has host bits set; did you mean {net}?"
    return None


def _client_range_problem(
    written: str,
    net: ipaddress.IPv4Network,
    listed: list[ipaddress.IPv4Network],
    widest: int,
    why: tuple[str, str],  # what a too-wide range opens, and what to list instead
) -> str | None:
    """Why ``net`` cannot be one more client range."""
    if net.prefixlen < widest:
        scale = "the internet" if net.prefixlen == 0 else f"{net.num_addresses:,} addresses"
        return f"{written} opens {why[0]} to {scale}; {why[1]} (/{widest} or narrower)"
    special = special_range(net)
    if special:
        return f"{written} overlaps {special}, not a range clients can connect from; remove it"
    host_bits = _host_bits(written, net)
    if host_bits:
        return host_bits
    for other in listed:
        if net == other:
            return f"lists {net} twice; AWS refuses a duplicate security-group rule"
        if net.subnet_of(other) or other.subnet_of(net):
            inner, outer = (net, other) if net.subnet_of(other) else (other, net)
            return f"{inner} is inside {outer}, which is listed too; keep only {outer}"
    return None


class ConfigReader:
    """Typed getters over a raw mapping; each records a ``Problem`` and returns None when bad."""

    def __init__(self, raw: Mapping[str, Any], keys: Sequence[Key], prefix: str) -> None:
        self._raw = raw
        self._keys = {k.name: k for k in keys}
        self._prefix = prefix
        self.problems: list[Problem] = []

    def declared(self, name: str) -> Key:
        return self._keys[name]

    def key(self, name: str) -> str:
        return name if ":" in name else f"{self._prefix}{name}"

    def fail(self, name: str, reason: str) -> None:
        self.problems.append(Problem(self.key(name), reason))

    def has_problem(self, name: str) -> bool:
        return any(p.key == self.key(name) for p in self.problems)

    def _value(self, name: str) -> Any:
        value = structured(self._raw.get(self.key(name), _MISSING))
        if value is _MISSING or value is None or value == "":
            if not self._keys[name].optional:
                self.fail(
                    name, f"is required; set it with `pulumi config set {self.key(name)} <value>`"
                )
            return _MISSING
        return value

    def integer(self, name: str) -> int | None:
        key = self._keys[name]
        low, high = key.low, key.high
        assert low is not None and high is not None, f"{name} is not declared as an integer"
        value = self._value(name)
        if value is _MISSING:
            return key.default
        value = whole(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f"must be a whole number in {low}..{high}, got {shown(value)}")
            return None
        if not low <= value <= high:
            self.fail(name, f"must be in {low}..{high}, got {shown(value)}")
            return None
        return value

    def percent(self, name: str, low: float, high: float) -> float | None:
        """A percentage with at most three decimals, low <= value < high, written as a number
        or as text (a schema of type string: `pulumi config set` stores text)."""
        value = self._value(name)
        if value is _MISSING:
            return None
        written = str(value).strip() if isinstance(value, str | int | float) else ""
        if isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,3})?", written):
            self.fail(
                name, f"must be a percentage such as 99.9 (at most 3 decimals), got {shown(value)}"
            )
            return None
        found = float(written)
        if not low <= found < high:
            self.fail(name, f"must be at least {low:g} and below {high:g}, got {written}")
            return None
        return found

    def listing(self, name: str) -> list[Any] | None:
        """A list (YAML, or JSON text as Pulumi carries it); ``[]`` when an optional key is
        absent, None when it is bad or a required one is absent."""
        value = self._value(name)
        if value is _MISSING:
            return [] if self._keys[name].optional else None
        if not isinstance(value, list):
            self.fail(
                name,
                f"must be a list, written [a, b] or as one '- item' per line, got {shown(value)}",
            )
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
        self.fail(name, f"must be one of {options}, got {shown(value)}")
        return None

    def text(self, name: str, check: Callable[[str], str | None] | None = None) -> str | None:
        value = self._value(name)
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            kind = (
                "a list"
                if isinstance(value, list)
                else "an object"
                if isinstance(value, dict)
                else "a number"
            )
            self.fail(
                name,
                f"must be text, written as one value ({self.key(name)}: <text>), not "
                f"{kind}; got {shown(value)}",
            )
            return None
        reason = check(value) if check else None
        if reason:
            self.fail(name, reason)
            return None
        return value

    def matching(self, name: str, pattern: re.Pattern[str], what: str) -> str | None:
        """Text that ``pattern`` matches; otherwise a problem saying it must be ``what``."""
        return self.text(
            name, lambda v: None if pattern.match(v) else f"must be {what}, got {shown(v)}"
        )

    def cidr_blocks(
        self, name: str, opens: str, instead: str, widest: int = 8
    ) -> tuple[ipaddress.IPv4Network, ...] | None:
        """A list of IPv4 client ranges, each a security-group rule: none wider than
        ``/widest`` (it would open ``opens`` to that many addresses; the problem says what to
        list ``instead``), none written with host bits, none repeated or inside another, none
        that no client can connect from."""
        raw = self.listing(name)
        if raw is None:
            return None
        found: list[ipaddress.IPv4Network] = []
        for item in raw:
            try:
                net = ipaddress.IPv4Network(str(item), strict=False)
            except ValueError:
                self.fail(name, f"must list IPv4 CIDR blocks, got {shown(item)}")
                return None
            problem = _client_range_problem(str(item), net, found, widest, (opens, instead))
            if problem:
                self.fail(name, problem)
                return None
            found.append(net)
        return tuple(found)

    def network(self, name: str, low_prefix: int, high_prefix: int) -> ipaddress.IPv4Network | None:
        """A VPC's IPv4 block: /low_prefix to /high_prefix, in no special-purpose range."""

        def problem(value: str) -> str | None:
            try:
                net = ipaddress.IPv4Network(value, strict=False)
            except ValueError:
                return f"must be an IPv4 CIDR block such as 10.20.0.0/16, got {shown(value)}"
            if not low_prefix <= net.prefixlen <= high_prefix:
                return f"must be a /{low_prefix} to /{high_prefix} block, got /{net.prefixlen}"
            special = special_range(net)
            if special:
                return (
                    f"{net} overlaps {special}, addresses no VPC resource can hold; choose a "
                    "block in the private ranges AWS recommends (RFC 1918: 10.0.0.0/8, "
                    "172.16.0.0/12, 192.168.0.0/16), such as 10.20.0.0/16"
                )
            return _host_bits(value, net)

        value = self.text(name, problem)
        return None if value is None else ipaddress.IPv4Network(value)
