"""The cutover state machine on the in-memory world and a fake clock: no I/O, no real sleeps."""

from __future__ import annotations

import itertools

import pytest

from delivery.config.model import Colour, InsufficientData, TrafficPolicy
from delivery.cutover.engine import ROLLBACK_RETRY_SECONDS, Cutover
from delivery.cutover.errors import ListenerDrift, RollbackFailed, RolledBack, ShiftRefused
from delivery.cutover.events import CutoverReport, Event, EventKind, Outcome
from delivery.cutover.ports import AlarmValue
from delivery.plans.schedule import Weights, polls_per_bake
from tests.world import World, make_world

BLUE, GREEN = Colour.BLUE, Colour.GREEN


def policy(
    steps: tuple[int, ...] = (10, 50, 100),
    bake: int = 300,
    poll: int = 15,
    healthy: int = 2,
    no_data: InsufficientData = InsufficientData.IGNORE,
) -> TrafficPolicy:
    return TrafficPolicy(steps, bake, poll, healthy, no_data)


def engine(world: World, events: list[Event] | None = None) -> Cutover:
    world.start_run()
    return Cutover(
        listener=world,
        alarms=world,
        health=world,
        clock=world,
        policy=world.policy,
        gating_alarms=list(world.alarms),
        on_event=events.append if events is not None else None,
    )


def set_weight_calls(world: World) -> list[int]:
    return [w.of(world.target) for _, w in world.sets]


def test_healthy_shift_moves_one_call_per_step_and_bakes_each() -> None:
    world = make_world(policy())
    result = engine(world).shift(BLUE, GREEN)
    assert result.live is GREEN
    assert result.outcome is Outcome.PROMOTED
    assert world.weights == Weights(blue=0, green=100)
    assert set_weight_calls(world) == [10, 50, 100]
    assert world.op_calls["ModifyListener"] == 3
    assert world.t == pytest.approx(3 * 300)
    # one DescribeAlarms per poll: the gate's, then every bake's polls
    assert world.op_calls["DescribeAlarms"] == 1 + 3 * polls_per_bake(world.policy)
    kinds = [e.kind for e in result.events]
    assert kinds == [
        EventKind.GATES_PASSED,
        *[EventKind.STEP_SET, EventKind.BAKE_PASSED] * 3,
        EventKind.PROMOTED,
    ]


@pytest.mark.parametrize("step_index", [0, 1, 2])
def test_alarm_during_a_bake_rolls_back_at_once_and_names_everything(step_index: int) -> None:
    world = make_world(policy())
    fire_at = step_index * 300 + 100  # a third of the way into that step's bake
    world.set_alarm_at(fire_at, "green-5xx", AlarmValue.ALARM, "5xx rate 9% > 5%")
    with pytest.raises(RolledBack) as failure:
        engine(world).shift(BLUE, GREEN)
    step = (10, 50, 100)[step_index]
    message = str(failure.value)
    assert "green-5xx" in message
    assert "5xx rate 9% > 5%" in message
    assert f"step {step}%" in message
    assert "blue=100% green=0% now in force" in message
    assert world.weights == Weights(blue=100, green=0)
    assert set_weight_calls(world) == [*(10, 50, 100)[: step_index + 1], 0]
    assert world.sets[-1][0] - fire_at <= world.policy.poll_seconds


def test_alarm_firing_before_start_refuses_and_moves_nothing() -> None:
    world = make_world(policy())
    world.alarms["green-latency"] = world.alarms["green-latency"].__class__(
        "green-latency", AlarmValue.ALARM, "p99 1.9s > 2x baseline"
    )
    with pytest.raises(ShiftRefused, match=r"green-latency.*p99 1.9s") as failure:
        engine(world).shift(BLUE, GREEN)
    assert "No traffic was moved: blue=100% green=0%" in str(failure.value)
    assert world.sets == []


def test_too_few_healthy_targets_refuses_naming_the_counts() -> None:
    world = make_world(policy(healthy=2), healthy=1)
    with pytest.raises(ShiftRefused, match=r"green has 1 healthy target.*at least 2"):
        engine(world).shift(BLUE, GREEN)
    assert world.sets == []


def test_a_gating_alarm_that_does_not_exist_refuses() -> None:
    world = make_world(policy())
    cutover = Cutover(world, world, world, world, world.policy, ["green-5xx", "typo-alarm"])
    world.start_run()
    with pytest.raises(ShiftRefused, match=r"'typo-alarm' is missing"):
        cutover.shift(BLUE, GREEN)
    assert world.sets == []


