"""The main command end to end: scenarios, report, chart, exit codes and bad input."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

import pytest

from delivery.cli import main
from delivery.config.model import TrafficPolicy
from delivery.config.stackfile import load_stack
from delivery.rehearsal import command
from delivery.rehearsal.scenarios import Outcome, Scenario, parse_scenario

pytestmark = pytest.mark.integration
FAST = ["--stack", "dev", "--speed", "300", "--quiet"]


def settled_thread_count(expected: int) -> int:
    """Request threads of the stopped server may take a moment to return."""
    for _ in range(50):
        if threading.active_count() <= expected:
            break
        time.sleep(0.1)
    return threading.active_count()


def rehearse(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    report = tmp_path / "report.json"
    code = main(
        ["rehearse", *FAST, "--json", str(report), "--chart", str(tmp_path / "chart.png"), *args]
    )
    return code, json.loads(report.read_text())


def test_the_default_story_promotes_then_rolls_back(tmp_path: Path) -> None:
    threads_before = threading.active_count()
    code, report = rehearse(tmp_path)
    assert code == 0
    healthy, failing = report["runs"]
    assert healthy["scenario"] == "healthy"
    assert healthy["outcome"] == "promoted"
    assert healthy["reaction_wall_ms"] is None and healthy["reaction_policy_seconds"] is None
    assert [s["step"] for s in healthy["steps"]] == [50, 100]
    assert healthy["api_calls"]["calls"]["ModifyListener"] == 2
    assert healthy["final_weights"] == {"blue": 0, "green": 100}
    assert failing["scenario"] == "fail-at:50"
    assert failing["outcome"] == "rolled-back"
    assert failing["final_weights"] == {"blue": 100, "green": 0}
    assert failing["alarm_events"][0]["state"] == "ALARM"
    assert failing["reaction_wall_ms"] > 0  # measured, not judged: speed is the benchmark's job
    # in policy time the alarm is seen at the next poll: at most one poll interval and the
    # calls' own time, where the wall clock saw a few milliseconds
    assert 0 <= failing["reaction_policy_seconds"] <= load_stack("dev").traffic.poll_seconds + 1
    assert failing["api_calls"]["calls"]["ModifyListener"] == 2  # the 50% step + the rollback
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
    # the rollback's post-incident record, beside the chart, printed too
    (kept,) = tmp_path.glob("post-incident-dev-fail-at-50-*.md")
    text = kept.read_text()
    assert text.startswith("# Post-incident record: release dev-")
    assert "(cutover +" in text and "rollback-set | 100 | 0 |" in text
    assert "dev pages nobody for critical" in text
    # the emulator left no thread behind (a transient one from an earlier test may have ended)
    assert settled_thread_count(threads_before) <= threads_before


@pytest.mark.parametrize(
    ("scenario", "outcome"),
    [
        ("unhealthy-green", "refused"),
        ("already-firing", "refused"),
        ("insufficient-data", "promoted"),  # dev ignores missing data
    ],
)
def test_each_scenario_ends_as_expected(tmp_path: Path, scenario: str, outcome: str) -> None:
    code, report = rehearse(tmp_path, "--scenario", scenario)
    assert code == 0
    (run,) = report["runs"]
    assert run["outcome"] == outcome
    if outcome == "refused":
        assert "ModifyListener" not in run["api_calls"]["calls"]
        assert run["final_weights"] == {"blue": 100, "green": 0}


def test_an_alarm_that_clears_before_the_next_poll_still_rolls_back(tmp_path: Path) -> None:
    # dev polls every 5 s; slow enough a rehearsal that each half-poll ALARM is really set
    code = main(
        [
            "rehearse",
            "--stack",
            "dev",
            "--speed",
            "30",
            "--quiet",
            "--scenario",
            "flapping",
            "--json",
            str(tmp_path / "r.json"),
            "--chart",
            str(tmp_path / "c.png"),
        ]
    )
    (run,) = json.loads((tmp_path / "r.json").read_text())["runs"]
    assert code == 0
    marks = [(e["state"], e["at"]) for e in run["alarm_events"]]
    (first_alarm, raised), (cleared, cleared_at) = marks[:2]
    assert (first_alarm, cleared) == ("ALARM", "OK")
    assert cleared_at - raised < 5  # it cleared before the next poll could see it again
    assert run["outcome"] == "rolled-back"
    rollback = next(s for s in run["steps"] if s["result"] == "rolled-back")
    assert any(
        at > rollback["started_at"] + rollback["baked_seconds"] for s, at in marks if s == "OK"
    )
    assert run["final_weights"] == {"blue": 100, "green": 0}  # the rollback stuck
    moved = [s for s in run["steps"] if s.get("weights")]
    assert run["api_calls"]["calls"]["ModifyListener"] == len(moved) + 1  # steps + the rollback


def test_the_emulator_port_is_closed_afterwards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["rehearse", *FAST, "--scenario", "healthy", "--chart", str(tmp_path / "c.png")])
    assert code == 0
    out = capsys.readouterr().out
    endpoint = next(line for line in out.splitlines() if "listening on" in line).split()[-1]
    host, port = endpoint.removeprefix("http://").split(":")
    assert host == "127.0.0.1"
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection((host, int(port)), timeout=1),
    ):
        pass


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rehearse", "--stack", "qa"], "no stack file Pulumi.qa.yaml"),
        (["rehearse", "--stack", "dev", "--scenario", "meteor"], "unknown scenario 'meteor'"),
        (["rehearse", "--stack", "dev", "--scenario", "fail-at:10"], "one of this stack's steps"),
        (["check", "--stack", "qa"], "known stacks: dev, prod, staging"),
    ],
)
def test_bad_input_is_a_clear_error_and_exit_code_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--speed", "0", "must be a positive number"),
        ("--speed", "-1", "must be a positive number"),
        ("--speed", "nan", "must be a positive number"),
        ("--speed", "inf", "must be a positive number"),
        ("--speed", "fast", "must be a positive number"),
        ("--chart", "chart.txt", "must be a .png file"),
        ("--chart", "{tmp}/a-file/sub/c.png", "is not a folder this user may write in"),
        ("--json", "{tmp}", "is a folder; name a file in it"),
        ("--json", "/switchyard-no-such-folder/r.json", "would create a folder at the filesystem"),
    ],
)
def test_bad_options_stop_before_the_emulator_starts(
    tmp_path: Path, option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(SystemExit) as stopped:
        main(["rehearse", "--stack", "dev", option, value.format(tmp=tmp_path)])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {option}: " in error
    assert message in error


def test_a_scenario_that_ends_otherwise_than_expected_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def expects_promotion(text: str, policy: TrafficPolicy) -> Scenario:
        return dataclasses.replace(parse_scenario(text, policy), expected=Outcome.PROMOTED)

    monkeypatch.setattr(command, "parse_scenario", expects_promotion)
    code, report = rehearse(tmp_path, "--scenario", "fail-at:50")
    assert code == 1
    assert report["runs"][0]["outcome"] == "rolled-back"
    assert report["runs"][0]["as_expected"] is False


def test_an_interrupt_prints_one_line_and_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*_: object) -> NoReturn:
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "run_scenario", interrupted)
    assert main(["rehearse", *FAST, "--scenario", "healthy"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_check_prints_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--stack", "prod"]) == 0
    out = capsys.readouterr().out
    assert "steps [10, 50, 100], bake 600s each" in out
    assert "at most 15s after it fires" in out
    assert "error-rate 435s, cpu 735s" in out
