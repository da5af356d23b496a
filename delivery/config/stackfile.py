"""Reads a ``Pulumi.<stack>.yaml`` into the configuration model, for code that runs outside
the Pulumi engine (rehearsal, benchmark, CI driver). The program reads the same keys through
``pulumi.Config`` in ``infra/config.py``; both end in ``delivery.settings.load_settings``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from delivery.config.model import Settings
from delivery.config.settings import load_settings
from delivery.errors import SwitchyardError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class StackNotFound(SwitchyardError):
    pass


def available_stacks(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml")
    )


def stack_config(stack: str, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(available_stacks(root)) or "none"
        raise StackNotFound(f"no stack file {path.name} in {root}; known stacks: {known}")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise StackNotFound(f"{path.name} is not valid YAML: {exc}") from exc
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise StackNotFound(f"{path.name} has no `config:` mapping")
    return config


def load_stack(stack: str, root: Path = PROJECT_ROOT) -> Settings:
    return load_settings(stack_config(stack, root), stack)
