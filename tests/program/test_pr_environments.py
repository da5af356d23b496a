"""PR environments under the mock runtime: what dev declares for them (components/pr_base.py)
and one PR's graph (pr/Pulumi.yaml, components/pr_environment.py), with their IAM documents
judged by the evaluator and their Kubernetes objects by the schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.workload import RELEASE_RULES
from delivery.config.stackfile import load_stack
from delivery.errors import SwitchyardError
from delivery.plans.pr_environments import (
    BASE_KEYS,
    BASE_OUTPUT,
    BASE_PARAMETER_LIMIT,
    DEFAULT_BASE_PARAMETER,
    base_parameter,
    pr_names,
    read_base,
)
from delivery.plans.pr_iam import PR_TAG
from infra.offline import ACCOUNT, Evaluation, RecordingMocks, evaluate_pr
from policy.manifests import kubernetes_objects, render
from policy.offline import run_pack
from tests.program.harness import evaluate
from tests.program.iam_eval import Request, allows, allows_under
from tests.program.manifests import validation_errors

DIGEST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:" + "ab" * 32
REGION = "eu-west-1"
CREATED = "2026-12-07T09:00:00+00:00"


@pytest.fixture(scope="module")
def dev() -> Evaluation:
    return evaluate("dev")


@pytest.fixture(scope="module")
def base(dev: Evaluation) -> dict[str, Any]:
    found: dict[str, Any] = dev.exports[BASE_OUTPUT]
    return found


def config(
    dev_base: dict[str, Any], pr: int = 12, changes: dict[str, str] | None = None
) -> dict[str, str]:
    return {
        "pr": str(pr),
        "image": DIGEST,
        "base": json.dumps(dev_base),
        "priority": "1011",
        "createdAt": CREATED,
        **(changes or {}),
    }


@pytest.fixture(scope="module")
def run(base: dict[str, Any]) -> Evaluation:
    return evaluate_pr(config(base))


def policy_of(run: Evaluation, name: str, type_: str = "aws:iam/rolePolicy:RolePolicy") -> Any:
    return json.loads(run.mocks.named(name, type_).inputs["policy"])


# -- dev's base ---------------------------------------------------------------------------------


def test_dev_exports_every_key_the_pr_program_reads(base: dict[str, Any]) -> None:
    assert set(base) == set(BASE_KEYS)
    read = read_base(base, "dev")
    assert read.domain == "pr.dev.example.com" and read.scheme == "http"
    assert read.tags["owner"] == "platform-team"


def test_dev_writes_the_base_where_only_the_pr_role_reads_it(
    dev: Evaluation, base: dict[str, Any]
) -> None:
    """`pr-env up` reads the base from SSM, never from dev's state: reading a stack's outputs
    decrypts its secrets, which the pull request's code must not reach."""
    parameter = dev.mocks.named("pr-environments-base", "aws:ssm/parameter:Parameter").inputs
    assert parameter["name"] == base_parameter("switchyard-dev") == DEFAULT_BASE_PARAMETER
    value = parameter["insecureValue"]
    assert parameter["type"] == "String" and json.loads(value) == base
    assert len(value.encode()) <= BASE_PARAMETER_LIMIT
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{DEFAULT_BASE_PARAMETER}"
    assert allows(ci_policy(dev), Request("ssm:GetParameter", arn))
    rollback = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/switchyard/dev/rollback"
    assert not allows(ci_policy(dev), Request("ssm:GetParameter", rollback))
    assert not allows(ci_policy(dev), Request("ssm:PutParameter", arn))


def test_an_https_dev_presents_the_pr_certificate_for_pr_hosts() -> None:
    certificate = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"
    run = evaluate(
        "dev",
        {"switchyard:certificateArn": certificate, "switchyard:prCertificateArn": certificate},
    )
    (attached,) = run.mocks.of_type("aws:lb/listenerCertificate:ListenerCertificate")
    assert attached.inputs["certificateArn"] == certificate
    assert attached.inputs["listenerArn"] == run.exports[BASE_OUTPUT]["listenerArn"]
    assert run.exports[BASE_OUTPUT]["scheme"] == "https"


