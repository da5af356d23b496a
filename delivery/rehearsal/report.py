"""How a rehearsal is shown: a summary table, a timeline chart (PNG) and a JSON report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from delivery.rehearsal.run import RunRecord

OUTCOME_STYLE = {"promoted": "green", "rolled_back": "yellow", "refused": "cyan", "failed": "red"}


def summary_table(records: Sequence[RunRecord]) -> Table:
    table = Table(title="Rehearsal summary", show_lines=True)
    for column in (
        "scenario",
        "step",
        "weights (blue/green)",
        "started (s)",
        "baked (s)",
        "polls",
        "result",
    ):
        table.add_column(column)
    for record in records:
        for index, step in enumerate(record.steps()):
            weights = step.get("weights")
            table.add_row(
                record.scenario.name if index == 0 else "",
                f"{step['step']}%",
                f"{weights['blue']}/{weights['green']}" if weights else "(re-bake)",
                f"{step['started_at']:.1f}",
                f"{step['baked_seconds']:.1f}",
                str(step.get("polls", 0)),
                step["result"],
            )
    return table


def outcome_table(records: Sequence[RunRecord]) -> Table:
    table = Table(title="Outcomes")
    for column in (
        "scenario",
        "expected",
        "outcome",
        "reaction (ms)",
        "alarm events",
        "ModifyListener",
        "DescribeAlarms",
        "retries",
        "final weights",
    ):
        table.add_column(column)
    for record in records:
        calls = record.api_calls.get("calls", {})
        attempts = record.api_calls.get("attempts", {})
        style = OUTCOME_STYLE.get(record.outcome.value, "")
        final = record.final_weights
        table.add_row(
            record.scenario.name,
            record.scenario.expected.value,
            f"[{style}]{record.outcome.value}[/{style}]",
            "-" if record.reaction_ms is None else f"{record.reaction_ms:.0f}",
            ", ".join(f"{m.state}@{m.at:.0f}s" for m in record.alarm_marks) or "-",
            str(calls.get("ModifyListener", 0)),
            str(calls.get("DescribeAlarms", 0)),
            str(sum(attempts.values()) - sum(calls.values())),
            f"{final.blue}/{final.green}" if final else "?",
        )
    return table


def print_summary(console: Console, records: Sequence[RunRecord]) -> None:
    console.print(summary_table(records))
    console.print(outcome_table(records))
    for record in records:
        mark = "ok" if record.as_expected else "UNEXPECTED"
        console.print(
            f"[bold]{record.scenario.name}[/bold] ({mark}): {record.message}", soft_wrap=True
        )


def write_json(path: Path, records: Sequence[RunRecord]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"runs": [r.as_json() for r in records]}, indent=2) + "\n")


def write_chart(path: Path, records: Sequence[RunRecord], title: str) -> None:
    """New colour's weight over policy time, one line per run; alarm events marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.5))
    for record in records:
        times, weights = [0.0], [0]
        for event in record.events:
            if event.kind == "weights-set":
                times.append(event.at)
                weights.append(event.weights.of(record.target))
        end = record.events[-1].at if record.events else 0.0
        times.append(end)
        weights.append(weights[-1])
        ax.step(
            times,
            weights,
            where="post",
            linewidth=2,
            label=f"{record.scenario.name} → {record.outcome.value}",
        )
        for mark in record.alarm_marks:
            colour = "red" if mark.state == "ALARM" else "orange" if mark.state != "OK" else "grey"
            ax.axvline(mark.at, color=colour, linestyle=":", linewidth=1.2)
            ax.annotate(
                f"{mark.state}",
                (mark.at, 102),
                color=colour,
                fontsize=7,
                rotation=90,
                va="bottom",
                ha="center",
            )
    ax.set_xlabel("policy time (s)")
    ax.set_ylabel("weight of the new colour (%)")
    ax.set_ylim(-5, 125)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
