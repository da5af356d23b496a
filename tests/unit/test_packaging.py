"""What `pulumi up` installs: the program's needs only, at the tested versions, no emulator."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from delivery.cli import REHEARSAL_EXTRA, main

ROOT = Path(__file__).resolve().parents[2]
PROGRAM_MODULES = (
    "infra.environment",
    "infra.config",
    "components.cutover",
    "delivery.cutover.provider",
    "delivery.cli",
)


def requirement_names(requirements: list[str]) -> set[str]:
    return {r.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip() for r in requirements}


def test_the_rehearsal_tools_are_an_extra_not_a_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = requirement_names(project["dependencies"])
    assert not runtime & {"moto", "rich", "matplotlib"}
    assert requirement_names(project["optional-dependencies"]["rehearse"]) == set(REHEARSAL_EXTRA)


def test_requirements_install_the_program_at_the_tested_versions() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == ["-c constraints.txt", "-e ."]
    pinned = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    runtime = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {name.lower() for name in requirement_names(runtime)} <= pinned


def test_the_program_imports_no_rehearsal_module() -> None:
    probe = (
        "import importlib, sys\n"
        f"for name in {PROGRAM_MODULES!r}: importlib.import_module(name)\n"
        f"print(sorted(n for n in sys.modules if n.split('.')[0] in {set(REHEARSAL_EXTRA)!r}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"


def test_rehearse_without_the_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [n for n in sys.modules if n.split(".")[0] == "rich"] + ["rich"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "delivery.rehearsal.command", raising=False)
    assert main(["rehearse", "--stack", "dev"]) == 2
    assert "pip install -e '.[rehearse]'" in capsys.readouterr().err


def test_a_command_that_reaches_the_extra_late_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [n for n in sys.modules if n.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)
    records = tmp_path / "records"
    records.mkdir()
    code = main(["report", "--records", str(records), "--chart", str(tmp_path / "c.png")])
    assert code == 2
    assert "report needs 'matplotlib'" in capsys.readouterr().err