def test_only_dev_declares_the_base() -> None:
    for stack in ("staging", "prod"):
        assert BASE_OUTPUT not in evaluate(stack).exports
    assert load_stack("dev").pr_environments is not None


def test_a_wildcard_record_sends_every_pr_host_to_devs_alb(dev: Evaluation) -> None:
    record = dev.mocks.named("pr-environments-wildcard", "aws:route53/record:Record").inputs
    assert record["name"] == "*.pr.dev.example.com" and record["type"] == "A"
    assert record["zoneId"] == "Z0123456789ABCDEFGHIJ"
    alb = dev.mocks.named("traffic-alb", "aws:lb/loadBalancer:LoadBalancer").outputs
    assert record["aliases"][0]["name"] == alb["dnsName"]


def test_only_the_pr_github_environment_may_assume_the_pr_role(dev: Evaluation) -> None:
    role = dev.mocks.named("pr-environments-ci", "aws:iam/role:Role").inputs
    trust = json.loads(role["assumeRolePolicy"])["Statement"][0]
    subjects = trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
    assert subjects == ["repo:example-org/switchyard:environment:pr-environments"]


def ci_policy(dev: Evaluation) -> Any:
    return policy_of(dev, "pr-environments-ci")


ELB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"
ELB_ARN = ELB
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret"


