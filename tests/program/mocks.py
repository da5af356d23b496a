"""Pulumi's mock runtime, recording every resource the program registers."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import dill
import pulumi


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    resources: list[Registered] = field(default_factory=list)

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs), bool(args.custom)))
        outputs = dict(args.inputs)
        if args.typ == "pulumi-python:dynamic:Resource":
            outputs.update(weights={"blue": 100, "green": 0}, last_outcome="established")
        return f"{args.name}-id", outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None

    def named(self, name: str) -> Registered:
        found = [r for r in self.resources if r.name == name]
        assert found, f"no resource named {name!r}; registered: {[r.name for r in self.resources]}"
        return found[0]

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]


def dynamic_provider(resource: Registered) -> Any:
    """The provider object a dynamic resource carries, as the Pulumi engine would unpickle it."""
    raw = resource.inputs["__provider"]
    if isinstance(raw, dict):  # Pulumi marks the serialized provider secret
        raw = raw["value"]
    return dill.loads(base64.b64decode(raw))
