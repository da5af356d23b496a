"""How a rehearsal is shown: a summary table, a timeline chart (PNG) and a JSON report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from delivery.cutover.ports import AlarmValue
from delivery.rehearsal.run import RunRecord
from delivery.rehearsal.scenarios import Outcome

OUTCOME_STYLE = {
    Outcome.PROMOTED: "green",
    Outcome.ROLLED_BACK: "yellow",
    Outcome.REFUSED: "cyan",
    Outcome.FAILED: "red",
}


def _table(title: str, *columns: str) -> Table:
    """Compact tables that fit an 80-column terminal without cutting a word."""
    table = Table(
        title=title, box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, collapse_padding=True
    )
    for column in columns:
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    return table


def summary_table(records: Sequence[RunRecord]) -> Table:
    table = _table(
        "Steps", "scenario", "step", "blue/green", "at (s)", "baked (s)", "polls", "result"
    )
    for record in records:
        steps = record.steps()
        if not steps:
            table.add_row(record.scenario.name, "-", "-", "-", "-", "-", record.outcome.value)
        for index, step in enumerate(steps):
            weights = step.get("weights")
            table.add_row(
                record.scenario.name if index == 0 else "",
                f"{step['step']}%",
                f"{weights['blue']}/{weights['green']}" if weights else "re-bake",
                f"{step['started_at']:.1f}",
                f"{step['baked_seconds']:.1f}",
                str(step.get("polls", 0)),
                step["result"],
            )
    return table


def outcome_table(records: Sequence[RunRecord]) -> Table:
    table = _table("Outcomes", "scenario", "expected", "outcome", "react s", "wall ms", "final b/g")
    table.caption = (
        "react s: alarm to rollback in policy time (the policy's polls and bakes at full "
        "length); wall ms: the same on the wall clock, its waits compressed ×speed"
    )
    for record in records:
        style = OUTCOME_STYLE[record.outcome]
        final = record.final_weights
        table.add_row(
            record.scenario.name,
            record.scenario.expected.value,
            f"[{style}]{record.outcome.value}[/{style}]",
            _shown(record.reaction_policy_seconds, ".1f"),
            _shown(record.reaction_wall_ms, ".0f"),
            f"{final.blue}/{final.green}" if final else "unknown",
        )
    return table


def _shown(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def api_table(records: Sequence[RunRecord]) -> Table:
    table = _table(
        "API calls", "scenario", "ModifyListener", "DescribeAlarms", "retries", "alarm changes"
    )
    for record in records:
        calls = record.api_calls.get("calls", {})
        attempts = record.api_calls.get("attempts", {})
        table.add_row(
            record.scenario.name,
            str(calls.get("ModifyListener", 0)),
            str(calls.get("DescribeAlarms", 0)),
            str(sum(attempts.values()) - sum(calls.values())),
            str(len(record.alarm_marks)),
        )
    return table


def print_summary(console: Console, records: Sequence[RunRecord]) -> None:
    for table in (summary_table(records), outcome_table(records), api_table(records)):
        console.print(table)
    for record in records:
        mark = "ok" if record.as_expected else "UNEXPECTED"
        console.print(f"[bold]{record.scenario.name}[/bold] ({mark}): {record.message}")


def write_json(path: Path, records: Sequence[RunRecord]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"runs": [r.as_json() for r in records]}, indent=2, allow_nan=False) + "\n"
    )


LINE_COLOURS = {
    Outcome.PROMOTED: "tab:green",
    Outcome.ROLLED_BACK: "tab:purple",
    Outcome.REFUSED: "tab:blue",
    Outcome.FAILED: "black",
}
STATE_COLOURS = {
    AlarmValue.ALARM: "tab:red",
    AlarmValue.INSUFFICIENT_DATA: "tab:orange",
    AlarmValue.OK: "tab:grey",
}


def write_chart(path: Path, records: Sequence[RunRecord], title: str) -> None:
    import matplotlib.pyplot as plt

    fig = timeline_figure(records, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def timeline_figure(records: Sequence[RunRecord], title: str) -> Any:
    """One row per run: the new colour's weight over policy time, and that run's alarm changes.

    Policy time compresses the engine's bakes and polls only; API calls and retries count at
    their real duration (``CompressedClock``), so a throttled call does not look like a stall.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    rows = max(1, len(records))
    fig, axes = plt.subplots(rows, 1, sharex=True, squeeze=False, figsize=(10, 1.3 + 1.5 * rows))
    for ax, record in zip(axes[:, 0], records, strict=False):
        _plot_run(ax, record)
    axes[-1, 0].set_xlabel(
        "policy time (s): bakes compressed; API calls and retries at real duration"
    )
    fig.suptitle(title, fontsize=11)
    fig.legend(
        handles=[
            Line2D([], [], color=colour, linestyle=":", label=f"alarm {state}")
            for state, colour in STATE_COLOURS.items()
        ],
        loc="lower center",
        fontsize=8,
        ncols=3,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    return fig


def _plot_run(ax: Any, record: RunRecord) -> None:
    times, weights = [0.0], [0]
    for event in record.events:
        if event.kind.sets_weights:
            times.append(event.at)
            weights.append(event.weights.of(record.target))
    end = record.events[-1].at if record.events else 0.0
    times.append(end)
    weights.append(weights[-1])
    colour = LINE_COLOURS[record.outcome]
    ax.step(times, weights, where="post", linewidth=2, color=colour)
    if record.outcome is Outcome.REFUSED:
        ax.plot([end], [0], marker="X", markersize=10, color=colour)
        ax.annotate(
            "refused: no traffic moved",
            (end, 0),
            xytext=(8, 8),
            textcoords="offset points",
            fontsize=8,
        )
    for mark in record.alarm_marks:
        ax.axvline(
            mark.at,
            color=STATE_COLOURS[mark.state],
            linestyle=":",
            linewidth=1.4,
            zorder=3,  # above the weight line, which a rollback draws at the same moment
        )
    verdict = "" if record.as_expected else f" (expected {record.scenario.expected.value})"
    ax.set_title(f"{record.scenario.name}: {record.outcome.value}{verdict}", loc="left", fontsize=9)
    ax.set_ylim(-8, 108)
    ax.set_yticks([0, 50, 100])
    ax.set_ylabel(f"{record.target} %", fontsize=8)
    ax.grid(alpha=0.3)
