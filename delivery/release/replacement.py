"""Which changed inputs force a new resource, judged without a provider: the offline preview.

AWS resources: the create-only properties of their CloudFormation resource schemas, as cfn-lint
ships them (``cfnlint.schema``), under the CloudFormation type and property names that
``AWS_TYPES`` maps the Pulumi ones to. pulumi-aws decides by the Terraform provider's ForceNew,
which mostly agrees and sometimes does not: the real preview is authoritative.

Kubernetes objects: the fields pulumi-kubernetes replaces on (``forceNewProperties`` in its
provider/pkg/provider/diff.go): ``.metadata.name`` and ``.metadata.namespace`` of every object,
and per kind the fields below. A type with no rule is "not judged", never "an update".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

# Pulumi type -> (CloudFormation type, {Pulumi input: CloudFormation property} where the
# names are not the same words; the rest are the Pulumi name with its first letter raised).
AWS_TYPES: Final[Mapping[str, tuple[str, Mapping[str, str]]]] = {
    "aws:ec2/vpc:Vpc": ("AWS::EC2::VPC", {}),
    "aws:ec2/subnet:Subnet": ("AWS::EC2::Subnet", {}),
    "aws:ec2/eip:Eip": ("AWS::EC2::EIP", {}),
    "aws:ec2/natGateway:NatGateway": ("AWS::EC2::NatGateway", {"privateIp": "PrivateIpAddress"}),
    "aws:ec2/routeTable:RouteTable": ("AWS::EC2::RouteTable", {}),
    "aws:ec2/route:Route": ("AWS::EC2::Route", {}),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": (
        "AWS::EC2::SubnetRouteTableAssociation",
        {},
    ),
    "aws:ec2/internetGateway:InternetGateway": ("AWS::EC2::InternetGateway", {}),
    "aws:ec2/securityGroup:SecurityGroup": (
        "AWS::EC2::SecurityGroup",
        {"name": "GroupName", "description": "GroupDescription"},
    ),
    "aws:ec2/launchTemplate:LaunchTemplate": (
        "AWS::EC2::LaunchTemplate",
        {"name": "LaunchTemplateName"},
    ),
    "aws:ec2/flowLog:FlowLog": (
        "AWS::EC2::FlowLog",
        {"vpcId": "ResourceId", "iamRoleArn": "DeliverLogsPermissionArn"},
    ),
    "aws:eks/cluster:Cluster": ("AWS::EKS::Cluster", {}),
    "aws:eks/nodeGroup:NodeGroup": (
        "AWS::EKS::Nodegroup",
        {"nodeGroupName": "NodegroupName", "nodeRoleArn": "NodeRole", "subnetIds": "Subnets"},
    ),
    "aws:eks/addon:Addon": ("AWS::EKS::Addon", {}),
    "aws:eks/accessEntry:AccessEntry": ("AWS::EKS::AccessEntry", {}),
    "aws:lb/loadBalancer:LoadBalancer": (
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {"loadBalancerType": "Type", "internal": "Scheme"},
    ),
    "aws:lb/targetGroup:TargetGroup": ("AWS::ElasticLoadBalancingV2::TargetGroup", {}),
    "aws:lb/listener:Listener": (
        "AWS::ElasticLoadBalancingV2::Listener",
        {"loadBalancerArn": "LoadBalancerArn"},
    ),
    "aws:s3/bucket:Bucket": (
        "AWS::S3::Bucket",
        {"bucket": "BucketName", "bucketPrefix": "BucketNamePrefix"},
    ),
    "aws:sns/topic:Topic": ("AWS::SNS::Topic", {"name": "TopicName"}),
    "aws:sns/topicSubscription:TopicSubscription": (
        "AWS::SNS::Subscription",
        {"topic": "TopicArn"},
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("AWS::CloudWatch::Alarm", {"name": "AlarmName"}),
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": ("AWS::CloudWatch::CompositeAlarm", {}),
    "aws:cloudwatch/logGroup:LogGroup": ("AWS::Logs::LogGroup", {"name": "LogGroupName"}),
    "aws:cloudwatch/dashboard:Dashboard": ("AWS::CloudWatch::Dashboard", {}),
    "aws:kms/key:Key": ("AWS::KMS::Key", {}),
    "aws:kms/alias:Alias": ("AWS::KMS::Alias", {"name": "AliasName"}),
    "aws:iam/role:Role": ("AWS::IAM::Role", {"name": "RoleName"}),
    "aws:iam/policy:Policy": ("AWS::IAM::ManagedPolicy", {"name": "ManagedPolicyName"}),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("AWS::IAM::OIDCProvider", {}),
    "aws:secretsmanager/secret:Secret": ("AWS::SecretsManager::Secret", {}),
    "aws:cloudtrail/trail:Trail": ("AWS::CloudTrail::Trail", {"name": "TrailName"}),
    "aws:wafv2/webAcl:WebAcl": ("AWS::WAFv2::WebACL", {}),
    "aws:ssmcontacts/contact:Contact": ("AWS::SSMContacts::Contact", {}),
    "aws:ssmincidents/responsePlan:ResponsePlan": ("AWS::SSMIncidents::ResponsePlan", {}),
}
SCHEMA_REGION: Final = "us-east-1"  # every resource type's schema is published there

# pulumi-kubernetes' forceNewProperties, for the kinds a stack declares (diff.go: `forceNew`).
_METADATA: Final = (".metadata.name", ".metadata.namespace")
_SELECTOR: Final = (".spec.selector",)
KUBERNETES_KINDS: Final[Mapping[tuple[str, str], tuple[str, ...]]] = {
    ("apps/v1", "Deployment"): _SELECTOR,
    ("apps/v1", "DaemonSet"): _SELECTOR,
    ("batch/v1", "Job"): (".spec.completions", ".spec.parallelism", *_SELECTOR, ".spec.template"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): (".roleRef",),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): (".roleRef",),
    ("v1", "Service"): (".spec.clusterIP",),
    ("v1", "Secret"): (".type",),
}
_KUBERNETES_OBJECT: Final = "kubernetes:"
_HELM: Final = "kubernetes:helm.sh/"  # a Helm release is no object: no rule


@dataclass(frozen=True)
class Judgement:
    """``replacing``: the changed inputs that force a new resource; ``judged``: whether a rule
    covers the type (False: offline cannot tell an update from a replacement)."""

    replacing: tuple[str, ...]
    judged: bool


def judge(type_: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Judgement:
    if type_ in AWS_TYPES:
        return Judgement(_aws_replacing(type_, old, new), True)
    if type_.startswith(_KUBERNETES_OBJECT) and not type_.startswith(_HELM):
        return Judgement(_kubernetes_replacing(old, new), True)
    return Judgement((), False)


def create_only(type_: str) -> tuple[tuple[str, ...], ...]:
    """The Pulumi input paths of ``type_``'s create-only CloudFormation properties."""
    cfn_type, renames = AWS_TYPES[type_]
    back = {cfn: pulumi for pulumi, cfn in renames.items()}
    paths = []
    for pointer in _schema(cfn_type).get("createOnlyProperties", ()):
        top, *rest = pointer.removeprefix("/properties/").split("/")
        head = back.get(top, top[:1].lower() + top[1:])
        paths.append((head, *(part[:1].lower() + part[1:] for part in rest)))
    return tuple(paths)


@cache
def _schema(cfn_type: str) -> Mapping[str, Any]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema: Mapping[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(
        SCHEMA_REGION, cfn_type
    ).schema
    return schema


def cfn_properties(cfn_type: str) -> frozenset[str]:
    return frozenset(_schema(cfn_type).get("properties", {}))


def _aws_replacing(type_: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(".".join(path) for path in create_only(type_) if _at(old, path) != _at(new, path))


def _kubernetes_replacing(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    kind = (str(new.get("apiVersion", "")), str(new.get("kind", "")))
    fields = (*_METADATA, *KUBERNETES_KINDS.get(kind, ()))
    return tuple(
        field.lstrip(".") for field in fields if _at(old, _path(field)) != _at(new, _path(field))
    )


def _path(field: str) -> tuple[str, ...]:
    return tuple(field.lstrip(".").split("."))


def _at(inputs: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = inputs
    for part in path:
        if not isinstance(value, Mapping):
            return value  # a list or a scalar: compared whole, one level up
        value = value.get(part)
    return value
