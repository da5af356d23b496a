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

from delivery.config.pr_environments import GITHUB_MAX_PR
from delivery.errors import BadRequest

TARGET_GROUP_LIMIT: Final = 32
LABEL_LIMIT: Final = 63
MAX_PRIORITY: Final = 50_000
# dev's own rules keep 1..999; PR environments take the band above, one slot per PR.
PR_PRIORITY_BASE: Final = 1000
PR_PRIORITY_SLOTS: Final = MAX_PRIORITY - PR_PRIORITY_BASE + 1
# ``<head>-pr<n>`` within the target group's 32 for every PR number.
HEAD_LIMIT: Final = TARGET_GROUP_LIMIT - len("-pr") - len(str(GITHUB_MAX_PR))
# An image by digest: what runs in a PR environment is exactly what its build pushed.
DIGEST: Final = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}\Z", re.ASCII)
_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", re.ASCII)
_TARGET_GROUP: Final = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?", re.ASCII)


class PrEnvironmentError(BadRequest):
    """A PR environment cannot be planned as asked (a bad PR number, no free priority, no
    base exported by dev); nothing was changed."""


@dataclass(frozen=True)
class PrNames:
    """What one pull request's environment is called, everywhere it exists."""

    pr: int
    stack: str  # the Pulumi stack, in the PR project (pr/Pulumi.yaml)
    namespace: str  # its Kubernetes namespace in dev's cluster
    target_group: str  # its target group on dev's ALB
    host_label: str  # the first label of its host name: <label>.<dev's PR domain>
    secret_prefix: str  # its Secrets Manager names: nothing of one PR is under another's
    app_role: str  # the IAM role its pods assume (IRSA), in the PR role pattern


def pr_head(name_prefix: str) -> str:
    """What every AWS name of every PR environment starts with: dev's prefix, or when it leaves
    no room for ``-pr<n>`` of the largest PR number its start and a short hash of it, so two
    prefixes that share their start still give two heads. The IAM patterns of the PR CI role
    and boundary are written with it (``<head>-pr*``)."""
    if not is_label(name_prefix):
        raise PrEnvironmentError(
            f"dev's name prefix must be lowercase letters, digits and hyphens, got {name_prefix!r}"
        )
    if len(name_prefix) <= HEAD_LIMIT:
        return name_prefix
    digest = hashlib.sha256(name_prefix.encode()).hexdigest()[:6]
    return f"{name_prefix[: HEAD_LIMIT - len(digest) - 1].rstrip('-')}-{digest}"


def pr_names(pr: int, name_prefix: str) -> PrNames:
    """The names of PR ``pr``'s environment, from dev's name prefix (``switchyard-dev``)."""
    if isinstance(pr, bool) or not isinstance(pr, int) or not 1 <= pr <= GITHUB_MAX_PR:
        raise PrEnvironmentError(
            f"a pull request's number is an integer in 1..{GITHUB_MAX_PR}, got {pr!r}"
        )
    head = pr_head(name_prefix)
    label = f"pr-{pr}"
    return PrNames(
        pr=pr,
        stack=f"dev-pr-{pr}",
        namespace=label,
        target_group=f"{head}-pr{pr}",
        host_label=label,
        secret_prefix=f"{head}-pr{pr}/",
        app_role=f"{head}-pr{pr}-app",
    )


def is_label(text: str) -> bool:
    return len(text) <= LABEL_LIMIT and _LABEL.fullmatch(text) is not None


def is_target_group_name(text: str) -> bool:
    return len(text) <= TARGET_GROUP_LIMIT and _TARGET_GROUP.fullmatch(text) is not None


# Quotas for your Application Load Balancers (Elastic Load Balancing user guide): rules per
# load balancer, default rules not counted, 100 by default and adjustable; target groups per
# load balancer, 100 and not adjustable. DescribeAccountLimits answers the account's own
# (``rules-per-application-load-balancer``, ``target-groups-per-application-load-balancer``).
RULES_PER_LOAD_BALANCER: Final = 100
TARGET_GROUPS_PER_LOAD_BALANCER: Final = 100


