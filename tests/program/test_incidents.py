"""Incident Manager and the error budget under Pulumi's mock runtime, for every stack file:
who is engaged in which order, which alarms start incidents, and the burn-rate alarms.

moto has no Incident Manager: these tests prove the graph the program declares; what AWS does
with it (engaging channels, starting an incident from an alarm) only a real account shows.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from delivery.config.model import Settings, Tier
from delivery.config.stackfile import load_stack
from delivery.plans.budget import BURN_RATE_ALERTS
from infra.offline import Evaluation, Registered
from tests.program.harness import evaluate

STACKS = ("dev", "staging", "prod")
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
RESPONSE_PLAN = "aws:ssmincidents/responsePlan:ResponsePlan"
CONTACT = "aws:ssmcontacts/contact:Contact"
PLAN = "aws:ssmcontacts/plan:Plan"
CHANNEL = "aws:ssmcontacts/contactChannel:ContactChannel"
REPLICATION_SET = "aws:ssmincidents/replicationSet:ReplicationSet"


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest) -> tuple[Settings, Evaluation]:
    return load_stack(request.param), evaluate(request.param)


def plan_arn(settings: Settings, tier: Tier) -> str:
    return f"arn:aws:ssm-incidents::123456789012:response-plan/{settings.name_prefix}-{tier}"


def topic_arn(run: Evaluation, tier: str) -> str:
    arn: str = run.mocks.named(f"alerting-{tier}", "aws:sns/topic:Topic").outputs["arn"]
    return arn


def by_name(run: Evaluation, type_: str) -> dict[str, Registered]:
    return {r.name: r for r in run.mocks.of_type(type_)}


def test_each_paging_tier_has_a_response_plan_engaging_its_escalation(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    plans = {r.inputs["name"]: r for r in run.mocks.of_type(RESPONSE_PLAN)}
    expected = {f"{settings.name_prefix}-{t}" for t in settings.incidents.escalations}
    assert set(plans) == expected
    assert all(t.pages for t in settings.incidents.escalations)
    contacts = {r.inputs["alias"]: r for r in run.mocks.of_type(CONTACT)}
    for tier in settings.incidents.escalations:
        plan = plans[f"{settings.name_prefix}-{tier}"].inputs
        alias = f"{settings.name_prefix}-{tier}-escalation"
        assert contacts[alias].inputs["type"] == "ESCALATION"
        assert plan["engagements"] == [
            f"arn:aws:ssm-contacts:{settings.region}:123456789012:contact/{alias}"
        ]
        assert plan["incidentTemplate"]["impact"] == tier.impact
        assert plan["incidentTemplate"]["notificationTargets"] == [
            {"snsTopicArn": topic_arn(run, tier)}
        ]
    if not settings.incidents.enabled:
        assert not contacts and not run.mocks.of_type(REPLICATION_SET)


def test_escalation_stages_follow_the_config_in_order(stack: tuple[Settings, Evaluation]) -> None:
    settings, run = stack
    plans = by_name(run, PLAN)
    for tier, stages in settings.incidents.escalations.items():
        declared = plans[f"incidents-{tier}-escalation"].inputs["stages"]
        assert [s["durationInMinutes"] for s in declared] == [s.minutes for s in stages]
        for stage, written in zip(stages, declared, strict=True):
            targets = [t["contactTargetInfo"] for t in written["targets"]]
            assert [t["contactId"].rsplit("/", 1)[1] for t in targets] == [
                f"{settings.name_prefix}-{c}" for c in stage.contacts
            ]
            assert all(t["isEssential"] for t in targets)  # anyone's ack stops it


def test_every_person_is_engaged_on_each_channel_at_once(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    channels = run.mocks.of_type(CHANNEL)
    assert sorted(
        (c.inputs["type"], c.inputs["deliveryAddress"]["simpleAddress"]) for c in channels
    ) == sorted(
        (ch.type.value, ch.address) for p in settings.incidents.contacts for ch in p.channels
    )
    plans = by_name(run, PLAN)
    for person in settings.incidents.contacts:
        stages = plans[f"incidents-contact-{person.name}"].inputs["stages"]
        assert len(stages) == 1 and stages[0]["durationInMinutes"] == 0
        assert len(stages[0]["targets"]) == len(person.channels)


def test_the_replication_set_is_created_once_per_account(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    created = run.mocks.of_type(REPLICATION_SET)
    if settings.incidents.enabled and settings.incidents.replication_set_arn is None:
        (only,) = created
        assert only.inputs["regions"] == [{"name": settings.region}]
        assert run.mocks.options["incidents-replication-set"].protect
        # the contacts too: pulumi-aws's ssmcontacts.Contact asks for it in depends_on
        for needs_it in [*run.mocks.of_type(RESPONSE_PLAN), *run.mocks.of_type(CONTACT)]:
            assert run.mocks.option_of(needs_it).waits_for("incidents-replication-set")
    else:
        assert created == []


def test_incident_manager_may_notify_the_paging_topics_and_use_their_key(
    stack: tuple[Settings, Evaluation],
) -> None:
    """A response plan's notification target is published to by Incident Manager itself."""
    settings, run = stack
    paging = set(settings.incidents.escalations) if settings.incidents.enabled else set()
    for tier in Tier:
        policy = json.loads(
            run.mocks.named(f"alerting-{tier}", "aws:sns/topicPolicy:TopicPolicy").inputs["policy"]
        )
        allowed = [
            s
            for s in policy["Statement"]
            if s["Principal"] == {"Service": "ssm-incidents.amazonaws.com"}
        ]
        assert len(allowed) == (tier in paging), tier
        for statement in allowed:
            assert statement["Action"] == "sns:Publish"
            assert statement["Resource"] == topic_arn(run, tier)
            assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    key = json.loads(run.mocks.named("alerting-key", "aws:kms/key:Key").inputs["policy"])
    (services,) = [
        s for s in key["Statement"] if s["Sid"] == "ThisAccountsAlarmsPublishToEncryptedTopics"
    ]
    principals = services["Principal"]["Service"]
    assert ("ssm-incidents.amazonaws.com" in principals) == bool(paging)


