"""Pure planning of the rollback alarms: what each one judges, its window and its reaction time.

Each spec comes from one alarm kind (``delivery.config.alarm_kinds``) and the stack's values.
The Pulumi component (components/alarms.py) and the rehearsal's emulator turn the specs into
CloudWatch alarms; the cutover gates on the alarms of the colour taking over traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from delivery.config.alarm_kinds import (
    KINDS,
    AlarmKind,
    Dimensions,
    Metric,
    MetricMath,
    MissingData,
)
from delivery.config.model import (
    ALARM_PERIOD_SECONDS,
    CLOUDWATCH_LAG_SECONDS,
    AlarmThresholds,
    Colour,
    Settings,
    Workload,
)

T = TypeVar("T")


@dataclass(frozen=True)
class AlarmSpec:
    kind: AlarmKind
    threshold: float
    periods: int  # evaluation periods, each ALARM_PERIOD_SECONDS; every one must breach
    treat_missing: MissingData
    description: str
    measure: Metric | MetricMath  # metric math with the stack's values filled in
    name: str = ""  # the alarm's name suffix; the kind's name unless set

    @property
    def slug(self) -> str:
        return self.name or self.kind.name

    @property
    def window_seconds(self) -> int:
        return self.periods * ALARM_PERIOD_SECONDS


def alarm_name(name_prefix: str, colour: Colour, suffix: str) -> str:
    """The naming rule of every alarm of a colour: ``<prefix>-<colour>-<suffix>``."""
    return f"{name_prefix}-{colour}-{suffix}"


def rollback_alarm_specs(thresholds: AlarmThresholds) -> tuple[AlarmSpec, ...]:
    """One spec per rollback trigger, in the order the kinds are declared."""
    t = thresholds.values
    return tuple(
        AlarmSpec(
            kind=kind,
            threshold=kind.threshold(t),
            periods=kind.periods(t),
            treat_missing=kind.treat_missing,
            description=kind.describe(t),
            measure=_filled(kind.measure, t),
        )
        for kind in KINDS
    )


def _filled(measure: Metric | MetricMath, values: Mapping[str, int]) -> Metric | MetricMath:
    if isinstance(measure, Metric):
        return measure
    return MetricMath(measure.label, measure.expression.format(**values), measure.inputs)


def dimensions(
    which: Dimensions,
    colour: Colour,
    workload: Workload,
    load_balancer: T,
    target_group: T,
) -> dict[str, T | str]:
    """The dimension names and values a colour's metric is reported under."""
    if which is Dimensions.TARGET_GROUP:
        return {"LoadBalancer": load_balancer, "TargetGroup": target_group}
    return {
        "ClusterName": workload.cluster_name,
        "Namespace": workload.namespace,
        "Service": f"{workload.service_name}-{colour}",
    }


def fault_to_rollback_seconds(spec: AlarmSpec, poll_seconds: int) -> int:
    """Worst case from the first bad minute to the listener back at 100/0 for one alarm.

    The fault has to fill the alarm's window, the last datapoint takes up to a minute to reach
    CloudWatch, the alarm evaluates once per period, and the engine sees it within one poll.
    """
    return spec.window_seconds + CLOUDWATCH_LAG_SECONDS + ALARM_PERIOD_SECONDS + poll_seconds


def worst_case_fault_to_rollback(settings: Settings) -> dict[str, int]:
    poll = settings.traffic.poll_seconds
    return {
        s.slug: fault_to_rollback_seconds(s, poll) for s in rollback_alarm_specs(settings.alarms)
    }
