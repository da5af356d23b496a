"""The fault matrix: the real engine and boto3 adapters against moto's server over HTTP.

moto differs from AWS in ways these tests rely on, deliberately:
- new alarms start in OK (AWS: INSUFFICIENT_DATA) and never evaluate metrics, so tests set
  alarm states with SetAlarmState;
- registered targets always report healthy, so "too few healthy targets" is an empty group;
- it never throttles, so throttling is injected at the HTTP layer (delivery.rehearsal.faults) and
  botocore's real retry mode handles it.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pytest

from delivery.config.model import Colour, InsufficientData, TrafficPolicy
from delivery.cutover.aws import (
    DEFAULT_MAX_ATTEMPTS,
    MIN_READ_SECONDS,
    AwsClients,
    CallBudget,
    CloudWatchAlarms,
    ElbListener,
    aws_cutover,
)
from delivery.cutover.engine import ROLLBACK_RETRY_SECONDS, Cutover
from delivery.cutover.errors import ListenerDrift, RollbackFailed, RolledBack, ShiftRefused
from delivery.cutover.events import Event, EventKind, Observer, Outcome
from delivery.cutover.ports import AlarmValue
from delivery.plans.schedule import Weights, polls_per_bake
from delivery.rehearsal.emulator import (
    Emulator,
    TrafficPlane,
    build_traffic_plane,
    force_weights,
    set_alarm,
)
from delivery.rehearsal.faults import Fault, FaultInjector
from tests.integration.conftest import Rig, put_up_maintenance_page

pytestmark = pytest.mark.integration
BLUE, GREEN = Colour.BLUE, Colour.GREEN
POLICY = TrafficPolicy((10, 50, 100), 60, 10, 2, InsufficientData.IGNORE)


class Crash(BaseException):
    pass


def make_engine(
    rig: Rig,
    policy: TrafficPolicy = POLICY,
    on_event: Observer | None = None,
    clients: AwsClients | None = None,
    plane: TrafficPlane | None = None,
) -> Cutover:
    plane = plane or rig.plane
    return aws_cutover(
        clients or rig.clients,
        plane.listener_arn,
        plane.target_groups,
        plane.gating_alarms(GREEN),
        policy,
        rig.clock,
        on_event,
    )


def test_healthy_promotion(rig: Rig) -> None:
    result = make_engine(rig).shift(BLUE, GREEN)
    assert result.live is GREEN
    assert rig.weights() == Weights(blue=0, green=100)
    assert rig.counter.calls["ModifyListener"] == 3
    # one DescribeAlarms per poll for all five gating alarms: the gate's, then each bake's
    assert rig.counter.calls["DescribeAlarms"] == 1 + 3 * polls_per_bake(POLICY)
    assert rig.clock.t == pytest.approx(180)


@pytest.mark.parametrize("step_index", [0, 1, 2])
def test_alarm_during_each_steps_bake_rolls_back(rig: Rig, step_index: int) -> None:
    alarm = rig.plane.gating_alarms(GREEN)[0]
    fire_at = step_index * 60 + 25
    rig.clock.at(
        fire_at, lambda: set_alarm(rig.operator, alarm, AlarmValue.ALARM, "5xx rate 12% > 5%")
    )
    with pytest.raises(RolledBack) as failure:
        make_engine(rig).shift(BLUE, GREEN)
    step = POLICY.steps[step_index]
    assert f"alarm '{alarm}' is ALARM (5xx rate 12% > 5%) at step {step}%" in str(failure.value)
    assert rig.weights() == Weights(blue=100, green=0)
    assert rig.counter.calls["ModifyListener"] == step_index + 2  # steps reached + the rollback
    assert rig.clock.t - fire_at <= POLICY.poll_seconds


def test_alarm_already_firing_refuses(rig: Rig) -> None:
    set_alarm(
        rig.operator, rig.plane.gating_alarms(GREEN)[3], AlarmValue.ALARM, "CPU 95% for 10 minutes"
    )
    with pytest.raises(ShiftRefused, match=r"green-cpu' is ALARM .CPU 95% for 10 minutes."):
        make_engine(rig).shift(BLUE, GREEN)
    assert "ModifyListener" not in rig.counter.calls
    assert rig.weights() == Weights(blue=100, green=0)


def test_green_with_too_few_healthy_targets_refuses(rig: Rig) -> None:
    sparse = build_traffic_plane(rig.operator, "sparse", targets={BLUE: 2, GREEN: 1})
    with pytest.raises(ShiftRefused, match=r"green has 1 healthy target.s.; it needs at least 2"):
        make_engine(rig, plane=sparse).shift(BLUE, GREEN)
    assert "ModifyListener" not in rig.counter.calls


def test_modify_listener_throttled_several_times_still_promotes(rig: Rig) -> None:
    injector = FaultInjector(Fault("ModifyListener", 3))
    injector.attach(rig.clients.elbv2)
    make_engine(rig).shift(BLUE, GREEN)
    assert injector.injected == 3
    assert rig.counter.calls["ModifyListener"] == 3
    assert rig.counter.attempts["ModifyListener"] == 6  # botocore retried each throttled attempt
    assert rig.weights() == Weights(blue=0, green=100)


@pytest.mark.parametrize("crash_after_step", [10, 50])
def test_crash_after_a_step_then_resume_rebakes_that_step(rig: Rig, crash_after_step: int) -> None:
    def crash(event: Event) -> None:
        if event.kind is EventKind.STEP_SET and event.step == crash_after_step:
            raise Crash

    with pytest.raises(Crash):
        make_engine(rig, on_event=crash).shift(BLUE, GREEN)
    assert rig.weights() == Weights.split(GREEN, crash_after_step)

    events: list[Event] = []
    make_engine(rig, on_event=events.append).shift(BLUE, GREEN)
    first_bake = next(e for e in events if e.kind is EventKind.BAKE_PASSED)
    assert first_bake.step == crash_after_step
    moved = [e.step for e in events if e.kind is EventKind.STEP_SET]
    assert moved == [s for s in POLICY.steps if s > crash_after_step]
    assert rig.weights() == Weights(blue=0, green=100)


def test_weights_changed_by_someone_else_mid_shift_stop_without_a_fight(rig: Rig) -> None:
    rig.clock.at(30, lambda: force_weights(rig.operator, rig.plane, Weights(blue=70, green=30)))
    with pytest.raises(
        ListenerDrift, match=r"expected blue=90% green=10%, found blue=70% green=30%"
    ):
        make_engine(rig).shift(BLUE, GREEN)
    assert rig.weights() == Weights(blue=70, green=30)
    assert rig.counter.calls["ModifyListener"] == 1


@pytest.mark.parametrize(
    ("setting", "rolls_back"), [(InsufficientData.IGNORE, False), (InsufficientData.ROLLBACK, True)]
)
def test_insufficient_data_under_both_settings(
    rig: Rig, setting: InsufficientData, rolls_back: bool
) -> None:
    policy = TrafficPolicy(POLICY.steps, 60, 10, 2, setting)
    alarm = rig.plane.gating_alarms(GREEN)[1]
    rig.clock.at(
        70, lambda: set_alarm(rig.operator, alarm, AlarmValue.INSUFFICIENT_DATA, "no datapoints")
    )
    engine = make_engine(rig, policy)
    if rolls_back:
        with pytest.raises(RolledBack, match=r"INSUFFICIENT_DATA .no datapoints. at step 50%"):
            engine.shift(BLUE, GREEN)
        assert rig.weights() == Weights(blue=100, green=0)
    else:
        engine.shift(BLUE, GREEN)
        assert rig.weights() == Weights(blue=0, green=100)


def test_the_rollback_call_failing_is_loud_and_states_the_weights(
    emulator: Emulator, rig: Rig
) -> None:
    clients = emulator.clients(max_attempts=2, clock=rig.clock)
    failing = Fault("ModifyListener", 100_000, code="InternalFailure", status=500, first=2)
    FaultInjector(failing).attach(clients.elbv2)
    alarm = rig.plane.gating_alarms(GREEN)[0]
    rig.clock.at(20, lambda: set_alarm(rig.operator, alarm, AlarmValue.ALARM, "5xx"))
    with pytest.raises(RollbackFailed) as failure:
        make_engine(rig, clients=clients).shift(BLUE, GREEN)
    assert rig.clock.t >= 20 + ROLLBACK_RETRY_SECONDS  # it kept retrying before giving up
    message = str(failure.value)
    assert message.startswith("ROLLBACK FAILED at step 10%")
    assert "ModifyListener failed: InternalFailure" in message
    assert "Weights in force now: blue=90% green=10%" in message
    assert rig.weights() == Weights(blue=90, green=10)


def test_create_corrects_a_listener_found_at_99_1(rig: Rig) -> None:
    force_weights(rig.operator, rig.plane, Weights(blue=99, green=1))
    make_engine(rig).establish(BLUE)
    assert rig.weights() == Weights(blue=100, green=0)


def test_one_describe_alarms_call_per_poll_for_100_alarms(rig: Rig) -> None:
    wide = build_traffic_plane(rig.operator, "wide", alarms_per_colour=100)
    states = CloudWatchAlarms(rig.clients.cloudwatch).states(wide.gating_alarms(GREEN))
    assert len(states) == 100
    assert rig.counter.calls["DescribeAlarms"] == 1


def plain_forward(blue: str, _green: str) -> dict[str, Any]:
    return {"TargetGroupArn": blue}  # how the console restores one colour by hand


def one_group_weighted(blue: str, _green: str) -> dict[str, Any]:
    return {"ForwardConfig": {"TargetGroups": [{"TargetGroupArn": blue, "Weight": 1}]}}


def relative_weights(blue: str, green: str) -> dict[str, Any]:
    groups = [{"TargetGroupArn": blue, "Weight": 7}, {"TargetGroupArn": green, "Weight": 0}]
    return {"ForwardConfig": {"TargetGroups": groups}}  # ELB weights are relative


@pytest.mark.parametrize("forward", [plain_forward, one_group_weighted, relative_weights])
def test_a_forward_sending_everything_to_one_colour_reads_as_100_0_and_is_rewritten(
    rig: Rig, forward: Callable[[str, str], dict[str, Any]]
) -> None:
    action = forward(rig.plane.target_groups[BLUE], rig.plane.target_groups[GREEN])
    rig.operator.elbv2.modify_listener(
        ListenerArn=rig.plane.listener_arn, DefaultActions=[{"Type": "forward", **action}]
    )
    listener = ElbListener(rig.clients.elbv2, rig.plane.listener_arn, rig.plane.target_groups)
    assert listener.read_weights() == Weights(blue=100, green=0)
    listener.set_weights(Weights(blue=90, green=10))
    assert rig.weights() == Weights(blue=90, green=10)


def test_a_listener_forwarding_to_another_group_is_reported(rig: Rig) -> None:
    elbv2 = rig.operator.elbv2
    blue = elbv2.describe_target_groups(TargetGroupArns=[rig.plane.target_groups[BLUE]])
    other = elbv2.create_target_group(
        Name="itest-other",
        Protocol="HTTP",
        Port=80,
        VpcId=blue["TargetGroups"][0]["VpcId"],
        TargetType="ip",
    )["TargetGroups"][0]["TargetGroupArn"]
    rig.operator.elbv2.modify_listener(
        ListenerArn=rig.plane.listener_arn,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": other}],
    )
    listener = ElbListener(rig.clients.elbv2, rig.plane.listener_arn, rig.plane.target_groups)
    with pytest.raises(ListenerDrift, match="not to exactly the blue and green target groups"):
        listener.read_weights()


# -- the listener's other actions (authentication, order, stickiness) -------------------------

OIDC = {
    "Type": "authenticate-oidc",
    "Order": 1,
    "AuthenticateOidcConfig": {
        "Issuer": "https://idp.example.com",
        "AuthorizationEndpoint": "https://idp.example.com/authorize",
        "TokenEndpoint": "https://idp.example.com/token",
        "UserInfoEndpoint": "https://idp.example.com/userinfo",
        "ClientId": "switchyard",
        "ClientSecret": "not-for-logs",
    },
}


def authenticated_listener(rig: Rig) -> None:
    groups = rig.plane.target_groups
    rig.operator.elbv2.modify_listener(
        ListenerArn=rig.plane.listener_arn,
        DefaultActions=[
            OIDC,
            {
                "Type": "forward",
                "Order": 2,
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": groups[BLUE], "Weight": 100},
                        {"TargetGroupArn": groups[GREEN], "Weight": 0},
                    ],
                    "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300},
                },
            },
        ],
    )


def default_actions(rig: Rig) -> list[dict[str, Any]]:
    found = rig.operator.elbv2.describe_listeners(ListenerArns=[rig.plane.listener_arn])
    actions: list[dict[str, Any]] = found["Listeners"][0]["DefaultActions"]
    return actions


def test_a_shift_keeps_authentication_order_and_stickiness(rig: Rig) -> None:
    authenticated_listener(rig)
    make_engine(rig).shift(BLUE, GREEN)
    oidc, forward = sorted(default_actions(rig), key=lambda a: a["Order"])
    assert (oidc["Type"], oidc["Order"]) == ("authenticate-oidc", 1)
    config = oidc["AuthenticateOidcConfig"]
    assert config["ClientId"] == "switchyard"
    # AWS never returns the secret; ModifyListener keeps the stored one only when told to.
    assert "ClientSecret" not in config
    assert config["UseExistingClientSecret"] is True
    assert (forward["Type"], forward["Order"]) == ("forward", 2)
    stickiness = forward["ForwardConfig"]["TargetGroupStickinessConfig"]
    assert stickiness == {"Enabled": True, "DurationSeconds": 300}
    assert rig.weights() == Weights(blue=0, green=100)


def test_a_rollback_keeps_authentication_too(rig: Rig) -> None:
    authenticated_listener(rig)
    alarm = rig.plane.gating_alarms(GREEN)[0]
    rig.clock.at(20, lambda: set_alarm(rig.operator, alarm, AlarmValue.ALARM, "5xx"))
    with pytest.raises(RolledBack):
        make_engine(rig).shift(BLUE, GREEN)
    assert [a["Type"] for a in sorted(default_actions(rig), key=lambda a: a["Order"])] == [
        "authenticate-oidc",
        "forward",
    ]
    assert rig.weights() == Weights(blue=100, green=0)


def test_a_listener_without_a_forward_to_both_groups_is_refused_by_name(rig: Rig) -> None:
    put_up_maintenance_page(rig.operator, rig.plane)
    with pytest.raises(ListenerDrift, match=r"default actions \[fixed-response\] and no single"):
        make_engine(rig).shift(BLUE, GREEN)
    assert rig.counter.calls["ModifyListener"] == 0


# -- blind time: failing alarm reads and throttled rollbacks, on the injected clock -----------

POLL = 1.0
FAST = TrafficPolicy((10, 50, 100), 4, 1, 2, InsufficientData.IGNORE)


@pytest.mark.parametrize("timeout", [True, False], ids=["hung-reads", "throttled-reads"])
def test_unreadable_alarms_roll_back_within_two_polls_and_a_second(
    emulator: Emulator, rig: Rig, timeout: bool
) -> None:
    """Every DescribeAlarms attempt from the 4th call on fails (a hung read lasts the whole
    read timeout on the injected clock), with retries allowed up to 20 attempts."""
    budget = CallBudget(POLL)
    clients = emulator.clients(counter=rig.counter, max_attempts=20, budget=budget, clock=rig.clock)
    hang = budget.attempt_seconds if timeout else 0.0
    failing = Fault(
        "DescribeAlarms", 10_000, first=4, timeout=timeout, stall=lambda: rig.clock.sleep(hang)
    )
    FaultInjector(failing).attach(clients.cloudwatch)
    with pytest.raises(RolledBack, match="could not read the gating alarms") as failure:
        make_engine(rig, FAST, clients=clients).shift(BLUE, GREEN)
    report = failure.value.report
    assert report is not None
    assert report.outcome is Outcome.ROLLED_BACK
    assert report.reaction_seconds is not None
    assert 0 < report.reaction_seconds <= 2 * POLL + 1
    assert failing.injected < 20  # the budget, not max_attempts, ended the retries
    assert rig.weights() == Weights(blue=100, green=0)


def test_a_rollback_throttled_twice_still_restores_within_two_and_a_half_seconds(
    emulator: Emulator, rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The back-offs pass on the budget's clock: botocore's own back-off would sleep in real
    time (its endpoint's time.sleep), which the virtual clock cannot see; it must not."""
    real_backoffs: list[float] = []
    monkeypatch.setattr("botocore.endpoint.time", types.SimpleNamespace(sleep=real_backoffs.append))
    clients = emulator.clients(counter=rig.counter, budget=CallBudget(POLL), clock=rig.clock)
    throttled = Fault("ModifyListener", 2, first=2)  # the step to 10%, then the rollback
    FaultInjector(throttled).attach(clients.elbv2)
    alarm = rig.plane.gating_alarms(GREEN)[0]
    rig.clock.at(2, lambda: set_alarm(rig.operator, alarm, AlarmValue.ALARM, "5xx"))
    with pytest.raises(RolledBack) as failure:
        make_engine(rig, FAST, clients=clients).shift(BLUE, GREEN)
    report = failure.value.report
    assert report is not None and report.reaction_seconds is not None
    assert report.reaction_seconds <= 2.5
    assert throttled.injected == 2
    assert rig.counter.attempts["ModifyListener"] == 1 + 3  # the step; the rollback's three
    assert not any(real_backoffs)  # RetryWithinBudget answered every retry (0 s: slept already)
    assert rig.weights() == Weights(blue=100, green=0)


