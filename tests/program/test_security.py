"""The security components under the mock runtime: CI roles, audit trail, WAF, key and topic
policies, as each stack file declares them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from delivery.config.model import Settings
from delivery.config.stackfile import available_stacks, load_stack
from infra.offline import ACCOUNT, Evaluation, Registered
from tests.program.harness import arn_of, evaluate

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
(REGION,) = {load_stack(stack).region for stack in available_stacks()}  # the ARNs' region
IAM_INLINE_LIMIT = 10_240  # characters of all inline policies of a role, whitespace excluded
IAM_MANAGED_LIMIT = 6_144  # characters of a managed policy, whitespace excluded


@pytest.fixture(scope="module", params=available_stacks())
def stack(request: pytest.FixtureRequest) -> tuple[Settings, Evaluation]:
    return load_stack(request.param), evaluate(request.param)


def of(run: Evaluation, type_: str, name: str) -> Registered:
    (found,) = [r for r in run.mocks.of_type(type_) if r.name == name]
    return found


def document(resource: Registered, key: str = "policy") -> dict[str, Any]:
    value = resource.inputs[key]
    return dict(json.loads(value))


def statements(resource: Registered, key: str = "policy") -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in document(resource, key)["Statement"]}


def test_ci_roles_trust_only_this_repositorys_environments(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    security = settings.security
    created = [p for p in run.mocks.of_type(OIDC_PROVIDER) if p.name == "ci-github"]
    if security.github_oidc_provider_arn is None:  # prod: the account's provider (README)
        (provider,) = created
        assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
        assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    else:
        assert not created
    for kind in ("release", "infrastructure"):
        role = of(run, "aws:iam/role:Role", f"ci-{kind}")
        assert role.inputs["name"] == f"switchyard-{settings.environment}-{kind}"
        (trust,) = document(role, "assumeRolePolicy")["Statement"]
        assert trust["Principal"] == {
            "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
        }
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        equals = trust["Condition"]["StringEquals"]
        assert equals["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
        environments = (
            security.github_environments
            if kind == "release"
            else (security.github_infrastructure_environment,)
        )
        assert equals["token.actions.githubusercontent.com:sub"] == [
            f"repo:{security.github_repository}:environment:{e}" for e in environments
        ]
    if settings.environment == "prod":
        assert security.github_environments == ("production-stage", "production")


def test_an_existing_oidc_provider_is_reused_not_created() -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    run = evaluate("staging", {"switchyard:githubOidcProviderArn": arn})
    assert [p.name for p in run.mocks.of_type(OIDC_PROVIDER)] == ["cluster-oidc"]  # the EKS one
    trust = document(of(run, "aws:iam/role:Role", "ci-release"), "assumeRolePolicy")
    assert trust["Statement"][0]["Principal"] == {"Federated": arn}


def test_the_release_role_names_this_environments_resources(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    prefix = f"switchyard-{settings.environment}"
    allowed = statements(of(run, ROLE_POLICY, "ci-release"))
    listeners = sorted([run.exports["productionListenerArn"], run.exports["testListenerArn"]])
    assert allowed["ShiftTrafficOnThisEnvironmentsListeners"]["Resource"] == listeners
    assert allowed["ShiftTrafficOnThisEnvironmentsListeners"]["Action"] == [
        "elasticloadbalancing:ModifyListener"
    ]
    assert allowed["PublishToThisEnvironmentsTopics"]["Resource"] == sorted(
        run.exports["alertTopicArns"].values()
    )
    assert allowed["ReadThisEnvironmentsAlarms"]["Resource"] == (
        f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{prefix}-*"
    )
    records = run.mocks.named("records-bucket", "aws:s3/bucket:Bucket").outputs["arn"]
    assert allowed["WriteReleaseRecords"]["Resource"] == f"{records}/*"
    assert allowed["ListReleaseRecords"]["Resource"] == records
    assert allowed["KeepRollbackRecords"]["Resource"].endswith(
        f":parameter/switchyard/{settings.environment}/*"
    )
    assert allowed["EncryptMessagesForTheTopics"]["Condition"] == {
        "StringEquals": {"kms:ViaService": f"sns.{REGION}.amazonaws.com"}
    }
    # Only calls that take no resource ARN are allowed on "*": ELBv2's Describe* calls,
    # GetMetricData for the measured latency baseline, and the program's lookups.
    everywhere = {
        s["Sid"]: s["Action"]
        for s in allowed.values()
        if s["Resource"] == "*" and s["Effect"] == "Allow"
    }
    assert set(everywhere) == {
        "ReadListenersAndTargetHealth",
        "MeasureTheLatencyBaseline",
        "LookUpWhatTheProgramReads",
    }
    assert all(
        a.startswith("elasticloadbalancing:Describe")
        for a in everywhere["ReadListenersAndTargetHealth"]
    )
    assert everywhere["MeasureTheLatencyBaseline"] == ["cloudwatch:GetMetricData"]
    assert everywhere["LookUpWhatTheProgramReads"] == [
        "ec2:DescribeAvailabilityZones",
        "eks:DescribeAddonVersions",
        "eks:ListClusters",
    ]


def test_the_infrastructure_role_is_scoped_and_cannot_rewrite_itself(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    prefix = f"switchyard-{settings.environment}"
    policy = of(run, ROLE_POLICY, "ci-infrastructure")
    allowed = statements(policy)
    for sid, found in allowed.items():
        if found["Effect"] != "Allow" or found["Resource"] != "*":
            continue
        tagged = found.get("Condition", {}).get("StringEquals", {})
        # "*" only where AWS takes no resource ARN, or under this environment's tag
        assert sid in ("DescribeWhatHasNoResourceArn", "DeliverTheWafLogs") or (
            set(tagged.values()) == {settings.environment}
        ), sid
    for sid in ("ManageThisEnvironmentsRoles", "ManageThisEnvironmentsTopics"):
        resources = allowed[sid]["Resource"]
        assert all(prefix in r for r in ([resources] if isinstance(resources, str) else resources))
    # the denies live in a managed policy attached to the role: the inline policy has no room
    guardrails = of(run, "aws:iam/policy:Policy", "ci-guardrails")
    attached = of(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "ci-guardrails")
    assert attached.inputs["role"] == f"{prefix}-infrastructure"
    assert len(json.dumps(document(guardrails), separators=(",", ":"))) < IAM_MANAGED_LIMIT
    deny = statements(guardrails)["NeverChangeTheCiRolesOrRolesItDidNotCreate"]
    assert deny["Effect"] == "Deny"
    assert deny["Resource"][:4] == [
        f"arn:aws:iam::{ACCOUNT}:role/{prefix}-release",
        f"arn:aws:iam::{ACCOUNT}:role/{prefix}-infrastructure",
        f"arn:aws:iam::{ACCOUNT}:role/{prefix}-pr-environments",
        f"arn:aws:iam::{ACCOUNT}:role/{prefix}-trail-logs-*",
    ]
    assert set(deny["Resource"][4:]) == {
        *settings.cluster.admin_role_arns,
        *filter(None, [settings.cluster.deploy_role_arn]),
    }
    assert {"iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy"} <= set(deny["Action"])
    compact = json.dumps(document(policy), separators=(",", ":"))
    assert len(compact) < IAM_INLINE_LIMIT


def test_the_trail_records_every_read_to_a_private_validated_store(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    prefix = f"switchyard-{settings.environment}"
    trail = of(run, "aws:cloudtrail/trail:Trail", "audit-trail").inputs
    assert trail["name"] == f"{prefix}-audit"
    assert trail["isMultiRegionTrail"] and trail["enableLogFileValidation"]
    assert trail["kmsKeyId"] == arn_of(run, "audit-key", "aws:kms/key:Key")
    assert trail["eventSelectors"] == [{"readWriteType": "All", "includeManagementEvents": True}]
    group = arn_of(run, "audit-trail", "aws:cloudwatch/logGroup:LogGroup")
    assert trail["cloudWatchLogsGroupArn"] == f"{group}:*"
    trail_arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{prefix}-audit"
    bucket = statements(of(run, "aws:s3/bucketPolicy:BucketPolicy", "audit-trail"))
    write = bucket["ThisTrailWritesThisAccountsLogs"]
    assert write["Resource"].endswith(f"/AWSLogs/{ACCOUNT}/*")
    assert write["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn
    assert bucket["ThisTrailChecksTheBucketAcl"]["Condition"] == {
        "StringEquals": {"aws:SourceArn": trail_arn}
    }
    versioning = of(run, "aws:s3/bucketVersioning:BucketVersioning", "audit-trail")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    key = statements(of(run, "aws:kms/key:Key", "audit-key"))
    assert key["ThisTrailEncryptsItsLogs"]["Condition"]["StringEquals"] == {
        "aws:SourceArn": trail_arn
    }


def test_unexpected_secret_reads_page_the_warning_tier(stack: tuple[Settings, Evaluation]) -> None:
    settings, run = stack
    prefix = f"switchyard-{settings.environment}"
    pattern = of(run, "aws:cloudwatch/logMetricFilter:LogMetricFilter", "audit-secret-reads")
    text = pattern.inputs["pattern"]
    assert '$.eventName = "GetSecretValue"' in text
    assert f'$.requestParameters.secretId = "*{prefix}/*"' in text
    for kind in ("release", "infrastructure"):
        assert f'sessionIssuer.arn != "arn:aws:iam::{ACCOUNT}:role/{prefix}-{kind}"' in text
    alarm = of(run, "aws:cloudwatch/metricAlarm:MetricAlarm", "audit-secret-reads").inputs
    assert alarm["alarmActions"] == [run.exports["alertTopicArns"]["warning"]]
    assert alarm["metricName"] == pattern.inputs["metricTransformation"]["name"]


def test_a_web_acl_guards_staging_and_prod(stack: tuple[Settings, Evaluation]) -> None:
    settings, run = stack
    acls = run.mocks.of_type("aws:wafv2/webAcl:WebAcl")
    if settings.environment == "dev":
        assert acls == []
        return
    (acl,) = acls
    assert acl.inputs["scope"] == "REGIONAL"
    rate = acl.inputs["rules"][0]["statement"]["rateBasedStatement"]
    assert rate == {"limit": settings.security.waf_rate_limit, "aggregateKeyType": "IP"}
    groups = [r["statement"]["managedRuleGroupStatement"]["name"] for r in acl.inputs["rules"][1:]]
    assert "AWSManagedRulesCommonRuleSet" in groups
    (association,) = run.mocks.of_type("aws:wafv2/webAclAssociation:WebAclAssociation")
    assert association.inputs["resourceArn"].startswith("arn:aws:elasticloadbalancing:")
    (logging,) = run.mocks.of_type(
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
    )
    assert logging.inputs["logDestinationConfigs"] == [
        run.mocks.named("traffic-waf-logs", "aws:cloudwatch/logGroup:LogGroup").outputs["arn"]
    ]


def test_access_logs_admit_only_this_accounts_load_balancers(
    stack: tuple[Settings, Evaluation],
) -> None:
    _, run = stack
    policy = statements(of(run, "aws:s3/bucketPolicy:BucketPolicy", "traffic-access-logs"))
    for sid in ("ElbAccountWritesAccessLogs", "LogDeliveryWritesAccessLogs"):
        assert policy[sid]["Resource"].endswith(f"/alb/AWSLogs/{ACCOUNT}/*")
    assert policy["LogDeliveryWritesAccessLogs"]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT}
    }
    # The regional ELB account is a cross-account principal: aws:SourceAccount is never set
    # for it, so a condition on it would stop delivery; the resource path scopes it instead.
    assert "Condition" not in policy["ElbAccountWritesAccessLogs"]


def test_every_key_stays_administrable_and_pins_its_services(
    stack: tuple[Settings, Evaluation],
) -> None:
    _, run = stack
    keys = run.mocks.of_type("aws:kms/key:Key")
    assert {k.name for k in keys} >= {
        "secrets-key",
        "alerting-key",
        "network-flow-logs",
        "audit-key",
    }
    for key in keys:
        found = statements(key)
        admin = found["AccountAdministersTheKey"]
        assert admin["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
        assert admin["Action"] == "kms:*"
        assert key.inputs["enableKeyRotation"] is True
    assert list(statements(of(run, "aws:kms/key:Key", "secrets-key"))) == [
        "AccountAdministersTheKey"
    ]
    alerting = statements(of(run, "aws:kms/key:Key", "alerting-key"))
    assert alerting["ThisAccountsAlarmsPublishToEncryptedTopics"]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT}
    }


def test_only_alarms_and_the_ci_roles_publish(stack: tuple[Settings, Evaluation]) -> None:
    settings, run = stack
    prefix = f"switchyard-{settings.environment}"
    for tier in ("info", "warning", "critical", "emergency"):
        policy = statements(of(run, "aws:sns/topicPolicy:TopicPolicy", f"alerting-{tier}"))
        alarms = policy["ThisAccountsAlarmsPublish"]
        assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert alarms["Condition"]["ArnLike"]["aws:SourceArn"] == (
            f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{prefix}-*"
        )
        roles = policy["ReleaseAndInfrastructureRolesPublish"]["Condition"]["ArnEquals"]
        assert roles["aws:PrincipalArn"] == [
            f"arn:aws:iam::{ACCOUNT}:role/{prefix}-release",
            f"arn:aws:iam::{ACCOUNT}:role/{prefix}-infrastructure",
        ]
        topic = of(run, "aws:sns/topic:Topic", f"alerting-{tier}").inputs
        assert topic["kmsMasterKeyId"] == arn_of(run, "alerting-key", "aws:kms/key:Key")
        assert topic["httpFailureFeedbackRoleArn"] == arn_of(
            run, "alerting-delivery-status", "aws:iam/role:Role"
        )


def test_the_default_security_group_admits_nothing(stack: tuple[Settings, Evaluation]) -> None:
    _, run = stack
    (group,) = run.mocks.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert group.inputs["vpcId"] == run.exports["vpcId"]
    assert group.inputs.get("ingress", []) == [] and group.inputs.get("egress", []) == []
