"""`pulumi preview --policy-pack policy` runs policy/__main__.py: the pack it builds must pass
pulumi-policy's own checks (names, levels, policies) before the analyzer server starts."""

from __future__ import annotations

import runpy
from pathlib import Path

import grpc  # grpcio ships no type information: pyproject.toml ignores its imports
import pytest
from pulumi_policy import policy as sdk

ENTRY = Path(__file__).resolve().parents[2] / "policy" / "__main__.py"


class ServerWouldStart(Exception):
    pass


def test_the_entry_point_builds_a_valid_pack_up_to_serving_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[sdk._PolicyAnalyzerServicer] = []
    real = sdk._PolicyAnalyzerServicer

    def servicer(*args: object) -> sdk._PolicyAnalyzerServicer:
        built.append(real(*args))  # type: ignore[arg-type]
        return built[-1]

    def server(*args: object, **kwargs: object) -> None:
        raise ServerWouldStart

    monkeypatch.setattr(sdk, "_PolicyAnalyzerServicer", servicer)
    monkeypatch.setattr(grpc, "server", server)  # the SDK calls grpc.server to serve the pack
    with pytest.raises(ServerWouldStart):
        runpy.run_path(str(ENTRY), run_name="__main__")
    assert len(built) == 1  # one pack, every policy accepted by the SDK
