"""Delivery metrics from the release records, against the seed's targets.

Definitions as dora.dev gives them:
- deployment frequency: promotions per week over the window;
- lead time: median hours from the commit to its promotion;
- change failure rate: of the releases that reached users (moved traffic), the share that then
  failed: rolled back, aborted, or left the listener split (a failed rollback, the worst). A
  release stopped before any traffic moved, or aborted before its first shift, is a caught
  change: neither a deployment nor a failure. A record that does not say whether traffic moved
  (written before the driver recorded it) is a failure if it rolled back or was aborted, or
  failed after a fault was seen (an alarm, an abort);
- time to restore: median minutes from the failure (the alarm the cutover saw, the abort) to
  100% on a good colour. A failure not restored yet (no restore time) fails the target,
  whatever the median; one restored at an unknown moment after an unknown failure keeps the
  median from meeting it.

A release belongs to the window of the moment it ended (promoted, failed or stopped), not the
one it started in: prod's approval gate can hold a release for days.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from delivery.release.record import Outcome, ReleaseRecord

WEEK = timedelta(days=7)
ENDED_BADLY = (Outcome.ROLLED_BACK, Outcome.ABORTED, Outcome.FAILED)


@dataclass(frozen=True)
class Targets:
    deployments_per_week: float = 10.0  # at least
    lead_time_hours: float = 4.0  # under
    time_to_restore_minutes: float = 30.0  # under
    change_failure_rate: float = 0.05  # under


@dataclass(frozen=True)
class Metrics:
    since: datetime
    until: datetime
    counts: dict[str, int]
    deployment_frequency_per_week: float
    lead_time_hours: float | None
    change_failure_rate: float | None
    time_to_restore_minutes: float | None
    targets: Targets
    unrestored: int = 0  # failures with no restore time: an incident still open
    untimed: int = 0  # restored failures whose failure moment is unknown
    no_lead_time: int = 0  # promotions without a commit time (not in the lead time's median)
    stacks: tuple[str, ...] = ()  # the stacks whose releases were counted

    @property
    def meets(self) -> dict[str, bool | None]:
        t = self.targets

        def under(value: float | None, limit: float) -> bool | None:
            return None if value is None else value < limit

        return {
            "deployment_frequency_per_week": self.deployment_frequency_per_week
            >= t.deployments_per_week,
            "lead_time_hours": under(self.lead_time_hours, t.lead_time_hours),
            "change_failure_rate": under(self.change_failure_rate, t.change_failure_rate),
            "time_to_restore_minutes": self._restore_verdict(),
        }

    def _restore_verdict(self) -> bool | None:
        """An open incident misses the target; a failure of unknown duration may be the one
        that misses it, so with one the median can miss the target but never meet it."""
        if self.unrestored:
            return False
        verdict = None
        if self.time_to_restore_minutes is not None:
            verdict = self.time_to_restore_minutes < self.targets.time_to_restore_minutes
        return None if verdict and self.untimed else verdict

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "counts": self.counts,
            "deployment_frequency_per_week": round(self.deployment_frequency_per_week, 3),
            "lead_time_hours": _round(self.lead_time_hours),
            "change_failure_rate": _round(self.change_failure_rate),
            "time_to_restore_minutes": _round(self.time_to_restore_minutes),
            "unrestored_failures": self.unrestored,
            "untimed_failures": self.untimed,
            "promotions_without_lead_time": self.no_lead_time,
            "stacks": list(self.stacks),
            "targets": {
                "deployment_frequency_per_week": self.targets.deployments_per_week,
                "lead_time_hours": self.targets.lead_time_hours,
                "change_failure_rate": self.targets.change_failure_rate,
                "time_to_restore_minutes": self.targets.time_to_restore_minutes,
            },
            "meets_targets": self.meets,
        }

    def lines(self) -> list[str]:
        meets = self.meets

        def mark(key: str) -> str:
            verdict = meets[key]
            if verdict is None and key == "time_to_restore_minutes" and self.untimed:
                return "unknown"
            return {True: "meets target", False: "MISSES target", None: "no data"}[verdict]

        def show(value: float | None, unit: str) -> str:
            return "n/a" if value is None else f"{value:.2f} {unit}"

        t = self.targets
        cfr = None if self.change_failure_rate is None else 100 * self.change_failure_rate
        return [
            f"releases {self.since:%Y-%m-%d} .. {self.until:%Y-%m-%d}: "
            + ", ".join(f"{k} {v}" for k, v in self.counts.items()),
            f"deployment frequency  {self.deployment_frequency_per_week:.2f} per week "
            f"(target {t.deployments_per_week:g}+): {mark('deployment_frequency_per_week')}",
            f"lead time             {show(self.lead_time_hours, 'h')} median "
            f"(target under {t.lead_time_hours:g} h): {mark('lead_time_hours')}"
            + (
                f"; {self.no_lead_time} promotion(s) without a commit time (not in the median)"
                if self.no_lead_time
                else ""
            ),
            f"change failure rate   {show(cfr, '%')} "
            f"(target under {100 * t.change_failure_rate:g}%): {mark('change_failure_rate')}",
            f"time to restore       {show(self.time_to_restore_minutes, 'min')} median "
            f"(target under {t.time_to_restore_minutes:g} min): {mark('time_to_restore_minutes')}"
            + (f"; {self.unrestored} failure(s) not restored" if self.unrestored else "")
            + (
                f"; {self.untimed} failure(s) without a failure time (not in the median)"
                if self.untimed
                else ""
            ),
        ]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def ended_at(record: ReleaseRecord) -> datetime:
    """When the release ended: promoted, failed, or closed; its start if nothing later."""
    return record.promoted_at or record.ended_at or record.failed_at or record.started_at


def in_window(
    records: Sequence[ReleaseRecord], since: datetime, until: datetime
) -> list[ReleaseRecord]:
    return [r for r in records if r.outcome is not None and since <= ended_at(r) <= until]


def reached_production(record: ReleaseRecord) -> bool:
    """A deployment: promoted, or all traffic on the new colour although the run then failed
    elsewhere (its `pulumi up` failed on another resource: users are on the release)."""
    return record.outcome is Outcome.PROMOTED or (
        record.outcome is Outcome.FAILED and record.promoted_at is not None
    )


def failed_in_production(record: ReleaseRecord) -> bool:
    """It reached users and then did not stay: a change failure."""
    if record.outcome not in ENDED_BADLY or reached_production(record):
        return False
    if record.traffic_moved is None:  # an earlier record: a failure unless it says otherwise
        return record.outcome is not Outcome.FAILED or record.failed_at is not None
    return record.traffic_moved


def compute(
    records: Sequence[ReleaseRecord],
    since: datetime,
    until: datetime,
    targets: Targets = Targets(),
) -> Metrics:
    if until <= since:
        raise ValueError(f"the window must end after it starts: {since} .. {until}")
    window = in_window(records, since, until)
    counts = {o.value: sum(1 for r in window if r.outcome is o) for o in Outcome}
    promoted = [r for r in window if reached_production(r)]
    failed = [r for r in window if failed_in_production(r)]
    reached_users = len(promoted) + len(failed)
    firsts = first_promotions(records)
    lead = [s / 3600 for r in promoted if r.id in firsts and (s := r.lead_time_seconds) is not None]
    restore = [s / 60 for r in failed if (s := r.time_to_restore_seconds) is not None]
    return Metrics(
        since=since,
        until=until,
        counts=counts,
        deployment_frequency_per_week=len(promoted) / ((until - since) / WEEK),
        lead_time_hours=_median(lead),
        change_failure_rate=len(failed) / reached_users if reached_users else None,
        time_to_restore_minutes=_median(restore),
        targets=targets,
        unrestored=sum(1 for r in failed if r.restored_at is None),
        untimed=sum(
            1 for r in failed if r.restored_at is not None and r.time_to_restore_seconds is None
        ),
        no_lead_time=sum(1 for r in promoted if r.id in firsts and r.lead_time_seconds is None),
        stacks=tuple(sorted({r.stack for r in window})),
    )


def first_promotions(records: Sequence[ReleaseRecord]) -> set[str]:
    """The ids of each commit's first promotion per stack: a commit's lead time ends when it
    first runs in production; a later release of the same commit (staging re-releases its
    image on every push to develop) is a deployment, not a longer lead time."""
    first: dict[tuple[str, str], ReleaseRecord] = {}
    unnamed = set()
    for r in records:
        if not reached_production(r):
            continue
        if r.commit is None:
            unnamed.add(r.id)
            continue
        key = (r.stack, r.commit)
        seen = first.get(key)
        if seen is None or ended_at(r) < ended_at(seen):
            first[key] = r
    return unnamed | {r.id for r in first.values()}


@dataclass(frozen=True)
class ChartData:
    """What the chart draws: releases per week by outcome, each promotion's lead time and each
    change failure's time to restore, at the moment it happened."""

    per_week: dict[Outcome, list[int]]
    lead_hours: list[tuple[datetime, float]]
    restore_minutes: list[tuple[datetime, float]]


