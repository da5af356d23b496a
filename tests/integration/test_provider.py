"""The dynamic provider driven as the Pulumi engine drives it, against moto's server over HTTP.

Every operation goes through Pulumi's own dynamic-provider servicer with the properties
serialised by Pulumi (``tests.integration.pulumi_engine``): numbers come back as floats,
unknowns as Pulumi's sentinel, and a failed update keeps the old state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import boto3
import pytest
from pulumi.runtime import rpc

from delivery.config.model import Colour
from delivery.cutover.aws import AwsClients, make_clients
from delivery.cutover.events import CutoverReport, EventKind, Outcome, outcome_in
from delivery.cutover.ports import AlarmValue
from delivery.cutover.provider import CutoverProvider
from delivery.cutover.records import RollbackRecord
from delivery.plans.schedule import Weights
from delivery.rehearsal.emulator import (
    Emulator,
    TrafficPlane,
    force_weights,
    listener_weights,
    set_alarm,
)
from delivery.rehearsal.faults import Fault, FaultInjector
from tests.integration.conftest import put_up_maintenance_page
from tests.integration.pulumi_engine import CheckFailed, DynamicEngine, ProviderFailed

pytestmark = pytest.mark.integration
FAST_POLICY = {
    "trafficSteps": [50, 100],
    "bakeSeconds": 1,
    "pollSeconds": 1,
    "minHealthyTargets": 2,
    "insufficientData": "ignore",
}
RECORDS = "/switchyard/itest/cutover"


@pytest.fixture(autouse=True)
def aws_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider builds its own clients, as it does under Pulumi: point boto3 at the emulator."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulator")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulator")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@dataclass
class Inbox:
    """An SQS queue subscribed (raw delivery) to one SNS topic: what machines receive."""

    topic_arn: str
    queue_url: str
    sqs: Any

    def messages(self) -> list[dict[str, Any]]:
        reply = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in reply.get("Messages", [])]


@pytest.fixture
def inboxes(emulator: Emulator, operator: AwsClients) -> dict[str, Inbox]:
    from delivery.rehearsal.emulator import emulator_session

    sqs = emulator_session(emulator.region).client("sqs", endpoint_url=emulator.endpoint)
    made = {}
    for tier in ("critical", "emergency"):
        topic = operator.sns.create_topic(Name=f"itest-{tier}")["TopicArn"]
        url = sqs.create_queue(QueueName=f"itest-{tier}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        operator.sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        made[tier] = Inbox(topic, url, sqs)
    return made


def props(
    plane: TrafficPlane, inboxes: dict[str, Inbox], live: str = "blue", **overrides: Any
) -> dict[str, Any]:
    return {
        "listener_arn": plane.listener_arn,
        "target_groups": {c.value: plane.target_groups[c] for c in Colour},
        "live_colour": live,
        "policy": dict(FAST_POLICY),
        "gating_alarms": {c.value: list(plane.gating_alarms(c)) for c in Colour},
        "region": "eu-west-1",
        "stack": "itest",
        "release": "web:2",
        "retry_rollback": "",
        "alert_topics": {tier: inbox.topic_arn for tier, inbox in inboxes.items()},
        "record_path": RECORDS,
        **overrides,
    }


LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/0123abcd/4567ef01"
GROUPS = {
    "blue": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/89ab0123",
    "green": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-green/cdef4567",
}


def checked_props(**overrides: Any) -> dict[str, Any]:
    """Inputs for ``check`` alone, which calls no AWS API: no emulator resources needed."""
    return {
        "listener_arn": LISTENER,
        "target_groups": dict(GROUPS),
        "live_colour": "blue",
        "policy": dict(FAST_POLICY),
        "gating_alarms": {"blue": ["web-blue-5xx"], "green": ["web-green-5xx"]},
        "region": "eu-west-1",
        "stack": "itest",
        "release": "web:2",
        "retry_rollback": "",
        "alert_topics": {
            "critical": "arn:aws:sns:eu-west-1:123456789012:web-critical",
            "emergency": "arn:aws:sns:eu-west-1:123456789012:web-emergency",
        },
        "record_path": RECORDS,
        **overrides,
    }


class VirtualClock:
    """Bakes and back-offs pass at once: the provider's copy (it is pickled) keeps its own
    time. Alarms are set before each update, so nothing needs to happen during a bake."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


@pytest.fixture
def pulumi() -> DynamicEngine:
    return DynamicEngine(CutoverProvider(VirtualClock()))


def report_of(engine: DynamicEngine) -> CutoverReport:
    return CutoverReport.from_dict(engine.outputs["report"])


# -- check ------------------------------------------------------------------------------------


def test_check_accepts_good_inputs(pulumi: DynamicEngine) -> None:
    checked = pulumi.check(checked_props())
    assert checked["policy"]["bakeSeconds"] == 1  # a float after Pulumi's serialisation
    pulumi.check(checked_props(record_path="/a" * 14))  # the colour makes 15 levels: allowed


