"""boto3 implementations of the engine's ports.

Throttling and transient faults are retried by botocore's ``standard`` retry mode; what still
fails after that becomes a ``PortError`` naming the operation and AWS's error code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from delivery.config.model import Colour, TrafficPolicy
from delivery.cutover.engine import Cutover, Observer
from delivery.cutover.ports import AlarmState, Clock
from delivery.errors import ListenerDrift, PortError
from delivery.plans.schedule import Weights

T = TypeVar("T")
DESCRIBE_ALARMS_BATCH = 100  # AWS accepts at most 100 names per DescribeAlarms call


@dataclass
class ApiCalls:
    """Counts calls per operation: ``calls`` as the code made them, ``attempts`` on the wire."""

    calls: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-send", self._on_attempt)
        events.register("after-call", self._on_call)

    def _on_attempt(self, event_name: str = "", **_: Any) -> None:
        self.attempts[event_name.rsplit(".", 1)[-1]] += 1

    def _on_call(self, model: Any = None, **_: Any) -> None:
        if model is not None:
            self.calls[model.name] += 1

    def as_dict(self) -> dict[str, Any]:
        return {"calls": dict(self.calls), "attempts": dict(self.attempts)}


@dataclass(frozen=True)
class AwsClients:
    elbv2: Any
    cloudwatch: Any
    ec2: Any


def make_clients(
    region: str,
    endpoint_url: str | None = None,
    max_attempts: int = 6,
    counter: ApiCalls | None = None,
    session: boto3.session.Session | None = None,
) -> AwsClients:
    """Clients with botocore's standard retry mode (throttling backs off with jitter)."""
    config = Config(
        region_name=region,
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=5,
        read_timeout=20,
    )
    session = session or boto3.session.Session()

    def client(service: str) -> Any:
        made = session.client(service, config=config, endpoint_url=endpoint_url)  # type: ignore[call-overload]
        if counter is not None:
            counter.attach(made)
        return made

    return AwsClients(client("elbv2"), client("cloudwatch"), client("ec2"))


def call(operation: Callable[..., T], **kwargs: Any) -> T:
    try:
        return operation(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        name = exc.operation_name
        raise PortError(
            f"{name} failed: {error.get('Code', '?')}: {error.get('Message', exc)}"
        ) from exc
    except BotoCoreError as exc:
        raise PortError(f"AWS call failed: {exc}") from exc


class ElbListener:
    """The production listener's default forward action over the blue and green groups."""

    def __init__(self, elbv2: Any, listener_arn: str, target_groups: Mapping[Colour, str]) -> None:
        self._elbv2 = elbv2
        self._arn = listener_arn
        self._groups = dict(target_groups)
        self._stickiness: dict[str, Any] | None = None

    def read_weights(self) -> Weights:
        found = call(self._elbv2.describe_listeners, ListenerArns=[self._arn])["Listeners"]
        if not found:
            raise PortError(f"listener {self._arn} does not exist; check the listener ARN")
        forward = [a for a in found[0].get("DefaultActions", []) if a.get("Type") == "forward"]
        if len(forward) != 1:
            raise ListenerDrift(
                f"listener {self._arn} has no single forward default action; Switchyard needs "
                "one forward action naming both the blue and the green target group"
            )
        config = forward[0].get("ForwardConfig") or {}
        self._stickiness = config.get("TargetGroupStickinessConfig")
        groups = config.get("TargetGroups") or [
            {"TargetGroupArn": forward[0].get("TargetGroupArn")}
        ]
        weights = {g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in groups}
        if set(weights) != set(self._groups.values()):
            raise ListenerDrift(
                f"listener {self._arn} forwards to {sorted(weights)}, not to exactly the blue "
                f"and green target groups {sorted(self._groups.values())}; restore the forward "
                "action over both groups"
            )
        by_colour = {colour: weights[arn] for colour, arn in self._groups.items()}
        try:
            return Weights.from_mapping(by_colour)
        except ValueError as exc:
            raise ListenerDrift(
                f"listener {self._arn} weights blue={by_colour[Colour.BLUE]} "
                f"green={by_colour[Colour.GREEN]} are not percentages summing to 100; set them "
                "to 100/0 for the live colour"
            ) from exc

    def set_weights(self, weights: Weights) -> None:
        forward: dict[str, Any] = {
            "TargetGroups": [
                {"TargetGroupArn": arn, "Weight": weights.of(colour)}
                for colour, arn in self._groups.items()
            ]
        }
        if self._stickiness:
            forward["TargetGroupStickinessConfig"] = self._stickiness
        call(
            self._elbv2.modify_listener,
            ListenerArn=self._arn,
            DefaultActions=[{"Type": "forward", "ForwardConfig": forward}],
        )


def _batches(names: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(names), size):
        yield names[start : start + size]


class CloudWatchAlarms:
    def __init__(self, cloudwatch: Any) -> None:
        self._cloudwatch = cloudwatch

    def states(self, names: Sequence[str]) -> Mapping[str, AlarmState]:
        found: dict[str, AlarmState] = {}
        for batch in _batches(list(names), DESCRIBE_ALARMS_BATCH):
            reply = call(
                self._cloudwatch.describe_alarms,
                AlarmNames=list(batch),
                AlarmTypes=["MetricAlarm", "CompositeAlarm"],
                MaxRecords=DESCRIBE_ALARMS_BATCH,
            )
            for alarm in [*reply.get("MetricAlarms", []), *reply.get("CompositeAlarms", [])]:
                found[alarm["AlarmName"]] = AlarmState(
                    alarm["AlarmName"], alarm["StateValue"], alarm.get("StateReason", "")
                )
        return found


class TargetGroupHealth:
    def __init__(self, elbv2: Any, target_groups: Mapping[Colour, str]) -> None:
        self._elbv2 = elbv2
        self._groups = dict(target_groups)

    def healthy_targets(self, colour: Colour) -> int:
        reply = call(self._elbv2.describe_target_health, TargetGroupArn=self._groups[colour])
        descriptions = reply.get("TargetHealthDescriptions", [])
        return sum(1 for d in descriptions if d.get("TargetHealth", {}).get("State") == "healthy")


def aws_cutover(
    clients: AwsClients,
    listener_arn: str,
    target_groups: Mapping[Colour, str],
    gating_alarms: Sequence[str],
    policy: TrafficPolicy,
    clock: Clock,
    observer: Observer | None = None,
) -> Cutover:
    """The cutover engine over the boto3 ports for one listener and its two target groups."""
    return Cutover(
        listener=ElbListener(clients.elbv2, listener_arn, target_groups),
        alarms=CloudWatchAlarms(clients.cloudwatch),
        health=TargetGroupHealth(clients.elbv2, target_groups),
        clock=clock,
        policy=policy,
        gating_alarms=gating_alarms,
        observer=observer,
    )
