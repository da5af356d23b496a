"""BlueGreenCutover: owns the production listener's weights through a dynamic resource."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import Resource

from delivery.config.model import Colour, Tier, TrafficPolicy
from delivery.cutover.provider import OUTPUTS, CutoverProvider
from delivery.plans.schedule import expected_duration_seconds

# Room for API latency and retries on top of the bakes before Pulumi gives up on an update.
TIMEOUT_MARGIN_SECONDS = 600
ALERT_TIERS = (Tier.CRITICAL, Tier.EMERGENCY)


@dataclass(frozen=True)
class BlueGreenCutoverArgs:
    listener_arn: pulumi.Input[str]
    target_groups: Mapping[Colour, pulumi.Input[str]]
    live_colour: Colour
    policy: TrafficPolicy
    gating_alarms: Mapping[Colour, pulumi.Input[Sequence[pulumi.Input[str]]]]
    region: str
    stack: str
    alert_topics: Mapping[Tier, pulumi.Input[str]]  # critical and emergency
    record_path: str  # SSM path of the rollback records, e.g. /switchyard/prod/cutover
    release: pulumi.Input[str] = ""  # the release on the live colour: the image it runs
    retry_rollback: str = ""  # a rollback record's id: shift that release again on purpose


class ListenerWeights(Resource):
    """The dynamic resource; its outputs record the weights and the last operation's report."""

    weights: pulumi.Output[dict[str, int]]
    report: pulumi.Output[dict[str, Any]]
    live_colour: pulumi.Output[str]
    last_outcome: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        super().__init__(CutoverProvider(), name, props, opts)


class BlueGreenCutover(pulumi.ComponentResource):
    """Changing ``live_colour`` and running ``pulumi up`` moves traffic step by step.

    ``live_colour`` (output) is the colour last promoted: it changes only when a shift
    succeeds, so what follows it (the test listener) sees the candidate until promotion.
    """

    def __init__(
        self, name: str, args: BlueGreenCutoverArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:cutover:BlueGreenCutover", name, None, opts)
        budget = expected_duration_seconds(args.policy) + TIMEOUT_MARGIN_SECONDS
        timeouts = pulumi.CustomTimeouts(create="10m", update=f"{budget}s")
        props: dict[str, Any] = {
            "listener_arn": args.listener_arn,
            "target_groups": {c.value: args.target_groups[c] for c in Colour},
            "live_colour": args.live_colour.value,
            "policy": args.policy.to_inputs(),
            "gating_alarms": {c.value: args.gating_alarms[c] for c in Colour},
            "region": args.region,
            "stack": args.stack,
            "release": args.release,
            "retry_rollback": args.retry_rollback,
            "alert_topics": {t.value: args.alert_topics[t] for t in ALERT_TIERS},
            "record_path": args.record_path,
        }
        self.weights_resource = ListenerWeights(
            f"{name}-weights",
            {**props, **dict.fromkeys(OUTPUTS)},
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
        self.report: pulumi.Output[dict[str, Any]] = self.weights_resource.report
        self.register_outputs(
            {"live_colour": self.live_colour, "weights": self.weights, "report": self.report}
        )