@pytest.mark.parametrize(
    ("setting", "promoted"),
    [(InsufficientData.IGNORE, True), (InsufficientData.ROLLBACK, False)],
)
def test_insufficient_data_follows_the_policy(setting: InsufficientData, promoted: bool) -> None:
    world = make_world(policy(no_data=setting))
    world.set_alarm_at(400, "green-latency", AlarmValue.INSUFFICIENT_DATA, "no datapoints")
    if promoted:
        engine(world).shift(BLUE, GREEN)
        assert world.weights == Weights(blue=0, green=100)
    else:
        with pytest.raises(RolledBack, match=r"INSUFFICIENT_DATA"):
            engine(world).shift(BLUE, GREEN)
        assert world.weights == Weights(blue=100, green=0)


def test_failed_rollback_is_loud_and_states_the_weights_in_force() -> None:
    world = make_world(policy())
    world.set_alarm_at(350, "green-5xx", AlarmValue.ALARM, "5xx")
    world.fail("ModifyListener", *range(3, 1000))  # 10%, 50%, then every rollback call fails
    with pytest.raises(RollbackFailed) as failure:
        engine(world).shift(BLUE, GREEN)
    assert world.t >= 350 + ROLLBACK_RETRY_SECONDS  # retried for the whole rollback deadline
    message = str(failure.value)
    assert message.startswith("ROLLBACK FAILED at step 50%")
    assert "Weights in force now: blue=50% green=50%" in message
    assert "by hand" in message


def test_failed_rollback_with_an_unreadable_listener_says_the_weights_are_unknown() -> None:
    world = make_world(policy())
    world.set_alarm_at(350, "green-5xx", AlarmValue.ALARM, "5xx")
    world.fail("ModifyListener", *range(3, 1000))
    world.fail(
        "DescribeListeners", *range(4, 1000)
    )  # the start, two steps, then the read after the failure
    with pytest.raises(RollbackFailed, match=r"Weights in force now: unknown"):
        engine(world).shift(BLUE, GREEN)


def test_a_forward_step_that_fails_rolls_back() -> None:
    world = make_world(policy())
    world.fail("ModifyListener", 2)
    with pytest.raises(RolledBack, match=r"setting blue=50% green=50% failed.*step 50%"):
        engine(world).shift(BLUE, GREEN)
    assert world.weights == Weights(blue=100, green=0)


def test_unreadable_alarms_during_a_bake_roll_back() -> None:
    world = make_world(policy())
    world.fail("DescribeAlarms", 3)
    with pytest.raises(RolledBack, match=r"could not read the gating alarms"):
        engine(world).shift(BLUE, GREEN)
    assert world.weights == Weights(blue=100, green=0)


def test_weights_changed_by_someone_else_stop_the_shift_without_a_fight() -> None:
    world = make_world(policy())
    outsider = Weights(blue=70, green=30)
    world.at(200, lambda: setattr(world, "weights", outsider))
    with pytest.raises(
        ListenerDrift, match=r"expected blue=90% green=10%, found blue=70% green=30%"
    ):
        engine(world).shift(BLUE, GREEN)
    assert world.weights == outsider
    assert set_weight_calls(world) == [10]


def test_a_change_during_the_last_bake_is_reported_not_promoted() -> None:
    world = make_world(policy())
    world.at(700, lambda: setattr(world, "weights", Weights(blue=20, green=80)))
    with pytest.raises(ListenerDrift, match=r"expected blue=0% green=100%, found blue=20%"):
        engine(world).shift(BLUE, GREEN)
    assert world.weights == Weights(blue=20, green=80)


def test_resume_from_a_middle_step_rebakes_it_before_moving_on() -> None:
    world = make_world(policy(), start_weight=50)
    events: list[Event] = []
    engine(world, events).shift(BLUE, GREEN)
    assert set_weight_calls(world) == [100]
    baked = [e.step for e in events if e.kind is EventKind.BAKE_PASSED]
    assert baked == [50, 100]


def test_resume_at_full_weight_rebakes_and_promotes_without_a_call() -> None:
    world = make_world(policy(), start_weight=100)
    result = engine(world).shift(BLUE, GREEN)
    assert result.weights == Weights(blue=0, green=100)
    assert "ModifyListener" not in world.op_calls


