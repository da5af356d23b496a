"""The post-incident record: what happened in a release that rolled back, as Markdown.

Every rollback, failed rollback and aborted promote gets one without anyone asking: the
release driver writes it beside the release records (``record.py``'s store, under
``incidents/``) before it sends the rollback notice, which links it; ``python -m delivery
incident <release id>`` prints it. It is built from the release record (its phases, the
cutover's report and events) and, where CloudWatch has them, the alarm's metric datapoints
around the fault. What the record cannot know is listed as open questions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from delivery.config.model import Settings, Tier
from delivery.cutover.aws import call
from delivery.cutover.events import CutoverReport, Event, EventKind
from delivery.cutover.events import Outcome as CutoverOutcome
from delivery.errors import PortError
from delivery.plans import escalation
from delivery.release.record import Outcome, Phase, RecordStore, ReleaseRecord

BEFORE_FAULT: Final = timedelta(minutes=15)  # how much of the metric before the fault to show
AFTER_RESTORE: Final = timedelta(minutes=5)
METRIC_PERIOD_SECONDS: Final = 60  # ALB and Container Insights metrics are per minute


@dataclass(frozen=True)
class Series:
    label: str
    points: tuple[tuple[datetime, float], ...]


@dataclass(frozen=True)
class FaultMetric:
    """The alarm's metric around the fault; ``note`` says why there is less than hoped."""

    alarm: str
    series: tuple[Series, ...]
    note: str = ""


class AlarmMetrics(Protocol):
    def around(self, alarm: str, start: datetime, end: datetime) -> FaultMetric: ...


class CloudWatchAlarmMetrics:
    """Reads an alarm's definition (DescribeAlarms) and its metric's datapoints
    (GetMetricData, MetricStat queries). A metric-math alarm is shown through its input
    metrics: moto 5.2's GetMetricData resolves an expression only when it is another query's
    id (moto/cloudwatch/metric_data_expression_parser.py), so the arithmetic is not asked of
    CloudWatch here; the record names the expression instead."""

    def __init__(self, cloudwatch: Any) -> None:
        self._cloudwatch = cloudwatch

    def around(self, alarm: str, start: datetime, end: datetime) -> FaultMetric:
        found = call(self._cloudwatch.describe_alarms, AlarmNames=[alarm])["MetricAlarms"]
        if not found:
            return FaultMetric(alarm, (), f"CloudWatch has no metric alarm named {alarm!r}")
        definition = found[0]
        note = ""
        if "MetricName" in definition:
            queries = [_stat_query("m0", definition, definition.get("Statistic", "Average"))]
        else:
            queries = [
                {"Id": q["Id"], "MetricStat": q["MetricStat"], "ReturnData": True}
                for q in definition.get("Metrics", [])
                if "MetricStat" in q
            ]
            expressions = [
                q["Expression"] for q in definition.get("Metrics", []) if "Expression" in q
            ]
            note = (
                f"the alarm judges {'; '.join(expressions)} over these inputs"
                if expressions
                else ""
            )
        if not queries:
            return FaultMetric(alarm, (), "the alarm names no metric to read")
        answer = call(
            self._cloudwatch.get_metric_data,
            MetricDataQueries=queries,
            StartTime=start,
            EndTime=end,
            ScanBy="TimestampAscending",
        )
        series = tuple(
            Series(
                str(r.get("Label") or r["Id"]),
                tuple(zip(r.get("Timestamps", []), r.get("Values", []), strict=False)),
            )
            for r in answer.get("MetricDataResults", [])
        )
        return FaultMetric(alarm, series, note)


def _stat_query(query_id: str, definition: dict[str, Any], stat: str) -> dict[str, Any]:
    return {
        "Id": query_id,
        "Label": f"{definition['MetricName']} {stat}",
        "MetricStat": {
            "Metric": {
                "Namespace": definition["Namespace"],
                "MetricName": definition["MetricName"],
                "Dimensions": definition.get("Dimensions", []),
            },
            "Period": int(definition.get("Period", METRIC_PERIOD_SECONDS)),
            "Stat": stat,
        },
        "ReturnData": True,
    }


def needs_post_incident(record: ReleaseRecord) -> bool:
    """A rollback, a failed rollback, or a promote interrupted and put back by the driver."""
    if record.outcome in (Outcome.ROLLED_BACK, Outcome.ABORTED):
        return True
    report = _report(record)
    return report is not None and report.outcome is CutoverOutcome.ROLLBACK_FAILED


def _report(record: ReleaseRecord) -> CutoverReport | None:
    return CutoverReport.from_dict(record.cutover) if record.cutover else None


