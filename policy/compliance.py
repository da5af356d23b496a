"""The compliance report: each baseline rule mapped to SOC 2 trust services criteria and PCI DSS
v4.0 requirements, judged on a stack's offline graph, with the release records as the evidence
of change management, and the gaps said.

The mapping is the platform's reading of the criteria (AICPA TSC 2017, revised points of focus
2022; PCI DSS v4.0), not an auditor's: each rule names the criterion its control serves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from policy.baseline import Rule
from policy.pack import RULES

# SOC 2 criteria and PCI DSS v4.0 requirements the report accounts for, with what they ask.
SOC2: Final[Mapping[str, str]] = {
    "CC6.1": "logical access to information assets is restricted and protected",
    "CC6.3": "access is granted by least privilege and removed when no longer needed",
    "CC6.6": "the system boundary is protected against threats from outside it",
    "CC6.7": "data in transit is protected",
    "CC6.8": "unauthorised or malicious software is prevented or detected",
    "CC7.1": "configurations are monitored for vulnerabilities and drift",
    "CC7.2": "components are monitored for anomalies that indicate threats or failures",
    "CC7.3": "security events are evaluated and responded to",
    "CC8.1": "changes are authorised, designed, tested, approved and implemented",
    "A1.2": "the environment is protected against and recovers from failures",
    "C1.2": "confidential information is disposed of when no longer needed",
}
PCI: Final[Mapping[str, str]] = {
    "1": "install and maintain network security controls",
    "2": "apply secure configurations to all system components",
    "3": "protect stored account data",
    "4": "protect data with strong cryptography in transit over open, public networks",
    "6": "develop and maintain secure systems and software",
    "7": "restrict access to system components and data by business need to know",
    "8": "identify users and authenticate access to system components",
    "10": "log and monitor all access to system components and data",
    "11": "test the security of systems and networks regularly",
    "12": "support information security with organisational policies and programs",
}


@dataclass(frozen=True)
class Criteria:
    soc2: tuple[str, ...]
    pci: tuple[str, ...]  # "10.2" style: requirement.sub-requirement
    reason: str = ""  # why a framework has no entry


def _m(soc2: str, pci: str, reason: str = "") -> Criteria:
    return Criteria(tuple(soc2.split()), tuple(pci.split()), reason)


NOT_PCI = "availability, which PCI DSS does not set requirements for"
MAPPING: Final[Mapping[str, Criteria]] = {
    "elb-https-listeners": _m("CC6.7", "4.2"),
    "elb-tls12-policy": _m("CC6.7", "4.2"),
    "elb-drop-invalid-headers": _m("CC6.6", "6.4"),
    "elb-access-logs": _m("CC7.2", "10.2"),
    "elb-deletion-protection": _m("A1.2", "", NOT_PCI),
    "elb-desync-mitigation": _m("CC6.6", "6.4"),
    "elb-multi-az": _m("A1.2", "", NOT_PCI),
    "elb-waf": _m("CC6.6", "6.4"),
    "s3-block-public-access": _m("CC6.1", "1.4 7.2"),
    "s3-no-public-policy": _m("CC6.1", "7.2"),
    "s3-default-encryption": _m("CC6.1", "3.5"),
    "s3-tls-only": _m("CC6.7", "4.2"),
    "s3-versioning": _m("A1.2", "10.3"),
    "s3-acls-disabled": _m("CC6.1", "7.2"),
    "s3-lifecycle": _m("C1.2", "3.2"),
    "kms-key-rotation": _m("CC6.1", "3.7"),
    "kms-key-policy-not-public": _m("CC6.1", "3.6"),
    "secrets-customer-key": _m("CC6.1", "3.6"),
    "secrets-rotation": _m("CC6.1", "8.6"),
    "secrets-rotation-interval": _m("CC6.1", "8.6"),
    "sns-encrypted": _m("CC6.1", "3.5"),
    "sns-delivery-status-logging": _m("CC7.2", "10.2"),
    "sns-topic-policy": _m("CC6.1", "7.2"),
    "sns-policy-not-public": _m("CC6.1", "7.2"),
    "sns-alarm-topics-subscribed": _m("CC7.3", "10.7"),
    "ec2-default-security-group-closed": _m("CC6.6", "1.2"),
    "ec2-vpc-flow-logs": _m("CC7.2", "10.2"),
    "ec2-internet-ingress": _m("CC6.6", "1.3"),
    "ec2-targets-from-load-balancer": _m("CC6.6", "1.3"),
    "ec2-subnet-no-public-ip": _m("CC6.6", "1.4"),
    "iam-no-admin": _m("CC6.3", "7.2"),
    "iam-no-admin-by-negation": _m("CC6.3", "7.2"),
    "iam-no-service-wildcards": _m("CC6.3", "7.2"),
    "iam-kms-decrypt-scoped": _m("CC6.3", "3.6 7.2"),
    "iam-confused-deputy": _m("CC6.1", "7.2"),
    "iam-trust-not-public": _m("CC6.1", "7.2 8.2"),
    "iam-no-admin-attachments": _m("CC6.3", "7.2"),
    "iam-github-oidc-scoped": _m("CC6.1 CC8.1", "8.6"),
    "cloudwatch-alarm-actions": _m("CC7.2 CC7.3", "10.7"),
    "logs-encrypted": _m("CC6.1", "10.3"),
    "logs-retention": _m("CC7.2", "10.5"),
    "cloudtrail-trail": _m("CC7.2", "10.2 10.3"),
    "cloudtrail-secret-reads-audited": _m("CC7.2", "10.2"),
    "waf-rules": _m("CC6.6", "6.4"),
    "waf-logging": _m("CC7.2", "10.2"),
    "eks-secrets-encryption": _m("CC6.1", "3.5"),
    "eks-audit-logs": _m("CC7.2", "10.2"),
    "eks-endpoint-restricted": _m("CC6.6", "1.3"),
    "eks-version-supported": _m("CC7.1", "6.3"),
    "eks-bootstrap-access-removed": _m("CC6.6", "1.3"),
    "eks-private-nodes": _m("CC6.6", "1.4"),
    "eks-node-imdsv2": _m("CC6.1", "2.2"),
    "pods-hardened": _m("CC6.8", "2.2"),
    "pods-images-pinned": _m("CC8.1", "6.3"),
    "tags-required": _m("CC6.1", "12.5"),
}
# Criteria no rule of the pack judges, with where they are met or why not (the report's gaps).
UNJUDGED: Final[Mapping[str, str]] = {
    "CC8.1": "judged from the release records (below), not from the graph",
    "PCI 11": "no rule of the pack judges it; the tests are the pipeline's: OWASP ZAP scans "
    "staging's staged colour before every promote (deploy-staging.yml; a High finding stops "
    "the release) and `make audit` (pip-audit, bandit, zizmor, IAM analysis, checkov) runs on "
    "every pull request; prod has no scan of its own",
    "PCI 8": "people's authentication (SSO, MFA) is the AWS organisation's and GitHub's, "
    "outside this program; the pack judges only workload identities",
}


@dataclass(frozen=True)
class Control:
    rule: Rule
    mapping: Criteria
    result: str  # passed, failed, advisory, not applicable
    violations: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()  # the graph's resources of the rule's types: the evidence


@dataclass
class Report:
    stack: str
    controls: list[Control]
    releases: dict[str, Any] = field(default_factory=dict)

    def by_criterion(self) -> dict[str, list[Control]]:
        found: dict[str, list[Control]] = {}
        for control in self.controls:
            for key in (*control.mapping.soc2, *(f"PCI {p}" for p in control.mapping.pci)):
                found.setdefault(key, []).append(control)
        return found

    def gaps(self) -> list[str]:
        gaps = [
            f"{c.rule.name} ({c.rule.controls}) {c.result}: {'; '.join(c.violations[:3])}"
            for c in self.controls
            if c.result in ("failed", "advisory")
        ]
        judged = self.by_criterion()
        for criterion in [*SOC2, *(f"PCI {p}" for p in PCI)]:
            requirement = criterion.removeprefix("PCI ")
            covered = criterion in judged or any(
                k.startswith(f"PCI {requirement}.") for k in judged
            )
            if not covered:
                gaps.append(f"{criterion}: {UNJUDGED.get(criterion, 'no rule judges it')}")
        if not self.releases.get("records"):
            gaps.append("CC8.1: no release records were given, so change management is unproven")
        return gaps

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "controls": [
                {
                    "rule": c.rule.name,
                    "controls": c.rule.controls,
                    "soc2": list(c.mapping.soc2),
                    "pci_dss_v4": list(c.mapping.pci),
                    "reason": c.mapping.reason,
                    "result": c.result,
                    "resources": list(c.resources),
                    "violations": list(c.violations),
                }
                for c in self.controls
            ],
            "change_management": self.releases,
            "gaps": self.gaps(),
        }

    def json_text(self) -> str:
        return json.dumps(self.as_json(), indent=2) + "\n"

    def markdown(self) -> str:
        counts: dict[str, int] = {}
        for c in self.controls:
            counts[c.result] = counts.get(c.result, 0) + 1
        lines = [
            f"# Compliance report: stack `{self.stack}`",
            "",
            f"{len(self.controls)} rules of the baseline: "
            + ", ".join(f"{n} {r}" for r, n in sorted(counts.items())),
            "",
            "## By criterion",
            "",
            "| criterion | what it asks | rules | result |",
            "| --- | --- | --- | --- |",
        ]
        judged = self.by_criterion()
        for key in sorted(judged, key=_criterion_order):
            rules = judged[key]
            worst = "failed" if any(c.result == "failed" for c in rules) else "passed"
            asks = SOC2.get(key) or PCI.get(key.removeprefix("PCI ").split(".")[0], "")
            names = ", ".join(sorted({c.rule.name for c in rules}))
            lines.append(f"| {key} | {asks} | {names} | {worst} |")
        lines += ["", "## Rules", "", "| rule | source controls | SOC 2 | PCI DSS v4.0 | result |"]
        lines.append("| --- | --- | --- | --- | --- |")
        for c in self.controls:
            pci = ", ".join(c.mapping.pci) or f"none: {c.mapping.reason}"
            lines.append(
                f"| {c.rule.name} | {c.rule.controls} | {', '.join(c.mapping.soc2)} | {pci} | "
                f"{c.result} ({_evidence(c.resources)}) |"
            )
        lines += ["", "## Change management (CC8.1, PCI 6.5)", ""]
        lines += [f"- {k}: {v}" for k, v in self.releases.items() if k != "records"]
        lines += ["", "## Gaps", ""] + [f"- {g}" for g in self.gaps()]
        return "\n".join(lines) + "\n"


def _evidence(resources: Sequence[str], shown: int = 3) -> str:
    if not resources:
        return "the stack as a whole"
    more = f" and {len(resources) - shown} more" if len(resources) > shown else ""
    return ", ".join(f"`{r}`" for r in resources[:shown]) + more


def _criterion_order(key: str) -> tuple[int, tuple[int, ...], str]:
    """SOC 2's criteria first, then PCI DSS's requirements in their numbers' order."""
    if key.startswith("PCI "):
        return (1, tuple(int(n) for n in key.removeprefix("PCI ").split(".")), key)
    return (0, (), key)


def judge(
    stack: str,
    violations: Sequence[tuple[str, bool, str]],
    types_present: Mapping[str, Sequence[str]],
    releases: dict[str, Any],
    rules: Sequence[Rule] = RULES,
) -> Report:
    """``violations``: (policy name, mandatory, message); ``types_present``: the graph's
    resource names by type."""
    controls = []
    for rule in rules:
        mapping = MAPPING[rule.name]
        found = tuple(
            message for policy, _, message in violations if policy.split("-relaxed")[0] == rule.name
        )
        mandatory = any(
            m for policy, m, _ in violations if policy.split("-relaxed")[0] == rule.name
        )
        resources = tuple(sorted(n for t in rule.types for n in types_present.get(t, ())))
        if found:
            result = "failed" if mandatory else "advisory"
        elif rule.types and not resources and rule.stack_check is None:
            result = "not applicable"
        else:
            result = "passed"
        controls.append(Control(rule, mapping, result, found, resources))
    return Report(stack, controls, releases)
