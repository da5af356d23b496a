"""The optional extras of pyproject.toml a command needs, found missing before it starts.

A module of an extra that is not installed is refused up front, with the command that installs
it at the tested versions: half a rehearsal, or a report that fails at its chart after the work,
tells a new user less than one line before anything ran.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from delivery.config.stackfile import PROJECT_ROOT
from delivery.errors import Unavailable

# Each extra's requirements by the top-level module they install (pyproject.toml's
# [project.optional-dependencies]; tests/unit/test_packaging.py holds the two to each other).
EXTRAS: Final[Mapping[str, frozenset[str]]] = {
    "rehearse": frozenset({"moto", "rich", "matplotlib"}),
}


class ExtraMissing(Unavailable):
    """A command needs an extra that is not installed; nothing was started."""


def needed(args: argparse.Namespace) -> tuple[str, ...]:
    """The extras the parsed command will import."""
    command = args.command
    if command == "rehearse" or (command == "release" and args.rehearse):
        return ("rehearse",)
    if command == "report" and args.chart is not None:
        return ("rehearse",)  # the chart is matplotlib's
    return ()


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def check(command: str, extras: Iterable[str], have: Callable[[str], bool] = installed) -> None:
    """Raise ExtraMissing naming each missing module of ``extras`` and how to install them."""
    wanted = tuple(extras)
    missing = sorted(m for extra in wanted for m in EXTRAS[extra] if not have(m))
    if missing:
        raise ExtraMissing(missing_message(command, missing, wanted))


def missing_message(command: str, modules: Iterable[str], extras: Iterable[str]) -> str:
    names = ", ".join(repr(m) for m in modules)
    return (
        f"{command} needs {names}, from the {'/'.join(extras)} extra, which is not installed; "
        f"nothing was started. Install it at the tested versions with: {install_command(extras)}"
        + (" (make rehearse does this)" if "rehearse" in extras else "")
    )


def install_command(extras: Iterable[str]) -> str:
    constraints = os.path.relpath(PROJECT_ROOT / "constraints.txt")
    project = os.path.relpath(PROJECT_ROOT)
    return f"pip install -c {constraints} -e '{project}[{','.join(extras)}]'"


def extra_of(module: str) -> str | None:
    top = module.split(".", maxsplit=1)[0]
    return next((extra for extra, modules in EXTRAS.items() if top in modules), None)
