"""The release role, which the deploy workflows assume: it does what a release changes and
nothing more, evaluated against the policies the program renders. The infrastructure role is
for the infrastructure workflow alone, behind its own GitHub environment."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from typing import Any

import pytest

from delivery.config.stackfile import available_stacks, load_stack
from delivery.errors import ConfigError
from delivery.release.scope import RELEASE_SCOPE
from infra.offline import ACCOUNT, Evaluation, RecordingMocks, Registered
from tests.program.harness import evaluate
from tests.program.iam_eval import Request, allows
from tests.unit.test_workflows import NAMES, jobs, load

RELEASE_ROLE = "${{ vars.AWS_RELEASE_ROLE_ARN }}"
INFRASTRUCTURE_ROLE = "${{ vars.AWS_INFRASTRUCTURE_ROLE_ARN }}"
ROLE_OF = {RELEASE_ROLE: "ci-release", INFRASTRUCTURE_ROLE: "ci-infrastructure"}
PR_ROLE = "${{ vars.AWS_PR_ENVIRONMENTS_ROLE_ARN }}"  # dev's only (components/pr_base.py)
DEFAULT_SESSION_SECONDS = 3600  # configure-aws-credentials' default role-duration-seconds
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"


def assuming() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(workflow, job, role variable, the step's inputs and the job's timeout) of every job
    that assumes an AWS role."""
    found = []
    for workflow, path in NAMES.items():
        for name, job in jobs(path).items():
            for step in job["steps"]:
                given = step.get("with", {})
                if "role-to-assume" in given:
                    timeout = {**given, "timeout": job["timeout-minutes"]}
                    found.append((workflow, name, given["role-to-assume"], timeout))
    return found


@pytest.fixture(scope="module", params=available_stacks())
def run(request: pytest.FixtureRequest) -> Evaluation:
    # The cluster exists: the program then also reads its version (infra/config.py).
    settings = load_stack(request.param)
    mocks = RecordingMocks(
        region=settings.region,
        clusters={settings.workload.cluster_name: settings.cluster.kubernetes_version},
    )
    return evaluate(request.param, mocks=mocks)


def release_policy_of(run: Evaluation) -> dict[str, Any]:
    (inline,) = [
        r for r in run.mocks.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "ci-release"
    ]
    (role,) = [r for r in run.mocks.of_type("aws:iam/role:Role") if r.name == "ci-release"]
    attached = [
        r
        for r in run.mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.inputs.get("role") == role.inputs["name"]
    ]
    assert attached == []  # its inline policy is all it may do
    document: dict[str, Any] = json.loads(inline.inputs["policy"])
    return document


def region_of(run: Evaluation) -> str:
    return run.mocks.region


# -- which workflow assumes which role ------------------------------------------------------------


def test_releases_assume_the_release_role_and_only_the_infrastructure_workflow_the_other() -> None:
    roles = {(w, j): role for w, j, role, _ in assuming() if role in ROLE_OF}
    assert {k: v for k, v in roles.items() if v == RELEASE_ROLE} == {
        ("deploy-prod", "promote"): RELEASE_ROLE,
        ("deploy-prod", "stage"): RELEASE_ROLE,
        ("deploy-staging", "promote"): RELEASE_ROLE,
        ("deploy-staging", "stage"): RELEASE_ROLE,
    }
    assert [k for k, v in roles.items() if v == INFRASTRUCTURE_ROLE] == [
        ("deploy-infrastructure", "up")
    ]
    pr_jobs = sorted((w, j) for w, j, role, _ in assuming() if role == PR_ROLE)
    assert pr_jobs == [("pr-environment", j) for j in ("destroy", "sweep", "up")]
    others = sorted({role for _, _, role, _ in assuming()} - set(ROLE_OF) - {PR_ROLE})
    # the preview role (read-only, not the program's) and the image push role (an input)
    assert others == ["${{ inputs.role-to-assume }}", "${{ vars.AWS_PREVIEW_ROLE_ARN }}"]


