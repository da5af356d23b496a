"""S3 buckets: private, encrypted, TLS only, owner-enforced, versioned (they all keep records)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy.baseline import (
    ADVISORY,
    Rule,
    Stack,
    Subject,
    allows,
    as_list,
    public,
    sid,
    statements,
)

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _public_access(stack: Stack) -> Iterator[tuple[Subject, str]]:
    for bucket in stack.of_type(BUCKET):
        blocks = stack.attached(bucket, PUBLIC_ACCESS_BLOCK, "bucket")
        if not any(all(b.get(flag) for flag in BLOCKS) for b in blocks):
            yield (
                bucket,
                (
                    "has no BucketPublicAccessBlock with all four settings on; add one with "
                    + ", ".join(BLOCKS)
                    + " = True"
                ),
            )


def _encrypted(stack: Stack) -> Iterator[tuple[Subject, str]]:
    for bucket in stack.of_type(BUCKET):
        if not stack.attached(bucket, ENCRYPTION, "bucket"):
            yield (
                bucket,
                (
                    "declares no default encryption; add a BucketServerSideEncryptionConfiguration "
                    "(aws:kms with the environment's key, or AES256 where the writer needs SSE-S3)"
                ),
            )


def _versioned(stack: Stack) -> Iterator[tuple[Subject, str]]:
    for bucket in stack.of_type(BUCKET):
        versions = stack.attached(bucket, VERSIONING, "bucket")
        if not any(
            (v.get("versioningConfiguration") or {}).get("status") == "Enabled" for v in versions
        ):
            yield (
                bucket,
                ("keeps records without versioning; add a BucketVersioning with status Enabled"),
            )


def _owner_enforced(stack: Stack) -> Iterator[tuple[Subject, str]]:
    for bucket in stack.of_type(BUCKET):
        controls = stack.attached(bucket, OWNERSHIP, "bucket")
        if not any(
            (c.get("rule") or {}).get("objectOwnership") == "BucketOwnerEnforced" for c in controls
        ):
            yield (
                bucket,
                (
                    "still honours ACLs; add BucketOwnershipControls with "
                    "object_ownership BucketOwnerEnforced"
                ),
            )


def _denies_plain_http(statement: Mapping[str, Any]) -> bool:
    """Deny s3:* (or *) on the bucket and its objects when aws:SecureTransport is false: a deny
    on the bucket alone leaves every object readable over HTTP, and "true" denies HTTPS."""
    if statement.get("Effect") != "Deny":
        return False
    actions = {str(a).lower() for a in as_list(statement.get("Action"))}
    if not actions & {"s3:*", "*"}:
        return False
    resources = [str(r) for r in as_list(statement.get("Resource"))]
    covered = "*" in resources or (
        any(r.endswith("/*") for r in resources) and any("/" not in r for r in resources)
    )
    if not covered:
        return False
    for operator, values in (statement.get("Condition") or {}).items():
        if str(operator) in ("Bool", "BoolIfExists") and isinstance(values, Mapping):
            for key, value in values.items():
                if str(key).lower() == "aws:securetransport" and str(value).lower() == "false":
                    return True
    return False


def _tls_only(stack: Stack) -> Iterator[tuple[Subject, str]]:
    for bucket in stack.of_type(BUCKET):
        policies = stack.attached(bucket, BUCKET_POLICY, "bucket")
        denies = [s for p in policies for s in statements(p.get("policy")) if _denies_plain_http(s)]
        if not denies:
            yield (
                bucket,
                (
                    "accepts plain-HTTP requests; add a bucket policy statement denying s3:* "
                    "on the bucket and its objects (<arn> and <arn>/*) when "
                    "aws:SecureTransport is false (Bool)"
                ),
            )


def _lifecycle(stack: Stack) -> Iterator[tuple[Subject, str]]:
    for bucket in stack.of_type(BUCKET):
        if not stack.attached(bucket, LIFECYCLE, "bucket"):
            yield bucket, "grows without end; add a BucketLifecycleConfiguration"


def _no_public_grant(policy: Subject) -> Iterator[str]:
    for statement in allows(policy.get("policy")):
        if public(statement):
            yield (
                f"statement {sid(statement)} allows everyone; name the principals "
                "or add conditions that pin the caller"
            )


RULES = [
    Rule(
        "s3-block-public-access",
        "Buckets block every form of public access",
        "FSBP S3.8; CIS 2.1.5",
        stack_check=_public_access,
    ),
    Rule(
        "s3-no-public-policy",
        "Bucket policies grant nothing to everyone",
        "FSBP S3.2, S3.3",
        _no_public_grant,
        frozenset({BUCKET_POLICY}),
    ),
    Rule(
        "s3-default-encryption",
        "Buckets encrypt objects at rest by default",
        "CIS 2.1.1; FSBP S3.17 where the writer supports SSE-KMS",
        stack_check=_encrypted,
    ),
    Rule(
        "s3-tls-only",
        "Bucket policies deny requests that do not use TLS",
        "FSBP S3.5; CIS 2.1.2",
        stack_check=_tls_only,
    ),
    Rule(
        "s3-versioning",
        "Buckets that keep records (logs, trails, release records) are versioned",
        "FSBP S3.14",
        stack_check=_versioned,
    ),
    Rule(
        "s3-acls-disabled",
        "Buckets use bucket-owner-enforced object ownership (ACLs off)",
        "FSBP S3.12",
        stack_check=_owner_enforced,
    ),
    Rule(
        "s3-lifecycle",
        "Buckets have a lifecycle configuration",
        "FSBP S3.13",
        stack_check=_lifecycle,
        level=ADVISORY,
    ),
]
