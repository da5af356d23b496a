"""The embedded AWS emulator (moto server over HTTP) and a fresh traffic plane per test."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from delivery.cutover.aws import ApiCalls, AwsClients
from delivery.plans.schedule import Weights
from delivery.rehearsal.emulator import (
    Emulator,
    TrafficPlane,
    build_traffic_plane,
    listener_weights,
    running_emulator,
)

REGION = "eu-west-1"


MAINTENANCE_PAGE = {
    "Type": "fixed-response",
    "FixedResponseConfig": {"StatusCode": "503", "ContentType": "text/plain"},
}


def put_up_maintenance_page(operator: AwsClients, plane: TrafficPlane) -> None:
    """What an on-call may do in the console: the listener answers 503, forwarding nowhere."""
    operator.elbv2.modify_listener(
        ListenerArn=plane.listener_arn, DefaultActions=[MAINTENANCE_PAGE]
    )


def default_action_types(operator: AwsClients, plane: TrafficPlane) -> list[str]:
    found = operator.elbv2.describe_listeners(ListenerArns=[plane.listener_arn])["Listeners"]
    return [action["Type"] for action in found[0]["DefaultActions"]]


def emulator_s3(emulator: Emulator) -> Any:
    """An S3 client of its own boto3 session: S3's client customisations cannot be injected
    twice into the emulator's shared botocore session."""
    return boto3.session.Session(
        aws_access_key_id="emulator",
        aws_secret_access_key="emulator",
        region_name=emulator.region,
    ).client("s3", endpoint_url=emulator.endpoint)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with running_emulator(REGION) as running:
        yield running


@pytest.fixture
def operator(emulator: Emulator) -> AwsClients:
    """Clients for the test's own actions (alarm states, outside changes), not counted."""
    emulator.reset()
    return emulator.clients()


@pytest.fixture
def plane(operator: AwsClients) -> TrafficPlane:
    return build_traffic_plane(operator, "itest")


@pytest.fixture
def counter() -> ApiCalls:
    return ApiCalls()


@pytest.fixture
def clients(emulator: Emulator, counter: ApiCalls, operator: AwsClients) -> AwsClients:
    """The engine's clients: counted, with botocore's standard retry mode."""
    return emulator.clients(counter=counter)


@dataclass
class ScriptedClock:
    """Virtual time: sleeping runs the actions due by then (real HTTP calls to the emulator)."""

    t: float = 0.0
    slept: float = 0.0
    _due: list[tuple[float, int, Callable[[], None]]] = field(default_factory=list)
    _order: Iterator[int] = field(default_factory=itertools.count)

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._due, (when, next(self._order), action))

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        until = self.t + seconds
        while self._due and self._due[0][0] <= until:
            when, _, action = heapq.heappop(self._due)
            self.t = max(self.t, when)
            action()
        self.t = until
        self.slept += seconds


@pytest.fixture
def clock() -> ScriptedClock:
    return ScriptedClock()


@dataclass
class Rig:
    """One test's world: the engine's counted clients, the operator's, the plane, the clock."""

    clients: AwsClients
    operator: AwsClients
    plane: TrafficPlane
    clock: ScriptedClock
    counter: ApiCalls

    def weights(self) -> Weights:
        return listener_weights(self.operator, self.plane)


@pytest.fixture
def rig(
    clients: AwsClients,
    operator: AwsClients,
    plane: TrafficPlane,
    clock: ScriptedClock,
    counter: ApiCalls,
) -> Rig:
    return Rig(clients, operator, plane, clock, counter)
