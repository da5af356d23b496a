"""The Pulumi dynamic-provider adapter over the cutover engine.

``pulumi up`` after changing ``liveColour`` calls ``update``, which runs the stepwise shift. A
rollback raises, so the update fails and the stack state keeps the old colour, which is what the
listener carries again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime import rpc

from delivery.config.model import Colour
from delivery.config.settings import REGION_PATTERN, traffic_policy_from_inputs
from delivery.cutover.aws import AwsClients, ElbListener, aws_cutover, make_clients
from delivery.cutover.clock import SystemClock
from delivery.cutover.engine import Cutover, ShiftResult
from delivery.errors import ConfigError
from delivery.plans.schedule import Weights

MAX_GATING_ALARMS = 100  # one DescribeAlarms call per poll covers at most 100 names
_ARN = r"arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:"
_LISTENER_ARN = re.compile(_ARN + r"listener/app/[\w-]+/[0-9a-f]+/[0-9a-f]+$")
_TARGET_GROUP_ARN = re.compile(_ARN + r"targetgroup/[\w-]+/[0-9a-f]+$")
COLOURS = {c.value for c in Colour}
REPLACING_INPUTS = ("listener_arn", "target_groups")
OUTPUTS = ("weights", "history", "last_outcome")


def _known(value: Any) -> bool:
    return value is not None and value != rpc.UNKNOWN


def check_inputs(news: Mapping[str, Any]) -> list[CheckFailure]:
    """Every problem with the inputs; values still unknown (preview) are not judged yet."""
    failures = [
        *_check_listener(news.get("listener_arn")),
        *_check_groups(news.get("target_groups")),
        *_check_alarms(news.get("gating_alarms")),
    ]
    live = news.get("live_colour")
    if live not in COLOURS:
        failures.append(CheckFailure("live_colour", f"must be blue or green, got {live!r}"))
    try:
        traffic_policy_from_inputs(news.get("policy") or {})
    except ConfigError as exc:
        failures.extend(CheckFailure(f"policy.{p.key}", p.reason) for p in exc.problems)
    region = news.get("region")
    if not isinstance(region, str) or not REGION_PATTERN.match(region):
        reason = f"must be an AWS region such as eu-west-1, got {region!r}"
        failures.append(CheckFailure("region", reason))
    return failures


def _check_listener(arn: Any) -> list[CheckFailure]:
    if _known(arn) and not _LISTENER_ARN.match(str(arn)):
        return [CheckFailure("listener_arn", f"must be an ALB listener ARN, got {arn!r}")]
    return []


def _check_groups(groups: Any) -> list[CheckFailure]:
    if not _known(groups):
        return []
    if not isinstance(groups, Mapping) or set(groups) != COLOURS:
        reason = f"must map exactly blue and green to target group ARNs, got {groups!r}"
        return [CheckFailure("target_groups", reason)]
    failures = [
        CheckFailure(f"target_groups.{colour}", f"must be a target group ARN, got {arn!r}")
        for colour, arn in groups.items()
        if _known(arn) and not _TARGET_GROUP_ARN.match(str(arn))
    ]
    if _known(groups["blue"]) and groups["blue"] == groups["green"]:
        failures.append(
            CheckFailure("target_groups", "blue and green must be two different target groups")
        )
    return failures


def _check_alarms(alarms: Any) -> list[CheckFailure]:
    if not _known(alarms):
        return []
    if not isinstance(alarms, Mapping) or set(alarms) != COLOURS:
        reason = f"must map blue and green to lists of alarm names, got {alarms!r}"
        return [CheckFailure("gating_alarms", reason)]
    failures = []
    for colour, names in alarms.items():
        prop = f"gating_alarms.{colour}"
        if not _known(names):
            continue
        if not isinstance(names, list) or not names:
            reason = "must name at least one alarm; a cutover no alarm can stop protects nothing"
            failures.append(CheckFailure(prop, reason))
        elif len(names) > MAX_GATING_ALARMS:
            reason = f"at most {MAX_GATING_ALARMS} alarms, got {len(names)}"
            failures.append(CheckFailure(prop, reason))
        elif any(_known(n) and (not isinstance(n, str) or not n.strip()) for n in names):
            failures.append(
                CheckFailure(prop, f"alarm names must be non-empty text, got {names!r}")
            )
    return failures


class CutoverProvider(ResourceProvider):
    """check, diff, create, update, read over ``delivery.shift.Cutover``."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, check_inputs(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        inputs = [k for k in news if k not in OUTPUTS]
        changed = [k for k in inputs if olds.get(k) != news.get(k)]
        replaces = [k for k in changed if k in REPLACING_INPUTS]
        return DiffResult(
            changes=bool(changed),
            replaces=replaces,
            stables=["listener_arn"],
            delete_before_replace=True,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        live = Colour(props["live_colour"])
        engine, _ = _wire(props)
        result = engine.establish(live)
        return CreateResult(id_=props["listener_arn"], outs=_outs(props, result, "established"))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        target = Colour(news["live_colour"])
        engine, listener = _wire(news)
        if olds.get("live_colour") == target.value and listener.read_weights() == Weights.all_on(
            target
        ):
            result = ShiftResult(target, Weights.all_on(target))
            return UpdateResult(outs=_outs(news, result, "unchanged"))
        result = engine.shift(target.other, target)
        return UpdateResult(outs=_outs(news, result, "promoted"))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        weights = _listener(props).read_weights()
        outs = dict(props)
        outs["weights"] = weights.as_dict()
        for colour in Colour:
            if weights.of(colour) == 100:
                outs["live_colour"] = colour.value
        return ReadResult(id_=id_, outs=outs)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """The listener belongs to the load balancer; forgetting the cutover changes nothing."""


def _groups(props: Mapping[str, Any]) -> dict[Colour, str]:
    return {Colour(colour): arn for colour, arn in props["target_groups"].items()}


def _listener(props: Mapping[str, Any], clients: AwsClients | None = None) -> ElbListener:
    clients = clients or make_clients(props["region"])
    return ElbListener(clients.elbv2, props["listener_arn"], _groups(props))


def _wire(props: Mapping[str, Any]) -> tuple[Cutover, ElbListener]:
    """The engine over real AWS ports (AWS_ENDPOINT_URL, if set, points boto3 elsewhere)."""
    clients = make_clients(props["region"])
    target = Colour(props["live_colour"])
    engine = aws_cutover(
        clients,
        props["listener_arn"],
        _groups(props),
        props["gating_alarms"][target.value],
        traffic_policy_from_inputs(props["policy"]),
        SystemClock(),
    )
    return engine, _listener(props, clients)


def _outs(props: Mapping[str, Any], result: ShiftResult, outcome: str) -> dict[str, Any]:
    return {
        **props,
        "weights": result.weights.as_dict(),
        "history": [event.as_dict() for event in result.history],
        "last_outcome": outcome,
    }
