"""Reads a ``Pulumi.<stack>.yaml`` into the configuration model, for code that runs outside
the Pulumi engine (check, rehearsal, benchmark, offline preview, CI driver). The program reads
the same keys through ``pulumi.Config`` in ``infra/config.py``; both end in
``delivery.config.settings.load_settings``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from delivery.config.model import Settings
from delivery.config.settings import load_settings
from delivery.errors import ConfigError, Problem, SwitchyardError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class StackNotFound(SwitchyardError):
    pass


class StackFileError(SwitchyardError):
    """The stack file cannot be read as Pulumi would read it."""


class _StrictLoader(yaml.SafeLoader):
    """Records keys set twice in one mapping, which YAML would otherwise resolve silently by
    keeping the last."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[Problem] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, str | int | float | bool) and key in seen:
                self.duplicates.append(
                    Problem(
                        str(key),
                        f"is set twice (lines {seen[key]} and {line}), and YAML would keep "
                        "only the last; delete one",
                    )
                )
            seen.setdefault(key, line)
        return super().construct_mapping(node, deep=deep)


def available_stacks(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml")
    )


def read_yaml(path: Path) -> Any:
    """A YAML document, read strictly: a syntax error is a StackFileError, a key set twice a
    ConfigError naming it."""
    try:
        loader = _StrictLoader(path.read_text(encoding="utf-8"))
        try:
            document = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path.name} is not valid YAML: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:  # e.g. an integer of 5,000 digits
        raise StackFileError(f"{path.name} cannot be read: {exc}") from None
    if loader.duplicates:
        raise ConfigError(loader.duplicates, source=path.name)
    return document


def stack_config(stack: str, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(available_stacks(root)) or "none"
        raise StackNotFound(f"no stack file {path.name} in {root}; known stacks: {known}")
    document = read_yaml(path) or {}
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise StackFileError(f"{path.name} has no `config:` mapping")
    return config


def load_stack(stack: str, root: Path = PROJECT_ROOT) -> Settings:
    return load_settings(stack_config(stack, root), stack)
