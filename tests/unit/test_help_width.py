"""Every help text of ``python -m delivery`` fits an 80-column terminal, and every command's
help ends with the one table of exit codes."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from delivery import cli
from delivery.errors import EXIT_MEANINGS, Exit

ROOT = Path(__file__).resolve().parents[2]


def parsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli._parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {"python -m delivery": parser, **commands.choices}


@pytest.mark.parametrize("name", list(parsers()))
def test_the_help_fits_80_columns_and_ends_with_the_exit_codes(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps to it (HelpFormatter: COLUMNS - 2)
    text = parsers()[name].format_help()
    too_wide = [line for line in text.splitlines() if len(line) > 80]
    assert too_wide == []
    assert text.endswith(cli.EXIT_CODES)


def test_the_exit_table_lists_every_code_once() -> None:
    listed = [line.split()[0] for line in cli.EXIT_CODES.splitlines()[1:] if line[2] != " "]
    assert listed == [str(int(code)) for code in Exit]
    assert set(EXIT_MEANINGS) == set(Exit)


@pytest.mark.parametrize(
    "module",
    [
        "delivery.rehearsal.bench",
        "delivery.rehearsal.release_bench",
        "delivery.release.dast",
        "infra.bench",
        "infra.offline",
        "policy.offline",
    ],
)
def test_the_other_entry_points_help_fits_80_columns(module: str) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "80"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert shown.stdout.startswith("usage: python -m ")
    assert [line for line in shown.stdout.splitlines() if len(line) > 80] == []
