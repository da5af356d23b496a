"""Secret values for the program tests: realistic, so a leak is easy to spot in any output."""

from __future__ import annotations

from typing import Any

from infra.offline import Evaluation, RecordingMocks
from infra.offline import evaluate as evaluate_offline

SECRET_VALUES = {
    "database-password": "db-pa55-not-for-logs",
    "api-signing-key": "signing-key-not-for-logs",
    "chat-webhook": "https://chat.example.com/hooks/not-for-logs",
    "pager-webhook": "https://pager.example.com/v1/not-for-logs",
}


def evaluate(
    stack: str,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = SECRET_VALUES,
    mocks: RecordingMocks | None = None,
) -> Evaluation:
    return evaluate_offline(stack, overrides, secrets, mocks)


def is_private(run: Evaluation, name: str) -> bool:
    """The bucket controls ``name`` registered block every kind of public access and leave
    objects to the bucket owner."""
    [block] = [
        r.inputs
        for r in run.mocks.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        if r.name == name
    ]
    [owner] = [
        r.inputs
        for r in run.mocks.of_type("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
        if r.name == name
    ]
    public = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    return all(block[k] is True for k in public) and owner["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }


def arn_of(run: Evaluation, name: str, type_: str) -> str:
    """The ARN the mock runtime gave the resource ``name`` of type ``type_``."""
    return str(run.mocks.named(name, type_).outputs["arn"])
