"""A whole release over the stack port: baseline, stage, smoke, load, promote, outcome.

Each step is a stack-config change plus ``pulumi up`` (so a person can do it by hand); the driver
adds what ``pulumi up`` cannot: the checks between the steps, an abort that restores the old
colour when the run is interrupted during promote, the config put back after a rollback, and a
record of every release, saved at every phase so that a killed run is resumed by the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from delivery.config.model import BaselineSource, Colour, Environment, ReleaseStep, Settings
from delivery.cutover.errors import ListenerDrift
from delivery.cutover.events import Outcome as CutoverOutcome
from delivery.cutover.events import outcome_in
from delivery.cutover.ports import Clock, Listener, TargetHealth
from delivery.cutover.records import RollbackRecord
from delivery.errors import Exit, PortError, SwitchyardError
from delivery.plans.schedule import Weights
from delivery.release import budget as error_budget
from delivery.release import checks, notify
from delivery.release.baseline import Baseline
from delivery.release.dast import DastReport
from delivery.release.incident import AlarmMetrics, write_post_incident
from delivery.release.keys import (
    CANDIDATE_REPLICAS,
    LATENCY_BASELINE_MS,
    LIVE_COLOUR,
    RELEASE_STEP,
    has_hook,
    image_key,
)
from delivery.release.notify import Notifier
from delivery.release.port import StackPort, UpFailed, text_value
from delivery.release.progress import Progress, describe, is_alarm, is_rollback, moved_traffic_to
from delivery.release.record import (
    Outcome,
    Phase,
    PhaseResult,
    RecordStore,
    ReleaseRecord,
    Result,
    now_utc,
    unfinished,
)
from delivery.release.scope import OutOfReleaseScope

EXIT_CODES: Mapping[Outcome, Exit] = {
    Outcome.PROMOTED: Exit.OK,
    Outcome.FAILED: Exit.FAILED,
    Outcome.ROLLED_BACK: Exit.ROLLED_BACK,
    Outcome.STOPPED: Exit.STOPPED,
    Outcome.ABORTED: Exit.INTERRUPTED,
}
ROLLBACK_OUTCOMES = (CutoverOutcome.ROLLED_BACK, CutoverOutcome.ROLLBACK_FAILED)
HEALTH_WAIT_SECONDS = 600.0
HEALTH_POLL_SECONDS = 10.0
NO_RELEASE = "0"  # candidateReplicas when no release is under way: no floor, no hold
CLEANUP_INTERRUPTED = (
    "its clean-up was interrupted, so the old colour may still run at full size: run `pulumi "
    "up` (releaseStep cleanup) or let the next release's clean-up shrink it"
)


class Ended(SwitchyardError):
    """The release reached ``outcome`` before its last phase; the message is the cause."""

    def __init__(self, outcome: Outcome, cause: str) -> None:
        super().__init__(cause)
        self.outcome = outcome


class TestUrlNeeded(SwitchyardError):
    """The checks cannot reach the test listener under a name its certificate covers."""


class Stop(Ended):
    """A phase failed before any traffic moved: the release stops with exit 4."""

    def __init__(self, cause: str) -> None:
        super().__init__(Outcome.STOPPED, cause)


class RollbackLog(Protocol):
    """The cutover's rollback records (``delivery.cutover.records``), read-only."""

    def read(self, colour: Colour) -> RollbackRecord | None: ...


class TargetCounts(TargetHealth, Protocol):
    def running_targets(self, colour: Colour) -> int:
        """Targets registered and not leaving: healthy, and those still starting or failing."""
        ...


@dataclass(frozen=True)
class Ports:
    stack: StackPort
    listener: Listener
    health: TargetCounts
    records: RecordStore
    notifier: Notifier
    clock: Clock
    baseline: Baseline | None = None
    budget: error_budget.ErrorBudget | None = None  # prod: no release while it is spent
    alarm_metrics: AlarmMetrics | None = None  # the alarm's metric, for post-incident records
    # Where a real `pulumi up`'s cutover records its rollbacks, with their times.
    rollbacks: RollbackLog | None = None
    now: Callable[[], datetime] = now_utc
    say: Callable[[str], None] = print


