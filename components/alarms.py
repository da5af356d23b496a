"""RollbackAlarms: per colour, the CloudWatch alarms that judge a release, and a paging composite.

The alarms of the colour taking over traffic gate the cutover. Rollback alarms notify the
critical topic; each colour's composite (any rollback alarm) pages through emergency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from delivery.config.alarm_kinds import ELB_NAMESPACE, Dimensions, Metric
from delivery.config.model import ALARM_PERIOD_SECONDS, Colour, Tier, Workload
from delivery.plans.alarms import AlarmSpec, alarm_name, dimensions


@dataclass(frozen=True)
class RollbackAlarmsArgs:
    name_prefix: str
    specs: Sequence[AlarmSpec]
    load_balancer_suffix: pulumi.Input[str]
    target_group_suffixes: Mapping[Colour, pulumi.Input[str]]
    workload: Workload
    topic_arns: Mapping[Tier, pulumi.Input[str]]
    # Incident Manager response plans by paging tier: a critical rollback alarm and the
    # emergency composite start an incident as well as notifying (components/incidents.py).
    response_plan_arns: Mapping[Tier, pulumi.Input[str]] = field(default_factory=dict)


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
        plans = args.response_plan_arns
        on_critical = [critical, *([plans[Tier.CRITICAL]] if Tier.CRITICAL in plans else [])]
        on_page = [
            args.topic_arns[Tier.EMERGENCY],
            *([plans[Tier.EMERGENCY]] if Tier.EMERGENCY in plans else []),
        ]
        for colour in Colour:
            self.names[colour] = tuple(
                alarm_name(args.name_prefix, colour, s.slug) for s in args.specs
            )
            dims = {
                which: dimensions(
                    which,
                    colour,
                    args.workload,
                    args.load_balancer_suffix,
                    args.target_group_suffixes[colour],
                )
                for which in Dimensions
            }
            colour_alarms = []
            for spec, name_of_alarm in zip(args.specs, self.names[colour], strict=True):
                colour_alarms.append(
                    aws.cloudwatch.MetricAlarm(
                        f"{name}-{colour}-{spec.slug}",
                        name=name_of_alarm,
                        alarm_description=f"[rollback] {colour}: {spec.description}",
                        comparison_operator="GreaterThanThreshold",
                        threshold=spec.threshold,
                        evaluation_periods=spec.periods,
                        datapoints_to_alarm=spec.periods,
                        treat_missing_data=spec.treat_missing.value,
                        alarm_actions=on_critical,
                        ok_actions=[info],
                        opts=child,
                        **_measure(spec, dims),
                    )
                )
            unhealthy = aws.cloudwatch.MetricAlarm(
                f"{name}-{colour}-unhealthy-hosts",
                name=alarm_name(args.name_prefix, colour, "unhealthy-hosts"),
                alarm_description=f"[warning] {colour}: a target failed its health checks",
                namespace=ELB_NAMESPACE,
                metric_name="UnHealthyHostCount",
                dimensions=dims[Dimensions.TARGET_GROUP],
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
                alarm_name=alarm_name(args.name_prefix, colour, "page"),
                alarm_description=f"[page] {colour}: a rollback trigger is firing",
                alarm_rule=" OR ".join(f'ALARM("{n}")' for n in self.names[colour]),
                alarm_actions=on_page,
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


def _metric(metric: Metric, dims: Mapping[Dimensions, Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "namespace": metric.namespace,
        "metric_name": metric.name,
        "dimensions": dict(dims[metric.dimensions]),
        "period": ALARM_PERIOD_SECONDS,
    }


def _measure(spec: AlarmSpec, dims: Mapping[Dimensions, Mapping[str, Any]]) -> dict[str, Any]:
    """What the alarm watches, as PutMetricAlarm's arguments: one metric, or metric math."""
    measure = spec.measure
    if isinstance(measure, Metric):
        statistic = "extended_statistic" if measure.percentile else "statistic"
        return {**_metric(measure, dims), statistic: measure.statistic}
    # PutMetricAlarm needs ReturnData false on every query but the one the alarm judges.
    inputs = [
        {"id": query_id, "metric": {**_metric(m, dims), "stat": m.statistic}, "return_data": False}
        for query_id, m in measure.inputs
    ]
    result = {
        "id": "result",
        "label": measure.label,
        "return_data": True,
        "expression": measure.expression,
    }
    return {"metric_queries": [*inputs, result]}
