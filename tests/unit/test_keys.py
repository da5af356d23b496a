"""Keys as Pulumi reads them: bare keys are the project's, other namespaces are named, nothing
is silently ignored, and no message echoes a secret."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from delivery.config.keys import DECLARED, provider_keys
from delivery.config.settings import load_settings
from delivery.config.stackfile import (
    PROJECT_ROOT,
    StackFileError,
    load_stack,
    read_yaml,
    stack_config,
)
from delivery.errors import ConfigError

GOOD: dict[str, Any] = stack_config("staging")


def problems(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as failure:
        load_settings(raw, "test")
    return {p.key: p.reason for p in failure.value.problems}


def test_a_key_without_a_namespace_is_the_projects() -> None:
    raw = {k.removeprefix("switchyard:"): v for k, v in GOOD.items()}
    assert "azCount" in raw
    assert load_settings(raw, "staging") == load_settings(GOOD, "staging")


def test_a_misspelt_key_without_a_namespace_gets_a_suggestion() -> None:
    found = problems({**GOOD, "bakeSecnds": 600})
    assert found == {
        "switchyard:bakeSecnds": "is not a Switchyard setting; did you mean switchyard:bakeSeconds?"
    }


@pytest.mark.parametrize("key", ["yes", "switchyard:on", "switchyrd:tier"])
def test_a_short_unknown_key_gets_no_far_fetched_suggestion(key: str) -> None:
    # The shared "switchyard:" once made any short name look close (yes -> owner).
    [reason] = problems({**GOOD, key: "1"}).values()
    assert reason.endswith("; remove it"), reason


@pytest.mark.parametrize("key", ["pulumi:env", "pulumi:stack", "pulumi:yes"])
def test_a_short_pulumi_key_is_left_to_pulumi(key: str) -> None:
    assert load_settings({**GOOD, key: "x"}, "staging").region == "eu-west-1"


def test_a_key_set_with_and_without_its_namespace_is_rejected() -> None:
    found = problems({**GOOD, "azCount": 2})
    assert found == {
        "switchyard:azCount": "is set twice (as azCount and as switchyard:azCount); "
        "keep one of them"
    }


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("switchyrd:bakeSeconds", "switchyard:bakeSeconds"),
        ("switchyrd:rotationLambdaArn", "switchyard:rotationLambdaArn"),
        ("Switchyard:azCount", "switchyard:azCount"),
    ],
)
def test_a_key_in_a_namespace_nothing_reads_names_the_closest_real_key(
    key: str, suggestion: str
) -> None:
    reason = problems({**GOOD, key: "x"})[key]
    assert "which nothing reads" in reason
    assert reason.endswith(f"did you mean {suggestion}?")


def test_a_project_key_under_the_aws_namespace_is_named() -> None:
    found = problems({**GOOD, "aws:azCount": 3})
    assert found == {
        "aws:azCount": "is a Switchyard setting, not the aws provider's; write it as "
        "switchyard:azCount"
    }


def test_a_misspelt_provider_key_gets_a_suggestion() -> None:
    assert problems({**GOOD, "aws:regoin": "eu-west-1"})["aws:regoin"] == (
        "is not a setting of the aws provider; did you mean aws:region?"
    )


def test_the_engines_keys_and_aws_region_pass() -> None:
    # The engine's settings as Pulumi documents them, and one it may add later.
    engine = {
        "pulumi:tags": '{"team": "platform"}',
        "pulumi:template": "aws-python",
        "pulumi:disable-default-providers": '["kubernetes"]',
        "pulumi:autonaming": '{"mode": "verbatim"}',
        "pulumi:someFutureSetting": "x",
    }
    assert load_settings({**GOOD, **engine}, "staging").region == "eu-west-1"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (
            "pulumi:bakeSeconds",
            "is a Switchyard setting, not Pulumi's; write it as switchyard:bakeSeconds",
        ),
        (
            "pulumi:BakeSeconds",
            "is a Switchyard setting, not Pulumi's; write it as switchyard:bakeSeconds",
        ),
        (
            "pulumi:bakeSecnds",
            "is not a setting of Pulumi's, so nothing reads it; did you mean "
            "switchyard:bakeSeconds?",
        ),
    ],
)
def test_a_project_key_under_the_pulumi_namespace_is_named(key: str, reason: str) -> None:
    # Pulumi ignores it, so the stack would run with the old value without a word.
    assert problems({**GOOD, key: "600"}) == {key: reason}


def test_aws_provider_keys_other_than_the_region_are_refused() -> None:
    # The resources' provider is built from aws:region and the tags; the default provider,
    # which would read these, must not send the zone lookup to another account.
    assert {"aws:region", "aws:profile", "aws:skipCredentialsValidation"} <= provider_keys("aws")
    found = problems({**GOOD, "aws:profile": "ops", "aws:skipMetadataApiCheck": "true"})
    assert set(found) == {"aws:profile", "aws:skipMetadataApiCheck"}
    assert found["aws:profile"].startswith(
        "is not used: Switchyard configures its AWS provider itself, from aws:region and the "
        "tags switchyard:environment, switchyard:owner and switchyard:costCentre; remove it"
    )
    assert "AWS_PROFILE" in found["aws:profile"]


def test_every_declared_key_is_read() -> None:
    # Leaving out any required key must be reported under that key: no declaration is unused.
    for key in DECLARED:
        if key.optional or key.secret:
            continue
        raw = {k: v for k, v in GOOD.items() if k != key.full}
        assert key.full in problems(raw), key.full


def test_a_webhook_url_under_the_wrong_key_is_not_echoed() -> None:
    url = "https://hooks.example.com/services/T000/B000/sEcReTtOkEn"
    found = problems({**GOOD, "switchyard:alertWebhooks": [f"critical:{url}"]})
    assert "sEcReTtOkEn" not in str(found)
    assert "https://hooks.example.com/..." in found["switchyard:alertWebhooks"]
    found = problems({**GOOD, "switchyard:alertEmails": [f"critical:{url}"]})
    assert "sEcReTtOkEn" not in str(found)


def write_stack(root: Path, text: str) -> None:
    (root / "Pulumi.qa.yaml").write_text(text)


def test_a_key_set_twice_in_a_stack_file_is_named_with_its_lines(tmp_path: Path) -> None:
    original = (PROJECT_ROOT / "Pulumi.staging.yaml").read_text()
    write_stack(tmp_path, original + "  switchyard:bakeSeconds: 30\n")
    with pytest.raises(ConfigError) as failure:
        load_stack("qa", tmp_path)
    (problem,) = failure.value.problems
    assert problem.key == "switchyard:bakeSeconds"
    assert "is set twice (lines" in problem.reason
    assert "YAML would keep only the last; delete one" in problem.reason


def test_a_key_set_twice_in_a_nested_mapping_is_named_by_its_path(tmp_path: Path) -> None:
    original = (PROJECT_ROOT / "Pulumi.staging.yaml").read_text()
    secret = "\n      secure: v1:AAABAGvZ0mtyM1R5TNwtkcVHXdmNQWrvhQ=="
    write_stack(tmp_path, original + f"  secretValues:\n    apiKey:{secret}\n    apiKey:{secret}\n")
    with pytest.raises(ConfigError) as failure:
        load_stack("qa", tmp_path)
    (problem,) = failure.value.problems
    lines = len(original.splitlines())
    assert str(problem) == (
        f"switchyard:secretValues.apiKey: is set twice (lines {lines + 2} and {lines + 4}), and "
        "YAML would keep only the last; delete one"
    )


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("<<: {switchyard:bakeSeconds: 600}", "is a YAML merge key; Switchyard reads stack files"),
        ("true: 1", "is read by YAML as the boolean true, not as a name; quote it ('true')"),
        ("3: x", "is read by YAML as the number 3, not as a name; quote it ('3')"),
        ("~: x", "is read by YAML as null (no value), not as a name; quote it ('~')"),
    ],
)
def test_a_key_yaml_reads_other_than_as_written_is_named_with_its_line(
    tmp_path: Path, written: str, reason: str
) -> None:
    original = (PROJECT_ROOT / "Pulumi.staging.yaml").read_text()
    write_stack(tmp_path, original.replace("config:\n", f"config:\n  {written}\n", 1))
    line = original.splitlines().index("config:") + 2
    with pytest.raises(ConfigError) as failure:
        load_stack("qa", tmp_path)
    (problem,) = failure.value.problems
    assert problem.key == written.split(":", maxsplit=1)[0]
    assert problem.reason.startswith(f"on line {line} {reason}")
    assert problem.reason.endswith(("or remove it", "in place of the `<<:` line"))


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("", "is empty"),
        ("# a new stack\n", "is empty"),
        ("config:\n", "has an empty `config:`"),
        ("secretsprovider: passphrase\n", "has no `config:` mapping of settings"),
    ],
)
def test_an_empty_stack_file_says_what_to_put_in_it(tmp_path: Path, text: str, what: str) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text((PROJECT_ROOT / "Pulumi.dev.yaml").read_text())
    write_stack(tmp_path, text)
    with pytest.raises(StackFileError) as failure:
        stack_config("qa", tmp_path)
    message = str(failure.value)
    assert message.startswith(
        f"Pulumi.qa.yaml {what}; copy a committed stack file (Pulumi.dev.yaml) to "
        "Pulumi.qa.yaml and change what differs, or set each setting with "
        "`pulumi config set --stack qa <key> <value>`. Every stack sets these "
    )
    # The minimum is every required key: a file with exactly those values passes check.
    _, listing = message.split("(bare names are switchyard:<name>): ")
    listed = listing.partition(";")[0].split(", ")
    dev = stack_config("dev")
    write_stack(tmp_path, yaml.safe_dump({"config": {k: dev[full(k)] for k in listed}}))
    assert load_stack("qa", tmp_path).environment == "dev"


def full(key: str) -> str:
    return key if ":" in key else f"switchyard:{key}"


def test_a_stack_file_with_bare_keys_loads_as_pulumi_reads_it(tmp_path: Path) -> None:
    original = (PROJECT_ROOT / "Pulumi.staging.yaml").read_text()
    write_stack(tmp_path, original.replace("  switchyard:", "  "))
    staging = load_stack("staging")
    # the infrastructure role's GitHub environment follows the stack's name by default
    security = dataclasses.replace(
        staging.security, github_infrastructure_environment="infrastructure-qa"
    )
    assert load_stack("qa", tmp_path) == dataclasses.replace(staging, stack="qa", security=security)


@pytest.mark.parametrize(
    ("line", "key", "reason"),
    [
        # Pulumi keeps a scalar as the text written: these reach the program as these words.
        ("switchyard:bakeSeconds: 0x10", "bakeSeconds", "whole number in 1..86400, got '0x10'"),
        ("switchyard:bakeSeconds: 600.0", "bakeSeconds", "got '600.0'"),
        ("switchyard:bakeSeconds: 1e3", "bakeSeconds", "got '1e3'"),
        ("switchyard:azCount: true", "azCount", "got 'true'"),
        ("switchyard:liveColour: no", "liveColour", "one of blue, green, got 'no'"),
        (f"switchyard:bakeSeconds: {'9' * 5000}", "bakeSeconds", "got '9999"),
        ("switchyard:testClientCidrs: 203.0.113.0/24", "testClientCidrs", "must be a list"),
        ("switchyard:owner: team🚀", "owner", "remove '🚀'"),
    ],
)
def test_a_stack_file_is_read_as_pulumi_reads_it(
    tmp_path: Path, line: str, key: str, reason: str
) -> None:
    name = line.split(":")[1]
    original = (PROJECT_ROOT / "Pulumi.staging.yaml").read_text()
    kept = [row for row in original.splitlines() if not row.startswith(f"  switchyard:{name}:")]
    write_stack(tmp_path, "\n".join([*kept, f"  {line}", ""]))
    with pytest.raises(ConfigError) as failure:
        load_stack("qa", tmp_path)
    found = {p.key: p.reason for p in failure.value.problems}
    assert list(found) == [f"switchyard:{key}"]
    assert reason in found[f"switchyard:{key}"]


@pytest.mark.parametrize("value", ["no", "on", "2024-01-01", "1:30", "0x10"])
def test_yaml_1_1_words_are_text_as_pulumi_reads_them(tmp_path: Path, value: str) -> None:
    original = (PROJECT_ROOT / "Pulumi.staging.yaml").read_text()
    write_stack(
        tmp_path, original.replace("switchyard:owner: platform-team", f"switchyard:owner: {value}")
    )
    assert load_stack("qa", tmp_path).owner == value


def test_a_webhook_url_without_its_scheme_is_not_echoed() -> None:
    bare = "hooks.slack.com/services/T000/B000/sEcReTtOkEn"
    for key in ("switchyard:alertEmails", "switchyard:alertWebhooks"):
        found = problems({**GOOD, key: [f"critical:{bare}"]})
        assert "sEcReTtOkEn" not in found[key]
        assert "hooks.slack.com/..." in found[key]


def test_a_yaml_syntax_error_names_line_and_column_without_quoting_the_file(
    tmp_path: Path,
) -> None:
    stack_file = tmp_path / "Pulumi.staging.yaml"
    stack_file.write_text(
        "config:\n  switchyard:secretValues:\n    a: hunter2-not-for-logs\n    b: [ x\n  c: 1\n"
    )
    with pytest.raises(StackFileError) as failure:
        read_yaml(stack_file)
    message = str(failure.value)
    assert message == (
        "Pulumi.staging.yaml is not valid YAML at line 5, column 4: expected ',' or ']', "
        "but got ':'"
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("\n    ? [a, b]\n    : 1", "line 4, column 7: found unhashable key"),
        ("[" * 600 + "]" * 600, "line 3, column 119: nests more than 100 levels deep"),
    ],
)
def test_a_stack_file_yaml_cannot_hold_is_a_stack_file_error(
    tmp_path: Path, value: str, problem: str
) -> None:
    stack_file = tmp_path / "Pulumi.staging.yaml"
    stack_file.write_text(f"config:\n  aws:region: eu-west-1\n  switchyard:owner: {value}\n")
    with pytest.raises(StackFileError) as failure:
        read_yaml(stack_file)
    assert str(failure.value) == f"Pulumi.staging.yaml is not valid YAML at {problem}"


def test_deeply_nested_config_text_is_refused_as_a_list() -> None:
    nested = "[" * 5000 + "]" * 5000  # json.loads recurses per bracket
    found = problems({**GOOD, "switchyard:nodeInstanceTypes": nested})
    assert found["switchyard:nodeInstanceTypes"].startswith("must be a list")
