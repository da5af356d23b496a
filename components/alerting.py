"""AlertTopics: one SNS topic per alert tier, with e-mail and (secret) HTTPS subscriptions.

The topics have a KMS key of their own (CloudWatch may use it for this account only), a policy
naming who may publish (this account's alarms and the CI roles), and delivery-status logging to
encrypted log groups, so a pager webhook that stops accepting messages shows up (FSBP SNS.2)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi
import pulumi_aws as aws

from components.keys import (
    Account,
    account_output,
    customer_key,
    document,
    key_policy,
    logs_statement,
    service_trust,
)
from delivery.config.model import AlertingSettings, Tier


@dataclass(frozen=True)
class AlertTopicsArgs:
    settings: AlertingSettings
    name_prefix: str
    region: str
    key_rotation_days: int
    log_retention_days: int
    publisher_role_names: Sequence[str]  # the CI roles (components/ci_roles.py names them)
    webhook_urls: Mapping[str, pulumi.Output[str]]  # secret Outputs keyed by secretValues key
    permissions_boundary: pulumi.Input[str] = field(kw_only=True)
    # Tiers whose Incident Manager response plan notifies the tier's topic: Incident Manager
    # publishes there itself (ssm-incidents.amazonaws.com, as AWS's security reference
    # architecture's chatbot topics allow it), so its topic and the key must let it.
    incident_tiers: frozenset[Tier] = field(default=frozenset(), kw_only=True)


class AlertTopics(pulumi.ComponentResource):
    """info → warning → critical → emergency; rollback alarms notify critical, paging emergency."""

    def __init__(
        self, name: str, args: AlertTopicsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:alerting:AlertTopics", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix
        account = account_output(self, args.region)
        self.key = customer_key(
            f"{name}-key",
            f"Switchyard {prefix}: encrypts the alert topics and their delivery logs",
            args.key_rotation_days,
            account.apply(
                lambda a: key_policy(a, _key_statements(a, prefix, bool(args.incident_tiers)))
            ),
            self,
            f"{prefix}-alerting",
        )
        feedback = aws.iam.Role(
            f"{name}-delivery-status",
            name_prefix=f"{prefix}-sns-status-",
            permissions_boundary=args.permissions_boundary,
            assume_role_policy=account.apply(lambda a: service_trust("sns.amazonaws.com", a)),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-delivery-status",
            role=feedback.id,
            policy=account.apply(lambda a: _status_writer(a, prefix)),
            opts=child,
        )
        self.topics: dict[Tier, aws.sns.Topic] = {}
        for tier in Tier:
            topic_name = f"{prefix}-{tier}"
            for suffix in ("", "/Failure"):  # where SNS writes successes and failures
                aws.cloudwatch.LogGroup(
                    f"{name}-{tier}-status{suffix.replace('/', '-').lower()}",
                    name=account.apply(functools.partial(_status_group, topic_name, suffix)),
                    retention_in_days=args.log_retention_days,
                    kms_key_id=self.key.arn,
                    opts=child,
                )
            topic = aws.sns.Topic(
                f"{name}-{tier}",
                name=topic_name,
                kms_master_key_id=self.key.arn,
                http_success_feedback_role_arn=feedback.arn,
                http_failure_feedback_role_arn=feedback.arn,
                http_success_feedback_sample_rate=100,
                opts=child,
            )
            aws.sns.TopicPolicy(
                f"{name}-{tier}",
                arn=topic.arn,
                policy=pulumi.Output.all(account, topic.arn).apply(
                    functools.partial(
                        _topic_policy,
                        prefix,
                        args.publisher_role_names,
                        tier in args.incident_tiers,
                    )
                ),
                opts=child,
            )
            self.topics[tier] = topic
        for index, email in enumerate(args.settings.emails):
            aws.sns.TopicSubscription(
                f"{name}-{email.tier}-email-{index}",
                topic=self.topics[email.tier].arn,
                protocol="email",
                endpoint=email.endpoint,
                opts=child,
            )
        for index, hook in enumerate(args.settings.webhooks):
            aws.sns.TopicSubscription(
                f"{name}-{hook.tier}-https-{index}",
                topic=self.topics[hook.tier].arn,
                protocol="https",
                endpoint=args.webhook_urls[hook.endpoint],
                opts=child,
            )
        self.chat_configurations = self._chats(name, args, account)
        self.register_outputs(
            {"topicArns": {t.value: topic.arn for t, topic in self.topics.items()}}
        )

    def _chats(
        self, name: str, args: AlertTopicsArgs, account: pulumi.Output[Account]
    ) -> list[aws.chatbot.SlackChannelConfiguration]:
        """A Slack channel per configuration, subscribed by AWS Chatbot to the topics of the
        tiers it hears (an SNS HTTPS subscription to a Slack incoming webhook never confirms).
        Chatbot's channel role has no permission of its own, and the channel's guardrail is
        read-only: nobody in the channel can act through it (AdministratorAccess otherwise)."""
        channels = args.settings.chat_channels()
        if not channels:
            return []
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-chatbot",
            name_prefix=f"{args.name_prefix}-chatbot-",
            permissions_boundary=args.permissions_boundary,
            # Pinned to this account as every service trust here (the baseline's confused-deputy
            # rule); that Chatbot sends aws:SourceAccount when it assumes the role, no AWS page
            # says. The role may do nothing: commands in the channel are refused, and alarm
            # notifications come without the charts Chatbot would read with CloudWatch Get*.
            assume_role_policy=account.apply(lambda a: service_trust(CHATBOT, a)),
            opts=child,
        )
        made = []
        for (workspace, channel), tiers in sorted(channels.items()):
            # Named after the channel, never its place in the list: UpdateSlackChannelConfiguration
            # takes neither the name nor the workspace (botocore chatbot), so a change of either
            # must replace the configuration, and a new channel must not rename another's.
            made.append(
                aws.chatbot.SlackChannelConfiguration(
                    f"{name}-chat-{channel.lower()}",
                    configuration_name=f"{args.name_prefix}-{channel}",
                    iam_role_arn=role.arn,
                    slack_team_id=workspace,
                    slack_channel_id=channel,
                    sns_topic_arns=[self.topics[t].arn for t in tiers],
                    guardrail_policy_arns=[CHAT_GUARDRAIL],
                    logging_level="ERROR",
                    opts=pulumi.ResourceOptions(
                        parent=self, replace_on_changes=["configurationName", "slackTeamId"]
                    ),
                )
            )
        return made


def _status_group(topic_name: str, suffix: str, account: Account) -> str:
    """Where SNS logs a topic's deliveries (``suffix`` ``/Failure`` for the failures)."""
    return f"sns/{account.region}/{account.id}/{topic_name}{suffix}"


