"""Customer-managed KMS keys: one per purpose (secrets, alerting, logs, audit), each with a key
policy that keeps the account in control (no lockout) and pins every service principal to this
account and the resources it serves (no confused deputy)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

Statement = dict[str, Any]


@dataclass(frozen=True)
class Account:
    """Where the environment lives, for building ARNs and conditions."""

    partition: str
    id: str
    region: str

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        where = self.region if region else ""
        return f"arn:{self.partition}:{service}:{where}:{self.id}:{resource}"

    @property
    def root(self) -> str:
        return f"arn:{self.partition}:iam::{self.id}:root"


def account_output(parent: pulumi.Resource, region: str) -> pulumi.Output[Account]:
    invoke = pulumi.InvokeOutputOptions(parent=parent)
    partition = aws.get_partition_output(opts=invoke).partition
    account = aws.get_caller_identity_output(opts=invoke).account_id
    return pulumi.Output.all(partition, account).apply(lambda pa: Account(pa[0], pa[1], region))


def key_policy(account: Account, statements: Sequence[Statement]) -> str:
    """The account root administers the key (IAM policies then grant use), so no statement
    below can lock the account out; the others let services use it for this account only."""
    admin: Statement = {
        "Sid": "AccountAdministersTheKey",
        "Effect": "Allow",
        "Principal": {"AWS": account.root},
        "Action": "kms:*",
        "Resource": "*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [admin, *statements]})


def logs_statement(account: Account, log_groups: str) -> Statement:
    """CloudWatch Logs encrypts the log groups matching ``log_groups`` (a name pattern)."""
    return {
        "Sid": "CloudWatchLogsEncryptsTheseLogGroups",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{account.region}.amazonaws.com"},
        "Action": [
            "kms:Encrypt*",
            "kms:Decrypt*",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:Describe*",
        ],
        "Resource": "*",
        "Condition": {
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": account.arn("logs", f"log-group:{log_groups}")
            }
        },
    }


def customer_key(
    name: str,
    description: str,
    rotation_days: int,
    policy: pulumi.Input[str],
    parent: pulumi.Resource,
    alias: str,
) -> aws.kms.Key:
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        rotation_period_in_days=rotation_days,
        deletion_window_in_days=30,
        policy=policy,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.kms.Alias(
        name,
        name=f"alias/{alias}",
        target_key_id=key.id,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return key


@dataclass(frozen=True)
class LogGroupSpec:
    group_name: str  # the CloudWatch Logs name, which the key policy names
    purpose: str  # "the VPC flow logs of switchyard-prod": the key's description
    alias: str
    retention_days: int
    rotation_days: int


def encrypted_log_group(
    name: str, spec: LogGroupSpec, account: pulumi.Output[Account], parent: pulumi.Resource
) -> aws.cloudwatch.LogGroup:
    """A log group encrypted with a key of its own, which CloudWatch Logs may use for this
    log group only; ``name`` names the key, its alias and the group."""
    key = customer_key(
        name,
        f"Encrypts {spec.purpose}",
        spec.rotation_days,
        account.apply(lambda a: key_policy(a, [logs_statement(a, spec.group_name)])),
        parent,
        spec.alias,
    )
    return aws.cloudwatch.LogGroup(
        name,
        name=spec.group_name,
        retention_in_days=spec.retention_days,
        kms_key_id=key.arn,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def document(*statements: Statement) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_trust(service: str, account: Account, source_arn: str | None = None) -> str:
    """A trust policy for one service principal, pinned to this account, and to the resource
    where the service documents that it sends ``aws:SourceArn`` when it assumes the role (flow
    logs do; for SNS delivery status and CloudTrail's log delivery only the account is pinned,
    since a condition on a key the service does not send would break the role)."""
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account.id}}
    if source_arn:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    return document(
        {
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
            "Condition": condition,
        }
    )
