"""The cluster, the two colours and a release's steps under Pulumi's mock runtime, every stack.

Each assertion names the resource and the input, option or dependency it checks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.cluster import LOAD_BALANCER_CONTROLLER, METRICS_SERVER
from delivery.config.model import (
    CLUSTER_AUTOSCALER_CHARTS,
    DEREGISTRATION_DELAY_SECONDS,
    PROGRAM_ENV,
    Colour,
    Settings,
)
from delivery.config.stackfile import load_stack
from delivery.errors import ConfigError
from infra.offline import Evaluation, RecordingMocks, Registered
from policy.manifests import kubernetes_objects, render
from tests.program.harness import arn_of, evaluate
from tests.program.manifests import validation_errors

STACKS = ("dev", "staging", "prod")
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
TGB = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
NEW = "registry.example.com/web:2.0.0"


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest) -> tuple[Settings, Evaluation]:
    return load_stack(request.param), evaluate(request.param)


def release(stack: str, live: Colour, step: str, **images: str) -> Evaluation:
    """The program for a stack with liveColour, releaseStep and the colours' images set."""
    overrides: dict[str, Any] = {"switchyard:liveColour": live.value}
    overrides["switchyard:releaseStep"] = step
    overrides.update({f"switchyard:{c}Image": image for c, image in images.items()})
    return evaluate(stack, overrides)


def deployment(run: Evaluation, colour: Colour) -> Registered:
    return run.mocks.named(f"workload-{colour}")


def autoscaler(run: Evaluation, colour: Colour) -> dict[str, Any]:
    spec: dict[str, Any] = run.mocks.named(f"scaling-{colour}").inputs["spec"]
    return spec


def image(run: Evaluation, colour: Colour) -> str:
    container = deployment(run, colour).inputs["spec"]["template"]["spec"]["containers"][0]
    return str(container["image"])


# -- the cluster ------------------------------------------------------------------------------


