"""The role the deploy workflows assume can really run a release.

The workflows take ``vars.AWS_DEPLOY_ROLE_ARN``, which the README sets to the stack's CI
infrastructure role: the driver runs ``pulumi up`` (the infrastructure role's business) and its
own calls around it (the release role's list: records, baseline, notifications, the abort).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.ci_roles import (
    BOUNDARY_ALLOWS,
    Targets,
    guardrails_policy,
    infrastructure_policy,
    permissions_boundary_document,
    release_policy,
)
from components.cluster import VENDORED
from components.keys import Account
from delivery.config.model import Settings
from delivery.config.regions import ZONES
from delivery.config.stackfile import available_stacks, load_stack
from delivery.errors import ConfigError
from delivery.release.truth import state_folder, state_parameter
from infra.offline import ACCOUNT, Evaluation, Registered
from infra.offline import aws_name as offline_aws_name
from policy.iam_actions import expand
from policy.iam_audit import IDENTITY_POLICIES, Document, unreachable_resources
from tests.program.harness import arn_of, evaluate
from tests.program.iam_eval import Request, allows, allows_under, denies, requests_of

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
REGION = "eu-west-1"
ACCOUNT_OF = Account("aws", ACCOUNT, REGION)


@pytest.fixture(scope="module", params=available_stacks())
def run(request: pytest.FixtureRequest) -> Evaluation:
    return evaluate(request.param)


def realistic_targets(environment: str) -> Targets:
    """ARNs as AWS writes them (the mock runtime's are placeholders for some types)."""
    prefix = f"switchyard-{environment}"
    elb = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"
    return Targets(
        listener_arns=[
            f"{elb}:listener/app/{prefix}/50dc6c495c0c9188/f2f7dc8efc522ab2",
            f"{elb}:listener/app/{prefix}/50dc6c495c0c9188/0467ef3c8400ae65",
        ],
        topic_arns=[f"arn:aws:sns:{REGION}:{ACCOUNT}:{prefix}-{t}" for t in ("info", "critical")],
        alerting_key_arn=f"{key}1234abcd-12ab-34cd-56ef-1234567890ab",
        records_bucket_arn=f"arn:aws:s3:::{prefix}-releases-20261102093012345600000001",
        records_key_arn=f"{key}0987dcba-09fe-87dc-65ba-ab0987654321",
    )


@pytest.mark.parametrize("stack", available_stacks())
def test_the_deploy_role_may_do_everything_a_release_does(stack: str) -> None:
    settings = load_stack(stack)
    environment, cluster = settings.environment, settings.workload.cluster_name
    prefix = f"switchyard-{environment}"
    targets = realistic_targets(environment)
    release = json.loads(release_policy(ACCOUNT_OF, prefix, environment, cluster, targets))
    infrastructure = json.loads(
        infrastructure_policy(
            ACCOUNT_OF,
            prefix,
            environment,
            cluster,
            f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0abc",
            targets.records_key_arn,  # the environment's key encrypts secrets and records
            targets.alerting_key_arn,
            boundary_arn=f"arn:aws:iam::{ACCOUNT}:policy/{prefix}-boundary",
        )
    )
    refused = [str(r) for r in requests_of(release) if not allows(infrastructure, r)]
    assert refused == []
    # The release state: the driver reads and writes its parameter, and the program (run by
    # the same role) lists its folder; GetParametersByPath is authorised against the path, not
    # the parameters it returns (Systems Manager user guide, "How Parameter Store authorizes
    # parameter retrieval").
    ssm = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
    state = [
        Request("ssm:GetParameter", f"{ssm}{state_parameter(environment, stack)}"),
        Request("ssm:PutParameter", f"{ssm}{state_parameter(environment, stack)}"),
        Request("ssm:GetParametersByPath", f"{ssm}{state_folder(environment)}"),
    ]
    assert [str(r) for r in state if not allows(infrastructure, r)] == []


def test_the_evaluator_refuses_what_iam_refuses() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::a-*/*"},
            {
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": ["s3.x", "sns.x"]}},
            },
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::a-secret/*"},
        ]
    }
    assert allows(document, Request("S3:getobject", "arn:aws:s3:::a-b/k"))
    assert not allows(document, Request("s3:GetObject", "arn:aws:s3:::b/k"))
    assert not allows(document, Request("s3:GetObject", "arn:aws:s3:::a-secret/k"))
    assert not allows(document, Request("s3:PutObject", "arn:aws:s3:::a-b/k"))
    assert allows(document, Request("kms:Decrypt", "k", {"kms:ViaService": "sns.x"}))
    assert not allows(document, Request("kms:Decrypt", "k", {"kms:ViaService": "ssm.x"}))
    assert not allows(document, Request("kms:Decrypt", "k"))


ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"


def admitted(run: Evaluation) -> list[str]:
    """The principals the cluster admits with cluster-wide administration."""
    entries = [str(r.inputs["principalArn"]) for r in run.mocks.of_type(ACCESS_ENTRY)]
    associated = {
        str(r.inputs["principalArn"])
        for r in run.mocks.of_type(ACCESS_POLICY)
        if r.inputs["accessScope"] == {"type": "cluster"}
        and str(r.inputs["policyArn"]).endswith(
            ":cluster-access-policy/AmazonEKSClusterAdminPolicy"
        )
    }
    return sorted(e for e in entries if e in associated)


def test_the_cluster_admits_the_infrastructure_role_as_administrator_and_not_the_release_role(
    run: Evaluation,
) -> None:
    """The infrastructure workflow's `pulumi up` installs the controllers and CRDs through the
    Kubernetes API, reached with `aws eks get-token` as its role: without an access entry,
    Unauthorized. The release role edits one namespace (tests/program/test_release_role.py)."""
    roles = run.exports["ciRoleArns"]
    assert admitted(run).count(roles["infrastructure"]) == 1
    assert roles["release"] not in admitted(run)


def test_the_stacks_own_ci_role_named_in_config_is_refused_before_anything_is_created() -> None:
    """Named there, its access entry would be built from the bare ARN with no dependency on the
    role, and EKS refuses an entry for a principal that does not exist yet (first deploy)."""
    deploy = f"arn:aws:iam::{ACCOUNT}:role/switchyard-staging-infrastructure"
    with pytest.raises(ConfigError, match="a CI role this stack creates"):
        evaluate("staging", {"switchyard:deployRoleArn": deploy})


def test_the_infrastructure_roles_access_entry_waits_for_the_role(run: Evaluation) -> None:
    (entry,) = [
        r
        for r in run.mocks.of_type(ACCESS_ENTRY)
        if r.inputs["principalArn"] == arn_of(run, "ci-infrastructure", "aws:iam/role:Role")
    ]
    assert entry  # the mock runtime's ARN of the ci-infrastructure role: an output of it


# -- what `pulumi up` of the stack asks of the deploy role --------------------------------------

ROLE = "aws:iam/role:Role"
CI_ROLES = {
    "ci-release",
    "ci-infrastructure",
    "pr-environments-ci",
}  # an administrator's `pulumi up` manages these


def aws_name(resource: Registered) -> str:
    return offline_aws_name(resource.name, resource.inputs)


def creations(run: Evaluation, settings: Settings) -> list[Request]:
    """The calls that create the stack's IAM principals, log groups and cluster access, on
    the ARNs AWS gives them."""
    account = Account("aws", ACCOUNT, settings.region)
    cluster = settings.workload.cluster_name
    wanted: list[Request] = []
    for role in run.mocks.of_type(ROLE):
        if role.name not in CI_ROLES:
            arn = account.arn("iam", f"role/{aws_name(role)}", region=False)
            bound = role.inputs.get("permissionsBoundary")
            context = {"iam:PermissionsBoundary": str(bound)} if bound else {}
            wanted.append(Request("iam:CreateRole", arn, context))
    for policy in run.mocks.of_type("aws:iam/policy:Policy"):
        arn = account.arn("iam", f"policy/{aws_name(policy)}", region=False)
        wanted.append(Request("iam:CreatePolicy", arn))
    for provider in run.mocks.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider"):
        host = str(provider.inputs["url"]).removeprefix("https://")
        arn = account.arn("iam", f"oidc-provider/{host}", region=False)
        wanted.append(Request("iam:CreateOpenIDConnectProvider", arn))
    for group in run.mocks.of_type("aws:cloudwatch/logGroup:LogGroup"):
        arn = account.arn("logs", f"log-group:{aws_name(group)}")
        wanted.append(Request("logs:CreateLogGroup", arn))
    for _ in run.mocks.of_type(ACCESS_POLICY):
        entry = (
            f"access-entry/{cluster}/role/{ACCOUNT}/someone/0ac9a1ee-4b4c-8b7a-3c33-5d1e6f7a8b9c"
        )
        wanted.append(Request("eks:AssociateAccessPolicy", account.arn("eks", entry)))
    return wanted


@pytest.mark.parametrize("stack", available_stacks())
def test_the_deploy_role_can_create_every_principal_log_group_and_access_of_the_stack(
    stack: str,
) -> None:
    """Every IAM role the program declares is named under the environment's prefix (the
    deploy role manages only those), and so are its log groups and cluster access."""
    settings, run = load_stack(stack), evaluate(stack)
    (policy,) = [r for r in run.mocks.of_type(ROLE_POLICY) if r.name == "ci-infrastructure"]
    infrastructure = json.loads(policy.inputs["policy"])
    wanted = creations(run, settings)
    assert len(wanted) > 20
    prefixes = [str(r.inputs.get("namePrefix", "")) for r in run.mocks.of_type(ROLE)]
    assert max(map(len, prefixes)) <= 38  # IAM: 64 characters, 26 of them the provider's
    assert [str(r) for r in wanted if not allows(infrastructure, r)] == []


# Where the program passes a role, and the service IAM names as iam:PassedToService there.
PASSED_IN = {
    ("aws:eks/cluster:Cluster", "roleArn"): "eks.amazonaws.com",
    ("aws:eks/nodeGroup:NodeGroup", "nodeRoleArn"): "eks.amazonaws.com",
    ("aws:eks/addon:Addon", "serviceAccountRoleArn"): "eks.amazonaws.com",
    ("aws:ec2/flowLog:FlowLog", "iamRoleArn"): "vpc-flow-logs.amazonaws.com",
    ("aws:cloudtrail/trail:Trail", "cloudWatchLogsRoleArn"): "cloudtrail.amazonaws.com",
    ("aws:sns/topic:Topic", "httpSuccessFeedbackRoleArn"): "sns.amazonaws.com",
    ("aws:sns/topic:Topic", "httpFailureFeedbackRoleArn"): "sns.amazonaws.com",
    ("aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration", "iamRoleArn"): (
        "chatbot.amazonaws.com"
    ),
}
CHAT = ("aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration", "iamRoleArn")


def test_the_deploy_role_passes_each_role_only_to_the_service_that_uses_it(
    run: Evaluation,
) -> None:
    """iam:PassRole without iam:PassedToService would let it hand a role of the environment to
    any service: an EC2 instance profile or a Lambda function that then acts as that role."""
    infrastructure = infrastructure_of(run)
    roles = {r.outputs["arn"]: r for r in run.mocks.of_type(ROLE) if r.name not in CI_ROLES}
    where = {
        (r.type, key): value
        for r in run.mocks.resources
        for key, value in r.inputs.items()
        # AWS names every input that passes a role ...RoleArn (the mock runtime's ARNs are
        # the logical names, so other inputs may equal a role's by chance)
        if key.lower().endswith("rolearn") and value in roles
    }
    expected = set(PASSED_IN) - ({CHAT} if not run.mocks.of_type(CHAT[0]) else set())
    assert set(where) == expected, "say which service each new place passes a role to"
    passed = [(roles[value], PASSED_IN[place]) for place, value in where.items()]
    for role, service in passed:
        arn = f"arn:aws:iam::{ACCOUNT}:role/{aws_name(role)}"
        # The trail's delivery role is an administrator's to pass (the trail records this role).
        wanted = service != "cloudtrail.amazonaws.com"
        request = Request("iam:PassRole", arn, {"iam:PassedToService": service})
        assert allows(infrastructure, request) is wanted, f"{role.name} to {service}"
        for elsewhere in ("ec2.amazonaws.com", "lambda.amazonaws.com", "ecs-tasks.amazonaws.com"):
            request = Request("iam:PassRole", arn, {"iam:PassedToService": elsewhere})
            assert not allows(infrastructure, request), f"{role.name} to {elsewhere}"
        assert not allows(infrastructure, Request("iam:PassRole", arn))


# -- the permissions boundary: what the deploy role's roles may at most do ----------------------


def boundary_of(run: Evaluation) -> str:
    """The boundary policy's ARN."""
    arn: str = run.mocks.named("permissions-boundary", "aws:iam/policy:Policy").outputs["arn"]
    return arn


def infrastructure_of(run: Evaluation) -> dict[str, Any]:
    """Every statement IAM evaluates for the infrastructure role: its inline policy and the
    managed policies attached to it (the guardrails and the rest of its rights)."""
    (inline,) = [r for r in run.mocks.of_type(ROLE_POLICY) if r.name == "ci-infrastructure"]
    (role,) = [r for r in run.mocks.of_type(ROLE) if r.name == "ci-infrastructure"]
    attached = sorted(
        r.name
        for r in run.mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.inputs.get("role") == role.inputs["name"]
    )
    assert attached == ["ci-guardrails", "ci-operations"]
    managed = [r for r in run.mocks.of_type("aws:iam/policy:Policy") if r.name in attached]
    statements = [
        *json.loads(inline.inputs["policy"])["Statement"],
        *(s for policy in managed for s in json.loads(policy.inputs["policy"])["Statement"]),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def test_the_deploy_role_creates_and_grants_roles_only_under_the_boundary(run: Evaluation) -> None:
    """Otherwise it creates a role trusting itself, attaches AdministratorAccess, and assumes it."""
    infrastructure, boundary = infrastructure_of(run), boundary_of(run)
    new = f"arn:aws:iam::{ACCOUNT}:role/{run.exports['clusterName']}-anything"
    admin = {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
    for action in ("iam:CreateRole", "iam:AttachRolePolicy", "iam:PutRolePolicy"):
        assert not allows(infrastructure, Request(action, new, admin)), action
        other = {**admin, "iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/mine"}
        assert not allows(infrastructure, Request(action, new, other)), action
        bounded = {**admin, "iam:PermissionsBoundary": boundary}
        # with the boundary, a role may be created and given an inline policy (the boundary
        # then caps it), but AdministratorAccess is attached to none
        wanted = action != "iam:AttachRolePolicy"
        assert allows(infrastructure, Request(action, new, bounded)) is wanted, action
    for action in ("iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:SetDefaultPolicyVersion"):
        assert not allows(infrastructure, Request(action, boundary)), action
    assert not allows(infrastructure, Request("iam:DeleteRolePermissionsBoundary", new))


def test_every_role_of_the_stack_carries_the_boundary(run: Evaluation) -> None:
    boundary = boundary_of(run)
    bounded = {
        r.name: r.inputs.get("permissionsBoundary")
        for r in run.mocks.of_type(ROLE)
        if r.name not in CI_ROLES
    }
    assert bounded and set(bounded.values()) == {boundary}, bounded


def test_the_boundary_allows_no_identity_changes_and_keeps_what_the_roles_use() -> None:
    boundary = json.loads(permissions_boundary_document("switchyard-staging", "staging"))
    refused = [
        "iam:CreateRole",
        "iam:AttachRolePolicy",
        "iam:PutRolePolicy",
        "iam:UpdateAssumeRolePolicy",
        "iam:CreateUser",
        "iam:CreateAccessKey",
        "sts:AssumeRole",
        "organizations:LeaveOrganization",
    ]
    assert [a for a in refused if allows(boundary, Request(a, "*"))] == []
    kept = [
        "iam:CreateServiceLinkedRole",  # EKS, the load balancer controller
        "iam:GetServerCertificate",  # the load balancer controller
        "ec2:CreateNetworkInterface",  # the VPC CNI
        "elasticloadbalancing:RegisterTargets",  # TargetGroupBindings
        "autoscaling:SetDesiredCapacity",  # the Cluster Autoscaler
        "logs:PutLogEvents",  # flow logs, CloudTrail, SNS delivery status, Container Insights
        "kms:Decrypt",
    ]
    assert [a for a in kept if not allows(boundary, Request(a, "*"))] == []
    own = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:switchyard-staging/db-AbCdEf"
    assert allows(boundary, Request("secretsmanager:GetSecretValue", own))  # the workload


ADMINISTRATOR = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def test_a_role_it_creates_with_any_inline_policy_cannot_blind_the_audit_or_read_elsewhere(
    run: Evaluation,
) -> None:
    """PutRolePolicy takes any document, so no condition on the infrastructure role keeps a
    role it creates small: the boundary is what stops that role."""
    (trail,) = run.mocks.of_type("aws:cloudtrail/trail:Trail")
    prefix = trail.inputs["name"].removesuffix("-audit")
    (policy,) = [
        p for p in run.mocks.of_type("aws:iam/policy:Policy") if p.name == "permissions-boundary"
    ]
    boundary = json.loads(policy.inputs["policy"])
    account = Account("aws", ACCOUNT, REGION)
    other = "switchyard-prod" if prefix != "switchyard-prod" else "switchyard-dev"
    (bucket,) = [b for b in run.mocks.of_type("aws:s3/bucket:Bucket") if b.name == "audit-trail"]
    refused = [
        Request(
            "secretsmanager:GetSecretValue",
            account.arn("secretsmanager", f"secret:{other}/db-AbCdEf"),
        ),
        Request("cloudtrail:StopLogging", account.arn("cloudtrail", f"trail/{other}-audit")),
        Request("cloudtrail:PutEventSelectors", account.arn("cloudtrail", "trail/organization")),
        Request("kms:ScheduleKeyDeletion", account.arn("kms", "key/1234abcd")),
        Request("kms:PutKeyPolicy", account.arn("kms", "key/1234abcd")),
        Request("s3:DeleteObject", f"arn:aws:s3:::{aws_name(bucket)}/AWSLogs/x.json.gz"),
        Request(
            "cloudwatch:DeleteAlarms",
            account.arn("cloudwatch", f"alarm:{prefix}-unexpected-secret-reads"),
        ),
        Request("sns:DeleteTopic", account.arn("sns", f"{prefix}-warning")),
        Request("iam:CreateRole", account.arn("iam", f"role/{prefix}-x", region=False)),
    ]
    assert [str(r) for r in refused if allows_under(ADMINISTRATOR, boundary, r)] == []
    own = account.arn("secretsmanager", f"secret:{prefix}/db-AbCdEf")
    assert allows_under(ADMINISTRATOR, boundary, Request("secretsmanager:GetSecretValue", own))
    assert allows_under(ADMINISTRATOR, boundary, Request("ec2:CreateNetworkInterface", "*"))


def test_the_deploy_role_attaches_only_the_policies_the_program_attaches(run: Evaluation) -> None:
    """A condition on the role's own boundary alone would let it attach AdministratorAccess to a
    bounded role; every attachment the program makes stays possible."""
    infrastructure, boundary = infrastructure_of(run), boundary_of(run)
    (trail,) = run.mocks.of_type("aws:cloudtrail/trail:Trail")
    prefix = trail.inputs["name"].removesuffix("-audit")
    role = f"arn:aws:iam::{ACCOUNT}:role/{prefix}-anything"
    attached = []
    for attachment in run.mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        if attachment.name == "ci-guardrails":
            continue  # an administrator's `pulumi up` attaches it, to a CI role
        attached.append(str(attachment.inputs["policyArn"]))
    assert len(attached) >= 8
    context = {"iam:PermissionsBoundary": boundary}
    refused = [
        a
        for a in attached
        if not allows(
            infrastructure, Request("iam:AttachRolePolicy", role, {**context, "iam:PolicyARN": a})
        )
    ]
    assert refused == []
    for wide in (
        "AdministratorAccess",
        "PowerUserAccess",
        "SecretsManagerReadWrite",
        "IAMFullAccess",
    ):
        request = Request(
            "iam:AttachRolePolicy",
            role,
            {**context, "iam:PolicyARN": f"arn:aws:iam::aws:policy/{wide}"},
        )
        assert not allows(infrastructure, request), wide


# -- the audit trail: the audited role cannot stop or erase it ----------------------------------


def test_the_deploy_role_cannot_stop_or_erase_its_own_audit_trail(run: Evaluation) -> None:
    """The trail records what the CI roles do (secret reads included); a role that may stop
    it, or delete its log files, versions and log group, can act unrecorded."""
    infrastructure = infrastructure_of(run)
    (trail,) = run.mocks.of_type("aws:cloudtrail/trail:Trail")
    (group,) = [
        g for g in run.mocks.of_type("aws:cloudwatch/logGroup:LogGroup") if g.name == "audit-trail"
    ]
    (bucket,) = [b for b in run.mocks.of_type("aws:s3/bucket:Bucket") if b.name == "audit-trail"]
    account = Account("aws", ACCOUNT, REGION)
    trail_arn = account.arn("cloudtrail", f"trail/{trail.inputs['name']}")
    bucket_arn = f"arn:aws:s3:::{aws_name(bucket)}"
    objects = f"{bucket_arn}/AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2026/11/27/log.json.gz"
    group_arn = account.arn("logs", f"log-group:{group.inputs['name']}")
    erasing = [
        Request("cloudtrail:StopLogging", trail_arn),
        Request("cloudtrail:DeleteTrail", trail_arn),
        Request("s3:DeleteObject", objects),
        Request("s3:DeleteObjectVersion", objects),
        Request("s3:PutLifecycleConfiguration", bucket_arn),
        Request("s3:PutBucketVersioning", bucket_arn),
        Request("s3:PutBucketPolicy", bucket_arn),
        Request("s3:DeleteBucket", bucket_arn),
        Request("logs:DeleteLogGroup", group_arn),
        Request("logs:PutRetentionPolicy", group_arn),
    ]
    assert [str(r) for r in erasing if allows(infrastructure, r)] == []
    # the rest of the environment's buckets and log groups stay its to manage
    (records,) = [
        b for b in run.mocks.of_type("aws:s3/bucket:Bucket") if b.name == "records-bucket"
    ]
    records_arn = f"arn:aws:s3:::{aws_name(records)}"
    assert allows(infrastructure, Request("s3:PutLifecycleConfiguration", records_arn))


def test_the_deploy_role_cannot_silence_the_unexpected_secret_reads_alarm(run: Evaluation) -> None:
    """The metric filter on the trail's log group and its alarm are what notice a secret read
    by anyone but the expected roles: rewriting or deleting either hides such a read."""
    infrastructure = infrastructure_of(run)
    account = Account("aws", ACCOUNT, REGION)
    (alarm,) = [
        a
        for a in run.mocks.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.name == "audit-secret-reads"
    ]
    (watched,) = run.mocks.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
    (group,) = [
        g for g in run.mocks.of_type("aws:cloudwatch/logGroup:LogGroup") if g.name == "audit-trail"
    ]
    assert watched.inputs["name"] == alarm.inputs["name"]
    alarm_arn = account.arn("cloudwatch", f"alarm:{alarm.inputs['name']}")
    group_arn = account.arn("logs", f"log-group:{group.inputs['name']}")
    silencing = [
        Request("cloudwatch:PutMetricAlarm", alarm_arn),
        Request("cloudwatch:DeleteAlarms", alarm_arn),
        Request("logs:PutMetricFilter", group_arn),
        Request("logs:DeleteMetricFilter", group_arn),
    ]
    assert [str(r) for r in silencing if allows(infrastructure, r)] == []
    other = account.arn("cloudwatch", f"alarm:{run.exports['gatingAlarms'][0]}")
    assert allows(infrastructure, Request("cloudwatch:PutMetricAlarm", other))


def test_the_deploy_roles_policies_fit_iams_limits_with_real_arns_in_any_region() -> None:
    """The mock runtime's ARNs are short and its region is eu-west-1: with AWS's ARNs in the
    longest region Switchyard supports, the inline policy stays within 10,240 characters and
    the guardrails within a managed policy's 6,144."""
    region = max(ZONES, key=len)
    account = Account("aws", ACCOUNT, region)
    prefix, key = "switchyard-staging", f"arn:aws:kms:{region}:{ACCOUNT}:key/"
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/{prefix}-boundary"
    inline = infrastructure_policy(
        account,
        prefix,
        "staging",
        prefix,
        f"arn:aws:ec2:{region}:{ACCOUNT}:vpc/vpc-0123456789abcdef0",
        f"{key}1234abcd-12ab-34cd-56ef-1234567890ab",
        f"{key}0987dcba-09fe-87dc-65ba-ab0987654321",
        boundary_arn=boundary,
    )
    compact = json.dumps(json.loads(inline), separators=(",", ":"))
    assert len(compact) < 10_240, (region, len(compact))
    vpc = f"arn:aws:ec2:{region}:{ACCOUNT}:vpc/vpc-0123456789abcdef0"
    roles = [f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{region}/" + "x" * 64]
    guarded = guardrails_policy(
        account, prefix, boundary, roles, environment="staging", vpc_arn=vpc, cluster_name=prefix
    )
    guards = json.dumps(json.loads(guarded))
    assert len(guards.replace(" ", "")) < 6_144


def test_the_deploy_role_cannot_narrow_expose_or_unkey_the_audit_trail(run: Evaluation) -> None:
    """Without stopping it: narrowing what the trail records, opening or copying its bucket,
    disabling or re-policying the keys CloudTrail and SNS encrypt with, or deleting the topic
    the secret-reads alarm notifies blinds it as surely."""
    infrastructure = infrastructure_of(run)
    account = Account("aws", ACCOUNT, REGION)
    (trail,) = run.mocks.of_type("aws:cloudtrail/trail:Trail")
    (bucket,) = [b for b in run.mocks.of_type("aws:s3/bucket:Bucket") if b.name == "audit-trail"]
    (alarm,) = [
        a
        for a in run.mocks.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.name == "audit-secret-reads"
    ]
    (topic,) = [t for t in run.mocks.of_type("aws:sns/topic:Topic") if t.name == "alerting-warning"]
    topic_arn = account.arn("sns", topic.inputs["name"])
    (notified,) = alarm.inputs["alarmActions"]
    assert notified == arn_of(run, topic.name, "aws:sns/topic:Topic")
    trail_arn = account.arn("cloudtrail", f"trail/{trail.inputs['name']}")
    bucket_arn = f"arn:aws:s3:::{aws_name(bucket)}"
    prefix = trail.inputs["name"].removesuffix("-audit")
    environment = prefix.removeprefix("switchyard-")
    aliases = {
        k.name: f"alias/{a.inputs['name'].removeprefix('alias/')}"
        for k in run.mocks.of_type("aws:kms/key:Key")
        for a in run.mocks.of_type("aws:kms/alias:Alias")
        if a.name == k.name
    }
    audit_key = {"kms:ResourceAliases": (aliases["audit-key"],)}
    alerting_key = {"kms:ResourceAliases": (aliases["alerting-key"],)}
    blinding = [
        Request("cloudtrail:UpdateTrail", trail_arn),
        Request("cloudtrail:PutEventSelectors", trail_arn),
        Request("s3:PutBucketAcl", bucket_arn),
        Request("s3:PutBucketOwnershipControls", bucket_arn),
        Request("s3:PutBucketPublicAccessBlock", bucket_arn),
        Request("s3:PutReplicationConfiguration", bucket_arn),
        Request("s3:PutEncryptionConfiguration", bucket_arn),
        Request("sns:DeleteTopic", topic_arn),
        Request("sns:SetTopicAttributes", topic_arn),
        *(
            Request(action, account.arn("kms", "key/1234abcd"), {**tags, **which})
            for action in ("kms:DisableKey", "kms:ScheduleKeyDeletion", "kms:PutKeyPolicy")
            for which in (audit_key, alerting_key)
            for tags in ({"aws:ResourceTag/environment": environment},)
        ),
        Request("kms:DeleteAlias", account.arn("kms", aliases["audit-key"])),
        Request("kms:UpdateAlias", account.arn("kms", aliases["alerting-key"])),
    ]
    assert [str(r) for r in blinding if allows(infrastructure, r)] == []
    # the environment's other keys and topics stay its to manage
    secrets_key = {
        "aws:ResourceTag/environment": environment,
        "kms:ResourceAliases": (aliases["secrets-key"],),
    }
    assert allows(
        infrastructure,
        Request("kms:ScheduleKeyDeletion", account.arn("kms", "key/1234abcd"), secrets_key),
    )
    assert allows(infrastructure, Request("sns:DeleteTopic", account.arn("sns", f"{prefix}-info")))


def test_the_deploy_role_cannot_re_trust_a_role_it_did_not_create(run: Evaluation) -> None:
    """The configured deploy role is named switchyard-<env>-deploy, under the prefix whose roles
    the infrastructure role manages, and the cluster admits it as administrator."""
    infrastructure = infrastructure_of(run)
    (trail,) = run.mocks.of_type("aws:cloudtrail/trail:Trail")
    settings = load_stack(trail.inputs["name"].removeprefix("switchyard-").removesuffix("-audit"))
    deploy = settings.cluster.deploy_role_arn
    assert deploy is not None
    prefix = f"switchyard-{settings.environment}"
    assert deploy.split("/")[-1].startswith(prefix)
    for action in ("iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:AttachRolePolicy"):
        assert not allows(infrastructure, Request(action, deploy)), action
    trail_logs = f"arn:aws:iam::{ACCOUNT}:role/{prefix}-trail-logs-20261206"
    assert not allows(infrastructure, Request("iam:UpdateAssumeRolePolicy", trail_logs))
    # nor one it created: trusts are fixed, and the workload's role reads the secrets unalarmed
    created = f"arn:aws:iam::{ACCOUNT}:role/{prefix}-web-20261206"
    assert not allows(infrastructure, Request("iam:UpdateAssumeRolePolicy", created))
    assert allows(infrastructure, Request("iam:TagRole", created))


def test_the_deploy_role_cannot_retag_another_environments_resources_into_its_scope(
    run: Evaluation,
) -> None:
    """All three committed stacks share one account: a tag in the request alone would let
    staging's role (assumed on every push to develop) retag prod's key or security group as
    staging's, then manage it; or authorize, by a new resource's tag, a request that also
    names prod's subnet or group."""
    infrastructure = infrastructure_of(run)
    account = Account("aws", ACCOUNT, REGION)
    (trail,) = run.mocks.of_type("aws:cloudtrail/trail:Trail")
    mine = trail.inputs["name"].removesuffix("-audit").removeprefix("switchyard-")
    theirs = "prod" if mine != "prod" else "dev"
    retag = {
        "aws:ResourceTag/environment": theirs,
        "aws:RequestTag/environment": mine,
        "aws:TagKeys": ("environment",),
    }
    group = account.arn("ec2", "security-group/sg-0123456789abcdef0")
    key = account.arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab")
    subnet = account.arn("ec2", "subnet/subnet-0123456789abcdef0")
    new_interface = {"aws:RequestTag/environment": mine, "aws:TagKeys": ("environment",)}
    refused = [
        Request("ec2:CreateTags", group, retag),
        Request("kms:TagResource", key, retag),
        Request("ec2:DeleteTags", group, {**retag, "aws:TagKeys": ("owner",)}),
        # a new interface with this environment's tag, in the other's subnet and group
        Request(
            "ec2:CreateNetworkInterface",
            subnet,
            {**new_interface, "aws:ResourceTag/environment": theirs},
        ),
        Request(
            "ec2:AuthorizeSecurityGroupIngress",
            group,
            {**new_interface, "aws:ResourceTag/environment": theirs},
        ),
        # its own resource moved to the other environment, or stripped of its tag
        Request(
            "ec2:CreateTags",
            group,
            {
                "aws:ResourceTag/environment": mine,
                "aws:RequestTag/environment": theirs,
                "aws:TagKeys": ("environment",),
            },
        ),
        Request(
            "kms:UntagResource",
            key,
            {"aws:ResourceTag/environment": mine, "aws:TagKeys": ("environment",)},
        ),
        # an untagged resource (not the environment's) tagged after the fact
        Request(
            "ec2:CreateTags",
            group,
            {
                "aws:RequestTag/environment": mine,
                "aws:TagKeys": ("environment",),
                "ec2:Vpc": account.arn("ec2", "vpc/vpc-0fedcba9876543210"),
            },
        ),
    ]
    assert [str(r) for r in refused if allows(infrastructure, r)] == []
    created = [
        Request(
            "ec2:CreateSecurityGroup",
            group,
            {**new_interface, "ec2:CreateAction": "CreateSecurityGroup"},
        ),
        Request(
            "ec2:CreateTags", group, {**new_interface, "ec2:CreateAction": "CreateSecurityGroup"}
        ),
        Request("kms:CreateKey", "*", new_interface),
        Request("kms:TagResource", key, new_interface),  # as CreateKey tags the new key
        Request(
            "ec2:CreateNetworkInterface",
            subnet,
            {**new_interface, "aws:ResourceTag/environment": mine},
        ),
        Request(
            "ec2:CreateTags",
            group,
            {"aws:ResourceTag/environment": mine, "aws:TagKeys": ("owner",)},
        ),
        Request(
            "kms:ScheduleKeyDeletion",
            key,
            {
                "aws:ResourceTag/environment": mine,
                "kms:ResourceAliases": (f"alias/switchyard-{mine}-secrets",),
            },
        ),
    ]
    (adopt,) = [
        x for x in infrastructure["Statement"] if x.get("Sid") == "AdoptTheDefaultSecurityGroup"
    ]
    own_vpc = adopt["Condition"]["ArnEquals"]["ec2:Vpc"]
    default_group = {
        "aws:RequestTag/environment": mine,
        "aws:TagKeys": ("environment",),
        "ec2:Vpc": own_vpc,
    }
    created.append(Request("ec2:CreateTags", group, default_group))  # the VPC's default group
    assert [str(r) for r in created if not allows(infrastructure, r)] == []


def _prefix(run: Evaluation) -> str:
    (trail,) = run.mocks.of_type("aws:cloudtrail/trail:Trail")
    return str(trail.inputs["name"]).removesuffix("-audit")


def test_the_review_paths_out_of_the_audit_and_the_tag_scope_are_closed(run: Evaluation) -> None:
    """Each found by a hostile review of the rendered policies: a violating request, and the
    compliant one next to it that must stay possible."""
    infrastructure = infrastructure_of(run)
    account = Account("aws", ACCOUNT, REGION)
    prefix, mine = _prefix(run), _prefix(run).removeprefix("switchyard-")
    warning, info = account.arn("sns", f"{prefix}-warning"), account.arn("sns", f"{prefix}-info")
    audit_group = account.arn("logs", f"log-group:/switchyard/{prefix}/cloudtrail")
    flow_group = account.arn("logs", f"log-group:/switchyard/{prefix}/flow-logs")
    (cluster,) = run.mocks.of_type("aws:eks/cluster:Cluster")
    name = str(cluster.inputs["name"])
    control_plane = account.arn("logs", f"log-group:/aws/eks/{name}/cluster")
    (adopt,) = [
        x for x in infrastructure["Statement"] if x.get("Sid") == "AdoptTheDefaultSecurityGroup"
    ]
    own_vpc = adopt["Condition"]["ArnEquals"]["ec2:Vpc"]
    elsewhere = account.arn("ec2", "vpc/vpc-0fedcba9876543210")
    group = account.arn("ec2", "security-group/sg-0123456789abcdef0")
    rule: dict[str, str | tuple[str, ...]] = {
        "aws:RequestTag/environment": mine,
        "aws:TagKeys": ("environment",),
    }
    refused = [
        Request("sns:Unsubscribe", warning),
        Request("sns:SetSubscriptionAttributes", warning),
        Request("logs:AssociateKmsKey", audit_group),
        Request("logs:PutSubscriptionFilter", audit_group),
        Request("eks:UpdateClusterConfig", account.arn("eks", f"cluster/{name}")),
        Request("logs:DeleteLogGroup", control_plane),
        # an untagged group of another owner, authorized by a new rule's tag
        Request("ec2:AuthorizeSecurityGroupIngress", group, {**rule, "ec2:Vpc": elsewhere}),
        Request("ec2:CreateSnapshot", account.arn("ec2", "volume/vol-0123456789abcdef0"), rule),
        # DeleteTags without Tags deletes every tag, the environment's with them
        Request("ec2:DeleteTags", group, {"aws:ResourceTag/environment": mine}),
    ]
    assert [str(r) for r in refused if allows(infrastructure, r)] == []
    kept = [
        Request("sns:Subscribe", info),
        Request("logs:AssociateKmsKey", flow_group),
        Request("eks:UpdateClusterVersion", account.arn("eks", f"cluster/{name}")),
        # EKS's cluster security group, untagged by us, in the environment's VPC
        Request("ec2:AuthorizeSecurityGroupIngress", group, {**rule, "ec2:Vpc": own_vpc}),
        Request("ec2:ModifySecurityGroupRules", group, {"ec2:Vpc": own_vpc}),
        Request(
            "ec2:AuthorizeSecurityGroupIngress",
            account.arn("ec2", "security-group-rule/sgr-0123456789abcdef0"),
            rule,
        ),
        Request(
            "ec2:DeleteTags",
            group,
            {"aws:ResourceTag/environment": mine, "aws:TagKeys": ("owner",)},
        ),
    ]
    buckets = [aws_name(b) for b in run.mocks.of_type("aws:s3/bucket:Bucket")]
    assert buckets
    kept += [
        Request(action, f"arn:aws:s3:::{bucket}")
        for bucket in buckets
        for action in ("s3:CreateBucket", "s3:TagResource")  # tags in CreateBucket
    ]
    assert [str(r) for r in kept if not allows(infrastructure, r)] == []


def test_incident_manager_and_service_linked_roles_are_the_deploy_roles_to_manage(
    run: Evaluation,
) -> None:
    """Contacts, plans and response plans are in every stack; a fresh account (one per
    environment) has none of the services' linked roles yet."""
    infrastructure = infrastructure_of(run)
    account = Account("aws", ACCOUNT, REGION)
    prefix = _prefix(run)
    linked = account.arn("iam", "role/aws-service-role/eks.amazonaws.com/x", region=False)
    kept = [
        Request("ssm-contacts:CreateContact", account.arn("ssm-contacts", f"contact/{prefix}-a")),
        Request("ssm-contacts:UpdateContact", account.arn("ssm-contacts", f"contact/{prefix}-a")),
        Request("ssm-incidents:CreateResponsePlan", "*"),
        Request(
            "ssm-incidents:UpdateResponsePlan",
            account.arn("ssm-incidents", f"response-plan/{prefix}-critical", region=False),
        ),
        Request("iam:CreateServiceLinkedRole", linked, {"iam:AWSServiceName": "eks.amazonaws.com"}),
    ]
    assert [str(r) for r in kept if not allows(infrastructure, r)] == []
    refused = [
        Request("ssm-contacts:CreateContact", account.arn("ssm-contacts", "contact/oncall")),
        Request(
            "ssm-incidents:DeleteReplicationSet",
            account.arn("ssm-incidents", "replication-set/x", region=False),
        ),
        Request(
            "iam:CreateServiceLinkedRole", linked, {"iam:AWSServiceName": "lambda.amazonaws.com"}
        ),
    ]
    assert [str(r) for r in refused if allows(infrastructure, r)] == []


def test_the_deploy_role_manages_this_environments_slack_channels_and_no_others(
    run: Evaluation,
) -> None:
    infrastructure = infrastructure_of(run)
    account = Account("aws", ACCOUNT, REGION)
    prefix = _prefix(run)
    mine = account.arn("chatbot", f"chat-configuration/slack-channel/{prefix}-critical-0", False)
    theirs = account.arn("chatbot", "chat-configuration/slack-channel/security-team", False)
    chatbot_role = account.arn("iam", f"role/{prefix}-chatbot-abc", region=False)
    kept = [
        Request("chatbot:CreateSlackChannelConfiguration", "*"),
        Request("chatbot:DescribeSlackChannelConfigurations", "*"),
        Request("chatbot:UpdateSlackChannelConfiguration", mine),
        Request("chatbot:DeleteSlackChannelConfiguration", mine),
        Request("iam:PassRole", chatbot_role, {"iam:PassedToService": "chatbot.amazonaws.com"}),
        # AWSServiceRoleForAWSChatbot does not exist in a fresh account until the first channel
        Request(
            "iam:CreateServiceLinkedRole",
            account.arn(
                "iam",
                "role/aws-service-role/management.chatbot.amazonaws.com/AWSServiceRoleForAWSChatbot",
                region=False,
            ),
            {"iam:AWSServiceName": "management.chatbot.amazonaws.com"},
        ),
    ]
    assert [str(r) for r in kept if not allows(infrastructure, r)] == []
    refused = [
        Request("chatbot:DeleteSlackChannelConfiguration", theirs),
        Request("chatbot:UpdateSlackChannelConfiguration", theirs),
        Request("iam:PassRole", chatbot_role, {"iam:PassedToService": "lambda.amazonaws.com"}),
    ]
    assert [str(r) for r in refused if allows(infrastructure, r)] == []


def test_a_role_it_creates_cannot_take_the_known_paths_out_of_the_environment(
    run: Evaluation,
) -> None:
    """cloudsplaining's escalation and exfiltration methods for a role without IAM: the
    boundary denies each, whatever the role's inline policy grants."""
    (policy,) = [
        p for p in run.mocks.of_type("aws:iam/policy:Policy") if p.name == "permissions-boundary"
    ]
    boundary = json.loads(policy.inputs["policy"])
    account = Account("aws", ACCOUNT, REGION)
    prod = account.arn("eks", "cluster/switchyard-prod")
    refused = [
        Request("lambda:UpdateFunctionCode", account.arn("lambda", "function:rotate")),
        Request("ssm:SendCommand", account.arn("ec2", "instance/i-0123456789abcdef0")),
        Request("eks:CreateAccessEntry", prod),
        Request("eks:AssociateAccessPolicy", prod),
        Request("secretsmanager:PutResourcePolicy", account.arn("secretsmanager", "secret:x")),
        Request("kms:CreateGrant", "*", {"kms:GrantIsForAWSResource": "false"}),
        Request("kms:CreateGrant", "*", {"kms:GrantIsForAWSResource": "true"}),
        Request("ec2:ModifySnapshotAttribute", "*"),
        Request("cloudformation:CreateStack", "*"),
        Request("ecs:ExecuteCommand", "*"),
        Request("s3:GetObject", "arn:aws:s3:::my-pulumi-state/.pulumi/stacks/switchyard/prod.json"),
        Request("sns:Publish", account.arn("sns", "switchyard-prod-critical")),
        Request("elasticloadbalancing:ModifyListener", "*"),  # allowed: the controller's
    ]
    allowed = [str(r) for r in refused if allows_under(ADMINISTRATOR, boundary, r)]
    assert allowed == [str(refused[-1])]
    kept = Request("kms:Encrypt", "*")  # the cluster's secrets encryption
    assert allows_under(ADMINISTRATOR, boundary, kept)


MANAGED = VENDORED / "aws-managed-policies"
BOUNDARY = "permissions-boundary"


def needed_by_the_environments_roles(run: Evaluation) -> dict[str, set[str]]:
    """Each action a role of the environment may use, from every policy a role of it holds:
    the AWS managed ones it attaches (vendored), and the stack's own, the CI roles' aside."""
    sources: dict[str, list[dict[str, Any]]] = {
        path.stem: json.loads(path.read_text())["Document"]["Statement"]
        for path in sorted(MANAGED.glob("*.json"))
    }
    attached = {
        str(r.inputs["policyArn"]).rsplit("/", 1)[-1]
        for r in run.mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    }
    assert set(sources) <= attached | {"AmazonEKSClusterPolicy"}
    # the CI roles' own, and the PR environments' (their role and boundary are another's)
    ci = {"ci-release", "ci-infrastructure", "ci-guardrails", "ci-operations"}
    pr = {"pr-environments-ci", "pr-environments-boundary"}
    for resource in run.mocks.resources:
        if resource.type in IDENTITY_POLICIES and resource.name not in ci | pr | {
            "permissions-boundary"
        }:
            sources[resource.name] = json.loads(resource.inputs["policy"])["Statement"]
    needed: dict[str, set[str]] = {}
    for source, statements in sources.items():
        for statement in statements:
            if statement["Effect"] != "Allow":
                continue
            actions = statement["Action"]
            for pattern in [actions] if isinstance(actions, str) else actions:
                for action in expand(pattern):
                    needed.setdefault(action, set()).add(source)
    return needed


# Used by a managed policy, denied by the boundary on purpose (its reason).
DENIED_ON_PURPOSE = {
    "ec2:ModifyInstanceAttribute": "a node's user data is code that runs as the node's role",
}


def test_the_boundary_allows_what_the_environments_roles_use_and_nothing_else(
    run: Evaluation,
) -> None:
    """An allow-list: a role the infrastructure role creates, with any policy and any trust,
    can do no more than the roles the program declares need."""
    boundary = json.loads(run.mocks.named(BOUNDARY, "aws:iam/policy:Policy").inputs["policy"])
    needed = needed_by_the_environments_roles(run)
    assert len(needed) > 100
    # the workload reads its own environment's secrets only (the boundary's other deny)
    secret = ACCOUNT_OF.arn("secretsmanager", f"secret:{_prefix(run)}/db-AbC123")
    on = {"secretsmanager:GetSecretValue": secret}
    refused = sorted(
        a
        for a in needed
        if a not in DENIED_ON_PURPOSE and not allows(boundary, Request(a, on.get(a, "*")))
    )
    assert refused == [], "allow these in BOUNDARY_ALLOWS, or deny them on purpose"
    for action, reason in DENIED_ON_PURPOSE.items():
        assert not allows(boundary, Request(action, "*")), reason
    # no entry of the allow-list that none of the roles needs
    unneeded = [pattern for pattern in BOUNDARY_ALLOWS if not set(expand(pattern)) & set(needed)]
    assert unneeded == []


# -- actions that take no resource ARN --------------------------------------------------------


def dead_statements(run: Evaluation) -> list[str]:
    """Actions named on ARNs IAM never matches them with (one with no resource type is
    authorised on "*" only): such a grant never works, and such a deny never denies."""
    return [
        f"{found.policy} {found.detail}"
        for resource in run.mocks.resources
        if resource.type in IDENTITY_POLICIES
        for found in unreachable_resources(
            Document("", resource.name, json.loads(resource.inputs["policy"]))
        )
    ]


def test_no_statement_names_an_action_on_a_resource_it_cannot_take(run: Evaluation) -> None:
    assert dead_statements(run) == []


def test_the_dead_statement_check_finds_one() -> None:
    run = evaluate("staging")
    (policy,) = [r for r in run.mocks.of_type(ROLE_POLICY) if r.name == "ci-infrastructure"]
    document = json.loads(policy.inputs["policy"])
    document["Statement"].append(
        {"Sid": "Dead", "Effect": "Allow", "Action": "sns:Unsubscribe", "Resource": "arn:x"}
    )
    policy.inputs["policy"] = json.dumps(document)
    (dead,) = dead_statements(run)
    assert dead.startswith("ci-infrastructure Allow sns:Unsubscribe in Dead")


def test_the_deploy_role_may_make_the_calls_that_take_no_resource_arn(run: Evaluation) -> None:
    """Each is authorised against "*" only: on the cluster's or a topic's ARN it would fail
    the first real `pulumi up` (creating the cluster, associating the web ACL, reading an
    alert subscription back, creating a response plan, the program's lookups)."""
    infrastructure = infrastructure_of(run)
    environment = _prefix(run).removeprefix("switchyard-")
    tagged = {"aws:RequestTag/environment": environment}
    needed = [
        Request("eks:CreateCluster", f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/x", tagged),
        Request("elasticloadbalancing:SetWebAcl", "*"),
        Request("sns:GetSubscriptionAttributes", f"arn:aws:sns:{REGION}:{ACCOUNT}:t:1234"),
        Request("ssm-incidents:CreateResponsePlan", "*"),
        Request("eks:ListClusters", "*"),
        Request("eks:DescribeAddonVersions", "*"),
    ]
    assert [str(r) for r in needed if not allows(infrastructure, r)] == []
    other = {"aws:RequestTag/environment": "prod" if environment != "prod" else "dev"}
    for context in ({}, other):
        assert not allows(infrastructure, Request("eks:CreateCluster", "*", context))


def test_no_role_of_the_environment_removes_or_refilters_a_subscription(
    run: Evaluation,
) -> None:
    """Unsubscribe and SetSubscriptionAttributes take no resource ARN: denied on the audit
    topic alone they would be denied nowhere, and the secret-reads alarm would page nobody."""
    everything = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    boundary = json.loads(
        run.mocks.named("permissions-boundary", "aws:iam/policy:Policy").inputs["policy"]
    )
    subscription = f"arn:aws:sns:{REGION}:{ACCOUNT}:{_prefix(run)}-warning:0f1e2d3c"
    for action in ("sns:Unsubscribe", "sns:SetSubscriptionAttributes"):
        request = Request(action, subscription)
        assert not allows(infrastructure_of(run), request), action
        assert not allows_under(everything, boundary, request), action


def test_neither_ci_role_can_become_a_role_it_creates_or_finds(run: Evaluation) -> None:
    """STS admits a principal its trust names, in the same account, without any permission of
    that principal (STS API reference, AssumeRole): the infrastructure role could create
    `<prefix>-x` trusting itself, with the boundary and `*` inline, and become it. Only an
    explicit deny on each CI role closes that."""
    infrastructure = infrastructure_of(run)
    (release_inline,) = [r for r in run.mocks.of_type(ROLE_POLICY) if r.name == "ci-release"]
    release = json.loads(release_inline.inputs["policy"])
    created = f"arn:aws:iam::{ACCOUNT}:role/{_prefix(run)}-anything"
    for action in ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML"):
        for policy in (infrastructure, release):
            assert denies(policy, Request(action, created)), action


def test_a_role_it_creates_cannot_touch_another_environments_tagged_resources(
    run: Evaluation,
) -> None:
    """In one account the boundary's EC2 and ELB actions reach every environment's resources:
    those tagged for another are refused, this one's and the controllers' untagged ones kept."""
    boundary = json.loads(run.mocks.named(BOUNDARY, "aws:iam/policy:Policy").inputs["policy"])
    mine = _prefix(run).removeprefix("switchyard-")
    other = "prod" if mine != "prod" else "staging"
    listener = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/x/1/2"
    group = f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0123456789abcdef0"
    for action, resource in (
        ("elasticloadbalancing:ModifyListener", listener),
        ("ec2:AuthorizeSecurityGroupIngress", group),
    ):
        tagged = {"aws:ResourceTag/environment": other}
        assert not allows_under(ADMINISTRATOR, boundary, Request(action, resource, tagged))
        ours = {"aws:ResourceTag/environment": mine}
        assert allows_under(ADMINISTRATOR, boundary, Request(action, resource, ours))
        assert allows_under(ADMINISTRATOR, boundary, Request(action, resource))  # untagged
