"""Stacks that share one AWS account: each account-wide resource must be created by one of them.

An account holds one IAM OIDC provider per URL (CreateOpenIDConnectProvider answers
EntityAlreadyExists for a second) and one Incident Manager replication set, so a second stack
creating either would fail its first `up` halfway, after its VPC and cluster exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from delivery.config.model import PROJECT, Environment, Settings
from delivery.config.stackfile import available_stacks, load_stack
from delivery.errors import ConfigError, Problem

_ACCOUNT: Final = re.compile(
    r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(?P<account>\d{12}):", re.ASCII
)


def account_of(settings: Settings) -> str | None:
    """The account the stack deploys to, from the ARNs that must be in it: the load balancer's
    certificate, the rotation function, the CI deploy role."""
    arns = (
        settings.alb.certificate_arn,
        settings.secrets.rotation_lambda_arn,
        settings.cluster.deploy_role_arn,
    )
    return next((m["account"] for a in arns if a and (m := _ACCOUNT.match(a))), None)


def _singletons(settings: Settings) -> dict[str, str]:
    """The account-wide resources this stack creates, by the key that would name them instead."""
    created = {}
    if settings.security.github_oidc_provider_arn is None:
        created["githubOidcProviderArn"] = "GitHub's OIDC provider"
    if settings.incidents.enabled and settings.incidents.replication_set_arn is None:
        created["incidentReplicationSetArn"] = "the Incident Manager replication set"
    return created


def _owner(other: Settings) -> str:
    if other.environment is Environment.PROD:
        return f"{other.stack!r} is prod, which creates it (its resources are protected)"
    return "let one stack create it (prod, if one shares the account)"


def shared_account_problems(settings: Settings, others: Iterable[Settings]) -> list[Problem]:
    """prod owns the account's singletons: it is never refused for a sibling's mistake (a
    typo in dev must not stop prod's release or rollback); the other stack is."""
    account = account_of(settings)
    if account is None or settings.environment is Environment.PROD:
        return []
    mine = _singletons(settings)
    problems = []
    for other in others:
        if other.stack == settings.stack or account_of(other) != account:
            continue
        for key, what in _singletons(other).items():
            if key in mine:
                problems.append(
                    Problem(
                        f"{PROJECT}:{key}",
                        f"is empty here and in stack {other.stack!r}, which deploys to the same "
                        f"account {account}: both would create {what}, and an account holds "
                        f"one; {_owner(other)}: set {key} here to its ARN",
                    )
                )
    return problems


def check_sibling_stacks(settings: Settings, root: Path) -> None:
    """Refuse the stack when another stack file of the project shares its account and would
    create the same account-wide resource. A sibling that does not load is skipped: its own
    check names its problems."""
    others = []
    for stack in available_stacks(root):
        if stack != settings.stack:
            try:
                others.append(load_stack(stack, root))
            except ConfigError:
                continue
    problems = shared_account_problems(settings, others)
    if problems:
        raise ConfigError(problems, source=f"stack {settings.stack!r}")
