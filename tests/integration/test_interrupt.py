"""Ctrl-C: one line, no traceback, and the emulator's listener back on the old colour."""

from __future__ import annotations

import importlib.abc
import os
import runpy
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from delivery import cli
from delivery.config.model import Colour
from delivery.config.stackfile import load_stack
from delivery.cutover.aws import AwsClients
from delivery.cutover.events import Event, EventKind
from delivery.errors import Exit
from delivery.rehearsal.emulator import Emulator
from delivery.rehearsal.faults import Fault, FaultInjector
from delivery.rehearsal.run import run_scenario
from delivery.rehearsal.scenarios import parse_scenario

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("foreground_signals")]
ROOT = Path(__file__).resolve().parents[2]


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
    assert cli.main(["rehearse", "--stack", "dev"]) == Exit.INTERRUPTED
    err = capsys.readouterr().err
    assert err == "interrupted: blue=100% green=0% restored\n"


def interrupt_listener_writes(monkeypatch: pytest.MonkeyPatch, from_call: int) -> None:
    """Ctrl-C arrives while the engine's ModifyListener call number ``from_call`` is on its way,
    and again during every later one (someone keeps pressing it during the abort)."""
    calls = 0
    made = Emulator.clients

    def ctrl_c(**_: Any) -> None:
        nonlocal calls
        calls += 1
        if calls >= from_call:
            os.kill(os.getpid(), signal.SIGINT)

    def clients(self: Emulator, *args: Any, **kwargs: Any) -> AwsClients:
        made_clients = made(self, *args, **kwargs)
        if kwargs.get("counter") is not None:  # the engine's clients, not the operator's
            made_clients.elbv2.meta.events.register(
                "before-send.elastic-load-balancing-v2.ModifyListener", ctrl_c
            )
        return made_clients

    monkeypatch.setattr(Emulator, "clients", clients)


def test_a_second_ctrl_c_during_the_abort_does_not_stop_the_restore(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    interrupt_listener_writes(monkeypatch, from_call=2)  # during step 2, then the restore
    argv = ["rehearse", "--stack", "dev", "--scenario", "healthy", "--speed", "300", "--quiet"]
    assert cli.main(argv) == Exit.INTERRUPTED
    err = capsys.readouterr().err
    assert "the emulator's listener carries blue=100% green=0%, as an abort leaves it" in err
    assert err.count("\n") == 1


def test_an_abort_whose_restore_failed_does_not_claim_it_finished(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_stack("dev")
    made = Emulator.clients

    def failing_writes(self: Emulator, *args: Any, **kwargs: Any) -> AwsClients:
        made_clients = made(self, *args, **kwargs)
        if kwargs.get("counter") is not None:
            broken = Fault("ModifyListener", 100_000, code="InternalFailure", status=500, first=2)
            FaultInjector(broken).attach(made_clients.elbv2)
        return made_clients

    monkeypatch.setattr(Emulator, "clients", failing_writes)

    def ctrl_c(event: Event) -> None:
        if event.kind is EventKind.POLL and event.step == settings.traffic.steps[0]:
            raise KeyboardInterrupt

    scenario = parse_scenario("healthy", settings.traffic)
    with pytest.raises(KeyboardInterrupt) as interrupted:
        run_scenario(emulator, settings, scenario, speed=3000, on_event=ctrl_c)
    line = cli.interrupted_line(interrupted.value)
    assert "ROLLBACK FAILED" in line
    assert "the abort's restore did not finish" in line
    assert "as an abort leaves it" not in line


def test_ctrl_c_while_the_command_line_loads_prints_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class CtrlCDuringImport(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, *_: Any) -> None:
            if name == "delivery.cli":
                raise KeyboardInterrupt

    monkeypatch.delitem(sys.modules, "delivery.cli")
    monkeypatch.setattr(sys, "meta_path", [CtrlCDuringImport(), *sys.meta_path])
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("delivery", run_name="__main__")
    assert exited.value.code == Exit.INTERRUPTED
    assert capsys.readouterr().err == "interrupted\n"


def test_ctrl_c_mid_rehearsal_in_a_real_process_ends_in_one_line() -> None:
    # python -m delivery, as a foreground process starts it (SIGINT not ignored, whatever the
    # suite was started with; preexec_fn is unsafe with the emulator's threads running)
    foreground = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv[0] = 'delivery'; runpy.run_module('delivery', run_name='__main__')"
    )
    command = [sys.executable, "-c", foreground, "rehearse", "--stack", "dev"]
    command += ["--scenario", "healthy", "--speed", "30", "--quiet"]
    unbuffered = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=unbuffered,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("healthy:"):  # the scenario started; its bakes take seconds
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == Exit.INTERRUPTED
    assert "Traceback" not in err
    assert err.startswith("interrupted") and err.count("\n") == 1


def test_sigterm_while_the_command_line_loads_prints_one_line() -> None:
    terminate_during_import = (
        "import importlib.abc, os, runpy, signal, sys\n"
        "class Finder(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, *_):\n"
        "        if name == 'delivery.cli':\n"
        "            os.kill(os.getpid(), signal.SIGTERM)\n"
        "sys.meta_path.insert(0, Finder())\n"
        "sys.argv[0] = 'delivery'\n"
        "runpy.run_module('delivery', run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", terminate_during_import, "check", "--stack", "dev"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (Exit.INTERRUPTED, "interrupted\n")
