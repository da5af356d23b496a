"""The PR program (pr/__main__.py): reads the PR stack's configuration, then declares one
PrEnvironment.

Dev's shared pieces come in as the config value ``base`` (dev's output ``prEnvironmentBase``,
which `python -m delivery pr-env up` copies on every run) rather than through a
StackReference: the program needs dev's name prefix and secret names as plain values to name
its resources, and a StackReference gives Outputs only; resources declared inside an apply
would be missing from every preview.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

from components.pr_environment import PrEnvironment, PrEnvironmentArgs
from delivery.plans.moments import aware_moment
from delivery.plans.pr_environments import (
    MAX_PRIORITY,
    PR_PRIORITY_BASE,
    PrBase,
    PrEnvironmentError,
    PrNames,
    image_problem,
    pr_names,
    read_base,
)

PROJECT = "switchyard-pr"


@dataclass(frozen=True)
class PrConfig:
    names: PrNames
    base: PrBase
    image: str
    priority: int
    created_at: str


def read_pr_config(config: pulumi.Config | None = None) -> PrConfig:
    config = config or pulumi.Config(PROJECT)
    problems: list[str] = []
    pr = _integer(config, "pr", problems)
    priority = _integer(config, "priority", problems)
    image = config.get("image") or ""
    created_at = config.get("createdAt") or ""
    base_text = config.get("base") or ""
    bad_image = image_problem(image)
    if bad_image:
        problems.append(f"image: {bad_image}")
    if priority is not None and not PR_PRIORITY_BASE <= priority <= MAX_PRIORITY:
        problems.append(f"priority: must be in {PR_PRIORITY_BASE}..{MAX_PRIORITY}, got {priority}")
    if not _utc_moment(created_at):
        problems.append(f"createdAt: must be an ISO 8601 time with its zone, got {created_at!r}")
    base_value: Any = None
    try:
        base_value = json.loads(base_text)
    except json.JSONDecodeError:
        problems.append("base: must be dev's output prEnvironmentBase as JSON")
    if problems:
        raise PrEnvironmentError(
            f"stack {pulumi.get_stack()}: "
            + "; ".join(problems)
            + " (`python -m delivery pr-env up` sets them all)"
        )
    assert pr is not None and priority is not None
    base = read_base(base_value, "config switchyard-pr:base")
    return PrConfig(pr_names(pr, base.name_prefix), base, image, priority, created_at)


def _integer(config: pulumi.Config, key: str, problems: list[str]) -> int | None:
    raw = config.get(key)
    if raw is None or not raw.strip().isdigit():
        problems.append(f"{key}: must be a whole number, got {raw!r}")
        return None
    return int(raw)


def _utc_moment(text: str) -> bool:
    return aware_moment(text) is not None


def build_pr_environment(config: PrConfig) -> dict[str, Any]:
    environment = PrEnvironment(
        "pr",
        PrEnvironmentArgs(
            config.names, config.base, config.image, config.priority, config.created_at
        ),
    )
    return {
        "url": environment.url,
        "pr": config.names.pr,
        "namespace": config.names.namespace,
        "targetGroupArn": environment.target_group.arn,
        "listenerRuleArn": environment.rule.arn,
        "priority": config.priority,
        "createdAt": config.created_at,
        "secretArns": {n: s.arn for n, s in environment.secrets.items()},
    }
