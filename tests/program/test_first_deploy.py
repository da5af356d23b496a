"""A first real `pulumi up` on EKS, under the mock runtime: who reaches the Kubernetes API, the
add-ons' configuration, the controllers' install order. Each assertion names the resource and
the input or option it checks."""

from __future__ import annotations

import json
from typing import Any

import yaml

from components.cluster import controller_crds
from delivery.config.model import BOOTSTRAP_TAG
from delivery.config.stackfile import load_stack
from infra.offline import Evaluation
from tests.program.addon_render import (
    chart_defaults,
    controller_chart_defaults,
    helm_merge,
    injected_languages,
    unknown_keys,
)
from tests.program.harness import evaluate
from tests.program.manifests import TGB_CRD

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


# -- the CloudWatch Observability add-on ------------------------------------------------------


def cloudwatch_configuration(run: Evaluation) -> dict[str, Any]:
    (addon,) = [
        a
        for a in run.mocks.of_type("aws:eks/addon:Addon")
        if a.inputs["addonName"] == "amazon-cloudwatch-observability"
    ]
    configuration: dict[str, Any] = json.loads(addon.inputs["configurationValues"])
    return configuration


def test_the_operator_injects_nothing_into_the_workload_namespace() -> None:
    for stack in ("dev", "staging", "prod"):
        settings, run = load_stack(stack), evaluate(stack)
        configuration = cloudwatch_configuration(run)
        assert unknown_keys(configuration, chart_defaults()) == [], "keys the chart declares"
        namespace = settings.workload.namespace
        for colour in ("blue", "green"):
            deployment = f"{settings.workload.service_name}-{colour}"
            assert injected_languages(configuration, namespace, deployment, True) == set()


def test_the_chart_defaults_would_inject_every_language() -> None:
    # Without configuration values (today's add-on), a Deployment a Service selects gets all.
    assert injected_languages({}, "web", "web-blue", True) == {"java", "python", "dotnet", "nodejs"}
    custom = {
        "manager": {
            "applicationSignals": {
                "autoMonitor": {
                    "monitorAllServices": False,
                    "customSelector": {"java": {"deployments": ["web/web-blue"]}},
                }
            }
        }
    }
    assert injected_languages(custom, "web", "web-blue", True) == {"java"}


# -- the load balancer controller -------------------------------------------------------------


def controller_values(run: Evaluation) -> dict[str, Any]:
    (release,) = [
        r.inputs
        for r in run.mocks.of_type("kubernetes:helm.sh/v3:Release")
        if r.inputs["name"] == "aws-load-balancer-controller"
    ]
    values: dict[str, Any] = release["values"]
    return values


def test_the_controller_registers_no_service_webhook_and_survives_a_drain() -> None:
    values = controller_values(evaluate("prod"))
    assert unknown_keys(values, controller_chart_defaults()) == [], "keys the chart declares"
    # No mservice webhook: nothing the first install creates can race the controller's pods.
    assert values["enableServiceMutatorWebhook"] is False
    # A pod in the workload namespace never starts without its target-health gate.
    assert values["podMutatorWebhookConfig"]["failurePolicy"] == "Fail"
    # The chart renders the budget only with more than one replica (templates/pdb.yaml).
    assert values["replicaCount"] >= 2
    assert values["podDisruptionBudget"] == {"maxUnavailable": 1}


def test_the_workload_namespace_is_the_one_the_gate_webhook_selects() -> None:
    run = evaluate("prod")
    labels = run.mocks.named("workload-namespace").inputs["metadata"]["labels"]
    # templates/webhook.yaml's default namespaceSelector for mpod.elbv2.k8s.aws
    assert labels["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"


# -- instance metadata -------------------------------------------------------------------------


def test_pods_cannot_reach_the_node_role_and_nothing_we_run_needs_to() -> None:
    run = evaluate("prod")
    (template,) = run.mocks.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert template.inputs["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
    }
    # The CloudWatch agents read instance metadata from the host network, one hop: the
    # configuration may not take them off it (every entry of `agents` inherits `agent`).
    merged = helm_merge(chart_defaults(), cloudwatch_configuration(run))
    assert merged["agent"]["hostNetwork"] is True
    assert all(agent.get("hostNetwork", True) is True for agent in merged["agents"])
    # The controllers are told what they would otherwise ask instance metadata for.
    assert {"region", "vpcId"} <= controller_values(run).keys()
    (autoscaler,) = [
        r.inputs
        for r in run.mocks.of_type("kubernetes:helm.sh/v3:Release")
        if r.inputs["name"] == "cluster-autoscaler"
    ]
    assert autoscaler["values"]["awsRegion"] == load_stack("prod").region


def test_the_program_owns_the_controllers_crds_so_a_chart_bump_upgrades_them() -> None:
    """Helm installs a chart's crds/ once and never upgrades them; deleting the CRD would
    delete every TargetGroupBinding and deregister the pods."""
    run = evaluate("staging")
    crds = run.mocks.of_type("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition")
    names = {c.inputs["metadata"]["name"] for c in crds}
    assert names == {c["metadata"]["name"] for c in controller_crds()}
    assert (
        "targetgroupbindings.elbv2.k8s.aws" in names and "ingressclassparams.elbv2.k8s.aws" in names
    )
    for crd in crds:
        assert run.mocks.options[crd.name].retain_on_delete, crd.name
    (release,) = [
        r
        for r in run.mocks.of_type("kubernetes:helm.sh/v3:Release")
        if r.inputs["chart"] == "aws-load-balancer-controller"
    ]
    assert release.inputs["skipCrds"] is True
    assert all(run.mocks.options[release.name].waits_for(c.name) for c in crds)


def test_the_binding_schema_the_tests_validate_against_is_the_one_the_cluster_gets() -> None:
    (chart,) = [c for c in controller_crds() if c["metadata"]["name"].startswith("targetgroupb")]
    assert chart["spec"] == yaml.safe_load(TGB_CRD.read_text())["spec"]


def test_no_service_account_is_given_its_role_before_the_roles_policies_are_attached() -> None:
    """A pod assuming its IRSA role before the policy is attached starts with AccessDenied."""
    run = evaluate("staging")
    attachments = {
        n.name: n.urn
        for n in run.mocks.nodes
        if n.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    }
    node = {n.name: n for n in run.mocks.nodes}

    def waits(resource: str, attachment: str) -> bool:
        return attachments[attachment] in node[resource].dependencies

    assert waits("cluster-aws-load-balancer-controller", "cluster-load-balancer-controller-policy")
    assert waits(
        "cluster-aws-load-balancer-controller", "cluster-load-balancer-controller-attached-0"
    )
    assert waits("cluster-cluster-autoscaler", "cluster-cluster-autoscaler-policy")
    assert waits("workload-service-account", "workload-service-account-attached-0")


def test_the_controllers_wait_for_nodes_and_dns_not_for_the_cloudwatch_add_on() -> None:
    run = evaluate("staging")
    releases = run.mocks.of_type("kubernetes:helm.sh/v3:Release")
    assert releases
    for release in releases:
        options = run.mocks.options[release.name]
        assert options.waits_for("cluster-coredns"), release.name
        assert not options.waits_for("cluster-amazon-cloudwatch-observability"), release.name
