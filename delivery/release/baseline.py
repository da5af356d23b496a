"""The latency baseline, measured: the live colour's p95 response time over the last 7 days.

A static ``latencyBaselineMs`` goes stale as the service changes; nothing anchors it. With
``latencyBaselineSource: measured`` the driver sets it from CloudWatch before each release, so
the latency alarm fires at ``latencyFactor`` x what users actually got last week.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from delivery.cutover.aws import call

WINDOW = timedelta(days=7)


class Baseline(Protocol):
    def p95_ms(self, target_group_arn: str, load_balancer_arn: str) -> float | None:
        """The p95 response time over the window, in ms; None when there is no data."""
        ...


def arn_suffix(arn: str, marker: str) -> str:
    """CloudWatch's dimension value for an ELB ARN: the part from ``loadbalancer/`` or
    ``targetgroup/`` on, e.g. ``app/web/50dc6c495c0c9188``."""
    _, found, rest = arn.partition(f":{marker}/")
    if not found:
        return arn
    return rest if marker == "loadbalancer" else f"{marker}/{rest}"


class CloudWatchBaseline:
    def __init__(self, cloudwatch: Any, now: datetime) -> None:
        self._cloudwatch = cloudwatch
        self._now = now

    def p95_ms(self, target_group_arn: str, load_balancer_arn: str) -> float | None:
        # One period spanning the whole window: CloudWatch computes the window's own p95 rather
        # than a percentile of hourly percentiles.
        period = int(WINDOW.total_seconds())
        answer = call(
            self._cloudwatch.get_metric_data,
            MetricDataQueries=[
                {
                    "Id": "p95",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/ApplicationELB",
                            "MetricName": "TargetResponseTime",
                            "Dimensions": [
                                {
                                    "Name": "TargetGroup",
                                    "Value": arn_suffix(target_group_arn, "targetgroup"),
                                },
                                {
                                    "Name": "LoadBalancer",
                                    "Value": arn_suffix(load_balancer_arn, "loadbalancer"),
                                },
                            ],
                        },
                        "Period": period,
                        "Stat": "p95",
                    },
                }
            ],
            StartTime=self._now - WINDOW,
            EndTime=self._now,
        )
        values = [v for r in answer.get("MetricDataResults", []) for v in r.get("Values", []) if v]
        return max(values) * 1000 if values else None  # TargetResponseTime is in seconds
