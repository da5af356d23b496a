"""The rehearsal's tables and chart, on synthetic runs: readable at 80 columns, every run shown."""

from __future__ import annotations

import pytest
from rich.console import Console

from delivery.config.model import Colour
from delivery.cutover.events import Event, EventKind
from delivery.cutover.ports import AlarmValue
from delivery.plans.schedule import Weights
from delivery.rehearsal.report import print_summary, timeline_figure
from delivery.rehearsal.run import AlarmMark, RunRecord
from delivery.rehearsal.scenarios import Outcome, Scenario

BLUE = Weights.all_on(Colour.BLUE)
HALF = Weights.split(Colour.GREEN, 50)


def rolled_back() -> RunRecord:
    scenario = Scenario("insufficient-data", Outcome.ROLLED_BACK, "no data mid-bake", 50)
    message = (
        "alarm 'switchyard-prod-green-5xx-rate' is INSUFFICIENT_DATA (rehearsal: an alarm goes "
        "to INSUFFICIENT_DATA mid-bake; this stack says rollback) at step 50%; rolled back, "
        "blue=100% green=0% now in force."
    )
    record = RunRecord(scenario, 100.0, Colour.GREEN, Outcome.ROLLED_BACK, message)
    record.events = [
        Event(0.1, EventKind.GATES_PASSED, BLUE),
        Event(0.2, EventKind.STEP_SET, HALF, 50),
        *(Event(0.2 + 15 * n, EventKind.POLL, HALF, 50) for n in range(41)),  # a prod-sized bake
        Event(1206.923456, EventKind.ROLLBACK_SET, BLUE, 50, "rollback"),
        Event(1207.2, EventKind.ROLLED_BACK, BLUE, 50, "alarm"),
    ]
    record.alarm_marks = [AlarmMark(39.0, "web-green-5xx-rate", AlarmValue.INSUFFICIENT_DATA)]
    record.api_calls = {
        "calls": {"ModifyListener": 2, "DescribeAlarms": 124},
        "attempts": {"ModifyListener": 2, "DescribeAlarms": 124},
    }
    record.final_weights = BLUE
    record.reaction_wall_ms = 812.0
    return record


def promoted() -> RunRecord:
    scenario = Scenario("throttled", Outcome.PROMOTED, "ELBv2 throttles")
    record = RunRecord(scenario, 400.0, Colour.GREEN, Outcome.PROMOTED, "green is live")
    for n, weight in enumerate((10, 50, 100)):
        start = 6.8 + 600.05 * n
        record.events += [
            Event(start, EventKind.STEP_SET, Weights.split(Colour.GREEN, weight), weight),
            Event(
                start + 600.0, EventKind.BAKE_PASSED, Weights.split(Colour.GREEN, weight), weight
            ),
        ]
    record.final_weights = Weights.all_on(Colour.GREEN)
    return record


def refused() -> RunRecord:
    scenario = Scenario("unhealthy-green", Outcome.REFUSED, "no healthy targets")
    record = RunRecord(scenario, 100.0, Colour.GREEN, Outcome.REFUSED, "refused")
    record.events = [Event(0.05, EventKind.REFUSED, BLUE, None, "0 healthy targets")]
    record.final_weights = BLUE
    return record


@pytest.mark.parametrize("width", [80, 120])
def test_the_tables_fit_the_terminal_without_cutting_a_word(width: int) -> None:
    console = Console(width=width, record=True, force_terminal=False)
    print_summary(console, [promoted(), rolled_back(), refused()])
    text = console.export_text()
    assert "…" not in text
    assert max(len(line.rstrip()) for line in text.splitlines()) <= width
    for word in (
        "insufficient-data",
        "unhealthy-green",
        "rolled-back",
        "ModifyListener",
        "INSUFFICIENT_DATA",  # the engine's message wraps between words, never inside one
        "'switchyard-prod-green-5xx-rate'",
    ):
        assert word in text
    assert "DescribeAlarms" in text


def test_a_refused_run_has_its_row_in_the_step_table() -> None:
    console = Console(width=80, record=True, force_terminal=False)
    print_summary(console, [refused()])
    steps_table = console.export_text().split("Outcomes")[0]
    assert "unhealthy-green" in steps_table
    assert "refused" in steps_table


def test_the_reaction_is_given_in_policy_time_beside_the_wall_time() -> None:
    """A rehearsal compresses the policy's waits: its wall-clock reaction (812 ms at time
    x400) is not what the policy takes; from the alarm's mark to the rollback in policy time
    is (1207.2 s - 39.0 s)."""
    record = rolled_back()
    report = record.as_json()
    assert report["reaction_policy_seconds"] == pytest.approx(1168.2)
    assert report["reaction_wall_ms"] == 812.0
    console = Console(width=120, record=True, force_terminal=False)
    print_summary(console, [record])
    text = " ".join(console.export_text().split())  # the caption wraps
    assert "1168.2" in text and "812" in text
    assert "alarm to rollback in policy time" in text and "compressed ×speed" in text


def test_step_times_are_rounded_in_the_json() -> None:
    steps = rolled_back().as_json()["steps"]
    assert steps[0]["started_at"] == 0.2
    assert steps[0]["result"] == "rolled-back"
    assert steps[0]["baked_seconds"] == 1207.0


def test_the_chart_gives_each_run_its_own_row_with_its_own_alarm_marks() -> None:
    runs = [rolled_back(), refused()]
    figure = timeline_figure(runs, "title")
    try:
        first, second = figure.axes
        assert first.get_title(loc="left") == "insufficient-data: rolled-back"
        assert second.get_title(loc="left") == "unhealthy-green: refused"

        # the alarm mark is drawn on its own run's row only (a vertical line at its time)
        def vertical_lines(ax: object) -> list[float]:
            return [
                line.get_xdata()[0]
                for line in ax.get_lines()  # type: ignore[attr-defined]
                if len(set(line.get_xdata())) == 1 and line.get_linestyle() == ":"
            ]

        assert vertical_lines(first) == [39.0]
        assert vertical_lines(second) == []
        # the refused run is visible: a marker where it stopped
        markers = [line.get_marker() for line in second.get_lines()]
        assert "X" in markers
    finally:
        import matplotlib.pyplot as plt

        plt.close(figure)