@dataclass(frozen=True)
class Room:
    """What dev's load balancer holds and may hold: one more PR takes a rule and a target
    group."""

    rules: int
    max_rules: int
    target_groups: int
    max_target_groups: int

    def problem(self) -> str | None:
        full = [
            f"{used} of {most} {what}"
            for used, most, what in (
                (self.rules, self.max_rules, "rules"),
                (self.target_groups, self.max_target_groups, "target groups"),
            )
            if used >= most
        ]
        if not full:
            return None
        return (
            f"dev's load balancer has {' and '.join(full)} it may have (Elastic Load Balancing "
            "quotas): destroy old PR environments (`python -m delivery pr-env destroy --pr "
            "<n>`), or raise the rules quota in Service Quotas"
        )


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
    created_at: datetime | None  # None: its first `up` has not finished (or failed)


class SweepReason(StrEnum):
    CLOSED = "its pull request is closed, or no longer labelled"
    UNKNOWN = "its pull request is not among the open ones (closed, or deleted)"
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
    listed_at: datetime | None = None,
) -> list[tuple[PrStack, SweepReason]]:
    """The PR environments the scheduled sweep destroys, each with its reason: a closed PR's,
    one whose PR is not in ``prs`` (the open ones, as the workflow lists them, so a closed PR
    of any age is gone from it), and one older than ``max_age`` (an open PR that wants one
    again gets it back on its next push). One without a creation time (its first `up` is
    still running, or failed before writing it) is never too old: it goes when its PR does.
    A PR missing from ``prs`` whose environment was created after the list was taken
    (``listed_at``, default ``now``) may have been opened since: it is kept. Stacks that are
    not PR environments (dev, staging, prod, anything else in the backend) are never chosen,
    whatever their age. An empty ``prs`` is no open pull request: the lookup's own failure
    fails the workflow's step before the sweep runs."""
    listed_at = listed_at or now
    if max_age <= timedelta(0):
        raise PrEnvironmentError(f"the sweep's age must be positive, got {max_age}")
    moments = [now, listed_at, *(s.created_at for s in stacks if s.created_at is not None)]
    if any(moment.tzinfo is None for moment in moments):
        raise PrEnvironmentError("the sweep compares times with their zone: give aware ones")
    chosen = []
    for stack in stacks:
        pr = pr_of(stack.name)
        if pr is None:
            continue
        state = prs.get(pr)
        if state is PrState.CLOSED:
            chosen.append((stack, SweepReason.CLOSED))
        elif state is None:
            if stack.created_at is not None and stack.created_at < listed_at:
                chosen.append((stack, SweepReason.UNKNOWN))
        elif stack.created_at is not None and now - stack.created_at > max_age:
            chosen.append((stack, SweepReason.EXPIRED))
    return chosen


# What dev declares for its PR environments (components/pr_base.py): one object, exported as
# a stack output for people and written to an SSM parameter for `pr-env up`, which copies it
# into the PR stack's config. Reading dev's stack instead would need dev's state and its
# secrets provider's key (the DIY backend decrypts a deployment's secrets to read its outputs:
# pulumi/pulumi pkg/resource/stack/deployment.go, DeserializeStackOutputs), which would put
# dev's own secrets within reach of the pull request's code.
BASE_OUTPUT: Final = "prEnvironmentBase"
# An SSM parameter's value: at most 4 KB in the standard tier, 8 KB in the advanced
# (botocore ssm 2014-11-06 ``PutParameter``: ``Tier``); Intelligent-Tiering takes the standard
# tier while the value fits it (the CA certificate is most of it).
BASE_PARAMETER_LIMIT: Final = 8192


def base_parameter(name_prefix: str) -> str:
    """The SSM parameter holding dev's base (a name of letters, digits and ``/-_.``)."""
    return f"/{name_prefix}/pr-environment-base"