@pytest.mark.parametrize("throttles", [DEFAULT_MAX_ATTEMPTS, 40])
def test_a_rollback_throttled_beyond_one_call_budget_keeps_retrying_until_restored(
    emulator: Emulator, rig: Rig, throttles: int
) -> None:
    """Each rollback call gives up within one poll's budget (here: every attempt of the first
    call is throttled); the rollback does not: it alerts
    (a ROLLBACK_RETRYING event) and calls again until the listener carries 100/0."""
    clients = emulator.clients(counter=rig.counter, budget=CallBudget(POLL), clock=rig.clock)
    throttled = Fault("ModifyListener", throttles, first=2)  # the step to 10%, then the rollback
    FaultInjector(throttled).attach(clients.elbv2)
    alarm = rig.plane.gating_alarms(GREEN)[0]
    rig.clock.at(2, lambda: set_alarm(rig.operator, alarm, AlarmValue.ALARM, "5xx"))
    events: list[Event] = []
    with pytest.raises(RolledBack, match=r"rolled back, blue=100% green=0% now in force"):
        make_engine(rig, FAST, on_event=events.append, clients=clients).shift(BLUE, GREEN)
    assert throttled.injected == throttles
    assert rig.counter.calls["ModifyListener"] > 2  # the step, then more than one rollback call
    retrying = [e for e in events if e.kind is EventKind.ROLLBACK_RETRYING]
    assert len(retrying) == 1
    unknown = "unknown (last seen blue=90% green=10%, or a failed write's blue=100% green=0%)"
    assert f"Weights in force: {unknown}" in retrying[0].detail
    assert rig.weights() == Weights(blue=100, green=0)


def test_a_slow_but_healthy_alarm_read_is_waited_for_at_a_one_second_poll(
    emulator: Emulator,
) -> None:
    """Under load moto answers 100 alarms in ~400 ms: a poll/4 read timeout (250 ms) would call
    that blind and roll back a healthy release."""
    budget = CallBudget(POLL)
    clients = emulator.clients(budget=budget)
    assert budget.read_timeout >= MIN_READ_SECONDS
    assert clients.cloudwatch.meta.config.read_timeout >= MIN_READ_SECONDS
    # a call may outlast a short budget by the floor, no more: the blind-time bound
    assert budget.attempt_seconds <= budget.ceiling <= budget.seconds + MIN_READ_SECONDS
