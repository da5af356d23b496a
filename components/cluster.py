"""EksCluster: the environment's Kubernetes cluster, its nodes, add-ons and controllers.

The control plane and the nodes live in the private subnets of every zone; the API endpoint is
private, and public only from ``clusterPublicAccessCidrs``. Secrets are envelope-encrypted
with the environment's KMS key; api, audit and authenticator logs go to CloudWatch Logs.
Access is granted only through access entries (authentication mode API) to the roles in
config. The AWS Load Balancer Controller registers pods in the ALB's target groups
(TargetGroupBinding); the Cluster Autoscaler grows the node groups with demand; metrics-server
feeds the pod autoscalers; the CloudWatch Observability add-on publishes the Container Insights
metrics the CPU and memory rollback alarms read.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml

from components.addons import (
    CLOUDWATCH_OBSERVABILITY,
    cloudwatch_observability_values,
    configuration_json,
)
from components.keys import LogGroupSpec, account_output, encrypted_log_group
from delivery.config.model import (
    BOOTSTRAP_TAG,
    CLUSTER_AUTOSCALER_CHARTS,
    CapacityType,
    ClusterSettings,
)
from delivery.config.nodes import NODE_AMI_TYPE
from delivery.config.regions import partition_of
from delivery.errors import ConfigError, Problem
from delivery.plans.iam import (
    AWS_MANAGED,
    load_balancer_guard_policy,
    scoped_autoscaler_policy,
    secrets_encryption_policy,
    service_account_trust_policy,
    service_trust_policy,
)

VENDORED: Final = Path(__file__).parent / "vendored"
LOAD_BALANCER_CONTROLLER: Final = {
    "chart": "aws-load-balancer-controller",
    "version": "3.5.0",  # app version v3.5.0: the vendored IAM policy and CRD
    "repo": "https://aws.github.io/eks-charts",
}
# aws/eks-charts stable/aws-load-balancer-controller at chart 3.5.0 (commit 5239609242f3):
# - enableServiceMutatorWebhook false: templates/webhook.yaml then registers no
#   mservice.elbv2.k8s.aws webhook (failurePolicy Fail), which on a first install refuses every
#   Service that metrics-server and the autoscaler create before the controller's pods are
#   ready (kubernetes-sigs/aws-load-balancer-controller#4140). The program uses no Service of
#   type LoadBalancer: the ALB is Pulumi's and pods join it through TargetGroupBindings.
# - podMutatorWebhookConfig.failurePolicy Fail: the readiness-gate webhook (mpod, only in
#   namespaces labelled elbv2.k8s.aws/pod-readiness-gate-inject=enabled) defaults to Ignore, which
#   admits a pod without its target-health gate while the webhook is down; then a rollout could
#   count it ready before the ALB does. Fail refuses the pod, and the Deployment retries.
# - two replicas and a PodDisruptionBudget (templates/pdb.yaml renders it only when
#   replicaCount > 1): a node drain keeps one webhook endpoint serving.
CONTROLLER_AVAILABILITY: Final = {
    "replicaCount": 2,
    "podDisruptionBudget": {"maxUnavailable": 1},
    "enableServiceMutatorWebhook": False,
    "podMutatorWebhookConfig": {"failurePolicy": "Fail"},
}
# The chart's crds/ (crds.yaml and gateway-crds.yaml; .helmignore leaves out kustomization.yaml),
# vendored unchanged. Helm installs crds/ on the first install only and never upgrades them
# (Helm docs, "Custom Resource Definitions": "There is no support at this time for upgrading or
# deleting CRDs using Helm"), so the program owns them and the chart skips them: a chart bump
# then updates the TargetGroupBinding schema with the controller that reads it.
CONTROLLER_CRDS: Final = (
    "aws-load-balancer-controller-chart-3.5.0-crds.yaml",
    "aws-load-balancer-controller-chart-3.5.0-gateway-crds.yaml",
)
CLUSTER_AUTOSCALER_REPO: Final = "https://kubernetes.github.io/autoscaler"
METRICS_SERVER: Final = {
    "chart": "metrics-server",
    "version": "3.13.1",  # app version 0.8.1
    "repo": "https://kubernetes-sigs.github.io/metrics-server/",
}
CONTROL_PLANE_LOGS: Final = ("api", "audit", "authenticator")
CLUSTER_ADMIN: Final = "arn:{partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
# Nodes pull images and join the cluster; the VPC CNI's own permissions go to its service
# account (IRSA), not to every pod's node.
NODE_POLICIES: Final = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly")
NODE_IMDS_HOP_LIMIT: Final = 1


# Upstream publishes the controller's policy once per partition (docs/install/iam_policy*.json at
# v3.5.0): they differ in more than the ARNs' partition, so each is vendored unchanged.
CONTROLLER_POLICIES: Final = {
    "aws": "aws-load-balancer-controller-v3.5.0-iam-policy.json",
    **{
        f"aws-{name}": f"aws-load-balancer-controller-v3.5.0-iam-policy_{suffix}.json"
        for name, suffix in {
            "cn": "cn",
            "us-gov": "us-gov",
            "iso": "iso",
            "iso-b": "isob",
            "iso-e": "isoe",
            "iso-f": "isof",
            "eusc": "eusc",
        }.items()
    },
}


@functools.cache
def controller_crds() -> tuple[dict[str, Any], ...]:
    """Every CustomResourceDefinition in the chart's crds/, as upstream wrote them."""
    found: list[dict[str, Any]] = []
    for name in CONTROLLER_CRDS:
        documents = yaml.safe_load_all((VENDORED / name).read_text())
        found += [d for d in documents if d and d.get("kind") == "CustomResourceDefinition"]
    return tuple(found)


