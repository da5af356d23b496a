"""IAM policy documents the cluster and the workloads need, as plain data. No I/O."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

STS_AUDIENCE: Final = "sts.amazonaws.com"
AWS_MANAGED: Final = "arn:{partition}:iam::aws:policy/{name}"


def allow(sid: str, actions: Sequence[str], resources: Any, **condition: Any) -> dict[str, Any]:
    """One Allow statement, its actions sorted; ``condition`` as IAM's operator -> key map."""
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def service_trust_policy(service: str, *, tag_session: bool = False) -> str:
    """A role that only ``service`` (e.g. ``eks.amazonaws.com``) may assume."""
    actions = ["sts:AssumeRole", "sts:TagSession"] if tag_session else "sts:AssumeRole"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}
            ],
        }
    )


def service_account_trust_policy(
    provider_arn: str, issuer_url: str, namespace: str, service_account: str
) -> str:
    """IAM roles for service accounts: exactly one Kubernetes service account may assume it."""
    issuer = issuer_url.removeprefix("https://")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                            f"{issuer}:aud": STS_AUDIENCE,
                        }
                    },
                }
            ],
        }
    )


def secrets_encryption_policy(key_arn: str) -> str:
    """What the EKS cluster role needs on the environment's key to envelope-encrypt Secrets
    (the identity creating the cluster also needs kms:CreateGrant and kms:DescribeKey)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EnvelopeEncryptKubernetesSecrets",
                    "Effect": "Allow",
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ListGrants",
                        "kms:DescribeKey",
                    ],
                    "Resource": key_arn,
                }
            ],
        }
    )


def scoped_autoscaler_policy(vendored: dict[str, Any], cluster_name: str) -> str:
    """The Cluster Autoscaler's published policy, its write actions limited to this cluster's
    node groups (EKS tags their Auto Scaling groups ``k8s.io/cluster-autoscaler/<cluster>``),
    as the autoscaler's documentation recommends."""
    tag = f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}"
    statements = []
    for statement in vendored["Statement"]:
        reads = all(a.split(":")[1].startswith(("Describe", "Get")) for a in statement["Action"])
        scoped = {} if reads else {"Condition": {"StringEquals": {tag: "owned"}}}
        statements.append({**statement, **scoped})
    return json.dumps({**vendored, "Statement": statements})


# The load balancer controller only registers and deregisters pods for our TargetGroupBindings:
# at v3.5.0, pkg/targetgroupbinding calls RegisterTargets, DeregisterTargets and Describe*. Its
# published policy still allows ModifyListener and every other write on any load balancer, so
# this deny keeps the environment's ALB, its listeners (the cutover's weights), their rules and
# the target groups out of its reach. The verbs cover every ELBv2 write action on those
# resource types (Service Authorization Reference, Elastic Load Balancing V2) except the two
# target registrations, which start with neither.
LOAD_BALANCER_WRITES: Final = tuple(
    f"elasticloadbalancing:{verb}*"
    for verb in ("Add", "Create", "Delete", "Modify", "Remove", "Set")
)


def load_balancer_guard_policy(load_balancer_arn: str, target_group_arns: list[str]) -> str:
    """A deny of every write but target registration on the ALB, its listeners and rules
    (``listener/app/<name>/<id>/*``, ``listener-rule/app/<name>/<id>/*``) and its groups."""
    resources = [
        load_balancer_arn,
        *(
            load_balancer_arn.replace(":loadbalancer/", f":{kind}/", 1) + "/*"
            for kind in ("listener", "listener-rule")
        ),
        *target_group_arns,
    ]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OnlyTheProgramAndTheCutoverChangeThisLoadBalancer",
                    "Effect": "Deny",
                    "Action": list(LOAD_BALANCER_WRITES),
                    "Resource": resources,
                }
            ],
        }
    )
