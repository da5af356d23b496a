"""What `pulumi up` installs: the program's needs only, at the tested versions, no emulator."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import delivery.extras
from delivery.cli import REHEARSAL_EXTRA, main
from delivery.errors import Exit
from delivery.extras import EXTRAS

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:" + "c" * 64
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


def hide(monkeypatch: pytest.MonkeyPatch, top: str) -> None:
    """Make ``top`` uninstalled for this test: import fails and find_spec finds nothing."""
    for name in [n for n in sys.modules if n.split(".")[0] == top] + [top]:
        monkeypatch.setitem(sys.modules, name, None)


def test_each_extra_names_the_modules_its_requirements_install() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    distributions = importlib.metadata.packages_distributions()
    for extra, modules in EXTRAS.items():
        installed_by = {d.lower() for m in modules for d in distributions[m]}
        assert installed_by == {r.lower() for r in requirement_names(extras[extra])}, extra


INSTALL = "pip install -c constraints.txt -e '.[{}]'"


@pytest.mark.parametrize(
    ("argv", "module", "extra"),
    [
        (["rehearse", "--stack", "dev", "--json", "{tmp}/r.json"], "rich", "rehearse"),
        (
            ["release", "--rehearse", "--stack", "staging", "--image", IMAGE, "--json", "{tmp}/r"],
            "moto",
            "rehearse",
        ),
        (
            ["report", "--records", "{tmp}/records", "--chart", "{tmp}/c.png"],
            "matplotlib",
            "rehearse",
        ),
    ],
)
def test_a_missing_extra_is_refused_before_the_command_does_anything(
    argv: list[str],
    module: str,
    extra: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hide(monkeypatch, module)
    monkeypatch.chdir(ROOT)  # the install command is given relative to where it is run
    argv = [a.format(tmp=tmp_path) for a in argv]

    assert main(argv) == Exit.UNAVAILABLE

    (err,) = capsys.readouterr().err.splitlines()  # that one line, before any other work
    assert f"needs {module!r}, from the {extra} extra" in err
    assert INSTALL.format(extra) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no records, chart or comment


def test_an_extra_missing_where_it_was_not_foreseen_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hide(monkeypatch, "matplotlib")
    monkeypatch.setattr(delivery.extras, "needed", lambda args: ())  # a broken install's way in
    records = tmp_path / "records"
    records.mkdir()
    code = main(["report", "--records", str(records), "--chart", str(tmp_path / "c.png")])
    assert code == Exit.UNAVAILABLE
    assert "report needs 'matplotlib', from the rehearse extra" in capsys.readouterr().err
