"""What AWS accepts, for the values that reach it from the stack configuration.

Each rule says why a value would fail in AWS (or build something other than intended), so the
settings reader can reject it by key before anything is created. Documents whose size AWS
limits (the secrets read policy) are built here too, so the component and the check measure
the same text.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any, Final

from delivery.config.regions import partition_of

TAG_VALUE_MAX: Final = 256
SECURITY_GROUP_INBOUND_RULES: Final = 60  # default quota of inbound rules per security group
MANAGED_POLICY_CHARACTERS: Final = 6144  # IAM counts every character except whitespace
HEALTH_CHECK_PATH_MAX: Final = 1024
DNS_LABEL_MAX: Final = 63
_TAG_PUNCTUATION: Final = frozenset("_.:/=+-@")
_UUID: Final = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ACM_CERTIFICATE: Final = re.compile(
    rf"arn:(?P<partition>aws[a-z-]*):acm:(?P<region>[a-z0-9-]+):\d{{12}}:certificate/{_UUID}\Z",
    re.ASCII,
)
LAMBDA_FUNCTION: Final = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z0-9-]+):\d{12}:function:[A-Za-z0-9_-]{1,64}\Z",
    re.ASCII,
)
DNS_1035_LABEL: Final = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?\Z")
DNS_1123_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
# RFC 3986 path characters, ASCII only: what an HTTP health check can request.
URL_PATH: Final = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*\Z")


def tag_value_problem(value: str) -> str | None:
    """Why AWS would refuse ``value`` as a tag value, or None. It tags every resource."""
    if len(value) > TAG_VALUE_MAX:
        return f"must be at most {TAG_VALUE_MAX} characters (an AWS tag value), got {len(value)}"
    bad = sorted(
        {c for c in value if unicodedata.category(c)[0] not in "LZN" and c not in _TAG_PUNCTUATION}
    )
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        return (
            f"is tagged on every resource, and AWS tag values allow only letters, digits, "
            f"spaces and _ . : / = + - @; remove {shown}"
        )
    return None


def region_of_arn_problem(found: re.Match[str], region: str, where: str, fix: str) -> str | None:
    """Why a regional ARN (``found`` by a pattern with ``partition`` and ``region`` groups)
    cannot serve a stack in ``region``, or None. ``where`` says what must share the stack's
    region; ``fix`` what to do instead."""
    expected = partition_of(region)
    if found["partition"] != expected:
        return (
            f"is in partition {found['partition']}, but the stack's region {region} is in "
            f"partition {expected} (its ARNs start arn:{expected}:), and {where}; {fix}"
        )
    if found["region"] != region:
        return f"is in {found['region']}, but {where}; {fix}"
    return None


def secrets_read_policy(key_arn: str, secret_arns: Sequence[str], region: str) -> dict[str, Any]:
    """Read exactly these secrets, and decrypt them through Secrets Manager only."""
    statements: list[dict[str, Any]] = []
    if secret_arns:
        statements.append(
            {
                "Sid": "ReadThisEnvironmentsSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": sorted(secret_arns),
            }
        )
    statements.append(
        {
            "Sid": "DecryptThroughSecretsManagerOnly",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key_arn,
            "Condition": {
                "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
            },
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}


def policy_characters(document: dict[str, Any]) -> int:
    """The size IAM measures a managed policy by: its JSON without whitespace."""
    return len(re.sub(r"\s", "", json.dumps(document)))


def worst_case_read_policy(region: str, name_prefix: str, names: Sequence[str]) -> int:
    """The read policy's size for these names with the longest ARNs AWS can give them."""
    partition, account = partition_of(region), "0" * 12
    key = f"arn:{partition}:kms:{region}:{account}:key/{'0' * 36}"  # a key id is a UUID
    secrets = [
        f"arn:{partition}:secretsmanager:{region}:{account}:secret:{name_prefix}/{n}-XXXXXX"
        for n in names
    ]
    return policy_characters(secrets_read_policy(key, secrets, region))
