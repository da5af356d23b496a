"""AlertTopics: one SNS topic per alert tier, with e-mail and (secret) HTTPS subscriptions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from delivery.config.model import AlertingSettings, Tier


@dataclass(frozen=True)
class AlertTopicsArgs:
    settings: AlertingSettings
    name_prefix: str
    kms_key_id: pulumi.Input[str]
    webhook_urls: Mapping[str, pulumi.Output[str]]  # secret Outputs keyed by secretValues key


class AlertTopics(pulumi.ComponentResource):
    """info → warning → critical → emergency; rollback alarms notify critical, paging emergency."""

    def __init__(
        self, name: str, args: AlertTopicsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:alerting:AlertTopics", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topics: dict[Tier, aws.sns.Topic] = {
            tier: aws.sns.Topic(
                f"{name}-{tier}",
                name=f"{args.name_prefix}-{tier}",
                kms_master_key_id=args.kms_key_id,
                opts=child,
            )
            for tier in Tier
        }
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
        self.register_outputs(
            {"topicArns": {t.value: topic.arn for t, topic in self.topics.items()}}
        )
