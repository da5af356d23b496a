"""The release state in SSM, against the emulator over HTTP, and the commands around it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from delivery.cutover.aws import AwsClients
from delivery.errors import ConfigError
from delivery.release.keys import LATENCY_BASELINE_MS, LIVE_COLOUR, RELEASE_STEP
from delivery.release.truth import (
    ReleaseState,
    SsmReleaseState,
    TruthfulStack,
    compare,
    push,
)
from tests.release_state import MemoryReleaseState
from tests.stacks import QuietStack

WHEN = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def test_no_parameter_reads_as_no_state(operator: AwsClients) -> None:
    assert SsmReleaseState(operator.ssm, "staging", "staging").read() is None


def test_a_written_state_reads_back_as_written(operator: AwsClients) -> None:
    store = SsmReleaseState(operator.ssm, "staging", "staging")
    state = ReleaseState({LIVE_COLOUR: "green", RELEASE_STEP: "cleanup"}, "t", "ci run 1")
    store.write(state)
    store.write(state)  # overwritten in place

    assert store.read() == state
    assert store.parameter == "/switchyard/staging/release/staging"
    history = operator.ssm.get_parameter_history(Name=store.parameter)["Parameters"]
    assert len(history) == 2


def test_a_parameter_switchyard_did_not_write_is_a_config_error_naming_it(
    operator: AwsClients,
) -> None:
    store = SsmReleaseState(operator.ssm, "prod", "prod")
    operator.ssm.put_parameter(Name=store.parameter, Value="green", Type="String")
    with pytest.raises(ConfigError) as bad:
        store.read()
    assert bad.value.keys == (store.parameter,)
    assert f"aws ssm delete-parameter --name {store.parameter}" in str(bad.value)


def test_pull_sets_only_the_keys_that_differ_and_says_which() -> None:
    store = MemoryReleaseState()
    store.state = ReleaseState({LIVE_COLOUR: "green", RELEASE_STEP: "cleanup"}, "t", "ci")
    stack = QuietStack(
        "staging", {LIVE_COLOUR: "blue", RELEASE_STEP: "cleanup", "switchyard:x": "1"}
    )
    said: list[str] = []

    TruthfulStack(stack, store, "me", lambda: WHEN, said.append).pull()

    assert stack.values == {LIVE_COLOUR: "green", RELEASE_STEP: "cleanup", "switchyard:x": "1"}
    assert said and "switchyard:liveColour blue -> green" in said[0]


def test_a_key_outside_the_release_is_never_published() -> None:
    store = MemoryReleaseState()
    stack = TruthfulStack(QuietStack("staging", {LIVE_COLOUR: "blue"}), store, "me", lambda: WHEN)
    stack.set_config({"switchyard:minReplicas": "4", LATENCY_BASELINE_MS: "180"})
    assert store.state is None
    stack.set_config({RELEASE_STEP: "stage"})
    assert store.state is not None
    assert store.state.values == {LIVE_COLOUR: "blue", RELEASE_STEP: "stage"}
    assert (store.state.written_by, store.state.written_at) == ("me", WHEN.isoformat())


def test_push_makes_the_files_values_the_truth_and_compare_shows_agreement() -> None:
    store = MemoryReleaseState()
    store.state = ReleaseState({LIVE_COLOUR: "green"}, "t", "ci")
    stack = QuietStack("staging", {LIVE_COLOUR: "blue", RELEASE_STEP: "stage"})
    before = compare(stack, store)
    assert any("liveColour" in line and "<- differs" in line for line in before)
    said: list[str] = []

    push(stack, store, "alice@laptop pid 1", lambda: WHEN, said.append)

    assert store.state is not None and store.state.values == stack.values
    assert "switchyard:liveColour: green -> blue" in said
    assert not any("<- differs" in line for line in compare(stack, store))


def test_a_failed_publish_names_the_values_and_the_command_that_puts_the_truth_right() -> None:
    store = MemoryReleaseState()
    store.fail_writes = 1
    said: list[str] = []
    stack = TruthfulStack(
        QuietStack("staging", {LIVE_COLOUR: "green"}), store, "me", lambda: WHEN, said.append
    )

    stack.set_config({LIVE_COLOUR: "blue"})  # the abort's write, with no `pulumi up` after it

    (warning,) = said
    assert "should hold switchyard:liveColour blue" in warning
    assert "release-state --stack staging --push" in warning
