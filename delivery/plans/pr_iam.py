"""The IAM documents of dev's PR environments, as pure functions over resolved ARNs.

- The PR CI role (the PR workflow's jobs assume it): a PR environment's `pulumi up` and
  `destroy`, and nothing of dev's own. Every write is held to the names PR environments get
  (``<head>-pr*``, delivery.plans.pr_environments), and a listener rule to the tag only a PR
  environment's rules carry, so dev's own rules on the listener stay out of reach.
- The PR boundary: every app role a PR environment creates carries it, and it allows only
  reading PR secrets. The CI role can create a role only with it and never change it, so a
  PR's program cannot mint itself more than that.
- The app policy: one PR's pods read that PR's secrets and no other's (``<head>-pr<n>/*``
  does not match ``<head>-pr<n>0/...``: the slash ends the number).

Actions and their resource types are the Service Authorization Reference's (Elastic Load
Balancing V2, IAM, Secrets Manager, Amazon EKS). What the provider reads after each write is
terraform-provider-aws' Read of each resource (target group: DescribeTargetGroups,
DescribeTargetGroupAttributes, DescribeTags; listener rule: DescribeRules, DescribeTags; role:
GetRole, ListRolePolicies, ListAttachedRolePolicies; secret: DescribeSecret,
GetResourcePolicy, and a version's GetSecretValue).
"""

from __future__ import annotations

import json
from typing import Any, Final

from delivery.plans.iam import allow as _allow

PR_TAG: Final = "switchyard-pr"  # every listener rule a PR environment creates carries it


def _arn(partition: str, service: str, region: str, account: str, resource: str) -> str:
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def _document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def pr_secret_arns(partition: str, region: str, account: str, head: str) -> str:
    """Every PR environment's secrets (Secrets Manager adds ``-`` and six characters)."""
    return _arn(partition, "secretsmanager", region, account, f"secret:{head}-pr*")


def _through_secrets_manager(region: str) -> dict[str, Any]:
    return {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}}


def pr_boundary_policy(partition: str, region: str, account: str, head: str, key_arn: str) -> str:
    return _document(
        _allow(
            "ReadPrSecretsOnly",
            ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            pr_secret_arns(partition, region, account, head),
        ),
        _allow(
            "DecryptThemThroughSecretsManager",
            ["kms:Decrypt"],
            key_arn,
            **_through_secrets_manager(region),
        ),
    )


def pr_app_policy(
    partition: str, region: str, account: str, secret_prefix: str, key_arn: str
) -> str:
    """One PR's pods: that PR's secrets (``<head>-pr<n>/<name>-XXXXXX``) and nothing else;
    the PR key only for them (Secrets Manager's encryption context names the secret's ARN:
    "How Secrets Manager uses AWS KMS", kms:EncryptionContext:SecretARN)."""
    secrets = _arn(partition, "secretsmanager", region, account, f"secret:{secret_prefix}*")
    return _document(
        _allow(
            "ReadThisPullRequestsSecrets",
            ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            secrets,
        ),
        _allow(
            "DecryptOnlyThem",
            ["kms:Decrypt"],
            key_arn,
            **_through_secrets_manager(region),
            StringLike={"kms:EncryptionContext:SecretARN": secrets},
        ),
    )


def pr_ci_policy(
    partition: str,
    region: str,
    account: str,
    head: str,
    listener_arn: str,
    cluster_name: str,
    boundary_arn: str,
    key_arn: str,
    base_parameter: str,
) -> str:
    """What a PR environment's `pulumi up` and `destroy` do in dev's account, and reading
    dev's base (the SSM parameter ``base_parameter``, which starts with ``/``)."""
    target_groups = _arn(
        partition, "elasticloadbalancing", region, account, f"targetgroup/{head}-pr*/*"
    )
    # listener/app/<alb>/<id>/<listener id> -> listener-rule/app/<alb>/<id>/<listener id>/*
    rules = listener_arn.replace(":listener/", ":listener-rule/", 1) + "/*"
    roles = _arn(partition, "iam", "", account, f"role/{head}-pr*-app")
    secrets = pr_secret_arns(partition, region, account, head)
    tagged = {"Null": {f"aws:ResourceTag/{PR_TAG}": "false"}}
    return _document(
        _allow(
            "ReadWhatThePrProgramLooksUp",
            [
                "elasticloadbalancing:DescribeAccountLimits",  # pr-env up: the load balancer's room
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTargetGroupAttributes",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
            ],
            "*",  # Describe* take no resource (Service Authorization Reference)
        ),
        _allow(
            "ItsOwnTargetGroups",
            [
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RemoveTags",
            ],
            target_groups,
        ),
        # CreateRule authorises on the listener and the rule's target group; the rule must
        # carry the PR tag from its creation on, so no later call can adopt one of dev's.
        _allow(
            "RulesOnDevsListenerOnlyTaggedAsPrs",
            ["elasticloadbalancing:CreateRule"],
            [listener_arn, target_groups],
            **{"Null": {f"aws:RequestTag/{PR_TAG}": "false"}},
        ),
        _allow(
            "TagARuleAsItIsCreated",
            ["elasticloadbalancing:AddTags"],
            rules,
            **{
                "StringEquals": {"elasticloadbalancing:CreateAction": "CreateRule"},
                "Null": {f"aws:RequestTag/{PR_TAG}": "false"},
            },
        ),
        _allow(
            "OnlyPrRules",
            [
                "elasticloadbalancing:DeleteRule",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:RemoveTags",
                "elasticloadbalancing:SetRulePriorities",
            ],
            rules,
            **tagged,
        ),
        _allow(
            "AppRolesOnlyWithThePrBoundary",
            ["iam:CreateRole", "iam:PutRolePolicy"],
            roles,
            **{"StringEquals": {"iam:PermissionsBoundary": boundary_arn}},
        ),
        _allow(
            "ItsOwnAppRoles",
            [
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:ListRolePolicies",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
            ],
            roles,
        ),
        _allow(
            "ItsOwnSecrets",
            [
                "secretsmanager:CreateSecret",
                "secretsmanager:DeleteSecret",
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetResourcePolicy",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:TagResource",
                "secretsmanager:UntagResource",
                "secretsmanager:UpdateSecret",
            ],
            secrets,
        ),
        # Secrets Manager encrypts a value with GenerateDataKey and reads it with Decrypt, as
        # the caller ("How Secrets Manager uses AWS KMS"): only through Secrets Manager.
        _allow(
            "ThePrKeyThroughSecretsManager",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            key_arn,
            **_through_secrets_manager(region),
        ),
        _allow(
            "DevsBase",
            ["ssm:GetParameter"],
            _arn(partition, "ssm", region, account, f"parameter{base_parameter}"),
        ),
        _allow(
            "DevsClusterEndpoint",
            ["eks:DescribeCluster"],
            _arn(partition, "eks", region, account, f"cluster/{cluster_name}"),
        ),
        {
            "Sid": "NeverLoosenTheBoundary",
            "Effect": "Deny",
            "Action": ["iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary"],
            "Resource": "*",
        },
    )
