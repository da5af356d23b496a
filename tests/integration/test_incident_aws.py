"""The error budget and the alarm's metric read from CloudWatch, and post-incident records in
S3, against moto's server over HTTP.

moto 5.2's GetMetricData answers MetricStat queries; its metric math resolves only an
expression that is another query's id (moto/cloudwatch/metric_data_expression_parser.py), so
the adapters ask for raw sums and the arithmetic is delivery/plans/budget.py's (known-answer
tests in tests/unit/test_budget.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from delivery.config.model import Colour, Slo
from delivery.cutover.aws import AwsClients
from delivery.rehearsal.emulator import Emulator, TrafficPlane
from delivery.release.budget import (
    CloudWatchErrorBudget,
    load_balancer_suffix,
    target_group_suffix,
)
from delivery.release.incident import CloudWatchAlarmMetrics
from delivery.release.record import ReleaseRecord, S3Records
from tests.integration.conftest import emulator_s3

SLO = Slo(99.9, 30)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def put(
    operator: AwsClients, metric: str, dims: dict[str, str], value: float, ago: timedelta
) -> None:
    operator.cloudwatch.put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                "Value": value,
                "Timestamp": now() - ago,
            }
        ],
    )


def test_the_budget_is_the_periods_sums_of_the_live_colour_and_the_load_balancer(
    operator: AwsClients, plane: TrafficPlane
) -> None:
    lb = load_balancer_suffix(plane.load_balancer_arn)
    live = target_group_suffix(plane.target_groups[Colour.BLUE])
    other = target_group_suffix(plane.target_groups[Colour.GREEN])
    assert lb.startswith("app/") and live.startswith("targetgroup/")
    group = {"LoadBalancer": lb, "TargetGroup": live}
    put(operator, "RequestCount", group, 6_000, timedelta(days=20))
    put(operator, "RequestCount", group, 4_000, timedelta(hours=1))
    put(operator, "HTTPCode_Target_5XX_Count", group, 3, timedelta(days=2))
    put(operator, "HTTPCode_ELB_5XX_Count", {"LoadBalancer": lb}, 2, timedelta(minutes=5))
    # neither counts: the idle colour's errors (smoke and load runs), and a month ago
    put(
        operator,
        "HTTPCode_Target_5XX_Count",
        {**group, "TargetGroup": other},
        500,
        timedelta(hours=1),
    )
    put(operator, "HTTPCode_Target_5XX_Count", group, 500, timedelta(days=31))

    budget = CloudWatchErrorBudget(operator.cloudwatch, lb, live, now).read(SLO)

    # the ALB's own 2 errors were asked by users too, though no target answered them
    assert (budget.requests, budget.errors) == (10_002, 5)
    assert budget.share_left == pytest.approx(1 - 5 / 10.002)  # 10.002 of 10,002 allowed
    put(operator, "HTTPCode_ELB_5XX_Count", {"LoadBalancer": lb}, 6, timedelta(minutes=4))
    assert CloudWatchErrorBudget(operator.cloudwatch, lb, live, now).read(SLO).spent


def test_no_traffic_spends_no_budget(operator: AwsClients, plane: TrafficPlane) -> None:
    lb = load_balancer_suffix(plane.load_balancer_arn)
    live = target_group_suffix(plane.target_groups[Colour.BLUE])
    budget = CloudWatchErrorBudget(operator.cloudwatch, lb, live, now).read(SLO)
    assert budget.share_left == 1.0 and not budget.spent


def test_the_alarms_metric_is_read_through_its_inputs(
    operator: AwsClients, plane: TrafficPlane
) -> None:
    alarm = plane.gating_alarms(Colour.GREEN)[0]  # a metric-math alarm: errors / requests
    lb = load_balancer_suffix(plane.load_balancer_arn)
    group = {
        "LoadBalancer": lb,
        "TargetGroup": target_group_suffix(plane.target_groups[Colour.GREEN]),
    }
    put(operator, "HTTPCode_Target_5XX_Count", group, 70, timedelta(minutes=2))
    put(operator, "RequestCount", group, 1_000, timedelta(minutes=2))

    found = CloudWatchAlarmMetrics(operator.cloudwatch).around(
        alarm, now() - timedelta(minutes=15), now() + timedelta(minutes=1)
    )

    assert "over these inputs" in found.note and "requests" in found.note
    values = {s.label: [v for _, v in s.points] for s in found.series}
    assert values == {"HTTPCode_Target_5XX_Count Sum": [70.0], "RequestCount Sum": [1000.0]}


def test_a_plain_metric_alarm_and_a_missing_one(operator: AwsClients) -> None:
    operator.cloudwatch.put_metric_alarm(
        AlarmName="it-cpu",
        Namespace="ContainerInsights",
        MetricName="pod_cpu_utilization",
        Dimensions=[{"Name": "ClusterName", "Value": "c"}],
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=90,
        ComparisonOperator="GreaterThanThreshold",
    )
    operator.cloudwatch.put_metric_data(
        Namespace="ContainerInsights",
        MetricData=[
            {
                "MetricName": "pod_cpu_utilization",
                "Dimensions": [{"Name": "ClusterName", "Value": "c"}],
                "Value": 97.0,
                "Timestamp": now() - timedelta(minutes=1),
            }
        ],
    )
    metrics = CloudWatchAlarmMetrics(operator.cloudwatch)
    found = metrics.around("it-cpu", now() - timedelta(minutes=10), now() + timedelta(minutes=1))
    assert [(s.label, [v for _, v in s.points]) for s in found.series] == [
        ("pod_cpu_utilization Maximum", [97.0])
    ]
    missing = metrics.around("nope", now() - timedelta(minutes=10), now())
    assert missing.series == () and "no metric alarm named 'nope'" in missing.note


def test_post_incident_records_sit_beside_the_records_in_s3(emulator: Emulator) -> None:
    s3 = emulator_s3(emulator)
    s3.create_bucket(
        Bucket="it-incidents", CreateBucketConfiguration={"LocationConstraint": emulator.region}
    )
    store = S3Records(s3, "it-incidents")
    record = ReleaseRecord.begin("prod", "web@sha256:1", Colour.BLUE, now())
    store.save(record)

    where = store.save_post_incident(record, "# Post-incident record\n")

    assert where == f"s3://it-incidents/incidents/prod/{record.id}.md"
    assert store.load_post_incident("prod", record.id) == "# Post-incident record\n"
    assert store.load_post_incident("prod", "prod-20260101T000000Z-000000") is None
    loaded = store.load()  # the records' listing never meets the Markdown
    assert loaded.records == [record] and loaded.unreadable == []
