"""The pack's building blocks: a rule checks one kind of resource, or the whole stack, and cites
the AWS Foundational Security Best Practices (FSBP) and CIS AWS Foundations v1.4.0 controls it
enforces. Each problem a check yields names the resource and the fix.

Where an environment departs from a control on purpose (dev serves plain HTTP), the rule is
split in two: mandatory everywhere else, advisory there, and the advisory message says why.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY
INTERNET = frozenset({"0.0.0.0/0", "::/0"})


@dataclass(frozen=True)
class Subject:
    """One resource as a check sees it, whichever engine (CLI or offline runner) supplied it."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    environment: str
    dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # property → URNs
    default_tags: Mapping[str, str] = field(default_factory=dict)  # the AWS provider's

    def get(self, key: str, default: Any = None) -> Any:
        return self.props.get(key, default)

    def depends_on(self, other: Subject, prop: str | None = None) -> bool:
        urns = (
            self.dependencies.get(prop, ())
            if prop
            else tuple(u for urns in self.dependencies.values() for u in urns)
        )
        return other.urn in urns

    def label(self) -> str:
        return f"{self.type} {self.name!r}"


@dataclass(frozen=True)
class Stack:
    resources: tuple[Subject, ...]

    def of_type(self, *types: str) -> list[Subject]:
        return [r for r in self.resources if r.type in types]

    def attached(self, target: Subject, type_: str, prop: str) -> list[Subject]:
        """Resources of ``type_`` whose ``prop`` refers to ``target``."""
        return [r for r in self.of_type(type_) if r.depends_on(target, prop)]


Check = Callable[[Subject], Iterable[str]]
StackCheck = Callable[[Stack], Iterable[tuple[Subject, str]]]


def stack_of(urn: str) -> str:
    """The stack a URN belongs to: ``urn:pulumi:<stack>::<project>::<type>::<name>``."""
    return urn.split("::", maxsplit=1)[0].removeprefix("urn:pulumi:")


def default_tags(provider_props: Mapping[str, Any] | None) -> dict[str, str]:
    """The AWS provider's default tags (the engine hands provider inputs over as JSON text)."""
    raw = (provider_props or {}).get("defaultTags")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    tags = raw.get("tags") if isinstance(raw, Mapping) else None
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, Mapping) else {}


def _subject(
    type_: str,
    name: str,
    urn: str,
    props: Mapping[str, Any],
    provider_props: Mapping[str, Any] | None,
    dependencies: Mapping[str, tuple[str, ...]] | None = None,
) -> Subject:
    tags = default_tags(provider_props)
    environment = tags.get("environment") or stack_of(urn)
    return Subject(type_, name, urn, props, environment, dependencies or {}, tags)


def _dependencies(resource: PolicyResource) -> dict[str, tuple[str, ...]]:
    return {k: tuple(d.urn for d in deps) for k, deps in resource.property_dependencies.items()}


def subject_of_args(args: ResourceValidationArgs) -> Subject:
    provider = args.provider.props if args.provider is not None else None
    return _subject(args.resource_type, args.name, args.urn, args.props, provider)


def subject_of_resource(resource: PolicyResource) -> Subject:
    provider = resource.provider.props if resource.provider is not None else None
    return _subject(
        resource.resource_type,
        resource.name,
        resource.urn,
        resource.props,
        provider,
        _dependencies(resource),
    )


