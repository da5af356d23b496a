"""Pulumi's mock runtime, recording every resource the program registers."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import dill
import pulumi
from pulumi.runtime.mocks import MockMonitor

ACCOUNT = "123456789012"
REGION = "eu-west-1"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # how Pulumi marks a secret on the wire
ZONES = [f"{REGION}{suffix}" for suffix in "abcdef"]


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool
    provider: str | None


def _hex(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def _outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The computed outputs AWS would return, in the shape the program and tests need."""
    elb = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"
    extra: dict[str, Any] = {"arn": f"arn:aws:mock:{REGION}:{ACCOUNT}:{name}"}
    if type_ == "aws:lb/loadBalancer:LoadBalancer":
        suffix = f"app/{inputs.get('name', name)}/{_hex(name)}"
        extra = {
            "arn": f"{elb}:loadbalancer/{suffix}",
            "arnSuffix": suffix,
            "dnsName": f"{name}.{REGION}.elb.amazonaws.com",
        }
    elif type_ == "aws:lb/targetGroup:TargetGroup":
        suffix = f"targetgroup/{inputs.get('name', name)}/{_hex(name)}"
        extra = {"arn": f"{elb}:{suffix}", "arnSuffix": suffix}
    elif type_ == "aws:lb/listener:Listener":
        extra = {"arn": f"{elb}:listener/app/{name}/{_hex(name)}/{_hex(name + 'l')}"}
    elif type_ == "aws:s3/bucket:Bucket":
        extra["bucket"] = f"{inputs.get('bucketPrefix', '')}{_hex(name)}"
    elif type_ == "pulumi-python:dynamic:Resource":
        extra = {"weights": {"blue": 100, "green": 0}, "last_outcome": "established"}
    return {**inputs, **extra}


@dataclass(frozen=True)
class Options:
    """Resource options as the engine receives them (the mock runtime drops them otherwise)."""

    ignore_changes: tuple[str, ...]
    protect: bool
    parent: str
    update_timeout: str


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    resources: list[Registered] = field(default_factory=list)
    options: dict[str, Options] = field(default_factory=dict)

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        self.resources.append(
            Registered(args.typ, args.name, inputs, bool(args.custom), args.provider)
        )
        return f"{args.name}-id", _outputs(args.typ, args.name, inputs)

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        answers: dict[str, dict[str, Any]] = {
            "aws:index/getAvailabilityZones:getAvailabilityZones": {
                "names": ZONES,
                "zoneIds": ZONES,
            },
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/ci",
                "userId": "ci",
            },
            "aws:index/getPartition:getPartition": {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
            },
            "aws:elb/getServiceAccount:getServiceAccount": {
                "arn": "arn:aws:iam::156460612806:root",
                "id": "156460612806",
            },
        }
        return answers.get(args.token, {}), []  # the SDK iterates the failures: not None

    def named(self, name: str) -> Registered:
        found = [r for r in self.resources if r.name == name]
        assert found, f"no resource named {name!r}; registered: {[r.name for r in self.resources]}"
        return found[0]

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270"


def dynamic_provider(resource: Registered) -> Any:
    """The provider object a dynamic resource carries, as the Pulumi engine would unpickle it."""
    raw = resource.inputs["__provider"]
    if is_secret(raw):  # Pulumi marks the serialized provider secret
        raw = raw["value"]
    return dill.loads(base64.b64decode(raw))


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self._recording = mocks

    def RegisterResource(self, request: Any) -> Any:
        self._recording.options[request.name] = Options(
            ignore_changes=tuple(request.ignoreChanges),
            protect=bool(request.protect),
            parent=request.parent,
            update_timeout=request.customTimeouts.update,
        )
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]


def install(mocks: RecordingMocks, stack: str) -> None:
    pulumi.runtime.set_mocks(
        mocks, project="switchyard", stack=stack, preview=False, monitor=RecordingMonitor(mocks)
    )
