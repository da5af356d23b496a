"""The rollback triggers, one declaration each: the alarm kinds as data.

A kind names its config keys (with their ranges), the key that sets its window, what it
measures (a metric, or metric math over several), its threshold, how it treats missing data,
and its alarm's name. The settings reader, the schema test, the alarm planner, the Pulumi
component and the rehearsal's emulator all derive from ``KINDS``: adding a rollback trigger
is one ``AlarmKind`` here, its keys' values in the stack files, and ``make schema``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from delivery.config.model import ALARM_PERIOD_SECONDS
from delivery.config.reader import Key, integer

ELB_NAMESPACE: Final = "AWS/ApplicationELB"
CONTAINER_INSIGHTS: Final = "ContainerInsights"


class Dimensions(StrEnum):
    """Which of a colour's resources a metric is reported for."""

    TARGET_GROUP = "targetGroup"  # LoadBalancer and TargetGroup: the colour's target group
    # ClusterName, Namespace, Service: one of the dimension sets Container Insights publishes
    # the pod metrics under, Service being the Kubernetes Service <serviceName>-<colour> that
    # selects the colour's pods (components/workload.py).
    PODS = "pods"


class MissingData(StrEnum):
    """CloudWatch's TreatMissingData values that the rollback alarms use."""

    NOT_BREACHING = "notBreaching"
    MISSING = "missing"


@dataclass(frozen=True)
class Metric:
    name: str
    statistic: str  # Sum, Average, ... or a percentile such as p95
    namespace: str = ELB_NAMESPACE
    dimensions: Dimensions = Dimensions.TARGET_GROUP

    @property
    def percentile(self) -> bool:
        return self.statistic.startswith("p")


@dataclass(frozen=True)
class MetricMath:
    label: str
    expression: str  # over the inputs' ids; {key} fields take the stack's alarm settings
    inputs: tuple[tuple[str, Metric], ...]  # (query id, metric)


Thresholds = Mapping[str, int]  # every alarm key's value, by key name


@dataclass(frozen=True)
class AlarmKind:
    name: str  # the alarm's name suffix: <prefix>-<colour>-<name>
    keys: tuple[Key, ...]  # every key the kind reads; a key may serve several kinds
    window_key: str  # minutes every evaluation period must breach before the alarm fires
    measure: Metric | MetricMath
    threshold: Callable[[Thresholds], float]  # in the measure's unit
    treat_missing: MissingData
    describe: Callable[[Thresholds], str]

    def __post_init__(self) -> None:
        names = [k.name for k in self.keys]
        assert self.window_key in names, f"{self.name}: window {self.window_key} not in {names}"
        assert all(k.type == "integer" for k in self.keys), f"{self.name}: integer keys only"

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)

    def periods(self, thresholds: Thresholds) -> int:
        """Evaluation periods (of ALARM_PERIOD_SECONDS each) that must all breach."""
        return thresholds[self.window_key] * 60 // ALARM_PERIOD_SECONDS

    def window_seconds(self, thresholds: Thresholds) -> int:
        return self.periods(thresholds) * ALARM_PERIOD_SECONDS


MIN_REQUESTS = integer(
    "minRequestCount",
    1,
    1_000_000,
    "Requests per minute below which the 5xx and error rates are not judged "
    "(a quiet target is not judged on two requests).",
)
RESOURCE_MINUTES = integer(
    "resourceMinutes", 1, 60, "Minutes CPU or memory must stay above their thresholds."
)
_TARGET_5XX = Metric("HTTPCode_Target_5XX_Count", "Sum")
_REQUESTS = Metric("RequestCount", "Sum")
_ENOUGH = "requests >= {minRequestCount}"


def _pod_usage(resource: str, label: str) -> AlarmKind:
    """CPU or memory of the colour's pods above a percentage of their limit, from Container
    Insights (``pod_<resource>_utilization_over_pod_limit``: usage / the sum of the containers'
    limits, published only for pods whose containers all set one)."""
    key = f"{resource}Percent"
    return AlarmKind(
        name=resource,
        keys=(
            integer(
                key,
                1,
                100,
                f"Roll back when the new colour's pods use more than this percentage of their "
                f"{label} limit.",
            ),
            RESOURCE_MINUTES,
        ),
        window_key=RESOURCE_MINUTES.name,
        measure=Metric(
            f"pod_{resource}_utilization_over_pod_limit",
            "Average",
            CONTAINER_INSIGHTS,
            Dimensions.PODS,
        ),
        threshold=lambda t: t[key],
        treat_missing=MissingData.MISSING,
        describe=lambda t: (
            f"Pod {label} above {t[key]}% of its limit for {t['resourceMinutes']} min"
        ),
    )


