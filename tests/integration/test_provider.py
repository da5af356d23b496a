"""The dynamic provider's methods against moto's server, as the Pulumi engine would call them."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.config.model import Colour
from delivery.cutover.aws import AwsClients
from delivery.cutover.provider import CutoverProvider
from delivery.errors import ListenerDrift, RolledBack, ShiftRefused
from delivery.plans.schedule import Weights
from delivery.rehearsal.emulator import (
    Emulator,
    TrafficPlane,
    force_weights,
    listener_weights,
    set_alarm,
)

pytestmark = pytest.mark.integration
FAST_POLICY = {
    "trafficSteps": [50, 100],
    "bakeSeconds": 1,
    "pollSeconds": 1,
    "minHealthyTargets": 2,
    "insufficientData": "ignore",
}


@pytest.fixture(autouse=True)
def aws_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider builds its own clients, as it does under Pulumi: point boto3 at the emulator."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulator")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulator")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def props(plane: TrafficPlane, live: str = "blue", **overrides: Any) -> dict[str, Any]:
    return {
        "listener_arn": plane.listener_arn,
        "target_groups": {c.value: plane.target_groups[c] for c in Colour},
        "live_colour": live,
        "policy": dict(FAST_POLICY),
        "gating_alarms": {c.value: list(plane.gating_alarms(c)) for c in Colour},
        "region": "eu-west-1",
        **overrides,
    }


def test_check_accepts_good_inputs(plane: TrafficPlane) -> None:
    result = CutoverProvider().check({}, props(plane))
    assert result.failures == []


@pytest.mark.parametrize(
    ("override", "prop", "reason"),
    [
        ({"listener_arn": "arn:aws:s3:::bucket"}, "listener_arn", "ALB listener ARN"),
        ({"target_groups": {"blue": "x"}}, "target_groups", "exactly blue and green"),
        ({"live_colour": "red"}, "live_colour", "blue or green"),
        ({"region": "mars-1"}, "region", "AWS region"),
        ({"gating_alarms": {"blue": ["a"], "green": []}}, "gating_alarms.green", "at least one"),
        ({"gating_alarms": {"blue": ["a"], "green": [""]}}, "gating_alarms.green", "non-empty"),
        ({"gating_alarms": {"blue": ["a"], "green": ["a"] * 101}}, "gating_alarms.green", "100"),
        ({"policy": {**FAST_POLICY, "trafficSteps": [50]}}, "policy.trafficSteps", "100"),
        ({"policy": {**FAST_POLICY, "pollSeconds": 5}}, "policy.pollSeconds", "bakeSeconds"),
    ],
)
def test_check_rejects_bad_inputs_naming_the_property(
    plane: TrafficPlane, override: dict[str, Any], prop: str, reason: str
) -> None:
    failures = CutoverProvider().check({}, props(plane, **override)).failures
    assert [f.property for f in failures] == [prop]
    assert reason in failures[0].reason


def test_check_rejects_the_same_group_for_both_colours(plane: TrafficPlane) -> None:
    same = {"blue": plane.target_groups[Colour.BLUE], "green": plane.target_groups[Colour.BLUE]}
    failures = CutoverProvider().check({}, props(plane, target_groups=same)).failures
    assert "two different target groups" in failures[0].reason


def test_check_leaves_unknown_preview_values_alone(plane: TrafficPlane) -> None:
    from pulumi.runtime import rpc

    whole = props(plane, target_groups=rpc.UNKNOWN, gating_alarms=rpc.UNKNOWN)
    assert CutoverProvider().check({}, whole).failures == []
    unknown = props(
        plane, listener_arn=rpc.UNKNOWN, gating_alarms={"blue": rpc.UNKNOWN, "green": rpc.UNKNOWN}
    )
    assert CutoverProvider().check({}, unknown).failures == []


def test_diff_replaces_on_a_new_listener_and_updates_on_a_colour_change(
    plane: TrafficPlane,
) -> None:
    provider = CutoverProvider()
    old = props(plane)
    assert provider.diff("id", old, dict(old)).changes is False
    colour = provider.diff("id", old, props(plane, live="green"))
    assert colour.changes is True
    assert colour.replaces == []
    moved = provider.diff("id", old, props(plane, listener_arn=plane.listener_arn + "0"))
    assert moved.replaces == ["listener_arn"]


def test_create_establishes_the_live_colour_and_fixes_99_1(
    operator: AwsClients, plane: TrafficPlane
) -> None:
    force_weights(operator, plane, Weights(blue=99, green=1))
    created = CutoverProvider().create(props(plane))
    assert created.id == plane.listener_arn
    assert created.outs is not None
    assert created.outs["weights"] == {"blue": 100, "green": 0}
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)


def test_create_refuses_to_take_over_a_real_split(
    operator: AwsClients, plane: TrafficPlane
) -> None:
    force_weights(operator, plane, Weights(blue=40, green=60))
    with pytest.raises(ListenerDrift, match="stack says blue is live"):
        CutoverProvider().create(props(plane))
    assert listener_weights(operator, plane) == Weights(blue=40, green=60)


def test_update_with_a_new_colour_performs_the_shift(
    operator: AwsClients, plane: TrafficPlane
) -> None:
    provider = CutoverProvider()
    old = props(plane)
    provider.create(old)
    updated = provider.update(plane.listener_arn, old, props(plane, live="green"))
    assert updated.outs is not None
    assert updated.outs["live_colour"] == "green"
    assert updated.outs["last_outcome"] == "promoted"
    kinds = [e["kind"] for e in updated.outs["history"]]
    assert kinds.count("bake-passed") == 2
    assert listener_weights(operator, plane) == Weights(blue=0, green=100)


def test_update_refused_by_a_gate_fails_and_moves_nothing(
    operator: AwsClients, plane: TrafficPlane
) -> None:
    provider = CutoverProvider()
    old = props(plane)
    provider.create(old)
    set_alarm(operator, plane.gating_alarms(Colour.GREEN)[2], "INSUFFICIENT_DATA", "x")
    failing_policy = {**FAST_POLICY, "insufficientData": "rollback"}
    with pytest.raises(ShiftRefused, match="INSUFFICIENT_DATA"):
        provider.update(plane.listener_arn, old, props(plane, live="green", policy=failing_policy))
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)


def test_update_rolls_back_when_a_bake_sees_an_alarm(
    operator: AwsClients, plane: TrafficPlane
) -> None:
    provider = CutoverProvider()
    old = props(plane, live="green")
    # An earlier shift to blue stopped at 50/50 and blue's 5xx alarm now fires: resuming must
    # roll back to green, and the failed update keeps green in the stack state.
    force_weights(operator, plane, Weights(blue=50, green=50))  # a crashed earlier shift to blue
    set_alarm(operator, plane.gating_alarms(Colour.BLUE)[0], "ALARM", "5xx")
    with pytest.raises(RolledBack, match="at step 50%; rolled back, blue=0% green=100%"):
        provider.update(plane.listener_arn, old, props(plane, live="blue"))
    assert listener_weights(operator, plane) == Weights(blue=0, green=100)


def test_read_reports_the_actual_weights_and_live_colour(
    operator: AwsClients, plane: TrafficPlane
) -> None:
    force_weights(operator, plane, Weights(blue=0, green=100))
    read = CutoverProvider().read(plane.listener_arn, props(plane))
    assert read.outs is not None
    assert read.outs["weights"] == {"blue": 0, "green": 100}
    assert read.outs["live_colour"] == "green"
