"""Runs the Pulumi program for a stack file under the mock runtime."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi

from delivery.settings import SECRET_VALUES_KEY
from delivery.stackfile import stack_config
from infra.config import read_stack_config
from infra.environment import build_environment
from tests.program.mocks import RecordingMocks, install

SECRET_VALUES = {
    "database-password": "db-pa55-not-for-logs",
    "api-signing-key": "signing-key-not-for-logs",
    "chat-webhook": "https://chat.example.com/hooks/not-for-logs",
    "pager-webhook": "https://pager.example.com/v1/not-for-logs",
}


@dataclass
class Evaluation:
    mocks: RecordingMocks
    exports: dict[str, Any] = field(default_factory=dict)


def config_for(
    stack: str,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = SECRET_VALUES,
) -> dict[str, str]:
    """The stack file's config as Pulumi hands it to a program: every value as text."""
    raw: dict[str, Any] = {**stack_config(stack), **(overrides or {})}
    if secrets is not None:
        raw[SECRET_VALUES_KEY] = secrets
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items() if v is not None}


def evaluate(
    stack: str,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = SECRET_VALUES,
    mocks: RecordingMocks | None = None,
    **build: Any,
) -> Evaluation:
    """Run the program; pass ``mocks`` to inspect what was registered even when it raises."""
    evaluation = Evaluation(mocks if mocks is not None else RecordingMocks())
    install(evaluation.mocks, stack)
    secret_keys = [SECRET_VALUES_KEY] if secrets is not None else []
    pulumi.runtime.set_all_config(config_for(stack, overrides, secrets), secret_keys)

    @pulumi.runtime.test
    def run() -> pulumi.Output[Any]:
        exports = build_environment(read_stack_config(), **build)
        return pulumi.Output.from_input(exports).apply(evaluation.exports.update)

    run()
    return evaluation
