"""The driver's `up` and `preview` run the security baseline: the Automation API passes the
pack to the CLI (here the stand-in, tests/standin_pulumi.py, run as ``bin/pulumi``), its
violations reach the output and the preview comment, and a mandatory one stops the run."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from delivery.errors import SwitchyardError
from delivery.release.automation import POLICY_PACK, AutomationStack, open_stack
from delivery.release.port import UpFailed
from delivery.release.preview import plan_from_events, render
from delivery.release.pulumi_cli import CancellableCommand

pytestmark = pytest.mark.integration
STANDIN = Path(__file__).resolve().parents[1] / "standin_pulumi.py"


def violation(level: str) -> dict[str, str]:
    return {
        "message": "the ALB listener forwards HTTP without redirecting to HTTPS",
        "policyName": "elb-http-redirects-to-https",
        "policyPackName": "switchyard-baseline",
        "policyPackVersion": "0.1.0",
        "enforcementLevel": level,
        "resourceUrn": "urn:pulumi:staging::switchyard::aws:lb/listener:Listener::traffic-http",
    }


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[AutomationStack, Path]:
    binary = tmp_path / "bin" / "pulumi"
    binary.parent.mkdir(parents=True)
    binary.write_text(f"#!{sys.executable}\n" + STANDIN.read_text())
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "standin.log"
    monkeypatch.setenv("STANDIN_LOG", str(log))
    monkeypatch.setenv("STANDIN_LOCKS", str(tmp_path / "locks"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: switchyard\nruntime: python\n")
    command = CancellableCommand(root=str(tmp_path))
    said: list[str] = []
    return AutomationStack(open_stack("staging", project, command), said.append, command), log


def argv(log: Path, verb: str) -> list[str]:
    (line,) = [x for x in log.read_text().splitlines() if x.startswith(f"argv {verb} ")]
    return line.split()


def test_up_and_preview_run_the_baseline_pack(
    stack: tuple[AutomationStack, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    driver, log = stack
    monkeypatch.setenv("STANDIN_POLICY", json.dumps(violation("advisory")))
    events: list[object] = []
    driver.preview(events.append)
    driver.up(lambda _: None)
    for verb in ("preview", "up"):
        args = argv(log, verb)
        assert args[args.index("--policy-pack") + 1] == str(POLICY_PACK)
    assert (POLICY_PACK / "PulumiPolicy.yaml").is_file()


def test_an_advisory_violation_is_kept_in_the_preview_comment(
    stack: tuple[AutomationStack, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    driver, _ = stack
    monkeypatch.setenv("STANDIN_POLICY", json.dumps(violation("advisory")))
    events: list[object] = []
    driver.preview(events.append)
    text = render(plan_from_events("staging", events))  # type: ignore[arg-type]
    assert "1 policy violation(s)" in text
    assert "advisory policy violation: switchyard-baseline/elb-http-redirects-to-https on " in text
    assert "traffic-http" in text


def test_a_mandatory_violation_fails_the_preview_and_the_up_naming_it(
    stack: tuple[AutomationStack, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    driver, _ = stack
    monkeypatch.setenv("STANDIN_POLICY", json.dumps(violation("mandatory")))
    with pytest.raises(SwitchyardError, match="mandatory policy violation: switchyard-baseline/"):
        driver.preview(lambda _: None)
    with pytest.raises(UpFailed, match="elb-http-redirects-to-https on traffic-http"):
        driver.up(lambda _: None)