def test_resume_into_a_firing_alarm_rolls_back_instead_of_refusing() -> None:
    world = make_world(policy(), start_weight=50)
    world.set_alarm_at(0, "green-5xx", AlarmValue.ALARM, "5xx")
    world.advance(0)
    with pytest.raises(RolledBack, match=r"before the shift resumed at step 50%"):
        engine(world).shift(BLUE, GREEN)
    assert world.weights == Weights(blue=100, green=0)


@pytest.mark.parametrize(
    ("found", "calls", "expected"),
    [
        (Weights(blue=100, green=0), 0, Weights(blue=100, green=0)),
        (Weights(blue=99, green=1), 1, Weights(blue=100, green=0)),
    ],
)
def test_establish_corrects_only_the_99_1_artefact(
    found: Weights, calls: int, expected: Weights
) -> None:
    world = make_world(policy())
    world.weights = found
    result = engine(world).establish(BLUE)
    assert world.weights == expected == result.weights
    assert world.op_calls.get("ModifyListener", 0) == calls


def test_establish_refuses_to_move_a_real_split() -> None:
    world = make_world(policy())
    world.weights = Weights(blue=50, green=50)
    with pytest.raises(ListenerDrift, match=r"stack says blue is live"):
        engine(world).establish(BLUE)
    assert world.weights == Weights(blue=50, green=50)


def test_the_shift_works_in_both_directions() -> None:
    world = make_world(policy(), source=GREEN)
    world.alarms = {n.replace("green", "blue"): s for n, s in world.alarms.items()}
    engine(world).shift(GREEN, BLUE)
    assert world.weights == Weights(blue=100, green=0)


def test_shifting_to_the_same_colour_is_a_programming_error() -> None:
    world = make_world(policy())
    with pytest.raises(ValueError, match=r"both"):
        engine(world).shift(BLUE, BLUE)
    assert world.op_calls == {}


def test_an_ok_alarm_state_is_never_treated_as_a_problem() -> None:
    world = make_world(policy(steps=(100,), bake=30, poll=10))
    world.set_alarm_at(5, "green-5xx", AlarmValue.OK, "recovered")
    engine(world).shift(BLUE, GREEN)
    assert world.weights == Weights(blue=0, green=100)


# -- hold: an update that keeps the live colour ------------------------------------------------


def test_hold_with_the_live_colour_in_place_changes_nothing() -> None:
    world = make_world(policy())
    report = engine(world).hold(BLUE)
    assert report.outcome is Outcome.UNCHANGED
    assert report.events == ()
    assert world.op_calls == {"DescribeListeners": 1}


def test_hold_puts_an_unfinished_shift_back_at_once_as_a_rollback() -> None:
    world = make_world(policy(), start_weight=50)
    cutover = engine(world)
    with pytest.raises(RolledBack, match=r"a shift to green did not finish.*not a release"):
        cutover.hold(BLUE)
    assert world.weights == Weights(blue=100, green=0)
    assert world.op_calls["ModifyListener"] == 1
    assert cutover.report is not None
    assert cutover.report.outcome is Outcome.ROLLED_BACK
    assert [e.kind for e in cutover.report.events] == [
        EventKind.ROLLBACK_SET,
        EventKind.ROLLED_BACK,
    ]


def test_hold_refuses_to_fight_a_change_finished_by_hand() -> None:
    world = make_world(policy(), start_weight=100)
    with pytest.raises(ListenerDrift, match=r"set liveColour to green.*restore blue=100%") as drift:
        engine(world).hold(BLUE)
    assert world.weights == Weights(blue=0, green=100)
    assert "ModifyListener" not in world.op_calls
    assert drift.value.report is not None
    assert drift.value.report.outcome is Outcome.DRIFT


# -- Ctrl-C is an abort ------------------------------------------------------------------------


def test_ctrl_c_during_a_bake_puts_the_old_colour_back_and_says_so() -> None:
    world = make_world(policy())

    def interrupt(event: Event) -> None:
        if event.kind is EventKind.POLL and event.step == 50:
            raise KeyboardInterrupt

    cutover = Cutover(world, world, world, world, world.policy, list(world.alarms), interrupt)
    world.start_run()
    with pytest.raises(KeyboardInterrupt) as interrupted:
        cutover.shift(BLUE, GREEN)
    assert world.weights == Weights(blue=100, green=0)
    assert interrupted.value.__notes__ == [
        "interrupted (Ctrl-C); aborted at step 50%; rolled back, blue=100% green=0% now in force."
    ]
    assert cutover.report is not None
    assert cutover.report.outcome is Outcome.ROLLED_BACK


