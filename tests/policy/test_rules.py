"""Each rule of the pack with a resource (or graph) that violates it and one that passes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pytest

from delivery.config.model import BOOTSTRAP_TAG
from policy import eks, elb, iam, keys, monitoring, network, s3, sns
from policy.baseline import ADVISORY, MANDATORY
from policy.pack import POLICIES, RULES
from tests.policy.graph import Graph, doc, statement

ROOT = {"AWS": "arn:aws:iam::123456789012:root"}
LB = elb.LOAD_BALANCER
GOOD_CONTAINER = {
    "name": "web",
    "image": "registry.example.com/web@sha256:" + "a" * 64,
    "securityContext": {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
    },
}


def deployment(container: Mapping[str, object]) -> dict[str, object]:
    return {"spec": {"template": {"spec": {"containers": [container]}}}}


@dataclass(frozen=True)
class Case:
    rule: str
    bad: Callable[[Graph], object]
    good: Callable[[Graph], object]


def one(type_: str, props: Mapping[str, object]) -> Callable[[Graph], object]:
    return lambda g: g.add(type_, "subject", dict(props))


def bucket_with(type_: str | None, props: dict[str, object]) -> Callable[[Graph], object]:
    def build(g: Graph) -> None:
        bucket = g.add(s3.BUCKET, "subject")
        if type_:
            g.add(type_, "attachment", props, bucket=bucket)

    return build


def negated(actions: str, resource: str) -> dict[str, object]:
    return {"Effect": "Allow", "NotAction": actions, "Resource": resource}


def bounded_roles(attached: bool, boundary_policy: str | None = None) -> Callable[[Graph], object]:
    """A role capped by a boundary policy (a NotAction one unless given), attached or not."""

    def build(g: Graph) -> None:
        policy = boundary_policy or doc(negated("iam:*", "*"))
        boundary = g.add(iam.POLICY, "subject", {"policy": policy})
        g.add(
            iam.ROLE, "role", {"permissionsBoundary": "arn:boundary"}, permissionsBoundary=boundary
        )
        if attached:
            g.add(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                "grant",
                {"policyArn": "arn:boundary"},
                policyArn=boundary,
            )

    return build


def alarm_to_topic(subscribed: bool) -> Callable[[Graph], object]:
    def build(g: Graph) -> None:
        topic = g.add(sns.TOPIC, "subject")
        g.add(monitoring.METRIC_ALARM, "alarm", {"alarmActions": ["arn:topic"]}, alarmActions=topic)
        if subscribed:
            g.add(sns.SUBSCRIPTION, "pager", {"protocol": "email"}, topic=topic)

    return build


def internet_ingress(port: int, on_balancer: bool) -> Callable[[Graph], object]:
    def build(g: Graph) -> None:
        group = g.add(network.SECURITY_GROUP, "group")
        if on_balancer:
            g.add(LB, "alb", securityGroups=group)
        g.add(
            network.INGRESS_RULE,
            "subject",
            {"ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": "0.0.0.0/0"},
            securityGroupId=group,
        )

    return build


def ingress_on_group_by_id(cidr: str) -> Callable[[Graph], object]:
    """A rule on a group the stack does not declare (EKS's cluster group, given by its id)."""

    def build(g: Graph) -> None:
        g.add(
            network.INGRESS_RULE,
            "subject",
            {
                "ipProtocol": "tcp",
                "fromPort": 443,
                "toPort": 443,
                "cidrIpv4": cidr,
                "securityGroupId": "sg-0123456789abcdef0",
            },
        )

    return build


def tls_deny(resource: object, value: str = "false") -> Callable[[Graph], object]:
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": value}},
    }
    return bucket_with(s3.BUCKET_POLICY, {"policy": doc(deny)})


def target_ingress(from_balancer: bool) -> Callable[[Graph], object]:
    def build(g: Graph) -> None:
        front = g.add(network.SECURITY_GROUP, "front")
        targets = g.add(network.SECURITY_GROUP, "targets")
        g.add(LB, "alb", securityGroups=front)
        g.add(network.EGRESS_RULE, "out", securityGroupId=front, referencedSecurityGroupId=targets)
        rule = {"ipProtocol": "tcp", "fromPort": 8080, "toPort": 8080}
        if from_balancer:
            g.add(
                network.INGRESS_RULE,
                "subject",
                rule,
                securityGroupId=targets,
                referencedSecurityGroupId=front,
            )
        else:
            g.add(
                network.INGRESS_RULE,
                "subject",
                {**rule, "cidrIpv4": "10.0.0.0/8"},
                securityGroupId=targets,
            )

    return build


