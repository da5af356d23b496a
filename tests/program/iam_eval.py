"""A small evaluator of identity policies, as IAM evaluates them for one request: an explicit
Deny wins, else an Allow must match the action (case-insensitive, with wildcards; or be none of
a NotAction's), the resource (wildcards) and every condition of its statement against the
request's context.

Conditions: the operators the program writes (String/Arn Equals and Like, with a list of values
meaning any of them; the Not operators, none of them; ForAnyValue:StringEquals over a
multivalued key such as kms:ResourceAliases; Null). A key absent from the context fails its
condition, except under a Not operator, where it holds, as in IAM ("Condition operators", IAM
user guide). NotResource: every resource but those. An action that takes no resource type is
authorised against "*" (the Service Authorization Reference, policy/iam_actions.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policy.iam_actions import takes_no_resource

OPERATORS = {
    "StringEquals",
    "StringLike",
    "ArnEquals",
    "ArnLike",
    "ArnNotLike",
    "ArnNotEquals",
    "StringNotEquals",
    "ForAnyValue:StringEquals",
    "Null",
    "Bool",
}


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _glob(pattern: str, text: str, *, fold: bool = False) -> bool:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one; nothing else is special."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, text, re.IGNORECASE if fold else 0) is not None


def _arn_glob(pattern: str, arn: str) -> bool:
    parts, given = pattern.split(":", 5), arn.split(":", 5)
    return len(parts) == len(given) and all(_glob(p, g) for p, g in zip(parts, given, strict=True))


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)

    def __str__(self) -> str:
        where = f" with {dict(self.context)}" if self.context else ""
        return f"{self.action} on {self.resource}{where}"


def _conditions_hold(
    condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str | tuple[str, ...]]
) -> bool:
    for operator, pairs in condition.items():
        if operator not in OPERATORS:
            raise ValueError(f"the evaluator does not know the condition operator {operator}")
        # IAM: ArnEquals is ArnLike, each of an ARN's six parts matched on its own with
        # wildcards ("Condition operators", IAM user guide); condition keys ignore case.
        arn = operator.startswith("Arn")
        like = operator.endswith("Like") or arn
        negated = "Not" in operator
        folded = {k.lower(): v for k, v in context.items()}
        for key, values in pairs.items():
            actual = folded.get(key.lower())
            if operator == "Null":  # "true": the key is absent; "false": present
                if (actual is None) is not (str(values).lower() == "true"):
                    return False
                continue
            if actual is None:
                if negated:  # IAM: a negated operator over an absent key holds
                    continue
                return False
            allowed = _listed(values)
            if operator.startswith("ForAnyValue:"):
                if not set(_listed(actual)) & set(allowed):
                    return False
                continue
            if not isinstance(actual, str):
                return False
            if operator == "Bool":
                allowed = [str(v).lower() for v in allowed]
            match = _arn_glob if arn else _glob
            matched = any(match(v, actual) if like else v == actual for v in allowed)
            if matched is negated:  # ArnNotLike, StringNotEquals: none of the values matches
                return False
    return True


def _matches(statement: Mapping[str, Any], request: Request) -> bool:
    negated = "NotAction" in statement
    actions = _listed(statement["NotAction" if negated else "Action"])
    if any(_glob(a, request.action, fold=True) for a in actions) is negated:
        return False
    excluded = "NotResource" in statement
    resources = _listed(statement["NotResource" if excluded else "Resource"])
    if any(_glob(r, request.resource) for r in resources) is excluded:
        return False
    return _conditions_hold(statement.get("Condition", {}), request.context)


def allows_under(
    identity: Mapping[str, Any], boundary: Mapping[str, Any], request: Request
) -> bool:
    """A role with a permissions boundary may do what both its policy and the boundary allow."""
    return allows(identity, request) and allows(boundary, request)


def as_authorised(request: Request) -> Request:
    """IAM authorises an action that takes no resource type against "*", whatever resource the
    call names: only a statement on "*" grants it (policy/iam_actions.py)."""
    if request.resource != "*" and takes_no_resource(request.action):
        return Request(request.action, "*", request.context)
    return request


def denies(document: Mapping[str, Any], request: Request) -> bool:
    """An explicit Deny matches: what refuses a role whose trust names the caller, since STS
    needs no Allow of a same-account principal a trust policy names (AssumeRole)."""
    request = as_authorised(request)
    return any(s["Effect"] == "Deny" and _matches(s, request) for s in document["Statement"])


def allows(document: Mapping[str, Any], request: Request) -> bool:
    request = as_authorised(request)
    statements = list(document["Statement"])
    if any(s["Effect"] == "Deny" and _matches(s, request) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and _matches(s, request) for s in statements)


def requests_of(document: Mapping[str, Any]) -> Iterable[Request]:
    """Every (action, resource) an Allow statement grants, with its conditions as the context
    a request it admits carries (the first value of each)."""
    for statement in document["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        conditions = statement.get("Condition", {})
        context = {
            key: _listed(values)[0]
            for operator, pairs in conditions.items()
            if operator != "Null"
            for key, values in pairs.items()
        }
        for key, absent in conditions.get("Null", {}).items():
            if str(absent).lower() == "true":
                context.pop(key, None)
        for action in _listed(statement["Action"]):
            for resource in _listed(statement["Resource"]):
                yield Request(action, resource, context)
