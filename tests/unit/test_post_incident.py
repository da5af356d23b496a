"""The post-incident record from a release record: which releases get one, and what it says."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from delivery.config.model import Colour, Tier
from delivery.config.stackfile import load_stack
from delivery.cutover.events import CutoverReport, Event, EventKind, Verdict
from delivery.cutover.events import Outcome as CutoverOutcome
from delivery.cutover.ports import AlarmValue
from delivery.plans.schedule import Weights
from delivery.release import notify
from delivery.release.incident import (
    FaultMetric,
    PostIncident,
    Series,
    needs_post_incident,
    page_description,
)
from delivery.release.record import Outcome, Phase, PhaseResult, ReleaseRecord, Result

START = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
ALARM = Verdict("switchyard-prod-green-5xx-rate", AlarmValue.ALARM, "5xx at 7%")


def report(outcome: CutoverOutcome = CutoverOutcome.ROLLED_BACK) -> CutoverReport:
    blue, split, green10 = Weights.all_on(Colour.BLUE), Weights(50, 50), Weights(90, 10)
    events = (
        Event(100.0, EventKind.GATES_PASSED, blue),
        Event(100.5, EventKind.STEP_SET, green10, 10),
        Event(700.5, EventKind.BAKE_PASSED, green10, 10),
        Event(701.0, EventKind.STEP_SET, split, 50),
        Event(746.0, EventKind.ALARM, split, 50, str(ALARM)),
        Event(746.2, EventKind.ROLLBACK_SET, blue, None, "rollback"),
        Event(746.2, EventKind.ROLLED_BACK, blue, None, str(ALARM)),
    )
    return CutoverReport(
        Colour.BLUE, Colour.GREEN, outcome, blue, events, 45, 50, str(ALARM), ALARM, 0.2
    )


def rolled_back(outcome: Outcome = Outcome.ROLLED_BACK) -> ReleaseRecord:
    record = ReleaseRecord.begin("prod", "web@sha256:" + "a" * 64, Colour.BLUE, START)
    record.commit = "abc1234"
    record.outcome, record.cause = outcome, f"cutover: {ALARM} at step 50%"
    record.cutover = report().as_dict()
    record.failed_at = START + timedelta(minutes=20)
    record.restored_at = record.failed_at + timedelta(seconds=1.5)
    record.ended_at = record.restored_at + timedelta(seconds=1)
    return record


@pytest.mark.parametrize(
    ("outcome", "needed"),
    [
        (Outcome.ROLLED_BACK, True),
        (Outcome.ABORTED, True),
        (Outcome.PROMOTED, False),
        (Outcome.STOPPED, False),
        (None, False),
    ],
)
def test_every_rollback_and_abort_gets_one(outcome: Outcome | None, needed: bool) -> None:
    record = rolled_back()
    record.outcome = outcome
    if outcome in (Outcome.PROMOTED, Outcome.STOPPED, None):
        record.cutover = None
    assert needs_post_incident(record) is needed


def test_a_failed_rollback_gets_one_too() -> None:
    record = rolled_back(Outcome.FAILED)
    record.cutover = report(CutoverOutcome.ROLLBACK_FAILED).as_dict()
    assert needs_post_incident(record)
    document = PostIncident(record, "page").markdown()
    assert "Why did the rollback write fail" in document


def test_it_gives_the_timings_the_timeline_and_the_weights() -> None:
    metric = FaultMetric(
        ALARM.alarm,
        (Series("HTTPCode_Target_5XX_Count Sum", ((START + timedelta(minutes=19), 70.0),)),),
        "the alarm judges X over these inputs",
    )
    document = PostIncident(rolled_back(), "critical notice", metric)
    assert document.time_to_detect_seconds == pytest.approx(45.0)  # 50% set to alarm seen
    text = document.markdown()
    assert text.startswith(f"# Post-incident record: release {rolled_back().id[:5]}")
    for expected in (
        "- Commit: abc1234",
        "- Time to detect (step to alarm seen): 45.000 s",
        "- Time to restore (fault seen to 100% on blue): 1.500 s",
        "- Engine reaction (poll to rollback written): 0.200 s",
        # the engine's clock pinned where the rollback's write restored 100% on blue
        "| 2026-11-02 10:09:15.800Z (cutover +0.500 s) | weights-set | 90 | 10 |",
        "| 2026-11-02 10:19:16.300Z (cutover +601.000 s) | weights-set | 50 | 50 |",
        "| 2026-11-02 10:20:01.500Z (cutover +646.200 s) | rollback-set | 100 | 0 |",
        "| 2026-11-02 10:20:00.000Z | fault seen: alarm 'switchyard-prod-green-5xx-rate' is "
        "ALARM (5xx at 7%) |",
        "| 2026-11-02 10:20:01.500Z | restored: 100% on blue |",
        "| 2026-11-02 10:19:00.000Z | 70 |",
        "- Why did switchyard-prod-green-5xx-rate fire at 50%",
    ):
        assert expected in text, expected
    assert "no datapoints" not in text and "has no datapoints" not in text
    moments = [when[:24] for when, _ in document.timeline() if when[:4] == "2026"]
    assert moments == sorted(moments)  # one clock, in order: no "failed" before its fault


def test_what_it_cannot_know_becomes_an_open_question() -> None:
    record = rolled_back()
    record.cutover = None  # a real `pulumi up` told only that it rolled back
    text = PostIncident(record, "critical notice").markdown()
    assert "Which alarm fired?" in text
    assert "has no datapoints here" in text
    assert "No cutover report" in text


def test_the_page_names_the_response_plan_and_the_escalation() -> None:
    prod = page_description(load_stack("prod"), Tier.CRITICAL)
    assert "response plan switchyard-prod-critical" in prod
    assert "+0 min: stage 1 engages oncall-primary; +10 min: stage 2" in prod
    assert "pages nobody" in page_description(load_stack("dev"), Tier.CRITICAL)


def test_the_rollback_notice_links_the_post_incident_record() -> None:
    record = rolled_back()
    record.post_incident = "s3://records/incidents/prod/x.md"
    notice = notify.finished(record)
    assert notice is not None and notice.tier is Tier.CRITICAL
    assert "Post-incident record: s3://records/incidents/prod/x.md" in notice.message
    assert f"python -m delivery incident {record.id}" in notice.message


def test_the_record_keeps_its_post_incident_and_budget_through_json() -> None:
    record = rolled_back()
    record.post_incident, record.error_budget = "here.md", "judged: 90% left"
    again = ReleaseRecord.from_json(record.as_json())
    assert (again.post_incident, again.error_budget) == ("here.md", "judged: 90% left")


def test_without_a_restore_the_engines_moments_are_marked_as_estimates() -> None:
    """A failed rollback has no restore to pin the engine's clock to: its events are placed
    from the promote's start, which the cutover begins after, and say so (≈)."""
    record = rolled_back(Outcome.FAILED)
    record.restored_at = None
    failed = report(CutoverOutcome.ROLLBACK_FAILED)
    events = tuple(e for e in failed.events if e.kind is not EventKind.ROLLBACK_SET)
    record.cutover = dataclasses.replace(failed, events=events).as_dict()
    record.phases = [
        PhaseResult(Phase.PROMOTE, Result.FAILED, START + timedelta(minutes=5), START, "x")
    ]
    rows = dict(PostIncident(record, "page").timeline())
    engine = [when for when in rows if "(cutover +" in when]
    assert engine and all(when.startswith("≈ ") for when in engine)
    assert "≈ 2026-11-02 10:05:00.000Z (cutover +0.000 s)" in rows
    pinned = PostIncident(rolled_back(), "page").timeline()
    assert not any(when.startswith("≈") for when, _ in pinned)


@pytest.mark.parametrize(
    ("stack", "tier", "heard"),
    [
        ("prod", Tier.EMERGENCY, "(e-mail and webhook and Slack subscribers)"),
        ("prod", Tier.CRITICAL, "(e-mail and Slack subscribers)"),
        ("staging", Tier.CRITICAL, "(e-mail and Slack subscribers)"),
        ("dev", Tier.CRITICAL, "(e-mail subscribers)"),
    ],
)
def test_the_page_names_who_hears_the_tier_as_the_stack_declares_it(
    stack: str, tier: Tier, heard: str
) -> None:
    assert f"SNS switchyard-{stack}-{tier} {heard}" in page_description(load_stack(stack), tier)