def test_each_session_fits_its_roles_maximum_and_outlives_the_job(run: Evaluation) -> None:
    """STS refuses AssumeRoleWithWebIdentity asking for more than the role's
    MaxSessionDuration; credentials that expire before the job's timeout leave a cutover
    (and its rollback) without AWS access half way."""
    checked = 0
    for workflow, job, variable, given in assuming():
        if variable not in ROLE_OF:
            continue
        (role,) = [r for r in run.mocks.of_type("aws:iam/role:Role") if r.name == ROLE_OF[variable]]
        maximum = int(role.inputs["maxSessionDuration"])
        session = int(given.get("role-duration-seconds", DEFAULT_SESSION_SECONDS))
        where = f"{workflow}.{job}"
        assert session <= maximum, f"{where} asks for {session} s; the role allows {maximum} s"
        assert session >= given["timeout"] * 60, f"{where} outlives its credentials"
        checked += 1
    assert checked == 5  # prod's and staging's stage and promote, and the infrastructure up


def test_each_pr_environment_session_fits_devs_pr_role_and_outlives_the_job() -> None:
    dev = evaluate("dev")
    (role,) = [r for r in dev.mocks.of_type("aws:iam/role:Role") if r.name == "pr-environments-ci"]
    maximum = int(role.inputs["maxSessionDuration"])
    sessions = [(j, given) for w, j, role_arn, given in assuming() if role_arn == PR_ROLE]
    assert len(sessions) == 3
    for job, given in sessions:
        session = int(given.get("role-duration-seconds", DEFAULT_SESSION_SECONDS))
        assert given["timeout"] * 60 <= session <= maximum, job


def trusted_subjects(run: Evaluation, role: str) -> list[str]:
    (found,) = [r for r in run.mocks.of_type("aws:iam/role:Role") if r.name == role]
    (statement,) = json.loads(found.inputs["assumeRolePolicy"])["Statement"]
    subjects = statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
    return sorted([subjects] if isinstance(subjects, str) else subjects)


@pytest.mark.parametrize("stack", available_stacks())
def test_each_role_trusts_only_its_own_github_environments(stack: str) -> None:
    """A release job's token (environment staging) cannot become the infrastructure role, and
    the infrastructure workflow's cannot become the release role."""
    run = evaluate(stack)
    security = load_stack(stack).security
    repository = security.github_repository
    assert trusted_subjects(run, "ci-release") == sorted(
        f"repo:{repository}:environment:{e}" for e in security.github_environments
    )
    assert trusted_subjects(run, "ci-infrastructure") == [
        f"repo:{repository}:environment:infrastructure-{stack}"
    ]


def test_the_infrastructure_workflow_never_shares_a_runner_with_a_release() -> None:
    """A release job on a self-hosted runner runs develop's code without a reviewer: a runner
    it shares could hand the next infrastructure job's credentials to that code."""
    (job,) = jobs(NAMES["deploy-infrastructure"]).values()
    labels = {str(label) for label in job["runs-on"]}
    release_labels = {
        str(label)
        for workflow in ("deploy-staging", "deploy-prod")
        for release in jobs(NAMES[workflow]).values()
        for label in release["runs-on"]
    }
    assert "switchyard-${{ inputs.stack }}-infrastructure" in labels
    own = labels - {"self-hosted", "linux"}
    assert not own & release_labels
    for stack in available_stacks():  # no release label is some stack's infrastructure one
        assert f"switchyard-{stack}-infrastructure" not in release_labels


def test_the_infrastructure_workflow_runs_in_the_environment_its_role_trusts() -> None:
    (job,) = jobs(NAMES["deploy-infrastructure"]).values()
    inputs = load(NAMES["deploy-infrastructure"])["on"]["workflow_dispatch"]["inputs"]
    stacks = inputs["stack"]["options"]
    assert sorted(stacks) == sorted(available_stacks())
    for stack in stacks:
        environment = job["environment"].replace("${{ inputs.stack }}", stack)
        assert environment == load_stack(stack).security.github_infrastructure_environment


