from __future__ import annotations

import pytest

from delivery.config.model import Colour, InsufficientData, TrafficPolicy
from delivery.plans.schedule import (
    Step,
    Weights,
    expected_duration_seconds,
    polls_per_bake,
    schedule,
    worst_case_reaction_seconds,
)

POLICY = TrafficPolicy((10, 50, 100), 300, 15, 2, InsufficientData.IGNORE)


def test_weights_reject_anything_but_two_percentages_summing_to_100() -> None:
    with pytest.raises(ValueError, match=r"sum to 100"):
        Weights(blue=60, green=60)
    with pytest.raises(ValueError, match=r"0..100"):
        Weights(blue=-10, green=110)


def test_split_gives_the_target_its_weight_and_the_other_colour_the_rest() -> None:
    assert Weights.split(Colour.GREEN, 10) == Weights(blue=90, green=10)
    assert Weights.split(Colour.BLUE, 10) == Weights(blue=10, green=90)
    assert Weights.all_on(Colour.GREEN).of(Colour.GREEN) == 100


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (0, [Step(10, True), Step(50, True), Step(100, True)]),
        (10, [Step(10, False), Step(50, True), Step(100, True)]),
        (30, [Step(30, False), Step(50, True), Step(100, True)]),
        (50, [Step(50, False), Step(100, True)]),
        (100, [Step(100, False)]),
    ],
)
def test_schedule_resumes_with_a_rebake_where_traffic_stands(
    current: int, expected: list[Step]
) -> None:
    assert list(schedule(POLICY, current)) == expected


def test_schedule_rejects_impossible_weights() -> None:
    with pytest.raises(ValueError, match=r"0..100"):
        schedule(POLICY, 101)


def test_timing_arithmetic() -> None:
    assert polls_per_bake(POLICY) == 21
    assert polls_per_bake(TrafficPolicy((100,), 10, 3, 1, InsufficientData.IGNORE)) == 5
    assert worst_case_reaction_seconds(POLICY) == 15
    assert expected_duration_seconds(POLICY) == 900
    assert expected_duration_seconds(POLICY, 50) == 600