def test_ctrl_c_before_anything_moved_moves_nothing() -> None:
    world = make_world(policy())

    def interrupt(event: Event) -> None:
        if event.kind is EventKind.GATES_PASSED:
            raise KeyboardInterrupt

    cutover = Cutover(world, world, world, world, world.policy, list(world.alarms), interrupt)
    with pytest.raises(KeyboardInterrupt) as interrupted:
        cutover.shift(BLUE, GREEN)
    assert "ModifyListener" not in world.op_calls
    assert interrupted.value.__notes__ == [
        "interrupted before any traffic moved: blue=100% green=0% still in force"
    ]


# -- the report --------------------------------------------------------------------------------


def test_the_report_of_a_rollback_names_the_alarm_step_and_reaction() -> None:
    world = make_world(policy())
    world.set_alarm_at(350, "green-5xx", AlarmValue.ALARM, "5xx rate 9% > 5%")
    with pytest.raises(RolledBack) as failure:
        engine(world).shift(BLUE, GREEN)
    report = failure.value.report
    assert report is not None
    assert (report.outcome, report.step, report.weights) == (
        Outcome.ROLLED_BACK,
        50,
        Weights(blue=100, green=0),
    )
    assert report.alarm is not None
    assert (report.alarm.alarm, report.alarm.reason) == ("green-5xx", "5xx rate 9% > 5%")
    assert report.steps == (10, 50)
    assert report.reaction_seconds == pytest.approx(0.0)  # the fake world answers instantly
    # all of step 10's bake, then step 50's polls at 300, 315, 330, 345 and 360 (sees 350)
    assert report.polls == polls_per_bake(world.policy) + 5
    assert CutoverReport.from_dict(report.as_dict()) == report


def test_the_report_of_a_refusal_round_trips() -> None:
    world = make_world(policy(healthy=2), healthy=1)
    with pytest.raises(ShiftRefused) as failure:
        engine(world).shift(BLUE, GREEN)
    report = failure.value.report
    assert report is not None and report.outcome is Outcome.REFUSED
    assert "green has 1 healthy target" in report.cause
    assert CutoverReport.from_dict(report.as_dict()) == report


def test_a_rollback_call_that_fails_once_is_retried_until_restored() -> None:
    world = make_world(policy())
    world.set_alarm_at(350, "green-5xx", AlarmValue.ALARM, "5xx")
    world.fail("ModifyListener", 3, 4)  # the rollback's first two calls fail
    events: list[Event] = []
    with pytest.raises(RolledBack, match=r"blue=100% green=0% now in force"):
        engine(world, events).shift(BLUE, GREEN)
    assert world.weights == Weights(blue=100, green=0)
    assert [e.kind for e in events].count(EventKind.ROLLBACK_RETRYING) == 1


def test_polls_keep_their_cadence_however_long_a_read_takes() -> None:
    world = make_world(policy(steps=(100,), bake=60, poll=1))
    world.latency = 0.4  # a DescribeAlarms of 100 alarms on a busy AWS
    report = engine(world).shift(BLUE, GREEN)
    bake_polls = [p.at for p in world.polls][1:]  # after the gate's
    assert report.polls == len(bake_polls) >= 59
    gaps = [later - earlier for earlier, later in itertools.pairwise(bake_polls)]
    assert max(gaps) == pytest.approx(1.0)


def test_a_restore_made_by_hand_while_the_rollback_calls_fail_ends_the_rollback() -> None:
    world = make_world(policy())
    world.set_alarm_at(100, "green-5xx", AlarmValue.ALARM, "5xx")
    world.fail("ModifyListener", *range(2, 1000))  # the step landed; every restore fails
    world.at(130, lambda: setattr(world, "weights", Weights(blue=100, green=0)))  # on-call
    events: list[Event] = []
    with pytest.raises(RolledBack) as rolled_back:
        engine(world, events).shift(BLUE, GREEN)
    assert "a call that failed landed after all, or someone restored it by hand" in str(
        rolled_back.value
    )
    assert rolled_back.value.report is not None
    assert rolled_back.value.report.outcome is Outcome.ROLLED_BACK
    assert world.t < 140  # it stopped retrying once it saw the restore, not after 180 s
    assert [e.kind for e in events].count(EventKind.ROLLBACK_RETRYING) == 1


