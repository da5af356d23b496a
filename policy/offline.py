"""The pack over a stack's mock-runtime graph (``make policy``), as ``pulumi preview
--policy-pack policy`` would run it: every resource validation on each resource's inputs, every
stack validation on the whole graph. Prints each violation; exits 1 on a mandatory one."""

from __future__ import annotations

import argparse
import functools
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from delivery.config.stackfile import available_stacks
from delivery.errors import SwitchyardError
from infra.offline import Node, evaluate, placeholder_secrets
from policy.pack import POLICIES


@dataclass(frozen=True)
class Violation:
    policy: str
    level: EnforcementLevel
    message: str
    urn: str

    @property
    def mandatory(self) -> bool:
        return self.level is EnforcementLevel.MANDATORY


def as_engine_sends(props: dict[str, Any]) -> Any:
    """Properties as the analyzer hands them to a policy: deserialized (secrets unwrapped), and
    behind pulumi-policy's proxy, so lists are Sequences, not lists, and an unknown value raises
    UnknownValueError when read."""
    return unknown_checking_proxy(deserialize_properties(props))


def _options(node: Node) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], node.parent
    )


def _providers(nodes: Sequence[Node]) -> dict[str, PolicyProviderResource]:
    return {
        node.urn: PolicyProviderResource(
            node.type, as_engine_sends(node.inputs), node.urn, node.name
        )
        for node in nodes
        if node.type.startswith("pulumi:providers:")
    }


def _provider_of(node: Node, providers: dict[str, PolicyProviderResource]) -> Any:
    return providers.get(node.provider.rsplit("::", 1)[0]) if node.provider else None


def stack_resources(nodes: Sequence[Node]) -> list[PolicyResource]:
    """The graph as a StackValidationPolicy receives it: outputs, parents, dependencies."""
    providers = _providers(nodes)
    by_urn: dict[str, PolicyResource] = {}
    for node in nodes:
        by_urn[node.urn] = PolicyResource(
            node.type,
            as_engine_sends(node.outputs),
            node.urn,
            node.name,
            _options(node),
            _provider_of(node, providers),
            None,
            [],
            {},
        )
    for node in nodes:
        resource = by_urn[node.urn]
        resource.parent = by_urn.get(node.parent)
        resource.dependencies = [by_urn[u] for u in node.dependencies if u in by_urn]
        resource.property_dependencies = {
            key: [by_urn[u] for u in urns if u in by_urn]
            for key, urns in node.property_dependencies.items()
        }
    return list(by_urn.values())


def _at(report: Callable[[str, str | None], None], urn: str, message: str, _: Any = None) -> None:
    """A resource validation's reports belong to the resource validated (as in the engine)."""
    report(message, urn)


def run_pack(nodes: Sequence[Node], policies: Sequence[Policy] = POLICIES) -> list[Violation]:
    providers = _providers(nodes)
    graph = stack_resources(nodes)
    found: list[Violation] = []
    for policy in policies:
        level = policy.enforcement_level or EnforcementLevel.ADVISORY

        def report(
            message: str,
            urn: str | None,
            name: str = policy.name,
            level: EnforcementLevel = level,
        ) -> None:
            found.append(Violation(name, level, message, urn or ""))

        if isinstance(policy, ResourceValidationPolicy):
            for node in nodes:
                args = ResourceValidationArgs(
                    node.type,
                    as_engine_sends(node.inputs),
                    node.urn,
                    node.name,
                    _options(node),
                    _provider_of(node, providers),
                )
                policy.validate(args, functools.partial(_at, report, node.urn))
        elif isinstance(policy, StackValidationPolicy):
            policy.validate(StackValidationArgs(graph), report)
    return found


def check_stack(stack: str) -> list[Violation]:
    return run_pack(evaluate(stack, secrets=placeholder_secrets(stack)).mocks.nodes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m policy.offline",
        description="Run the security baseline over each stack's offline resource graph.",
    )
    parser.add_argument("stacks", nargs="*", help="stacks to check (default: every stack file)")
    args = parser.parse_args(argv)
    failed = False
    for stack in args.stacks or available_stacks():
        try:
            violations = check_stack(stack)
        except SwitchyardError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        counts = Counter("mandatory" if v.mandatory else "advisory" for v in violations)
        print(
            f"stack {stack}: {len(POLICIES)} policies, {counts['mandatory']} mandatory and "
            f"{counts['advisory']} advisory violation(s)"
        )
        for v in sorted(violations, key=lambda v: (not v.mandatory, v.policy)):
            print(f"  {'MANDATORY' if v.mandatory else 'advisory '} {v.policy}: {v.message}")
        failed = failed or counts["mandatory"] > 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
