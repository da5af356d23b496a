from __future__ import annotations

import pytest

from delivery.config.stackfile import load_stack
from delivery.plans.alarms import (
    AlarmKind,
    MissingData,
    fault_to_rollback_seconds,
    rollback_alarm_specs,
    worst_case_fault_to_rollback,
)


def test_prod_has_one_alarm_per_rollback_trigger_with_its_thresholds() -> None:
    specs = {s.kind: s for s in rollback_alarm_specs(load_stack("prod").alarms)}
    assert set(specs) == set(AlarmKind)
    assert (specs[AlarmKind.FIVE_XX].threshold, specs[AlarmKind.FIVE_XX].periods) == (5, 1)
    assert specs[AlarmKind.LATENCY].threshold == pytest.approx(0.5)  # 2 x 250 ms, in seconds
    assert (specs[AlarmKind.ERROR_RATE].threshold, specs[AlarmKind.ERROR_RATE].window_seconds) == (
        1,
        300,
    )
    assert (specs[AlarmKind.CPU].threshold, specs[AlarmKind.CPU].window_seconds) == (90, 600)
    assert (specs[AlarmKind.MEMORY].threshold, specs[AlarmKind.MEMORY].window_seconds) == (90, 600)


def test_missing_data_is_decided_per_alarm() -> None:
    specs = {s.kind: s for s in rollback_alarm_specs(load_stack("prod").alarms)}
    for kind in (AlarmKind.FIVE_XX, AlarmKind.LATENCY, AlarmKind.ERROR_RATE):
        assert specs[kind].treat_missing is MissingData.NOT_BREACHING
    for kind in (AlarmKind.CPU, AlarmKind.MEMORY):
        assert specs[kind].treat_missing is MissingData.MISSING


def test_each_alarm_watches_the_window_its_stack_file_sets() -> None:
    # Pulumi.staging.yaml: fiveXxMinutes 1, latencyMinutes 2, errorRateMinutes 5,
    # resourceMinutes 5
    specs = {s.kind: s.window_seconds for s in rollback_alarm_specs(load_stack("staging").alarms)}
    assert specs == {
        AlarmKind.FIVE_XX: 60,
        AlarmKind.LATENCY: 120,
        AlarmKind.ERROR_RATE: 300,
        AlarmKind.CPU: 300,
        AlarmKind.MEMORY: 300,
    }


def test_worst_case_fault_to_rollback_per_stack() -> None:
    # window + one minute of metric ingestion + one evaluation period + one poll
    assert worst_case_fault_to_rollback(load_stack("prod")) == {
        "5xx-rate": 60 + 60 + 60 + 15,
        "latency": 180 + 60 + 60 + 15,
        "error-rate": 300 + 60 + 60 + 15,
        "cpu": 600 + 60 + 60 + 15,
        "memory": 600 + 60 + 60 + 15,
    }
    assert max(worst_case_fault_to_rollback(load_stack("dev")).values()) == 120 + 120 + 5


def test_reaction_grows_with_the_poll_interval() -> None:
    spec = rollback_alarm_specs(load_stack("staging").alarms)[0]
    assert fault_to_rollback_seconds(spec, 30) - fault_to_rollback_seconds(spec, 10) == 20
