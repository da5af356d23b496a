"""The release records bucket: one JSON document per release, written by the CI driver.

Versioned (a record overwritten by a later phase keeps its history), encrypted with the
environment's KMS key, private (public access blocked, bucket-owner objects, TLS only), and
kept through `pulumi destroy` in prod, since delivery metrics are computed from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.buckets import kms_encrypted, make_private, tls_only


@dataclass
class ReleaseRecordsArgs:
    name_prefix: str
    kms_key_arn: pulumi.Input[str]
    protect: bool  # prod: the bucket survives a destroy and refuses deletion while it has records


class ReleaseRecords(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ReleaseRecordsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:records:ReleaseRecords", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket_prefix=f"{args.name_prefix}-releases-",
            force_destroy=not args.protect,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        kms_encrypted(f"{name}-encryption", self.bucket, args.kms_key_arn, child)
        make_private(f"{name}-access", self.bucket, child)
        # Current records stay (delivery metrics read them all); superseded versions of a
        # record and abandoned uploads do not (FSBP S3.13).
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                {
                    "id": "keep-records-expire-history",
                    "status": "Enabled",
                    "filter": {},
                    "noncurrent_version_expiration": {"noncurrent_days": 365},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(_tls_only),
            opts=child,
        )
        self.register_outputs({"bucketName": self.bucket.bucket})


def _tls_only(bucket_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [tls_only(bucket_arn)]})
