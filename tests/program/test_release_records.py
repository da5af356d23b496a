"""The release records bucket the CI driver writes to, under Pulumi mocks for every stack."""

from __future__ import annotations

import json

import pytest

from delivery.config.stackfile import load_stack
from infra.offline import Evaluation
from tests.program.harness import evaluate, is_private


@pytest.fixture(scope="module", params=("dev", "prod"))
def run(request: pytest.FixtureRequest) -> tuple[str, Evaluation]:
    return request.param, evaluate(request.param)


def test_records_are_versioned_encrypted_with_the_key_and_private(
    run: tuple[str, Evaluation],
) -> None:
    stack, evaluation = run
    mocks = evaluation.mocks
    assert mocks.named("records").type == "switchyard:records:ReleaseRecords"
    bucket = mocks.named("records-bucket")
    assert bucket.inputs["bucketPrefix"] == f"switchyard-{stack}-releases-"
    assert evaluation.exports["releaseRecordsBucket"].startswith(f"switchyard-{stack}-releases-")
    versioning = mocks.named("records-versioning").inputs["versioningConfiguration"]
    assert versioning["status"] == "Enabled"
    [rule] = mocks.named("records-encryption").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    key_arn = rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]
    assert key_arn == mocks.named("secrets-key", "aws:kms/key:Key").outputs["arn"]
    assert is_private(evaluation, "records-access")
    [deny] = json.loads(mocks.named("records-policy").inputs["policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"]["Bool"]["aws:SecureTransport"] == "false"


def test_prod_keeps_its_records_through_a_destroy(run: tuple[str, Evaluation]) -> None:
    stack, evaluation = run
    prod = load_stack(stack).environment == "prod"
    assert evaluation.mocks.options["records-bucket"].protect is prod
    assert evaluation.mocks.named("records-bucket").inputs["forceDestroy"] is (not prod)


def test_the_driver_finds_the_load_balancer_for_its_baseline(run: tuple[str, Evaluation]) -> None:
    _, evaluation = run
    assert ":loadbalancer/app/" in evaluation.exports["loadBalancerArn"]