@pytest.mark.parametrize(
    ("override", "prop", "reason"),
    [
        ({"listener_arn": None}, "listener_arn", "is required"),
        ({"target_groups": None}, "target_groups", "is required"),
        ({"gating_alarms": None}, "gating_alarms", "is required"),
        ({"alert_topics": None}, "alert_topics", "is required"),
        ({"policy": [50, 100]}, "policy", "must be a mapping"),
        ({"policy": "fast"}, "policy", "must be a mapping"),
        ({"target_groups": {"blue": "x"}}, "target_groups", "exactly blue and green"),
        ({"live_colour": "red"}, "live_colour", "blue or green"),
        ({"region": "mars-1"}, "region", "AWS region"),
        ({"region": "eu-west-1\n"}, "region", "AWS region"),
        ({"region": "eu-west-9"}, "region", "got 'eu-west-9'; did you mean eu-west-"),
        ({"gating_alarms": {"blue": ["a"], "green": []}}, "gating_alarms.green", "at least one"),
        ({"gating_alarms": {"blue": ["a"], "green": [""]}}, "gating_alarms.green", "1 to 255"),
        ({"gating_alarms": {"blue": ["a"], "green": ["a"] * 101}}, "gating_alarms.green", "100"),
        ({"policy": {**FAST_POLICY, "trafficSteps": [50]}}, "policy.trafficSteps", "100"),
        ({"policy": {**FAST_POLICY, "pollSeconds": 5}}, "policy.pollSeconds", "bakeSeconds"),
        ({"alert_topics": {"critical": "x"}}, "alert_topics", "critical and emergency"),
        ({"record_path": "/aws/cutover"}, "record_path", "not under /aws"),
        ({"record_path": "switchyard"}, "record_path", "SSM parameter path"),
        ({"record_path": "/a" * 15}, "record_path", "SSM allows 15"),
        ({"release": "v" * 300}, "release", "at most 256"),
        ({"stack": ""}, "stack", "must name the stack"),
        ({"gating_alarms": {"blue": "abc", "green": ["a"]}}, "gating_alarms.blue", "a list of"),
        # AWS names are ASCII: Unicode digits, letters or case folding must not pass.
        ({"listener_arn": LISTENER.replace("123456789012", "١٢٣٤٥٦٧٨٩٠١٢")}, "listener_arn", "ARN"),
        ({"listener_arn": LISTENER.replace("/web/", "/wéb/")}, "listener_arn", "ARN"),
        (
            {"target_groups": {**GROUPS, "blue": GROUPS["blue"].replace("web-blue", "wéb")}},
            "target_groups.blue",
            "target group ARN",
        ),
        (
            {
                "alert_topics": {
                    "critical": "arn:aws:sns:eu-west-1:123456789012:wéb",
                    "emergency": "arn:aws:sns:eu-west-1:123456789012:e",
                }
            },
            "alert_topics.critical",
            "SNS topic ARN",
        ),
        ({"record_path": "/switchyard/\u212a"}, "record_path", "SSM parameter path"),
    ],
)
def test_check_rejects_bad_inputs_naming_the_property(
    pulumi: DynamicEngine, override: dict[str, Any], prop: str, reason: str
) -> None:
    with pytest.raises(CheckFailed) as failed:
        pulumi.check(checked_props(**override))
    assert [p for p, _ in failed.value.failures] == [prop]
    assert reason in failed.value.failures[0][1]


def test_check_rejects_an_arn_followed_by_a_newline(pulumi: DynamicEngine) -> None:
    with pytest.raises(CheckFailed) as failed:
        pulumi.check(checked_props(listener_arn=LISTENER + "\n"))
    assert [p for p, _ in failed.value.failures] == ["listener_arn"]


def test_check_names_a_region_that_is_not_the_listeners(pulumi: DynamicEngine) -> None:
    with pytest.raises(CheckFailed) as failed:
        pulumi.check(checked_props(region="us-east-1"))
    [(prop, reason)] = failed.value.failures
    assert prop == "region"
    assert "is us-east-1 but the listener ARN is in eu-west-1" in reason


def test_check_rejects_the_same_group_for_both_colours(pulumi: DynamicEngine) -> None:
    same = {"blue": GROUPS["blue"], "green": GROUPS["blue"]}
    with pytest.raises(CheckFailed) as failed:
        pulumi.check(checked_props(target_groups=same))
    assert "two different target groups" in failed.value.failures[0][1]


def test_check_leaves_unknown_preview_values_alone(pulumi: DynamicEngine) -> None:
    pulumi.check(checked_props(target_groups=rpc.UNKNOWN, gating_alarms=rpc.UNKNOWN))
    unknown = checked_props(
        listener_arn=rpc.UNKNOWN,
        gating_alarms={"blue": rpc.UNKNOWN, "green": rpc.UNKNOWN},
        alert_topics={"critical": rpc.UNKNOWN, "emergency": rpc.UNKNOWN},
    )
    pulumi.check(unknown)
    policies = [{**FAST_POLICY, key: rpc.UNKNOWN} for key in ("trafficSteps", "bakeSeconds")]
    for policy in [*policies, {**FAST_POLICY, "trafficSteps": [50, rpc.UNKNOWN]}]:
        pulumi.check(checked_props(policy=policy))  # judged once every setting is known


