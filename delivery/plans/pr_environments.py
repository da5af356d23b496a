"""Pure planning of pull-request environments in dev's cluster and load balancer: the names a PR
gets (within every AWS and Kubernetes limit, for any PR number), its listener rule's priority,
and the sweep's choice of which environments to destroy.

A PR environment shares dev's VPC, cluster and ALB: a namespace of its own, a target group a
TargetGroupBinding fills, and a host-name rule on dev's listener. Limits, read where they are
defined:
- an ELBv2 target group name: at most 32 characters, alphanumeric or hyphens, not beginning or
  ending with a hyphen (botocore elbv2 2015-12-01, CreateTargetGroup ``Name``);
- a listener rule's priority: 1..50,000 (botocore elbv2 ``RulePriority``), unique per listener;
- a Kubernetes namespace and a host name's label: an RFC 1123 label, at most 63 characters of
  a-z, 0-9 and hyphens, beginning and ending alphanumeric (Kubernetes' IsDNS1123Label).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

TARGET_GROUP_LIMIT: Final = 32
LABEL_LIMIT: Final = 63
MAX_PRIORITY: Final = 50_000
# dev's own rules keep 1..999; PR environments take the band above, one slot per PR.
PR_PRIORITY_BASE: Final = 1000
PR_PRIORITY_SLOTS: Final = MAX_PRIORITY - PR_PRIORITY_BASE + 1
_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", re.ASCII)
_TARGET_GROUP: Final = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?", re.ASCII)


class PrEnvironmentError(ValueError):
    """A PR environment cannot be planned as asked (a bad PR number, no free priority)."""


@dataclass(frozen=True)
class PrNames:
    """What one pull request's environment is called, everywhere it exists."""

    pr: int
    stack: str  # the Pulumi stack: dev's project, its own state
    namespace: str  # its Kubernetes namespace in dev's cluster
    target_group: str  # its target group on dev's ALB
    host_label: str  # the first label of its host name: <label>.<dev's domain>
    secret_prefix: str  # its secrets' path: nothing of one PR is under another's


def pr_names(pr: int, name_prefix: str) -> PrNames:
    """The names of PR ``pr``'s environment, from dev's name prefix (``switchyard-dev``).
    A prefix too long for a limit is cut and given a short hash of itself, so two prefixes
    that share their start still give two names."""
    if isinstance(pr, bool) or not isinstance(pr, int) or pr < 1:
        raise PrEnvironmentError(f"a pull request's number is a positive integer, got {pr!r}")
    if not is_label(name_prefix):
        raise PrEnvironmentError(
            f"dev's name prefix must be lowercase letters, digits and hyphens, got {name_prefix!r}"
        )
    label = f"pr-{pr}"
    if len(label) > LABEL_LIMIT:
        raise PrEnvironmentError(f"PR {pr} gives a name over {LABEL_LIMIT} characters")
    return PrNames(
        pr=pr,
        stack=f"dev-pr-{pr}",
        namespace=label,
        target_group=_fitted(f"{name_prefix}-pr{pr}", f"pr{pr}", TARGET_GROUP_LIMIT),
        host_label=label,
        secret_prefix=f"/switchyard/dev/pr-{pr}/",
    )


def _fitted(name: str, keep: str, limit: int) -> str:
    """``name``, or when it is longer than ``limit`` its start, a hash of the whole and ``keep``
    (the part that tells PRs apart), within ``limit``."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    room = limit - len(keep) - len(digest) - 2
    head = name[: max(room, 0)].strip("-")
    return "-".join(p for p in (head, digest, keep) if p)[:limit].strip("-")


def is_label(text: str) -> bool:
    return len(text) <= LABEL_LIMIT and _LABEL.fullmatch(text) is not None


def is_target_group_name(text: str) -> bool:
    return len(text) <= TARGET_GROUP_LIMIT and _TARGET_GROUP.fullmatch(text) is not None


def listener_priority(pr: int, taken: Collection[int]) -> int:
    """The priority of PR ``pr``'s rule: its own slot in the PR band, or the next free one
    when another PR holds it (PR numbers outgrow the band); refused when the band is full."""
    slot = (pr - 1) % PR_PRIORITY_SLOTS
    for step in range(PR_PRIORITY_SLOTS):
        priority = PR_PRIORITY_BASE + (slot + step) % PR_PRIORITY_SLOTS
        if priority not in taken:
            return priority
    raise PrEnvironmentError(
        f"every listener priority from {PR_PRIORITY_BASE} to {MAX_PRIORITY} is taken: destroy "
        "old PR environments (the sweep) before creating another"
    )


class PrState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # closed or merged


@dataclass(frozen=True)
class PrStack:
    """A PR environment's stack as the backend lists it."""

    name: str
    created_at: datetime


class SweepReason(StrEnum):
    CLOSED = "its pull request is closed"
    UNKNOWN = "no pull request has its number (deleted, or another repository's)"
    EXPIRED = "older than the configured age"


_PR_STACK: Final = re.compile(r"(?:.+/)?dev-pr-([1-9][0-9]*)", re.ASCII)


def pr_of(stack: str) -> int | None:
    """The PR number of a PR environment's stack, also as the backend lists it qualified
    (``<org>/<project>/dev-pr-<n>``); None for any other stack."""
    found = _PR_STACK.fullmatch(stack)
    return int(found[1]) if found else None


def to_sweep(
    stacks: Sequence[PrStack],
    prs: Mapping[int, PrState],
    now: datetime,
    max_age: timedelta,
) -> list[tuple[PrStack, SweepReason]]:
    """The PR environments the scheduled sweep destroys, each with its reason: a closed PR's,
    one whose PR no longer exists, and one older than ``max_age`` (an open PR that wants one
    again gets it back on its next push). Stacks that are not PR environments (dev, staging,
    prod, anything else in the backend) are never chosen, whatever their age."""
    if max_age <= timedelta(0):
        raise PrEnvironmentError(f"the sweep's age must be positive, got {max_age}")
    moments = [now, *(s.created_at for s in stacks)]
    if any(moment.tzinfo is None for moment in moments):
        raise PrEnvironmentError("the sweep compares times with their zone: give aware ones")
    environments = [s for s in stacks if pr_of(s.name) is not None]
    if environments and not prs:
        # An empty list of pull requests is a failed lookup far more often than a repository
        # without any: destroying on it would take down every open PR's environment.
        raise PrEnvironmentError(
            f"no pull request states were given for {len(environments)} PR environment(s): "
            "refusing to destroy any; check the GitHub API answer (a token, pagination)"
        )
    chosen = []
    for stack in stacks:
        pr = pr_of(stack.name)
        if pr is None:
            continue
        state = prs.get(pr)
        if state is PrState.CLOSED:
            chosen.append((stack, SweepReason.CLOSED))
        elif state is None:
            chosen.append((stack, SweepReason.UNKNOWN))
        elif now - stack.created_at > max_age:
            chosen.append((stack, SweepReason.EXPIRED))
    return chosen