def test_an_infrastructure_environment_that_releases_too_is_refused() -> None:
    with pytest.raises(ConfigError, match="also in githubEnvironments"):
        evaluate("staging", {"switchyard:githubInfrastructureEnvironment": "staging"})
    with pytest.raises(ConfigError, match="also in githubEnvironments"):  # GitHub ignores case
        evaluate("staging", {"switchyard:githubInfrastructureEnvironment": "Staging"})
    with pytest.raises(ConfigError, match=r"githubInfrastructureEnvironment.*a GitHub environment"):
        evaluate("staging", {"switchyard:githubInfrastructureEnvironment": "infra staging"})


def test_a_named_infrastructure_environment_is_the_one_trusted() -> None:
    run = evaluate("staging", {"switchyard:githubInfrastructureEnvironment": "ops-staging"})
    repository = load_stack("staging").security.github_repository
    assert trusted_subjects(run, "ci-infrastructure") == [
        f"repo:{repository}:environment:ops-staging"
    ]


# -- what a release's `pulumi up` asks of the release role ---------------------------------------

Lookup = Callable[[dict[str, Any], str], list[Request]]


def _by_path(args: dict[str, Any], region: str) -> list[Request]:
    # Authorised against the path itself (Systems Manager user guide, "How Parameter Store
    # authorizes parameter retrieval").
    path = f"arn:aws:ssm:{region}:{ACCOUNT}:parameter{args['path']}"
    return [Request("ssm:GetParametersByPath", path)]


def _cluster(args: dict[str, Any], region: str) -> list[Request]:
    return [
        Request("eks:DescribeCluster", f"arn:aws:eks:{region}:{ACCOUNT}:cluster/{args['name']}")
    ]


def _anywhere(*actions: str) -> Lookup:
    return lambda _args, _region: [Request(a, "*") for a in actions]


# Each data source the program calls, and the IAM requests its provider makes
# (terraform-provider-aws data sources; the Service Authorization Reference: none of the "*"
# actions takes a resource type).
LOOKUPS: dict[str, Lookup] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _anywhere(
        "ec2:DescribeAvailabilityZones"
    ),
    # STS: "No permissions are required to perform this operation" (GetCallerIdentity).
    "aws:index/getCallerIdentity:getCallerIdentity": _anywhere(),
    # Answered from tables inside the provider: no AWS call.
    "aws:index/getPartition:getPartition": _anywhere(),
    "aws:elb/getServiceAccount:getServiceAccount": _anywhere(),
    "aws:eks/getClusters:getClusters": _anywhere("eks:ListClusters"),
    "aws:eks/getCluster:getCluster": _cluster,
    "aws:eks/getAddonVersion:getAddonVersion": _anywhere("eks:DescribeAddonVersions"),
    "aws:ssm/getParametersByPath:getParametersByPath": _by_path,
}


def test_the_release_role_may_make_every_lookup_of_the_program(run: Evaluation) -> None:
    """The program looks these up on every `pulumi up`, a release's too: one refused fails the
    release before its first step."""
    policy, region = release_policy_of(run), region_of(run)
    tokens = {token for token, _ in run.mocks.invoked}
    assert "aws:eks/getCluster:getCluster" in tokens  # the cluster exists in this run
    assert sorted(tokens - set(LOOKUPS)) == [], "say which IAM requests these make in LOOKUPS"
    refused = [
        str(request)
        for token, args in run.mocks.invoked
        for request in LOOKUPS[token](args, region)
        if not allows(policy, request)
    ]
    assert refused == []


def _listener(resource: Registered, region: str) -> list[Request]:
    arn = resource.outputs["arn"]
    # terraform-provider-aws elbv2/listener.go: ModifyListener, then the listener read back.
    return [
        Request("elasticloadbalancing:ModifyListener", arn),
        Request("elasticloadbalancing:DescribeListeners", "*"),
        Request("elasticloadbalancing:DescribeListenerAttributes", "*"),
        Request("elasticloadbalancing:DescribeTags", "*"),
    ]


def _alarm(resource: Registered, region: str) -> list[Request]:
    arn = f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{resource.inputs['name']}"
    # cloudwatch/metric_alarm.go: PutMetricAlarm (with the tags), DescribeAlarms, the tags.
    return [
        Request("cloudwatch:PutMetricAlarm", arn),
        Request("cloudwatch:TagResource", arn),
        Request("cloudwatch:DescribeAlarms", arn),
        Request("cloudwatch:ListTagsForResource", arn),
    ]


