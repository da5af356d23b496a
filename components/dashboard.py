"""EnvironmentDashboard: traffic, errors and latency per colour, and every alarm's state."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from delivery.config.alarm_kinds import ELB_NAMESPACE
from delivery.config.model import Colour, Slo
from delivery.plans.budget import BUDGET_QUERIES, ELB_5XX, budget_left_expression


@dataclass(frozen=True)
class EnvironmentDashboardArgs:
    name_prefix: str
    region: str
    load_balancer_suffix: pulumi.Input[str]
    target_group_suffixes: Mapping[Colour, pulumi.Input[str]]
    alarm_arns: Sequence[pulumi.Input[str]]
    slo: Slo
    live_colour: Colour


class EnvironmentDashboard(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EnvironmentDashboardArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:dashboard:EnvironmentDashboard", name, None, opts)
        suffixes = [args.target_group_suffixes[c] for c in Colour]
        body = pulumi.Output.all(args.load_balancer_suffix, *suffixes, *args.alarm_arns).apply(
            lambda v: _body(
                args.region,
                v[0],
                dict(zip(Colour, v[1:3], strict=True)),
                v[3:],
                _budget_left(
                    args.region, v[0], v[1:3][list(Colour).index(args.live_colour)], args.slo
                ),
            )
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


def _budget_left(region: str, lb: str, live_group: str, slo: Slo) -> dict[str, Any]:
    """The share of the error budget left over the SLO period: one value, the period's sums."""
    metrics: list[list[Any]] = []
    for query_id, metric in BUDGET_QUERIES:
        dims = (
            ["LoadBalancer", lb]
            if metric == ELB_5XX
            else ["LoadBalancer", lb, "TargetGroup", live_group]
        )
        metrics.append([ELB_NAMESPACE, metric, *dims, {"id": query_id, "visible": False}])
    metrics.append(
        [{"expression": budget_left_expression(slo), "id": "left", "label": "budget left (%)"}]
    )
    return {
        "type": "metric",
        "width": 6,
        "height": 6,
        "properties": {
            "title": (
                f"Error budget left: {slo.availability_percent:g}% over {slo.period_days} days "
                "(the live colour)"
            ),
            "region": region,
            "view": "singleValue",
            "stat": "Sum",
            # The widget's own range, whatever the dashboard shows, summed into one value
            # (a single-value widget's start and setPeriodToTimeRange, as aws-cdk's
            # SingleValueWidgetProps documents them: "independently from those of the dashboard").
            "start": f"-P{slo.period_days}D",
            "setPeriodToTimeRange": True,
            "metrics": metrics,
        },
    }


def _body(
    region: str,
    lb: str,
    groups: Mapping[Colour, str],
    alarm_arns: Sequence[str],
    budget_left: dict[str, Any],
) -> str:
    widgets = [
        budget_left,
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