DEFAULT_BASE_PARAMETER: Final = base_parameter("switchyard-dev")
BASE_KEYS: Final = (
    "namePrefix",
    "region",
    "domain",
    "scheme",
    "listenerArn",
    "vpcId",
    "targetPort",
    "healthCheckPath",
    "clusterName",
    "clusterEndpoint",
    "clusterCertificateAuthority",
    "oidcProviderArn",
    "oidcIssuer",
    "boundaryArn",
    "keyArn",
    "tags",
    "serviceName",
    "secretNames",
    "cpuRequestMillicores",
    "memoryRequestMiB",
)


@dataclass(frozen=True)
class PrBase:
    """Dev's shared pieces a PR environment is built on."""

    name_prefix: str
    region: str
    domain: str
    scheme: str  # http in dev without a certificate, https with one
    listener_arn: str
    vpc_id: str
    target_port: int
    health_check_path: str
    cluster_name: str
    cluster_endpoint: str
    cluster_certificate_authority: str
    oidc_provider_arn: str
    oidc_issuer: str  # without https://
    boundary_arn: str
    key_arn: str  # the PR secrets' customer key
    tags: Mapping[str, str]  # dev's own tags (owner, cost centre), on every PR resource too
    service_name: str
    secret_names: tuple[str, ...]
    cpu_request_millicores: int
    memory_request_mib: int

    def url(self, names: PrNames) -> str:
        return f"{self.scheme}://{names.host_label}.{self.domain}"

    def host(self, names: PrNames) -> str:
        return f"{names.host_label}.{self.domain}"


def read_base(found: object, where: str) -> PrBase:
    """Dev's base (``where`` names where it was read) as a PrBase; a clear error when dev has
    none (PR environments are off there, or dev was never deployed with them) or it lacks a
    key."""
    if not isinstance(found, Mapping):
        raise PrEnvironmentError(
            f"{where} holds no PR environment base (an object with {BASE_KEYS[0]}, ...): set "
            "prDomain and prHostedZoneId in Pulumi.dev.yaml and run `pulumi up --stack dev` "
            "first (README, PR environments)"
        )
    missing = [key for key in BASE_KEYS if found.get(key) in (None, "")]
    if missing:
        raise PrEnvironmentError(
            f"{where} lacks {', '.join(missing)}: dev was deployed by an older program; run "
            "`pulumi up --stack dev` with this one"
        )
    return PrBase(
        name_prefix=str(found["namePrefix"]),
        region=str(found["region"]),
        domain=str(found["domain"]),
        scheme=str(found["scheme"]),
        listener_arn=str(found["listenerArn"]),
        vpc_id=str(found["vpcId"]),
        target_port=int(str(found["targetPort"])),
        health_check_path=str(found["healthCheckPath"]),
        cluster_name=str(found["clusterName"]),
        cluster_endpoint=str(found["clusterEndpoint"]),
        cluster_certificate_authority=str(found["clusterCertificateAuthority"]),
        oidc_provider_arn=str(found["oidcProviderArn"]),
        oidc_issuer=str(found["oidcIssuer"]),
        boundary_arn=str(found["boundaryArn"]),
        key_arn=str(found["keyArn"]),
        tags=_tags(found["tags"]),
        service_name=str(found["serviceName"]),
        secret_names=tuple(str(n) for n in _listed(found["secretNames"])),
        cpu_request_millicores=int(str(found["cpuRequestMillicores"])),
        memory_request_mib=int(str(found["memoryRequestMiB"])),
    )


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _tags(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise PrEnvironmentError(f"dev's {BASE_OUTPUT}.tags must be an object, got {value!r}")
    return {str(k): str(v) for k, v in value.items()}


# A pull request names its image on a line of its description; nothing else of it is read.
IMAGE_LINE: Final = re.compile(r"^[ \t]*pr-environment-image:(?P<image>.*)$", re.I | re.M)


def image_named_in(description: str) -> str | None:
    """The image a pull request's description names (its last ``pr-environment-image:``
    line), or None; the caller checks it by ``image_problem``."""
    found = IMAGE_LINE.findall(description)
    return str(found[-1]).strip() if found else None


def image_problem(image: str) -> str | None:
    if DIGEST.match(image):
        return None
    return (
        "the pull request's image by digest, <registry>/<name>@sha256:<64 hex>, as its build "
        f"pushed it (what runs is what was built), got {image!r}"
    )