def test_the_pr_role_writes_only_pr_names_and_pr_rules(
    dev: Evaluation, base: dict[str, Any]
) -> None:
    policy = ci_policy(dev)
    listener, boundary = base["listenerArn"], base["boundaryArn"]
    rule = listener.replace(":listener/", ":listener-rule/") + "/0123456789abcdef"
    tagged = {f"aws:ResourceTag/{PR_TAG}": "12"}
    pr_group, blue = (
        f"{ELB}:targetgroup/switchyard-dev-pr12/1",
        f"{ELB}:targetgroup/switchyard-dev-blue/1",
    )
    assert allows(policy, Request("elasticloadbalancing:CreateTargetGroup", pr_group))
    for lookup in ("DescribeAccountLimits", "DescribeListeners", "DescribeRules"):
        assert allows(policy, Request(f"elasticloadbalancing:{lookup}", "*")), lookup
    assert not allows(policy, Request("elasticloadbalancing:DeleteTargetGroup", blue))
    assert not allows(policy, Request("elasticloadbalancing:ModifyTargetGroup", blue))
    creating = {f"aws:RequestTag/{PR_TAG}": "12"}
    assert allows(policy, Request("elasticloadbalancing:CreateRule", listener, creating))
    assert not allows(policy, Request("elasticloadbalancing:CreateRule", listener))
    assert allows(policy, Request("elasticloadbalancing:DeleteRule", rule, tagged))
    # dev's own rules (no PR tag), and the listener's default action (the cutover's)
    assert not allows(policy, Request("elasticloadbalancing:ModifyRule", rule))
    assert not allows(policy, Request("elasticloadbalancing:ModifyListener", listener))
    app = f"arn:aws:iam::{ACCOUNT}:role/switchyard-dev-pr12-app"
    bounded = {"iam:PermissionsBoundary": boundary}
    assert allows(policy, Request("iam:CreateRole", app, bounded))
    assert not allows(policy, Request("iam:CreateRole", app))
    other = {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/switchyard-dev-boundary"}
    assert not allows(policy, Request("iam:CreateRole", app, other))
    for own in ("switchyard-dev-pr-environments", "switchyard-dev-release"):
        arn = f"arn:aws:iam::{ACCOUNT}:role/{own}"
        assert not allows(policy, Request("iam:PutRolePolicy", arn, bounded)), own
    assert not allows(policy, Request("iam:DeleteRolePermissionsBoundary", app))
    assert allows(policy, Request("secretsmanager:CreateSecret", f"{SECRET}:switchyard-dev-pr12/x"))
    for devs in ("switchyard-dev/database-password-AbC123", "switchyard-dev-other/x"):
        assert not allows(policy, Request("secretsmanager:GetSecretValue", f"{SECRET}:{devs}"))


def test_a_pr_app_role_can_do_no_more_than_read_pr_secrets(dev: Evaluation) -> None:
    boundary = policy_of(dev, "pr-environments-boundary", "aws:iam/policy:Policy")
    granted = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    assert allows_under(
        granted,
        boundary,
        Request("secretsmanager:GetSecretValue", f"{SECRET}:switchyard-dev-pr7/a"),
    )
    for action, resource in (
        ("secretsmanager:GetSecretValue", f"{SECRET}:switchyard-dev/database-password-AbC123"),
        ("iam:CreateRole", "*"),
        ("s3:GetObject", "*"),
        ("sts:AssumeRole", "*"),
    ):
        assert not allows_under(granted, boundary, Request(action, resource)), action


def test_the_pr_groups_writes_are_held_to_pr_namespaces(dev: Evaluation) -> None:
    policy = dev.mocks.named(
        "pr-environments-only-pr-namespaces",
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
    ).inputs["spec"]
    assert policy["failurePolicy"] == "Fail"
    assert policy["matchConditions"][0]["expression"] == (
        "'switchyard:pr-environments' in request.userInfo.groups"
    )
    operations = policy["matchConstraints"]["resourceRules"][0]["operations"]
    assert operations == ["CREATE", "UPDATE", "DELETE"]
    binding = dev.mocks.named(
        "pr-environments-only-pr-namespaces",
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding",
    ).inputs["spec"]
    assert binding == {"policyName": policy_name(dev), "validationActions": ["Deny"]}
    role = dev.mocks.named(
        "pr-environments-cluster-role", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
    ).inputs
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert not resources & {"secrets", "roles", "rolebindings", "clusterroles", "pods/exec"}
    # pulumi-kubernetes' Deployment await watches what the release role's rules read (among
    # them PersistentVolumeClaims): a forbidden watch never syncs and the `up` hangs
    readable = {r for rule in role["rules"] if "watch" in rule["verbs"] for r in rule["resources"]}
    watched = {r for rule in RELEASE_RULES if "watch" in rule["verbs"] for r in rule["resources"]}
    assert watched - {"horizontalpodautoscalers", "jobs"} <= readable


def admitted(spec: dict[str, Any], request: dict[str, Any], obj: Any = None) -> bool:
    """The policy's verdict on one admission request, its CEL run by cel-python: it applies
    when every matchCondition holds, and then admits only when every validation holds
    (Kubernetes "Validating Admission Policy": ``request`` is the AdmissionRequest, whose
    ``namespace`` is empty for a cluster-scoped object; ``object`` is null on DELETE)."""
    import celpy
    from celpy import celtypes
    from celpy.adapter import json_to_cel

    def substring(text: str, start: int, end: int | None = None) -> celtypes.StringType:
        # cel-go ext strings (in Kubernetes' CEL): code points from start, to end if given
        return celtypes.StringType(text[int(start) :] if end is None else text[int(start) : end])

    environment = celpy.Environment()
    activation: Any = {"request": json_to_cel(request), "object": json_to_cel(obj)}
    functions: Any = {"substring": substring}

    def holds(expression: str) -> bool:
        program = environment.program(environment.compile(expression), functions=functions)
        return bool(program.evaluate(activation))

    if not all(holds(c["expression"]) for c in spec["matchConditions"]):
        return True
    return all(holds(v["expression"]) for v in spec["validations"])


def admission_spec(dev: Evaluation) -> dict[str, Any]:
    found: dict[str, Any] = dev.mocks.named(
        "pr-environments-only-pr-namespaces",
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
    ).inputs["spec"]
    return found


PR_GROUP = ["system:authenticated", "switchyard:pr-environments"]
RESTRICTED = {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}
PR_TARGET_GROUP = f"{ELB_ARN}:targetgroup/switchyard-dev-pr12/0123456789abcdef"


def request_for(
    resource: str, namespace: str, name: str, operation: str = "CREATE", groups: Any = None
) -> dict[str, Any]:
    return {
        "userInfo": {"username": "arn:aws:sts::1:assumed-role/x/y", "groups": groups or PR_GROUP},
        "resource": {"group": "", "version": "v1", "resource": resource},
        "namespace": namespace,
        "name": name,
        "operation": operation,
    }


def binding(**spec: Any) -> dict[str, Any]:
    # as the controller's mutating webhook leaves it (targetgroupbinding_mutator.go)
    filled = {"vpcID": "vpc-1", "ipAddressType": "ipv4", "targetGroupProtocol": "HTTP"}
    base = {"serviceRef": {"name": "web", "port": 8080}, "targetType": "ip"}
    return {"metadata": {"name": "web"}, "spec": {**base, **filled, **spec}}


@pytest.mark.parametrize(
    ("request_", "obj", "verdict"),
    [
        (request_for("deployments", "pr-12", "web"), {"spec": {}}, True),
        (request_for("namespaces", "", "pr-12"), {"metadata": RESTRICTED}, True),
        (request_for("namespaces", "", "pr-12"), {"metadata": {}}, False),
        (
            request_for("namespaces", "", "pr-12", "UPDATE"),
            {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}},
            False,
        ),
        (request_for("namespaces", "", "pr-12", "DELETE"), None, True),
        (request_for("namespaces", "", "switchyard", "DELETE"), None, False),
        (request_for("deployments", "switchyard", "web-blue", "DELETE"), None, False),
        (request_for("deployments", "switchyard", "web-blue"), {"spec": {}}, False),
        (request_for("services", "kube-system", "kube-dns"), {"spec": {}}, False),
        (request_for("namespaces", "", "switchyard"), {"metadata": RESTRICTED}, False),
        (request_for("namespaces", "", ""), {"metadata": RESTRICTED}, False),  # generateName
        (request_for("clusterrolebindings", "", "pr-12"), {"subjects": []}, False),
        (request_for("services", "pr-12", "web"), {"spec": {"type": "ClusterIP"}}, True),
        (request_for("services", "pr-12", "web"), {"spec": {"type": "LoadBalancer"}}, False),
        (request_for("services", "pr-12", "web"), {"spec": {"type": "NodePort"}}, False),
        (request_for("services", "pr-12", "web"), {"spec": {"externalIPs": ["1.2.3.4"]}}, False),
        (
            request_for("targetgroupbindings", "pr-12", "web"),
            binding(targetGroupARN=PR_TARGET_GROUP),
            True,
        ),
        (
            request_for("targetgroupbindings", "pr-12", "web"),
            binding(targetGroupARN=f"{ELB_ARN}:targetgroup/switchyard-dev-blue/0123456789abcdef"),
            False,
        ),
        (
            request_for("targetgroupbindings", "pr-12", "web"),
            binding(targetGroupARN=PR_TARGET_GROUP, networking={"ingress": []}),
            False,
        ),
        # another PR's target group, even one whose number starts the same
        (
            request_for("targetgroupbindings", "pr-1", "web"),
            binding(targetGroupARN=PR_TARGET_GROUP),
            False,
        ),
        (
            request_for("targetgroupbindings", "pr-13", "web"),
            binding(targetGroupARN=PR_TARGET_GROUP),
            False,
        ),
        (
            request_for("targetgroupbindings", "pr-12", "web"),
            binding(targetGroupARN=PR_TARGET_GROUP, multiClusterTargetGroup=True),
            False,
        ),
        (
            request_for("targetgroupbindings", "pr-12", "web"),
            binding(targetGroupARN=PR_TARGET_GROUP, iamRoleArnToAssume="arn:aws:iam::1:role/x"),
            False,
        ),
        # another group is not judged by this policy
        (
            request_for("deployments", "switchyard", "web-blue", groups=["switchyard:release"]),
            {"spec": {}},
            True,
        ),
    ],
)
def test_the_admission_policy_admits_the_pr_group_only_inside_pr_namespaces(
    dev: Evaluation, request_: dict[str, Any], obj: Any, verdict: bool
) -> None:
    assert admitted(admission_spec(dev), request_, obj) is verdict


