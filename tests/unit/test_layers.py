"""The layers of docs/architecture.md, enforced: every import in delivery/ points down.

configuration model → pure planning → state machine over ports → AWS adapters → Pulumi
adapters; the release driver builds on those; the rehearsal rehearses all of them; the command
line sits on top. A cutover module is an AWS adapter when it imports boto3 or botocore and a
Pulumi adapter when it imports pulumi, so a new file is judged by what it does.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

DELIVERY = Path(__file__).resolve().parents[2] / "delivery"
ENGINE, AWS_ADAPTER, PULUMI_ADAPTER = 3.0, 3.5, 3.7
PACKAGE_RANKS = {
    "errors": 0,
    "config": 1,
    "plans": 2,
    "cutover": ENGINE,
    "release": 4,
    "rehearsal": 5,
}
COMMAND_LINE = 6
CLOUD_LIBRARIES = {"boto3", "botocore", "pulumi", "pulumi_aws", "moto"}


@dataclass(frozen=True)
class Module:
    name: str
    imports: frozenset[str]

    def __str__(self) -> str:
        return self.name

    @property
    def package(self) -> str:
        """The folder (or top-level module) under delivery/; empty for delivery itself."""
        parts = self.name.split(".")
        return parts[1] if len(parts) > 1 else ""

    @property
    def rank(self) -> float:
        if self.name in ("delivery.__main__", "delivery.cli") or self.name.endswith(".command"):
            return COMMAND_LINE
        if self.package in ("cli_args", "interrupts", "extras", "streams"):
            return COMMAND_LINE
        rank = PACKAGE_RANKS[self.package]
        if self.package == "cutover":
            roots = {i.split(".")[0] for i in self.imports}
            if roots & {"pulumi"}:
                return PULUMI_ADAPTER
            if roots & {"boto3", "botocore"}:
                return AWS_ADAPTER
        return rank


def read_modules(root: Path = DELIVERY) -> dict[str, Module]:
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        imports = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imports |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imports.add(node.module)
        modules[name] = Module(name, frozenset(imports))
    return modules


def imported_module(name: str, modules: dict[str, Module]) -> Module | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return modules.get(name)


MODULES = read_modules()


@pytest.mark.parametrize(
    "module",
    sorted(MODULES.values(), key=str),
    ids=str,
)
def test_every_import_points_down(module: Module) -> None:
    if not module.package:
        return
    upward = []
    for name in module.imports:
        if not name.startswith("delivery."):
            continue
        target = imported_module(name, MODULES)
        if target and target.package and target.rank > module.rank:
            upward.append(f"{name} (layer {target.rank} above {module.rank})")
    assert not upward, f"{module.name} imports upward: {upward}"


@pytest.mark.parametrize("package", ["config", "plans"])
def test_the_model_and_the_planners_call_no_cloud(package: str) -> None:
    callers = {
        m.name: sorted(i for i in m.imports if i.split(".")[0] in CLOUD_LIBRARIES - {"botocore"})
        for m in MODULES.values()
        if m.package == package
    }
    assert {name: found for name, found in callers.items() if found} == {}


def test_the_engine_knows_neither_aws_nor_pulumi() -> None:
    engine = MODULES["delivery.cutover.engine"]
    assert not {i.split(".")[0] for i in engine.imports} & CLOUD_LIBRARIES
    assert engine.rank == ENGINE


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    (tmp_path / "delivery" / "config").mkdir(parents=True)
    (tmp_path / "delivery" / "cutover").mkdir()
    (tmp_path / "delivery" / "config" / "model.py").write_text(
        "from delivery.cutover.aws import make_clients\n"
    )
    (tmp_path / "delivery" / "cutover" / "aws.py").write_text("import boto3\n")
    modules = read_modules(tmp_path / "delivery")
    model, aws = modules["delivery.config.model"], modules["delivery.cutover.aws"]
    assert aws.rank == AWS_ADAPTER > model.rank
