"""A first real `pulumi up` on EKS, under the mock runtime: who reaches the Kubernetes API, the
add-ons' configuration, the controllers' install order. Each assertion names the resource and
the input or option it checks."""

from __future__ import annotations

from typing import Any

from delivery.config.model import BOOTSTRAP_TAG
from infra.offline import Evaluation
from tests.program.harness import evaluate

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
RUNNER_SG = "sg-0123456789abcdef0"


def api_rules(run: Evaluation) -> list[dict[str, Any]]:
    return [r.inputs for r in run.mocks.of_type(INGRESS) if r.name.startswith("cluster-api-")]


def test_a_private_cluster_admits_the_configured_runners_on_443() -> None:
    run = evaluate(
        "prod",
        {
            "switchyard:clusterApiAccessSecurityGroupIds": [RUNNER_SG],
            "switchyard:clusterApiAccessCidrs": ["10.99.0.0/16"],
        },
    )
    rules = api_rules(run)
    assert [r.get("referencedSecurityGroupId") or r.get("cidrIpv4") for r in rules] == [
        "10.99.0.0/16",
        RUNNER_SG,
    ]
    for rule in rules:
        assert rule["securityGroupId"] == "sg-cluster"  # the cluster's own group
        assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 443, 443)
    vpc = run.mocks.named("cluster-eks").inputs["vpcConfig"]
    assert vpc["endpointPublicAccess"] is False
    provider = run.mocks.options["cluster-k8s"]
    assert provider.waits_for("cluster-api-from-" + RUNNER_SG), "the API is reachable first"


def test_without_configured_access_no_rule_opens_the_api() -> None:
    assert api_rules(evaluate("staging")) == []


def test_the_bootstrap_address_opens_the_public_endpoint_to_it_alone_and_is_tagged() -> None:
    run = evaluate("prod", {"switchyard:clusterBootstrapCidr": "81.2.69.142/32"})
    eks = run.mocks.named("cluster-eks").inputs
    assert eks["vpcConfig"]["endpointPublicAccess"] is True
    assert eks["vpcConfig"]["endpointPrivateAccess"] is True
    assert eks["vpcConfig"]["publicAccessCidrs"] == ["81.2.69.142/32"]
    assert eks["tags"][BOOTSTRAP_TAG] == "81.2.69.142/32"
    assert BOOTSTRAP_TAG not in (
        evaluate("prod").mocks.named("cluster-eks").inputs.get("tags") or {}
    )
