"""The whole pack over each stack's mock-runtime graph: what `make policy` reports."""

from __future__ import annotations

import pytest

from delivery.config.stackfile import available_stacks
from infra.offline import Evaluation
from policy.offline import main, run_pack
from tests.program.harness import evaluate

STACKS = available_stacks()


@pytest.fixture(scope="module", params=STACKS)
def graph(request: pytest.FixtureRequest) -> tuple[str, Evaluation]:
    return request.param, evaluate(request.param)


@pytest.fixture(scope="module")
def prod() -> Evaluation:
    return evaluate("prod")


def test_no_stack_violates_a_mandatory_rule(graph: tuple[str, Evaluation]) -> None:
    _, run = graph
    mandatory = [v.message for v in run_pack(run.mocks.nodes) if v.mandatory]
    assert mandatory == []


def test_prod_departs_from_nothing(graph: tuple[str, Evaluation]) -> None:
    stack, run = graph
    advisories = [v for v in run_pack(run.mocks.nodes) if not v.mandatory]
    if stack == "prod":
        assert advisories == []
    else:  # each departure is one the rule declares for this environment
        assert all(f"(advisory in {stack}: " in v.message for v in advisories)


@pytest.mark.parametrize(
    ("removed", "policy", "named"),
    [
        (
            "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
            "ec2-default-security-group-closed",
            "network-vpc",
        ),
        ("aws:wafv2/webAclAssociation:WebAclAssociation", "elb-waf", "traffic-alb"),
        ("aws:s3/bucketVersioning:BucketVersioning", "s3-versioning", "traffic-access-logs"),
        ("aws:sns/topicPolicy:TopicPolicy", "sns-topic-policy", "alerting-critical"),
        ("aws:cloudtrail/trail:Trail", "cloudtrail-secret-reads-audited", "secrets-"),
    ],
)
def test_the_pack_sees_the_real_graphs_wiring(
    prod: Evaluation, removed: str, policy: str, named: str
) -> None:
    nodes = [n for n in prod.mocks.nodes if n.type != removed]
    found = [v for v in run_pack(nodes) if v.policy == policy]
    assert found and all(v.mandatory for v in found)
    assert any(f"'{named}" in v.message for v in found)


def test_make_policy_prints_each_stack_and_fails_only_on_mandatory(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["dev", "prod"]) == 0
    out = capsys.readouterr().out
    assert "stack prod: " in out and "0 mandatory and 0 advisory" in out
    assert "stack dev: " in out and "advisory  elb-https-listeners-relaxed" in out


def test_an_unknown_stack_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["qa"]) == 2
    assert "no stack file Pulumi.qa.yaml" in capsys.readouterr().err
