"""Every help text of the command line fits an 80-column terminal."""

from __future__ import annotations

import subprocess
import sys

import pytest

COMMANDS = [
    "",
    "check",
    "rehearse",
    "release",
    "status",
    "release-state",
    "preview",
    "report",
    "incident",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_the_help_fits_80_columns(command: str) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "delivery", *([command] if command else []), "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "80", "PATH": ""},
    ).stdout
    wide = [line for line in shown.splitlines() if len(line) > 80]
    assert wide == []