def test_check_shows_an_unknown_inside_a_bad_value_as_unknown(pulumi: DynamicEngine) -> None:
    with pytest.raises(CheckFailed) as failed:
        pulumi.check(checked_props(target_groups={"blue": rpc.UNKNOWN}))
    [(prop, reason)] = failed.value.failures
    assert prop == "target_groups"
    assert reason.endswith("got {'blue': <unknown>}")


# -- create, diff, update, read ----------------------------------------------------------------


def test_create_establishes_the_live_colour_and_fixes_99_1(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    force_weights(operator, plane, Weights(blue=99, green=1))
    assert pulumi.up(props(plane, inboxes)) == "create"
    assert pulumi.id == plane.listener_arn
    assert pulumi.outputs["weights"] == {"blue": 100, "green": 0}
    assert pulumi.outputs["last_outcome"] == "established"
    assert [e.kind for e in report_of(pulumi).events] == [EventKind.CORRECTED]
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)


def test_create_refuses_to_take_over_a_real_split(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    force_weights(operator, plane, Weights(blue=40, green=60))
    with pytest.raises(ProviderFailed, match="stack says blue is live") as failed:
        pulumi.up(props(plane, inboxes))
    assert outcome_in(failed.value.details) is Outcome.DRIFT  # as every update's error says
    assert pulumi.id is None
    assert listener_weights(operator, plane) == Weights(blue=40, green=60)


def test_nothing_changed_is_no_update(
    pulumi: DynamicEngine, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    pulumi.up(props(plane, inboxes))
    assert pulumi.up(props(plane, inboxes)) == "same"


def test_a_new_listener_replaces_the_cutover(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    from delivery.rehearsal.emulator import build_traffic_plane

    pulumi.up(props(plane, inboxes))
    other = build_traffic_plane(operator, "other")
    assert pulumi.up(props(other, inboxes)) == "create"
    assert pulumi.operations[-2:] == ["replace", "create"]
    assert pulumi.id == other.listener_arn


def test_update_with_a_new_colour_performs_the_shift(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    pulumi.up(props(plane, inboxes))
    assert pulumi.up(props(plane, inboxes, live="green")) == "update"
    assert pulumi.outputs["live_colour"] == "green"
    assert pulumi.outputs["last_outcome"] == "promoted"
    report = report_of(pulumi)
    assert report.outcome is Outcome.PROMOTED
    assert report.steps == (50, 100)
    assert [e.kind for e in report.events].count(EventKind.BAKE_PASSED) == 2
    assert listener_weights(operator, plane) == Weights(blue=0, green=100)


def test_an_unrelated_change_with_the_live_colour_in_place_is_unchanged(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    pulumi.up(props(plane, inboxes))
    pulumi.up(props(plane, inboxes, live="green"))
    shift = report_of(pulumi)
    set_alarm(operator, plane.gating_alarms(Colour.GREEN)[0], AlarmValue.ALARM, "would roll back")
    slower = {**FAST_POLICY, "bakeSeconds": 2}
    assert pulumi.up(props(plane, inboxes, live="green", policy=slower)) == "update"
    assert pulumi.outputs["last_outcome"] == "unchanged"
    assert pulumi.outputs["policy"]["bakeSeconds"] == 2
    assert report_of(pulumi) == shift  # the outputs keep the last shift's report
    assert shift.outcome is Outcome.PROMOTED
    # Nothing was judged or moved: a firing alarm does not matter when nothing shifts.
    assert listener_weights(operator, plane) == Weights(blue=0, green=100)
    assert inboxes["critical"].messages() == []


def test_an_unfinished_shift_seen_by_refresh_is_rolled_back_to_the_recorded_colour(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    """A killed `pulumi up` left 50/50; liveColour was set back to blue."""
    pulumi.up(props(plane, inboxes))
    force_weights(operator, plane, Weights(blue=50, green=50))
    assert pulumi.up(props(plane, inboxes)) == "same"  # without a refresh nobody knows
    pulumi.refresh()
    assert pulumi.outputs["weights"] == {"blue": 50, "green": 50}
    assert pulumi.outputs["live_colour"] == "blue"  # read records weights, not a new colour
    with pytest.raises(ProviderFailed, match=r"did not finish.*this is a rollback, not a release"):
        pulumi.up(props(plane, inboxes))
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)
    [message] = inboxes["critical"].messages()
    assert message["report"]["outcome"] == "rolled-back"
    assert pulumi.up(props(plane, inboxes)) == "update"  # the state catches up
    assert pulumi.outputs["last_outcome"] == "unchanged"
    assert pulumi.up(props(plane, inboxes)) == "same"


def test_a_change_finished_outside_switchyard_stops_with_drift_and_moves_nothing(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    pulumi.up(props(plane, inboxes))
    force_weights(operator, plane, Weights(blue=0, green=100))  # by hand, in the console
    slower = {**FAST_POLICY, "bakeSeconds": 2}  # an unrelated change
    with pytest.raises(ProviderFailed) as failed:
        pulumi.up(props(plane, inboxes, policy=slower))
    assert "ListenerDrift" in failed.value.details
    assert "set liveColour to green" in failed.value.details
    assert "restore blue=100% green=0% on the listener by hand" in failed.value.details
    assert listener_weights(operator, plane) == Weights(blue=0, green=100)
    assert pulumi.outputs["policy"]["bakeSeconds"] == 1  # the failed update kept the state


def test_a_shift_resumes_from_the_actual_weights(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    pulumi.up(props(plane, inboxes))
    force_weights(operator, plane, Weights(blue=50, green=50))  # a killed shift to green
    pulumi.up(props(plane, inboxes, live="green"))
    report = report_of(pulumi)
    assert report.steps == (100,)
    assert [e.step for e in report.events if e.kind is EventKind.BAKE_PASSED] == [50, 100]


def test_update_refused_by_a_gate_fails_and_moves_nothing(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    pulumi.up(props(plane, inboxes))
    set_alarm(operator, plane.gating_alarms(Colour.GREEN)[2], AlarmValue.INSUFFICIENT_DATA, "x")
    failing_policy = {**FAST_POLICY, "insufficientData": "rollback"}
    with pytest.raises(ProviderFailed, match="INSUFFICIENT_DATA"):
        pulumi.up(props(plane, inboxes, live="green", policy=failing_policy))
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)
    assert inboxes["critical"].messages() == []  # a refusal moved nothing: no rollback


def test_read_reports_the_actual_weights_and_keeps_the_recorded_colour(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    pulumi.up(props(plane, inboxes))
    force_weights(operator, plane, Weights(blue=0, green=100))
    pulumi.refresh()
    assert pulumi.outputs["weights"] == {"blue": 0, "green": 100}
    assert pulumi.outputs["live_colour"] == "blue"


def test_refresh_drops_a_cutover_whose_listener_is_gone(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    pulumi.up(props(plane, inboxes))
    operator.elbv2.delete_listener(ListenerArn=plane.listener_arn)
    pulumi.refresh()
    assert pulumi.operations[-1] == "refresh-gone"  # an empty id: Pulumi forgets it
    assert pulumi.id is None
    # The next up creates it again, and says why it cannot while the listener is missing.
    with pytest.raises(ProviderFailed) as failed:
        pulumi.up(props(plane, inboxes))
    assert "check the listener ARN" in failed.value.details
    assert outcome_in(failed.value.details) is Outcome.REFUSED


def test_refresh_records_unknown_weights_for_a_listener_without_the_forward(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    pulumi.up(props(plane, inboxes))
    put_up_maintenance_page(operator, plane)
    pulumi.refresh()
    assert pulumi.outputs["weights"] == {}  # unknown
    assert pulumi.outputs["live_colour"] == "blue"
    with pytest.raises(ProviderFailed) as failed:  # a change, not "same": the up says why
        pulumi.up(props(plane, inboxes))
    details = failed.value.details
    assert "ListenerDrift" in details
    assert "default actions [fixed-response] and no single forward" in details
    assert outcome_in(details) is Outcome.DRIFT


def test_a_refresh_that_cannot_read_the_listener_says_why(
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pulumi.up(props(plane, inboxes))
    inject(monkeypatch, "elbv2", Fault("DescribeListeners", 100_000, code="Throttling"))
    with pytest.raises(ProviderFailed) as failed:
        pulumi.refresh()
    details = failed.value.details
    assert "could not read the listener's weights: DescribeListeners failed: Throttling" in details
    assert "run again in a minute" in details
    assert outcome_in(details) is Outcome.REFUSED
    assert pulumi.outputs["weights"] == {"blue": 100, "green": 0}  # the state is kept


# -- rollbacks: the message, the record, the refusal -------------------------------------------


def alarm_on_green_at_half(
    operator: AwsClients, plane: TrafficPlane, reason: str = "5xx rate 9% > 5%"
) -> None:
    """A shift to green found at 50/50 with green's alarm firing: the update rolls back (the
    gate would refuse a firing alarm before the first step)."""
    force_weights(operator, plane, Weights(blue=50, green=50))
    set_alarm(operator, plane.gating_alarms(Colour.GREEN)[0], AlarmValue.ALARM, reason)


def roll_back_a_shift_to_green(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> ProviderFailed:
    pulumi.up(props(plane, inboxes))
    alarm_on_green_at_half(operator, plane)
    with pytest.raises(ProviderFailed) as failed:
        pulumi.up(props(plane, inboxes, live="green"))
    set_alarm(operator, plane.gating_alarms(Colour.GREEN)[0], AlarmValue.OK, "recovered")
    return failed.value


def test_a_rollback_is_published_to_critical_with_a_json_body(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    failed = roll_back_a_shift_to_green(pulumi, operator, plane, inboxes)
    assert "RolledBack" in failed.details
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)
    assert pulumi.outputs["live_colour"] == "blue"  # the failed update kept the old state
    [body] = inboxes["critical"].messages()
    assert body["schema"] == "switchyard.rollback/v1"
    assert body["stack"] == "itest"
    assert body["release"] == "web:2"
    report = CutoverReport.from_dict(body["report"])
    assert report.outcome is Outcome.ROLLED_BACK
    assert (report.source, report.target, report.step) == (Colour.BLUE, Colour.GREEN, 50)
    assert report.weights == Weights(blue=100, green=0)
    assert report.alarm is not None
    assert report.alarm.alarm == plane.gating_alarms(Colour.GREEN)[0]
    assert report.alarm.reason == "5xx rate 9% > 5%"
    assert report.reaction_seconds is not None
    assert inboxes["emergency"].messages() == []


def inject(monkeypatch: pytest.MonkeyPatch, service: str, *faults: Fault) -> None:
    """The provider's clients for ``service`` (elbv2, cloudwatch, ssm, sns) meet ``faults``."""

    def faulty_clients(*args: Any, **kwargs: Any) -> AwsClients:
        clients = make_clients(*args, **kwargs)
        FaultInjector(*faults).attach(getattr(clients, service))
        return clients

    monkeypatch.setattr("delivery.cutover.provider.make_clients", faulty_clients)


def test_a_failed_rollback_pages_emergency_too(
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pulumi.up(props(plane, inboxes))
    failing = Fault("ModifyListener", 100_000, code="InternalFailure", status=500)
    inject(monkeypatch, "elbv2", failing)
    force_weights(operator, plane, Weights(blue=50, green=50))
    set_alarm(operator, plane.gating_alarms(Colour.GREEN)[0], AlarmValue.ALARM, "5xx")
    with pytest.raises(ProviderFailed, match="ROLLBACK FAILED") as failed:
        pulumi.up(props(plane, inboxes, live="green"))
    assert listener_weights(operator, plane) == Weights(blue=50, green=50)
    # emergency is paged at the first failed rollback call, and again when the retries give up
    first, last = inboxes["emergency"].messages()
    assert outcome_in(failed.value.details) is Outcome.ROLLBACK_FAILED
    assert "keeps retrying" in first["report"]["cause"]
    # a 500 may have come from a write that landed: the first page does not claim to know
    assert first["report"]["weights"] is None
    assert "Weights in force: unknown (last seen blue=50% green=50%" in first["report"]["cause"]
    [critical] = inboxes["critical"].messages()
    for body in (first, last, critical):
        assert body["report"]["outcome"] == "rollback-failed"
    for body in (last, critical):  # read when the retries gave up
        assert body["report"]["weights"] == {"blue": 50, "green": 50}
    assert last == critical


def test_a_failed_publish_never_blocks_the_rollback_and_is_reported(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    gone = "arn:aws:sns:eu-west-1:123456789012:no-such-topic"
    topics = {"critical": gone, "emergency": gone}
    pulumi.up(props(plane, inboxes, alert_topics=topics))
    force_weights(operator, plane, Weights(blue=50, green=50))
    set_alarm(operator, plane.gating_alarms(Colour.GREEN)[0], AlarmValue.ALARM, "5xx")
    with pytest.raises(ProviderFailed) as failed:
        pulumi.up(props(plane, inboxes, live="green", alert_topics=topics))
    assert "rolled back, blue=100% green=0% now in force" in failed.value.details
    assert "The critical alert was not published" in failed.value.details
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)


def test_a_rolled_back_release_stays_refused_until_a_way_out_is_taken(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    roll_back_a_shift_to_green(pulumi, operator, plane, inboxes)
    parameter = operator.ssm.get_parameter(Name=f"{RECORDS}/green")["Parameter"]
    record = RollbackRecord.from_json(parameter["Value"])
    assert (record.colour, record.release, record.step) == (Colour.GREEN, "web:2", 50)
    assert "5xx rate 9% > 5%" in record.cause

    # The next pulumi up (a threshold tweak, say) must not shift the same release again.
    slower = {**FAST_POLICY, "bakeSeconds": 2}
    with pytest.raises(ProviderFailed) as refused:
        pulumi.up(props(plane, inboxes, live="green", policy=slower))
    assert "ReleaseRolledBack" in refused.value.details
    # its prose says "was rolled back"; the outcome line says what this update did
    assert outcome_in(refused.value.details) is Outcome.REFUSED
    assert f"retryRollback '{record.id}'" in refused.value.details
    assert "set liveColour back to blue" in refused.value.details
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)

    assert pulumi.up(props(plane, inboxes, live="blue", policy=slower)) == "update"  # way out 1
    assert pulumi.outputs["last_outcome"] == "unchanged"
    pulumi.up(props(plane, inboxes, live="green", release="web:3"))  # way out 2
    assert pulumi.outputs["last_outcome"] == "promoted"


def test_the_rollback_record_carries_the_failure_and_the_restore_on_the_wall_clock(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    # A real `pulumi up` tells the release driver only that it rolled back: the record is where
    # the release's time to restore comes from. The failure began when the alarm entered
    # ALARM, by CloudWatch's clock, not when the cutover's poll saw it.
    pulumi.up(props(plane, inboxes))
    alarm_on_green_at_half(operator, plane)
    (alarm,) = operator.cloudwatch.describe_alarms(
        AlarmNames=[plane.gating_alarms(Colour.GREEN)[0]]
    )["MetricAlarms"]
    with pytest.raises(ProviderFailed):
        pulumi.up(props(plane, inboxes, live="green"))
    after = datetime.now(UTC)
    record = RollbackRecord.from_json(
        operator.ssm.get_parameter(Name=f"{RECORDS}/green")["Parameter"]["Value"]
    )
    failed, restored = record.moments()
    assert failed is not None and restored is not None
    entered = alarm["StateUpdatedTimestamp"]  # moto's only state timestamp (the fallback)
    assert abs((failed - entered).total_seconds()) < 0.001
    assert failed < restored <= datetime.fromisoformat(record.at) <= after


def test_a_refused_release_over_a_listener_in_maintenance_names_what_it_found(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    roll_back_a_shift_to_green(pulumi, operator, plane, inboxes)
    put_up_maintenance_page(operator, plane)
    with pytest.raises(ProviderFailed) as refused:
        pulumi.up(props(plane, inboxes, live="green"))
    details = refused.value.details
    assert "ReleaseRolledBack" in details
    assert "Nothing was moved: listener" in details
    assert "default actions [fixed-response] and no single forward" in details
    assert "already sends all traffic" not in details


def test_a_blind_rollback_is_published_but_does_not_refuse_the_release_later(
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pulumi.up(props(plane, inboxes))
    # The gate's alarm read passes; every read during the bake is throttled: blind.
    inject(monkeypatch, "cloudwatch", Fault("DescribeAlarms", 100_000, first=2))
    with pytest.raises(ProviderFailed) as blind:
        pulumi.up(props(plane, inboxes, live="green"))
    details = blind.value.details
    assert outcome_in(details) is Outcome.ROLLED_BACK
    assert "could not read the gating alarms" in details
    assert "No alarm judged green's release, so this rollback is not recorded" in details
    assert len(inboxes["critical"].messages()) == 1
    with pytest.raises(operator.ssm.exceptions.ParameterNotFound):
        operator.ssm.get_parameter(Name=f"{RECORDS}/green")

    monkeypatch.setattr("delivery.cutover.provider.make_clients", make_clients)
    pulumi.up(props(plane, inboxes, live="green"))  # CloudWatch answers again: the release ships
    assert pulumi.outputs["last_outcome"] == "promoted"


def test_a_missing_alarm_when_resuming_rolls_back_without_recording_against_the_release(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    """A deleted gating alarm judged nothing about the release: published, not recorded."""
    pulumi.up(props(plane, inboxes))
    force_weights(operator, plane, Weights(blue=50, green=50))  # a killed shift to green
    missing = plane.gating_alarms(Colour.GREEN)[0]
    operator.cloudwatch.delete_alarms(AlarmNames=[missing])
    with pytest.raises(ProviderFailed) as failed:
        pulumi.up(props(plane, inboxes, live="green"))
    details = failed.value.details
    assert outcome_in(details) is Outcome.ROLLED_BACK
    assert f"alarm '{missing}' is missing" in details
    assert "before the shift resumed at step 50%" in details
    assert "No alarm judged green's release, so this rollback is not recorded" in details
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)
    assert len(inboxes["critical"].messages()) == 1
    with pytest.raises(operator.ssm.exceptions.ParameterNotFound):
        operator.ssm.get_parameter(Name=f"{RECORDS}/green")


LISTENER_READ = ("elbv2", "DescribeListeners", "DescribeListeners failed: ")
RECORD_READ = ("ssm", "GetParameter", f"the rollback record {RECORDS}/green could not be read (")


@pytest.mark.parametrize(
    ("call", "code", "status", "advice"),
    [
        (LISTENER_READ, "Throttling", 400, "a transient error): run again in a minute"),
        (LISTENER_READ, "InternalFailure", 500, "a transient error): run again in a minute"),
        (LISTENER_READ, "AccessDenied", 403, "grant elasticloadbalancing:DescribeListeners to"),
        (LISTENER_READ, "ListenerNotFound", 400, "; check the listener ARN"),
        (RECORD_READ, "ThrottlingException", 400, "run again in a minute"),
        (RECORD_READ, "AccessDeniedException", 400, f"grant ssm:GetParameter on {RECORDS}/* to"),
    ],
)
def test_a_call_that_fails_before_the_shift_gets_advice_for_its_error(
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
    call: tuple[str, str, str],
    code: str,
    status: int,
    advice: str,
) -> None:
    service, operation, said = call
    pulumi.up(props(plane, inboxes))
    inject(monkeypatch, service, Fault(operation, 100_000, code=code, status=status))
    with pytest.raises(ProviderFailed) as refused:
        pulumi.up(props(plane, inboxes, live="green"))
    details = refused.value.details
    assert said in details and code in details
    assert advice in details
    assert outcome_in(details) is Outcome.REFUSED
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)


def test_no_credentials_are_named_as_such_not_as_a_missing_permission(
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    pulumi.up(props(plane, inboxes))
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable)
    for variable in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.setenv(variable, str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # A session of its own: the provider's cached one already holds the test's credentials.
    monkeypatch.setattr("delivery.cutover.aws._default_session", boto3.session.Session)
    with pytest.raises(ProviderFailed) as failed:
        pulumi.up(props(plane, inboxes, live="green"))
    details = failed.value.details
    assert "Unable to locate credentials" in details
    assert "no AWS credentials: set AWS_PROFILE" in details
    assert "grant " not in details
    assert outcome_in(details) is Outcome.REFUSED
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)


def test_an_explicit_retry_shifts_the_rolled_back_release_once(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    roll_back_a_shift_to_green(pulumi, operator, plane, inboxes)
    record = RollbackRecord.from_json(
        operator.ssm.get_parameter(Name=f"{RECORDS}/green")["Parameter"]["Value"]
    )
    pulumi.up(props(plane, inboxes, live="green", retry_rollback=record.id))
    assert pulumi.outputs["last_outcome"] == "promoted"
    assert listener_weights(operator, plane) == Weights(blue=0, green=100)


class SameSecond(datetime):
    """The rollbacks' clock: each reading a millisecond after the last, within one second."""

    readings = 0

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> SameSecond:
        SameSecond.readings += 1
        return cls(2026, 11, 27, 5, 12, 3, 1000 * SameSecond.readings, tzinfo=UTC)


def test_a_retry_that_rolls_back_again_within_the_second_is_refused_again(
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(SameSecond, "readings", 0)
    monkeypatch.setattr("delivery.cutover.records.datetime", SameSecond)
    roll_back_a_shift_to_green(pulumi, operator, plane, inboxes)
    first = RollbackRecord.from_json(
        operator.ssm.get_parameter(Name=f"{RECORDS}/green")["Parameter"]["Value"]
    )
    set_alarm(operator, plane.gating_alarms(Colour.GREEN)[0], AlarmValue.ALARM, "again")
    force_weights(operator, plane, Weights(blue=50, green=50))
    with pytest.raises(ProviderFailed, match="RolledBack"):
        pulumi.up(props(plane, inboxes, live="green", retry_rollback=first.id))
    set_alarm(operator, plane.gating_alarms(Colour.GREEN)[0], AlarmValue.OK, "recovered")
    second = RollbackRecord.from_json(
        operator.ssm.get_parameter(Name=f"{RECORDS}/green")["Parameter"]["Value"]
    )
    assert (first.id, second.id) == (
        "green@2026-11-27T05:12:03.001Z",
        "green@2026-11-27T05:12:03.002Z",
    )
    with pytest.raises(ProviderFailed) as refused:  # the old retry names the first rollback only
        pulumi.up(props(plane, inboxes, live="green", retry_rollback=first.id))
    assert f"retryRollback '{second.id}'" in refused.value.details
    assert outcome_in(refused.value.details) is Outcome.REFUSED
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)


NOT_RECORDS = ["garbage", '{"id": "x"}', "[1, 2]", '{"id": "x", "colour": 3}', "[" * 4000]


@pytest.mark.parametrize("value", NOT_RECORDS, ids=lambda value: value[:12])
def test_a_rollback_record_switchyard_did_not_write_refuses_naming_the_parameter(
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    value: str,
) -> None:
    pulumi.up(props(plane, inboxes))
    parameter = f"{RECORDS}/green"
    operator.ssm.put_parameter(Name=parameter, Value=value, Type="String", Overwrite=True)
    with pytest.raises(ProviderFailed) as refused:
        pulumi.up(props(plane, inboxes, live="green"))
    details = refused.value.details
    assert "ShiftRefused" in details
    assert f"the rollback record {parameter} holds" in details
    assert f"aws ssm delete-parameter --name {parameter}" in details
    assert "RecursionError" not in details  # a refusal, not a crash
    assert outcome_in(details) is Outcome.REFUSED
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)


# How a shift to green is refused: its release's rollback is recorded, or the record cannot
# be used; the error's type, the fault on GetParameter or the value stored, and what it says.
REFUSALS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "recorded": ("ReleaseRolledBack", None, ("will not shift to it again", "retryRollback")),
    "record-throttled": (
        "ShiftRefused",
        "ThrottlingException",
        (f"the rollback record {RECORDS}/green could not be read (", "run again in a minute"),
    ),
    "record-denied": (
        "ShiftRefused",
        "AccessDeniedException",
        (f"grant ssm:GetParameter on {RECORDS}/* to",),
    ),
    "record-garbage": ("ShiftRefused", "oops", (f"the rollback record {RECORDS}/green holds",)),
}


def refuse_green(
    how: str,
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """Roll back green's release, then leave its record as ``how`` says; the refusal's type,
    what it says, and the record's parameter as it stands."""
    roll_back_a_shift_to_green(pulumi, operator, plane, inboxes)
    inboxes["critical"].messages()  # the rollback's own message
    kind, fault, said = REFUSALS[how]
    if how == "record-garbage":
        operator.ssm.put_parameter(
            Name=f"{RECORDS}/green", Value=str(fault), Type="String", Overwrite=True
        )
    elif fault is not None:
        inject(monkeypatch, "ssm", Fault("GetParameter", 100_000, code=fault))
    return kind, said, operator.ssm.get_parameter(Name=f"{RECORDS}/green")["Parameter"]


@pytest.mark.parametrize("how", list(REFUSALS))
def test_a_refusal_left_split_by_a_failed_rollback_goes_back_to_the_old_colour(
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    _, said, record = refuse_green(how, pulumi, operator, plane, inboxes, monkeypatch)
    # The rollback's listener write had failed (or the run was killed): still split.
    force_weights(operator, plane, Weights(blue=50, green=50))
    with pytest.raises(ProviderFailed) as restored:
        pulumi.up(props(plane, inboxes, live="green"))
    details = restored.value.details
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)
    assert outcome_in(details) is Outcome.ROLLED_BACK  # traffic moved: not a plain refusal
    assert all(words in details for words in said)
    assert "the listener carried blue=50% green=50%" in details
    assert "rolled back, blue=100% green=0% now in force" in details
    assert "Nothing was moved" not in details and "still carries all traffic" not in details
    # published as the restore it is; the record is not rewritten
    [body] = inboxes["critical"].messages()
    assert body["report"]["weights"] == {"blue": 100, "green": 0}
    again = operator.ssm.get_parameter(Name=f"{RECORDS}/green")["Parameter"]
    assert (again["Version"], again["Value"]) == (record["Version"], record["Value"])


@pytest.mark.parametrize("how", list(REFUSALS))
def test_a_refusal_states_the_weights_it_read_and_moves_nothing(
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    kind, said, _ = refuse_green(how, pulumi, operator, plane, inboxes, monkeypatch)
    with pytest.raises(ProviderFailed) as refused:
        pulumi.up(props(plane, inboxes, live="green"))
    details = refused.value.details
    assert kind in details and all(words in details for words in said)
    assert "Nothing was moved: blue still carries all traffic (blue=100% green=0%)" in details
    assert outcome_in(details) is Outcome.REFUSED
    assert inboxes["critical"].messages() == []

    force_weights(operator, plane, Weights(blue=0, green=100))  # an operator, by hand
    with pytest.raises(ProviderFailed) as drift:
        pulumi.up(props(plane, inboxes, live="green"))
    details = drift.value.details
    assert kind in details
    assert "already sends all traffic to green (blue=0% green=100%)" in details
    assert "blue still carries" not in details
    assert outcome_in(details) is Outcome.DRIFT
    assert listener_weights(operator, plane) == Weights(blue=0, green=100)


@pytest.mark.parametrize("how", ["recorded", "record-garbage"])
def test_a_refusal_over_a_listener_it_cannot_read_says_both(
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    kind, said, _ = refuse_green(how, pulumi, operator, plane, inboxes, monkeypatch)
    inject(monkeypatch, "elbv2", Fault("DescribeListeners", 100_000, code="Throttling"))
    with pytest.raises(ProviderFailed) as refused:
        pulumi.up(props(plane, inboxes, live="green"))
    details = refused.value.details
    assert kind in details and all(words in details for words in said)
    assert "could not read the listener's weights: DescribeListeners failed: Throttling" in details
    assert outcome_in(details) is Outcome.REFUSED
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)


def test_a_record_of_the_other_colour_is_refused_as_a_foreign_record(
    pulumi: DynamicEngine, operator: AwsClients, plane: TrafficPlane, inboxes: dict[str, Inbox]
) -> None:
    """Blue's record stored in green's parameter says nothing about green's release."""
    roll_back_a_shift_to_green(pulumi, operator, plane, inboxes)
    parameter = f"{RECORDS}/green"
    green = json.loads(operator.ssm.get_parameter(Name=parameter)["Parameter"]["Value"])
    blue_id = green["id"].replace("green@", "blue@")
    foreign = {**green, "colour": "blue", "id": blue_id}
    operator.ssm.put_parameter(
        Name=parameter, Value=json.dumps(foreign), Type="String", Overwrite=True
    )
    with pytest.raises(ProviderFailed) as refused:
        pulumi.up(props(plane, inboxes, live="green"))
    details = refused.value.details
    assert "ShiftRefused" in details and "ReleaseRolledBack" not in details
    assert f"{parameter} holds a record of blue's release ({blue_id}), not of green's" in details
    assert f"Put it in {RECORDS}/blue if it is a rollback of blue's release" in details
    assert "deploy a new release to blue" not in details
    assert "Nothing was moved: blue still carries all traffic" in details
    assert outcome_in(details) is Outcome.REFUSED
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)
