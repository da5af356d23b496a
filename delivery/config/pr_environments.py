"""Reads dev's PR environment keys (prDomain, prHostedZoneId, prGithubEnvironment,
prCertificateArn).

Limits, read where they are defined:
- a host-header condition value: at most 128 characters (ELBv2 API reference,
  ``HostHeaderConditionConfig``: "The maximum length of each string is 128 characters");
- a DNS name: labels of at most 63 characters, 253 in all (RFC 1035 2.3.4);
- a hosted zone id as Route 53 answers it: ``Z`` and up to 31 upper-case letters and digits
  (botocore route53 2013-04-01 ``ResourceId``: max 32), written without ``/hostedzone/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from delivery.config.model import (
    AlbSettings,
    Environment,
    PrEnvironmentSettings,
    SecuritySettings,
)
from delivery.config.reader import ConfigReader, shown

# GitHub's issue and pull request numbers are 32-bit signed integers (the REST API's
# ``number``, an int in its OpenAPI description): ten digits at most.
GITHUB_MAX_PR: Final = 2**31 - 1
DEFAULT_GITHUB_ENVIRONMENT: Final = "pr-environments"
HOST_HEADER_LIMIT: Final = 128
LONGEST_LABEL: Final = f"pr-{GITHUB_MAX_PR}."
DOMAIN_LIMIT: Final = HOST_HEADER_LIMIT - len(LONGEST_LABEL)
_DOMAIN: Final = re.compile(
    r"^(?:[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z][-a-z0-9]*[a-z0-9]\Z"
)
_ZONE: Final = re.compile(r"^Z[A-Z0-9]{1,31}\Z")
_GITHUB_ENVIRONMENT: Final = re.compile(r"^[A-Za-z0-9_.-]{1,255}\Z")


def domain_problem(domain: str) -> str | None:
    if domain != domain.lower() or domain.endswith("."):
        return f"must be a lower-case DNS name without the final dot, got {shown(domain)}"
    if not _DOMAIN.match(domain):
        return (
            "must be a DNS name of labels of letters, digits and inner hyphens, such as "
            f"pr.dev.example.com, got {shown(domain)}"
        )
    if len(domain) > DOMAIN_LIMIT:
        return (
            f"must be at most {DOMAIN_LIMIT} characters, so that {LONGEST_LABEL}<prDomain> "
            f"fits a listener rule's host condition ({HOST_HEADER_LIMIT}); got {len(domain)}"
        )
    return None


def read_pr_environments(
    reader: ConfigReader,
    environment: Environment | None,
    security: SecuritySettings | None,
    alb: AlbSettings | None,
    certificate_problem: Callable[[str], str | None],
) -> PrEnvironmentSettings | None:
    domain = reader.text("prDomain", domain_problem)
    zone = reader.text("prHostedZoneId")
    certificate = reader.text("prCertificateArn", certificate_problem)
    github = reader.matching(
        "prGithubEnvironment",
        _GITHUB_ENVIRONMENT,
        "a GitHub environment name (letters, digits, '.', '_', '-'), e.g. pr-environments",
    )
    if reader.has_problem("prDomain"):
        return None
    if domain is None:
        others = (
            ("prHostedZoneId", zone),
            ("prGithubEnvironment", github),
            ("prCertificateArn", certificate),
        )
        for name, value in others:
            if value is not None:
                reader.fail(name, "is set without prDomain: set prDomain too, or remove it")
        return None
    if environment is not None and environment is not Environment.DEV:
        reader.fail(
            "prDomain",
            f"PR environments live in dev's cluster and load balancer only; remove prDomain "
            f"from the {environment} stack",
        )
        return None
    if zone is None:
        if not reader.has_problem("prHostedZoneId"):
            reader.fail(
                "prHostedZoneId",
                f"is required with prDomain: the id of the public hosted zone that holds "
                f"{domain}, from `aws route53 list-hosted-zones-by-name --dns-name {domain}`",
            )
        return None
    if not _ZONE.match(zone):
        bare = zone.rsplit("/", 1)[-1]
        hint = f" (write {bare}, without /hostedzone/)" if "/" in zone else ""
        reader.fail(
            "prHostedZoneId",
            f"must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ{hint}, "
            f"got {shown(zone)}",
        )
        return None
    github = github or DEFAULT_GITHUB_ENVIRONMENT
    if security is not None:
        taken = {*security.github_environments, security.github_infrastructure_environment}
        if github.casefold() in {t.casefold() for t in taken}:
            reader.fail(
                "prGithubEnvironment",
                f"{github!r} is also a release or infrastructure environment: a PR job there "
                "could assume dev's other roles; give PR environments an environment of "
                "their own",
            )
            return None
    if reader.has_problem("prGithubEnvironment") or reader.has_problem("prCertificateArn"):
        return None
    https = alb is not None and alb.certificate_arn is not None
    if https and certificate is None:
        # dev's production listener is HTTPS with dev's own certificate, which names no
        # pr-<n>.<prDomain>: the listener presents one that does by SNI (a listener certificate)
        reader.fail(
            "prCertificateArn",
            f"is required with prDomain when dev's load balancer serves HTTPS (certificateArn "
            f"is set): an ACM certificate for *.{domain} in dev's region",
        )
        return None
    if not https and certificate is not None:
        reader.fail(
            "prCertificateArn",
            "is set but dev's load balancer serves HTTP only (no certificateArn): remove it, "
            "or set certificateArn too",
        )
        return None
    return PrEnvironmentSettings(domain, zone, github, certificate)
