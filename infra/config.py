"""Reads the stack's configuration through Pulumi's runtime into the one typed model."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from delivery.settings import PROJECT, REGION_KEY, Settings, load_settings


def read_settings() -> Settings:
    """Every config value of this stack, validated together by ``delivery.settings``.

    Values go over as Pulumi holds them (text, JSON text for arrays), so one ConfigError lists
    every bad or misspelt key instead of the first typed getter failing alone.
    """
    every = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    raw: dict[str, Any] = {
        key: value for key, value in every.items() if key.startswith(f"{PROJECT}:")
    }
    region = pulumi.Config("aws").get("region")
    if region is not None:
        raw[REGION_KEY] = region
    return load_settings(raw, pulumi.get_stack())
