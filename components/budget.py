"""ErrorBudgetAlarms: multi-window, multi-burn-rate alarms on the availability objective.

Per burn-rate alert (``delivery/plans/budget.py``) two metric-math alarms, the long window and
the short one, each judging one period as long as its window (so the sums are over the whole
window; CloudWatch allows a period x evaluation periods of up to 7 days from a one-hour period,
so even the 3-day window is one period), and a composite alarm that fires while both do. The
composite notifies its tier; a paging tier's also starts an incident through the tier's
response plan. The window alarms notify only the info tier: alone they are half an alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from delivery.config.alarm_kinds import ELB_NAMESPACE
from delivery.config.model import Slo, Tier
from delivery.plans.budget import (
    BUDGET_QUERIES,
    BURN_RATE_ALERTS,
    ELB_5XX,
    BurnRateAlert,
    burn_rate_expression,
    evaluation_problem,
    window_name,
)


@dataclass(frozen=True)
class ErrorBudgetAlarmsArgs:
    name_prefix: str
    slo: Slo
    load_balancer_suffix: pulumi.Input[str]
    live_target_group_suffix: pulumi.Input[str]
    topic_arns: Mapping[Tier, pulumi.Input[str]]
    response_plan_arns: Mapping[Tier, pulumi.Input[str]] = field(default_factory=dict)
    min_requests: int = 1  # per window: fewer requests burn nothing (plans.budget)


def budget_queries(
    load_balancer: pulumi.Input[str], target_group: pulumi.Input[str], period: int
) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    """The three sums a window judges, as PutMetricAlarm's Metrics (ReturnData false)."""
    queries = []
    for query_id, metric in BUDGET_QUERIES:
        dims: dict[str, pulumi.Input[str]] = {"LoadBalancer": load_balancer}
        if metric != ELB_5XX:
            dims["TargetGroup"] = target_group
        queries.append(
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=query_id,
                return_data=False,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=ELB_NAMESPACE,
                    metric_name=metric,
                    dimensions=dims,
                    period=period,
                    stat="Sum",
                ),
            )
        )
    return queries


def window_alarm_name(prefix: str, alert: BurnRateAlert, seconds: int) -> str:
    return f"{prefix}-slo-{alert.slug}-{window_name(seconds)}"


class ErrorBudgetAlarms(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ErrorBudgetAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:budget:ErrorBudgetAlarms", name, None, opts)
        self.composites: dict[str, aws.cloudwatch.CompositeAlarm] = {}
        self.alarm_arns: list[pulumi.Output[str]] = []
        for alert in BURN_RATE_ALERTS:
            windows = [
                self._window(name, args, alert, seconds)
                for seconds in (alert.long_seconds, alert.short_seconds)
            ]
            actions = [args.topic_arns[alert.tier]]
            if alert.tier.pages and alert.tier in args.response_plan_arns:
                actions.append(args.response_plan_arns[alert.tier])
            composite = aws.cloudwatch.CompositeAlarm(
                f"{name}-{alert.slug}",
                alarm_name=f"{args.name_prefix}-slo-{alert.slug}",
                alarm_description=(
                    f"[{alert.severity}] {alert.budget_share:.0%} of the "
                    f"{args.slo.availability_percent:g}% availability budget burns within "
                    f"{window_name(alert.long_seconds)}: over {alert.burn_rate(args.slo):g}x "
                    f"in both the {window_name(alert.long_seconds)} and "
                    f"{window_name(alert.short_seconds)} windows"
                ),
                alarm_rule=" AND ".join(
                    f'ALARM("{window_alarm_name(args.name_prefix, alert, s)}")'
                    for s in (alert.long_seconds, alert.short_seconds)
                ),
                alarm_actions=actions,
                ok_actions=[args.topic_arns[Tier.INFO]],
                opts=pulumi.ResourceOptions(parent=self, depends_on=windows),
            )
            self.composites[alert.slug] = composite
            self.alarm_arns.extend([*(w.arn for w in windows), composite.arn])
        self.register_outputs(
            {"burnRateAlarmArns": {slug: c.arn for slug, c in self.composites.items()}}
        )

    def _window(
        self, name: str, args: ErrorBudgetAlarmsArgs, alert: BurnRateAlert, seconds: int
    ) -> aws.cloudwatch.MetricAlarm:
        problem = evaluation_problem(seconds)
        assert problem is None, f"{alert.slug}: {problem}"
        span = window_name(seconds)
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{alert.slug}-{span}",
            name=window_alarm_name(args.name_prefix, alert, seconds),
            alarm_description=(
                f"the availability budget burns over {alert.burn_rate(args.slo):g}x over "
                f"{span} (half of the {alert.slug} alert)"
            ),
            comparison_operator="GreaterThanThreshold",
            threshold=alert.burn_rate(args.slo),
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data="notBreaching",  # no requests: no budget burns
            # Alone a window is half an alert: it tells the info tier only (FSBP CloudWatch.15
            # wants every alarm to notify someone).
            alarm_actions=[args.topic_arns[Tier.INFO]],
            metric_queries=[
                *budget_queries(args.load_balancer_suffix, args.live_target_group_suffix, seconds),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="burn",
                    label=f"burn rate over {span}",
                    return_data=True,
                    expression=burn_rate_expression(args.slo, args.min_requests),
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