# TreatMissingData, decided per kind:
# - the request-based alarms (5xx, latency, error rate) have no datapoints when a colour gets
#   no requests, which is the idle colour's normal state and no evidence of harm: notBreaching;
# - CPU and memory come from Container Insights; their silence means the pods or the agent are
#   gone, which is not fine either. `missing` turns that into INSUFFICIENT_DATA, and the stack's
#   insufficientData setting decides (prod: roll back).
KINDS: Final[tuple[AlarmKind, ...]] = (
    AlarmKind(
        name="5xx-rate",
        keys=(
            integer(
                "fiveXxRatePercent",
                1,
                100,
                "Roll back when target 5xx responses exceed this percentage of requests.",
            ),
            integer(
                "fiveXxMinutes",
                1,
                60,
                "Minutes the 5xx rate must stay above its threshold before the alarm fires.",
            ),
            MIN_REQUESTS,
        ),
        window_key="fiveXxMinutes",
        measure=MetricMath(
            "Target 5xx (% of requests)",
            f"IF({_ENOUGH}, 100 * FILL(errors, 0) / requests, 0)",
            (("errors", _TARGET_5XX), ("requests", _REQUESTS)),
        ),
        threshold=lambda t: t["fiveXxRatePercent"],
        treat_missing=MissingData.NOT_BREACHING,
        describe=lambda t: (
            f"Target 5xx above {t['fiveXxRatePercent']}% of requests for {t['fiveXxMinutes']} "
            f"min (judged from {t['minRequestCount']} requests/min)"
        ),
    ),
    AlarmKind(
        name="latency",
        keys=(
            integer(
                "latencyBaselineMs",
                1,
                60_000,
                "Normal p95 target response time in milliseconds; the alarm fires at "
                "latencyFactor times this.",
            ),
            integer(
                "latencyFactor",
                1,
                100,
                "Multiple of the latency baseline that triggers a rollback.",
            ),
            integer(
                "latencyMinutes",
                1,
                60,
                "Minutes the latency must stay above its threshold before the alarm fires.",
            ),
        ),
        window_key="latencyMinutes",
        measure=Metric("TargetResponseTime", "p95"),
        threshold=lambda t: t["latencyBaselineMs"] * t["latencyFactor"] / 1000,  # seconds
        treat_missing=MissingData.NOT_BREACHING,
        describe=lambda t: (
            f"p95 target response time above {t['latencyBaselineMs'] * t['latencyFactor']} ms "
            f"({t['latencyFactor']}x the {t['latencyBaselineMs']} ms baseline) for "
            f"{t['latencyMinutes']} min"
        ),
    ),
    AlarmKind(
        name="error-rate",
        keys=(
            integer(
                "errorRatePercent",
                1,
                100,
                "Roll back when errors (5xx and connection errors) exceed this percentage of "
                "requests.",
            ),
            integer(
                "errorRateMinutes", 1, 60, "Minutes the error rate must stay above its threshold."
            ),
            MIN_REQUESTS,
        ),
        window_key="errorRateMinutes",
        measure=MetricMath(
            "Errors (% of requests)",
            f"IF({_ENOUGH}, 100 * (FILL(errors, 0) + FILL(refused, 0)) / "
            "(requests + FILL(refused, 0)), 0)",
            (
                ("errors", _TARGET_5XX),
                ("refused", Metric("TargetConnectionErrorCount", "Sum")),
                ("requests", _REQUESTS),
            ),
        ),
        threshold=lambda t: t["errorRatePercent"],
        treat_missing=MissingData.NOT_BREACHING,
        describe=lambda t: (
            f"5xx and connection errors above {t['errorRatePercent']}% of requests for "
            f"{t['errorRateMinutes']} min"
        ),
    ),
    _pod_usage("cpu", "CPU"),
    _pod_usage("memory", "memory"),
)
# Every kind's keys, each once, in declaration order.
ALARM_KEYS: Final[tuple[Key, ...]] = tuple(
    {k.name: k for kind in KINDS for k in kind.keys}.values()
)