def audited(trail: bool) -> Callable[[Graph], object]:
    def build(g: Graph) -> None:
        g.add(keys.SECRET, "subject", {"kmsKeyId": "arn:key"})
        if trail:
            g.add(monitoring.TRAIL, "trail")
            g.add(
                monitoring.METRIC_FILTER, "reads", {"pattern": '{ $.eventName = "GetSecretValue" }'}
            )

    return build


def nodes_in(tier: str) -> Callable[[Graph], object]:
    def build(g: Graph) -> None:
        subnet = g.add(eks.SUBNET, "subnet", {"tags": {"tier": tier}})
        g.add(eks.NODE_GROUP, "subject", subnetIds=[subnet])

    return build


def attached(parent_type: str, child_type: str, prop: str, props: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    def build(g: Graph) -> None:
        parent = g.add(parent_type, "subject")
        if child_type:
            g.add(child_type, "child", props or {}, **{prop: parent})

    return build


def open_default_group(g: Graph) -> None:
    vpc = g.add(network.VPC, "vpc")
    g.add(network.DEFAULT_SECURITY_GROUP, "subject", {"ingress": [{"self": True}]}, vpcId=vpc)


TRAIL_OK = {
    "isMultiRegionTrail": True,
    "enableLogFileValidation": True,
    "kmsKeyId": "arn:key",
    "cloudWatchLogsGroupArn": "arn:group:*",
    "eventSelectors": [{"readWriteType": "All", "includeManagementEvents": True}],
}
METRICS = {"cloudwatchMetricsEnabled": True, "metricName": "m", "sampledRequestsEnabled": True}
WAF_OK = {
    "rules": [
        {"statement": {"rateBasedStatement": {"limit": 2000}}, "visibilityConfig": METRICS},
        {
            "statement": {"managedRuleGroupStatement": {"name": "AWSManagedRulesCommonRuleSet"}},
            "visibilityConfig": METRICS,
        },
    ]
}
GITHUB = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def github_trust(sub: str) -> str:
    return doc(
        statement(
            {"Federated": GITHUB},
            "sts:AssumeRoleWithWebIdentity",
            None,
            StringEquals={
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": sub,
            },
        )
    )


CASES = [
    Case(
        "elb-https-listeners",
        one(
            elb.LISTENER, {"protocol": "HTTP", "port": 80, "defaultActions": [{"type": "forward"}]}
        ),
        one(
            elb.LISTENER,
            {
                "protocol": "HTTP",
                "port": 80,
                "defaultActions": [
                    {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443"}}
                ],
            },
        ),
    ),
    Case(
        "elb-tls12-policy",
        one(elb.LISTENER, {"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-2016-08"}),
        one(
            elb.LISTENER, {"protocol": "HTTPS", "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}
        ),
    ),
    Case("elb-drop-invalid-headers", one(LB, {}), one(LB, {"dropInvalidHeaderFields": True})),
    Case(
        "elb-access-logs",
        one(LB, {"accessLogs": {"enabled": False, "bucket": "b"}}),
        one(LB, {"accessLogs": {"enabled": True, "bucket": "b"}}),
    ),
    Case("elb-deletion-protection", one(LB, {}), one(LB, {"enableDeletionProtection": True})),
    Case("elb-desync-mitigation", one(LB, {"desyncMitigationMode": "monitor"}), one(LB, {})),
    Case("elb-multi-az", one(LB, {"subnets": ["a"]}), one(LB, {"subnets": ["a", "b"]})),
    Case("elb-waf", attached(LB, "", ""), attached(LB, elb.WAF_ASSOCIATION, "resourceArn")),
    Case(
        "s3-block-public-access",
        bucket_with(s3.PUBLIC_ACCESS_BLOCK, dict.fromkeys(s3.BLOCKS[:3], True)),
        bucket_with(s3.PUBLIC_ACCESS_BLOCK, dict.fromkeys(s3.BLOCKS, True)),
    ),
    Case(
        "s3-no-public-policy",
        one(s3.BUCKET_POLICY, {"policy": doc(statement("*"))}),
        one(s3.BUCKET_POLICY, {"policy": doc(statement(ROOT))}),
    ),
    Case("s3-default-encryption", bucket_with(None, {}), bucket_with(s3.ENCRYPTION, {})),
    Case(
        "s3-tls-only",
        bucket_with(s3.BUCKET_POLICY, {"policy": doc(statement(ROOT))}),
        bucket_with(
            s3.BUCKET_POLICY,
            {
                "policy": doc(
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": "*",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                )
            },
        ),
    ),
    Case(
        "s3-versioning",
        bucket_with(s3.VERSIONING, {"versioningConfiguration": {"status": "Suspended"}}),
        bucket_with(s3.VERSIONING, {"versioningConfiguration": {"status": "Enabled"}}),
    ),
    Case(
        "s3-acls-disabled",
        bucket_with(s3.OWNERSHIP, {"rule": {"objectOwnership": "ObjectWriter"}}),
        bucket_with(s3.OWNERSHIP, {"rule": {"objectOwnership": "BucketOwnerEnforced"}}),
    ),
    Case("s3-lifecycle", bucket_with(None, {}), bucket_with(s3.LIFECYCLE, {})),
    Case(
        "kms-key-rotation",
        one(keys.KEY, {"enableKeyRotation": True, "rotationPeriodInDays": 400}),
        one(keys.KEY, {"enableKeyRotation": True, "rotationPeriodInDays": 365}),
    ),
    Case(  # an asymmetric key (keySpec, pulumi-aws 7's name) cannot rotate: out of scope
        "kms-key-rotation",
        one(keys.KEY, {"keySpec": "SYMMETRIC_DEFAULT"}),
        one(keys.KEY, {"keySpec": "RSA_2048"}),
    ),
    Case(  # the transport alone narrows nobody
        "kms-key-policy-not-public",
        one(
            keys.KEY,
            {
                "enableKeyRotation": True,
                "policy": doc(statement("*", "kms:*", Bool={"aws:SecureTransport": "true"})),
            },
        ),
        one(
            keys.KEY,
            {
                "enableKeyRotation": True,
                "policy": doc(
                    statement("*", "kms:*", StringEquals={"kms:CallerAccount": "123456789012"})
                ),
            },
        ),
    ),
    Case(
        "kms-key-policy-not-public",
        one(keys.KEY, {"enableKeyRotation": True, "policy": doc(statement("*", "kms:*"))}),
        one(keys.KEY, {"enableKeyRotation": True, "policy": doc(statement(ROOT, "kms:*"))}),
    ),
    Case(
        "secrets-customer-key",
        one(keys.SECRET, {"kmsKeyId": "alias/aws/secretsmanager"}),
        one(keys.SECRET, {"kmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/1"}),
    ),
    Case(
        "secrets-rotation",
        attached(keys.SECRET, "", ""),
        attached(
            keys.SECRET,
            keys.SECRET_ROTATION,
            "secretId",
            {"rotationRules": {"automaticallyAfterDays": 30}},
        ),
    ),
    Case(
        "secrets-rotation-interval",
        one(keys.SECRET_ROTATION, {"rotationRules": {"automaticallyAfterDays": 91}}),
        one(keys.SECRET_ROTATION, {"rotationRules": {"automaticallyAfterDays": 90}}),
    ),
    Case(
        "secrets-rotation-interval",
        one(keys.SECRET_ROTATION, {"rotationRules": {"scheduleExpression": "rate(120 days)"}}),
        one(keys.SECRET_ROTATION, {"rotationRules": {"scheduleExpression": "rate(30 days)"}}),
    ),
    Case(  # once a year, then every quarter
        "secrets-rotation-interval",
        one(
            keys.SECRET_ROTATION,
            {"rotationRules": {"scheduleExpression": "cron(0 4 1 JAN ? *)"}},
        ),
        one(
            keys.SECRET_ROTATION,
            {"rotationRules": {"scheduleExpression": "cron(0 4 1 */2 ? *)"}},
        ),
    ),
    Case(
        "eks-node-imdsv2",
        one(eks.LAUNCH_TEMPLATE, {"metadataOptions": {"httpTokens": "optional"}}),
        one(
            eks.LAUNCH_TEMPLATE,
            {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}},
        ),
    ),
    Case(
        "eks-node-imdsv2",
        one(eks.LAUNCH_TEMPLATE, {}),
        one(eks.LAUNCH_TEMPLATE, {"metadataOptions": {"httpTokens": "required"}}),
    ),
    Case(
        "sns-encrypted",
        one(sns.TOPIC, {"kmsMasterKeyId": "alias/aws/sns"}),
        one(sns.TOPIC, {"kmsMasterKeyId": "arn:key"}),
    ),
    Case(
        "sns-delivery-status-logging",
        one(sns.TOPIC, {"httpSuccessFeedbackRoleArn": "arn:role"}),
        one(sns.TOPIC, {"httpFailureFeedbackRoleArn": "arn:role"}),
    ),
    Case(
        "sns-topic-policy",
        attached(sns.TOPIC, "", ""),
        attached(sns.TOPIC, sns.TOPIC_POLICY, "arn"),
    ),
    Case(
        "sns-policy-not-public",
        one(sns.TOPIC_POLICY, {"policy": doc(statement({"AWS": "*"}, "sns:Publish"))}),
        one(
            sns.TOPIC_POLICY,
            {
                "policy": doc(
                    statement({"AWS": "*"}, "sns:Publish", StringEquals={"aws:SourceAccount": "1"})
                )
            },
        ),
    ),
    Case("sns-alarm-topics-subscribed", alarm_to_topic(False), alarm_to_topic(True)),
    Case(
        "ec2-default-security-group-closed",
        open_default_group,
        attached(
            network.VPC, network.DEFAULT_SECURITY_GROUP, "vpcId", {"ingress": [], "egress": []}
        ),
    ),
    Case(
        "ec2-vpc-flow-logs",
        attached(network.VPC, "", ""),
        attached(network.VPC, network.FLOW_LOG, "vpcId"),
    ),
    Case("ec2-internet-ingress", internet_ingress(22, True), internet_ingress(443, True)),
    Case(
        "ec2-internet-ingress",
        ingress_on_group_by_id("0.0.0.0/0"),
        ingress_on_group_by_id("10.0.0.0/16"),
    ),
    Case(  # the objects stay readable over HTTP
        "s3-tls-only", tls_deny("arn:aws:s3:::b"), tls_deny(["arn:aws:s3:::b", "arn:aws:s3:::b/*"])
    ),
    Case(  # "true" denies HTTPS, not HTTP
        "s3-tls-only", tls_deny("*", "true"), tls_deny("*", "false")
    ),
    Case(  # a wildcard principal behind only the transport is still everyone
        "sns-policy-not-public",
        one(
            sns.TOPIC_POLICY,
            {
                "policy": doc(
                    statement({"AWS": "*"}, "sns:Publish", Bool={"aws:SecureTransport": "true"})
                )
            },
        ),
        one(
            sns.TOPIC_POLICY,
            {
                "policy": doc(
                    statement({"AWS": "*"}, "sns:Publish", StringEquals={"aws:SourceAccount": "1"})
                )
            },
        ),
    ),
    Case(
        "iam-trust-not-public",
        one(
            iam.ROLE,
            {
                "assumeRolePolicy": doc(
                    statement({"AWS": "*"}, "sts:AssumeRole", Bool={"aws:SecureTransport": "true"})
                )
            },
        ),
        one(iam.ROLE, {"assumeRolePolicy": doc(statement(ROOT, "sts:AssumeRole"))}),
    ),
    Case(
        "iam-no-admin-attachments",
        one(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        ),
        one(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            {"policyArn": "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"},
        ),
    ),
    Case(  # any branch of the repository
        "iam-github-oidc-scoped",
        one(iam.ROLE, {"assumeRolePolicy": github_trust("repo:org/app:ref:refs/heads/*")}),
        one(iam.ROLE, {"assumeRolePolicy": github_trust("repo:org/app:environment:production")}),
    ),
    Case(  # any repository of the owner
        "iam-github-oidc-scoped",
        one(iam.ROLE, {"assumeRolePolicy": github_trust("repo:org/*:environment:production")}),
        one(iam.ROLE, {"assumeRolePolicy": github_trust("repo:org/app:environment:production")}),
    ),
    Case(  # advanced selectors of data events only: no management events recorded
        "cloudtrail-trail",
        one(
            monitoring.TRAIL,
            {
                **TRAIL_OK,
                "advancedEventSelectors": [
                    {"fieldSelectors": [{"field": "eventCategory", "equals": ["Data"]}]}
                ],
            },
        ),
        one(
            monitoring.TRAIL,
            {
                **TRAIL_OK,
                "advancedEventSelectors": [
                    {"fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}]}
                ],
            },
        ),
    ),
    Case("ec2-targets-from-load-balancer", target_ingress(False), target_ingress(True)),
    Case(
        "ec2-subnet-no-public-ip",
        one(network.SUBNET, {"mapPublicIpOnLaunch": True}),
        one(network.SUBNET, {"mapPublicIpOnLaunch": False}),
    ),
    Case(
        "iam-no-admin",
        one(iam.POLICY, {"policy": doc(statement(None, "*", "*"))}),
        one(iam.POLICY, {"policy": doc(statement(None, "s3:GetObject", "arn:aws:s3:::b/*"))}),
    ),
    Case(
        "iam-no-admin-by-negation",
        one(iam.ROLE_POLICY, {"policy": doc(negated("iam:PassRole", "*"))}),
        bounded_roles(attached=False),
    ),
    Case(
        "iam-no-admin-by-negation",
        bounded_roles(attached=True),  # a boundary that is also granted is a grant
        one(iam.ROLE_POLICY, {"policy": doc(negated("iam:PassRole", "arn:aws:s3:::b/*"))}),
    ),
    Case(
        "iam-no-service-wildcards",
        one(iam.ROLE_POLICY, {"policy": doc(statement(None, "s3:*", "arn:aws:s3:::b"))}),
        one(iam.ROLE_POLICY, {"policy": doc(statement(None, "s3:Get*", "arn:aws:s3:::b"))}),
    ),
    Case(
        "iam-kms-decrypt-scoped",
        one(iam.POLICY, {"policy": doc(statement(None, "kms:Decrypt", "*"))}),
        one(iam.POLICY, {"policy": doc(statement(None, "kms:Decrypt", "arn:aws:kms:x:1:key/k"))}),
    ),
    Case(
        "iam-kms-decrypt-scoped",  # a boundary that is also granted is a grant
        bounded_roles(True, doc(statement(None, "kms:Decrypt", "*"))),
        bounded_roles(False, doc(statement(None, "kms:Decrypt", "*"))),
    ),
    Case(
        "iam-confused-deputy",
        one(
            iam.ROLE,
            {
                "assumeRolePolicy": doc(
                    statement({"Service": "vpc-flow-logs.amazonaws.com"}, "sts:AssumeRole", None)
                )
            },
        ),
        one(
            iam.ROLE,
            {
                "assumeRolePolicy": doc(
                    statement(
                        {"Service": "vpc-flow-logs.amazonaws.com"},
                        "sts:AssumeRole",
                        None,
                        StringEquals={"aws:SourceAccount": "123456789012"},
                    )
                )
            },
        ),
    ),
    Case(
        "iam-github-oidc-scoped",
        one(iam.ROLE, {"assumeRolePolicy": github_trust("repo:*")}),
        one(iam.ROLE, {"assumeRolePolicy": github_trust("repo:org/app:environment:production")}),
    ),
    Case(
        "cloudwatch-alarm-actions",
        one(monitoring.METRIC_ALARM, {"alarmActions": ["arn:topic"], "actionsEnabled": False}),
        one(monitoring.METRIC_ALARM, {"alarmActions": ["arn:topic"]}),
    ),
    Case(
        "logs-encrypted",
        one(monitoring.LOG_GROUP, {"retentionInDays": 365}),
        one(monitoring.LOG_GROUP, {"retentionInDays": 365, "kmsKeyId": "arn:key"}),
    ),
    Case(
        "logs-retention",
        one(monitoring.LOG_GROUP, {"retentionInDays": 90, "kmsKeyId": "arn:key"}),
        one(monitoring.LOG_GROUP, {"retentionInDays": 400, "kmsKeyId": "arn:key"}),
    ),
    Case(
        "cloudtrail-trail",
        one(monitoring.TRAIL, {**TRAIL_OK, "enableLogFileValidation": False}),
        one(monitoring.TRAIL, TRAIL_OK),
    ),
    Case("cloudtrail-secret-reads-audited", audited(False), audited(True)),
    Case(
        "waf-rules",
        one(monitoring.WEB_ACL, {"rules": WAF_OK["rules"][1:]}),
        one(monitoring.WEB_ACL, WAF_OK),
    ),
    Case(
        "waf-logging",
        attached(monitoring.WEB_ACL, "", ""),
        attached(monitoring.WEB_ACL, monitoring.WAF_LOGGING, "resourceArn"),
    ),
    Case(
        "eks-secrets-encryption",
        one(eks.CLUSTER, {"encryptionConfig": {"resources": []}}),
        one(eks.CLUSTER, {"encryptionConfig": {"resources": ["secrets"]}}),
    ),
    Case(
        "eks-audit-logs",
        one(eks.CLUSTER, {"enabledClusterLogTypes": ["api", "authenticator"]}),
        one(eks.CLUSTER, {"enabledClusterLogTypes": ["api", "audit", "authenticator"]}),
    ),
    Case(
        "eks-endpoint-restricted",
        one(eks.CLUSTER, {"vpcConfig": {"endpointPublicAccess": True}}),
        one(
            eks.CLUSTER,
            {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}},
        ),
    ),
    Case(  # two halves make the whole internet
        "eks-endpoint-restricted",
        one(
            eks.CLUSTER,
            {
                "vpcConfig": {
                    "endpointPublicAccess": True,
                    "publicAccessCidrs": ["0.0.0.0/1", "128.0.0.0/1"],
                }
            },
        ),
        one(
            eks.CLUSTER,
            {
                "vpcConfig": {
                    "endpointPublicAccess": True,
                    "publicAccessCidrs": ["0.0.0.0/1", "128.0.0.0/2"],
                }
            },
        ),
    ),
    Case(
        "eks-version-supported",
        one(eks.CLUSTER, {"version": "1.33"}),  # standard support ended 2026-07-29
        one(eks.CLUSTER, {"version": "1.35"}),
    ),
    Case(
        "eks-bootstrap-access-removed",
        one(
            eks.CLUSTER,
            {
                "vpcConfig": {
                    "endpointPublicAccess": True,
                    "publicAccessCidrs": ["198.51.100.7/32"],
                },
                "tags": {BOOTSTRAP_TAG: "198.51.100.7/32"},
            },
        ),
        one(eks.CLUSTER, {"vpcConfig": {"endpointPublicAccess": False}}),
    ),
    Case("eks-private-nodes", nodes_in("public"), nodes_in("private")),
    Case(
        "pods-hardened",
        one(
            "kubernetes:apps/v1:Deployment",
            deployment(
                {
                    **GOOD_CONTAINER,
                    "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True},
                }
            ),
        ),
        one("kubernetes:apps/v1:Deployment", deployment(GOOD_CONTAINER)),
    ),
    Case(
        "pods-images-pinned",
        one("kubernetes:apps/v1:Deployment", deployment({**GOOD_CONTAINER, "image": "web:1.2"})),
        one("kubernetes:apps/v1:Deployment", deployment(GOOD_CONTAINER)),
    ),
]


def _with(
    builder: Callable[[Graph], object], environment: str = "prod", tags: bool = True
) -> Graph:
    graph = Graph(environment, tags)
    builder(graph)
    return graph


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_the_rule_reports_the_violating_resource_and_passes_the_fixed_one(case: Case) -> None:
    (rule,) = [r for r in RULES if r.name == case.rule]
    found = _with(case.bad).violations(case.rule)
    assert found, f"{case.rule} let a violating resource through"
    for violation in found:
        assert violation.level is rule.level
        assert f"[{rule.controls}]" in violation.message  # cites its controls
        assert "'subject'" in violation.message  # names the resource
        assert ";" in violation.message  # ... and the fix after what is wrong
    assert _with(case.good).violations(case.rule) == []


def test_every_rule_is_tested() -> None:
    assert {c.rule for c in CASES} == {r.name for r in RULES} - {"tags-required"}


RELAXED = [(r.name, env) for r in RULES for env in r.relaxed]


@pytest.mark.parametrize(("rule", "environment"), RELAXED)
def test_a_deliberate_departure_is_advisory_there_and_says_why(rule: str, environment: str) -> None:
    case = next(c for c in CASES if c.rule == rule)  # its first case
    graph = _with(case.bad, environment)
    assert graph.violations(rule) == []
    advisories = graph.violations(f"{rule}-relaxed")
    assert advisories
    assert all(v.level is ADVISORY for v in advisories)
    assert all(f"(advisory in {environment}: " in v.message for v in advisories)
    assert _with(case.bad, "prod").violations(f"{rule}-relaxed") == []


def test_required_tags_come_from_the_provider_or_the_resource() -> None:
    untagged = _with(one(s3.BUCKET, {}), tags=False)
    (violation,) = untagged.violations("tags-required")
    assert "environment, project, owner, cost-centre" in violation.message
    assert violation.level is MANDATORY
    assert _with(one(s3.BUCKET, {})).violations("tags-required") == []
    own = {"environment": "prod", "project": "p", "owner": "o", "cost-centre": "c"}
    assert _with(one(s3.BUCKET, {"tags": own}), tags=False).violations("tags-required") == []


def test_the_pack_declares_each_policy_once_with_a_level() -> None:
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names))
    assert all(p.enforcement_level in (MANDATORY, ADVISORY) for p in POLICIES)
