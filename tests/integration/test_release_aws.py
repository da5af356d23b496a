"""The driver's AWS adapters against moto's server over HTTP: notifications reach the tier
topics, status reads the plane, the watch follows a shift, and the baseline query is one AWS
accepts."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from delivery.cli import main
from delivery.config.model import Colour, SmokeCheck, Tier
from delivery.cutover.aws import AwsClients, CloudWatchAlarms, ElbListener
from delivery.cutover.clock import SystemClock
from delivery.cutover.ports import AlarmValue
from delivery.errors import Exit, PortError
from delivery.plans.schedule import Weights
from delivery.rehearsal.emulator import (
    Emulator,
    TrafficPlane,
    emulator_session,
    force_weights,
    set_alarm,
)
from delivery.release import notify
from delivery.release.baseline import CloudWatchBaseline, arn_suffix
from delivery.release.checks import smoke
from delivery.release.keys import LIVE_COLOUR, image_key
from delivery.release.notify import SnsNotifier
from delivery.release.progress import OnProgress, Progress
from delivery.release.record import LocalRecords, Outcome, ReleaseRecord, S3Records
from delivery.release.status import WatchedStack, status_lines, watch
from tests.integration.conftest import ScriptedClock, emulator_s3
from tests.stacks import QuietStack

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def test_a_rollback_is_published_to_the_critical_topic_with_its_cause(
    emulator: Emulator, operator: AwsClients
) -> None:
    session = emulator_session(emulator.region)
    sns = session.client("sns", endpoint_url=emulator.endpoint)
    sqs = session.client("sqs", endpoint_url=emulator.endpoint)
    topics = {t: sns.create_topic(Name=f"it-{t.value}")["TopicArn"] for t in Tier}
    queue = sqs.create_queue(QueueName="it-critical")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=topics[Tier.CRITICAL],
        Protocol="sqs",
        Endpoint=queue_arn["Attributes"]["QueueArn"],
    )
    record = ReleaseRecord.begin("prod", "web@sha256:1", Colour.BLUE, START)
    record.outcome, record.cause = Outcome.ROLLED_BACK, "alarm 'prod-green-5xx-rate' is ALARM"
    record.run_url = "https://github.com/o/r/actions/runs/7"
    notice = notify.finished(record)
    assert notice is not None and notice.tier is Tier.CRITICAL

    SnsNotifier(sns, topics).publish(notice.tier, notice.subject, notice.message)

    [message] = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    body = json.loads(message["Body"])
    assert body["Subject"] == "[prod] release ROLLED BACK: web@sha256:1"
    assert "prod-green-5xx-rate" in body["Message"] and "actions/runs/7" in body["Message"]


def test_a_notice_about_a_long_image_keeps_its_subject_under_snss_limit(
    emulator: Emulator, operator: AwsClients
) -> None:
    """An ECR image by digest is about 130 characters: the subject SNS receives stays under
    100 (the Publish reference's limit; the emulator itself takes 100), on one line."""
    session = emulator_session(emulator.region)
    sns = session.client("sns", endpoint_url=emulator.endpoint)
    sqs = session.client("sqs", endpoint_url=emulator.endpoint)
    topic = sns.create_topic(Name="it-long-subject")["TopicArn"]
    queue = sqs.create_queue(QueueName="it-long-subject")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:" + "a" * 64
    record = ReleaseRecord.begin("prod", image, Colour.BLUE, START)
    record.outcome = Outcome.FAILED
    notice = notify.finished(record)
    assert notice is not None and len(notice.subject) > 100

    SnsNotifier(sns, {notice.tier: topic}).publish(notice.tier, notice.subject + "\nmore", "m")

    [message] = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    subject = json.loads(message["Body"])["Subject"]
    assert len(subject) < 100 and "\n" not in subject
    assert notice.subject.startswith(subject)


@pytest.mark.parametrize(
    ("outcome", "tier"),
    [
        (Outcome.PROMOTED, Tier.INFO),
        (Outcome.STOPPED, Tier.WARNING),
        (Outcome.ABORTED, Tier.CRITICAL),
        (Outcome.FAILED, Tier.CRITICAL),
    ],
)
def test_each_outcome_goes_to_its_tier(outcome: Outcome, tier: Tier | None) -> None:
    record = ReleaseRecord.begin("prod", "web@sha256:1", Colour.BLUE, START)
    record.outcome = outcome
    notice = notify.finished(record)
    assert (notice.tier if notice else None) is tier
    assert notify.started(record).tier is Tier.INFO


class View:
    def __init__(self, plane: TrafficPlane, config: dict[str, str]) -> None:
        self._plane = plane
        self._config = config

    def config(self) -> dict[str, str]:
        return dict(self._config)

    def outputs(self) -> dict[str, Any]:
        return {"alarmNames": {c.value: list(a) for c, a in self._plane.alarms.items()}}


def test_status_shows_weights_candidate_alarms_and_last_releases(
    plane: TrafficPlane, operator: AwsClients, tmp_path: Path
) -> None:
    records = LocalRecords(tmp_path)
    done = ReleaseRecord.begin("staging", "web@sha256:old", Colour.GREEN, START)
    done.outcome = Outcome.PROMOTED
    records.save(done)
    records.save(ReleaseRecord.begin("staging", "web@sha256:new", Colour.BLUE, START))
    set_alarm(operator, plane.alarms[Colour.GREEN][0], AlarmValue.ALARM, "test")
    force_weights(operator, plane, Weights(blue=90, green=10))
    config = {LIVE_COLOUR: "blue", image_key(Colour.GREEN): "web@sha256:new"}

    lines = status_lines(
        "staging",
        View(plane, config),
        ElbListener(operator.elbv2, plane.listener_arn, plane.target_groups),
        CloudWatchAlarms(operator.cloudwatch),
        records,
    )
    text = "\n".join(lines)

    assert "listener blue=90% green=10%  <- a shift is in progress" in text
    green = next(line for line in lines if line.strip().startswith("green"))
    assert "candidate" in green and "web@sha256:new" in green
    assert f"1 in ALARM ({plane.alarms[Colour.GREEN][0]})" in green
    assert "in progress (or interrupted)" in text and "web@sha256:old" in text


def test_watch_reports_each_weight_change_until_a_colour_carries_everything(
    plane: TrafficPlane, operator: AwsClients, clock: ScriptedClock
) -> None:
    force_weights(operator, plane, Weights(blue=90, green=10))

    def move_to(green: int) -> Callable[[], None]:
        return lambda: force_weights(operator, plane, Weights.split(Colour.GREEN, green))

    clock.at(25, move_to(50))
    clock.at(55, move_to(100))
    lines: list[str] = []

    final = watch(
        ElbListener(operator.elbv2, plane.listener_arn, plane.target_groups),
        clock,
        lines.append,
        interval=10,
    )

    assert final == Weights.all_on(Colour.GREEN)
    assert [line.split("listener ")[1] for line in lines] == [
        "blue=90% green=10%",
        "blue=50% green=50%",
        "blue=0% green=100%",
    ]


def test_a_watched_up_reports_the_cutover_it_cannot_see(
    plane: TrafficPlane, operator: AwsClients
) -> None:
    seen: list[Progress] = []
    noticed = threading.Condition()

    def on_progress(event: Progress) -> None:
        with noticed:
            seen.append(event)
            noticed.notify_all()

    def reported(green: int) -> Callable[[], bool]:
        return lambda: any(e.weights.green == green for e in seen)

    class Stack(QuietStack):
        """A `pulumi up` whose cutover moves the listener out of the driver's sight."""

        def up(self, on_progress: OnProgress) -> None:
            for green in (10, 50, 100):
                force_weights(operator, plane, Weights.split(Colour.GREEN, green))
                with noticed:  # the next step only once the watch has reported this one
                    assert noticed.wait_for(reported(green), timeout=30)

    listener = ElbListener(operator.elbv2, plane.listener_arn, plane.target_groups)
    WatchedStack(Stack(), listener, SystemClock(), 0.02, lambda _: None).up(on_progress)

    assert [e.weights.green for e in seen] == [10, 50, 100]
    assert all(e.kind == "weights-set" for e in seen)


def test_the_baseline_query_is_accepted_and_no_data_means_none(
    plane: TrafficPlane, operator: AwsClients
) -> None:
    # moto computes no percentile statistics (AWS does): the query's shape is what is tested.
    baseline = CloudWatchBaseline(operator.cloudwatch, datetime.now(UTC))
    measured = baseline.p95_ms(plane.target_groups[Colour.BLUE], plane.load_balancer_arn)
    assert measured is None


def test_cloudwatch_dimensions_come_from_the_arns() -> None:
    lb = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188"
    tg = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/73e2d6bc24d8a067"
    assert arn_suffix(lb, "loadbalancer") == "app/web/50dc6c495c0c9188"
    assert arn_suffix(tg, "targetgroup") == "targetgroup/web-blue/73e2d6bc24d8a067"


def test_records_in_s3_round_trip_and_a_bad_object_is_named(
    emulator: Emulator, operator: AwsClients
) -> None:
    s3 = emulator_s3(emulator)
    s3.create_bucket(
        Bucket="it-releases", CreateBucketConfiguration={"LocationConstraint": emulator.region}
    )
    store = S3Records(s3, "it-releases")
    record = ReleaseRecord.begin("prod", "web@sha256:1", Colour.BLUE, START)
    record.outcome = Outcome.PROMOTED
    store.save(record)
    s3.put_object(Bucket="it-releases", Key="releases/prod/torn.json", Body=b'{"version": 1')

    loaded = store.load()

    assert loaded.records == [record]
    [bad] = loaded.unreadable
    assert bad.where == "s3://it-releases/releases/prod/torn.json" and "not JSON" in bad.reason
    with pytest.raises(PortError, match="s3:ListBucket"):
        S3Records(s3, "no-such-bucket").load()
    with pytest.raises(PortError, match="NoSuchBucket"):
        S3Records(s3, "no-such-bucket").save(record)


def test_a_stack_that_does_not_exist_is_named_with_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A stand-in for the Pulumi CLI answering as the real one does for an unknown stack; the
    # Automation API library classifies its answer.
    cli = tmp_path / "pulumi"
    cli.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        '  version) echo "v3.205.0";;\n'
        '  *"stack select"*) echo "error: no stack named \'staging\' found" >&2; exit 255;;\n'
        '  *) echo "unexpected: $*" >&2; exit 1;;\n'
        "esac\n"
    )
    cli.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")

    code = main(["release", "--stack", "staging", "--image", "web:1.4.2"])

    assert code == Exit.UNAVAILABLE
    err = capsys.readouterr().err
    assert "stack 'staging' does not exist" in err and "pulumi stack init staging" in err


def test_a_test_listener_that_does_not_answer_fails_the_smoke_test_with_the_reason() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    [result] = smoke(f"http://127.0.0.1:{port}", (SmokeCheck("/healthz", 200, 2.0),))

    assert not result.ok and result.answer.status is None
    assert str(result).startswith("/healthz: expected 200, got ") and "refused" in str(result)


def test_only_http_urls_are_fetched() -> None:
    with pytest.raises(ValueError, match="HTTP"):
        smoke("file:///etc", (SmokeCheck("/passwd", 200, 1.0),))


def test_a_step_taken_before_the_watch_first_looks_is_still_reported(
    plane: TrafficPlane, operator: AwsClients, clock: ScriptedClock
) -> None:
    force_weights(operator, plane, Weights(blue=90, green=10))  # the cutover was quicker
    stop = threading.Event()
    clock.at(25, stop.set)
    seen: list[Progress] = []

    watch(
        ElbListener(operator.elbv2, plane.listener_arn, plane.target_groups),
        clock,
        lambda _line: None,
        interval=10,
        stop=stop,
        on_progress=seen.append,
    )

    assert [e.weights.green for e in seen] == [10]
