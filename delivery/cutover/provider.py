"""The Pulumi dynamic-provider adapter over the cutover engine.

What ``pulumi up`` does when the state, the stack config and the listener disagree (the state
records the colour last promoted, and the weights ``read`` or the last operation saw):

- recorded A, config A, listener 100% A: nothing.
- recorded A, config B, listener anything: a stepwise shift to B, resuming from the actual
  weights (refused if B's release was rolled back and not retried on purpose).
- recorded A, config A, listener split (once ``read`` has seen it: ``pulumi refresh`` or
  ``up --refresh``): 100% back on A at once, reported as a rollback (the update fails).
- recorded A, config A, listener 100% B: ``ListenerDrift``; nothing moves.

A rollback fails the update, so the stack state keeps A, which the listener carries again. It
is published to the critical topic (a failed rollback also to emergency); a shift's rollback
that an alarm decided is also recorded in SSM (``delivery.cutover.records``), and a shift to a
recorded release is refused after reading the listener (a split goes back to A first). A
failed publish or record never blocks or undoes the rollback: it is added to the error.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NoReturn

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pulumi.runtime import rpc

from delivery.config.model import Colour, TrafficPolicy
from delivery.config.regions import region_problem
from delivery.config.settings import traffic_policy_from_inputs
from delivery.cutover.alerts import rollback_message
from delivery.cutover.aws import (
    AwsClients,
    CallBudget,
    ElbListener,
    SnsAlerts,
    SsmRollbackRecords,
    aws_cutover,
    make_clients,
)
from delivery.cutover.clock import SystemClock
from delivery.cutover.engine import Cutover
from delivery.cutover.errors import (
    CutoverStopped,
    ListenerDrift,
    ReleaseRolledBack,
    RollbackFailed,
    RolledBack,
    ShiftRefused,
    UnusableRecord,
)
from delivery.cutover.events import CutoverReport, Event, EventKind, Outcome, outcome_line
from delivery.cutover.ports import Clock
from delivery.cutover.records import RollbackRecord
from delivery.errors import CallFailure, ConfigError, PortError
from delivery.plans.schedule import Weights

MAX_GATING_ALARMS: Final = 100  # one DescribeAlarms call per poll covers at most 100 names
MAX_ALARM_NAME: Final = 255
MAX_RELEASE: Final = 256
# ASCII only: AWS names and account ids are, and Unicode \d, \w or a case-folded [a-z] would
# let an account of Arabic-Indic digits or a load balancer named "wéb" through.
_ARN = r"arn:aws[a-z-]*:elasticloadbalancing:(?P<region>[a-z0-9-]+):\d{12}:"
_LISTENER_ARN = re.compile(_ARN + r"listener/app/[\w-]+/[0-9a-f]+/[0-9a-f]+", re.ASCII)
_TARGET_GROUP_ARN = re.compile(_ARN + r"targetgroup/[\w-]+/[0-9a-f]+", re.ASCII)
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}", re.ASCII)
# SSM parameter names: letters, digits, _ . - and /; "aws" and "ssm" prefixes are reserved.
_RECORD_PATH = re.compile(r"(?!/(aws|ssm))(/[a-z0-9_.-]+)+", re.ASCII | re.IGNORECASE)
MAX_RECORD_PATH: Final = 900  # SSM allows 1,011 characters for the whole name
MAX_RECORD_LEVELS: Final = 14  # SSM allows 15 levels; the colour is the last
COLOURS: Final = frozenset(c.value for c in Colour)
ALERT_TIERS: Final = ("critical", "emergency")
INPUTS: Final = (
    "listener_arn",
    "target_groups",
    "live_colour",
    "policy",
    "gating_alarms",
    "region",
    "stack",
    "release",
    "retry_rollback",
    "alert_topics",
    "record_path",
)
OPTIONAL_INPUTS: Final = frozenset({"release", "retry_rollback"})
REPLACING_INPUTS: Final = ("listener_arn", "target_groups")
OUTPUTS: Final = ("weights", "report", "last_outcome")


@dataclass(frozen=True)
class CutoverProps:
    """The dynamic resource's inputs, typed. ``from_props`` expects inputs ``check`` passed."""

    listener_arn: str
    target_groups: Mapping[Colour, str]
    live_colour: Colour
    policy: TrafficPolicy
    gating_alarms: Mapping[Colour, tuple[str, ...]]
    region: str
    stack: str
    alert_topics: Mapping[str, str]
    record_path: str
    release: str = ""
    retry_rollback: str = ""

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> CutoverProps:
        return cls(
            listener_arn=props["listener_arn"],
            target_groups={Colour(c): arn for c, arn in props["target_groups"].items()},
            live_colour=Colour(props["live_colour"]),
            policy=traffic_policy_from_inputs(props["policy"]),
            gating_alarms={Colour(c): tuple(n) for c, n in props["gating_alarms"].items()},
            region=props["region"],
            stack=props["stack"],
            alert_topics=dict(props["alert_topics"]),
            record_path=props["record_path"],
            release=props.get("release") or "",
            retry_rollback=props.get("retry_rollback") or "",
        )

    def to_props(self) -> dict[str, Any]:
        return {
            "listener_arn": self.listener_arn,
            "target_groups": {c.value: arn for c, arn in self.target_groups.items()},
            "live_colour": self.live_colour.value,
            "policy": self.policy.to_inputs(),
            "gating_alarms": {c.value: list(n) for c, n in self.gating_alarms.items()},
            "region": self.region,
            "stack": self.stack,
            "release": self.release,
            "retry_rollback": self.retry_rollback,
            "alert_topics": dict(self.alert_topics),
            "record_path": self.record_path,
        }