@dataclass(frozen=True)
class Request:
    image: str
    commit: str | None = None
    commit_time: datetime | None = None
    run_url: str | None = None
    test_url: str | None = None  # default: the test listener on the ALB's DNS name
    stage_only: bool = False  # stop validated, before promote; the next run resumes
    override_error_budget: bool = False  # release in prod although the budget is spent
    dast: DastReport | None = None  # the ZAP scan of the staged colour: its High ones stop it


class Release:
    def __init__(self, settings: Settings, ports: Ports) -> None:
        self._settings = settings
        self._p = ports
        self._record: ReleaseRecord | None = None
        self._traffic_moved = False
        self._promoting = False  # this run's promote began (a resumed record's last phase may
        # be an earlier run's promote: an interrupt before this run's own must not abort it)

    def run(self, request: Request) -> ReleaseRecord:
        """Run the release to an outcome and return its (saved) record.

        Interrupted during promote (Ctrl-C, a cancelled CI job), it restores the old colour,
        records the release as aborted and returns; interrupted elsewhere it saves the record
        as it stands (the next run resumes it) and re-raises.
        """
        self._check_test_url(request)
        budget = error_budget.gate(
            self._settings, self._p.budget, request.override_error_budget, self._p.say
        )
        record = self._begin(request)
        if record.outcome is not None:  # refused before it started
            return record
        record.error_budget = budget or record.error_budget
        self._record = record
        try:
            if self._promoted_already(record):
                self._close_promoted(record)
                return record
            self._phases(record, request)
            if request.stage_only:
                self._p.say(
                    f"validated {record.image} on {record.target}; promote it by running the "
                    "same release without --stage-only"
                )
                return record
            record.promoted_at = self._p.now()
            self._clean_up(record)
            self._finish(record, Outcome.PROMOTED, "")
        except Ended as exc:
            self._finish(record, exc.outcome, str(exc))
        except OutOfReleaseScope as exc:
            # Refused by its preview, before that up ran, at any step: nothing moved, and the
            # scoped stack put the release's config back.
            self._finish(record, Outcome.STOPPED, str(exc))
        except KeyboardInterrupt as interrupt:
            if record.promoted_at is not None and record.outcome is None:
                # Promoted: users are on the release; only its best-effort clean-up stopped.
                self._p.stack.cancel()
                self._finish(record, Outcome.PROMOTED, CLEANUP_INTERRUPTED)
                interrupt.add_note(f"release {record.id} was promoted; {CLEANUP_INTERRUPTED}")
                raise
            if not self._in_promote(record):
                self._p.stack.cancel()
                where = record.phases[-1].phase if record.phases else "the start"
                # No outcome: the record stays open to be resumed, and says so (status shows it).
                record.cause = (
                    f"interrupted in {where}, before any traffic moved; run the same release "
                    "again to resume it"
                )
                self._save(record)
                lock = self._p.stack.left_lock()
                interrupt.add_note(
                    f"release {record.id} {record.cause}" + (f" ({lock})" if lock else "")
                )
                raise
            self._abort(record)
        except SwitchyardError as exc:
            self._finish(record, Outcome.FAILED, str(exc))
        return record

    # -- beginning and resuming ------------------------------------------------------------

    def _begin(self, request: Request) -> ReleaseRecord:
        stack = self._p.stack.name
        configured = text_value(self._p.stack.config(), LIVE_COLOUR)
        weights = self._listener_weights()
        carrying = weights.settled
        loaded = self._p.records.load()
        for bad in loaded.unreadable:
            self._p.say(f"warning: release record {bad.where} is unreadable, ignored: {bad.reason}")
        previous = unfinished(loaded.records, stack)
        if previous is not None and self._superseded(previous, carrying):
            previous.outcome, previous.ended_at = Outcome.FAILED, self._p.now()
            previous.cause = (
                f"superseded: {carrying} carries all traffic and runs another release than "
                f"{previous.image}, which was staged from {previous.source}; a release of "
                f"{request.image} starts afresh from {carrying}"
            )
            self._p.records.save(previous)
            self._p.say(f"release {previous.id}: {previous.cause}")
            previous = None
        if previous is not None and previous.image == request.image:
            previous.runs += 1
            previous.cause = ""  # this run resumes it
            self._p.say(
                f"resuming release {previous.id} of {previous.image} (run {previous.runs}); "
                f"passed before: {', '.join(p.phase for p in previous.phases) or 'nothing'}"
            )
            return previous
        if carrying is None and previous is not None and previous.passed(Phase.LOAD):
            carrying = self._close_interrupted(previous, weights, request.image)
            previous = None
        if carrying is None:  # split, and no release of ours left it so: someone else did
            source = Colour(configured) if configured in {c.value for c in Colour} else None
            record = self._new_record(request, source or Colour.BLUE)
            self._finish(
                record,
                Outcome.FAILED,
                f"the production listener is split ({weights}): a cutover did not finish. "
                "Resume it by running its release again, or run `pulumi refresh` then "
                "`pulumi up` to let the cutover restore the live colour; nothing was changed",
            )
            return record
        if previous is not None and previous.promoted_at is not None:
            # Killed in its clean-up: it went live, and stayed (the listener carries it).
            previous.outcome, previous.ended_at = Outcome.PROMOTED, self._p.now()
            previous.cause = CLEANUP_INTERRUPTED
            self._p.records.save(previous)
        elif previous is not None:
            previous.outcome, previous.ended_at = Outcome.FAILED, self._p.now()
            previous.cause = f"interrupted and not resumed: a release of {request.image} followed"
            self._p.records.save(previous)
        if configured != carrying.value:
            self._p.say(
                f"liveColour is {configured} but the listener carries 100% {carrying}: "
                f"releasing from {carrying}, the colour users are on"
            )
        record = self._new_record(request, carrying)
        self._save(record)
        self._send(notify.started(record))
        return record

    def _superseded(self, previous: ReleaseRecord, carrying: Colour | None) -> bool:
        """Another release went live on the target colour while this one waited (a hand
        release at prod's approval gate): resuming it would pin liveColour to its stale
        source and roll its image onto the colour users are on."""
        if carrying is None or carrying is previous.source:
            return False
        running = (self._p.stack.outputs().get("images") or {}).get(carrying.value)
        return running != previous.image

    def _close_interrupted(self, previous: ReleaseRecord, weights: Weights, image: str) -> Colour:
        """A cutover left split by a killed run of another release: the colour last promoted
        (its source: the shift never finished) gets all traffic back, as the cutover's own
        rollback would, and that release is closed, so that it is never a dead end."""
        safe = Weights.all_on(previous.source)
        self._p.listener.set_weights(safe)
        self._p.stack.set_config({LIVE_COLOUR: previous.source.value})
        # A killed run recorded no fault: the split began after its promote started, so the
        # time to restore runs from there (an upper bound), not from now (a false zero).
        promote = [p.started_at for p in previous.phases if p.phase is Phase.PROMOTE]
        previous.failed_at = previous.failed_at or (promote[-1] if promote else previous.started_at)
        previous.restored_at = self._p.now()
        previous.traffic_moved = True  # it left the listener split
        previous.outcome, previous.ended_at = Outcome.ABORTED, self._p.now()
        previous.cause = (
            f"interrupted mid-promote with the listener at {weights}; closed by the release of "
            f"{image}, which restored {safe} before it began"
        )
        self._p.records.save(previous)
        self._p.say(f"release {previous.id}: {previous.cause}")
        self._send(notify.finished(previous))
        return previous.source

    def _promoted_already(self, record: ReleaseRecord) -> bool:
        """A resumed release whose promotion finished anyway (the killed run's `up` went on, or
        someone ran `pulumi up` by hand): the listener carries 100% on the target and the
        target's pods run this release's image. Staging again would pin liveColour to the
        old colour and shift users back, then promote would shift them forward again."""
        if record.runs < 2 or self._listener_weights() != Weights.all_on(record.target):
            return False
        running = (self._p.stack.outputs().get("images") or {}).get(record.target.value)
        return running == record.image

    def _close_promoted(self, record: ReleaseRecord) -> None:
        self._p.say(
            f"{record.target} already carries 100% and runs {record.image}: the promotion "
            "finished outside this run; closing the release without moving traffic"
        )
        self._p.stack.set_config(
            {LIVE_COLOUR: record.target.value, image_key(record.target): record.image}
        )
        for entry in record.phases:
            entry.result = Result.RESUMED if entry.phase is Phase.PROMOTE else entry.result
        if not record.passed(Phase.PROMOTE):
            now = self._p.now()
            record.phases.append(
                PhaseResult(Phase.PROMOTE, Result.RESUMED, now, now, "finished outside the driver")
            )
        record.promoted_at = record.promoted_at or self._p.now()
        self._clean_up(record)
        self._finish(record, Outcome.PROMOTED, "")

    def _new_record(self, request: Request, source: Colour) -> ReleaseRecord:
        record = ReleaseRecord.begin(self._p.stack.name, request.image, source, self._p.now())
        record.commit, record.commit_time, record.run_url = (
            request.commit,
            request.commit_time,
            request.run_url,
        )
        return record

    # -- the phases ------------------------------------------------------------------------

    def _phases(self, record: ReleaseRecord, request: Request) -> None:
        if not record.passed(Phase.BASELINE):
            self._phase(record, Phase.BASELINE, lambda: self._measure_baseline(record))
        else:
            self._keep_baseline(record)
        if record.passed(Phase.STAGE) and self._staged(record):
            self._resumed(record, Phase.STAGE)
        else:
            self._phase(record, Phase.STAGE, lambda: self._stage(record))
        base_url = request.test_url or self._test_url()
        self._phase(record, Phase.SMOKE, lambda: self._smoke(base_url))
        self._phase(record, Phase.LOAD, lambda: self._load(base_url))
        dast = request.dast
        if dast is not None:
            self._phase(record, Phase.DAST, lambda: self._dast(dast))
        elif (
            not request.stage_only
            and self._settings.environment is Environment.STAGING
            and not any(p.phase is Phase.DAST for p in record.phases)
        ):
            # on record: this promote of staging (the stack DAST scans) had no scan of the
            # staged colour; deploy-staging.yml always passes one, a release by hand may not
            now = self._p.now()
            why = "no --dast-report was given: promoted without a DAST scan of the staged colour"
            record.phases.append(PhaseResult(Phase.DAST, Result.SKIPPED, now, now, why))
            self._p.say(f"{Phase.DAST}: skipped ({why})")
        if not request.stage_only:
            self._phase(record, Phase.PROMOTE, lambda: self._promote(record))

    def _phase(self, record: ReleaseRecord, phase: Phase, body: Callable[[], str]) -> None:
        started = self._p.now()
        self._p.say(f"{phase}: ...")
        # The phase is on record before it runs, so a killed run shows where it died.
        entry = PhaseResult(phase, Result.FAILED, started, started, "in progress")
        record.phases = [p for p in record.phases if p.phase is not phase] + [entry]
        self._save(record)
        try:
            detail = body()
        except SwitchyardError as exc:
            entry.ended_at, entry.detail = self._p.now(), str(exc)
            raise
        except KeyboardInterrupt:
            entry.ended_at, entry.detail = self._p.now(), "interrupted"
            raise
        entry.result, entry.ended_at, entry.detail = Result.PASSED, self._p.now(), detail
        self._p.say(f"{phase}: {detail}")
        self._save(record)

    def _resumed(self, record: ReleaseRecord, phase: Phase) -> None:
        for entry in record.phases:
            if entry.phase is phase:
                entry.result = Result.RESUMED
        self._p.say(f"{phase}: done by an earlier run, not repeated")
        self._save(record)

    def _measure_baseline(self, record: ReleaseRecord) -> str:
        static = self._settings.alarms["latencyBaselineMs"]
        record.baseline_ms, record.baseline_source = float(static), "static"
        if self._settings.checks.baseline is not BaselineSource.MEASURED:
            return f"static latencyBaselineMs {static} ms"
        if self._p.baseline is None:
            return f"no CloudWatch access in this run; static {static} ms kept"
        outputs = self._p.stack.outputs()
        groups = outputs.get("targetGroupArns") or {}
        balancer = str(outputs.get("loadBalancerArn") or "")
        group = groups.get(record.source.value)
        measured = self._p.baseline.p95_ms(str(group), balancer) if group else None
        if measured is None:
            return f"no p95 data for {record.source} over 7 days; static {static} ms kept"
        baseline = max(1, round(measured))
        self._p.stack.set_config({LATENCY_BASELINE_MS: str(baseline)})
        record.baseline_ms, record.baseline_source = float(baseline), "measured"
        factor = self._settings.alarms["latencyFactor"]
        return (
            f"{record.source}'s p95 over 7 days is {measured:.0f} ms: latency alarms at "
            f"{factor} x {baseline} = {factor * baseline} ms"
        )

    def _keep_baseline(self, record: ReleaseRecord) -> None:
        """A resumed release keeps the baseline it measured: in CI its next job checks out the
        stack file without it (deploy-prod's promote after its stage job)."""
        if record.baseline_source != "measured" or record.baseline_ms is None:
            return
        measured = str(round(record.baseline_ms))
        if text_value(self._p.stack.config(), LATENCY_BASELINE_MS) != measured:
            self._p.stack.set_config({LATENCY_BASELINE_MS: measured})
            self._p.say(f"latencyBaselineMs {measured} ms, as this release measured it")

    def _staged(self, record: ReleaseRecord) -> bool:
        return text_value(self._p.stack.config(), image_key(record.target)) == record.image

    def _stage(self, record: ReleaseRecord) -> str:
        target = record.target
        live_size = self._live_size(record.source)
        # liveColour is pinned to the colour users are on: staging never moves traffic.
        values = {
            image_key(target): record.image,
            LIVE_COLOUR: record.source.value,
            RELEASE_STEP: ReleaseStep.STAGE.value,
            CANDIDATE_REPLICAS: str(live_size),
        }
        values.update(self._live_image(record.source))
        self._p.stack.set_config(values)
        try:
            self._p.stack.up(self._show)
        except UpFailed as exc:
            raise Stop(
                f"staging {record.image} on {target} failed (a failed deploy or pre-traffic "
                f"hook): {exc}"
            ) from exc
        # The Deployment is ready at the pods it had; its autoscaler then raises it to the new
        # floor within a sync (15 s): the first step waits until the candidate matches the live
        # colour, as the floor promises.
        healthy = self._wait_healthy(target, live_size)
        # The stage's `pulumi up` ran the pre-traffic Job before the candidate's pods started
        # (delivery.plans.release): there is no step of its own to run, nor to run twice.
        hooked = "; its pre-traffic Job succeeded first" if has_hook(self._p.stack.config()) else ""
        return f"{record.image} on {target}, {healthy} healthy target(s){hooked}"

    def _live_image(self, live: Colour) -> dict[str, str]:
        """The live colour's image as its pods run it (the stack's ``images`` output), when the
        stack file says otherwise: CI checks out a stack file the last release changed but did
        not commit, and the program refuses a live colour's image that differs from its pods'."""
        running = (self._p.stack.outputs().get("images") or {}).get(live.value)
        key = image_key(live)
        configured = text_value(self._p.stack.config(), key)
        if not running or running == configured:
            return {}
        self._p.say(
            f"{key} is {configured} in the stack file but {live}, the live colour, runs "
            f"{running}: the config follows the running image"
        )
        return {key: str(running)}

    def _clean_up(self, record: ReleaseRecord) -> None:
        """Shrink the old colour. The release is promoted whatever happens here: a failed
        clean-up leaves the old colour at full size, which costs money, not users."""

        def body() -> str:
            self._p.stack.set_config(
                {RELEASE_STEP: ReleaseStep.CLEANUP.value, CANDIDATE_REPLICAS: NO_RELEASE}
            )
            try:
                self._p.stack.up(self._show)
            except UpFailed as exc:
                raise SwitchyardError(
                    f"clean-up failed: {exc}; {record.source} still runs at full size. Run "
                    "`pulumi up` again (releaseStep is cleanup) once the cause is fixed"
                ) from exc
            return f"{record.source} shrinks after scaleDownDelaySeconds"

        try:
            self._phase(record, Phase.CLEANUP, body)
        except SwitchyardError as exc:
            self._p.say(f"warning: {exc}")
            self._save(record)

    def _live_size(self, live: Colour) -> int:
        """The live colour's pods as its target group counts them (the TargetGroupBinding
        registers each pod by IP): read from the cluster, not assumed from config."""
        service = self._settings.service
        try:
            # Counted as running, not healthy only: while the live colour scales up under
            # load its newest pods are still `initial`, just when its size matters most.
            carrying = self._p.health.running_targets(live)
        except PortError as exc:
            raise Stop(
                f"could not read {live}'s target health to size the candidate: {exc}"
            ) from exc
        if carrying > service.max_replicas:
            raise Stop(
                f"{live}, the live colour, runs {carrying} pods but maxReplicas is "
                f"{service.max_replicas}: the candidate could not take the shift at that size. "
                f"Raise maxReplicas to at least {carrying}; nothing was changed"
            )
        return max(carrying, service.min_replicas)

    def _wait_healthy(self, colour: Colour, at_least: int = 0) -> int:
        needed = max(self._settings.traffic.min_healthy_targets, at_least)
        deadline = self._p.clock.now() + HEALTH_WAIT_SECONDS
        while True:
            try:
                healthy = self._p.health.healthy_targets(colour)
            except PortError as exc:
                raise Stop(f"could not read {colour}'s target health: {exc}") from exc
            if healthy >= needed:
                return healthy
            if self._p.clock.now() >= deadline:
                why = "minHealthyTargets" if needed > at_least else "the live colour's size"
                raise Stop(
                    f"{colour} has {healthy} healthy target(s) after {HEALTH_WAIT_SECONDS:.0f}s; "
                    f"{needed} needed ({why}). Check the new pods' logs and health check "
                    f"({self._settings.alb.health_check.path}), and that the cluster has room "
                    "for them"
                )
            self._p.clock.sleep(HEALTH_POLL_SECONDS)

    def _check_test_url(self, request: Request) -> None:
        """With a certificate the test listener presents it, and an ACM certificate names the
        service's hosts, never the load balancer's own DNS name: checks addressed to that name
        fail TLS verification. Refuse before anything changes rather than after staging."""
        alb = self._settings.alb
        if request.test_url or not alb.certificate_arn:
            return
        if self._p.stack.outputs().get("testListenerUrl"):
            return
        raise TestUrlNeeded(
            "the test listener serves HTTPS with certificateArn's certificate, which does not "
            "name the load balancer's own DNS name, so the smoke and load checks would fail TLS "
            "verification; pass --test-url https://<a host name on the certificate that "
            f"resolves to the load balancer>:{alb.test_listener_port} (in CI: the environment "
            "variable TEST_URL); nothing was changed"
        )

    def _test_url(self) -> str:
        outputs = self._p.stack.outputs()
        if outputs.get("testListenerUrl"):
            return str(outputs["testListenerUrl"])
        host = outputs.get("albDnsName")
        if not host:
            raise SwitchyardError(
                "the stack exports no albDnsName, so the test listener cannot be found; run "
                "`pulumi up` once, or pass --test-url"
            )
        scheme = "https" if self._settings.alb.certificate_arn else "http"
        return f"{scheme}://{host}:{self._settings.alb.test_listener_port}"

    def _smoke(self, base_url: str) -> str:
        results = checks.smoke(base_url, self._settings.checks.smoke)
        failed = [r for r in results if not r.ok]
        if failed:
            raise Stop("smoke test failed: " + "; ".join(str(r) for r in failed))
        return f"{len(results)} critical path(s) answered as expected"

    def _dast(self, report: DastReport) -> str:
        """The scan of the staged colour (through the test listener) before any traffic: a High
        finding stops the release, recorded, with the old colour untouched."""
        passed, said = report.verdict()
        if not passed:
            raise Stop(f"{said}; fix them, or mark a false positive IGNORE in .zap/rules.tsv")
        return said

    def _load(self, base_url: str) -> str:
        result = checks.load(base_url, self._settings.checks.smoke, self._settings.checks.load)
        if result.breaches:
            raise Stop(f"load test failed: {'; '.join(result.breaches)} ({result})")
        return str(result)

    # -- promote and its outcomes ----------------------------------------------------------

    def _in_promote(self, record: ReleaseRecord) -> bool:
        return self._promoting and record.phases[-1].phase is Phase.PROMOTE

    def _show(self, event: Progress) -> None:
        line = describe(event)
        if line:
            self._p.say(line)
        record = self._record
        if record is None:
            return
        if moved_traffic_to(event, record.target):
            self._traffic_moved = record.traffic_moved = True
        if (is_alarm(event) or is_rollback(event)) and record.failed_at is None:
            record.failed_at = self._p.now()

    def _match_live_size(self, record: ReleaseRecord) -> str:
        """The live colour may have grown since the stage (prod's approval gate lies between
        them, and its autoscaler may not shrink): the candidate's floor follows it before the
        first step, and the shift waits until the candidate has as many pods."""
        live_size = self._live_size(record.source)
        staged = int(text_value(self._p.stack.config(), CANDIDATE_REPLICAS) or 0)
        if live_size <= staged:
            return ""
        self._p.stack.set_config({CANDIDATE_REPLICAS: str(live_size)})
        try:
            self._p.stack.up(self._show)
        except UpFailed as exc:
            raise Stop(
                f"raising {record.target} to {record.source}'s {live_size} pods failed: {exc}"
            ) from exc
        self._wait_healthy(record.target, live_size)
        return f"; {record.target} raised to {live_size} pods, {record.source}'s size now"

    def _promote(self, record: ReleaseRecord) -> str:
        target = record.target
        grown = self._match_live_size(record)
        self._promoting = True
        self._traffic_moved = self._listener_weights().of(target) > 0
        record.traffic_moved = record.traffic_moved or self._traffic_moved
        self._p.stack.set_config({LIVE_COLOUR: target.value})
        try:
            self._p.stack.up(self._show)
        except UpFailed as exc:
            raise self._after_failed_promote(record, exc) from exc
        except SwitchyardError:
            # `pulumi up` did not run (another update holds the stack, the backend is gone):
            # the config must not claim a colour the listener does not carry.
            if self._listener_weights() == Weights.all_on(record.source):
                self._p.stack.set_config({LIVE_COLOUR: record.source.value})
            raise
        return f"{target} is live{grown}"

    def _after_failed_promote(self, record: ReleaseRecord, failure: UpFailed) -> SwitchyardError:
        source, target = record.source, record.target
        error, report = str(failure), failure.report
        if report is not None:
            record.cutover = report.as_dict()
            since = report.alarm.since if report.alarm is not None else None
            if since is not None:  # the alarm entered its state: the failure's start
                record.failed_at = max(since, record.started_at)
        weights = self._listener_weights()
        if weights == Weights.all_on(source):
            self._p.stack.set_config({LIVE_COLOUR: source.value})  # config matches reality
            if report is not None:
                moved = report.rolled_back
            else:
                # Out of sight, the watch (it polls) and the provider's outcome line tell: a
                # rollback between two polls leaves the listener as the watch first saw it.
                moved = self._traffic_moved or outcome_in(error) in ROLLBACK_OUTCOMES
            record.traffic_moved = moved
            if not moved:
                return Stop(error)
            record.restored_at = self._p.now()
            if report is None:
                self._times_from_rollback_record(record)
            return Ended(Outcome.ROLLED_BACK, error)
        record.traffic_moved = True  # the listener is not back on the old colour
        if weights == Weights.all_on(target):
            # The release went live and stays: users are on it, the update failed elsewhere.
            # A deployment, not an incident (metrics.reached_production).
            record.promoted_at = self._p.now()
            record.failed_at = None
        elif report is None:
            self._times_from_rollback_record(record)
        return SwitchyardError(
            f"pulumi up failed during promote with the listener at {weights}: {error}. "
            + (
                f"{target} carries all traffic but the update failed elsewhere: run "
                "`pulumi refresh`, then `pulumi up`"
                if weights == Weights.all_on(target)
                else f"Traffic is split: restore {Weights.all_on(source)} on the listener, "
                "then run `pulumi refresh` and `pulumi up`"
            )
        )

    def _times_from_rollback_record(self, record: ReleaseRecord) -> None:
        """A real `pulumi up` runs the cutover in Pulumi's process and tells the driver only
        that it rolled back; the cutover's rollback record of this release says when it saw
        the failure and when the listener was restored. Without one (no alarm judged it, a
        record of another release) the time to restore is unknown, never zero."""
        if self._p.rollbacks is None:
            return
        try:
            entry = self._p.rollbacks.read(record.target)
        except SwitchyardError as exc:
            self._p.say(
                f"warning: the rollback record was not read ({exc}); time to restore unknown"
            )
            return
        failed, restored = entry.moments() if entry else (None, None)
        if entry is None or entry.release != record.image or failed is None:
            return
        if failed < record.started_at:  # an earlier release's rollback of the same image
            return
        record.failed_at = failed
        if record.restored_at is not None:  # the listener is back: the record says since when
            record.restored_at = restored or record.restored_at

    def _listener_weights(self) -> Weights:
        return self._p.listener.read_weights()

    def _abort(self, record: ReleaseRecord) -> None:
        """The first signal's abort, in the order that keeps users safe within the runner's
        10 s (SIGINT, SIGTERM at 7.5 s, SIGKILL at 10 s): the old colour back, then the
        interrupted CLI stopped (its cutover could take one more step before it dies), the
        listener checked again, the record written, then the CLI's state lock."""
        record.failed_at = self._p.now()
        safe = Weights.all_on(record.source)
        cause = self._restore(record, safe)
        self._p.stack.cancel()
        if record.restored_at is not None:
            cause = self._restore(record, safe, again=True) or cause
        # The hold ends with the release; the next `pulumi up` applies it (no time for one now).
        self._p.stack.set_config({LIVE_COLOUR: record.source.value, CANDIDATE_REPLICAS: NO_RELEASE})
        self._save(record)
        lock = self._p.stack.left_lock()
        cause += "; " + (lock or "no `pulumi up` was running")
        cause += (
            "; the interrupted update may leave a pending operation: run `pulumi refresh`, "
            "then release again"
        )
        self._finish(record, Outcome.ABORTED, cause)

    def _restore(self, record: ReleaseRecord, safe: Weights, again: bool = False) -> str:
        """Put ``safe`` on the listener (read first, so that what is written is the listener as
        it is now); the cause to record. ``again``: after the CLI stopped, only a change its
        cutover made since the first restore is undone, and "" means there was none."""
        try:
            weights = self._p.listener.read_weights()
            if weights.of(record.target) > 0:
                record.traffic_moved = True
            if weights == safe:
                if not again:
                    record.restored_at = self._p.now()
                return "" if again else f"interrupted during promote; the driver restored {safe}"
            self._p.listener.set_weights(safe)
            record.restored_at = self._p.now()
            if again:
                return (
                    f"interrupted during promote; the driver restored {safe}, and again after "
                    "the interrupted cutover moved traffic before it stopped"
                )
            return f"interrupted during promote; the driver restored {safe}"
        except ListenerDrift as drift:
            record.restored_at = None
            return (
                f"interrupted during promote; the listener was changed by someone else ({drift}),"
                " so the driver left it as it is: check what it carries"
            )
        except PortError as exc:
            record.restored_at = None
            return (
                f"interrupted during promote and restoring {safe} FAILED ({exc}): restore it "
                "on the listener by hand at once"
            )

    # -- bookkeeping -----------------------------------------------------------------------

    def _finish(self, record: ReleaseRecord, outcome: Outcome, cause: str) -> None:
        if record.outcome is not None:
            return
        if outcome in (Outcome.STOPPED, Outcome.ROLLED_BACK, Outcome.FAILED):
            self._end_hold(record)
        if outcome is Outcome.PROMOTED:
            record.traffic_moved = True
        elif outcome is Outcome.STOPPED:
            record.traffic_moved = False
        record.outcome, record.cause, record.ended_at = outcome, cause, self._p.now()
        write_post_incident(
            record,
            self._settings,
            self._p.records,
            self._p.alarm_metrics,
            self._p.now(),
            self._p.say,
        )
        self._save(record)
        self._send(notify.finished(record))

    def _end_hold(self, record: ReleaseRecord) -> None:
        """A release that ends unpromoted lifts the autoscalers' hold and floors it set at
        stage (else neither colour scales down again until a release succeeds); the other
        colour keeps its size for diagnosis until the next release or clean-up."""
        if not any(p.phase is Phase.STAGE for p in record.phases):
            return
        if text_value(self._p.stack.config(), CANDIDATE_REPLICAS) in (None, NO_RELEASE):
            return
        self._p.stack.set_config({CANDIDATE_REPLICAS: NO_RELEASE})
        try:
            self._p.stack.up(self._show)
        except SwitchyardError as exc:
            self._p.say(
                f"warning: the autoscalers' hold was not lifted ({exc}): run `pulumi up` "
                "(candidateReplicas is 0) once the cause is fixed"
            )

    def _save(self, record: ReleaseRecord) -> None:
        self._p.records.save(record)

    def _send(self, notice: notify.Notice | None) -> None:
        if notice is None:
            return
        try:
            self._p.notifier.publish(notice.tier, notice.subject, notice.message)
        except PortError as exc:
            self._p.say(f"warning: notification not sent: {exc}")
