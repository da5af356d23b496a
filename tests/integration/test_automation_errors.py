"""A Pulumi CLI that fails under the Automation API (a secrets provider it cannot reach, a
backend that refuses it) surfaces as a clean error naming the command and the CLI's words: the
stand-in CLI (tests/standin_pulumi.py) fails the command as the real one does."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from delivery.cli import main
from delivery.errors import Exit
from delivery.release.automation import AutomationStack, PulumiFailed
from tests.integration.test_policy_pack_cli import STANDIN, stack

pytestmark = pytest.mark.integration
__all__ = ["stack"]  # the fixture, shared
DENIED = (
    "could not get secrets provider: AccessDeniedException: User: arn:aws:sts::123456789012:"
    "assumed-role/ci/run is not authorized to perform: kms:Decrypt"
)


@pytest.mark.parametrize(
    ("failing", "call"),
    [
        ("config", lambda driver: driver.config()),
        ("config set-all", lambda driver: driver.set_config({"switchyard:liveColour": "green"})),
        ("stack output", lambda driver: driver.outputs()),
    ],
    ids=["config", "set_config", "outputs"],
)
def test_a_failed_cli_command_is_a_clean_error_with_the_cli_s_words(
    failing: str,
    call: object,
    stack: tuple[AutomationStack, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    driver, _ = stack
    monkeypatch.setenv("STANDIN_FAIL", failing)
    monkeypatch.setenv("STANDIN_FAIL_MESSAGE", DENIED)
    with pytest.raises(PulumiFailed) as failed:
        call(driver)  # type: ignore[operator]
    assert str(failed.value) == (
        f"`pulumi {failing}` on stack staging failed: error: {DENIED}; fix that and run again"
    )


def test_a_release_whose_cli_fails_exits_with_its_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "bin" / "pulumi"
    binary.parent.mkdir(parents=True)
    binary.write_text(f"#!{sys.executable}\n" + STANDIN.read_text())
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{binary.parent}:/usr/bin:/bin")
    monkeypatch.setenv("STANDIN_LOG", str(tmp_path / "standin.log"))
    monkeypatch.setenv("STANDIN_FAIL", "stack output")
    monkeypatch.setenv("STANDIN_FAIL_MESSAGE", DENIED)
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:" + "c" * 64

    code = main(["release", "--stack", "staging", "--image", image, "--records", str(tmp_path)])

    assert code == Exit.FAILED
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (
        f"error: `pulumi stack output` on stack staging failed: error: {DENIED}; fix that and "
        "run again"
    )
