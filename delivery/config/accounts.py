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

from delivery.config.model import PROJECT, Settings
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


def shared_account_problems(settings: Settings, others: Iterable[Settings]) -> list[Problem]:
    account = account_of(settings)
    if account is None:
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
                        f"one; let one stack (prod, whose resources are protected) create it "
                        f"and set {key} to its ARN in the other",
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
