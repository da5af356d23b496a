"""Pure planning of the rollback alarms: what each one judges, its window and its reaction time.

The Pulumi component (components/alarms.py) turns these specs into CloudWatch alarms; the
cutover gates on the alarms of the colour taking over traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from delivery.config.model import (
    ALARM_PERIOD_SECONDS,
    CLOUDWATCH_LAG_SECONDS,
    AlarmThresholds,
    Settings,
)


class AlarmKind(StrEnum):
    FIVE_XX = "5xx-rate"
    LATENCY = "latency"
    ERROR_RATE = "error-rate"
    CPU = "cpu"
    MEMORY = "memory"


class MissingData(StrEnum):
    """CloudWatch's TreatMissingData values that these alarms use."""

    NOT_BREACHING = "notBreaching"
    MISSING = "missing"


@dataclass(frozen=True)
class AlarmSpec:
    kind: AlarmKind
    threshold: float
    periods: int  # evaluation periods, each ALARM_PERIOD_SECONDS; every one must breach
    treat_missing: MissingData
    description: str
    name: str = ""  # the alarm's name suffix; the kind's value unless set

    @property
    def slug(self) -> str:
        return self.name or self.kind.value

    @property
    def window_seconds(self) -> int:
        return self.periods * ALARM_PERIOD_SECONDS


def rollback_alarm_specs(t: AlarmThresholds) -> tuple[AlarmSpec, ...]:
    """One spec per rollback trigger.

    TreatMissingData, decided per alarm:
    - the request-based alarms (5xx, latency, error rate) have no datapoints when a colour gets
      no requests, which is the idle colour's normal state and no evidence of harm:
      notBreaching;
    - CPU and memory come from Container Insights; their silence means the pods or the agent
      are gone, which is not fine either. `missing` turns that into INSUFFICIENT_DATA, and the
      stack's insufficientData setting decides (prod: roll back).
    """
    latency_ms = t.latency_baseline_ms * t.latency_factor
    # The model owns which setting sets each alarm's window; the specs count it in periods.
    periods = {kind: seconds // ALARM_PERIOD_SECONDS for kind, seconds in t.windows().items()}
    return (
        AlarmSpec(
            AlarmKind.FIVE_XX,
            t.five_xx_rate_percent,
            periods[AlarmKind.FIVE_XX],
            MissingData.NOT_BREACHING,
            f"Target 5xx above {t.five_xx_rate_percent}% of requests for "
            f"{t.five_xx_minutes} min (judged from {t.min_request_count} requests/min)",
        ),
        AlarmSpec(
            AlarmKind.LATENCY,
            latency_ms / 1000,
            periods[AlarmKind.LATENCY],
            MissingData.NOT_BREACHING,
            f"p95 target response time above {latency_ms} ms ({t.latency_factor}x the "
            f"{t.latency_baseline_ms} ms baseline) for {t.latency_minutes} min",
        ),
        AlarmSpec(
            AlarmKind.ERROR_RATE,
            t.error_rate_percent,
            periods[AlarmKind.ERROR_RATE],
            MissingData.NOT_BREACHING,
            f"5xx and connection errors above {t.error_rate_percent}% of requests for "
            f"{t.error_rate_minutes} min",
        ),
        AlarmSpec(
            AlarmKind.CPU,
            t.cpu_percent,
            periods[AlarmKind.CPU],
            MissingData.MISSING,
            f"Pod CPU above {t.cpu_percent}% for {t.resource_minutes} min",
        ),
        AlarmSpec(
            AlarmKind.MEMORY,
            t.memory_percent,
            periods[AlarmKind.MEMORY],
            MissingData.MISSING,
            f"Pod memory above {t.memory_percent}% for {t.resource_minutes} min",
        ),
    )


def fault_to_rollback_seconds(spec: AlarmSpec, poll_seconds: int) -> int:
    """Worst case from the first bad minute to the listener back at 100/0 for one alarm.

    The fault has to fill the alarm's window, the last datapoint takes up to a minute to reach
    CloudWatch, the alarm evaluates once per period, and the engine sees it within one poll.
    """
    return spec.window_seconds + CLOUDWATCH_LAG_SECONDS + ALARM_PERIOD_SECONDS + poll_seconds


def worst_case_fault_to_rollback(settings: Settings) -> dict[str, int]:
    poll = settings.traffic.poll_seconds
    return {
        s.kind.value: fault_to_rollback_seconds(s, poll)
        for s in rollback_alarm_specs(settings.alarms)
    }
