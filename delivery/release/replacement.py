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

# pulumi-kubernetes' forceNewProperties (provider/pkg/provider/diff.go at 94977969): by API
# group ("" and "core" alike), version and kind; every object adds .metadata.name and
# .metadata.namespace. A Secret replaces on .type, .stringData and .data, a ConfigMap on .data
# and .binaryData (the provider's enableSecretMutable and enableConfigMapMutable are false
# unless set: this assumes the defaults).
_METADATA: Final = (".metadata.name", ".metadata.namespace")
_SELECTOR: Final = (
    ".spec.selector",
    ".spec.selector.matchExpressions",
    ".spec.selector.matchLabels",
)
_CONTAINER_FIELDS: Final = (
    "args",
    "command",
    "env",
    "image",
    "imagePullPolicy",
    "lifecycle",
    "livenessProbe",
    "ports",
    "readinessProbe",
    "resources",
    "securityContext",
    "stdin",
    "stdinOnce",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "tty",
    "volumeDevices",
    "volumeMounts",
    "workingDir",
)
_POD_FIELDS: Final = (
    "affinity",
    "automountServiceAccountToken",
    "dnsConfig",
    "dnsPolicy",
    "enableServiceLinks",
    "hostAliases",
    "hostIPC",
    "hostNetwork",
    "hostPID",
    "hostname",
    "imagePullSecrets",
    "nodeName",
    "nodeSelector",
    "overhead",
    "preemptionPolicy",
    "priority",
    "priorityClassName",
    "readinessGates",
    "restartPolicy",
    "runtimeClassName",
    "schedulerName",
    "securityContext",
    "serviceAccount",
    "serviceAccountName",
    "shareProcessNamespace",
    "subdomain",
    "terminationGracePeriodSeconds",
    "volumes",
)
_POD: Final = (
    *(f".spec.{field}" for field in _POD_FIELDS),
    *(f".spec.{c}[*].{f}" for c in ("containers", "initContainers") for f in _CONTAINER_FIELDS),
)
_PERSISTENT_VOLUME: Final = tuple(
    f".spec.{source}"
    for source in (
        [
            "awsElasticBlockStore",
            "azureDisk",
            "azureFile",
            "cephfs",
            "cinder",
            "csi",
            "fc",
            "flexVolume",
            "flocker",
            "gcePersistentDisk",
            "glusterfs",
            "hostPath",
            "iscsi",
            "local",
            "nfs",
            "photonPersistentDisk",
            "portworxVolume",
            "quobyte",
            "rbd",
            "scaleIO",
            "storageos",
            "vsphereVolume",
        ]
    )
)
_STATEFUL_SET: Final = (
    ".spec.podManagementPolicy",
    ".spec.revisionHistoryLimit",
    ".spec.serviceName",
    ".spec.volumeClaimTemplates",
    *_SELECTOR,
)
_JOB: Final = (".spec.completions", ".spec.parallelism", ".spec.template", *_SELECTOR)
_ROLE_BINDING: Final = {"ClusterRoleBinding": (".roleRef",), "RoleBinding": (".roleRef",)}
_APPS: Final = {"DaemonSet": _SELECTOR, "Deployment": _SELECTOR, "StatefulSet": _STATEFUL_SET}
_CORE: Final = {
    "v1": {
        "PersistentVolume": _PERSISTENT_VOLUME,
        "PersistentVolumeClaim": (
            ".spec.accessModes",
            ".spec.storageClassName",
            ".spec.volumeName",
            *_SELECTOR,
        ),
        "Pod": _POD,
        "ResourceQuota": (".spec.scopes",),
        "Secret": (".type",),
        "Service": (".spec.clusterIP",),
    }
}
KUBERNETES_FORCE_NEW: Final[Mapping[str, Mapping[str, Mapping[str, tuple[str, ...]]]]] = {
    "apps": {
        "v1beta1": {"StatefulSet": _STATEFUL_SET},
        "v1beta2": _APPS,
        "v1": _APPS,
    },
    "core": _CORE,
    "": _CORE,
    "policy": {"v1beta1": {"PodDisruptionBudget": (".spec",)}},
    "rbac.authorization.k8s.io": dict.fromkeys(("v1alpha1", "v1beta1", "v1"), _ROLE_BINDING),
    "storage.k8s.io": {"v1": {"StorageClass": (".parameters", ".provisioner")}},
    "batch": {v: {"Job": _JOB} for v in ("v1beta1", "v1", "v2alpha1")},
}
_SECRET_DATA: Final = (".type", ".stringData", ".data")
_CONFIG_MAP_DATA: Final = (".binaryData", ".data")
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


def kubernetes_force_new(manifest: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields whose change replaces this object, as pulumi-kubernetes' forceNewProperties
    lists them for its group, version and kind."""
    group, _, version = str(manifest.get("apiVersion", "")).rpartition("/")
    kind = str(manifest.get("kind", ""))
    kinds = KUBERNETES_FORCE_NEW.get(group, {}).get(version)
    if kinds is None:
        return _METADATA
    if kind == "Secret":
        return (*_METADATA, *_SECRET_DATA)
    if kind in kinds:
        return (*_METADATA, *kinds[kind])
    if kind == "ConfigMap":
        return (*_METADATA, *_CONFIG_MAP_DATA)
    return _METADATA


def _kubernetes_replacing(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(
        field.lstrip(".")
        for field in kubernetes_force_new(new)
        if _at(old, _path(field)) != _at(new, _path(field))
    )


def _path(field: str) -> tuple[str, ...]:
    return tuple(field.lstrip(".").split("."))


def _at(inputs: Any, path: Sequence[str]) -> Any:
    """The value at ``path``; a part ending in ``[*]`` is a list whose items' rest is taken."""
    value: Any = inputs
    for index, part in enumerate(path):
        if not isinstance(value, Mapping):
            return value  # a list or a scalar: compared whole, one level up
        if part.endswith("[*]"):
            items = value.get(part[:-3])
            if not isinstance(items, list):
                return items
            return tuple(_at(item, path[index + 1 :]) for item in items)
        value = value.get(part)
    return value