def _iso(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z" if moment else "unknown"


def _seconds(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.3f} s"


@dataclass(frozen=True)
class PostIncident:
    record: ReleaseRecord
    page: str  # who was told, and how (the notice's tier, the incident it starts)
    metric: FaultMetric | None = None

    @property
    def report(self) -> CutoverReport | None:
        return _report(self.record)

    def _when(self, event: Event) -> str:
        """An engine event in seconds since the cutover began, on the engine's clock, and the
        moment that is on the record's clock (the rehearsal's is policy time, as the engine's)."""
        report = self.report
        start = report.events[0].at if report and report.events else 0.0
        since = f"cutover +{event.at - start:.3f} s"
        anchor = self._anchor()
        if anchor is None:
            return since
        estimate = "" if anchor[2] else "≈ "
        return f"{estimate}{_iso(self._moment(event))} ({since})"

    def _anchor(self) -> tuple[datetime, float, bool] | None:
        """Where the engine's clock meets the record's: (moment, engine time, exact). The
        rollback's listener write is the restore, so the engine's clock is pinned there, exactly;
        without one (a failed rollback), to the promote's start, which the cutover begins after:
        an estimate (≈), early by however long the `up` took to reach the cutover."""
        report, record = self.report, self.record
        if report is None or not report.events:
            return None
        written = [e for e in report.events if e.kind is EventKind.ROLLBACK_SET]
        promote = [p.started_at for p in record.phases if p.phase is Phase.PROMOTE]
        if written and record.restored_at is not None:
            return record.restored_at, written[-1].at, True
        if promote:
            return promote[-1], report.events[0].at, False
        return None

    def _moment(self, event: Event) -> datetime | None:
        """The record's moment of an engine event (see ``_anchor``)."""
        anchor = self._anchor()
        if anchor is None:
            return None
        moment, at, _ = anchor
        return moment + timedelta(seconds=event.at - at)

    @property
    def time_to_detect_seconds(self) -> float | None:
        """From the step that exposed the fault to the poll that saw the alarm (engine clock)."""
        report = self.report
        if report is None:
            return None
        alarm = next((e for e in report.events if e.kind is EventKind.ALARM), None)
        steps = [
            e for e in report.events if e.kind is EventKind.STEP_SET and alarm and e.at <= alarm.at
        ]
        if alarm is None or not steps:
            return None
        return alarm.at - steps[-1].at

    def timeline(self) -> list[tuple[str, str]]:
        """Every row on the record's clock, in order: each phase where it ended (its result
        is known then), the engine's events pinned to the record's clock."""
        record = self.record
        rows: list[tuple[datetime | None, str, str]] = [
            (
                record.started_at,
                _iso(record.started_at),
                f"release {record.id} started: {record.image} to {record.target}; "
                f"{record.source} live",
            )
        ]
        for phase in record.phases:
            took = (phase.ended_at - phase.started_at).total_seconds()
            rows.append(
                (
                    phase.ended_at,
                    _iso(phase.ended_at),
                    f"{phase.phase} {phase.result} after {took:.1f} s: {phase.detail}",
                )
            )
        report = self.report
        for event in report.events if report else ():
            if event.kind is EventKind.POLL:
                continue
            what = f"{event.kind.value}: {event.weights}"
            if event.detail:
                what += f" ({event.detail})"
            rows.append((self._moment(event), self._when(event), what))
        if report and report.alarm:
            rows.append((record.failed_at, _iso(record.failed_at), f"fault seen: {report.alarm}"))
        elif record.failed_at:
            rows.append((record.failed_at, _iso(record.failed_at), f"fault seen: {record.cause}"))
        if record.restored_at:
            rows.append(
                (record.restored_at, _iso(record.restored_at), f"restored: 100% on {record.source}")
            )
        rows.append((record.ended_at, _iso(record.ended_at), f"page: {self.page}"))
        last = max((m for m, _, _ in rows if m is not None), default=record.started_at)
        ordered = sorted(rows, key=lambda row: row[0] or last)  # stable: ties keep their order
        return [(when, what) for _, when, what in ordered]

    def open_questions(self) -> list[str]:
        record, report = self.record, self.report
        questions = []
        if report and report.alarm:
            step = f" at {report.step}%" if report.step is not None else ""
            questions.append(
                f"Why did {report.alarm.alarm} fire{step}, and why did the smoke and load "
                "checks through the test listener not show it?"
            )
        else:
            questions.append(
                "Which alarm fired? The driver saw only that `pulumi up` rolled back: read the "
                "alarm history in CloudWatch for the promote's minutes"
            )
        if report and report.outcome is CutoverOutcome.ROLLBACK_FAILED:
            questions.append(
                "Why did the rollback write fail, and what did the listener carry until someone "
                "restored it by hand?"
            )
        if record.outcome is Outcome.ABORTED:
            questions.append("Who or what interrupted the promote, and was it meant to?")
        if self.metric is None or not any(s.points for s in self.metric.series):
            questions.append(
                "The alarm's metric has no datapoints here: check it in CloudWatch for the "
                "fault's minutes (ingestion runs about a minute behind)"
            )
        questions.append(
            f"What keeps {record.image} from reaching {record.target} again unchanged?"
        )
        return questions

    def markdown(self) -> str:
        record, report = self.record, self.report
        lines = [
            f"# Post-incident record: release {record.id}",
            "",
            f"- Stack: {record.stack}",
            f"- Release: {record.image} ({record.source} -> {record.target})",
            f"- Commit: {record.commit or 'not given'}",
            f"- Outcome: {record.outcome.value if record.outcome else 'in progress'}",
            f"- Cause: {record.cause or 'none recorded'}",
            f"- Time to detect (step to alarm seen): {_seconds(self.time_to_detect_seconds)}",
            f"- Time to restore (fault seen to 100% on {record.source}): "
            f"{_seconds(record.time_to_restore_seconds)}",
        ]
        if report and report.reaction_seconds is not None:
            lines.append(
                f"- Engine reaction (poll to rollback written): {_seconds(report.reaction_seconds)}"
            )
        if record.run_url:
            lines.append(f"- CI run: {record.run_url}")
        lines += [
            "",
            "## Timeline",
            "",
            "| when (UTC, or since the cutover began) | what |",
            "| --- | --- |",
        ]
        lines += [f"| {when} | {_cell(what)} |" for when, what in self.timeline()]
        lines += ["", "## Weights over time", ""]
        writes = (
            [e for e in report.events if e.kind.sets_weights or e.kind is EventKind.GATES_PASSED]
            if report
            else []
        )
        if writes:
            lines += ["| when | event | blue | green |", "| --- | --- | --- | --- |"]
            lines += [
                f"| {self._when(e)} | {e.kind.value} | {e.weights.blue} | {e.weights.green} |"
                for e in writes
            ]
        else:
            lines.append("No cutover report: the weights' history is not known to the driver.")
        lines += ["", "## The alarm's metric around the fault", ""]
        lines += _metric_lines(self.metric)
        lines += ["", "## Open questions", ""]
        lines += [f"- {q}" for q in self.open_questions()]
        return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _metric_lines(metric: FaultMetric | None) -> list[str]:
    if metric is None:
        return ["Not read: no alarm is named, or there was no CloudWatch to read it from."]
    lines = [f"Alarm `{metric.alarm}`." + (f" {metric.note}." if metric.note else "")]
    for series in metric.series:
        lines += ["", f"**{series.label}**", ""]
        if not series.points:
            lines.append("no datapoints in the window")
            continue
        lines += ["| minute (UTC) | value |", "| --- | --- |"]
        lines += [f"| {_iso(at)} | {value:g} |" for at, value in series.points]
    if not metric.series:
        lines.append("No series.")
    return lines


def read_metric(
    metrics: AlarmMetrics | None, record: ReleaseRecord, now: datetime
) -> FaultMetric | None:
    """The alarm's metric from before the fault to after the restore; None when no alarm is
    named or CloudWatch did not answer (the record says so)."""
    report = _report(record)
    if metrics is None or report is None or report.alarm is None:
        return None
    fault = record.failed_at or record.started_at
    end = (record.restored_at or now) + AFTER_RESTORE
    try:
        # Not clipped at now: GetMetricData's EndTime is exclusive, and a datapoint of the
        # last second would be left out.
        return metrics.around(report.alarm.alarm, fault - BEFORE_FAULT, end)
    except PortError as exc:
        return FaultMetric(report.alarm.alarm, (), f"CloudWatch did not answer: {exc}")


def post_incident(
    record: ReleaseRecord, page: str, metrics: AlarmMetrics | None, now: datetime
) -> PostIncident:
    return PostIncident(record, page, read_metric(metrics, record, now))


def page_description(settings: Settings, tier: Tier) -> str:
    """Who the rollback's notice and the alarm's incident reach, as the stack declares it."""
    alerting = settings.alerting
    who = [
        *(["e-mail"] if any(e.tier is tier for e in alerting.emails) else []),
        *(["webhook"] if any(w.tier is tier for w in alerting.webhooks) else []),
        *(["Slack"] if any(c.tier is tier for c in alerting.chats) else []),
    ]
    heard = f"{' and '.join(who)} subscribers" if who else "no subscriber"
    told = f"{tier} notice on SNS {settings.name_prefix}-{tier} ({heard})"
    engaged = escalation.paged(settings.incidents, tier)
    if not engaged:
        return f"{told}; no incident: {settings.stack} pages nobody for {tier}"
    stages = "; ".join(str(e) for e in engaged)
    return (
        f"{told}; the {tier} alarm's action starts an incident on response plan "
        f"{settings.name_prefix}-{tier}, escalating until acknowledged: {stages}"
    )


def write_post_incident(
    record: ReleaseRecord,
    settings: Settings,
    store: RecordStore,
    metrics: AlarmMetrics | None,
    now: datetime,
    say: Callable[[str], None],
) -> None:
    """Keep the post-incident record of a rollback beside the records and note where it is in
    the release record (the rollback notice links it); a store that fails is said, not fatal:
    the release record and the notice still go out."""
    if not needs_post_incident(record):
        return
    notice_tier = Tier.CRITICAL  # notify.finished: a rollback, an abort, a failure
    document = post_incident(record, page_description(settings, notice_tier), metrics, now)
    try:
        record.post_incident = store.save_post_incident(record, document.markdown())
    except PortError as exc:
        say(f"warning: post-incident record not stored: {exc}")
        return
    say(f"post-incident record: {record.post_incident}")
