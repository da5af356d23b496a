"""AuditTrail: the environment's CloudTrail trail and the alarm on unexpected secret reads.

Management events (Secrets Manager's GetSecretValue and KMS Decrypt among them, as read events)
go to a private, versioned bucket encrypted with the audit key, with log file validation, and to
an encrypted CloudWatch Logs group where a metric filter counts secret reads by any caller but
the expected roles; the alarm on that count notifies the warning tier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.buckets import kms_encrypted, make_private, tls_only, versioned_logs
from components.keys import (
    Account,
    Statement,
    account_output,
    customer_key,
    document,
    key_policy,
    logs_statement,
    service_trust,
)

LOG_DAYS = 365  # CIS/FSBP: a year of audit logs in every environment
NONCURRENT_DAYS = 90
METRIC_NAMESPACE = "Switchyard/Audit"


@dataclass(frozen=True)
class AuditTrailArgs:
    name_prefix: str
    region: str
    key_rotation_days: int
    protect: bool  # prod: the bucket is never emptied by a destroy
    expected_reader_role_names: Sequence[str]  # roles whose secret reads raise no alarm ...
    warning_topic_arn: pulumi.Input[str]
    expected_reader_role_arns: Sequence[pulumi.Input[str]] = ()  # ... by ARN (the workload's)
    permissions_boundary: pulumi.Input[str] = field(kw_only=True)


class AuditTrail(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: AuditTrailArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:audit:AuditTrail", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix
        account = account_output(self, args.region)
        trail_name = audit_trail_name(prefix)
        trail_arn = account.apply(lambda a: a.arn("cloudtrail", f"trail/{trail_name}"))
        group_name = audit_log_group(prefix)
        self.key = customer_key(
            f"{name}-key",
            f"Switchyard {prefix}: encrypts the audit trail",
            args.key_rotation_days,
            account.apply(lambda a: key_policy(a, _key_statements(a, trail_name, group_name))),
            self,
            f"{prefix}-audit",
        )
        self.bucket = self._bucket(name, args, account, trail_arn)
        logs = aws.cloudwatch.LogGroup(
            f"{name}-trail",
            name=group_name,
            retention_in_days=LOG_DAYS,
            kms_key_id=self.key.arn,
            opts=child,
        )
        delivery = aws.iam.Role(
            f"{name}-trail-logs",
            name_prefix=f"{prefix}-trail-logs-",
            permissions_boundary=args.permissions_boundary,
            assume_role_policy=account.apply(
                lambda a: service_trust("cloudtrail.amazonaws.com", a)
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-trail-logs",
            role=delivery.id,
            policy=logs.arn.apply(
                lambda arn: document(
                    {
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": f"{arn}:log-stream:*",
                    }
                )
            ),
            opts=child,
        )
        self.trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=trail_name,
            s3_bucket_name=self.bucket.bucket,
            kms_key_id=self.key.arn,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            cloud_watch_logs_group_arn=logs.arn.apply(lambda arn: f"{arn}:*"),
            cloud_watch_logs_role_arn=delivery.arn,
            event_selectors=[{"read_write_type": "All", "include_management_events": True}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._bucket_policy]),
        )
        metric = secret_reads_alarm(prefix)
        aws.cloudwatch.LogMetricFilter(
            f"{name}-secret-reads",
            name=metric,
            log_group_name=logs.name,
            pattern=pulumi.Output.all(account, *args.expected_reader_role_arns).apply(
                lambda a: secret_read_pattern(prefix, _readers(a[0], args, a[1:]))
            ),
            metric_transformation={
                "name": metric,
                "namespace": METRIC_NAMESPACE,
                "value": "1",
                "unit": "Count",
            },
            opts=child,
        )
        self.alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-secret-reads",
            name=metric,
            alarm_description=(
                f"[warning] {prefix}: a secret was read by a caller other than "
                f"{', '.join(args.expected_reader_role_names)} and the workload's role; "
                "see the trail's log group for who"
            ),
            namespace=METRIC_NAMESPACE,
            metric_name=metric,
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[args.warning_topic_arn],
            opts=child,
        )
        self.register_outputs({"trailArn": self.trail.arn, "bucket": self.bucket.bucket})

    def _bucket(
        self,
        name: str,
        args: AuditTrailArgs,
        account: pulumi.Output[Account],
        trail_arn: pulumi.Output[str],
    ) -> aws.s3.Bucket:
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            f"{name}-trail",
            bucket_prefix=audit_bucket_prefix(args.name_prefix),
            force_destroy=not args.protect,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        kms_encrypted(f"{name}-trail", bucket, self.key.arn, child)
        make_private(f"{name}-trail", bucket, child)
        versioned_logs(f"{name}-trail", bucket, "keep-a-year", LOG_DAYS, NONCURRENT_DAYS, child)
        self._bucket_policy = aws.s3.BucketPolicy(
            f"{name}-trail",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, account, trail_arn).apply(
                lambda a: _bucket_policy(a[0], a[1], a[2])
            ),
            opts=child,
        )
        return bucket


def audit_trail_name(prefix: str) -> str:
    return f"{prefix}-audit"


def audit_bucket_prefix(prefix: str) -> str:
    return f"{prefix}-audit-"


def audit_log_group(prefix: str) -> str:
    return f"/switchyard/{prefix}/cloudtrail"


def secret_reads_alarm(prefix: str) -> str:
    """The alarm, its metric filter and its metric share this name."""
    return f"{prefix}-unexpected-secret-reads"


def _readers(account: Account, args: AuditTrailArgs, arns: Sequence[str]) -> list[str]:
    named = [account.arn("iam", f"role/{r}", region=False) for r in args.expected_reader_role_names]
    return [*named, *arns]


def secret_read_pattern(prefix: str, expected_roles: Sequence[str]) -> str:
    """GetSecretValue (or its batch form) on this environment's secrets by anyone else."""
    terms = [
        '$.eventSource = "secretsmanager.amazonaws.com"',
        '($.eventName = "GetSecretValue" || $.eventName = "BatchGetSecretValue")',
        f'$.requestParameters.secretId = "*{prefix}/*"',
        *(f'$.userIdentity.sessionContext.sessionIssuer.arn != "{r}"' for r in expected_roles),
    ]
    return "{ " + " && ".join(f"({t})" if "||" not in t else t for t in terms) + " }"


def _key_statements(account: Account, trail_name: str, group_name: str) -> list[Statement]:
    trail = account.arn("cloudtrail", f"trail/{trail_name}")
    return [
        {
            "Sid": "ThisTrailEncryptsItsLogs",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceArn": trail},
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": (
                        f"arn:{account.partition}:cloudtrail:*:{account.id}:trail/*"
                    )
                },
            },
        },
        {
            "Sid": "ThisTrailDescribesTheKey",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:DescribeKey",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceArn": trail}},
        },
        logs_statement(account, group_name),
    ]


def _bucket_policy(bucket_arn: str, account: Account, trail_arn: str) -> str:
    return document(
        {
            "Sid": "ThisTrailChecksTheBucketAcl",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
        },
        {
            "Sid": "ThisTrailWritesThisAccountsLogs",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/AWSLogs/{account.id}/*",
            "Condition": {
                "StringEquals": {
                    "aws:SourceArn": trail_arn,
                    "s3:x-amz-acl": "bucket-owner-full-control",
                }
            },
        },
        tls_only(bucket_arn),
    )