def test_every_object_of_a_pr_environment_is_admitted(dev: Evaluation, run: Evaluation) -> None:
    """The PR program's own objects, as its `pulumi up` sends them (a binding after the
    controller's webhook filled its defaults), pass the policy dev declares."""
    spec = admission_spec(dev)
    plural = {
        "Namespace": "namespaces",
        "ServiceAccount": "serviceaccounts",
        "Service": "services",
        "Deployment": "deployments",
        "TargetGroupBinding": "targetgroupbindings",
    }
    objects = [render(r) for r in kubernetes_objects(run)]
    assert sorted(o["kind"] for o in objects) == sorted(plural)
    for declared in objects:
        kind, metadata = declared["kind"], declared["metadata"]
        sent = declared
        if kind == "TargetGroupBinding":
            sent = {**declared, "spec": binding(**declared["spec"])["spec"]}
        namespace = "" if kind == "Namespace" else metadata["namespace"]
        request_ = request_for(plural[kind], namespace, metadata["name"])
        assert admitted(spec, request_, sent), sent


def policy_name(dev: Evaluation) -> str:
    return str(
        dev.mocks.named(
            "pr-environments-only-pr-namespaces",
            "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
        ).inputs["metadata"]["name"]
    )


# -- one PR's environment ------------------------------------------------------------------------


