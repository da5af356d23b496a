"""RollbackAlarms: per colour, the CloudWatch alarms that judge a release, and a paging composite.

The alarms of the colour taking over traffic gate the cutover. Rollback alarms notify the
critical topic; each colour's composite (any rollback alarm) pages through emergency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from delivery.config.model import ALARM_PERIOD_SECONDS, Colour, Tier, Workload
from delivery.plans.alarms import AlarmKind, AlarmSpec

ELB = "AWS/ApplicationELB"


@dataclass(frozen=True)
class RollbackAlarmsArgs:
    name_prefix: str
    specs: Sequence[AlarmSpec]
    min_request_count: int
    load_balancer_suffix: pulumi.Input[str]
    target_group_suffixes: Mapping[Colour, pulumi.Input[str]]
    workload: Workload
    topic_arns: Mapping[Tier, pulumi.Input[str]]


class RollbackAlarms(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: RollbackAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:alarms:RollbackAlarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.names: dict[Colour, tuple[str, ...]] = {}
        self.composites: dict[Colour, aws.cloudwatch.CompositeAlarm] = {}
        self.alarm_arns: list[pulumi.Output[str]] = []
        critical, info = args.topic_arns[Tier.CRITICAL], args.topic_arns[Tier.INFO]
        for colour in Colour:
            self.names[colour] = tuple(f"{args.name_prefix}-{colour}-{s.slug}" for s in args.specs)
            colour_alarms = []
            dimensions = {
                "LoadBalancer": args.load_balancer_suffix,
                "TargetGroup": args.target_group_suffixes[colour],
            }
            for spec, alarm_name in zip(args.specs, self.names[colour], strict=True):
                colour_alarms.append(
                    aws.cloudwatch.MetricAlarm(
                        f"{name}-{colour}-{spec.slug}",
                        name=alarm_name,
                        alarm_description=f"[rollback] {colour}: {spec.description}",
                        comparison_operator="GreaterThanThreshold",
                        threshold=spec.threshold,
                        evaluation_periods=spec.periods,
                        datapoints_to_alarm=spec.periods,
                        treat_missing_data=spec.treat_missing.value,
                        alarm_actions=[critical],
                        ok_actions=[info],
                        opts=child,
                        **_measure(spec, dimensions, args, colour),
                    )
                )
            unhealthy = aws.cloudwatch.MetricAlarm(
                f"{name}-{colour}-unhealthy-hosts",
                name=f"{args.name_prefix}-{colour}-unhealthy-hosts",
                alarm_description=f"[warning] {colour}: a target failed its health checks",
                namespace=ELB,
                metric_name="UnHealthyHostCount",
                dimensions=dimensions,
                statistic="Maximum",
                period=ALARM_PERIOD_SECONDS,
                evaluation_periods=2,
                comparison_operator="GreaterThanThreshold",
                threshold=0,
                treat_missing_data="notBreaching",
                alarm_actions=[args.topic_arns[Tier.WARNING]],
                ok_actions=[info],
                opts=child,
            )
            # AWS evaluates composite alarms; the emulator used in tests has none.
            self.composites[colour] = aws.cloudwatch.CompositeAlarm(
                f"{name}-{colour}-page",
                alarm_name=f"{args.name_prefix}-{colour}-page",
                alarm_description=f"[page] {colour}: a rollback trigger is firing",
                alarm_rule=" OR ".join(f'ALARM("{n}")' for n in self.names[colour]),
                alarm_actions=[args.topic_arns[Tier.EMERGENCY]],
                ok_actions=[info],
                opts=pulumi.ResourceOptions(parent=self, depends_on=colour_alarms),
            )
            self.alarm_arns.extend(
                [*(a.arn for a in colour_alarms), unhealthy.arn, self.composites[colour].arn]
            )
        self.register_outputs(
            {
                "alarmNames": {c.value: list(names) for c, names in self.names.items()},
                "compositeAlarmArns": {c.value: a.arn for c, a in self.composites.items()},
            }
        )

    def gating_alarms(self, colour: Colour) -> tuple[str, ...]:
        return self.names[colour]


def _metric(query_id: str, name: str, dimensions: Mapping[str, Any]) -> dict[str, Any]:
    # PutMetricAlarm needs ReturnData false on every query but the one the alarm judges.
    metric = {
        "namespace": ELB,
        "metric_name": name,
        "dimensions": dict(dimensions),
        "period": ALARM_PERIOD_SECONDS,
        "stat": "Sum",
    }
    return {"id": query_id, "metric": metric, "return_data": False}


def _measure(
    spec: AlarmSpec, dimensions: Mapping[str, Any], args: RollbackAlarmsArgs, colour: Colour
) -> dict[str, Any]:
    """What the alarm watches: a plain metric, or metric math for the rates."""
    enough = f"requests >= {args.min_request_count}"
    if spec.kind is AlarmKind.FIVE_XX:
        return {
            "metric_queries": [
                _metric("errors", "HTTPCode_Target_5XX_Count", dimensions),
                _metric("requests", "RequestCount", dimensions),
                {
                    "id": "rate",
                    "label": "Target 5xx (% of requests)",
                    "return_data": True,
                    "expression": f"IF({enough}, 100 * FILL(errors, 0) / requests, 0)",
                },
            ]
        }
    if spec.kind is AlarmKind.ERROR_RATE:
        return {
            "metric_queries": [
                _metric("errors", "HTTPCode_Target_5XX_Count", dimensions),
                _metric("refused", "TargetConnectionErrorCount", dimensions),
                _metric("requests", "RequestCount", dimensions),
                {
                    "id": "rate",
                    "label": "Errors (% of requests)",
                    "return_data": True,
                    "expression": f"IF({enough}, 100 * (FILL(errors, 0) + FILL(refused, 0)) / "
                    f"(requests + FILL(refused, 0)), 0)",
                },
            ]
        }
    if spec.kind is AlarmKind.LATENCY:
        return {
            "namespace": ELB,
            "metric_name": "TargetResponseTime",
            "dimensions": dimensions,
            "extended_statistic": "p95",
            "period": ALARM_PERIOD_SECONDS,
        }
    pods = {
        "ClusterName": args.workload.cluster_name,
        "Namespace": args.workload.namespace,
        "Service": f"{args.workload.service_name}-{colour}",
    }
    metric = "pod_cpu_utilization" if spec.kind is AlarmKind.CPU else "pod_memory_utilization"
    return {
        "namespace": "ContainerInsights",
        "metric_name": metric,
        "dimensions": pods,
        "statistic": "Average",
        "period": ALARM_PERIOD_SECONDS,
    }
