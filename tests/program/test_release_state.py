"""The program against the release state: a stack file older than the last release is refused
before anything is registered, naming both values and the ways out."""

from __future__ import annotations

import pytest

from delivery.config.model import Colour
from delivery.config.stackfile import stack_config
from delivery.errors import ConfigError
from delivery.release.keys import (
    CANDIDATE_REPLICAS,
    LATENCY_BASELINE_MS,
    LIVE_COLOUR,
    RELEASE_STEP,
    image_key,
)
from delivery.release.truth import RELEASE_OWNED, ReleaseState, owned, state_parameter
from infra.offline import RecordingMocks
from tests.program.harness import evaluate

NEWER = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1.5.0"
PARAMETER = state_parameter("staging", "staging")


def published(values: dict[str, str]) -> RecordingMocks:
    state = ReleaseState(values, "2026-12-06T10:00:00+00:00", "acme/web run 7 attempt 1")
    return RecordingMocks(parameters={PARAMETER: state.encode()})


def file_values() -> dict[str, str]:
    return owned(stack_config("staging"))


def test_a_stack_file_that_matches_the_release_state_deploys() -> None:
    run = evaluate("staging", mocks=published(file_values()))
    assert run.mocks.resources, "the program registered its resources"


def test_without_a_release_state_the_stack_file_is_the_truth() -> None:
    """The first deploy, and every stack before its first release."""
    assert evaluate("staging", mocks=RecordingMocks()).mocks.resources


def test_a_stack_file_older_than_the_last_release_is_refused_naming_both_values() -> None:
    released = {**file_values(), LIVE_COLOUR: "green", image_key(Colour.GREEN): NEWER}
    mocks = published(released)
    with pytest.raises(ConfigError) as refused:
        evaluate("staging", mocks=mocks)

    assert set(refused.value.keys) == {LIVE_COLOUR, image_key(Colour.GREEN)}
    text = str(refused.value)
    assert "is 'blue' in the stack file" in text and "says 'green'" in text
    assert NEWER in text and PARAMETER in text and "acme/web run 7" in text
    assert "release-state --stack staging --pull" in text
    assert "release-state --stack staging --push" in text
    assert mocks.resources == [], "nothing is registered, so nothing changes"


def test_another_stacks_state_in_the_same_folder_is_not_this_stacks() -> None:
    other = state_parameter("staging", "pr-42")
    state = ReleaseState({LIVE_COLOUR: "green"}, "2026-12-06T10:00:00+00:00", "someone")
    assert evaluate("staging", mocks=RecordingMocks(parameters={other: state.encode()}))


@pytest.mark.parametrize("garbage", ["{", '{"schema": 1}', '{"schema": 1, "values": {"x": "y"}}'])
def test_a_state_switchyard_did_not_write_is_refused_with_its_history_named(garbage: str) -> None:
    mocks = RecordingMocks(parameters={PARAMETER: garbage})
    with pytest.raises(ConfigError) as refused:
        evaluate("staging", mocks=mocks)
    assert refused.value.keys == (PARAMETER,)
    assert f"aws ssm get-parameter-history --name {PARAMETER}" in str(refused.value)
    assert mocks.resources == []


def test_the_release_owned_keys_are_the_keys_a_release_sets() -> None:
    assert set(RELEASE_OWNED) == {
        LIVE_COLOUR,
        image_key(Colour.BLUE),
        image_key(Colour.GREEN),
        RELEASE_STEP,
        CANDIDATE_REPLICAS,
    }
    assert LATENCY_BASELINE_MS not in RELEASE_OWNED, "a pull request may change the fallback"
