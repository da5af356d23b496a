"""The error-budget gate of a prod release: a port, its CloudWatch adapter, and the decision.

The adapter asks GetMetricData for the SLO period's three sums (the live colour's target 5xx
and requests, the load balancer's own 5xx) as one period-long MetricStat datapoint each, and
``delivery/plans/budget.py`` does the arithmetic: moto 5.2's GetMetricData resolves no metric
math beyond a bare query id (moto/cloudwatch/metric_data_expression_parser.py), and raw sums
are what both it and AWS answer alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from delivery.config.alarm_kinds import ELB_NAMESPACE
from delivery.config.model import Settings, Slo
from delivery.cutover.aws import call
from delivery.errors import Exit, SwitchyardError
from delivery.plans.budget import BUDGET_QUERIES, DAY, ELB_5XX, BudgetLeft

OVERRIDE_FLAG: Final = "--override-error-budget"


class ErrorBudget(Protocol):
    def read(self, slo: Slo) -> BudgetLeft: ...


class BudgetSpent(SwitchyardError):
    """A prod release refused: the availability budget is spent."""

    exit_code = Exit.STOPPED


def load_balancer_suffix(arn: str) -> str:
    """``app/<name>/<id>``: the LoadBalancer dimension's value, from the ARN."""
    return arn.split(":loadbalancer/", 1)[1]


def target_group_suffix(arn: str) -> str:
    """``targetgroup/<name>/<id>``: the TargetGroup dimension's value, from the ARN."""
    return "targetgroup/" + arn.split(":targetgroup/", 1)[1]


class CloudWatchErrorBudget:
    def __init__(
        self,
        cloudwatch: Any,
        load_balancer: str,
        target_group: str,
        now: Callable[[], datetime],
    ) -> None:
        self._cloudwatch = cloudwatch
        self._dims = {"LoadBalancer": load_balancer, "TargetGroup": target_group}
        self._now = now

    def read(self, slo: Slo) -> BudgetLeft:
        period = slo.period_days * DAY
        end = self._now().replace(second=0, microsecond=0)
        queries = []
        for query_id, metric in BUDGET_QUERIES:
            dims = {k: v for k, v in self._dims.items() if metric != ELB_5XX or k == "LoadBalancer"}
            queries.append(
                {
                    "Id": query_id,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": ELB_NAMESPACE,
                            "MetricName": metric,
                            "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                        },
                        "Period": period,
                        "Stat": "Sum",
                    },
                }
            )
        sums = {query_id: 0.0 for query_id, _ in BUDGET_QUERIES}
        token: str | None = None
        while True:
            extra = {"NextToken": token} if token else {}
            answer = call(
                self._cloudwatch.get_metric_data,
                MetricDataQueries=queries,
                StartTime=end - timedelta(seconds=period),
                EndTime=end,
                **extra,
            )
            for result in answer.get("MetricDataResults", []):
                sums[result["Id"]] += sum(result.get("Values", []))
            token = answer.get("NextToken")
            if not token:
                break
        # The load balancer's own 5xx (no healthy target: a 503) never reached a target, so the
        # target group's RequestCount leaves them out: users asked them too.
        return BudgetLeft(
            slo, sums["requests"] + sums["elb5xx"], sums["target5xx"] + sums["elb5xx"]
        )


def gate(
    settings: Settings, budget: ErrorBudget | None, override: bool, say: Callable[[str], None]
) -> str:
    """What the release record keeps about the budget ("" when not judged); raises
    ``BudgetSpent`` for a prod release while the budget is spent, unless overridden."""
    if budget is None or not settings.environment.budget_gates_releases:
        return ""
    left = budget.read(settings.slo)
    if not left.spent:
        say(f"error budget: {left}")
        return f"judged: {left}"
    if override:
        note = f"released over a spent error budget ({OVERRIDE_FLAG}): {left}"
        say(f"warning: {note}")
        return note
    raise BudgetSpent(
        f"stack {settings.stack}: the error budget is spent: {left}. A prod release waits "
        f"until the budget recovers; to release anyway (the fix for the outage itself), run "
        f"it again with {OVERRIDE_FLAG}, which the release record keeps"
    )
