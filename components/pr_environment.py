"""PrEnvironment: one pull request's environment on dev's shared pieces (components/pr_base.py).

In dev's cluster: the namespace ``pr-<n>`` (restricted Pod Security, the load balancer
controller's readiness gate), a service account whose IRSA role reads this PR's secrets only,
one Deployment and its Service, and a TargetGroupBinding that registers the pods in the PR's
own target group. On dev's load balancer: that target group, and a listener rule that sends
``pr-<n>.<prDomain>`` to it. In Secrets Manager: one secret per name dev has, under
``<head>-pr<n>/``, holding a value generated for this PR alone (never a copy of dev's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.cluster import kubeconfig
from components.workload import CONTAINER_SECURITY, POD_SECURITY, PORT_NAME, service_in_target_group
from delivery.config.model import DEREGISTRATION_DELAY_SECONDS
from delivery.plans.iam import service_account_trust_policy
from delivery.plans.pr_environments import PrBase, PrNames
from delivery.plans.pr_iam import PR_TAG, pr_app_policy

REPLICAS: Final = 1  # a review environment: one pod, no autoscaler
# Deleted at once, so a reopened PR can create its secrets under the same names again.
SECRET_RECOVERY_DAYS: Final = 0
PASSWORD_LENGTH: Final = 32


@dataclass(frozen=True)
class PrEnvironmentArgs:
    names: PrNames
    base: PrBase
    image: str
    priority: int
    created_at: str


class PrEnvironment(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: PrEnvironmentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:pr:PrEnvironment", name, None, opts)
        names, base = args.names, args.base
        tags = {
            **base.tags,
            PR_TAG: str(names.pr),
            "created-at": args.created_at,
        }
        provider = aws.Provider(
            f"{name}-aws", region=base.region, default_tags={"tags": tags}, opts=self._child
        )
        on_aws = pulumi.ResourceOptions(parent=self, provider=provider)
        cluster = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=kubeconfig(
                base.cluster_name,
                base.cluster_endpoint,
                base.cluster_certificate_authority,
                base.region,
            ),
            # Not deleteUnreachable: with `up --refresh`, any failed discovery (a blip, a
            # token error) would drop every Kubernetes object from the state (provider.go's
            # Read on an unreachable cluster). With dev destroyed first, destroy a PR stack
            # with PULUMI_K8S_DELETE_UNREACHABLE=true (README).
            opts=self._child,
        )
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster)

        self.secrets = self._secrets(name, names, base, on_aws)
        role = aws.iam.Role(
            f"{name}-app",
            name=names.app_role,
            permissions_boundary=base.boundary_arn,
            assume_role_policy=service_account_trust_policy(
                base.oidc_provider_arn, base.oidc_issuer, names.namespace, base.service_name
            ),
            opts=on_aws,
        )
        partition, account = _partition_and_account(base.boundary_arn)
        reads = aws.iam.RolePolicy(
            f"{name}-app",
            role=role.id,
            policy=pr_app_policy(
                partition, base.region, account, names.secret_prefix, base.key_arn
            ),
            opts=on_aws,
        )
        self.target_group = aws.lb.TargetGroup(
            f"{name}-target-group",
            name=names.target_group,
            port=base.target_port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=base.vpc_id,
            deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
            health_check={
                "path": base.health_check_path,
                "port": "traffic-port",
                "protocol": "HTTP",
                "matcher": "200-399",
            },
            opts=on_aws,
        )
        self.rule = aws.lb.ListenerRule(
            f"{name}-host-rule",
            listener_arn=base.listener_arn,
            priority=args.priority,
            conditions=[
                aws.lb.ListenerRuleConditionArgs(
                    host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(
                        values=[base.host(names)]
                    )
                )
            ],
            actions=[
                aws.lb.ListenerRuleActionArgs(
                    type="forward", target_group_arn=self.target_group.arn
                )
            ],
            opts=on_aws,
        )
        self._workload(name, args, role.arn, reads, on_cluster)
        self.url = base.url(names)
        self.register_outputs({"url": self.url, "targetGroupArn": self.target_group.arn})

    @property
    def _child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self)

    def _secrets(
        self, name: str, names: PrNames, base: PrBase, on_aws: pulumi.ResourceOptions
    ) -> dict[str, aws.secretsmanager.Secret]:
        made: dict[str, aws.secretsmanager.Secret] = {}
        for secret_name in base.secret_names:
            secret = aws.secretsmanager.Secret(
                f"{name}-{secret_name}",
                name=f"{names.secret_prefix}{secret_name}",
                kms_key_id=base.key_arn,
                recovery_window_in_days=SECRET_RECOVERY_DAYS,
                opts=on_aws,
            )
            value = random.RandomPassword(
                f"{name}-{secret_name}", length=PASSWORD_LENGTH, special=False, opts=self._child
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-{secret_name}",
                secret_id=secret.id,
                secret_string=value.result,
                opts=on_aws,
            )
            made[secret_name] = secret
        return made

    def _workload(
        self,
        name: str,
        args: PrEnvironmentArgs,
        role_arn: pulumi.Input[str],
        reads: pulumi.Resource,
        on_cluster: pulumi.ResourceOptions,
    ) -> None:
        names, base = args.names, args.base
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": names.namespace,
                "labels": {
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
                    PR_TAG: str(names.pr),
                },
            },
            opts=on_cluster,
        )
        inside = pulumi.ResourceOptions.merge(
            on_cluster, pulumi.ResourceOptions(depends_on=[namespace])
        )
        labels = {"app.kubernetes.io/name": base.service_name, PR_TAG: str(names.pr)}
        metadata: Any = {"name": base.service_name, "namespace": names.namespace, "labels": labels}
        annotated: Any = {**metadata, "annotations": {"eks.amazonaws.com/role-arn": role_arn}}
        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=annotated,
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[reads])),
        )
        binding = service_in_target_group(
            name, metadata, labels, base.target_port, self.target_group.arn, inside
        )
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata,
            spec=_deployment_spec(args, labels),
            opts=pulumi.ResourceOptions.merge(
                inside,
                pulumi.ResourceOptions(
                    depends_on=[binding, account, *self.secrets.values()],
                    custom_timeouts=pulumi.CustomTimeouts(create="10m", update="10m"),
                ),
            ),
        )


def _partition_and_account(arn: str) -> tuple[str, str]:
    """Of an IAM ARN (``arn:<partition>:iam::<account>:...``): dev's own, so no lookup."""
    parts = arn.split(":")
    return parts[1], parts[4]


def _deployment_spec(args: PrEnvironmentArgs, labels: dict[str, str]) -> Any:
    names, base = args.names, args.base
    probe = {"httpGet": {"path": base.health_check_path, "port": PORT_NAME}, "timeoutSeconds": 2}
    resources = {"cpu": f"{base.cpu_request_millicores}m", "memory": f"{base.memory_request_mib}Mi"}
    container = {
        "name": "app",
        "image": args.image,
        "imagePullPolicy": "IfNotPresent" if "@sha256:" in args.image else "Always",
        "ports": [{"name": PORT_NAME, "containerPort": base.target_port}],
        "env": [
            {"name": "AWS_REGION", "value": base.region},
            {"name": "SWITCHYARD_SECRETS_PREFIX", "value": names.secret_prefix},
            {"name": "SWITCHYARD_PULL_REQUEST", "value": str(names.pr)},
        ],
        "resources": {"requests": resources, "limits": resources},
        "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 2},
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"}  # nosec B108 - an emptyDir, not a host path
        ],
    }
    return {
        "replicas": REPLICAS,
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "serviceAccountName": base.service_name,
                "automountServiceAccountToken": False,
                "securityContext": POD_SECURITY,
                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                "containers": [container],
            },
        },
    }
