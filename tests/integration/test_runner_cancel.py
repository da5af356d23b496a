"""GitHub's runner cancelling the prod release at each phase (delivery/rehearsal/runner.py:
SIGINT to the step's process, SIGTERM 7.5 s later, SIGKILL 2.5 s after), played with real
signals against `release --rehearse` in this process, prod's pollSeconds (15 s) included.

The runner watches the listener from outside; what it saw is the test's evidence. A driver
still busy at 10 s would be killed with the test's process, and the test with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from delivery.cli import main
from delivery.config.stackfile import load_stack
from delivery.errors import Exit
from delivery.plans.schedule import Weights

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("foreground_signals")]
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:" + "d" * 64
PROD = load_stack("prod")
SAFE = Weights.all_on(PROD.live_colour)
BEFORE_PROMOTE = ("stage", "smoke", "load")


def cancelled(at: str, tmp_path: Path) -> tuple[int, str, list[dict[str, Any]]]:
    code = main(
        [
            "release",
            "--stack",
            "prod",
            "--image",
            IMAGE,
            "--rehearse",
            "--scenario",
            f"cancel-at:{at}",
            "--records",
            str(tmp_path / "records"),
            "--json",
            str(tmp_path / "record.json"),
        ]
    )
    stored = [json.loads(p.read_text()) for p in (tmp_path / "records" / "prod").glob("*.json")]
    return code, at, stored


def test_prod_polls_every_15_seconds() -> None:
    assert PROD.traffic.poll_seconds == 15


@pytest.mark.parametrize("step", [str(s) for s in PROD.traffic.steps])
def test_a_cancel_during_each_step_puts_all_traffic_back_and_records_the_abort(
    step: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, stored = cancelled(step, tmp_path)
    out = capsys.readouterr().out

    assert code == Exit.INTERRUPTED
    assert f"runner cancel: sent SIGINT; listener {SAFE} " in out
    (record,) = stored
    assert record["outcome"] == "aborted"
    assert record["phases"][-1]["phase"] == "promote"
    assert record["phases"][-1]["detail"] == "interrupted"
    assert f"the driver restored {SAFE}" in str(record["cause"])
    assert record["failed_at"] and record["restored_at"]
    assert str(record["failed_at"]) <= str(record["restored_at"])


@pytest.mark.parametrize("phase", BEFORE_PROMOTE)
def test_a_cancel_before_promote_moves_nothing_and_leaves_the_release_to_resume(
    phase: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, stored = cancelled(phase, tmp_path)
    out, err = capsys.readouterr()

    assert code == Exit.INTERRUPTED
    assert f"runner cancel: sent SIGINT; listener {SAFE} " in out
    (record,) = stored
    assert err.splitlines()[-1].startswith(f"interrupted: release {record['id']} interrupted in ")
    assert "before any traffic moved; run the same release again to resume it" in err
    assert record["outcome"] is None  # open, to be resumed, and saying so
    assert record["cause"].startswith("interrupted in ")
    assert record["cause"].endswith(
        "before any traffic moved; run the same release again to resume it"
    )
    phases = {p["phase"]: p for p in record["phases"]}
    assert "promote" not in phases
    assert any(p["detail"] == "interrupted" for p in phases.values())
