"""The Kubernetes objects of a stack's offline graph as the API server receives them, for the
schema tests (tests/program/manifests.py) and the manifest linter of ``make audit``."""

from __future__ import annotations

from typing import Any

from infra.offline import Evaluation, Registered


def whole_numbers(value: Any) -> Any:
    """Pulumi carries numbers as doubles; Kubernetes gets integral ones as integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


def kubernetes_objects(run: Evaluation) -> list[Registered]:
    """Every object the program declares itself (a Helm release's objects are the chart's)."""
    return [
        r
        for r in run.mocks.resources
        if r.type.startswith("kubernetes:") and r.type != "kubernetes:helm.sh/v3:Release"
    ]


def render(resource: Registered) -> dict[str, Any]:
    manifest = whole_numbers(dict(resource.inputs))
    assert manifest.get("apiVersion") and manifest.get("kind"), resource.name
    return dict(manifest)