INCIDENT_MANAGER: Final = "ssm-incidents.amazonaws.com"
CHATBOT: Final = "chatbot.amazonaws.com"  # the channel role's trust (AWS Chatbot's admin guide)
CHAT_GUARDRAIL: Final = "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"


def _key_statements(
    account: Account, prefix: str, incident_manager: bool = False
) -> list[dict[str, object]]:
    # Alarms (and Incident Manager, when it notifies) publish to encrypted topics only if the
    # service may use the key; pinned to this account so no other account can use it so.
    publishers = ["cloudwatch.amazonaws.com", *([INCIDENT_MANAGER] if incident_manager else [])]
    services = {
        "Sid": "ThisAccountsAlarmsPublishToEncryptedTopics",
        "Effect": "Allow",
        "Principal": {"Service": publishers if incident_manager else publishers[0]},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": account.id}},
    }
    return [services, logs_statement(account, _status_group(f"{prefix}-*", "", account))]


def _status_writer(account: Account, prefix: str) -> str:
    group = account.arn("logs", f"log-group:{_status_group(f'{prefix}-*', '', account)}")
    return document(
        {
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:PutMetricFilter",
                "logs:PutRetentionPolicy",
            ],
            "Resource": [group, f"{group}:*"],
        }
    )


def _topic_policy(
    prefix: str, roles: Sequence[str], incident_manager: bool, account_and_arn: list[Any]
) -> str:
    account, topic_arn = account_and_arn
    return _publishers(account, topic_arn, prefix, roles, incident_manager)


def _publishers(
    account: Account,
    topic_arn: str,
    prefix: str,
    roles: Sequence[str],
    incident_manager: bool = False,
) -> str:
    statements: list[dict[str, object]] = [
        {
            "Sid": "ThisAccountsAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account.id},
                "ArnLike": {"aws:SourceArn": account.arn("cloudwatch", f"alarm:{prefix}-*")},
            },
        }
    ]
    if incident_manager:
        statements.append(
            {
                "Sid": "ThisAccountsIncidentsNotify",
                "Effect": "Allow",
                "Principal": {"Service": INCIDENT_MANAGER},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account.id}},
            }
        )
    if roles:
        # Principal is the account (it always exists); the condition names the roles, which
        # may not exist yet when the policy is written.
        statements.append(
            {
                "Sid": "ReleaseAndInfrastructureRolesPublish",
                "Effect": "Allow",
                "Principal": {"AWS": account.root},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "ArnEquals": {
                        "aws:PrincipalArn": [account.arn("iam", f"role/{r}", False) for r in roles]
                    }
                },
            }
        )
    return document(*statements)