# -- check -----------------------------------------------------------------------------------


def _unknown(value: Any) -> bool:
    """A value a preview does not know yet: Pulumi's deserialiser (``keep_unknowns``) gives an
    ``Unknown`` object; the raw wire sentinel is ``rpc.UNKNOWN``."""
    return isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


def _holds_unknown(value: Any) -> bool:
    """Whether ``value`` is unknown or holds an unknown anywhere inside (a preview)."""
    if isinstance(value, Mapping):
        return any(_holds_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_unknown(v) for v in value)
    return _unknown(value)


def _shown(value: Any) -> str:
    """``value`` as a failure shows it, with what a preview does not know yet as <unknown>."""
    if _unknown(value):
        return "<unknown>"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k!r}: {_shown(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return repr(value)


def check_inputs(news: Mapping[str, Any]) -> list[CheckFailure]:
    """Every problem with the inputs, one ``CheckFailure`` each. Never raises.

    A missing input "is required"; a value still unknown (a preview) is not judged yet.
    """
    failures = [
        CheckFailure(key, "is required")
        for key in INPUTS
        if key not in OPTIONAL_INPUTS and news.get(key) is None
    ]
    checks = {
        "listener_arn": _check_listener,
        "target_groups": _check_groups,
        "live_colour": _check_colour,
        "policy": _check_policy,
        "gating_alarms": _check_alarms,
        "region": _check_region,
        "stack": _check_stack,
        "release": _check_release,
        "retry_rollback": _check_retry,
        "alert_topics": _check_topics,
        "record_path": _check_record_path,
    }
    for key, judge in checks.items():
        value = news.get(key)
        if value is not None and not _unknown(value):
            failures.extend(judge(value))
    return [*failures, *_check_regions_agree(news)]


def _check_listener(arn: Any) -> list[CheckFailure]:
    if not isinstance(arn, str) or not _LISTENER_ARN.fullmatch(arn):
        return [CheckFailure("listener_arn", f"must be an ALB listener ARN, got {_shown(arn)}")]
    return []


def _check_groups(groups: Any) -> list[CheckFailure]:
    if not isinstance(groups, Mapping) or set(groups) != COLOURS:
        reason = f"must map exactly blue and green to target group ARNs, got {_shown(groups)}"
        return [CheckFailure("target_groups", reason)]
    failures = [
        CheckFailure(f"target_groups.{colour}", f"must be a target group ARN, got {_shown(arn)}")
        for colour, arn in groups.items()
        if not _unknown(arn) and (not isinstance(arn, str) or not _TARGET_GROUP_ARN.fullmatch(arn))
    ]
    if not _unknown(groups["blue"]) and groups["blue"] == groups["green"]:
        failures.append(
            CheckFailure("target_groups", "blue and green must be two different target groups")
        )
    return failures


def _is_colour(value: Any) -> bool:
    return isinstance(value, str) and value in COLOURS


def _check_colour(colour: Any) -> list[CheckFailure]:
    if not _is_colour(colour):
        return [CheckFailure("live_colour", f"must be blue or green, got {_shown(colour)}")]
    return []


def _check_policy(policy: Any) -> list[CheckFailure]:
    if not isinstance(policy, Mapping):
        reason = (
            "must be a mapping with trafficSteps, bakeSeconds, pollSeconds, minHealthyTargets "
            f"and insufficientData, got {_shown(policy)}"
        )
        return [CheckFailure("policy", reason)]
    if _holds_unknown(policy):
        return []  # its settings are judged together, once all of them are known
    try:
        traffic_policy_from_inputs(policy)
    except ConfigError as exc:
        return [CheckFailure(f"policy.{p.key}", p.reason) for p in exc.problems]
    return []


def _check_alarms(alarms: Any) -> list[CheckFailure]:
    if not isinstance(alarms, Mapping) or set(alarms) != COLOURS:
        reason = f"must map blue and green to lists of alarm names, got {_shown(alarms)}"
        return [CheckFailure("gating_alarms", reason)]
    failures = []
    for colour, names in alarms.items():
        prop = f"gating_alarms.{colour}"
        if _unknown(names):
            continue
        if not isinstance(names, list):
            reason = f"must be a list of alarm names, got {_shown(names)}"
            failures.append(CheckFailure(prop, reason))
        elif not names:
            reason = "must name at least one alarm; a cutover no alarm can stop protects nothing"
            failures.append(CheckFailure(prop, reason))
        elif len(names) > MAX_GATING_ALARMS:
            reason = f"at most {MAX_GATING_ALARMS} alarms, got {len(names)}"
            failures.append(CheckFailure(prop, reason))
        elif any(not _unknown(n) and not _alarm_name(n) for n in names):
            reason = (
                f"alarm names must be text of 1 to {MAX_ALARM_NAME} characters, got {_shown(names)}"
            )
            failures.append(CheckFailure(prop, reason))
    return failures


def _alarm_name(name: Any) -> bool:
    return isinstance(name, str) and bool(name.strip()) and len(name) <= MAX_ALARM_NAME


def _check_region(region: Any) -> list[CheckFailure]:
    """The configuration's rule for aws:region (``region_problem``), so both agree."""
    if not isinstance(region, str):
        return [
            CheckFailure("region", f"must be an AWS region such as eu-west-1, got {_shown(region)}")
        ]
    reason = region_problem(region)
    return [CheckFailure("region", reason)] if reason else []


def _check_regions_agree(news: Mapping[str, Any]) -> list[CheckFailure]:
    """The cutover calls AWS in ``region``: a listener elsewhere would read as not found."""
    region, arn = news.get("region"), news.get("listener_arn")
    if not isinstance(region, str) or not isinstance(arn, str) or _check_region(region):
        return []
    found = _LISTENER_ARN.fullmatch(arn)
    if found is None or _unknown(arn) or found["region"] == region:
        return []
    reason = (
        f"is {region} but the listener ARN is in {found['region']}; the cutover calls AWS in "
        f"this region, so set it to {found['region']} (the stack's aws:region)"
    )
    return [CheckFailure("region", reason)]


def _check_stack(stack: Any) -> list[CheckFailure]:
    if not isinstance(stack, str) or not stack.strip():
        return [CheckFailure("stack", f"must name the stack, got {_shown(stack)}")]
    return []


def _check_release(release: Any) -> list[CheckFailure]:
    if not isinstance(release, str) or len(release) > MAX_RELEASE:
        reason = f"must be text of at most {MAX_RELEASE} characters, got {_shown(release)}"
        return [CheckFailure("release", reason)]
    return []


def _check_retry(retry: Any) -> list[CheckFailure]:
    if not isinstance(retry, str):
        reason = f"must be a rollback record's id (text) or empty, got {_shown(retry)}"
        return [CheckFailure("retry_rollback", reason)]
    return []


def _check_topics(topics: Any) -> list[CheckFailure]:
    if not isinstance(topics, Mapping) or not set(ALERT_TIERS) <= set(topics):
        reason = f"must map critical and emergency to SNS topic ARNs, got {_shown(topics)}"
        return [CheckFailure("alert_topics", reason)]
    return [
        CheckFailure(
            f"alert_topics.{tier}", f"must be an SNS topic ARN, got {_shown(topics[tier])}"
        )
        for tier in ALERT_TIERS
        if not _unknown(topics[tier])
        and (not isinstance(topics[tier], str) or not _TOPIC_ARN.fullmatch(topics[tier]))
    ]


def _check_record_path(path: Any) -> list[CheckFailure]:
    if not isinstance(path, str) or len(path) > MAX_RECORD_PATH or not _RECORD_PATH.fullmatch(path):
        reason = (
            "must be an SSM parameter path such as /switchyard/prod/cutover (letters, digits, "
            f"_ . - and /; not under /aws or /ssm), got {_shown(path)}"
        )
        return [CheckFailure("record_path", reason)]
    if (levels := path.count("/")) > MAX_RECORD_LEVELS:
        reason = (
            f"has {levels} levels; SSM allows 15 in a parameter name and the record adds one "
            f"(the colour), so use at most {MAX_RECORD_LEVELS}, got {_shown(path)}"
        )
        return [CheckFailure("record_path", reason)]
    return []


# -- the provider ----------------------------------------------------------------------------


class CutoverProvider(ResourceProvider):
    """check, diff, create, update, read over ``delivery.cutover.engine.Cutover``.

    ``clock`` (default: the real one) paces the bakes and the retry back-offs; it travels
    with the pickled provider, so tests can pass a virtual one.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__()
        self._clock = clock

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, check_inputs(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in INPUTS if olds.get(k) != news.get(k)]
        return DiffResult(
            changes=bool(changed) or _off_live(olds),
            replaces=[k for k in changed if k in REPLACING_INPUTS],
            stables=["listener_arn"],
            delete_before_replace=True,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = CutoverProps.from_props(props)
        wiring = _Wiring(inputs, self._clock or SystemClock())
        try:
            report = wiring.engine.establish(inputs.live_colour)
        except CutoverStopped as exc:
            raise wiring.failure(exc) from exc
        return CreateResult(id_=inputs.listener_arn, outs=_outs(props, report))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = CutoverProps.from_props(news)
        wiring = _Wiring(inputs, self._clock or SystemClock())
        try:
            report = wiring.converge(_recorded_live(olds, inputs.live_colour))
        except CutoverStopped as exc:
            raise wiring.failure(exc) from exc
        finally:
            wiring.pages_sent()
        if report.outcome is Outcome.UNCHANGED and isinstance(olds.get("report"), Mapping):
            # Nothing moved: the outputs keep the last shift's report.
            return UpdateResult(outs=_outs(news, report, olds["report"]))
        return UpdateResult(outs=_outs(news, report))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Record the listener's actual weights; the recorded live colour stays as it was.

        A listener that no longer exists gives an empty id, which Pulumi takes as "gone" and
        drops from the state (the next ``up`` creates the cutover with the listener). A
        listener without a forward over both groups is recorded with unknown weights
        (``{}``), so that the next ``up`` sees a change and stops with ``ListenerDrift``.
        """
        clients = make_clients(props["region"], clock=self._clock or SystemClock())
        listener = ElbListener(clients.elbv2, props["listener_arn"], _groups(props))
        try:
            weights = listener.read_weights().as_dict()
        except ListenerDrift:
            weights = {}
        except PortError as exc:
            if exc.failure is CallFailure.NOT_FOUND:
                return ReadResult(id_="", outs={})
            advice = exc.advice("elasticloadbalancing:DescribeListeners", "the listener ARN")
            message = (
                f"could not read the listener's weights: {exc}. The refresh changed nothing; "
                f"{advice}\n{outcome_line(Outcome.REFUSED)}"
            )
            raise _stopped(CutoverStopped, message, None) from exc
        return ReadResult(id_=id_, outs={**props, "weights": weights})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """The listener belongs to the load balancer; forgetting the cutover changes nothing."""


class _Wiring:
    """The engine and its neighbours (alerts, rollback records) over real AWS clients.
    AWS_ENDPOINT_URL, if set, points boto3 elsewhere (the emulator in tests)."""

    def __init__(self, inputs: CutoverProps, clock: Clock) -> None:
        self.inputs = inputs
        policy = inputs.policy
        self.clients: AwsClients = make_clients(
            inputs.region, budget=CallBudget.per_poll(policy.poll_seconds), clock=clock
        )
        self.engine: Cutover = aws_cutover(
            self.clients,
            inputs.listener_arn,
            inputs.target_groups,
            inputs.gating_alarms[inputs.live_colour],
            policy,
            clock,
            self._on_event,
        )
        self.records = SsmRollbackRecords(self.clients.ssm, inputs.record_path)
        self.problems: list[str] = []
        self.releasing = False  # a shift to the candidate started: alarms judge its release
        self._pages: list[threading.Thread] = []
        # On the wall clock, for the release's time to restore: the first step's write, the
        # first alarm seen, and the rollback's listener write landed.
        self._moved_at: datetime | None = None
        self._alarm_seen_at: datetime | None = None
        self._restored_at: datetime | None = None

    def _on_event(self, event: Event) -> None:
        """A rollback call failed and is being retried: wake the emergency tier now, not when
        the retries give up. The page goes out on its own thread: a slow SNS must not hold up
        the next try to restore the traffic."""
        if event.kind is EventKind.STEP_SET and self._moved_at is None:
            self._moved_at = datetime.now(UTC)
        if event.kind is EventKind.ALARM and self._alarm_seen_at is None:
            self._alarm_seen_at = datetime.now(UTC)
        if event.kind is EventKind.ROLLED_BACK:
            self._restored_at = datetime.now(UTC)
        report = self.engine.report
        if event.kind is EventKind.ROLLBACK_RETRYING and report is not None:

            def page() -> None:
                self.problems.extend(self._publish(report, ["emergency"]))

            thread = threading.Thread(target=page, name="switchyard-emergency-page", daemon=True)
            thread.start()
            self._pages.append(thread)

    def converge(self, recorded: Colour) -> CutoverReport:
        """The table in this module's docstring, and the rule that keeps a rolled-back
        release out (``delivery.cutover.records``)."""
        target = self.inputs.live_colour
        if target is recorded:
            return self.engine.hold(recorded)
        unusable: UnusableRecord | None = None
        try:
            record = self._rollback_record()
        except UnusableRecord as exc:
            # Refused outside the handler: its "Nothing was moved" must not reach the
            # traceback of a refusal that did move traffic back.
            unusable, record = exc, None
        if unusable is not None:
            self._refuse(unusable.reason, unusable.ways_out, recorded, ShiftRefused)
        if record is not None and record.blocks(self.inputs.release, self.inputs.retry_rollback):
            refused = record.refused(self.records.parameter(target))
            self._refuse(refused, record.ways_out(recorded), recorded, ReleaseRolledBack)
        self.releasing = True
        return self.engine.shift(recorded, target)

    def _rollback_record(self) -> RollbackRecord | None:
        """The target colour's rollback record; ``UnusableRecord`` if it cannot be read or is
        not one Switchyard wrote."""
        target = self.inputs.live_colour
        try:
            return self.records.read(target)
        except PortError as exc:
            raise UnusableRecord(
                f"the rollback record {self.records.parameter(target)} could not be read ({exc})",
                "To go on: "
                + exc.advice(f"ssm:GetParameter on {self.inputs.record_path}/*", "record_path"),
            ) from exc

    def _refuse(
        self, refused: str, ways_out: str, source: Colour, kind: type[ShiftRefused]
    ) -> NoReturn:
        """Refuse the shift (a ``kind`` error), saying what the listener carries: a
        split left by a shift that did not finish (a rollback that failed, a killed run) goes
        back to ``source`` first, published as the rollback it is."""
        target = self.inputs.live_colour
        try:
            held = self.engine.hold(source, because=f"{refused}, so {source} stays live")
        except (RolledBack, RollbackFailed) as restored:
            raise _with(restored, f"{restored} {ways_out}") from restored
        except ListenerDrift as drift:
            weights = drift.report.weights if drift.report else None
            state = (
                f"the listener already sends all traffic to {target} ({weights}), a change "
                "made outside Switchyard"
                if weights == Weights.all_on(target)
                else str(drift)  # not a forward over both groups Switchyard can read
            )
            message = f"{refused}. Nothing was moved: {state}. {ways_out}"
            raise _stopped(kind, message, drift.report) from drift
        except ShiftRefused as unread:  # the listener could not be read: it says why
            read = str(unread).rstrip(".")
            message = f"{refused}. The listener could not be read either: {read}. {ways_out}"
            raise _stopped(kind, message, unread.report) from unread
        message = (
            f"{refused}. Nothing was moved: {source} still carries all traffic "
            f"({held.weights}). {ways_out}"
        )
        report = replace(held, target=target, outcome=Outcome.REFUSED, cause=message)
        raise _stopped(kind, message, report)

    def pages_sent(self) -> None:
        """Wait for the pages on their own threads (each within SNS's call budget), so that
        none is lost with the plugin process and their problems are reported."""
        while self._pages:
            self._pages.pop().join()

    def failure(self, error: CutoverStopped) -> CutoverStopped:
        """``error`` as the update reports it: a rollback recorded and published, what of
        that failed, and the outcome line."""
        self.pages_sent()
        rollback = isinstance(error, RolledBack | RollbackFailed)
        problems = self._after_rollback(error) if rollback else list(self.problems)
        also = f" Also: {' '.join(problems)}" if problems else ""
        return _with(error, f"{error}{also}\n{outcome_line(_outcome_of(error))}")

    def _after_rollback(self, error: CutoverStopped) -> list[str]:
        """Record (a rollback an alarm judged) and publish; what failed or was left out."""
        report = error.report
        if report is None:
            return []
        problems = []
        if self.releasing and report.alarm is not None and report.alarm.state is not None:
            # An alarm's state judged the release; a missing alarm judged nothing.
            entry = RollbackRecord.of(
                report,
                self.inputs.release,
                self.inputs.stack,
                failed=self._failed_at(report),
                restored=self._restored_at,
            )
            try:
                self.records.write(entry)
            except PortError as exc:
                problems.append(
                    f"The rollback could not be recorded in {self.records.parameter(entry.colour)}"
                    f" ({exc}); set liveColour back to {report.source} so that the next pulumi "
                    "up does not shift to this release again."
                )
        elif self.releasing:
            problems.append(
                f"No alarm judged {report.target}'s release, so this rollback is not recorded "
                f"against it: the next pulumi up shifts to it again. Set liveColour back to "
                f"{report.source} to stop that."
            )
        tiers = ["critical"]
        if report.outcome is Outcome.ROLLBACK_FAILED:
            tiers.append("emergency")
        return [*self.problems, *problems, *self._publish(report, tiers)]

    def _failed_at(self, report: CutoverReport) -> datetime | None:
        """When the failure began: the alarm entering the state that judged the release (by
        CloudWatch's clock, not before this run's first step moved traffic); else the first
        sign of trouble the engine saw (its reaction back from the restore, which counts the
        blind time of unreadable alarms), else the first alarm this run saw."""
        since = report.alarm.since if report.alarm is not None else None
        if since is not None:
            return max(since, self._moved_at) if self._moved_at else since
        if self._restored_at is not None and report.reaction_seconds is not None:
            return self._restored_at - timedelta(seconds=report.reaction_seconds)
        return self._alarm_seen_at

    def _publish(self, report: CutoverReport, tiers: list[str]) -> list[str]:
        message = rollback_message(report, self.inputs.stack, self.inputs.release)
        alerts = SnsAlerts(self.clients.sns)
        problems = []
        for tier in tiers:
            try:
                alerts.publish(self.inputs.alert_topics[tier], message)
            except PortError as exc:
                problems.append(
                    f"The {tier} alert was not published ({exc}); tell the on-call yourself."
                )
        return problems


def _with(
    error: CutoverStopped, message: str, report: CutoverReport | None = None
) -> CutoverStopped:
    """An error of ``error``'s type saying ``message``, with ``report`` (default: its own)."""
    return _stopped(type(error), message, report if report is not None else error.report)


def _stopped(
    kind: type[CutoverStopped], message: str, report: CutoverReport | None
) -> CutoverStopped:
    """A ``kind`` error saying ``message``, carrying ``report``."""
    error = kind(message)
    error.report = report
    return error


def _outcome_of(error: CutoverStopped) -> Outcome:
    """The outcome an error stands for: its report's, else its type's."""
    if error.report is not None:
        return error.report.outcome
    if isinstance(error, RollbackFailed):
        return Outcome.ROLLBACK_FAILED
    if isinstance(error, RolledBack):
        return Outcome.ROLLED_BACK
    if isinstance(error, ListenerDrift):
        return Outcome.DRIFT
    return Outcome.REFUSED


def _off_live(olds: Mapping[str, Any]) -> bool:
    """Whether the weights last seen (by ``read`` or the last operation) are not 100% on the
    recorded live colour: a ``pulumi refresh`` saw a split or someone else's change."""
    seen, live = olds.get("weights"), olds.get("live_colour")
    if not isinstance(seen, Mapping) or not _is_colour(live):
        return False
    return bool(seen.get(live) != 100)


def _recorded_live(olds: Mapping[str, Any], fallback: Colour) -> Colour:
    live = olds.get("live_colour")
    return Colour(live) if isinstance(live, str) and live in COLOURS else fallback


def _groups(props: Mapping[str, Any]) -> dict[Colour, str]:
    return {Colour(colour): arn for colour, arn in props["target_groups"].items()}


def _outs(
    props: Mapping[str, Any], report: CutoverReport, kept: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Inputs, the weights now, the report (``kept``: the last shift's) and the last outcome."""
    weights = report.weights or Weights.all_on(report.source)
    return {
        **props,
        "weights": weights.as_dict(),
        "report": dict(kept) if kept is not None else report.as_dict(),
        "last_outcome": report.outcome.value,
    }
