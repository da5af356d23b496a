"""The compliance criteria each baseline rule serves: SOC 2 trust services criteria (AICPA TSC
2017, revised points of focus 2022) and PCI DSS v4.0 requirements. The platform's reading of
the criteria, not an auditor's; the pack carries them as its policies' tags, the compliance
report (policy.compliance) judges them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

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
    "s3-default-encryption": _m("CC6.1", "3.5"),  # were account data stored in a bucket
    "s3-tls-only": _m("CC6.7", "4.2"),
    "s3-versioning": _m("A1.2", "", NOT_PCI),
    "s3-acls-disabled": _m("CC6.1", "7.2"),
    "s3-lifecycle": _m("C1.2", "3.2"),
    "kms-key-rotation": _m("CC6.1", "3.7"),
    "kms-key-policy-not-public": _m("CC6.1", "3.6"),
    "secrets-customer-key": _m("CC6.1", "3.6"),
    "secrets-rotation": _m("CC6.1", "8.6"),
    "secrets-rotation-interval": _m("CC6.1", "8.6"),
    "sns-encrypted": _m("CC6.1", "", "alerts carry no account data, which PCI DSS 3 protects"),
    "sns-delivery-status-logging": _m("CC7.2", "10.7"),  # failed alert delivery is detected
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
    "eks-secrets-encryption": _m("CC6.1", "8.3.2"),  # credentials unreadable in storage
    "eks-audit-logs": _m("CC7.2", "10.2"),
    "eks-endpoint-restricted": _m("CC6.6", "1.3"),
    "eks-version-supported": _m("CC7.1", "6.3"),
    "eks-bootstrap-access-removed": _m("CC6.6", "1.3"),
    "eks-private-nodes": _m("CC6.6", "1.4"),
    "eks-node-imdsv2": _m("CC6.1", "2.2"),
    "pods-hardened": _m("CC6.8", "2.2"),
    "pods-images-pinned": _m("CC8.1", "6.5"),  # what runs is the change that was reviewed
    "tags-required": _m("CC6.1", "12.5"),
}


def criteria_tags(rule: str) -> tuple[str, ...]:
    """The rule's criteria as pulumi-policy tags."""
    criteria = MAPPING[rule]
    return (*(f"soc2:{c}" for c in criteria.soc2), *(f"pci-dss-v4:{p}" for p in criteria.pci))
