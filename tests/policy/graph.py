"""Small resource graphs for the rule tests, in the shape the engine hands the pack."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from infra.offline import Node
from policy.offline import Violation, run_pack
from policy.pack import POLICIES
from policy.tags import REQUIRED_TAGS


def statement(
    principal: Any, action: Any = "s3:GetObject", resource: Any = "*", **condition: Any
) -> dict[str, Any]:
    found: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if principal is not None:
        found["Principal"] = principal
    if condition:
        found["Condition"] = condition
    return found


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@dataclass
class Graph:
    environment: str = "prod"
    tags: bool = True
    nodes: list[Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        tags = {t: self.environment if t == "environment" else "x" for t in REQUIRED_TAGS}
        inputs = {"region": "eu-west-1"}
        if self.tags:
            inputs["defaultTags"] = json.dumps({"tags": tags})
        self.provider = self.add("pulumi:providers:aws", "aws", inputs)

    def add(
        self,
        type_: str,
        name: str,
        props: dict[str, Any] | None = None,
        **deps: Node | Sequence[Node],
    ) -> Node:
        property_dependencies = {
            key: tuple(d.urn for d in ([value] if isinstance(value, Node) else value))
            for key, value in deps.items()
        }
        node = Node(
            urn=f"urn:pulumi:{self.environment}::switchyard::{type_}::{name}",
            type=type_,
            name=name,
            custom=True,
            inputs=dict(props or {}),
            outputs=dict(props or {}),
            provider="" if type_.startswith("pulumi:") else f"{self.provider.urn}::aws-id",
            parent="",
            dependencies=tuple(u for urns in property_dependencies.values() for u in urns),
            property_dependencies=property_dependencies,
        )
        self.nodes.append(node)
        return node

    def violations(self, *names: str) -> list[Violation]:
        """What the named policies report on this graph (each policy's validator, called
        directly through the adapter ``make policy`` uses)."""
        policies = [p for p in POLICIES if p.name in names]
        assert len(policies) == len(names), f"unknown policy among {names}"
        return run_pack(self.nodes, policies)
