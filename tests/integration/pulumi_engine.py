"""The Pulumi engine's side of a dynamic resource, for tests.

Every call goes through the dynamic provider's own gRPC servicer
(``DynamicResourceProviderServicer`` in ``pulumi/dynamic/__main__.py``, the process
``pulumi up`` talks to), with the properties serialised by
``pulumi.runtime.rpc.serialize_properties`` and the provider pickled by
``pulumi.dynamic.dynamic.serialize_provider``, as a real program does. The state (id, inputs,
outputs) is kept between operations the way the engine keeps it: a failed create or update
leaves it as it was; a refresh replaces the outputs with what ``read`` says, or drops the
resource when ``read`` returns an empty id (it no longer exists).
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import types
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NoReturn

from google.protobuf import struct_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import proto, rpc

PROVIDER_KEY = "__provider"


@cache
def _servicer_module() -> types.ModuleType:
    """``pulumi.dynamic.__main__`` without its last statement, ``main()``: importing the module
    as is starts a gRPC server and waits forever. Everything else is Pulumi's own code."""
    spec = importlib.util.find_spec("pulumi.dynamic.__main__")
    assert spec is not None and spec.loader is not None and spec.origin is not None
    tree = ast.parse(spec.loader.get_source("pulumi.dynamic.__main__") or "")  # type: ignore[attr-defined]
    last = tree.body[-1]
    assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call), "layout changed"
    tree.body.pop()
    module = types.ModuleType("pulumi_dynamic_servicer")
    module.__file__ = spec.origin
    exec(compile(tree, spec.origin, "exec"), module.__dict__)
    assert module.PROVIDER_KEY == PROVIDER_KEY
    return module


URN = (
    "urn:pulumi:test::switchyard::switchyard:cutover:BlueGreenCutover"
    "$pulumi-python:dynamic:Resource::cutover-weights"
)


class ProviderFailed(Exception):
    """The provider raised: what ``pulumi up`` prints (the servicer sends the traceback)."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


class CheckFailed(Exception):
    def __init__(self, failures: list[tuple[str, str]]) -> None:
        super().__init__(f"check failed: {failures}")
        self.failures = failures


class _Context:
    """What the servicer needs of a gRPC context: ``abort`` ends the call with the details."""

    def abort(self, _code: Any, details: str) -> NoReturn:
        raise ProviderFailed(details)


def serialize(props: dict[str, Any]) -> struct_pb2.Struct:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


def deserialize(struct: struct_pb2.Struct) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct, keep_unknowns=True))


@dataclass
class DynamicEngine:
    """One dynamic resource's life under ``pulumi up`` / ``pulumi refresh``."""

    provider: ResourceProvider
    id: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    operations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._servicer = _servicer_module().DynamicResourceProviderServicer()
        self._context = _Context()
        self._pickled = serialize_provider(self.provider)

    def check(self, inputs: dict[str, Any]) -> dict[str, Any]:
        news = {**inputs, PROVIDER_KEY: self._pickled}
        olds = {**self.inputs, PROVIDER_KEY: self._pickled} if self.inputs else {}
        request = proto.CheckRequest(urn=URN, olds=serialize(olds), news=serialize(news))
        reply = self._servicer.Check(request, self._context)
        failures = [(f.property, f.reason) for f in reply.failures]
        if failures:
            raise CheckFailed(failures)
        return deserialize(reply.inputs)

    def up(self, inputs: dict[str, Any]) -> str:
        """check → (create | diff → update or nothing); returns what happened."""
        checked = self.check(inputs)
        if self.id is None:
            return self._create(checked)
        # Diff and Update both get the old outputs as olds, as the engine sends them.
        change = {
            "id": self.id,
            "urn": URN,
            "olds": serialize(self.outputs),
            "news": serialize(checked),
            "old_inputs": serialize(self.inputs),
        }
        diff = self._servicer.Diff(proto.DiffRequest(**change), self._context)
        if diff.changes == proto.DiffResponse.DIFF_NONE:
            self.operations.append("same")
            return "same"
        if diff.replaces:
            self.operations.append("replace")
            self._servicer.Delete(
                proto.DeleteRequest(id=self.id, urn=URN, properties=serialize(self.outputs)),
                self._context,
            )
            self.id, self.inputs, self.outputs = None, {}, {}
            return self._create(checked)
        # Raises ProviderFailed when the provider fails: the state stays as it was.
        reply = self._servicer.Update(proto.UpdateRequest(**change), self._context)
        self.inputs, self.outputs = checked, deserialize(reply.properties)
        self.operations.append("update")
        return "update"

    def refresh(self) -> None:
        assert self.id is not None
        reply = self._servicer.Read(
            proto.ReadRequest(
                id=self.id,
                urn=URN,
                properties=serialize(self.outputs),
                inputs=serialize(self.inputs),
            ),
            self._context,
        )
        if not reply.id:  # the provider found it gone: the engine drops it from the state
            self.id, self.inputs, self.outputs = None, {}, {}
            self.operations.append("refresh-gone")
            return
        self.outputs = deserialize(reply.properties)
        self.operations.append("refresh")

    def _create(self, checked: dict[str, Any]) -> str:
        reply = self._servicer.Create(
            proto.CreateRequest(urn=URN, properties=serialize(checked)), self._context
        )
        self.id, self.inputs, self.outputs = reply.id, checked, deserialize(reply.properties)
        self.operations.append("create")
        return "create"