def test_a_pr_gets_its_namespace_target_group_rule_and_url(
    run: Evaluation, base: dict[str, Any]
) -> None:
    assert run.exports["url"] == "http://pr-12.pr.dev.example.com"
    namespace = run.mocks.named("pr-namespace", "kubernetes:core/v1:Namespace").inputs
    assert namespace["metadata"]["name"] == "pr-12"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    group = run.mocks.named("pr-target-group", "aws:lb/targetGroup:TargetGroup").inputs
    assert group["name"] == "switchyard-dev-pr12" and group["vpcId"] == base["vpcId"]
    assert group["targetType"] == "ip" and group["port"] == base["targetPort"]
    rule = run.mocks.named("pr-host-rule", "aws:lb/listenerRule:ListenerRule").inputs
    assert rule["listenerArn"] == base["listenerArn"] and rule["priority"] == 1011
    assert rule["conditions"] == [{"hostHeader": {"values": ["pr-12.pr.dev.example.com"]}}]
    assert rule["actions"][0]["targetGroupArn"] == run.exports["targetGroupArn"]
    binding = run.mocks.named(
        "pr-binding", "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
    ).inputs
    assert binding["metadata"]["namespace"] == "pr-12"
    assert binding["spec"]["targetGroupARN"] == run.exports["targetGroupArn"]


def test_a_passing_network_failure_never_empties_a_pr_stacks_state(run: Evaluation) -> None:
    """`up` refreshes; with deleteUnreachable the provider answers a refresh that cannot
    reach the cluster by deleting its objects from the state (pulumi-kubernetes provider.go
    Read), after which every `up` fails on objects that already exist."""
    (provider,) = run.mocks.of_type("pulumi:providers:kubernetes")
    assert provider.inputs.get("deleteUnreachable") in (None, "false")


def test_every_aws_resource_carries_devs_tags_and_the_pr_tag(run: Evaluation) -> None:
    (provider,) = run.mocks.of_type("pulumi:providers:aws")
    tags = (
        json.loads(provider.inputs["defaultTags"])["tags"]
        if isinstance(provider.inputs["defaultTags"], str)
        else provider.inputs["defaultTags"]["tags"]
    )
    assert tags[PR_TAG] == "12" and tags["owner"] == "platform-team"
    assert tags["created-at"] == CREATED
    aws = [r for r in run.mocks.resources if r.type.startswith("aws:")]
    assert aws and all(r.provider and "pr-aws" in r.provider for r in aws)