def controller_policy(region: str) -> dict[str, Any]:
    """The load balancer controller's published policy for ``region``'s partition."""
    partition = partition_of(region)
    if partition not in CONTROLLER_POLICIES:
        reason = (
            f"is in partition {partition}, for which the load balancer controller v3.5.0 "
            "publishes no IAM policy; deploy to a region of the partitions "
            + ", ".join(sorted(CONTROLLER_POLICIES))
        )
        raise ConfigError([Problem("aws:region", reason)])
    return vendored_policy(CONTROLLER_POLICIES[partition])


def vendored_policy(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((VENDORED / name).read_text())
    return document


@dataclass(frozen=True)
class IrsaRole:
    role: aws.iam.Role
    arn: pulumi.Output[str]  # resolves once every policy of the role is attached


@dataclass(frozen=True)
class ServiceAccountRole:
    namespace: str
    service_account: str
    managed_policies: tuple[str, ...] = ()  # AWS managed policy names
    policy: pulumi.Input[str] | None = None  # a policy document of its own
    policy_arns: tuple[pulumi.Input[str], ...] = ()  # existing customer-managed policies


@dataclass(frozen=True)
class EksClusterArgs:
    settings: ClusterSettings
    cluster_name: str
    name_prefix: str
    region: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    workload_security_group_id: pulumi.Input[str]  # the group the ALB may reach, on every node
    kms_key_arn: pulumi.Input[str]
    log_retention_days: int
    protect: bool
    key_rotation_days: int = 365  # the control-plane logs' key
    permissions_boundary: pulumi.Input[str] = field(kw_only=True)
    workload_namespace: str = field(kw_only=True)  # kept free of injected instrumentation
    # The ALB and target groups the controller may register pods in but change nothing else of.
    load_balancer_arn: pulumi.Input[str] = field(kw_only=True)
    target_group_arns: Sequence[pulumi.Input[str]] = field(kw_only=True)


IAM_NAME_PREFIX_MAX = 38  # an IAM role's name is at most 64 characters; the provider adds 26


def iam_name_prefix(prefix: str, label: str) -> str:
    """``<prefix>-<label>-``, the label cut at a word to fit IAM's limit. The deploy role
    manages IAM roles and policies only under the environment's prefix, so every one the
    cluster declares is named under it."""
    room = max(1, IAM_NAME_PREFIX_MAX - len(prefix) - 2)
    kept: list[str] = []
    for word in label.split("-"):
        if len("-".join([*kept, word])) > room:
            break
        kept.append(word)
    return f"{prefix}-{'-'.join(kept) or label[:room]}-"


class EksCluster(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:cluster:EksCluster", name, None, opts)
        self._name = name
        self._args = args
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self.partition = aws.get_partition_output(opts=invoke).partition

        logs = encrypted_log_group(
            f"{name}-control-plane-logs",
            LogGroupSpec(
                f"/aws/eks/{args.cluster_name}/cluster",  # the group EKS writes to
                f"the EKS control-plane logs of {args.name_prefix}",
                f"{args.name_prefix}-eks-logs",
                args.log_retention_days,
                args.key_rotation_days,
            ),
            account_output(self, args.region),
            self,
        )
        role = aws.iam.Role(
            f"{name}-control-plane",
            name_prefix=iam_name_prefix(args.name_prefix, "eks"),
            permissions_boundary=args.permissions_boundary,
            assume_role_policy=service_trust_policy("eks.amazonaws.com", tag_session=True),
            opts=child,
        )
        attachments = self._attach(f"{name}-control-plane", role, ("AmazonEKSClusterPolicy",))
        encryption = aws.iam.RolePolicy(
            f"{name}-control-plane-kms",
            role=role.id,
            policy=pulumi.Output.from_input(args.kms_key_arn).apply(secrets_encryption_policy),
            opts=child,
        )
        public_cidrs = [str(c) for c in settings.public_endpoint_cidrs]
        bootstrap = settings.api.bootstrap_cidr
        self.cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=settings.kubernetes_version,
            role_arn=role.arn,
            vpc_config={
                "subnet_ids": list(args.private_subnet_ids),
                "endpoint_private_access": True,
                "endpoint_public_access": bool(public_cidrs),
                "public_access_cidrs": public_cidrs or None,
            },
            # Visible in the console and read by the policy pack until it is removed.
            tags={BOOTSTRAP_TAG: str(bootstrap)} if bootstrap else None,
            encryption_config={
                "provider": {"key_arn": args.kms_key_arn},
                "resources": ["secrets"],
            },
            enabled_cluster_log_types=list(CONTROL_PLANE_LOGS),
            access_config={
                "authentication_mode": "API",
                "bootstrap_cluster_creator_admin_permissions": False,
            },
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, depends_on=[logs, encryption, *attachments]
            ),
        )
        self.api_access_rules = self._admit_to_private_endpoint()
        self.access_entries = self._grant_access()
        issuer = self.cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)  # type: ignore[index]
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=["sts.amazonaws.com"],
            opts=child,
        )
        self.oidc_issuer: pulumi.Output[str] = issuer

        cni_role = self.service_account_role(
            f"{name}-vpc-cni",
            ServiceAccountRole("kube-system", "aws-node", ("AmazonEKS_CNI_Policy",)),
        )
        early_addons = [
            self._addon("vpc-cni", cni_role),
            self._addon("kube-proxy"),
        ]
        self.node_groups = self._node_groups(early_addons)
        cloudwatch_role = self.service_account_role(
            f"{name}-cloudwatch",
            ServiceAccountRole(
                "amazon-cloudwatch",
                "cloudwatch-agent",
                ("CloudWatchAgentServerPolicy", "AWSXrayWriteOnlyAccess"),
            ),
        )
        on_nodes = pulumi.ResourceOptions(depends_on=self.node_groups)
        late_addons = [
            self._addon("coredns", opts=on_nodes),
            self._addon(
                CLOUDWATCH_OBSERVABILITY,
                cloudwatch_role,
                on_nodes,
                configuration_json(cloudwatch_observability_values([args.workload_namespace])),
            ),
        ]

        self.kubeconfig = pulumi.Output.all(
            self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority.data
        ).apply(lambda v: kubeconfig(v[0], v[1], v[2], args.region))
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*self.access_entries, *self.api_access_rules]
            ),
        )
        self.nodes_and_dns: list[pulumi.Resource] = [*self.node_groups, late_addons[0]]
        # Not the CloudWatch add-on: the controllers need nodes and DNS only, and its operator's
        # pod and workload webhooks fail open (failurePolicy Ignore, chart 6.4.0 values.yaml
        # admissionWebhooks), so nothing of theirs races it; a slow or degraded add-on then no
        # longer holds back the load balancer controller the workloads wait for.
        ready = [*self.nodes_and_dns, *self.access_entries]
        self.load_balancer_controller = self._load_balancer_controller(ready)
        self._cluster_autoscaler(ready)
        self._metrics_server(ready)
        self.register_outputs(
            {
                "clusterName": self.cluster.name,
                "endpoint": self.cluster.endpoint,
                "oidcProviderArn": self.oidc_provider.arn,
            }
        )

    def _admit_to_private_endpoint(self) -> list[aws.vpc.SecurityGroupIngressRule]:
        """The private endpoint answers on 443 behind the cluster's security group, which EKS
        opens only to itself (EKS user guide, "Cluster API server endpoint": from a connected
        network the cluster security group must admit 443). In-VPC DNS resolves the endpoint
        to private addresses whenever private access is on, so a runner inside the VPC needs
        one of these rules even while the public endpoint is open (staging)."""
        api = self._args.settings.api
        group = self.cluster.vpc_config.cluster_security_group_id
        sources: list[tuple[str, str | None, str | None]] = [
            (f"cidr-{index}", str(net), None) for index, net in enumerate(api.cidrs)
        ]
        sources += [(sg, None, sg) for sg in api.security_groups]
        return [
            aws.vpc.SecurityGroupIngressRule(
                f"{self._name}-api-from-{label}",
                security_group_id=group,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                cidr_ipv4=cidr,
                referenced_security_group_id=source_group,
                description="Kubernetes API (private endpoint) for pulumi up and kubectl",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for label, cidr, source_group in sources
        ]

    # -- IAM ---------------------------------------------------------------------------------

    def _attach(
        self,
        name: str,
        role: aws.iam.Role,
        policies: Sequence[str],
        parent: pulumi.Resource | None = None,
    ) -> list[aws.iam.RolePolicyAttachment]:
        """Attach AWS managed policies, by name, to ``role``."""
        return [
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy}",
                role=role.name,
                policy_arn=self.partition.apply(functools.partial(_aws_managed, name=policy)),
                opts=pulumi.ResourceOptions(parent=parent or self),
            )
            for policy in policies
        ]

    def service_account_role(
        self, name: str, account: ServiceAccountRole, parent: pulumi.Resource | None = None
    ) -> IrsaRole:
        """A role that exactly one Kubernetes service account may assume (IRSA)."""
        child = pulumi.ResourceOptions(parent=parent or self)
        named = iam_name_prefix(self._args.name_prefix, account.service_account)
        role = aws.iam.Role(
            name,
            name_prefix=named,
            permissions_boundary=self._args.permissions_boundary,
            assume_role_policy=pulumi.Output.all(self.oidc_provider.arn, self.oidc_issuer).apply(
                lambda v: service_account_trust_policy(
                    v[0], v[1], account.namespace, account.service_account
                )
            ),
            opts=child,
        )
        attachments = self._attach(name, role, account.managed_policies, parent)
        for index, arn in enumerate(account.policy_arns):
            attachments.append(
                aws.iam.RolePolicyAttachment(
                    f"{name}-attached-{index}", role=role.name, policy_arn=arn, opts=child
                )
            )
        if account.policy is not None:
            document = aws.iam.Policy(
                f"{name}-policy", name_prefix=named, policy=account.policy, opts=child
            )
            attachments.append(
                aws.iam.RolePolicyAttachment(
                    f"{name}-policy", role=role.name, policy_arn=document.arn, opts=child
                )
            )
        # The ARN is handed out only once every policy is attached: a pod that assumes the role
        # earlier gets AccessDenied at start-up and crash-loops until a retry happens to win.
        ready = pulumi.Output.all(role.arn, *[a.id for a in attachments]).apply(lambda v: v[0])
        return IrsaRole(role, ready)

    def _grant_access(self) -> list[pulumi.Resource]:
        """Cluster administrators and the CI deploy role, through access entries only."""
        return [self.admit(str(index), arn) for index, arn in enumerate(self._principals())]

    def _principals(self) -> list[str]:
        settings = self._args.settings
        principals = [*settings.admin_role_arns]
        if settings.deploy_role_arn and settings.deploy_role_arn not in principals:
            principals.append(settings.deploy_role_arn)
        return principals

    def admits_role(self, role: str) -> bool:
        """Whether the configured principals already name the IAM role ``role``."""
        return any(arn.endswith(f":role/{role}") for arn in self._principals())

    def admit(
        self, label: str, principal_arn: pulumi.Input[str], groups: Sequence[str] = ()
    ) -> pulumi.Resource:
        """An access entry for ``principal_arn``: administering the cluster, or with ``groups``
        only what those Kubernetes groups are bound to (no access policy: the
        AmazonEKS*Policy ones are the `edit` and `admin` roles, which exec into pods, read
        Secrets and create Services; EKS user guide, "Create access entries")."""
        entry = aws.eks.AccessEntry(
            f"{self._name}-access-{label}",
            cluster_name=self.cluster.name,
            principal_arn=principal_arn,
            kubernetes_groups=list(groups) or None,
            type="STANDARD",
            opts=pulumi.ResourceOptions(parent=self),
        )
        if groups:
            return entry
        return aws.eks.AccessPolicyAssociation(
            f"{self._name}-access-{label}",
            cluster_name=self.cluster.name,
            principal_arn=entry.principal_arn,
            policy_arn=self.partition.apply(lambda p: CLUSTER_ADMIN.format(partition=p)),
            access_scope={"type": "cluster"},
            opts=pulumi.ResourceOptions(parent=self),
        )

    # -- nodes and add-ons -------------------------------------------------------------------

    def _addon(
        self,
        addon: str,
        role: IrsaRole | None = None,
        opts: pulumi.ResourceOptions | None = None,
        configuration: str | None = None,
    ) -> aws.eks.Addon:
        # The add-on's default version for the configured Kubernetes version: EKS never moves
        # an add-on when the cluster is upgraded ("Update an Amazon EKS add-on", EKS user
        # guide), so a kubernetesVersion bump moves each add-on with it (after the control
        # plane: the add-on depends on the cluster). DescribeAddonVersions, most_recent false.
        version = aws.eks.get_addon_version_output(
            addon_name=addon, kubernetes_version=self._args.settings.kubernetes_version.value
        ).version
        return aws.eks.Addon(
            f"{self._name}-{addon}",
            cluster_name=self.cluster.name,
            addon_name=addon,
            addon_version=version,
            service_account_role_arn=role.arn if role else None,
            configuration_values=configuration,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=self), opts),
        )

    def _node_groups(self, before: Sequence[pulumi.Resource]) -> list[aws.eks.NodeGroup]:
        """One managed node group per zone, so the autoscaler can keep the zones balanced."""
        args, nodes = self._args, self._args.settings.nodes
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{self._name}-nodes",
            name_prefix=iam_name_prefix(args.name_prefix, "nodes"),
            permissions_boundary=args.permissions_boundary,
            assume_role_policy=service_trust_policy("ec2.amazonaws.com"),
            opts=child,
        )
        attachments = self._attach(f"{self._name}-nodes", role, NODE_POLICIES)
        template = aws.ec2.LaunchTemplate(
            f"{self._name}-nodes",
            name_prefix=f"{args.name_prefix}-nodes-",
            # With security groups in the template EKS adds none: name the cluster's own
            # group (control plane <-> nodes) and the one the ALB may reach the pods through.
            vpc_security_group_ids=[
                self.cluster.vpc_config.cluster_security_group_id,
                args.workload_security_group_id,
            ],
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",  # IMDSv2 only
                # One hop: a pod in its own network namespace is a second hop, so it cannot
                # take the node role's credentials (EKS user guide, "Restrict access to the
                # instance profile assigned to the worker node"); pods use IRSA. What reads
                # instance metadata runs on the host network (the CloudWatch agent and
                # Fluent Bit: chart amazon-cloudwatch-observability 6.4.0, agent.hostNetwork
                # and templates/linux/fluent-bit-daemonset.yaml) or is given what it would ask
                # (the controller's region and vpcId, the autoscaler's awsRegion).
                "http_put_response_hop_limit": NODE_IMDS_HOP_LIMIT,
            },
            block_device_mappings=[
                {
                    "device_name": "/dev/xvda",
                    "ebs": {"volume_size": 50, "volume_type": "gp3", "encrypted": "true"},
                }
            ],
            opts=child,
        )
        capacity = "SPOT" if nodes.capacity is CapacityType.SPOT else "ON_DEMAND"
        return [
            aws.eks.NodeGroup(
                f"{self._name}-nodes-{zone}",
                cluster_name=self.cluster.name,
                # The cluster's version, as an output: a kubernetesVersion bump upgrades the
                # control plane first, then each group (left out, a group keeps the version it
                # was created with; the launch template names no AMI, so EKS picks the
                # version's latest AMI release).
                version=self.cluster.version,
                node_role_arn=role.arn,
                subnet_ids=[subnet],
                instance_types=list(nodes.instance_types),
                capacity_type=capacity,
                ami_type=NODE_AMI_TYPE,
                scaling_config={
                    "min_size": nodes.min_size,
                    "desired_size": nodes.desired_size,
                    "max_size": nodes.max_size,
                },
                update_config={"max_unavailable": 1},
                launch_template={"id": template.id, "version": template.latest_version.apply(str)},
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[*attachments, *before],
                    # The Cluster Autoscaler owns the desired size once the group exists.
                    ignore_changes=["scalingConfig.desiredSize"],
                ),
            )
            for zone, subnet in enumerate(args.private_subnet_ids)
        ]

    # -- controllers -------------------------------------------------------------------------

    def _release(
        self,
        name: str,
        chart: dict[str, str],
        values: pulumi.Input[dict[str, Any]],
        after: Sequence[pulumi.Resource],
        skip_crds: bool = False,
    ) -> k8s.helm.v3.Release:
        return k8s.helm.v3.Release(
            f"{self._name}-{name}",
            name=name,
            chart=chart["chart"],
            version=chart["version"],
            repository_opts={"repo": chart["repo"]},
            namespace="kube-system",
            values=values,
            atomic=True,
            skip_crds=skip_crds,
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=after),
        )

    def _controller_crds(self) -> list[k8s.apiextensions.v1.CustomResourceDefinition]:
        """The controller's CRDs, kept when removed from the program or the stack destroyed:
        deleting the TargetGroupBinding CRD deletes every binding, and with them each pod's
        registration in the production target groups."""
        return [
            k8s.apiextensions.v1.CustomResourceDefinition(
                f"{self._name}-crd-{crd['metadata']['name']}",
                metadata={"name": crd["metadata"]["name"]},
                spec=crd["spec"],
                opts=pulumi.ResourceOptions(
                    parent=self, provider=self.provider, retain_on_delete=True
                ),
            )
            for crd in controller_crds()
        ]

    def _load_balancer_controller(self, after: Sequence[pulumi.Resource]) -> k8s.helm.v3.Release:
        account = "aws-load-balancer-controller"
        role = self.service_account_role(
            f"{self._name}-load-balancer-controller",
            ServiceAccountRole(
                "kube-system",
                account,
                policy=json.dumps(controller_policy(self._args.region)),
                policy_arns=(self._load_balancer_guard().arn,),
            ),
        )
        values = pulumi.Output.all(role.arn, self._args.vpc_id).apply(
            lambda v: {
                "clusterName": self._args.cluster_name,
                "region": self._args.region,
                "vpcId": v[1],  # given, so the controller never needs instance metadata
                **CONTROLLER_AVAILABILITY,
                "serviceAccount": {
                    "create": True,
                    "name": account,
                    "annotations": {"eks.amazonaws.com/role-arn": v[0]},
                },
            }
        )
        crds = self._controller_crds()
        return self._release(
            account, LOAD_BALANCER_CONTROLLER, values, [*after, *crds], skip_crds=True
        )

    def _load_balancer_guard(self) -> aws.iam.Policy:
        args = self._args
        document = pulumi.Output.all(args.load_balancer_arn, *args.target_group_arns).apply(
            lambda arns: load_balancer_guard_policy(arns[0], list(arns[1:]))
        )
        return aws.iam.Policy(
            f"{self._name}-load-balancer-controller-guard",
            name_prefix=iam_name_prefix(args.name_prefix, "lb-controller-guard"),
            policy=document,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _cluster_autoscaler(self, after: Sequence[pulumi.Resource]) -> None:
        account = "cluster-autoscaler"
        name = self._args.cluster_name
        policy = vendored_policy("cluster-autoscaler-chart-9.53.0-iam-policy.json")
        role = self.service_account_role(
            f"{self._name}-cluster-autoscaler",
            ServiceAccountRole(
                "kube-system", account, policy=scoped_autoscaler_policy(policy, name)
            ),
        )
        chart = {
            "chart": "cluster-autoscaler",
            "version": CLUSTER_AUTOSCALER_CHARTS[self._args.settings.kubernetes_version],
            "repo": CLUSTER_AUTOSCALER_REPO,
        }
        values = role.arn.apply(
            lambda arn: {
                "cloudProvider": "aws",
                "awsRegion": self._args.region,
                "autoDiscovery": {"clusterName": name},
                "rbac": {
                    "serviceAccount": {
                        "create": True,
                        "name": account,
                        "annotations": {"eks.amazonaws.com/role-arn": arn},
                    }
                },
                "extraArgs": {"balance-similar-node-groups": True, "expander": "least-waste"},
            }
        )
        self._release(account, chart, values, after)

    def _metrics_server(self, after: Sequence[pulumi.Resource]) -> None:
        self._release("metrics-server", METRICS_SERVER, {"replicas": 2}, after)


def _aws_managed(partition: str, name: str) -> str:
    return AWS_MANAGED.format(partition=partition, name=name)


def kubeconfig(name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates with `aws eks get-token` as whoever runs Pulumi."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": name,
                    "cluster": {"server": endpoint, "certificate-authority-data": ca_data},
                }
            ],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                name,
                                "--region",
                                region,
                            ],
                        }
                    },
                }
            ],
        }
    )
