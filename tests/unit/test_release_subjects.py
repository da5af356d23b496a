"""Every release notice's subject is one SNS accepts: "less than 100 characters long", no line
breaks or control characters (SNS API reference, Publish, ``Subject``), with the stack and the
verb first so that the part a cut keeps is the part people read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from delivery.config.model import Colour, Tier
from delivery.release import notify
from delivery.release.notify import SnsNotifier
from delivery.release.record import Outcome, ReleaseRecord

LONG_STACK = "payments-" + "x" * 60
LONG_IMAGE = (
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/" + "team/" * 20 + "web@sha256:" + "c" * 64
)


class Recorded:
    """boto3's SNS client as far as publish goes: it keeps the call's keyword arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(kwargs)
        return {"MessageId": "1"}


def notices(outcome: Outcome) -> list[notify.Notice]:
    record = ReleaseRecord.begin(LONG_STACK, LONG_IMAGE, Colour.BLUE, datetime.now(UTC))
    record.outcome, record.cause = outcome, "smoke test failed:\n  GET /healthz 503"
    finished = notify.finished(record)
    assert finished is not None
    return [notify.started(record), finished]


@pytest.mark.parametrize("outcome", list(Outcome))
def test_each_notice_subject_is_under_100_characters_with_stack_and_verb_first(
    outcome: Outcome,
) -> None:
    sns = Recorded()
    publisher = SnsNotifier(
        sns, {tier: f"arn:aws:sns:eu-west-1:123456789012:{tier}" for tier in Tier}
    )
    for notice in notices(outcome):
        publisher.publish(notice.tier, notice.subject, notice.message)
    for call, notice in zip(sns.calls, notices(outcome), strict=True):
        subject = call["Subject"]
        assert len(subject) < 100
        assert subject.isascii() and subject.isprintable()
        assert subject.startswith(notice.subject[: notice.subject.index(":") + 1])
        assert subject.startswith(f"[{LONG_STACK}] release ")


def test_a_notice_reaches_chatbot_as_a_custom_notification_and_people_as_text() -> None:
    sns = Recorded()
    (started, _) = notices(Outcome.PROMOTED)
    SnsNotifier(sns, {Tier.INFO: "arn:aws:sns:eu-west-1:123456789012:info"}).publish(
        started.tier, started.subject, started.message
    )
    (call,) = sns.calls
    assert call["MessageStructure"] == "json"
    message = json.loads(call["Message"])
    assert message["default"] == started.message
    chat = json.loads(message["https"])
    assert chat["source"] == "custom" and chat["content"]["title"] == call["Subject"]
    assert chat["content"]["description"] == started.message
