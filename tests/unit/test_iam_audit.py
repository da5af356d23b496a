"""`make audit`'s IAM step: each check finds what it is for, and the stacks' policies pass."""

from __future__ import annotations

from typing import Any

import pytest

from policy.iam_actions import condition_keys, overlap, takes, takes_no_resource
from policy.iam_audit import (
    ACCEPTED,
    Document,
    audit,
    cloudsplaining_findings,
    needless_stars,
    parliament_findings,
    stale,
    unreachable_resources,
)
from policy.supply_chain import MANIFEST_CHECKS_ACCEPTED, manifest_findings


def document(*statements: dict[str, Any]) -> Document:
    return Document(
        "staging", "test-policy", {"Version": "2012-10-17", "Statement": list(statements)}
    )


def allow(action: str | list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Sid": "S", "Effect": "Allow", "Action": action, "Resource": resource}


def test_the_reference_knows_what_takes_no_resource_and_which_keys_apply() -> None:
    assert takes_no_resource("eks:CreateCluster")
    assert takes_no_resource("sns:Unsubscribe")
    assert not takes_no_resource("eks:CreateNodegroup")
    # kms:ResourceAliases belongs to the key resource, not to the action itself
    assert "kms:resourcealiases" in condition_keys("kms:DisableKey")


def test_wildcards_meet_when_some_arn_matches_both() -> None:
    assert overlap("arn:aws:logs:r:1:log-group:x:*", "arn:*:logs:*:*:log-group:*:log-stream:*")
    assert not overlap("arn:aws:logs:r:1:log-group:x", "arn:*:logs:*:*:log-group:*:log-stream:*")
    assert takes("s3:PutObjectAcl", "arn:aws:s3:::audit-bucket*")
    assert not takes("s3:PutObjectAcl", "arn:aws:sns:r:1:topic")


def test_an_action_named_on_an_arn_it_cannot_take_is_found() -> None:
    found = unreachable_resources(
        document(
            allow("sns:Unsubscribe", "arn:aws:sns:eu-west-1:123456789012:t"),
            allow("eks:CreateCluster", "*"),
            allow("sns:Publish", "arn:aws:sns:eu-west-1:123456789012:t"),
        )
    )
    assert [f.detail.split(" in ")[0] for f in found] == ["Allow sns:Unsubscribe"]


def test_a_star_where_the_action_takes_a_resource_is_found_unless_conditioned() -> None:
    found = needless_stars(
        document(
            allow("s3:GetObject", "*"),
            allow("ec2:DescribeVpcs", "*"),
            {**allow("ec2:CreateTags", "*"), "Condition": {"StringEquals": {"a": "b"}}},
        )
    )
    assert [f.detail.split(" in ")[0] for f in found] == ["s3:GetObject"]


def test_cloudsplaining_finds_a_role_that_can_pass_itself_to_code() -> None:
    found = cloudsplaining_findings(
        document(allow(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"], "*"))
    )
    assert "PrivilegeEscalation" in {f.kind for f in found}


def test_parliament_findings_its_stale_table_invents_are_dismissed() -> None:
    assert stale("UNKNOWN_PREFIX", "Unknown prefix bedrock-agentcore")
    assert stale("UNKNOWN_ACTION", "Unknown action elasticloadbalancing:ModifyIpPools")
    assert stale(
        "UNKNOWN_CONDITION_FOR_ACTION",
        "Unknown condition kms:ResourceAliases for action kms:DisableKey",
    )
    assert not stale("UNKNOWN_ACTION", "Unknown action s3:MakeMeAdmin")
    found, _ = parliament_findings(document(allow("s3:MakeMeAdmin", "*")))
    assert [f.kind for f in found] == ["UNKNOWN_ACTION"]


def test_every_accepted_finding_says_why() -> None:
    assert all(len(reason) > 60 for reason in ACCEPTED.values())
    assert all(len(reason) > 60 for reason in MANIFEST_CHECKS_ACCEPTED.values())


@pytest.mark.parametrize("stack", ["staging"])
def test_the_stacks_policies_have_no_unaccepted_finding(stack: str) -> None:
    report = audit([stack])
    assert report.documents > 10
    assert [str(f) for f in report.findings] == []


def test_checkovs_failed_checks_are_named_and_accepted_ones_left_out() -> None:
    # The JSON shape of checkov 3.3.30's `--framework kubernetes --output json` (one framework:
    # an object; several: a list of them).
    report = {
        "check_type": "kubernetes",
        "results": {
            "passed_checks": [],
            "failed_checks": [
                {"check_id": "CKV_K8S_43", "check_name": "Image should use digest",
                 "resource": "Deployment.web.web-blue"},
                {"check_id": "CKV2_K8S_6", "check_name": "NetworkPolicy",
                 "resource": "Pod.web.web-blue"},
            ],
        },
    }  # fmt: skip
    assert manifest_findings(report, MANIFEST_CHECKS_ACCEPTED) == [
        "CKV_K8S_43 (Image should use digest) on Deployment.web.web-blue"
    ]
    assert manifest_findings([report], {**MANIFEST_CHECKS_ACCEPTED, "CKV_K8S_43": "x"}) == []
