"""Ctrl-C: one line, no traceback, and the emulator's listener back on the old colour."""

from __future__ import annotations

import pytest

from delivery import __main__ as cli
from delivery.config.model import Colour
from delivery.config.stackfile import load_stack
from delivery.cutover.events import Event, EventKind
from delivery.rehearsal.emulator import Emulator
from delivery.rehearsal.run import run_scenario
from delivery.rehearsal.scenarios import parse_scenario

pytestmark = pytest.mark.integration


def test_an_interrupted_rehearsal_restores_the_old_colour_and_says_so(
    emulator: Emulator,
) -> None:
    settings = load_stack("dev")

    def ctrl_c(event: Event) -> None:
        if event.kind is EventKind.POLL and event.step == 50:
            raise KeyboardInterrupt

    scenario = parse_scenario("healthy", settings.traffic)
    with pytest.raises(KeyboardInterrupt) as interrupted:
        run_scenario(emulator, settings, scenario, speed=300, on_event=ctrl_c)
    line = cli.interrupted_line(interrupted.value)
    assert line.startswith("interrupted: interrupted (Ctrl-C); aborted at step 50%")
    assert "the emulator's listener carries blue=100% green=0%" in line
    assert "\n" not in line
    assert settings.live_colour is Colour.BLUE


def test_the_command_prints_one_line_and_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*_: object) -> int:
        error = KeyboardInterrupt()
        error.add_note("blue=100% green=0% restored")
        raise error

    monkeypatch.setattr(cli, "_rehearse", interrupted)
    assert cli.main(["rehearse", "--stack", "dev"]) == cli.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err == "interrupted: blue=100% green=0% restored\n"