def test_the_control_plane_is_private_encrypted_and_logged(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    eks = run.mocks.named("cluster-eks").inputs
    assert eks["name"] == settings.workload.cluster_name
    assert eks["version"] == settings.cluster.kubernetes_version
    vpc = eks["vpcConfig"]
    assert vpc["subnetIds"] == run.exports["privateSubnetIds"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is bool(settings.cluster.public_access_cidrs)
    assert vpc.get("publicAccessCidrs", []) == [
        str(c) for c in settings.cluster.public_access_cidrs
    ]
    (encryption,) = [eks["encryptionConfig"]]
    assert encryption["resources"] == ["secrets"]
    assert (
        encryption["provider"]["keyArn"]
        == (run.mocks.named("secrets-key", "aws:kms/key:Key").outputs["arn"])
    )
    assert eks["enabledClusterLogTypes"] == ["api", "audit", "authenticator"]
    assert eks["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }
    logs = run.mocks.named("cluster-control-plane-logs", "aws:cloudwatch/logGroup:LogGroup").inputs
    assert logs["name"] == f"/aws/eks/{settings.workload.cluster_name}/cluster"
    assert logs["retentionInDays"] == settings.network.flow_log_retention_days
    assert logs["kmsKeyId"] == arn_of(run, "cluster-control-plane-logs", "aws:kms/key:Key")
    assert run.mocks.options["cluster-eks"].waits_for("cluster-control-plane-logs")
    assert run.mocks.options["cluster-eks"].protect is (settings.environment == "prod")


def test_prod_has_no_public_endpoint() -> None:
    assert load_stack("prod").cluster.public_access_cidrs == ()
    assert load_stack("dev").cluster.public_access_cidrs != ()


def test_access_is_granted_only_to_the_configured_roles_and_the_ci_roles(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    entries = run.mocks.of_type("aws:eks/accessEntry:AccessEntry")
    administrators = {
        *settings.cluster.admin_role_arns,
        settings.cluster.deploy_role_arn,
        run.exports["ciRoleArns"]["infrastructure"],
    }
    release = run.exports["ciRoleArns"]["release"]
    # dev's PR environments' role: in its group only (tests/program/test_pr_environments.py)
    pr = [run.exports["prEnvironmentRoleArn"]] if "prEnvironmentRoleArn" in run.exports else []
    assert {e.inputs["principalArn"] for e in entries} == {*administrators, release, *pr}
    associations = run.mocks.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    # the release role has no access policy: its group's Role (tests/program/test_release_role.py)
    assert {a.inputs["principalArn"] for a in associations} == administrators
    (entry,) = [e for e in entries if e.inputs["principalArn"] == release]
    assert entry.inputs["kubernetesGroups"] == ["switchyard:release"]
    for association in associations:
        assert association.inputs["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
        assert association.inputs["accessScope"] == {"type": "cluster"}
    assert run.mocks.options["cluster-k8s"].depends_on, "the provider waits for access"


def test_one_node_group_per_zone_in_the_private_subnets(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    groups = run.mocks.of_type("aws:eks/nodeGroup:NodeGroup")
    assert len(groups) == settings.network.az_count
    assert [g.inputs["subnetIds"] for g in groups] == [[s] for s in run.exports["privateSubnetIds"]]
    nodes = settings.cluster.nodes
    for group in groups:
        assert group.inputs["capacityType"] == (
            "SPOT" if nodes.capacity.value == "spot" else "ON_DEMAND"
        )
        assert group.inputs["instanceTypes"] == list(nodes.instance_types)
        assert group.inputs["scalingConfig"] == {
            "minSize": nodes.min_size,
            "desiredSize": nodes.desired_size,
            "maxSize": nodes.max_size,
        }
        assert run.mocks.options[group.name].ignore_changes == ("scalingConfig.desiredSize",)
        assert run.mocks.options[group.name].waits_for("cluster-vpc-cni")
    template = run.mocks.named("cluster-nodes", "aws:ec2/launchTemplate:LaunchTemplate").inputs
    assert "traffic-targets-sg-id" in template["vpcSecurityGroupIds"], "pods reachable by ALB"
    assert "sg-cluster" in template["vpcSecurityGroupIds"], "nodes reach the control plane"
    assert template["metadataOptions"]["httpTokens"] == "required"
    roles = [
        r.inputs["policyArn"].rsplit("/", 1)[1]
        for r in run.mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.name.startswith("cluster-nodes-")
    ]
    assert sorted(roles) == ["AmazonEC2ContainerRegistryReadOnly", "AmazonEKSWorkerNodePolicy"]


def test_the_add_ons_and_their_order(stack: tuple[Settings, Evaluation]) -> None:
    _, run = stack
    addons = {a.inputs["addonName"]: a for a in run.mocks.of_type("aws:eks/addon:Addon")}
    assert set(addons) == {"vpc-cni", "coredns", "kube-proxy", "amazon-cloudwatch-observability"}
    assert addons["vpc-cni"].inputs["serviceAccountRoleArn"] == arn_of(
        run, "cluster-vpc-cni", "aws:iam/role:Role"
    )
    cloudwatch = addons["amazon-cloudwatch-observability"]
    assert cloudwatch.inputs["serviceAccountRoleArn"] == arn_of(
        run, "cluster-cloudwatch", "aws:iam/role:Role"
    )
    for late in ("coredns", "amazon-cloudwatch-observability"):
        assert run.mocks.options[addons[late].name].waits_for("cluster-nodes-0"), late


def test_controllers_are_pinned_helm_releases_with_their_own_roles(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    releases = {
        r.inputs["name"]: r.inputs for r in run.mocks.of_type("kubernetes:helm.sh/v3:Release")
    }
    assert set(releases) == {"aws-load-balancer-controller", "cluster-autoscaler", "metrics-server"}
    controller = releases["aws-load-balancer-controller"]
    assert controller["version"] == LOAD_BALANCER_CONTROLLER["version"] == "3.5.0"
    assert controller["values"]["clusterName"] == settings.workload.cluster_name
    assert controller["values"]["vpcId"] == run.exports["vpcId"]
    account = controller["values"]["serviceAccount"]
    assert account["name"] == "aws-load-balancer-controller"
    assert account["annotations"]["eks.amazonaws.com/role-arn"] == (
        arn_of(run, "cluster-load-balancer-controller", "aws:iam/role:Role")
    )
    autoscaler = releases["cluster-autoscaler"]
    assert autoscaler["version"] == CLUSTER_AUTOSCALER_CHARTS[settings.cluster.kubernetes_version]
    assert autoscaler["values"]["autoDiscovery"]["clusterName"] == settings.workload.cluster_name
    assert autoscaler["values"]["rbac"]["serviceAccount"]["annotations"][
        "eks.amazonaws.com/role-arn"
    ] == arn_of(run, "cluster-cluster-autoscaler", "aws:iam/role:Role")
    assert releases["metrics-server"]["version"] == METRICS_SERVER["version"]
    for name in ("cluster-aws-load-balancer-controller", "cluster-cluster-autoscaler"):
        assert run.mocks.options[name].waits_for("cluster-coredns"), name


def test_every_kubernetes_object_goes_through_the_clusters_provider(
    stack: tuple[Settings, Evaluation],
) -> None:
    _, run = stack
    kubernetes = [r for r in run.mocks.resources if r.type.startswith("kubernetes:")]
    assert len(kubernetes) > 10
    for resource in kubernetes:
        assert resource.provider and "pulumi:providers:kubernetes::cluster-k8s" in resource.provider
    (provider,) = run.mocks.of_type("pulumi:providers:kubernetes")
    kubeconfig = json.loads(provider.inputs["kubeconfig"])
    (user,) = kubeconfig["users"]
    assert user["user"]["exec"]["command"] == "aws"
    assert user["user"]["exec"]["args"][:2] == ["eks", "get-token"]


# -- the two colours --------------------------------------------------------------------------


def test_each_colour_has_its_deployment_service_budget_and_binding(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    service = settings.workload.service_name
    for colour in Colour:
        name = f"{service}-{colour}"
        assert deployment(run, colour).inputs["metadata"]["name"] == name
        assert run.mocks.named(f"workload-{colour}-service").inputs["metadata"]["name"] == name
        budget = run.mocks.named(f"workload-{colour}-disruption-budget").inputs
        assert budget["spec"]["maxUnavailable"] == 1
        binding = run.mocks.named(f"workload-{colour}-binding")
        assert binding.type == TGB
        assert binding.inputs["spec"]["targetGroupARN"] == run.exports["targetGroupArns"][colour]
        assert binding.inputs["spec"]["targetType"] == "ip"
        assert binding.inputs["spec"]["serviceRef"] == {
            "name": name,
            "port": settings.alb.target_port,
        }
        options = run.mocks.options[f"workload-{colour}"]
        assert options.waits_for(f"workload-{colour}-binding"), "readiness gates need the binding"
        assert run.mocks.options[f"workload-{colour}-binding"].waits_for(
            "cluster-aws-load-balancer-controller"
        )
    for colour in Colour:
        group = run.mocks.named(f"traffic-{colour}").inputs
        assert group["targetType"] == "ip"


def test_pods_run_locked_down_and_drain_before_they_stop(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    for colour in Colour:
        pod = deployment(run, colour).inputs["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        (container,) = pod["containers"]
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pause > DEREGISTRATION_DELAY_SECONDS
        assert pod["terminationGracePeriodSeconds"] > pause
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["path"] == settings.alb.health_check.path
        limits = container["resources"]["limits"]
        assert limits == {
            "cpu": f"{settings.service.cpu_limit_millicores}m",
            "memory": f"{settings.service.memory_limit_mib}Mi",
        }
        (zones, hosts) = pod["topologySpreadConstraints"]
        assert zones["topologyKey"] == "topology.kubernetes.io/zone"
        assert zones["whenUnsatisfiable"] == "DoNotSchedule"
        for spread in (zones, hosts):  # a rollout's surge pods spread by their own revision
            assert spread["matchLabelKeys"] == ["pod-template-hash"]
            assert "pod-template-hash" not in spread["labelSelector"]["matchLabels"]
        assert pod["serviceAccountName"] == settings.workload.service_name
        assert "replicas" not in deployment(run, colour).inputs["spec"], "the HPA owns replicas"
    namespace = run.mocks.named("workload-namespace").inputs["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_service_account_reads_only_this_environments_secrets(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    account = run.mocks.named(
        "workload-service-account", "kubernetes:core/v1:ServiceAccount"
    ).inputs
    role_arn = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role_arn == arn_of(run, "workload-service-account", "aws:iam/role:Role")
    attached = [
        r.inputs["policyArn"]
        for r in run.mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.name.startswith("workload-service-account")
    ]
    assert attached == [run.exports["secretsReadPolicyArn"]]
    role = run.mocks.named("workload-service-account", "aws:iam/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (condition,) = [s["Condition"]["StringEquals"] for s in trust["Statement"]]
    subject = next(v for k, v in condition.items() if k.endswith(":sub"))
    ns = settings.workload.namespace
    assert subject == f"system:serviceaccount:{ns}:{settings.workload.service_name}"


def test_cpu_and_memory_alarms_read_the_pods_against_their_limits(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    alarms = {
        r.inputs["name"]: r.inputs
        for r in run.mocks.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    for colour in Colour:
        service = run.mocks.named(f"workload-{colour}-service").inputs["metadata"]
        for kind, metric in (
            ("cpu", "pod_cpu_utilization_over_pod_limit"),
            ("memory", "pod_memory_utilization_over_pod_limit"),
        ):
            alarm = alarms[f"switchyard-{settings.environment}-{colour}-{kind}"]
            assert alarm["namespace"] == "ContainerInsights"
            assert alarm["metricName"] == metric
            assert alarm["dimensions"] == {
                "ClusterName": run.mocks.named("cluster-eks").inputs["name"],
                "Namespace": service["namespace"],
                "Service": service["name"],
            }


def test_every_kubernetes_object_is_valid_for_the_clusters_version(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    objects = kubernetes_objects(run)
    assert {o.type for o in objects} >= {DEPLOYMENT, JOB, HPA, TGB}
    for resource in objects:
        errors = validation_errors(render(resource), settings.cluster.kubernetes_version)
        assert errors == [], f"{resource.name}: {errors}"


def test_validation_catches_what_the_api_server_rejects() -> None:
    run = evaluate("dev")
    version = load_stack("dev").cluster.kubernetes_version
    manifest = render(deployment(run, Colour.BLUE))
    manifest["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFs"] = True
    assert validation_errors(manifest, version)
    binding = render(run.mocks.named("workload-blue-binding"))
    binding["spec"]["targetGroupArn"] = binding["spec"].pop("targetGroupARN")
    assert validation_errors(binding, version)
    binding["spec"]["targetGroupARN"] = binding["spec"].pop("targetGroupArn")
    binding["spec"]["targetType"] = "pod"
    assert any("targetType" in e for e in validation_errors(binding, version))


# -- a release, step by step ------------------------------------------------------------------


def test_steady_state_the_live_colour_is_full_and_the_other_idle(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    live, other = settings.live_colour, settings.live_colour.other
    service = settings.service
    assert (autoscaler(run, live)["minReplicas"], autoscaler(run, live)["maxReplicas"]) == (
        service.min_replicas,
        service.max_replicas,
    )
    assert autoscaler(run, other)["minReplicas"] == autoscaler(run, other)["maxReplicas"]
    assert autoscaler(run, other)["maxReplicas"] == service.idle_replicas
    assert run.mocks.options[f"workload-{live}"].ignore_changes == ("spec.template",)
    assert run.mocks.options[f"workload-{other}"].ignore_changes == ()


def test_stage_puts_the_new_image_on_the_idle_colour_at_full_size() -> None:
    run = release("staging", Colour.BLUE, "stage", green=NEW)
    settings = load_stack("staging")
    assert image(run, Colour.GREEN) == NEW
    assert image(run, Colour.BLUE) == settings.service.images[Colour.BLUE]
    assert autoscaler(run, Colour.GREEN)["minReplicas"] == settings.service.min_replicas
    assert run.mocks.options["workload-blue"].ignore_changes == ("spec.template",)
    test = run.mocks.named("traffic-test").inputs["defaultActions"][0]
    assert test["targetGroupArn"] == run.exports["targetGroupArns"]["green"]
    weights = run.mocks.named("cutover-weights").inputs
    assert weights["live_colour"] == "blue", "production traffic does not move"
    assert run.mocks.of_type("time:index/sleep:Sleep") == []
    assert run.mocks.options["workload-green"].update_timeout == "15m"


def test_a_new_image_for_the_live_colour_never_rolls_its_pods_nor_runs_its_hook() -> None:
    # A mistake: the live colour's image changed. Its pods and its hook Job are frozen
    # (ignore_changes), so `pulumi up` leaves both; the image reaches users only by a release.
    run = release("prod", Colour.BLUE, "cleanup", blue=NEW.replace(":2.0.0", "@sha256:" + "a" * 64))
    assert run.mocks.options["workload-blue"].ignore_changes == ("spec.template",)
    assert run.mocks.options["workload-hook-blue"].ignore_changes == ("metadata", "spec")
    assert run.mocks.of_type(JOB) == [run.mocks.named("workload-hook-blue")]


def test_the_stage_step_runs_the_candidates_job_before_any_traffic() -> None:
    settings = load_stack("staging")
    run = release("staging", Colour.BLUE, "stage", green=NEW)
    jobs = {
        j.inputs["metadata"]["annotations"]["switchyard/release"]: j for j in run.mocks.of_type(JOB)
    }
    assert set(jobs) == {settings.service.images[Colour.BLUE], NEW}
    job = jobs[NEW].inputs
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == NEW
    assert container["command"] == list(settings.release.hook_command)
    assert job["spec"]["backoffLimit"] == 0
    assert "kubectl logs" in job["metadata"]["annotations"]["switchyard/logs"]
    assert "/aws/containerinsights/" in job["metadata"]["annotations"]["switchyard/logs"]
    # still staged: the cutover waits for the live colour's Job, which already ran
    assert run.mocks.options["cutover-weights"].waits_for(
        jobs[settings.service.images[Colour.BLUE]].name
    )


def test_promotion_waits_for_the_candidates_readiness_and_its_hook() -> None:
    run = release("staging", Colour.GREEN, "stage", green=NEW)
    (hook,) = [
        j
        for j in run.mocks.of_type(JOB)
        if j.inputs["metadata"]["annotations"]["switchyard/release"] == NEW
    ]
    weights = run.mocks.options["cutover-weights"]
    assert weights.waits_for("workload-green"), "the candidate's rollout and readiness"
    assert weights.waits_for(hook.name), "the candidate's pre-traffic Job"
    assert not weights.waits_for("workload-blue")
    assert run.mocks.named("cutover-weights").inputs["live_colour"] == "green"
    assert run.mocks.options[hook.name].ignore_changes == ("metadata", "spec"), "now live"
    # the old colour stays at full size until clean-up
    settings = load_stack("staging")
    assert autoscaler(run, Colour.BLUE)["minReplicas"] == settings.service.min_replicas
    assert run.mocks.options["workload-green"].ignore_changes == ("spec.template",)


def _job_for(run: Evaluation, image: str) -> Registered:
    (job,) = [
        j
        for j in run.mocks.of_type(JOB)
        if j.inputs["metadata"]["annotations"]["switchyard/release"] == image
    ]
    return job


def test_the_stage_step_runs_the_candidates_job_before_its_pods_start() -> None:
    run = release("staging", Colour.BLUE, "stage", green=NEW)
    job = _job_for(run, NEW)
    assert run.mocks.options["workload-green"].waits_for(job.name), "PreSync: Job, then pods"
    assert not run.mocks.options[job.name].waits_for("workload-green")
    live = _job_for(run, load_stack("staging").service.images[Colour.BLUE])
    assert run.mocks.options["workload-blue"].waits_for(live.name)


def test_a_running_hook_job_is_never_replaced_and_its_pods_are_not_evicted() -> None:
    run = release("staging", Colour.BLUE, "stage", green=NEW)
    for job in run.mocks.of_type(JOB):
        assert "pulumi.com/replaceUnready" not in job.inputs["metadata"]["annotations"]
        pod = job.inputs["spec"]["template"]["metadata"]
        assert pod["annotations"] == {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}


def test_a_changed_hook_is_a_new_job_and_the_same_release_keeps_its_job() -> None:
    first = _job_for(release("staging", Colour.BLUE, "stage", green=NEW), NEW)
    again = _job_for(release("staging", Colour.BLUE, "stage", green=NEW), NEW)
    assert again.inputs["metadata"]["name"] == first.inputs["metadata"]["name"]
    changed = evaluate(
        "staging",
        {
            "switchyard:liveColour": "blue",
            "switchyard:releaseStep": "stage",
            "switchyard:greenImage": NEW,
            "switchyard:hookCommand": ["migrate", "--again"],
        },
    )
    assert _job_for(changed, NEW).inputs["metadata"]["name"] != first.inputs["metadata"]["name"]


def test_the_first_deploys_job_waits_for_nodes_and_coredns() -> None:
    run = release("staging", Colour.BLUE, "stage", green=NEW)
    groups = [g.name for g in run.mocks.of_type("aws:eks/nodeGroup:NodeGroup")]
    (dns,) = [
        a for a in run.mocks.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "coredns"
    ]
    assert groups
    for job in run.mocks.of_type(JOB):
        for needed in [*groups, dns.name]:
            assert run.mocks.options[job.name].waits_for(needed), (job.name, needed)


def test_cleanup_shrinks_the_old_colour_only_after_the_cutover_and_the_delay() -> None:
    settings = load_stack("staging")
    run = release("staging", Colour.GREEN, "cleanup", green=NEW)
    (delay,) = run.mocks.of_type("time:index/sleep:Sleep")
    assert delay.inputs["createDuration"] == f"{settings.release.scale_down_delay_seconds}s"
    assert delay.inputs["triggers"] == {"colour": "blue", "release": NEW}
    assert run.mocks.options[delay.name].waits_for("cutover-weights"), "the shift itself"
    old = autoscaler(run, Colour.BLUE)
    assert (old["minReplicas"], old["maxReplicas"]) == (settings.service.idle_replicas,) * 2
    assert run.mocks.options["scaling-blue"].waits_for(delay.name)
    assert not run.mocks.options["scaling-green"].waits_for(delay.name)
    assert autoscaler(run, Colour.GREEN)["minReplicas"] == settings.service.min_replicas


@pytest.mark.parametrize("live", list(Colour))
def test_while_a_release_is_under_way_neither_colour_can_scale_down(live: Colour) -> None:
    # Before and during the shift (the promotion's `pulumi up` included) the default HPA would
    # shrink the colour losing traffic to minReplicas 300 s after its load left.
    under_way = {"switchyard:candidateReplicas": 2}
    run = evaluate("staging", {**stage_overrides(live), **under_way})
    for colour in Colour:
        assert autoscaler(run, colour)["behavior"] == {"scaleDown": {"selectPolicy": "Disabled"}}


@pytest.mark.parametrize("live", list(Colour))
def test_a_release_that_ended_unpromoted_holds_neither_colour(live: Colour) -> None:
    """candidateReplicas 0, the driver's value at every end: the autoscalers scale down again,
    the other colour keeps its full size for diagnosis."""
    run = evaluate("staging", {**stage_overrides(live), "switchyard:candidateReplicas": 0})
    settings = load_stack("staging")
    for colour in Colour:
        assert "behavior" not in autoscaler(run, colour)
        assert autoscaler(run, colour)["minReplicas"] == settings.service.min_replicas


def stage_overrides(live: Colour) -> dict[str, Any]:
    return {
        "switchyard:liveColour": live.value,
        "switchyard:releaseStep": "stage",
        "switchyard:greenImage": NEW,
    }


def test_cleanup_lifts_the_hold_only_for_the_live_colour_at_once() -> None:
    run = release("staging", Colour.GREEN, "cleanup", green=NEW)
    assert "behavior" not in autoscaler(run, Colour.GREEN)
    assert "behavior" not in autoscaler(run, Colour.BLUE)
    assert run.mocks.options["scaling-blue"].waits_for(
        run.mocks.of_type("time:index/sleep:Sleep")[0].name
    )


def test_no_hook_configured_means_no_job() -> None:
    run = evaluate("dev", {"switchyard:hookCommand": None})
    assert run.mocks.of_type(JOB) == []


def test_the_retired_hook_step_is_refused_before_anything_is_registered() -> None:
    mocks = RecordingMocks()
    with pytest.raises(ConfigError) as failure:
        evaluate("dev", {"switchyard:releaseStep": "hook"}, mocks=mocks)
    assert failure.value.keys == ("switchyard:releaseStep",)
    assert mocks.resources == []


class LiveColourRunsAnOlderImage(RecordingMocks):
    """The engine's answer for a frozen Deployment: the pods keep the image they run."""

    running = "registry.example.com/web:0.9.0"

    def new_resource(self, args: Any) -> tuple[str | None, dict[str, Any]]:
        resource_id, outputs = super().new_resource(args)
        if args.name == "workload-blue":
            outputs = json.loads(json.dumps(outputs))
            outputs["spec"]["template"]["spec"]["containers"][0]["image"] = self.running
        return resource_id, outputs


def test_a_live_image_that_differs_from_what_runs_stops_before_the_cutover() -> None:
    mocks = LiveColourRunsAnOlderImage()
    with pytest.raises(Exception, match=r"blueImage is .* but blue, the live colour, runs") as info:
        evaluate("staging", mocks=mocks)
    assert "stage it on green" in str(info.value)
    assert not [r for r in mocks.resources if r.name == "cutover-weights"], "no cutover ran"


def test_the_cutover_goes_ahead_when_the_live_colour_runs_its_image() -> None:
    run = evaluate("staging")
    weights = run.mocks.named("cutover-weights").inputs
    assert weights["release"] == load_stack("staging").service.images[Colour.BLUE]
    assert weights["listener_arn"] == run.exports["productionListenerArn"]


@pytest.mark.parametrize("live", list(Colour))
def test_until_clean_up_neither_colour_goes_below_the_live_colours_staged_size(
    live: Colour,
) -> None:
    settings = load_stack("staging")
    for step in ("stage", "cleanup"):
        overrides = {
            "switchyard:liveColour": live.value,
            "switchyard:releaseStep": step,
            "switchyard:greenImage": NEW,
            "switchyard:candidateReplicas": 5,
        }
        run = evaluate("staging", overrides)
        if step == "stage":  # the stage, and the promotion's `pulumi up` (liveColour flipped)
            assert [autoscaler(run, c)["minReplicas"] for c in Colour] == [5, 5]
        else:  # clean-up: the live colour back to its own floor, the other to idle
            assert autoscaler(run, live)["minReplicas"] == settings.service.min_replicas
            assert autoscaler(run, live.other)["minReplicas"] == settings.service.idle_replicas
        assert autoscaler(run, live)["maxReplicas"] == settings.service.max_replicas


def test_a_candidate_size_above_max_replicas_is_refused_before_anything_is_registered() -> None:
    mocks = RecordingMocks()
    overrides = {"switchyard:candidateReplicas": 7, "switchyard:releaseStep": "stage"}
    with pytest.raises(ConfigError) as refused:
        evaluate("staging", overrides, mocks=mocks)
    assert refused.value.keys == ("switchyard:candidateReplicas",)
    assert "raise maxReplicas to at least 7" in str(refused.value)
    assert mocks.resources == []


def test_each_autoscaler_is_created_after_its_namespace() -> None:
    """Not left to the provider's retries: an HPA sent before its namespace is refused."""
    run = evaluate("staging")
    for colour in Colour:
        assert run.mocks.options[f"scaling-{colour}"].waits_for("workload-namespace"), colour


def test_the_program_sets_exactly_the_environment_names_containerenv_may_not(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    own = {name for name, _ in settings.service.env}
    for colour in Colour:
        container = deployment(run, colour).inputs["spec"]["template"]["spec"]["containers"][0]
        names = [e["name"] for e in container["env"]]
        assert sorted(set(names) - own) == sorted(PROGRAM_ENV)
        assert len(names) == len(set(names))
