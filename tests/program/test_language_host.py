"""What a `pulumi up` user sees: the program run as Pulumi's Python language host runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from delivery.config.stackfile import PROJECT_ROOT
from infra.offline import RecordingMocks
from tests.program.harness import SECRET_VALUES
from tests.program.langhost import run_as_language_host


def test_a_good_stack_runs_and_registers_its_resources() -> None:
    run = run_as_language_host("dev", secrets=SECRET_VALUES)
    assert run.successful, run.errors
    assert run.errors == []
    assert len(run.mocks.of_type("aws:ec2/subnet:Subnet")) == 4


def test_a_bad_configuration_prints_its_message_only_and_registers_nothing() -> None:
    run = run_as_language_host(
        "staging", {"switchyard:bakeSeconds": 0, "bakeSecnds": 60}, secrets=SECRET_VALUES
    )
    assert not run.successful
    (message,) = run.errors
    assert "Traceback" not in message
    assert message.startswith("stack 'staging' has 2 invalid setting(s); nothing was changed:")
    assert "switchyard:bakeSeconds: must be in 1..86400, got 0" in message
    assert "switchyard:bakeSecnds: is not a Switchyard setting; did you mean" in message
    assert run.mocks.resources == []


def test_missing_secret_values_print_cleanly_with_the_command() -> None:
    partial = {k: v for k, v in SECRET_VALUES.items() if k != "pager-webhook"}
    run = run_as_language_host("prod", secrets=partial)
    (message,) = run.errors
    assert "Traceback" not in message
    assert (
        "switchyard:secretValues.pager-webhook: is missing; set it with `pulumi config set "
        "--secret --path 'switchyard:secretValues.pager-webhook' <value>`"
    ) in message
    assert run.mocks.resources == []


def test_plain_text_secret_values_name_the_command_without_a_placeholder() -> None:
    run = run_as_language_host("dev", {"switchyard:secretValues": SECRET_VALUES})
    (message,) = run.errors
    assert "Traceback" not in message
    assert "--path 'switchyard:secretValues.<name>'" in message
    assert "{name}" not in message
    assert all(value not in message for value in SECRET_VALUES.values())


@pytest.mark.parametrize("decrypted", ["one-secret-text", '["one-secret-text"]', '{"a": 1}'])
def test_secret_values_that_are_not_an_object_of_texts_stop_cleanly(decrypted: str) -> None:
    # `pulumi config set --secret switchyard:secretValues x` (no --path) stores one scalar.
    run = run_as_language_host("dev", secrets=decrypted)
    (message,) = run.errors
    assert "Traceback" not in message
    assert "switchyard:secretValues: must be an object of named text values" in message
    assert "pulumi config set --secret --path 'switchyard:secretValues.<name>'" in message
    assert "one-secret-text" not in message
    assert run.mocks.resources == []


def test_the_program_judges_az_count_from_the_regions_answer() -> None:
    # The table knows three zones in eu-west-1; the region answers two (one is impaired).
    mocks = RecordingMocks(available=("eu-west-1a", "eu-west-1b"))
    run = run_as_language_host("prod", secrets=SECRET_VALUES, mocks=mocks)
    (message,) = run.errors
    assert "Traceback" not in message
    assert (
        "switchyard:azCount: asks for 3 zones, but eu-west-1 has 2 available "
        "(eu-west-1a, eu-west-1b); set it to at most 2"
    ) in message
    assert run.mocks.resources == []


def test_the_program_refuses_a_plain_text_secret_value_in_the_stack_file(tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "Pulumi.dev.yaml").read_text()
    entries = "\n".join(
        f"    {name}:\n      secure: v1:AAABAGvZ0mtyM1R5TNwtkcVHXdmNQWrvhQ=="
        for name in ("database-password",)
    )
    plain = "    api-signing-key: signing-key-not-for-logs"
    (tmp_path / "Pulumi.dev.yaml").write_text(f"{text}  secretValues:\n{entries}\n{plain}\n")
    run = run_as_language_host("dev", secrets=SECRET_VALUES, root=tmp_path)
    (message,) = run.errors
    assert "Traceback" not in message
    assert "switchyard:secretValues.api-signing-key: is stored in plain text" in message
    assert "pulumi config set --secret --path 'switchyard:secretValues.api-signing-key'" in message
    assert "not-for-logs" not in message
    assert run.mocks.resources == []


def test_the_program_stops_when_the_project_root_has_no_stack_file(tmp_path: Path) -> None:
    run = run_as_language_host("dev", secrets=SECRET_VALUES, root=tmp_path)
    (message,) = run.errors
    assert "Traceback" not in message
    assert f"no stack file Pulumi.dev.yaml in {tmp_path}" in message
    assert run.mocks.resources == []


def test_opted_in_local_zones_do_not_count_as_availability_zones() -> None:
    mocks = RecordingMocks(available=("eu-west-1a", "eu-west-1b"), opted_in=("eu-west-1-lz-1a",))
    run = run_as_language_host("prod", secrets=SECRET_VALUES, mocks=mocks)
    (message,) = run.errors
    assert "eu-west-1 has 2 available (eu-west-1a, eu-west-1b); set it to at most 2" in message
    assert run.mocks.resources == []
