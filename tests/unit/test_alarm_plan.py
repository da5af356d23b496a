from __future__ import annotations

import pytest

from delivery.config.alarm_kinds import KINDS, MissingData
from delivery.config.stackfile import load_stack
from delivery.plans.alarms import (
    fault_to_rollback_seconds,
    rollback_alarm_specs,
    worst_case_fault_to_rollback,
)


def test_prod_has_one_alarm_per_rollback_trigger_with_its_thresholds() -> None:
    specs = {s.slug: s for s in rollback_alarm_specs(load_stack("prod").alarms)}
    assert list(specs) == [k.name for k in KINDS]
    assert (specs["5xx-rate"].threshold, specs["5xx-rate"].periods) == (5, 1)
    assert specs["latency"].threshold == pytest.approx(0.5)  # 2 x 250 ms, in seconds
    assert (specs["error-rate"].threshold, specs["error-rate"].window_seconds) == (1, 300)
    assert (specs["cpu"].threshold, specs["cpu"].window_seconds) == (90, 600)
    assert (specs["memory"].threshold, specs["memory"].window_seconds) == (90, 600)


def test_missing_data_is_decided_per_alarm() -> None:
    specs = {s.slug: s for s in rollback_alarm_specs(load_stack("prod").alarms)}
    for kind in ("5xx-rate", "latency", "error-rate"):
        assert specs[kind].treat_missing is MissingData.NOT_BREACHING
    for kind in ("cpu", "memory"):
        assert specs[kind].treat_missing is MissingData.MISSING


def test_metric_math_takes_the_stacks_values() -> None:
    specs = {s.slug: s for s in rollback_alarm_specs(load_stack("prod").alarms)}
    expression = getattr(specs["5xx-rate"].measure, "expression", "")
    assert expression.startswith("IF(requests >= 50, ")
    assert "{" not in expression


def test_each_alarm_watches_the_window_its_stack_file_sets() -> None:
    # Pulumi.staging.yaml: fiveXxMinutes 1, latencyMinutes 2, errorRateMinutes 5,
    # resourceMinutes 5
    specs = {s.slug: s.window_seconds for s in rollback_alarm_specs(load_stack("staging").alarms)}
    assert specs == {"5xx-rate": 60, "latency": 120, "error-rate": 300, "cpu": 300, "memory": 300}


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