def test_a_first_step_aws_refused_to_make_is_a_refusal_not_a_rollback() -> None:
    world = make_world(policy())
    world.reject("ModifyListener", 1)
    with pytest.raises(ShiftRefused) as refused:
        engine(world).shift(BLUE, GREEN)
    assert "No traffic was moved: blue=100% green=0% still in force" in str(refused.value)
    assert refused.value.report is not None
    assert refused.value.report.outcome is Outcome.REFUSED
    assert world.op_calls["ModifyListener"] == 1  # no rollback write


def test_a_first_step_that_may_have_landed_is_rolled_back() -> None:
    world = make_world(policy())
    world.fail("ModifyListener", 1)  # timed out: it may have landed
    with pytest.raises(RolledBack):
        engine(world).shift(BLUE, GREEN)
    assert world.weights == Weights(blue=100, green=0)


def test_a_later_step_aws_refused_still_rolls_back() -> None:
    world = make_world(policy())
    world.reject("ModifyListener", 2)  # 10% is in force
    with pytest.raises(RolledBack):
        engine(world).shift(BLUE, GREEN)
    assert world.weights == Weights(blue=100, green=0)


def test_a_listener_unreadable_before_the_first_step_refuses() -> None:
    world = make_world(policy())
    world.fail("DescribeListeners", 2)  # the start's read answers; the one before 10% fails
    with pytest.raises(ShiftRefused, match="No traffic was moved: blue=100% green=0%"):
        engine(world).shift(BLUE, GREEN)
    assert world.op_calls.get("ModifyListener", 0) == 0


def test_a_change_by_hand_during_a_bake_names_the_step_and_both_ways_on() -> None:
    world = make_world(policy())
    world.at(400, lambda: setattr(world, "weights", Weights(blue=100, green=0)))  # in 50%'s bake
    with pytest.raises(ListenerDrift) as drift:
        engine(world).shift(BLUE, GREEN)
    message = str(drift.value)
    assert "Stopped after the 50% step without touching them" in message
    assert "To keep blue live, set liveColour back to blue" in message
    assert "to go on to green, run again" in message


def test_sigterm_is_named_as_such_in_the_abort() -> None:
    world = make_world(policy())

    def terminate() -> None:
        raise KeyboardInterrupt("SIGTERM")

    world.at(100, terminate)
    with pytest.raises(KeyboardInterrupt) as interrupted:
        engine(world).shift(BLUE, GREEN)
    assert "terminated (SIGTERM: a cancelled job); aborted" in interrupted.value.__notes__[0]
    assert world.weights == Weights(blue=100, green=0)


def test_a_first_step_that_landed_before_its_call_was_refused_is_rolled_back() -> None:
    world = make_world(policy())
    world.landed_then_rejected.append(1)
    with pytest.raises(RolledBack):
        engine(world).shift(BLUE, GREEN)
    assert world.weights == Weights(blue=100, green=0)


def test_ctrl_c_before_the_first_read_of_a_resumed_shift_restores_the_old_colour() -> None:
    world = make_world(policy(), start_weight=50)
    world.latency = 1.0

    def ctrl_c() -> None:
        raise KeyboardInterrupt

    world.at(0.5, ctrl_c)  # during the first DescribeListeners
    with pytest.raises(KeyboardInterrupt) as interrupted:
        engine(world).shift(BLUE, GREEN)
    assert world.weights == Weights(blue=100, green=0)
    assert "rolled back, blue=100% green=0% now in force" in interrupted.value.__notes__[0]


def test_a_rollback_does_not_overwrite_weights_someone_set_while_its_calls_failed() -> None:
    world = make_world(policy())
    world.set_alarm_at(100, "green-5xx", AlarmValue.ALARM, "5xx")
    world.fail("ModifyListener", *range(2, 1000))
    world.at(130, lambda: setattr(world, "weights", Weights(blue=0, green=100)))  # on-call
    with pytest.raises(RollbackFailed) as failed:
        engine(world).shift(BLUE, GREEN)
    assert "found the listener changed by someone else (blue=0% green=100%)" in str(failed.value)
    assert world.weights == Weights(blue=0, green=100)
    assert world.t < 140