def _dashboard(resource: Registered, region: str) -> list[Request]:
    arn = f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{resource.inputs['dashboardName']}"
    return [Request("cloudwatch:PutDashboard", arn), Request("cloudwatch:GetDashboard", arn)]


UPDATES: dict[str, Callable[[Registered, str], list[Request]]] = {
    "aws:lb/listener:Listener": _listener,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
}
# No AWS call of their own: a local timer, and the cutover (its calls are the release role's
# cutover statements, tests/program/test_ci_deploy_role.py realistic_targets).
LOCAL = {"time:index/sleep:Sleep", "pulumi-python:dynamic:Resource"}


def in_scope(run: Evaluation) -> list[Registered]:
    return [
        r
        for r in run.mocks.resources
        if any(a.type == r.type and fnmatch.fnmatchcase(r.name, a.names) for a in RELEASE_SCOPE)
    ]


def test_the_release_role_may_apply_every_change_a_release_may_make(run: Evaluation) -> None:
    policy, region = release_policy_of(run), region_of(run)
    kinds = {a.type for a in RELEASE_SCOPE}
    uncovered = sorted(kinds - set(UPDATES) - LOCAL - {k for k in kinds if k.startswith("kube")})
    assert uncovered == [], "say which IAM requests updating these makes in UPDATES"
    resources = in_scope(run)
    assert {r.type for r in resources} == kinds  # every scope entry names a real resource
    refused = [
        f"{r.name}: {request}"
        for r in resources
        if r.type in UPDATES
        for request in UPDATES[r.type](r, region)
        if not allows(policy, request)
    ]
    assert refused == []


