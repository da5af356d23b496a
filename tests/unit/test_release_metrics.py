"""Delivery metrics on a synthetic record with known answers; the record's own format."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from delivery.config.model import Colour
from delivery.release.metrics import chart_data, compute, write_chart
from delivery.release.record import (
    LocalRecords,
    Outcome,
    Phase,
    PhaseResult,
    RecordError,
    ReleaseRecord,
    Result,
    parse,
    unfinished,
)

SINCE = datetime(2026, 10, 1, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=28)


def release(
    day: float,
    outcome: Outcome | None,
    lead_hours: float | None = None,
    restore_minutes: float | None = None,
    stack: str = "prod",
) -> ReleaseRecord:
    start = SINCE + timedelta(days=day)
    record = ReleaseRecord.begin(stack, f"web:{day}", Colour.BLUE, start)
    record.outcome = outcome
    record.ended_at = start + timedelta(hours=1)
    if lead_hours is not None:
        record.promoted_at = start + timedelta(hours=1)
        record.commit_time = record.promoted_at - timedelta(hours=lead_hours)
    if restore_minutes is not None:
        record.failed_at = start + timedelta(minutes=30)
        record.restored_at = record.failed_at + timedelta(minutes=restore_minutes)
    return record


def synthetic() -> list[ReleaseRecord]:
    promoted = [
        release(day, Outcome.PROMOTED, lead_hours=lead)
        for day, lead in zip(range(1, 9), [1, 2, 3, 5, 6, 7, 8, 9], strict=True)
    ]
    return [
        *promoted,
        release(10, Outcome.ROLLED_BACK, restore_minutes=10),
        release(11, Outcome.ABORTED, restore_minutes=20),
        release(12, Outcome.STOPPED),  # caught before users: neither failure nor deployment
        release(13, Outcome.STOPPED),
        release(14, None),  # still running
        release(-3, Outcome.PROMOTED, lead_hours=100),  # before the window
        release(29, Outcome.ROLLED_BACK, restore_minutes=500),  # after it
    ]


def test_the_metrics_of_a_synthetic_record() -> None:
    metrics = compute(synthetic(), SINCE, UNTIL)

    assert metrics.deployment_frequency_per_week == pytest.approx(2.0)  # 8 in 4 weeks
    assert metrics.lead_time_hours == pytest.approx(5.5)  # median of 1,2,3,5,6,7,8,9
    assert metrics.change_failure_rate == pytest.approx(0.2)  # 2 of the 10 that reached users
    assert metrics.time_to_restore_minutes == pytest.approx(15.0)
    assert metrics.counts == {
        "promoted": 8,
        "rolled-back": 1,
        "stopped": 2,
        "aborted": 1,
        "failed": 0,
    }
    assert metrics.meets == {
        "deployment_frequency_per_week": False,
        "lead_time_hours": False,
        "change_failure_rate": False,
        "time_to_restore_minutes": True,
    }
    data = metrics.as_json()
    assert data["change_failure_rate"] == 0.2 and data["time_to_restore_minutes"] == 15.0


def test_no_releases_means_no_data_rather_than_perfect_scores() -> None:
    metrics = compute([], SINCE, UNTIL)

    assert metrics.deployment_frequency_per_week == 0
    assert metrics.lead_time_hours is None and metrics.change_failure_rate is None
    assert metrics.meets["change_failure_rate"] is None
    assert any("no data" in line for line in metrics.lines())


def test_the_chart_is_written(tmp_path: Path) -> None:
    records = synthetic()
    path = tmp_path / "delivery.png"
    write_chart(path, records, compute(records, SINCE, UNTIL))

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_record_survives_its_json_form() -> None:
    record = release(1, Outcome.ROLLED_BACK, restore_minutes=12)
    record.phases.append(
        PhaseResult(Phase.SMOKE, Result.PASSED, SINCE, SINCE + timedelta(seconds=5), "ok")
    )
    record.cause = "alarm 'prod-green-5xx-rate' is ALARM"

    again = ReleaseRecord.from_json(json.loads(json.dumps(record.as_json())))

    assert again == record
    assert again.time_to_restore_seconds == 720


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "is not JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"version": 99}', "record version 99"),
        ('{"version": 1, "id": "x"}', "not a release record: KeyError"),
    ],
)
def test_a_malformed_record_is_named_and_set_aside(tmp_path: Path, body: str, reason: str) -> None:
    store = LocalRecords(tmp_path)
    good = release(1, Outcome.PROMOTED, lead_hours=1)
    store.save(good)
    (tmp_path / "prod" / "broken.json").write_text(body)

    loaded = store.load()

    assert loaded.records == [good]
    [bad] = loaded.unreadable
    assert bad.where.endswith("broken.json") and reason in bad.reason
    with pytest.raises(RecordError, match=r"broken\.json"):
        parse(body, "broken.json")


def test_only_the_latest_unfinished_release_of_a_stack_is_resumable() -> None:
    done = release(1, Outcome.PROMOTED)
    running = release(2, None)
    other = release(3, None, stack="staging")

    assert unfinished([done, running, other], "prod") is running
    assert unfinished([running, release(4, Outcome.STOPPED)], "prod") is None


def test_a_commit_time_after_the_promotion_gives_no_lead_time() -> None:
    """A commit cannot reach users before it was made: such a time (a wrong --commit-time, a
    time zone) would pull the median lead time down instead of being noticed."""
    records = [
        release(1, Outcome.PROMOTED, lead_hours=6),
        release(2, Outcome.PROMOTED, lead_hours=-30),
        release(3, Outcome.PROMOTED, lead_hours=-20),
    ]
    assert records[1].lead_time_seconds is None
    assert compute(records, SINCE, UNTIL).lead_time_hours == pytest.approx(6.0)


def moved(record: ReleaseRecord, traffic: bool) -> ReleaseRecord:
    record.traffic_moved = traffic
    return record


def test_each_kind_of_ending_counts_as_dora_defines_it() -> None:
    """dora.dev: a deployment reached production; a change failure is one that then failed
    there; time to restore runs from the failure to the service restored."""
    split = release(5, Outcome.FAILED)  # a failed rollback: the listener left split
    split.failed_at = split.started_at + timedelta(minutes=30)  # no restore time
    records = [
        moved(release(1, Outcome.PROMOTED, lead_hours=2), True),
        moved(release(2, Outcome.PROMOTED, lead_hours=4), True),
        moved(release(3, Outcome.ROLLED_BACK, restore_minutes=6), True),
        moved(release(4, Outcome.ABORTED, restore_minutes=0.1), False),  # before any shift
        moved(release(6, Outcome.ABORTED, restore_minutes=8), True),  # after one
        moved(split, True),
        moved(release(7, Outcome.FAILED), False),  # the driver failed before promote
        moved(release(8, Outcome.STOPPED), False),
    ]
    metrics = compute(records, SINCE, UNTIL)

    # 2 promoted + 3 failed in production (rollback, abort after a shift, the split)
    assert metrics.change_failure_rate == pytest.approx(3 / 5)
    # the abort before any shift is no failure: its 6 s restore is not in the median
    assert metrics.time_to_restore_minutes == pytest.approx(7.0)  # median of 6 and 8
    assert metrics.unrestored == 1
    # an incident not restored never meets the target, whatever the median says
    assert metrics.meets["time_to_restore_minutes"] is False
    assert "1 failure(s) not restored" in metrics.lines()[-1]
    assert metrics.as_json()["unrestored_failures"] == 1


def test_a_rollback_of_unknown_duration_keeps_the_median_from_meeting_the_target() -> None:
    """A rollback whose failure moment is unknown (no rollback record: no alarm judged it)
    could be the one that took hours: the median of the others cannot meet the target."""
    untimed = moved(release(2, Outcome.ROLLED_BACK), True)
    untimed.restored_at = untimed.started_at + timedelta(minutes=40)
    quick = moved(release(1, Outcome.ROLLED_BACK, restore_minutes=3), True)
    slow = moved(release(3, Outcome.ROLLED_BACK, restore_minutes=300), True)

    metrics = compute([quick, untimed], SINCE, UNTIL)
    assert metrics.time_to_restore_minutes == pytest.approx(3.0)
    assert (metrics.untimed, metrics.meets["time_to_restore_minutes"]) == (1, None)
    assert "unknown; 1 failure(s) without a failure time" in metrics.lines()[-1]
    assert metrics.as_json()["untimed_failures"] == 1
    # one that misses is known to miss, whatever the unknown one took
    assert compute([slow, untimed], SINCE, UNTIL).meets["time_to_restore_minutes"] is False
    assert compute([quick], SINCE, UNTIL).meets["time_to_restore_minutes"] is True


def test_a_release_counts_in_the_window_it_ended_in() -> None:
    """prod's approval gate can hold a release for days: started before the window and
    promoted in it, it is a deployment of the window."""
    held = release(-2, Outcome.PROMOTED)
    held.promoted_at = SINCE + timedelta(days=1)
    held.commit_time = held.started_at
    late = release(27, Outcome.PROMOTED)
    late.promoted_at = UNTIL + timedelta(days=1)  # started in, promoted after: the next window's
    metrics = compute([held, late], SINCE, UNTIL)

    assert metrics.counts["promoted"] == 1
    assert metrics.lead_time_hours == pytest.approx(72.0)  # commit to promotion, 3 days


def test_records_written_before_the_traffic_flag_keep_their_meaning() -> None:
    old_rollback = release(1, Outcome.ROLLED_BACK, restore_minutes=5)
    old_failure = release(2, Outcome.FAILED)  # no failure seen: the driver's own error
    assert old_rollback.traffic_moved is None
    metrics = compute([old_rollback, old_failure], SINCE, UNTIL)
    assert metrics.change_failure_rate == pytest.approx(1.0)  # 1 of 1 that reached users
    again = ReleaseRecord.from_json(json.loads(json.dumps(moved(old_rollback, False).as_json())))
    assert again.traffic_moved is False
    with pytest.raises(RecordError, match="traffic_moved must be true, false or null"):
        ReleaseRecord.from_json({**old_rollback.as_json(), "traffic_moved": "yes"})


def test_the_chart_draws_time_to_restore_and_says_no_data_where_there_is_none(
    tmp_path: Path,
) -> None:
    records = synthetic()
    data = chart_data(records, compute(records, SINCE, UNTIL))
    assert len(data.lead_hours) == 8  # the promotions in the window
    assert sorted(v for _, v in data.restore_minutes) == [10.0, 20.0]  # the two failures
    assert sum(sum(weeks) for weeks in data.per_week.values()) == 12  # all that ended in it
    assert write_chart(tmp_path / "c.png", records, compute(records, SINCE, UNTIL)) == []
    empty = write_chart(tmp_path / "e.png", [], compute([], SINCE, UNTIL))
    assert empty == ["lead time of a promotion", "time to restore of a change failure"]
    assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"


def test_a_release_live_on_the_new_colour_whose_up_failed_elsewhere_is_a_deployment() -> None:
    elsewhere = release(2, Outcome.FAILED, lead_hours=2)  # promoted_at: all traffic moved
    elsewhere.traffic_moved = True
    metrics = compute([elsewhere, release(3, Outcome.PROMOTED, lead_hours=4)], SINCE, UNTIL)

    assert metrics.deployment_frequency_per_week == pytest.approx(0.5)  # 2 in 4 weeks
    assert metrics.change_failure_rate == 0.0
    assert metrics.unrestored == 0 and metrics.meets["time_to_restore_minutes"] is None
    assert metrics.lead_time_hours == pytest.approx(3.0)


def test_a_commit_released_again_keeps_its_first_lead_time() -> None:
    """Staging re-releases its image on every push to develop: the commit ran at its first."""
    first = release(1, Outcome.PROMOTED, lead_hours=2)
    again = release(5, Outcome.PROMOTED, lead_hours=98)  # the same commit, four days later
    other = release(6, Outcome.PROMOTED, lead_hours=4)
    first.commit = again.commit = "a" * 40
    other.commit = "b" * 40
    metrics = compute([first, again, other], SINCE, UNTIL)

    assert metrics.lead_time_hours == pytest.approx(3.0)  # median of 2 and 4, not of 2, 4, 98
    assert metrics.deployment_frequency_per_week == pytest.approx(0.75)  # all three deployed


def test_promotions_without_a_commit_time_are_named() -> None:
    metrics = compute(
        [release(1, Outcome.PROMOTED), release(2, Outcome.PROMOTED, lead_hours=1)], SINCE, UNTIL
    )
    assert metrics.no_lead_time == 1
    assert "1 promotion(s) without a commit time (not in the median)" in metrics.lines()[2]
    assert metrics.as_json()["promotions_without_lead_time"] == 1


def test_a_restore_far_before_the_failure_is_of_unknown_duration_not_zero() -> None:
    skewed = release(1, Outcome.ROLLED_BACK, restore_minutes=-10)  # clocks ten minutes apart
    near = release(2, Outcome.ROLLED_BACK, restore_minutes=-0.5)  # within the skew: 0
    metrics = compute([skewed, near], SINCE, UNTIL)

    assert skewed.time_to_restore_seconds is None and near.time_to_restore_seconds == 0.0
    assert metrics.untimed == 1 and metrics.time_to_restore_minutes == 0.0
    assert metrics.meets["time_to_restore_minutes"] is None  # one of unknown duration


def test_report_says_when_it_counts_several_stacks_together() -> None:
    import argparse

    from delivery.release.command import left_out

    records = [release(1, Outcome.PROMOTED, stack="staging"), release(2, Outcome.ROLLED_BACK)]
    every = argparse.Namespace(stack=None, records=Path("records"), bucket=None)
    (said,) = left_out(records, records, every, SINCE, UNTIL)
    assert said.startswith("counted the releases of 2 stacks together (prod, staging)")
    assert "--stack prod" in said
    one = argparse.Namespace(stack="prod", records=Path("records"), bucket=None)
    assert left_out(records, records[1:], one, SINCE, UNTIL) == [
        "left out 1 release(s) of other stacks (staging)"
    ]
