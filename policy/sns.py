"""SNS alert topics: encrypted, delivery status logged, publishers limited, someone listening."""

from __future__ import annotations

from collections.abc import Iterator

from policy.baseline import (
    Rule,
    Stack,
    Subject,
    allows,
    public,
    sid,
)

TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
ALARMS = ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm")
FEEDBACK = ("http", "application", "lambda", "sqs", "firehose")


def _encrypted(topic: Subject) -> Iterator[str]:
    key = topic.get("kmsMasterKeyId")
    if not key or str(key).endswith("alias/aws/sns"):
        yield (
            "is not encrypted with a customer-managed key (CloudWatch cannot use alias/aws/sns); "
            "set kms_master_key_id to the alerting key"
        )


def _delivery_logged(topic: Subject) -> Iterator[str]:
    if not any(topic.get(f"{protocol}FailureFeedbackRoleArn") for protocol in FEEDBACK):
        yield (
            "logs no delivery status, so a broken webhook goes unnoticed; set "
            "http_failure_feedback_role_arn (and success) to a role that writes CloudWatch Logs"
        )


def _topic_policy(stack: Stack) -> Iterator[tuple[Subject, str]]:
    for topic in stack.of_type(TOPIC):
        if not stack.attached(topic, TOPIC_POLICY, "arn"):
            yield (
                topic,
                (
                    "has the default topic policy (any principal of the account may publish); "
                    "add a TopicPolicy that lets only CloudWatch (this account) and the release "
                    "role publish"
                ),
            )


def _policy_not_public(policy: Subject) -> Iterator[str]:
    for statement in allows(policy.get("policy")):
        if public(statement):
            yield (
                f"statement {sid(statement)} lets anyone use the topic (aws:SecureTransport "
                "limits how, not who); name the publishers or pin them with aws:SourceAccount"
            )


def _someone_listens(stack: Stack) -> Iterator[tuple[Subject, str]]:
    alarms = stack.of_type(*ALARMS)
    for topic in stack.of_type(TOPIC):
        notified = [a for a in alarms if a.depends_on(topic)]
        if notified and not stack.attached(topic, SUBSCRIPTION, "topic"):
            yield (
                topic,
                (
                    f"receives {len(notified)} alarm(s) but has no subscriber; add an "
                    "alertEmails or alertWebhooks entry for this tier"
                ),
            )


RULES = [
    Rule(
        "sns-encrypted",
        "SNS topics are encrypted with a customer-managed KMS key",
        "FSBP SNS.1",
        _encrypted,
        frozenset({TOPIC}),
    ),
    Rule(
        "sns-delivery-status-logging",
        "SNS topics log the delivery status of notifications",
        "FSBP SNS.2",
        _delivery_logged,
        frozenset({TOPIC}),
    ),
    Rule(
        "sns-topic-policy",
        "Every SNS topic has a policy that limits who may publish",
        "FSBP SNS.4 (baseline: explicit publishers)",
        stack_check=_topic_policy,
    ),
    Rule(
        "sns-policy-not-public",
        "SNS topic policies grant nothing to everyone",
        "FSBP SNS.4",
        _policy_not_public,
        frozenset({TOPIC_POLICY}),
    ),
    Rule(
        "sns-alarm-topics-subscribed",
        "Every topic an alarm notifies has at least one subscriber",
        "FSBP CloudWatch.15 (an action nobody receives is no action)",
        stack_check=_someone_listens,
    ),
]