def chart_data(records: Sequence[ReleaseRecord], metrics: Metrics) -> ChartData:
    window = in_window(records, metrics.since, metrics.until)
    weeks = max(1, int((metrics.until - metrics.since) / WEEK + 0.999))
    per_week = {outcome: [0] * weeks for outcome in Outcome}
    for r in window:
        assert r.outcome is not None
        per_week[r.outcome][min(weeks - 1, int((ended_at(r) - metrics.since) / WEEK))] += 1
    lead = [
        (r.promoted_at, s / 3600)
        for r in window
        if r.promoted_at is not None and (s := r.lead_time_seconds) is not None
    ]
    restore = [
        (ended_at(r), s / 60)
        for r in window
        if failed_in_production(r) and (s := r.time_to_restore_seconds) is not None
    ]
    return ChartData(per_week, lead, restore)


COLOURS: Final = {
    Outcome.PROMOTED: "tab:green",
    Outcome.ROLLED_BACK: "tab:red",
    Outcome.ABORTED: "tab:orange",
    Outcome.STOPPED: "tab:gray",
    Outcome.FAILED: "black",
}


def write_chart(path: Path, records: Sequence[ReleaseRecord], metrics: Metrics) -> list[str]:
    """Releases per week by outcome; lead times and times to restore against their targets,
    over the window only. Returns the panels that had nothing to show ("no data" there)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = chart_data(records, metrics)
    figure, (top, middle, bottom) = plt.subplots(3, 1, figsize=(9, 9), constrained_layout=True)
    weeks = len(next(iter(data.per_week.values())))
    bottoms = [0] * weeks
    for outcome, colour in COLOURS.items():
        counts = data.per_week[outcome]
        top.bar(range(weeks), counts, bottom=bottoms, color=colour, label=outcome.value)
        bottoms = [a + b for a, b in zip(bottoms, counts, strict=True)]
    top.axhline(
        metrics.targets.deployments_per_week,
        color="tab:blue",
        linestyle="--",
        label="target deployments/week",
    )
    failure_rate = (
        "n/a"
        if metrics.change_failure_rate is None
        else f"{100 * metrics.change_failure_rate:.1f}%"
    )
    top.set_title(
        f"Releases per week (frequency {metrics.deployment_frequency_per_week:.1f}/week, "
        f"change failure rate {failure_rate})"
    )
    top.set_xlabel(f"week since {metrics.since:%Y-%m-%d}")
    top.legend(fontsize="small", ncols=3)
    empty = []
    panels = (
        (middle, data.lead_hours, "lead time of a promotion", "hours from commit to promotion",
         metrics.targets.lead_time_hours, "tab:green"),
        (bottom, data.restore_minutes, "time to restore of a change failure",
         "minutes from failure to restored", metrics.targets.time_to_restore_minutes, "tab:red"),
    )  # fmt: skip
    for axis, points, label, unit, target, colour in panels:
        axis.set_xlim(metrics.since, metrics.until)  # the window, never an empty span of years
        axis.set_ylabel(unit)
        axis.set_title(label)
        if not points:
            axis.text(0.5, 0.5, "no data", ha="center", va="center", transform=axis.transAxes)
            empty.append(label)
            continue
        axis.scatter([at for at, _ in points], [v for _, v in points], color=colour, label=label)
        axis.axhline(target, color="tab:blue", linestyle="--", label="target")
        axis.legend(fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return empty