def actions(resource: Registered) -> list[str]:
    return list(resource.inputs.get("alarmActions", []))


def test_critical_and_emergency_alarms_start_incidents_info_and_warning_never(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    started = {Tier.CRITICAL: 0, Tier.EMERGENCY: 0}
    for alarm in [*run.mocks.of_type(ALARM), *run.mocks.of_type(COMPOSITE)]:
        topics = [a.rsplit("-", 1)[1] for a in actions(alarm) if a.startswith("arn:aws:sns:")]
        starts = [a for a in actions(alarm) if ":ssm-incidents::" in a]
        paging = [Tier(t) for t in topics if Tier(t).pages]
        if paging and settings.incidents.enabled:
            assert starts == [plan_arn(settings, t) for t in paging], alarm.name
            started[paging[0]] += 1
        else:
            assert starts == [], f"{alarm.name} notifies {topics} and must page nobody"
    if settings.incidents.enabled:  # rollback alarms, the paging composites, the fast burns
        assert started[Tier.CRITICAL] > 0 and started[Tier.EMERGENCY] > 0


def test_burn_rate_alarms_pair_a_long_and_a_short_window(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    windows = {r.inputs["name"]: r.inputs for r in run.mocks.of_type(ALARM)}
    composites = {r.inputs["alarmName"]: r.inputs for r in run.mocks.of_type(COMPOSITE)}
    prefix = f"{settings.name_prefix}-slo-"
    assert len([n for n in composites if n.startswith(prefix)]) == len(BURN_RATE_ALERTS)
    for alert in BURN_RATE_ALERTS:
        composite = composites[f"{prefix}{alert.slug}"]
        pair = [
            f"{prefix}{alert.slug}-{w}" for w in _spans(alert.long_seconds, alert.short_seconds)
        ]
        assert composite["alarmRule"] == " AND ".join(f'ALARM("{n}")' for n in pair)
        topic = topic_arn(run, alert.tier)
        expected = [topic]
        if alert.tier.pages and settings.incidents.enabled:
            expected.append(plan_arn(settings, alert.tier))
        assert composite["alarmActions"] == expected
        for name, seconds in zip(pair, (alert.long_seconds, alert.short_seconds), strict=True):
            window = windows[name]
            assert window["threshold"] == alert.burn_rate(settings.slo)
            assert window["evaluationPeriods"] == 1
            assert window["alarmActions"] == [topic_arn(run, "info")]
            queries = {q["id"]: q for q in window["metricQueries"]}
            assert {q["metric"]["period"] for q in queries.values() if "metric" in q} == {seconds}
            live = queries["requests"]["metric"]["dimensions"]["TargetGroup"]
            assert f"-{settings.live_colour}/" in live  # the live colour's target group
            assert "TargetGroup" not in queries["elb5xx"]["metric"]["dimensions"]
            assert f"/ {settings.slo.error_budget:g}" in queries["burn"]["expression"]
            # a window quieter than the stack's minRequestCount burns nothing
            floor = settings.alarms["minRequestCount"]
            assert queries["burn"]["expression"].startswith(
                f"IF((FILL(requests, 0) + FILL(elb5xx, 0)) >= {floor}, "
            )


def _spans(*seconds: int) -> list[str]:
    from delivery.plans.budget import window_name

    return [window_name(s) for s in seconds]


def test_the_dashboard_shows_the_budget_left_over_the_slo_period(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    (dashboard,) = run.mocks.of_type("aws:cloudwatch/dashboard:Dashboard")
    body: dict[str, Any] = json.loads(dashboard.inputs["dashboardBody"])
    (widget,) = [
        w for w in body["widgets"] if "Error budget left" in w["properties"].get("title", "")
    ]
    props = widget["properties"]
    assert props["view"] == "singleValue" and props["setPeriodToTimeRange"] is True
    assert props["start"] == f"-P{settings.slo.period_days}D"
    expression = props["metrics"][-1][0]["expression"]
    assert f"/ {settings.slo.error_budget:g}" in expression


def test_every_contact_channel_is_exported_with_its_activation_status(
    stack: tuple[Settings, Evaluation],
) -> None:
    """pulumi-aws creates channels with activation deferred: the operator activates each one
    (README), and the output says which still wait."""
    settings, run = stack
    exported = run.exports.get("contactChannels") or {}
    expected = {
        f"{person.name} {channel.type.lower()} {index}"
        for person in (settings.incidents.contacts if settings.incidents.enabled else ())
        for index, channel in enumerate(person.channels)
    }
    assert set(exported) == expected
    for channel in exported.values():
        assert channel["arn"].startswith(f"arn:aws:ssm-contacts:{settings.region}:")
        assert ":contact-channel/" in channel["arn"]
        assert channel["activationStatus"] == "NOT_ACTIVATED"  # until the operator activates


CHAT = "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration"


def test_each_slack_channel_hears_its_tiers_through_chatbot_which_may_do_nothing(
    stack: tuple[Settings, Evaluation],
) -> None:
    """An SNS HTTPS subscription to a Slack webhook never confirms: AWS Chatbot subscribes to
    the tier topics instead, and a paging tier's response plan names its topic as the incident's
    chat channel. The channel's guardrail is read-only (AdministratorAccess when unset)."""
    settings, run = stack
    configurations = run.mocks.of_type(CHAT)
    channels = settings.alerting.chat_channels()
    assert len(configurations) == len(channels)
    for made in configurations:
        inputs = made.inputs
        tiers = channels[(inputs["slackTeamId"], inputs["slackChannelId"])]
        assert inputs["snsTopicArns"] == [topic_arn(run, t) for t in tiers]
        assert inputs["guardrailPolicyArns"] == ["arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"]
        assert inputs["loggingLevel"] == "ERROR"
    if configurations:
        role = run.mocks.named("alerting-chatbot", "aws:iam/role:Role")
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert [s["Principal"] for s in trust] == [{"Service": "chatbot.amazonaws.com"}]
        assert role.inputs["permissionsBoundary"]
        assert not [
            r
            for r in run.mocks.of_type("aws:iam/rolePolicy:RolePolicy")
            if r.inputs["role"] == role.outputs.get("id")
        ]
    chatting = {c.tier for c in settings.alerting.chats}
    for plan in run.mocks.of_type(RESPONSE_PLAN):
        tier = Tier(plan.inputs["name"].rsplit("-", 1)[1])
        expected = [topic_arn(run, tier)] if tier in chatting else None
        assert plan.inputs.get("chatChannels") == expected, tier
