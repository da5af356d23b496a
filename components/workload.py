"""BlueGreenWorkload: the service in two colours behind the ALB's two target groups.

Per colour: a Deployment ``<serviceName>-<colour>``, a Service of the same name (the name
Container Insights reports as the ``Service`` dimension), a PodDisruptionBudget and a
TargetGroupBinding that registers the pods (by IP) in the colour's target group. The pre-traffic
hook Jobs come from the release plan (``delivery.plans.release``). ``ColourScaling`` adds each
colour's HorizontalPodAutoscaler after the cutover exists, because the old colour's scale-down
must wait for a successful cutover.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s
import pulumiverse_time as time

from delivery.config.model import (
    DEREGISTRATION_DELAY_SECONDS,
    Colour,
    HealthCheck,
    ServiceSettings,
    Workload,
)
from delivery.plans.release import ColourPlan, HookJob, ReleasePlan, Size, live_image_problem

TGB_API: Final = "elbv2.k8s.aws/v1beta1"
PRE_STOP_SECONDS: Final = DEREGISTRATION_DELAY_SECONDS + 5  # outlast the target group's drain
SHUTDOWN_SECONDS: Final = 30  # for the process itself after the pause
HOOK_DEADLINE_SECONDS: Final = 900
SAFE_TO_EVICT: Final = "cluster-autoscaler.kubernetes.io/safe-to-evict"
RUN_AS: Final = 10001
PORT_NAME: Final = "http"
# The restricted Pod Security Standard, which every namespace of ours enforces.
POD_SECURITY: Final = {
    "runAsNonRoot": True,
    "runAsUser": RUN_AS,
    "runAsGroup": RUN_AS,
    "fsGroup": RUN_AS,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY: Final = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
}
# An autoscaler without `behavior` scales down to minReplicas once its 300 s stabilisation
# window has passed (autoscaling/v2 HorizontalPodAutoscalerBehavior, scaleDown: "If not set,
# the default value is to allow to scale down to minReplicas pods, with a 300 second
# stabilization window"; Kubernetes API reference, autoscaling/v2, the API of our
# pulumi-kubernetes 4.34.2). selectPolicy Disabled turns scale-down off and leaves scale-up at
# its default, so a held colour keeps at least what it carried when the shift began.
HELD: Final = {"scaleDown": {"selectPolicy": "Disabled"}}


# The Kubernetes group the release role's access entry names (components/cluster.py).
RELEASE_GROUP: Final = "switchyard:release"
RBAC: Final = "rbac.authorization.k8s.io"
_READ: Final = ("get", "list", "watch")
# A release updates the colours' Deployments and autoscalers and replaces the hook Jobs;
# pulumi-kubernetes (provider/pkg/await) watches their ReplicaSets, Pods and, for a Deployment,
# PersistentVolumeClaims, in the object's namespace, until they are ready.
RELEASE_RULES: Final[tuple[dict[str, list[str]], ...]] = (
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": [*_READ, "patch", "update"]},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": list(_READ)},
    {"apiGroups": [""], "resources": ["pods", "persistentvolumeclaims"], "verbs": list(_READ)},
    {
        "apiGroups": ["autoscaling"],
        "resources": ["horizontalpodautoscalers"],
        "verbs": [*_READ, "patch", "update"],
    },
    {
        "apiGroups": ["batch"],
        "resources": ["jobs"],
        "verbs": [*_READ, "create", "delete", "patch", "update"],
    },
)


def service_in_target_group(
    name: str,
    metadata: Any,
    labels: dict[str, str],
    port: int,
    target_group_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    after: Sequence[pulumi.Resource] = (),
) -> k8s.apiextensions.CustomResource:
    """A ClusterIP Service over the pods' named port, and the TargetGroupBinding that registers
    its endpoints' IPs in the target group; the pods should depend on the binding returned:
    the binding exists before the pods, so the controller's webhook gives each new pod its
    target-health readiness gate."""
    ports = [{"name": PORT_NAME, "port": port, "targetPort": PORT_NAME}]
    service_spec: Any = {"type": "ClusterIP", "selector": labels, "ports": ports}
    service = k8s.core.v1.Service(
        f"{name}-service", metadata=metadata, spec=service_spec, opts=opts
    )
    return k8s.apiextensions.CustomResource(
        f"{name}-binding",
        api_version=TGB_API,
        kind="TargetGroupBinding",
        metadata=metadata,
        spec={
            "serviceRef": {"name": metadata["name"], "port": port},
            "targetGroupARN": target_group_arn,
            "targetType": "ip",
        },
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[*after, service])
        ),
    )


@dataclass(frozen=True)
class BlueGreenWorkloadArgs:
    workload: Workload
    service: ServiceSettings
    plan: ReleasePlan
    health_check: HealthCheck
    target_port: int
    region: str
    secrets_prefix: str  # Secrets Manager names start with it
    target_group_arns: Mapping[Colour, pulumi.Input[str]]
    service_account_role_arn: pulumi.Input[str]  # IRSA: reads this environment's secrets only
    provider: k8s.Provider
    controller: pulumi.Resource  # the load balancer controller: its CRD and webhook
    hook_needs: Sequence[pulumi.Resource] = ()  # the node groups and the CoreDNS add-on


class BlueGreenWorkload(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: BlueGreenWorkloadArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:workload:BlueGreenWorkload", name, None, opts)
        self._args = args
        self._name = name
        workload = args.workload
        k8s_child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": workload.namespace,
                "labels": {
                    # every pod must meet the restricted Pod Security Standard
                    "pod-security.kubernetes.io/enforce": "restricted",
                    # a pod counts as ready only once healthy in its target group
                    "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
                },
            },
            opts=k8s_child,
        )
        in_namespace = pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=[self.namespace]
        )
        self.release_access = self._release_access(in_namespace)
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata={
                "name": workload.service_name,
                "namespace": workload.namespace,
                "annotations": {"eks.amazonaws.com/role-arn": args.service_account_role_arn},
            },
            automount_service_account_token=False,
            opts=in_namespace,
        )
        self.hooks: dict[str, k8s.batch.v1.Job] = {
            hook.name: self._hook(hook, in_namespace) for hook in args.plan.hooks
        }
        # A colour's pods start only after its release's pre-traffic Job succeeded, so an
        # application that checks its schema at start-up finds it migrated.
        hook_of = {h.colour: self.hooks[h.name] for h in args.plan.hooks}
        self.deployments: dict[Colour, k8s.apps.v1.Deployment] = {}
        for colour, plan in args.plan.colours.items():
            self.deployments[colour] = self._colour(colour, plan, in_namespace, hook_of.get(colour))
        live = next(c for c, p in args.plan.colours.items() if p.live)
        # The image the live colour's pods really run (its template is frozen), checked against
        # the config: the cutover takes it as an input, so it never starts on a mismatch.
        self.live_image: pulumi.Output[str] = (
            self.deployments[live]
            .spec.apply(_running_image)
            .apply(functools.partial(_checked, live, args.plan.colours[live].image))
        )
        # What the cutover waits for: the colour taking traffic is rolled out and ready (its
        # pods healthy in the target group), and its release's pre-traffic Job succeeded.
        self.ready_for_traffic: list[pulumi.Resource] = [self.deployments[live]]
        if args.plan.gating_hook is not None:
            self.ready_for_traffic.append(self.hooks[args.plan.gating_hook.name])
        self.register_outputs(
            {
                "namespace": workload.namespace,
                "deployments": {c.value: d.metadata.name for c, d in self.deployments.items()},
                "hookJobs": list(self.hooks),
            }
        )

    def _colour(
        self,
        colour: Colour,
        plan: ColourPlan,
        opts: pulumi.ResourceOptions,
        hook: k8s.batch.v1.Job | None,
    ) -> k8s.apps.v1.Deployment:
        args, name = self._args, f"{self._args.workload.service_name}-{colour}"
        labels = {"app.kubernetes.io/name": args.workload.service_name, "switchyard/colour": colour}
        metadata: Any = {"name": name, "namespace": args.workload.namespace, "labels": labels}
        binding = service_in_target_group(
            f"{self._name}-{colour}",
            metadata,
            labels,
            args.target_port,
            args.target_group_arns[colour],
            opts,
            after=[args.controller],
        )
        budget: Any = {"maxUnavailable": 1, "selector": {"matchLabels": labels}}
        k8s.policy.v1.PodDisruptionBudget(
            f"{self._name}-{colour}-disruption-budget", metadata=metadata, spec=budget, opts=opts
        )
        annotated: Any = {**metadata, "annotations": {"switchyard/role": _role(plan)}}
        return k8s.apps.v1.Deployment(
            f"{self._name}-{colour}",
            metadata=annotated,
            spec=self._deployment_spec(plan, labels),
            opts=pulumi.ResourceOptions.merge(
                opts,
                pulumi.ResourceOptions(
                    depends_on=[binding, self.service_account, *([hook] if hook else [])],
                    # The live colour's pods stay as they are: changes reach users through a
                    # release on the other colour and a cutover, never in place.
                    ignore_changes=["spec.template"] if plan.frozen else None,
                    custom_timeouts=pulumi.CustomTimeouts(create="15m", update="15m"),
                ),
            ),
        )

    def _deployment_spec(self, plan: ColourPlan, labels: dict[str, str]) -> Any:
        # No `replicas`: the colour's HorizontalPodAutoscaler alone sets it (ColourScaling).
        return {
            "selector": {"matchLabels": labels},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"},
            },
            "progressDeadlineSeconds": 600,
            "template": {
                "metadata": {"labels": labels},
                "spec": self._pod_spec(plan, labels),
            },
        }

    def _pod_spec(self, plan: ColourPlan, labels: dict[str, str]) -> dict[str, Any]:
        args = self._args
        check = args.health_check
        probe = {"httpGet": {"path": check.path, "port": PORT_NAME}, "timeoutSeconds": 2}
        container = {
            **self._container("app", plan.image, args.service.command, plan.colour),
            "ports": [{"name": PORT_NAME, "containerPort": args.target_port}],
            "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 2},
            "livenessProbe": {
                **probe,
                "initialDelaySeconds": 10,
                "periodSeconds": check.interval_seconds,
                "failureThreshold": 3,
            },
            # Keep serving while the target group drains this pod, then stop.
            "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
        }
        return {
            **self._pod_basics(),
            "terminationGracePeriodSeconds": PRE_STOP_SECONDS + SHUTDOWN_SECONDS,
            "containers": [container],
            # matchLabelKeys pod-template-hash: each ReplicaSet spreads on its own, so a rolling
            # update's surge pods are not counted against the old ones still running in a full
            # zone (KEP-3243; beta and on by default since Kubernetes 1.27, the API server
            # ANDs the key's value into labelSelector, which must not hold the key itself).
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": labels},
                    "matchLabelKeys": ["pod-template-hash"],
                },
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": labels},
                    "matchLabelKeys": ["pod-template-hash"],
                },
            ],
        }

    def _pod_basics(self) -> dict[str, Any]:
        return {
            "serviceAccountName": self._args.workload.service_name,
            "automountServiceAccountToken": False,  # IRSA mounts its own token
            "securityContext": POD_SECURITY,
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
        }

    def _release_access(self, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """What the release role's `pulumi up` may do in the namespace (RELEASE_RULES), bound to
        the group its access entry names: no exec, attach or port-forward into a pod, no
        Secrets, Services or Ingresses (a new internet-facing load balancer), no RBAC."""
        name = "switchyard-release"
        namespace = self._args.workload.namespace
        role = k8s.rbac.v1.Role(
            f"{self._name}-release-role",
            metadata={"name": name, "namespace": namespace},
            rules=[
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=rule["apiGroups"], resources=rule["resources"], verbs=rule["verbs"]
                )
                for rule in RELEASE_RULES
            ],
            opts=opts,
        )
        binding = k8s.rbac.v1.RoleBinding(
            f"{self._name}-release-binding",
            metadata={"name": name, "namespace": namespace},
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group=RBAC, kind="Role", name=name),
            subjects=[k8s.rbac.v1.SubjectArgs(api_group=RBAC, kind="Group", name=RELEASE_GROUP)],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[role])),
        )
        return [role, binding]

    def _container(
        self, name: str, image: str, command: Sequence[str], colour: Colour | None
    ) -> dict[str, Any]:
        args, service = self._args, self._args.service
        env = [{"name": k, "value": v} for k, v in service.env]
        env += [
            {"name": "AWS_REGION", "value": args.region},
            {"name": "SWITCHYARD_SECRETS_PREFIX", "value": args.secrets_prefix},
        ]
        if colour is not None:
            env.append({"name": "SWITCHYARD_COLOUR", "value": colour.value})
        return {
            "name": name,
            "image": image,
            # A tag may move (dev and staging follow one while a release is built): pull it
            # each time a pod starts, or a node that has an older build keeps running it.
            "imagePullPolicy": "IfNotPresent" if "@sha256:" in image else "Always",
            **({"command": list(command)} if command else {}),
            "env": env,
            # Limits on every container: Container Insights publishes the *_over_pod_limit
            # metrics the rollback alarms read only for pods whose containers all have them.
            "resources": {
                "requests": {
                    "cpu": f"{service.cpu_request_millicores}m",
                    "memory": f"{service.memory_request_mib}Mi",
                },
                "limits": {
                    "cpu": f"{service.cpu_limit_millicores}m",
                    "memory": f"{service.memory_limit_mib}Mi",
                },
            },
            "securityContext": CONTAINER_SECURITY,
            # The container's own emptyDir at /tmp: its root filesystem is read-only.
            "volumeMounts": [
                {"name": "tmp", "mountPath": "/tmp"}  # nosec B108 - an emptyDir, not a host path
            ],
        }

    def _hook(self, hook: HookJob, opts: pulumi.ResourceOptions) -> k8s.batch.v1.Job:
        args = self._args
        logs = (
            f"kubectl logs -n {args.workload.namespace} job/{hook.name}; CloudWatch Logs group "
            f"/aws/containerinsights/{args.workload.cluster_name}/application"
        )
        metadata: Any = {
            "name": hook.name,
            "namespace": args.workload.namespace,
            "labels": {
                "app.kubernetes.io/name": args.workload.service_name,
                "switchyard/hook": "pre-traffic",
            },
            "annotations": {
                "switchyard/release": hook.release_image,
                "switchyard/logs": logs,
                # No pulumi.com/replaceUnready: pulumi-kubernetes 4.34.2 (provider/pkg/provider/
                # provider.go, Diff) then replaces the Job whenever its live object is not
                # Complete, a running migration included (an interrupted `up` and a refresh
                # would kill it mid-flight). Without it the next `up` waits for the same Job;
                # a Complete one has no diff and never runs again for its release, and a
                # changed hook is a new name (hook_job_name), so a new Job.
            },
        }
        spec: Any = {
            "backoffLimit": 0,  # a failed migration is looked at, not retried blindly
            "activeDeadlineSeconds": HOOK_DEADLINE_SECONDS,
            "template": {
                "metadata": {
                    "labels": {"switchyard/hook": "pre-traffic"},
                    # the Cluster Autoscaler never drains a node under a running migration
                    "annotations": {SAFE_TO_EVICT: "false"},
                },
                "spec": {
                    **self._pod_basics(),
                    "restartPolicy": "Never",
                    "containers": [self._container("hook", hook.image, hook.command, None)],
                },
            },
        }
        return k8s.batch.v1.Job(
            f"{self._name}-hook-{hook.colour}",
            metadata=metadata,
            spec=spec,
            opts=pulumi.ResourceOptions.merge(
                opts,
                pulumi.ResourceOptions(
                    # on the first deploy: nodes to run on and CoreDNS to find the database
                    depends_on=[self.service_account, *args.hook_needs],
                    # the live colour's Job, like its pods, is never changed in place
                    ignore_changes=["metadata", "spec"] if hook.frozen else None,
                    custom_timeouts=pulumi.CustomTimeouts(
                        create=f"{HOOK_DEADLINE_SECONDS + 60}s",
                        update=f"{HOOK_DEADLINE_SECONDS + 60}s",
                    ),
                ),
            ),
        )


def _running_image(spec: k8s.apps.v1.outputs.DeploymentSpec) -> str:
    pod = spec.template.spec
    assert pod is not None, "a Deployment always has a pod spec"
    return str(pod.containers[0].image)


def _checked(colour: Colour, configured: str, running: str) -> str:
    problem = live_image_problem(colour, configured, running)
    if problem:
        raise pulumi.RunError(problem)
    return running


def _role(plan: ColourPlan) -> str:
    if plan.live:
        return "live"
    return "idle" if plan.size is Size.IDLE else "candidate-or-previous"


@dataclass(frozen=True)
class ColourScalingArgs:
    workload: Workload
    service: ServiceSettings
    plan: ReleasePlan
    scale_down_delay_seconds: int
    provider: k8s.Provider
    cutover: pulumi.Resource
    namespace: pulumi.Resource  # the HPAs live in it: created after it, not left to retries


class ColourScaling(pulumi.ComponentResource):
    """Each colour's HorizontalPodAutoscaler: full size, or idle once a cutover has succeeded.

    Scaling goes through the autoscaler's bounds only, so `pulumi up` never writes a
    Deployment's replica count and never fights the autoscaler.
    """

    def __init__(
        self, name: str, args: ColourScalingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:workload:ColourScaling", name, None, opts)
        service = args.service
        self.delay: time.Sleep | None = None
        shrinking = args.plan.shrinking
        if shrinking is not None:
            # Runs after the cutover succeeded (a failed or rolled back cutover fails the
            # update first); again whenever another colour or release is cleaned up.
            self.delay = time.Sleep(
                f"{name}-scale-down-delay",
                create_duration=f"{args.scale_down_delay_seconds}s",
                triggers={"colour": shrinking.colour.value, "release": args.plan.release_image},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[args.cutover]),
            )
        self.autoscalers: dict[Colour, k8s.autoscaling.v2.HorizontalPodAutoscaler] = {}
        for colour, plan in args.plan.colours.items():
            low = plan.min_replicas
            high = service.idle_replicas if plan.size is Size.IDLE else service.max_replicas
            target = f"{args.workload.service_name}-{colour}"
            after = [args.namespace, *([self.delay] if plan.after_cutover and self.delay else [])]
            spec: Any = {
                "scaleTargetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": target,
                },
                "minReplicas": low,
                "maxReplicas": high,
                **({"behavior": HELD} if plan.held else {}),
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {
                                "type": "Utilization",
                                "averageUtilization": service.cpu_target_percent,
                            },
                        },
                    }
                ],
            }
            self.autoscalers[colour] = k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-{colour}",
                metadata={"name": target, "namespace": args.workload.namespace},
                spec=spec,
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=after),
            )
        self.register_outputs(
            {"sizes": {c.value: p.size.value for c, p in args.plan.colours.items()}}
        )
