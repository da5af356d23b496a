"""What a rollback tells people and machines, and the record that keeps it out."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from delivery.config.model import Colour
from delivery.cutover.alerts import SUBJECT_LIMIT, rollback_message
from delivery.cutover.events import CutoverReport, Outcome, Verdict
from delivery.cutover.ports import AlarmValue
from delivery.cutover.records import CUT, VALUE_LIMIT, RollbackRecord
from delivery.plans.schedule import Weights

REPORT = CutoverReport(
    source=Colour.BLUE,
    target=Colour.GREEN,
    outcome=Outcome.ROLLED_BACK,
    weights=Weights(blue=100, green=0),
    events=(),
    polls=7,
    step=50,
    cause="alarm 'web-green-5xx' is ALARM (5xx rate 9% > 5%)",
    alarm=Verdict("web-green-5xx", AlarmValue.ALARM, "5xx rate 9% > 5%"),
    reaction_seconds=0.412,
)


def test_the_message_names_stack_colours_step_weights_alarm_and_reaction() -> None:
    message = rollback_message(REPORT, "prod", "web:1.4.2")
    assert message.subject == "Switchyard prod: blue->green rolled back at step 50%"
    assert "Release on green: web:1.4.2" in message.text
    assert "Weights in force now: blue=100% green=0%" in message.text
    assert "Alarm: web-green-5xx (5xx rate 9% > 5%)" in message.text
    assert "Reaction: 412 ms" in message.text
    body = json.loads(message.body)
    assert body["stack"] == "prod"
    assert CutoverReport.from_dict(body["report"]) == REPORT
    structured = json.loads(message.sns_message())
    assert structured["default"] == message.text
    # AWS Chatbot (an HTTPS subscriber) drops plain text: it gets a custom notification
    chat = json.loads(structured["https"])
    assert (chat["version"], chat["source"]) == ("1.0", "custom")
    assert chat["content"] == {
        "textType": "client-markdown",
        "title": message.subject,
        "description": message.text,
    }
    assert structured["sqs"] == structured["lambda"] == message.body


def test_the_subject_fits_what_sns_accepts() -> None:
    message = rollback_message(REPORT, "prod-" + "é" * 200, "")
    assert len(message.subject) <= SUBJECT_LIMIT < 100
    assert message.subject.isascii()
    assert "\n" not in message.subject


def test_a_failed_rollback_says_to_act_now() -> None:
    failed = CutoverReport(
        Colour.BLUE, Colour.GREEN, Outcome.ROLLBACK_FAILED, None, (), step=10, cause="x"
    )
    message = rollback_message(failed, "prod", "web:2")
    assert "ROLLBACK FAILED" in message.subject
    assert "Weights in force now: unknown" in message.text
    assert "ACT NOW: restore 100% on blue" in message.text


def test_a_record_blocks_its_release_until_retried_by_its_own_id() -> None:
    when = datetime(2026, 11, 27, 5, 12, 3, 417_999, tzinfo=UTC)
    record = RollbackRecord.of(REPORT, "web:1.4.2", "prod", when)
    assert record.id == "green@2026-11-27T05:12:03.417Z"
    assert RollbackRecord.from_json(record.to_json()) == record
    assert record.blocks("web:1.4.2", retry="")
    assert not record.blocks("web:1.4.3", retry="")
    assert not record.blocks("web:1.4.2", retry=record.id)
    assert record.blocks("web:1.4.2", retry="green@2026-11-26T01:00:00Z")  # an older retry
    refused = record.refused("/switchyard/prod/cutover/green")
    assert "green's release 'web:1.4.2' was rolled back at 2026-11-27T05:12:03.417Z" in refused
    assert "(record /switchyard/prod/cutover/green)" in refused
    ways_out = record.ways_out(Colour.BLUE)
    assert "set liveColour back to blue" in ways_out
    assert "a new greenImage" in ways_out
    assert "retryRollback 'green@2026-11-27T05:12:03.417Z'" in ways_out


def test_two_rollbacks_within_one_second_have_two_ids() -> None:
    """A retry names one rollback: the next one, even in the same second, is refused again."""
    first = RollbackRecord.of(
        REPORT, "web:2", "prod", datetime(2026, 11, 27, 5, 12, 3, 1000, tzinfo=UTC)
    )
    second = RollbackRecord.of(
        REPORT, "web:2", "prod", datetime(2026, 11, 27, 5, 12, 3, 2000, tzinfo=UTC)
    )
    assert first.id != second.id
    assert second.blocks("web:2", retry=first.id)


def test_a_record_written_with_a_whole_second_id_still_reads_and_retries() -> None:
    old = RollbackRecord.of(REPORT, "web:2", "prod", datetime(2026, 11, 27, 5, 12, 3, tzinfo=UTC))
    stored = old.to_json().replace("05:12:03.000Z", "05:12:03Z")
    record = RollbackRecord.from_json(stored)
    assert record.id == "green@2026-11-27T05:12:03Z"
    assert not record.blocks("web:2", retry="green@2026-11-27T05:12:03Z")


@pytest.mark.parametrize("unit", ["x", "é", "日本", '"', "\x01", "🚨"])
def test_a_long_cause_is_cut_to_fit_one_ssm_parameter(unit: str) -> None:
    cause = unit * 6000
    record = RollbackRecord.of(replace(REPORT, cause=cause), "web:" + "9" * 250, "prod")
    stored = record.to_json()
    assert len(stored.encode()) <= VALUE_LIMIT  # a standard parameter's limit
    assert len(stored.encode()) > VALUE_LIMIT - 16  # cut no more than needed
    assert record.cause.endswith(CUT) and cause.startswith(record.cause.removesuffix(CUT))
    assert RollbackRecord.from_json(stored) == record


def test_a_short_cause_is_kept_whole() -> None:
    record = RollbackRecord.of(REPORT, "web:2", "prod")
    assert record.cause == REPORT.cause


@pytest.mark.parametrize(
    "stored",
    [
        "[" * 4000,
        '{"id": "x", "colour": "green", "release": "", "at": "", "stack": "", '
        '"cause": "", "step": 1e400}',
    ],
    ids=["nested-too-deep", "step-too-large"],
)
def test_a_value_json_cannot_hold_as_a_record_is_a_value_error(stored: str) -> None:
    """What SSM holds is anyone's text: the reader refuses ValueErrors, never crashes."""
    with pytest.raises(ValueError, match="not a record Switchyard writes"):
        RollbackRecord.from_json(stored)
