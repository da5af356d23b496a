"""EnvironmentDashboard: traffic, errors and latency per colour, and every alarm's state."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from delivery.config.alarm_kinds import ELB_NAMESPACE
from delivery.config.model import Colour


@dataclass(frozen=True)
class EnvironmentDashboardArgs:
    name_prefix: str
    region: str
    load_balancer_suffix: pulumi.Input[str]
    target_group_suffixes: Mapping[Colour, pulumi.Input[str]]
    alarm_arns: Sequence[pulumi.Input[str]]


class EnvironmentDashboard(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EnvironmentDashboardArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:dashboard:EnvironmentDashboard", name, None, opts)
        suffixes = [args.target_group_suffixes[c] for c in Colour]
        body = pulumi.Output.all(args.load_balancer_suffix, *suffixes, *args.alarm_arns).apply(
            lambda v: _body(args.region, v[0], dict(zip(Colour, v[1:3], strict=True)), v[3:])
        )
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.name_prefix,
            dashboard_body=body,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.url = pulumi.Output.concat(
            f"https://{args.region}.console.aws.amazon.com/cloudwatch/home?region={args.region}"
            "#dashboards:name=",
            self.dashboard.dashboard_name,
        )
        self.register_outputs({"url": self.url})


def _per_colour(
    region: str,
    title: str,
    metric: str,
    lb: str,
    groups: Mapping[Colour, str],
    stat: str,
    stacked: bool = False,
) -> dict[str, Any]:
    return {
        "type": "metric",
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "stat": stat,
            "period": 60,
            "stacked": stacked,
            "metrics": [
                [
                    ELB_NAMESPACE,
                    metric,
                    "LoadBalancer",
                    lb,
                    "TargetGroup",
                    suffix,
                    {"label": colour.value},
                ]
                for colour, suffix in groups.items()
            ],
        },
    }


def _body(region: str, lb: str, groups: Mapping[Colour, str], alarm_arns: Sequence[str]) -> str:
    widgets = [
        _per_colour(
            region,
            "Requests per colour (the weights at work)",
            "RequestCount",
            lb,
            groups,
            "Sum",
            stacked=True,
        ),
        _per_colour(
            region, "Target 5xx per colour", "HTTPCode_Target_5XX_Count", lb, groups, "Sum"
        ),
        _per_colour(
            region, "p95 response time per colour (s)", "TargetResponseTime", lb, groups, "p95"
        ),
        _per_colour(
            region, "Healthy targets per colour", "HealthyHostCount", lb, groups, "Minimum"
        ),
        {
            "type": "alarm",
            "width": 24,
            "height": 6,
            "properties": {"title": "Every alarm", "alarms": sorted(alarm_arns)},
        },
    ]
    return json.dumps({"widgets": widgets})