def release_rules(run: Evaluation) -> tuple[str, set[tuple[str, str, str]]]:
    """The namespace and the (API group, resource, verb) the release role's group may use."""
    release = run.exports["ciRoleArns"]["release"]
    (entry,) = [r for r in run.mocks.of_type(ACCESS_ENTRY) if r.inputs["principalArn"] == release]
    groups = entry.inputs["kubernetesGroups"]
    assert not [r for r in run.mocks.of_type(ACCESS_POLICY) if r.inputs["principalArn"] == release]
    bindings = [
        r
        for r in run.mocks.resources
        if r.type.endswith(("/v1:RoleBinding", "/v1:ClusterRoleBinding"))
        and any(s["name"] in groups for s in r.inputs["subjects"])
    ]
    (binding,) = bindings  # one RoleBinding, no ClusterRoleBinding
    assert binding.type == "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
    namespace = binding.inputs["metadata"]["namespace"]
    (role,) = [
        r
        for r in run.mocks.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role")
        if r.inputs["metadata"]["name"] == binding.inputs["roleRef"]["name"]
        and r.inputs["metadata"]["namespace"] == namespace
    ]
    allowed = {
        (group, resource, verb)
        for rule in role.inputs["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert not any("*" in part for triple in allowed for part in triple)  # no wildcard
    return namespace, allowed


KIND = {
    "kubernetes:apps/v1:Deployment": ("apps", "deployments"),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": (
        "autoscaling",
        "horizontalpodautoscalers",
    ),
    "kubernetes:batch/v1:Job": ("batch", "jobs"),
}


def test_the_release_role_changes_only_the_workloads_of_its_namespace(run: Evaluation) -> None:
    """Its `pulumi up` updates the Deployments and autoscalers and replaces the hook Jobs as
    itself, and pulumi-kubernetes watches their ReplicaSets, Pods and PVCs until ready
    (provider/pkg/await); nothing else: no exec, attach or port-forward into a pod (a shell as
    the workload's IRSA role), no Secrets, no Services or Ingresses (the load balancer
    controller would build a new internet-facing load balancer), no RBAC, no other namespace."""
    namespace, allowed = release_rules(run)
    kubernetes = [r for r in in_scope(run) if r.type.startswith("kube")]
    assert {r.inputs["metadata"]["namespace"] for r in kubernetes} == {namespace}
    for resource in kubernetes:
        group, plural = KIND[resource.type]
        verbs = {"get", "patch"} | ({"create", "delete"} if plural == "jobs" else set())
        missing = {v for v in verbs if (group, plural, v) not in allowed}
        assert missing == set(), f"{resource.name}: {missing}"
    for group, plural in (("apps", "replicasets"), ("", "pods"), ("", "persistentvolumeclaims")):
        assert (group, plural, "watch") in allowed
    forbidden = [
        ("", "pods/exec", "create"),
        ("", "pods/attach", "create"),
        ("", "pods/portforward", "create"),
        ("", "pods", "create"),
        ("", "secrets", "get"),
        ("", "services", "create"),
        ("networking.k8s.io", "ingresses", "create"),
        ("", "serviceaccounts", "create"),
        ("rbac.authorization.k8s.io", "rolebindings", "create"),
        ("elbv2.k8s.aws", "targetgroupbindings", "patch"),
    ]
    assert [f for f in forbidden if f in allowed] == []


def test_the_release_role_changes_no_infrastructure(run: Evaluation) -> None:
    """What an infrastructure change needs, and a release must never do (each refused)."""
    policy, region = release_policy_of(run), region_of(run)
    (role,) = [r for r in run.mocks.of_type("aws:iam/role:Role") if r.name == "ci-release"]
    prefix = str(role.inputs["name"]).removesuffix("-release")
    here = f"{region}:{ACCOUNT}"
    elb = f"arn:aws:elasticloadbalancing:{here}"
    forbidden = [
        Request("ec2:CreateVpc", "*"),
        Request("ec2:AuthorizeSecurityGroupIngress", f"arn:aws:ec2:{here}:security-group/sg-1"),
        Request("ec2:CreateTags", f"arn:aws:ec2:{here}:security-group/sg-1"),
        Request("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/{prefix}-anything"),
        Request("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/{prefix}-infrastructure"),
        Request("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/{prefix}-release"),
        Request("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/{prefix}-infrastructure"),
        Request("eks:UpdateClusterConfig", f"arn:aws:eks:{here}:cluster/{prefix}"),
        Request("eks:AssociateAccessPolicy", f"arn:aws:eks:{here}:cluster/{prefix}"),
        Request("eks:CreateAccessEntry", f"arn:aws:eks:{here}:cluster/{prefix}"),
        Request("eks:UpdateNodegroupConfig", f"arn:aws:eks:{here}:nodegroup/{prefix}/a/b"),
        Request("kms:ScheduleKeyDeletion", f"arn:aws:kms:{here}:key/any"),
        Request("kms:PutKeyPolicy", f"arn:aws:kms:{here}:key/any"),
        Request("cloudtrail:StopLogging", f"arn:aws:cloudtrail:{here}:trail/{prefix}-audit"),
        # the rollback alarms judge the release: it may not loosen them
        Request("cloudwatch:PutMetricAlarm", f"arn:aws:cloudwatch:{here}:alarm:{prefix}-blue-5xx"),
        Request("cloudwatch:DeleteAlarms", f"arn:aws:cloudwatch:{here}:alarm:{prefix}-slo-x"),
        Request("cloudwatch:DeleteDashboards", f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{prefix}"),
        Request("sns:SetTopicAttributes", f"arn:aws:sns:{here}:{prefix}-critical"),
        Request("sns:Subscribe", f"arn:aws:sns:{here}:{prefix}-critical"),
        Request("s3:PutBucketPolicy", f"arn:aws:s3:::{prefix}-releases-x"),
        Request("s3:DeleteObject", f"arn:aws:s3:::{prefix}-releases-x/records/a.json"),
        Request("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{here}:secret:x"),
        Request("ssm:PutParameter", f"arn:aws:ssm:{here}:parameter/switchyard/other/release/x"),
        Request("elasticloadbalancing:ModifyListener", f"{elb}:listener/app/other/1/2"),
        Request("elasticloadbalancing:DeleteListener", f"{elb}:listener/app/{prefix}/1/2"),
        Request("elasticloadbalancing:ModifyTargetGroup", f"{elb}:targetgroup/{prefix}-blue/1"),
    ]  # fmt: skip
    allowed = [str(r) for r in forbidden if allows(policy, r)]
    assert allowed == []