def test_one_prs_pods_read_only_that_prs_secrets(run: Evaluation, base: dict[str, Any]) -> None:
    role = run.mocks.named("pr-app", "aws:iam/role:Role").inputs
    assert role["name"] == "switchyard-dev-pr12-app"
    assert role["permissionsBoundary"] == base["boundaryArn"]
    trust = json.loads(role["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert f"{base['oidcIssuer']}:sub" in trust
    assert trust[f"{base['oidcIssuer']}:sub"] == "system:serviceaccount:pr-12:web"
    policy = policy_of(run, "pr-app")
    own = f"{SECRET}:switchyard-dev-pr12/database-password-AbC123"
    assert allows(policy, Request("secretsmanager:GetSecretValue", own))
    for other in (
        "switchyard-dev-pr1/database-password-AbC123",
        "switchyard-dev-pr120/database-password-AbC123",
        "switchyard-dev/database-password-AbC123",
    ):
        assert not allows(policy, Request("secretsmanager:GetSecretValue", f"{SECRET}:{other}"))
    via = {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}
    mine = {**via, "kms:EncryptionContext:SecretARN": own}
    theirs = {**via, "kms:EncryptionContext:SecretARN": f"{SECRET}:switchyard-dev-pr13/x-AbC123"}
    assert allows(policy, Request("kms:Decrypt", base["keyArn"], mine))
    assert not allows(policy, Request("kms:Decrypt", base["keyArn"], theirs))


def test_each_secret_is_the_prs_own_generated_value(run: Evaluation, base: dict[str, Any]) -> None:
    secrets = run.mocks.of_type("aws:secretsmanager/secret:Secret")
    assert sorted(s.inputs["name"] for s in secrets) == sorted(
        f"switchyard-dev-pr12/{n}" for n in base["secretNames"]
    )
    assert all(s.inputs["kmsKeyId"] == base["keyArn"] for s in secrets)
    assert all(s.inputs["recoveryWindowInDays"] == 0 for s in secrets)
    generated = run.mocks.of_type("random:index/randomPassword:RandomPassword")
    assert len(generated) == len(secrets) and all(g.inputs["length"] >= 32 for g in generated)


def test_the_kubernetes_objects_are_valid_for_devs_cluster(run: Evaluation) -> None:
    version = load_stack("dev").cluster.kubernetes_version
    objects = kubernetes_objects(run)
    assert len(objects) == 5
    for resource in objects:
        errors = validation_errors(render(resource), version)
        assert errors == [], f"{resource.name}: {errors}"


def test_the_baseline_passes_but_for_devs_trail(run: Evaluation) -> None:
    """The PR stack's secret reads are recorded by dev's trail (every management event of the
    account), which lives in dev's stack: that stack-wide rule cannot see it from here."""
    mandatory = {v.policy for v in run_pack(run.mocks.nodes) if v.mandatory}
    assert mandatory == {"cloudtrail-secret-reads-audited"}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"image": "registry.example.com/web:pr-12"}, "image: the pull request's image by digest"),
        ({"priority": "999"}, "priority: must be in 1000..50000"),
        ({"priority": "many"}, "priority: must be a whole number"),
        ({"createdAt": "2026-12-07T09:00:00"}, "createdAt: must be an ISO 8601 time with its zone"),
        ({"base": "{not json"}, "base: must be dev's output prEnvironmentBase as JSON"),
        ({"pr": "0"}, "integer in 1..2147483647"),
    ],
)
def test_a_bad_pr_config_is_refused_before_anything_is_registered(
    base: dict[str, Any], changes: dict[str, str], reason: str
) -> None:
    mocks = RecordingMocks()
    with pytest.raises(SwitchyardError) as raised:
        evaluate_pr(config(base, changes=changes), mocks)
    assert reason in str(raised.value)
    assert [r.type for r in mocks.resources] == []


def test_a_base_without_a_key_names_it(base: dict[str, Any]) -> None:
    partial = {k: v for k, v in base.items() if k != "keyArn"}
    with pytest.raises(SwitchyardError, match="lacks keyArn"):
        evaluate_pr(config(partial))
    with pytest.raises(SwitchyardError, match="parameter /x holds no PR environment base"):
        read_base(None, "parameter /x")


def test_the_names_of_the_largest_pr_fit_every_limit(base: dict[str, Any]) -> None:
    largest = 2**31 - 1
    run = evaluate_pr(config(base, pr=largest))
    names = pr_names(largest, "switchyard-dev")
    group = run.mocks.named("pr-target-group", "aws:lb/targetGroup:TargetGroup").inputs
    assert group["name"] == names.target_group and len(names.target_group) <= 32
    rule = run.mocks.named("pr-host-rule", "aws:lb/listenerRule:ListenerRule").inputs
    assert len(rule["conditions"][0]["hostHeader"]["values"][0]) <= 128
