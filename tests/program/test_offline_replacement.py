"""The offline preview's table of what replaces an AWS resource (terraform_force_new.json,
from terraform-provider-aws) against every stack's graph: an input the table does not know is a
name mapped wrongly, which would judge nothing."""

from __future__ import annotations

import importlib
import inspect

import pytest

from delivery.release.replacement import terraform_rules
from infra.offline import graph
from tests.program.harness import evaluate

STACKS = ("dev", "staging", "prod")


@pytest.mark.parametrize("stack", STACKS)
def test_every_input_of_a_ruled_type_is_a_terraform_input_of_it(stack: str) -> None:
    rules = terraform_rules()
    unknown = {
        (resource["type"], name)
        for resource in graph(stack, evaluate(stack))["resources"].values()
        if resource["type"] in rules
        for name in resource["inputs"]
        if not name.startswith("__") and name not in rules[resource["type"]]["attributes"]
    }
    assert unknown == set()


def test_each_rule_names_where_it_was_read() -> None:
    for type_, rule in terraform_rules().items():
        assert rule["path"].startswith("internal/service/"), type_
        assert rule.get("commit") or rule.get("fileId"), type_


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


# Inputs of the pinned pulumi-aws (7.51) that the table, read from provider sources of other
# ages, does not hold: a change of one reads "not judged". A pulumi-aws upgrade that adds more
# fails the test below: read the new inputs' ForceNew into the table.
SDK_ONLY = {
    "aws:cloudwatch/logGroup:LogGroup": {"deletionProtectionEnabled"},
    "aws:cloudwatch/metricAlarm:MetricAlarm": {
        "evaluationCriteria",
        "evaluationInterval",
        "evaluationWindow",
        "warmUpConfiguration",
    },
    "aws:ec2/flowLog:FlowLog": {"tagFieldSpecifications"},
    "aws:ec2/launchTemplate:LaunchTemplate": {"networkPerformanceOptions", "secondaryInterfaces"},
    "aws:ec2/natGateway:NatGateway": {"availabilityMode", "availabilityZoneAddresses", "vpcId"},
    "aws:ec2/route:Route": {"odbNetworkArn"},
    "aws:eks/addon:Addon": {"namespaceConfig"},
    "aws:eks/cluster:Cluster": {
        "defaultAddonsToRemoves",
        "kubeApiServerConfig",
        "kubeControllerManagerConfig",
        "kubeSchedulerConfig",
    },
    "aws:eks/nodeGroup:NodeGroup": {"warmPoolConfig"},
    "aws:iam/policy:Policy": {"delayAfterPolicyCreationInMs"},
    "aws:lb/loadBalancer:LoadBalancer": {
        "enablePrefixForIpv6SourceNat",
        "healthCheckLogs",
        "secondaryIpsAutoAssignedPerSubnet",
    },
    "aws:lb/targetGroup:TargetGroup": {"targetControlPort"},
    "aws:s3/bucket:Bucket": {"bucketNamespace"},
    "aws:secretsmanager/secret:Secret": {"type"},
    "aws:sns/topic:Topic": {"maximumMessageSize"},
    "aws:wafv2/webAcl:WebAcl": {"monetizationConfig"},
}
# Inputs the table read that the pinned SDK no longer has (removed upstream since).
TABLE_ONLY = {
    "aws:ec2/launchTemplate:LaunchTemplate": {
        "elasticGpuSpecifications",
        "elasticInferenceAccelerator",
    },
    "aws:ec2/route:Route": {"instanceId"},
}


@pytest.mark.parametrize("type_", sorted(terraform_rules()))
def test_the_table_names_the_pinned_sdks_inputs(type_: str) -> None:
    """pulumi-aws's own Python SDK is the list of a type's inputs, under the names the graph
    uses: the table must hold each, or say it does not."""
    _, module, cls = type_.split(":")
    resource = getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), cls)
    params = inspect.signature(resource._internal_init).parameters
    sdk = {_camel(p) for p in params} - {"Self", "resourceName", "opts", "Props"}
    sdk -= {"__self__", "resource_name", "__props__"}
    table = set(terraform_rules()[type_]["attributes"])
    assert sdk - table == SDK_ONLY.get(type_, set())
    assert table - sdk == TABLE_ONLY.get(type_, set())
