"""Reads the stack's configuration through Pulumi's runtime into the one typed model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from delivery.config.model import Settings
from delivery.config.settings import SECRET_VALUES_KEY, load_settings
from delivery.errors import ConfigError, Problem


@dataclass(frozen=True)
class StackConfig:
    settings: Settings
    secret_values: dict[str, pulumi.Output[str]]  # Pulumi secrets, never plain text


def read_stack_config() -> StackConfig:
    """Every config value of this stack, validated before any resource is registered.

    Values go over as Pulumi holds them (text, JSON text for arrays), so one ConfigError lists
    every bad or misspelt key instead of the first typed getter failing alone.
    """
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    stack = pulumi.get_stack()
    settings = load_settings(raw, stack)
    return StackConfig(settings, _secret_values(settings, raw.get(SECRET_VALUES_KEY), stack))


def _secret_values(settings: Settings, raw: Any, stack: str) -> dict[str, pulumi.Output[str]]:
    def how(name: str) -> str:
        return f"pulumi config set --secret --path '{SECRET_VALUES_KEY}.{name}' <value>"

    needed = settings.secret_value_keys
    if raw is not None and not runtime_config.is_config_secret(SECRET_VALUES_KEY):
        raise ConfigError(
            [
                Problem(
                    SECRET_VALUES_KEY,
                    f"is stored in plain text; remove it and set each value with `{how('<name>')}`",
                )
            ],
            source=f"stack {stack!r}",
        )
    values = raw if isinstance(raw, dict) else json.loads(raw) if isinstance(raw, str) else {}
    problems = [
        Problem(f"{SECRET_VALUES_KEY}.{key}", f"is missing; set it with `{how(key)}`")
        for key in needed
        if not isinstance(values.get(key), str) or not values[key]
    ]
    if problems:
        raise ConfigError(problems, source=f"stack {stack!r}")
    return {key: pulumi.Output.secret(values[key]) for key in needed}
