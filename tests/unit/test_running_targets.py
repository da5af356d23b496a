"""The live colour's size as its target group tells it (ELBv2 DescribeTargetHealth's shape)."""

from __future__ import annotations

from typing import Any

from delivery.config.model import Colour
from delivery.cutover.aws import TargetGroupHealth


class Elbv2:
    def __init__(self, states: list[str]) -> None:
        self.states = states

    def describe_target_health(self, TargetGroupArn: str) -> dict[str, Any]:  # noqa: N803
        return {
            "TargetHealthDescriptions": [
                {"Target": {"Id": f"10.0.0.{i}", "Port": 8080}, "TargetHealth": {"State": s}}
                for i, s in enumerate(self.states)
            ]
        }


def test_pods_still_starting_or_overloaded_count_and_leaving_ones_do_not() -> None:
    states = ["healthy", "healthy", "initial", "unhealthy", "draining", "unused", "unavailable"]
    health = TargetGroupHealth(Elbv2(states), {c: f"arn:tg/{c}" for c in Colour})
    assert health.running_targets(Colour.BLUE) == 4
    assert health.healthy_targets(Colour.BLUE) == 2
