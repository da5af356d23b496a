"""BlueGreenCutover: owns the production listener's weights through a dynamic resource."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from delivery.config.model import Colour, TrafficPolicy
from delivery.cutover.provider import CutoverProvider
from delivery.plans.schedule import expected_duration_seconds

# Room for API latency and retries on top of the bakes before Pulumi gives up on an update.
TIMEOUT_MARGIN_SECONDS = 600
_SNAKE = {"live_colour": "live_colour", "last_outcome": "last_outcome"}


@dataclass(frozen=True)
class BlueGreenCutoverArgs:
    listener_arn: pulumi.Input[str]
    target_groups: Mapping[Colour, pulumi.Input[str]]
    live_colour: Colour
    policy: TrafficPolicy
    gating_alarms: Mapping[Colour, pulumi.Input[Sequence[pulumi.Input[str]]]]
    region: str


class ListenerWeights(Resource):
    """The dynamic resource; its outputs record the weights and the last shift's history."""

    weights: pulumi.Output[dict[str, int]]
    history: pulumi.Output[list[dict[str, Any]]]
    live_colour: pulumi.Output[str]
    last_outcome: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        super().__init__(CutoverProvider(), name, props, opts)


class BlueGreenCutover(pulumi.ComponentResource):
    """Changing ``live_colour`` and running ``pulumi up`` moves traffic step by step."""

    def __init__(
        self, name: str, args: BlueGreenCutoverArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:cutover:BlueGreenCutover", name, None, opts)
        budget = expected_duration_seconds(args.policy) + TIMEOUT_MARGIN_SECONDS
        timeouts = pulumi.CustomTimeouts(create="10m", update=f"{budget}s")
        self.weights_resource = ListenerWeights(
            f"{name}-weights",
            {
                "listener_arn": args.listener_arn,
                "target_groups": {c.value: args.target_groups[c] for c in Colour},
                "live_colour": args.live_colour.value,
                "policy": args.policy.to_inputs(),
                "gating_alarms": {c.value: args.gating_alarms[c] for c in Colour},
                "region": args.region,
                "weights": None,
                "history": None,
                "last_outcome": None,
            },
            # A component's depends_on does not reach its children: the weights resource,
            # which moves traffic, must itself wait for what the cutover was told to wait for.
            pulumi.ResourceOptions(
                parent=self,
                custom_timeouts=timeouts,
                depends_on=opts.depends_on if opts is not None else None,
            ),
        )
        self.live_colour: pulumi.Output[str] = self.weights_resource.live_colour
        self.weights: pulumi.Output[dict[str, int]] = self.weights_resource.weights
        self.register_outputs({"live_colour": self.live_colour, "weights": self.weights})
