"""IncidentResponse: Incident Manager's contacts, escalation plans and response plans.

Per paging tier (critical, emergency) one response plan: an alarm naming it in its actions
starts an incident (the action ARN is the plan's own,
``arn:<partition>:ssm-incidents::<account>:response-plan/<name>``, as aws-cdk's
SsmIncidentAction integration test writes it), the incident notifies the tier's SNS topic
(its chat and PagerDuty webhooks and e-mail subscriptions) and engages the tier's escalation
plan: stage by stage, each waiting its minutes for an acknowledgement
(``delivery/plans/escalation.py`` models it). Each person is a PERSONAL contact with its
channels and an engagement plan that engages every channel at once; the escalation plan is an
ESCALATION contact whose stages target those contacts, each essential, so anyone's
acknowledgement stops the escalation (SSM Contacts ``ContactTargetInfo.IsEssential``).

An account holds one replication set: the stack that creates it (``incidentReplicationSetArn``
empty) makes every response plan depend on it, as pulumi-aws's ResponsePlan docs ask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from delivery.config.model import Contact, IncidentSettings, Tier

RETRY_MINUTES = 1  # an engagement that failed to send is retried after a minute


@dataclass(frozen=True)
class IncidentResponseArgs:
    settings: IncidentSettings
    name_prefix: str
    region: str
    topic_arns: Mapping[Tier, pulumi.Input[str]]
    # Tiers whose topic AWS Chatbot posts to Slack: a response plan names it as its chat
    # channel, so the incident's updates reach the channel too.
    chat_tiers: frozenset[Tier] = frozenset()


class IncidentResponse(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: IncidentResponseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:incidents:IncidentResponse", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix
        settings = args.settings
        self.replication_set: aws.ssmincidents.ReplicationSet | None = None
        after_set = child
        if settings.enabled and settings.replication_set_arn is None:
            self.replication_set = aws.ssmincidents.ReplicationSet(
                f"{name}-replication-set",
                regions=[aws.ssmincidents.ReplicationSetRegionArgs(name=args.region)],
                # Deleting the set deletes every incident record with it; `deletion_protected`
                # is an output in pulumi-aws v7 (AWS sets it), so Pulumi protects it instead.
                opts=pulumi.ResourceOptions(parent=self, protect=True),
            )
            after_set = pulumi.ResourceOptions(parent=self, depends_on=[self.replication_set])
        # Contacts, like response plans, need the account's replication set first (pulumi-aws
        # ssmcontacts.Contact docs: "depends_on" the replication set).
        # Each channel's ARN and activation: pulumi-aws creates channels with activation deferred
        # (terraform-provider-aws contact_channel.go: DeferActivation true), so AWS sends no code
        # until `aws ssm-contacts send-activation-code` asks, and engages none until activated.
        self.channels: dict[str, aws.ssmcontacts.ContactChannel] = {}
        people = {c.name: self._person(name, prefix, c, after_set) for c in settings.contacts}
        self.escalations: dict[Tier, aws.ssmcontacts.Contact] = {}
        self.response_plans: dict[Tier, aws.ssmincidents.ResponsePlan] = {}
        for tier, stages in settings.escalations.items():
            escalation = aws.ssmcontacts.Contact(
                f"{name}-{tier}-escalation",
                alias=f"{prefix}-{tier}-escalation",
                display_name=f"{prefix} {tier} escalation",
                type="ESCALATION",
                opts=after_set,
            )
            aws.ssmcontacts.Plan(
                f"{name}-{tier}-escalation",
                contact_id=escalation.arn,
                stages=[
                    aws.ssmcontacts.PlanStageArgs(
                        duration_in_minutes=stage.minutes,
                        targets=[
                            aws.ssmcontacts.PlanStageTargetArgs(
                                contact_target_info=aws.ssmcontacts.PlanStageTargetContactTargetInfoArgs(
                                    is_essential=True, contact_id=people[person].arn
                                )
                            )
                            for person in stage.contacts
                        ],
                    )
                    for stage in stages
                ],
                opts=child,
            )
            self.escalations[tier] = escalation
            self.response_plans[tier] = aws.ssmincidents.ResponsePlan(
                f"{name}-{tier}",
                name=f"{prefix}-{tier}",
                display_name=f"{prefix} {tier}",
                incident_template=aws.ssmincidents.ResponsePlanIncidentTemplateArgs(
                    title=f"[{prefix}] {tier}: an alarm fired",
                    impact=tier.impact,
                    # One open incident per tier and environment: alarms firing together join it.
                    dedupe_string=f"{prefix}-{tier}",
                    summary=f"Started by a {tier} alarm of {prefix}; see the release's "
                    "post-incident record (python -m delivery incident <release id>).",
                    notification_targets=[
                        aws.ssmincidents.ResponsePlanIncidentTemplateNotificationTargetArgs(
                            sns_topic_arn=args.topic_arns[tier]
                        )
                    ],
                ),
                engagements=[escalation.arn],
                chat_channels=[args.topic_arns[tier]] if tier in args.chat_tiers else None,
                opts=after_set,
            )
        self.plan_arns: dict[Tier, pulumi.Output[str]] = {
            tier: plan.arn for tier, plan in self.response_plans.items()
        }
        self.register_outputs(
            {
                "responsePlanArns": {t.value: arn for t, arn in self.plan_arns.items()},
                "escalationArns": {t.value: c.arn for t, c in self.escalations.items()},
                "contactChannels": self.channel_outputs,
            }
        )

    @property
    def channel_outputs(self) -> dict[str, dict[str, pulumi.Output[str]]]:
        """Per channel, its ARN and whether AWS may engage it yet (ACTIVATED, NOT_ACTIVATED)."""
        return {
            name: {"arn": c.arn, "activationStatus": c.activation_status}
            for name, c in self.channels.items()
        }

    def _person(
        self, name: str, prefix: str, contact: Contact, after_set: pulumi.ResourceOptions
    ) -> aws.ssmcontacts.Contact:
        child = pulumi.ResourceOptions(parent=self)
        person = aws.ssmcontacts.Contact(
            f"{name}-contact-{contact.name}",
            alias=f"{prefix}-{contact.name}",
            display_name=contact.name,
            type="PERSONAL",
            opts=after_set,
        )
        channels = [
            aws.ssmcontacts.ContactChannel(
                f"{name}-contact-{contact.name}-{channel.type.lower()}-{index}",
                contact_id=person.arn,
                name=f"{contact.name} {channel.type.lower()} {index}",
                type=channel.type.value,
                delivery_address=aws.ssmcontacts.ContactChannelDeliveryAddressArgs(
                    simple_address=channel.address
                ),
                opts=child,
            )
            for index, channel in enumerate(contact.channels)
        ]
        for index, (channel, made) in enumerate(zip(contact.channels, channels, strict=True)):
            self.channels[f"{contact.name} {channel.type.lower()} {index}"] = made
        aws.ssmcontacts.Plan(
            f"{name}-contact-{contact.name}",
            contact_id=person.arn,
            stages=[
                aws.ssmcontacts.PlanStageArgs(
                    duration_in_minutes=0,  # every channel at once
                    targets=[
                        aws.ssmcontacts.PlanStageTargetArgs(
                            channel_target_info=aws.ssmcontacts.PlanStageTargetChannelTargetInfoArgs(
                                contact_channel_id=c.arn, retry_interval_in_minutes=RETRY_MINUTES
                            )
                        )
                        for c in channels
                    ],
                )
            ],
            opts=child,
        )
        return person
