"""PrEnvironmentBase: what dev declares once so that each labelled pull request can have an
environment of its own in dev's cluster and on dev's load balancer (the PR program,
infra/pr_environment.py, builds one per PR on top of it).

- ``*.<prDomain>``: one wildcard alias record for dev's ALB, so a PR's host name resolves the
  moment its listener rule exists (no DNS change per PR).
- The PR boundary and the PR CI role (delivery.plans.pr_iam), trusted only by the GitHub
  environment ``prGithubEnvironment``.
- In the cluster, the role's access entry names the group ``switchyard:pr-environments``. A
  ClusterRole gives that group what a PR environment's `pulumi up` does. Kubernetes RBAC
  cannot name namespaces by pattern, so a ValidatingAdmissionPolicy (admissionregistration.k8s.io
  v1, GA since Kubernetes 1.30; the cluster runs 1.33 or later) refuses the group's every write
  outside ``pr-*`` namespaces, and on namespaces other than ``pr-*`` themselves.
- The output ``prEnvironmentBase`` (delivery.plans.pr_environments.BASE_KEYS), and the same
  object in the SSM parameter ``/<prefix>/pr-environment-base``, which `pr-env up` reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.ci_roles import (
    MAX_SESSION_SECONDS,
    PR_ENVIRONMENTS,
    github_trust,
    pr_boundary_name,
    role_name,
)
from components.cluster import EksCluster
from components.keys import account_output, customer_key, key_policy
from components.workload import RBAC
from delivery.config.model import PrEnvironmentSettings, ServiceSettings
from delivery.plans.pr_environments import base_parameter, pr_head
from delivery.plans.pr_iam import pr_boundary_policy, pr_ci_policy

PR_GROUP: Final = "switchyard:pr-environments"
NAMESPACE_PREFIX: Final = "pr-"
_READ: Final = ["get", "list", "watch"]
_WRITE: Final = [*_READ, "create", "delete", "patch", "update"]
# A PR environment's objects, and what pulumi-kubernetes' await logic watches for them
# (provider/pkg/await: a Deployment's ReplicaSets, Pods and PersistentVolumeClaims, whose
# informer must sync before the wait's timeout even starts; a Service's Endpoints and
# EndpointSlices).
PR_RULES: Final[tuple[dict[str, list[str]], ...]] = (
    {
        "apiGroups": [""],
        "resources": ["namespaces", "serviceaccounts", "services"],
        "verbs": _WRITE,
    },
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": _WRITE},
    {"apiGroups": ["elbv2.k8s.aws"], "resources": ["targetgroupbindings"], "verbs": _WRITE},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": _READ},
    {
        "apiGroups": [""],
        "resources": ["pods", "persistentvolumeclaims", "endpoints", "events"],
        "verbs": _READ,
    },
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": _READ},
)
# CEL over the admission request (Kubernetes "Validating Admission Policy": ``request`` is the
# AdmissionRequest, ``object`` the object after the mutating webhooks, null on DELETE). A
# namespace is cluster-scoped, so its own name is judged.
ONLY_PR_NAMESPACES: Final = (
    "request.resource.resource == 'namespaces' ? request.name.startsWith('pr-') "
    ": request.namespace.startsWith('pr-')"
)
PSA_ENFORCE: Final = "pod-security.kubernetes.io/enforce"


def _on_write(resource: str, holds: str) -> str:
    return (
        f"request.resource.resource != '{resource}' || request.operation == 'DELETE' || ({holds})"
    )


def pr_validations(head: str) -> list[dict[str, str]]:
    """What the PR group may write, beyond where: EKS enforces no Pod Security level on a
    namespace without the label, so an unlabelled or relabelled ``pr-*`` namespace would admit
    privileged, host-network pods; a Service other than ClusterIP (or with externalIPs)
    would reach outside the cluster; a TargetGroupBinding could register pods in dev's own
    target groups or have the controller open security groups (``networking``) or assume a
    role. The controller's mutating webhook fills ``vpcID``, ``ipAddressType`` and
    ``targetGroupProtocol`` (and the ARN from ``targetGroupName``) before these run
    (aws-load-balancer-controller webhooks/elbv2/targetgroupbinding_mutator.go), so those stay
    allowed."""
    target_group = (
        "^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup/"
        f"{head}-pr[0-9]+/[0-9a-f]+$"
    )
    spec = "object.spec"
    return [
        {
            "expression": ONLY_PR_NAMESPACES,
            "message": f"PR environments write only in namespaces {NAMESPACE_PREFIX}*",
        },
        {
            "expression": _on_write(
                "namespaces",
                f"has(object.metadata.labels) && '{PSA_ENFORCE}' in object.metadata.labels "
                f"&& object.metadata.labels['{PSA_ENFORCE}'] == 'restricted'",
            ),
            "message": f"a PR namespace enforces the restricted Pod Security level ({PSA_ENFORCE})",
        },
        {
            "expression": _on_write(
                "services",
                f"(!has({spec}.type) || {spec}.type == 'ClusterIP') && !has({spec}.externalIPs)",
            ),
            "message": "a PR environment's Services are ClusterIP, without externalIPs",
        },
        {
            "expression": _on_write(
                "targetgroupbindings",
                f"has({spec}.targetGroupARN) && {spec}.targetGroupARN.matches('{target_group}')"
                # its own PR's: namespace pr-<n> binds <head>-pr<n> (``substring`` is
                # cel-go's strings extension, which Kubernetes' CEL environment includes)
                f" && {spec}.targetGroupARN.contains(':targetgroup/{head}-pr' + "
                "request.namespace.substring(3) + '/')"
                f" && !has({spec}.networking) && !has({spec}.iamRoleArnToAssume)"
                f" && !has({spec}.assumeRoleExternalId)"
                f" && !(has({spec}.multiClusterTargetGroup) && {spec}.multiClusterTargetGroup)",
            ),
            "message": (
                f"a PR TargetGroupBinding in pr-<n> binds {head}-pr<n>, with no networking, "
                "no role to assume and no multi-cluster sharing"
            ),
        },
    ]


@dataclass(frozen=True)
class PrEnvironmentBaseArgs:
    settings: PrEnvironmentSettings
    name_prefix: str
    region: str
    github_repository: str
    github_provider_arn: pulumi.Input[str]
    load_balancer: aws.lb.LoadBalancer
    listener: aws.lb.Listener
    https: bool
    vpc_id: pulumi.Input[str]
    target_port: int
    health_check_path: str
    cluster: EksCluster
    cluster_name: str
    service_name: str
    secret_names: tuple[str, ...]
    service: ServiceSettings
    tags: Mapping[str, str]
    key_rotation_days: int


class PrEnvironmentBase(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: PrEnvironmentBaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:pr:PrEnvironmentBase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings, head = args.settings, pr_head(args.name_prefix)
        aws.route53.Record(
            f"{name}-wildcard",
            zone_id=settings.hosted_zone_id,
            name=f"*.{settings.domain}",
            type="A",
            aliases=[
                aws.route53.RecordAliasArgs(
                    name=args.load_balancer.dns_name,
                    zone_id=args.load_balancer.zone_id,
                    evaluate_target_health=False,
                )
            ],
            opts=child,
        )
        if settings.certificate_arn:
            # HTTPS: the listener presents this one for pr-<n>.<prDomain> by SNI
            aws.lb.ListenerCertificate(
                f"{name}-certificate",
                listener_arn=args.listener.arn,
                certificate_arn=settings.certificate_arn,
                opts=child,
            )
        account = account_output(self, args.region)
        # One key for every PR's secrets (a key per PR would cost $1 a month each, AWS KMS
        # pricing): IAM grants its use, each app role only for its own PR's secrets.
        self.key = customer_key(
            f"{name}-key",
            f"Switchyard {args.name_prefix}: encrypts the PR environments' secrets",
            args.key_rotation_days,
            account.apply(lambda a: key_policy(a, [])),
            self,
            f"{args.name_prefix}-pr-secrets",
        )
        self.boundary = aws.iam.Policy(
            f"{name}-boundary",
            name=pr_boundary_name(args.name_prefix),
            description=f"Switchyard {args.name_prefix}: the most a PR environment's app may do",
            policy=pulumi.Output.all(account, self.key.arn).apply(
                lambda v: pr_boundary_policy(v[0].partition, v[0].region, v[0].id, head, v[1])
            ),
            opts=child,
        )
        self.role = aws.iam.Role(
            f"{name}-ci",
            name=role_name(args.name_prefix, PR_ENVIRONMENTS),
            description=f"Switchyard {args.name_prefix}: creates and destroys PR environments",
            max_session_duration=MAX_SESSION_SECONDS,
            assume_role_policy=pulumi.Output.from_input(args.github_provider_arn).apply(
                lambda arn: github_trust(arn, args.github_repository, [settings.github_environment])
            ),
            opts=child,
        )
        cluster = args.cluster
        aws.iam.RolePolicy(
            f"{name}-ci",
            role=self.role.id,
            policy=pulumi.Output.all(
                account, args.listener.arn, self.boundary.arn, self.key.arn
            ).apply(
                lambda v: pr_ci_policy(
                    v[0].partition,
                    v[0].region,
                    v[0].id,
                    head,
                    v[1],
                    args.cluster_name,
                    v[2],
                    v[3],
                    base_parameter(args.name_prefix),
                )
            ),
            opts=child,
        )
        self._kubernetes_access(name, cluster, head)
        self.output: pulumi.Output[dict[str, Any]] = pulumi.Output.all(
            args.listener.arn,
            args.vpc_id,
            cluster.cluster.endpoint,
            cluster.cluster.certificate_authority.data,
            cluster.oidc_provider.arn,
            cluster.oidc_issuer,
            self.boundary.arn,
            self.key.arn,
        ).apply(
            lambda v: {
                "namePrefix": args.name_prefix,
                "region": args.region,
                "domain": settings.domain,
                "scheme": "https" if args.https else "http",
                "listenerArn": v[0],
                "vpcId": v[1],
                "targetPort": args.target_port,
                "healthCheckPath": args.health_check_path,
                "clusterName": args.cluster_name,
                "clusterEndpoint": v[2],
                "clusterCertificateAuthority": v[3],
                "oidcProviderArn": v[4],
                "oidcIssuer": str(v[5]).removeprefix("https://"),
                "boundaryArn": v[6],
                "keyArn": v[7],
                "tags": dict(args.tags),
                "serviceName": args.service_name,
                "secretNames": list(args.secret_names),
                "cpuRequestMillicores": args.service.cpu_request_millicores,
                "memoryRequestMiB": args.service.memory_request_mib,
            }
        )
        aws.ssm.Parameter(
            f"{name}-base",
            name=base_parameter(args.name_prefix),
            description=f"Switchyard {args.name_prefix}: what each PR environment is built on",
            type="String",
            tier="Intelligent-Tiering",
            # names and ARNs, no secret: `insecure_value` shows in previews (pulumi-aws marks
            # `value` secret whatever it holds)
            insecure_value=self.output.apply(lambda base: json.dumps(base, sort_keys=True)),
            opts=child,
        )
        self.register_outputs({"roleArn": self.role.arn, "boundaryArn": self.boundary.arn})

    def _kubernetes_access(self, name: str, cluster: EksCluster, head: str) -> None:
        cluster.admit(PR_ENVIRONMENTS, self.role.arn, (PR_GROUP,))
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        k8s_name = "switchyard-pr-environments"
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-cluster-role",
            metadata={"name": k8s_name},
            rules=[
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=r["apiGroups"], resources=r["resources"], verbs=r["verbs"]
                )
                for r in PR_RULES
            ],
            opts=on_cluster,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-cluster-role-binding",
            metadata={"name": k8s_name},
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group=RBAC, kind="ClusterRole", name=k8s_name),
            subjects=[k8s.rbac.v1.SubjectArgs(api_group=RBAC, kind="Group", name=PR_GROUP)],
            opts=pulumi.ResourceOptions.merge(
                on_cluster, pulumi.ResourceOptions(depends_on=[role])
            ),
        )
        spec: Any = {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["*"],
                        "apiVersions": ["*"],
                        "resources": ["*"],
                        "operations": ["CREATE", "UPDATE", "DELETE"],
                    }
                ]
            },
            "matchConditions": [
                {
                    "name": "pr-environments-group",
                    "expression": f"'{PR_GROUP}' in request.userInfo.groups",
                }
            ],
            "validations": pr_validations(head),
        }
        policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-only-pr-namespaces", metadata={"name": k8s_name}, spec=spec, opts=on_cluster
        )
        binding: Any = {"policyName": k8s_name, "validationActions": ["Deny"]}
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-only-pr-namespaces",
            metadata={"name": k8s_name},
            spec=binding,
            opts=pulumi.ResourceOptions.merge(
                on_cluster, pulumi.ResourceOptions(depends_on=[policy])
            ),
        )
