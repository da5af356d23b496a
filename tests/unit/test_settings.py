"""The configuration model: every key's bad values, all reported at once, nothing half-read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from delivery.errors import ConfigError
from delivery.settings import (
    KEYS,
    PROJECT,
    Colour,
    InsufficientData,
    load_settings,
    traffic_policy_from_inputs,
)
from delivery.stackfile import PROJECT_ROOT, StackNotFound, available_stacks, load_stack

GOOD: dict[str, Any] = {
    "aws:region": "eu-west-1",
    "switchyard:environment": "staging",
    "switchyard:liveColour": "blue",
    "switchyard:trafficSteps": [10, 50, 100],
    "switchyard:bakeSeconds": 120,
    "switchyard:pollSeconds": 10,
    "switchyard:minHealthyTargets": 2,
    "switchyard:insufficientData": "ignore",
}


def problems_for(**overrides: Any) -> dict[str, str]:
    raw = dict(GOOD)
    for key, value in overrides.items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if value is ...:
            raw.pop(full, None)
        else:
            raw[full] = value
    with pytest.raises(ConfigError) as failure:
        load_settings(raw, "test")
    return {p.key: p.reason for p in failure.value.problems}


def test_a_good_mapping_becomes_frozen_typed_settings() -> None:
    settings = load_settings(GOOD, "staging")
    assert settings.live_colour is Colour.BLUE
    assert settings.traffic.steps == (10, 50, 100)
    assert settings.traffic.insufficient_data is InsufficientData.IGNORE
    with pytest.raises(AttributeError):
        settings.traffic.bake_seconds = 1  # type: ignore[misc]


def test_pulumi_config_strings_are_read_like_yaml_values() -> None:
    # pulumi.Config hands scalars over as strings and arrays as JSON text.
    raw = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in GOOD.items()}
    assert raw["switchyard:trafficSteps"] == "[10, 50, 100]"
    assert load_settings(raw, "staging") == load_settings(GOOD, "staging")


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("trafficSteps", [], "at least one step"),
        ("trafficSteps", [10, 50], "last step must be 100"),
        ("trafficSteps", [50, 10, 100], "strictly increasing"),
        ("trafficSteps", [10, 10, 100], "strictly increasing"),
        ("trafficSteps", [0, 100], "1..100"),
        ("trafficSteps", [10, 101], "1..100"),
        ("trafficSteps", [10.5, 100], "whole percentages"),
        ("trafficSteps", ["10", 100], "whole percentages"),
        ("trafficSteps", "ten", "must be a list"),
        ("bakeSeconds", 0, "1..86400"),
        ("bakeSeconds", -5, "1..86400"),
        ("bakeSeconds", 90_000, "1..86400"),
        ("bakeSeconds", 1.5, "whole number"),
        ("bakeSeconds", "soon", "whole number"),
        ("bakeSeconds", True, "whole number"),
        ("pollSeconds", 0, "1..300"),
        ("pollSeconds", 301, "1..300"),
        ("pollSeconds", 200, "must not exceed bakeSeconds (120)"),
        ("minHealthyTargets", 0, "1..1000"),
        ("minHealthyTargets", "two", "whole number"),
        ("insufficientData", "maybe", "one of ignore, rollback"),
        ("liveColour", "purple", "one of blue, green"),
        ("environment", "qa", "one of dev, staging, prod"),
        ("aws:region", "Europe", "AWS region"),
        ("aws:region", 42, "must be text"),
    ],
)
def test_each_bad_value_names_its_key_and_why(key: str, value: Any, reason: str) -> None:
    problems = problems_for(**{key: value})
    full = key if ":" in key else f"{PROJECT}:{key}"
    assert list(problems) == [full]
    assert reason in problems[full]


@pytest.mark.parametrize("key", ["aws:region", *KEYS])
def test_each_missing_key_is_required_with_the_command_that_sets_it(key: str) -> None:
    problems = problems_for(**{key: ...})
    assert f"pulumi config set {key}" in problems[key]


def test_every_problem_is_reported_in_one_error() -> None:
    problems = problems_for(bakeSeconds=0, liveColour="red", trafficSteps=[5])
    assert set(problems) == {
        "switchyard:bakeSeconds",
        "switchyard:liveColour",
        "switchyard:trafficSteps",
    }


def test_a_misspelt_key_is_rejected_with_a_suggestion() -> None:
    problems = problems_for(bakeSecond=60)
    assert "did you mean switchyard:bakeSeconds?" in problems["switchyard:bakeSecond"]


def test_the_error_message_lists_the_keys_and_says_nothing_changed() -> None:
    with pytest.raises(ConfigError) as failure:
        load_settings({**GOOD, "switchyard:pollSeconds": 0}, "prod")
    message = str(failure.value)
    assert "stack 'prod' has 1 invalid setting(s); nothing was changed" in message
    assert "switchyard:pollSeconds: must be in 1..300, got 0" in message


def test_a_policy_survives_pulumis_float_numbers() -> None:
    # Provider inputs cross the engine as protobuf Structs, where every number is a double.
    policy = load_settings(GOOD, "staging").traffic
    floats = {
        k: ([float(x) for x in v] if isinstance(v, list) else float(v) if isinstance(v, int) else v)
        for k, v in policy.to_inputs().items()
    }
    assert traffic_policy_from_inputs(floats) == policy


def test_a_policy_round_trips_through_its_input_spelling() -> None:
    policy = load_settings(GOOD, "staging").traffic
    assert traffic_policy_from_inputs(policy.to_inputs()) == policy


def test_a_bad_policy_input_is_a_config_error_naming_the_field() -> None:
    with pytest.raises(ConfigError) as failure:
        traffic_policy_from_inputs({"trafficSteps": [100], "bakeSeconds": 10})
    assert set(failure.value.keys) == {"pollSeconds", "minHealthyTargets", "insufficientData"}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_stack_file_is_valid(stack: str) -> None:
    settings = load_stack(stack)
    assert settings.environment == stack


def test_the_stacks_differ_sensibly() -> None:
    dev, staging, prod = (load_stack(s).traffic for s in ("dev", "staging", "prod"))
    assert prod.steps == (10, 50, 100)
    assert prod.bake_seconds >= 120
    assert prod.insufficient_data is InsufficientData.ROLLBACK
    assert dev.total_bake_seconds < staging.total_bake_seconds < prod.total_bake_seconds
    assert dev.min_healthy_targets <= staging.min_healthy_targets <= prod.min_healthy_targets


def test_an_unknown_stack_names_the_known_ones() -> None:
    with pytest.raises(StackNotFound, match="known stacks: dev, prod, staging"):
        load_stack("qa")
    assert available_stacks() == ["dev", "prod", "staging"]


def test_pulumi_yaml_documents_every_key_with_its_type() -> None:
    project = yaml.safe_load((Path(PROJECT_ROOT) / "Pulumi.yaml").read_text())
    schema = project["config"]
    assert {f"{PROJECT}:{k}" for k in schema} == set(KEYS)
    for key, entry in schema.items():
        assert entry["type"] == KEYS[f"{PROJECT}:{key}"], key
        assert len(entry["description"]) > 20, key
        if entry["type"] == "array":
            assert entry["items"]["type"] == "integer", key
    assert project["main"] == "infra/"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