def test_a_failed_99_1_correction_at_create_is_a_refusal_with_the_weights() -> None:
    world = make_world(policy(), start_weight=1)
    world.reject("ModifyListener", 1)
    with pytest.raises(ShiftRefused, match=r"Weights in force: blue=99% green=1%"):
        engine(world).establish(BLUE)


def test_ctrl_c_during_a_failing_rollback_finishes_that_rollback_keeping_its_alarm() -> None:
    world = make_world(policy())
    world.set_alarm_at(100, "green-5xx", AlarmValue.ALARM, "5xx rate 9% > 5%")
    world.fail("ModifyListener", *range(2, 12))  # the step landed; ten restores fail

    def ctrl_c() -> None:
        raise KeyboardInterrupt

    world.at(108, ctrl_c)  # while the rollback retries (the alarm is seen at the 105 s poll)
    cutover = engine(world)
    with pytest.raises(KeyboardInterrupt) as interrupted:
        cutover.shift(BLUE, GREEN)
    note = interrupted.value.__notes__[0]
    assert "alarm 'green-5xx' is ALARM" in note
    assert "interrupted (Ctrl-C); aborted during the rollback" in note
    assert world.weights == Weights(blue=100, green=0)
    assert cutover.report is not None and cutover.report.alarm is not None
    assert cutover.report.outcome is Outcome.ROLLED_BACK


def test_ctrl_c_as_a_step_lands_then_a_failing_restore_still_restores() -> None:
    world = make_world(policy())
    world.ctrl_c_after_landing.append(1)  # 10% landed; its answer never arrived
    world.fail("ModifyListener", 2, 3)  # the restore's first two calls
    with pytest.raises(KeyboardInterrupt) as interrupted:
        engine(world).shift(BLUE, GREEN)
    assert world.weights == Weights(blue=100, green=0)
    assert "rolled back, blue=100% green=0% now in force" in interrupted.value.__notes__[0]


def test_ctrl_c_during_the_first_read_of_an_unreadable_listener_writes_nothing() -> None:
    world = make_world(policy())
    world.latency = 1.0
    world.fail("DescribeListeners", 2)  # the abort's read fails too

    def ctrl_c() -> None:
        raise KeyboardInterrupt

    world.at(0.5, ctrl_c)
    with pytest.raises(KeyboardInterrupt) as interrupted:
        engine(world).shift(BLUE, GREEN)
    assert "the listener could not be read" in interrupted.value.__notes__[0]
    assert world.op_calls.get("ModifyListener", 0) == 0


def test_a_99_1_correction_that_landed_though_its_call_failed_establishes() -> None:
    world = make_world(policy(), start_weight=1)
    world.landed_then_rejected.append(1)
    report = engine(world).establish(BLUE)
    assert report.outcome is Outcome.ESTABLISHED
    assert world.weights == Weights(blue=100, green=0)


def test_a_rollback_write_that_lands_at_the_deadline_is_a_rollback_not_a_failure() -> None:
    outcomes = set()
    for landing in range(2, 400):  # each try in turn lands (its answer lost), up to past the end
        world = make_world(policy())
        world.set_alarm_at(100, "green-5xx", AlarmValue.ALARM)
        world.fail("ModifyListener", *[k for k in range(2, 1000) if k != landing])
        world.landed_then_rejected.append(landing)
        try:
            engine(world).shift(BLUE, GREEN)
        except RolledBack:
            outcomes.add(("rolled back", world.weights))
        except RollbackFailed:  # only when no try landed before the deadline
            outcomes.add(("failed", world.weights))
    assert outcomes == {
        ("rolled back", Weights(blue=100, green=0)),
        ("failed", Weights(blue=90, green=10)),
    }


def test_a_99_1_correction_that_landed_is_an_event_of_the_report() -> None:
    world = make_world(policy(), start_weight=1)
    world.landed_then_rejected.append(1)
    report = engine(world).establish(BLUE)
    assert [e.kind for e in report.events] == [EventKind.CORRECTED]


def test_a_listener_rebuilt_between_steps_ends_with_a_drift_report() -> None:
    world = make_world(policy())
    cutover = engine(world)

    def rebuilt() -> Weights:
        raise ListenerDrift("listener has default actions [fixed-response]")

    world.at(350, lambda: setattr(world, "read_weights", rebuilt))
    with pytest.raises(ListenerDrift):
        cutover.shift(BLUE, GREEN)
    assert cutover.report is not None and cutover.report.outcome is Outcome.DRIFT