@dataclass(frozen=True)
class Rule:
    """One baseline rule; ``relaxed`` maps an environment to why it is only advised there."""

    name: str
    description: str
    controls: str  # e.g. "FSBP ELB.1; CIS 2.1.2"
    check: Check | None = None
    types: frozenset[str] = frozenset()
    stack_check: StackCheck | None = None
    level: EnforcementLevel = MANDATORY
    relaxed: Mapping[str, str] = field(default_factory=dict)
    # The compliance criteria the rule serves, as pulumi-policy's tags ("soc2:CC6.1",
    # "pci-dss-v4:4.2"): the engine reports them with each violation (policy/frameworks.py).
    tags: tuple[str, ...] = ()

    def policies(self) -> list[Policy]:
        policies = [self._policy(self.name, self.level, lambda env: env not in self.relaxed)]
        if self.relaxed:
            policies.append(
                self._policy(f"{self.name}-relaxed", ADVISORY, lambda env: env in self.relaxed)
            )
        return policies

    def message(self, subject: Subject, problem: str) -> str:
        why = self.relaxed.get(subject.environment)
        advice = f" (advisory in {subject.environment}: {why})" if why else ""
        return f"[{self.controls}] {subject.label()}: {problem}{advice}"

    def _policy(self, name: str, level: EnforcementLevel, applies: Callable[[str], bool]) -> Policy:
        description = f"{self.description} [{self.controls}]"
        if self.stack_check is not None:
            stack_check = self.stack_check

            def validate_stack(args: StackValidationArgs, report: ReportViolation) -> None:
                stack = Stack(tuple(subject_of_resource(r) for r in args.resources))
                for subject, problem in stack_check(stack):
                    if applies(subject.environment):
                        report(self.message(subject, problem), subject.urn)

            return StackValidationPolicy(
                name, description, validate_stack, level, tags=list(self.tags) or None
            )
        check = self.check
        assert check is not None, f"rule {self.name} has neither check nor stack_check"

        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if args.resource_type not in self.types:
                return
            subject = subject_of_args(args)
            if not applies(subject.environment):
                return
            for problem in check(subject):
                report(self.message(subject, problem), None)

        return ResourceValidationPolicy(
            name, description, validate, level, tags=list(self.tags) or None
        )


def policies_of(rules: Sequence[Rule]) -> list[Policy]:
    return [policy for rule in rules for policy in rule.policies()]


# ---- policy documents ---------------------------------------------------------------------


def document(value: Any) -> dict[str, Any]:
    """A policy document from its JSON text or its mapping; empty when absent or unreadable."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return dict(value) if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """A property as a list: the engine's proxy hands lists over as Sequences, and AWS takes
    a single value where it takes a list (an IAM Action, a Resource)."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return [value]


def statements(value: Any) -> Iterator[Mapping[str, Any]]:
    for statement in as_list(document(value).get("Statement")):
        if isinstance(statement, Mapping):
            yield statement


def allows(value: Any) -> Iterator[Mapping[str, Any]]:
    return (s for s in statements(value) if s.get("Effect") == "Allow")


def sid(statement: Mapping[str, Any]) -> str:
    return str(statement.get("Sid") or "without Sid")


def principals(statement: Mapping[str, Any], kind: str) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, Mapping):
        return [str(p) for p in as_list(principal.get(kind))]
    return []


def condition_keys(statement: Mapping[str, Any]) -> set[str]:
    keys: set[str] = set()
    for operator_values in (statement.get("Condition") or {}).values():
        if isinstance(operator_values, Mapping):
            keys.update(str(k).lower() for k in operator_values)
    return keys


# A condition on the transport alone (aws:SecureTransport) limits how, not who: a wildcard
# principal behind it is still everyone.
NOT_WHO: Final = frozenset({"aws:securetransport"})


def restricts_who(statement: Mapping[str, Any]) -> bool:
    return bool(condition_keys(statement) - NOT_WHO)


def public(statement: Mapping[str, Any]) -> bool:
    """An Allow for any AWS principal that no condition narrows to a caller."""
    return "*" in principals(statement, "AWS") and not restricts_who(statement)


def ports(rule: Mapping[str, Any]) -> tuple[int, int]:
    """The port range of an ingress rule; all ports for protocol -1."""
    if str(rule.get("ipProtocol", rule.get("protocol", ""))) in ("-1", "all"):
        return (0, 65535)
    low = rule.get("fromPort")
    high = rule.get("toPort")
    return (int(low if low is not None else 0), int(high if high is not None else 65535))
