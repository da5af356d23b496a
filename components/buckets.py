"""What every Switchyard bucket is: private (public access blocked, objects owned by the
bucket owner) and reachable over TLS only. One declaration, used by each bucket's component."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws


def make_private(name: str, bucket: aws.s3.Bucket, opts: pulumi.ResourceOptions) -> None:
    aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        name, bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts
    )


def kms_encrypted(
    name: str, bucket: aws.s3.Bucket, key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> None:
    """Default encryption with a customer KMS key; the bucket key keeps KMS calls few."""
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": key_arn,
                },
                "bucket_key_enabled": True,
            }
        ],
        opts=opts,
    )


def versioned_logs(
    name: str,
    bucket: aws.s3.Bucket,
    rule_id: str,
    days: int,
    noncurrent_days: int,
    opts: pulumi.ResourceOptions,
) -> None:
    """A log bucket is versioned, its logs expire after ``days`` and superseded versions after
    ``noncurrent_days``."""
    aws.s3.BucketVersioning(
        name, bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=opts
    )
    aws.s3.BucketLifecycleConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            {
                "id": rule_id,
                "status": "Enabled",
                "filter": {},
                "expiration": {"days": days},
                "noncurrent_version_expiration": {"noncurrent_days": noncurrent_days},
            }
        ],
        opts=opts,
    )


def tls_only(bucket_arn: str) -> dict[str, Any]:
    """The bucket-policy statement refusing every request not made over TLS."""
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
