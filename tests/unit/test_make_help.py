"""`make help` lists every target the Makefile declares phony, each with what it does."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_help_lists_every_target_with_its_purpose() -> None:
    makefile = (ROOT / "Makefile").read_text()
    (phony,) = re.findall(r"^\.PHONY: (.+)$", makefile, re.MULTILINE)
    shown = subprocess.run(
        ["make", "--no-print-directory", "-s", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    described = {line.split()[0]: line.split(None, 1)[1] for line in shown if line.strip()}
    assert set(phony.split()) <= set(described), set(phony.split()) - set(described)
    assert all(len(line) <= 100 for line in shown)
