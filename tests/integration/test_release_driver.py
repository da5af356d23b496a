"""Every exit path of a release over the stack port: the real orchestration and cutover engine,
an in-memory AWS world on a fake clock, real HTTP smoke and load checks on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pulumi.automation.events import OpType

from delivery.config.model import Colour, Environment, LoadCheck, Settings, Slo, Tier
from delivery.config.stackfile import load_stack
from delivery.cutover.errors import ListenerDrift
from delivery.cutover.events import Outcome as CutoverOutcome
from delivery.cutover.events import outcome_line
from delivery.cutover.ports import AlarmState, AlarmValue
from delivery.cutover.records import RollbackRecord
from delivery.errors import SwitchyardError
from delivery.plans.budget import BudgetLeft
from delivery.plans.schedule import Weights
from delivery.rehearsal.servers import ColourServer, colour_servers
from delivery.release.automation import StackUnavailable
from delivery.release.budget import BudgetSpent
from delivery.release.dast import DastReport, read_report
from delivery.release.keys import (
    CANDIDATE_REPLICAS,
    HOOK_COMMAND,
    LATENCY_BASELINE_MS,
    LIVE_COLOUR,
    RELEASE_STEP,
    image_key,
)
from delivery.release.metrics import compute
from delivery.release.orchestrate import EXIT_CODES, Ports, Release, Request
from delivery.release.port import StackPort, UpFailed
from delivery.release.preview import Change
from delivery.release.progress import OnProgress, Progress
from delivery.release.record import LocalRecords, Outcome, Phase, ReleaseRecord, Result
from delivery.release.scope import ScopedStack
from delivery.release.truth import (
    ReleaseState,
    TruthfulStack,
    owned,
    stale_problems,
)
from tests.release_state import MemoryReleaseState
from tests.release_world import WorldStack, world_stack
from tests.world import Crash

IMAGE = "registry.example.com/web@sha256:" + "a" * 64
NEXT_IMAGE = "registry.example.com/web@sha256:" + "b" * 64
COMMIT_TIME = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@dataclasses.dataclass
class Sent:
    notices: list[tuple[Tier, str, str]] = dataclasses.field(default_factory=list)

    def publish(self, tier: Tier, subject: str, message: str) -> None:
        self.notices.append((tier, subject, message))


@dataclasses.dataclass
class FixedBaseline:
    value: float | None
    asked: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def p95_ms(self, target_group_arn: str, load_balancer_arn: str) -> float | None:
        self.asked.append((target_group_arn, load_balancer_arn))
        return self.value


@dataclasses.dataclass
class FixedBudget:
    """The error budget's port: the period's sums as CloudWatch would answer them."""

    requests: float
    errors: float

    def read(self, slo: Slo) -> BudgetLeft:
        return BudgetLeft(slo, self.requests, self.errors)


class Clock:
    """Driver time: each reading one minute after the last, from a fixed start."""

    def __init__(self) -> None:
        self.t = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.t += timedelta(minutes=1)
        return self.t


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[Colour, ColourServer]]:
    with colour_servers("blue", "green") as running:
        yield {Colour(name): server for name, server in running.items()}


# A staging release's phases up to its promote; its dast phase is skipped (no report given)
THROUGH_PROMOTE = ["baseline", "stage", "smoke", "load", "dast", "promote"]


@pytest.fixture
def settings() -> Settings:
    staging = load_stack("staging")
    small = LoadCheck(
        requests=60, duration_seconds=20, concurrency=4, p95_ms=2000, error_rate_percent=1.0
    )
    return dataclasses.replace(staging, checks=dataclasses.replace(staging.checks, load=small))


@dataclasses.dataclass
class Rollbacks:
    records: dict[Colour, RollbackRecord]

    def read(self, colour: Colour) -> RollbackRecord | None:
        return self.records.get(colour)


@dataclasses.dataclass
class Rig:
    stack: WorldStack
    records: LocalRecords
    sent: Sent
    baseline: FixedBaseline
    settings: Settings
    lines: list[str]
    budget: FixedBudget | None = None
    truth: MemoryReleaseState | None = None  # the release state, as the real driver keeps it
    planned: Callable[[], list[Change]] | None = None  # each up previewed first, as for real
    rollbacks: dict[Colour, RollbackRecord] | None = None  # the cutover's records in SSM

    def release(
        self,
        image: str = IMAGE,
        stage_only: bool = False,
        override_budget: bool = False,
        dast: DastReport | None = None,
    ) -> ReleaseRecord:
        stack: StackPort = self.stack
        if self.truth is not None:  # as release_holding: pull, then release
            truthful = TruthfulStack(self.stack, self.truth, "ci run 1", Clock(), self.lines.append)
            truthful.pull()
            stack = truthful
        if self.planned is not None:
            stack = ScopedStack(stack, self.planned, {CANDIDATE_REPLICAS: "0"})
        ports = Ports(
            stack=stack,
            listener=self.stack.world,
            health=self.stack.world,
            records=self.records,
            notifier=self.sent,
            clock=self.stack.world,
            baseline=self.baseline,
            budget=self.budget,
            now=Clock(),
            say=self.lines.append,
            rollbacks=None if self.rollbacks is None else Rollbacks(self.rollbacks),
        )
        return Release(self.settings, ports).run(
            Request(
                image,
                commit="abc1234",
                commit_time=COMMIT_TIME,
                run_url="https://ci/run/1",
                stage_only=stage_only,
                override_error_budget=override_budget,
                dast=dast,
            )
        )

    def stored(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted(self.records.folder.glob("*/*.json"))]


@pytest.fixture
def rig(settings: Settings, servers: dict[Colour, ColourServer], tmp_path: Path) -> Rig:
    for server in servers.values():
        server.behaviour = type(server.behaviour)()
    return Rig(
        world_stack(settings, servers),
        LocalRecords(tmp_path / "records"),
        Sent(),
        FixedBaseline(180.0),
        settings,
        [],
    )


def phases(record: ReleaseRecord) -> dict[str, str]:
    return {p.phase.value: p.result.value for p in record.phases}


def test_a_clean_release_is_promoted_and_recorded(rig: Rig) -> None:
    record = rig.release()

    assert record.outcome is Outcome.PROMOTED and EXIT_CODES[record.outcome] == 0
    assert record.traffic_moved is True  # a deployment (metrics)
    assert rig.stack.world.weights == Weights.all_on(Colour.GREEN)
    assert rig.stack.values[LIVE_COLOUR] == "green"
    assert rig.stack.values[image_key(Colour.GREEN)] == IMAGE
    # every phase but the old hook's; no DAST report was given, and the record says so
    passed = {p.value: "passed" for p in Phase if p not in (Phase.HOOK, Phase.DAST)}
    assert phases(record) == passed | {"dast": "skipped"}
    (dast,) = [p for p in record.phases if p.phase is Phase.DAST]
    assert "promoted without a DAST scan" in dast.detail
    assert rig.stack.values[RELEASE_STEP] == "cleanup" and rig.stack.cleaned is Colour.BLUE
    assert record.promoted_at is not None
    assert record.lead_time_seconds == (record.promoted_at - COMMIT_TIME).total_seconds()
    [stored] = rig.stored()
    assert stored["outcome"] == "promoted" and stored["image"] == IMAGE
    assert [(t, s.split(":")[0]) for t, s, _ in rig.sent.notices] == [
        (Tier.INFO, "[staging] release started"),
        (Tier.INFO, "[staging] release promoted"),
    ]
    assert "https://ci/run/1" in rig.sent.notices[-1][2]
    # one progress line per step and bake, none per poll
    assert sum("bake-passed" in line for line in rig.lines) == len(rig.settings.traffic.steps)
    assert not any(" poll " in line for line in rig.lines)


def test_the_measured_baseline_sets_the_latency_threshold(rig: Rig) -> None:
    record = rig.release()

    assert rig.stack.values[LATENCY_BASELINE_MS] == "180"
    assert (record.baseline_ms, record.baseline_source) == (180.0, "measured")
    assert rig.baseline.asked == [("arn:tg/blue", "arn:lb")]  # the live colour's group


def test_no_baseline_data_keeps_the_static_value(rig: Rig) -> None:
    rig.baseline.value = None
    record = rig.release()

    assert rig.stack.values[LATENCY_BASELINE_MS] == "250"
    assert (record.baseline_ms, record.baseline_source) == (250.0, "static")


def test_an_alarm_during_promote_rolls_back_and_puts_the_config_back(rig: Rig) -> None:
    fire_green_at_50(rig)
    record = rig.release()

    assert record.outcome is Outcome.ROLLED_BACK and EXIT_CODES[record.outcome] == 3
    assert record.traffic_moved is True  # a change failure
    assert "green-5xx" in record.cause and "5xx at 7%" in record.cause
    assert rig.stack.world.weights == Weights.all_on(Colour.BLUE)
    assert rig.stack.values[LIVE_COLOUR] == "blue"  # config matches reality again
    assert record.time_to_restore_seconds is not None and record.time_to_restore_seconds > 0
    assert record.cutover is not None  # the engine's own report, kept with the release
    assert record.cutover["outcome"] == "rolled-back" and record.cutover["steps"] == [10, 50]
    assert record.cutover["alarm"]["alarm"] == "green-5xx"
    assert rig.stored()[0]["outcome"] == "rolled-back"
    tier, subject, message = rig.sent.notices[-1]
    assert tier is Tier.CRITICAL and "ROLLED BACK" in subject and "5xx at 7%" in message


@pytest.mark.parametrize(
    ("breakage", "phase", "reason"),
    [
        ("smoke", "smoke", "smoke test failed: /api/orders: expected 200, got 500"),
        ("load", "load", "load test failed: error rate"),
        ("hook", "stage", "pre-traffic hook): job web-hook-3f2a9c1d7e failed"),
    ],
)
def test_a_failed_check_stops_before_any_traffic_moves(
    rig: Rig, servers: dict[Colour, ColourServer], breakage: str, phase: str, reason: str
) -> None:
    candidate = servers[Colour.GREEN].behaviour
    if breakage == "smoke":
        candidate.failing_paths = frozenset({"/api/orders"})
    if breakage == "load":
        candidate.fail_every = 10  # smoke's two requests pass; 10% of the load run fails
    rig.stack.hook_fails = breakage == "hook"

    record = rig.release()

    assert record.outcome is Outcome.STOPPED and EXIT_CODES[record.outcome] == 4
    assert record.traffic_moved is False  # caught before users: no deployment, no failure
    assert reason in record.cause
    assert phases(record)[phase] == "failed" and Phase.PROMOTE.value not in phases(record)
    assert rig.stack.world.sets == []  # the listener was never touched
    assert rig.stack.values[LIVE_COLOUR] == "blue"
    assert rig.stored()[0]["outcome"] == "stopped"
    assert rig.sent.notices[-1][0] is Tier.WARNING


def test_a_gate_that_refuses_the_shift_stops_with_the_config_put_back(rig: Rig) -> None:
    rig.stack.world.alarms["green-latency"] = AlarmState("green-latency", AlarmValue.ALARM, "slow")
    record = rig.release()

    assert record.outcome is Outcome.STOPPED
    assert "green-latency" in record.cause and "No traffic was moved" in record.cause
    assert record.cutover is not None and record.cutover["outcome"] == "refused"
    assert rig.stack.values[LIVE_COLOUR] == "blue"
    assert rig.stack.world.weights == Weights.all_on(Colour.BLUE)


def test_someone_else_moving_the_weights_mid_shift_is_a_failure(rig: Rig) -> None:
    def meddle(event: Progress) -> None:
        if event.kind == "bake-passed" and event.step == 10:
            rig.stack.world.weights = Weights(blue=70, green=30)

    rig.stack.during_promote = meddle
    record = rig.release()

    assert record.outcome is Outcome.FAILED and EXIT_CODES[record.outcome] == 1
    assert "Traffic is split" in record.cause and "blue=70% green=30%" in record.cause
    assert record.traffic_moved is True  # the worst failure: it counts as one
    assert rig.stored()[0]["outcome"] == "failed"


def test_ctrl_c_during_promote_restores_the_old_colour_and_records_an_abort(rig: Rig) -> None:
    def interrupt(event: Progress) -> None:
        if event.kind == "weights-set" and event.step == 50:
            raise KeyboardInterrupt

    rig.stack.during_promote = interrupt
    record = rig.release()

    assert record.outcome is Outcome.ABORTED and EXIT_CODES[record.outcome] != 0
    assert record.traffic_moved is True  # interrupted at 50%: a failure in production
    assert rig.stack.world.weights == Weights.all_on(Colour.BLUE)
    assert rig.stack.world.sets[-1][1] == Weights.all_on(Colour.BLUE)
    assert rig.stack.values[LIVE_COLOUR] == "blue"
    assert "pulumi refresh" in record.cause
    assert record.time_to_restore_seconds is not None
    assert rig.stored()[0]["outcome"] == "aborted"
    assert rig.sent.notices[-1][0] is Tier.CRITICAL


def test_an_abort_stops_the_cli_then_restores_again_what_its_dying_cutover_moved(
    rig: Rig,
) -> None:
    """The interrupted `pulumi up` keeps its cutover running until the CLI terminates it, so
    a step may land after the driver's restore: the driver reads the listener once the CLI
    has stopped and restores again, then writes the record, then clears the CLI's lock."""
    world = rig.stack.world
    seen: list[str] = []

    def interrupt(event: Progress) -> None:
        if event.kind == "weights-set" and event.step == 50:
            raise KeyboardInterrupt

    def dying_cutover_takes_one_more_step() -> None:
        seen.append(f"cancel with the listener at {world.weights}")
        world.set_weights(Weights.split(Colour.GREEN, 100))

    def lock_after_the_record() -> str:
        (stored,) = rig.stored()
        seen.append(f"lock with restored_at {'set' if stored['restored_at'] else 'unset'}")
        return "deleted the state lock the stopped `pulumi up` left: s3://state/x.json"

    rig.stack.during_promote = interrupt
    rig.stack.cancel = dying_cutover_takes_one_more_step  # type: ignore[method-assign]
    rig.stack.left_lock = lock_after_the_record  # type: ignore[method-assign]
    record = rig.release()

    blue = Weights.all_on(Colour.BLUE)
    assert seen == [f"cancel with the listener at {blue}", "lock with restored_at set"]
    assert [w for _, w in world.sets][-3:] == [blue, Weights.split(Colour.GREEN, 100), blue]
    assert world.weights == blue
    assert record.outcome is Outcome.ABORTED
    assert "and again after the interrupted cutover moved traffic" in record.cause
    assert "deleted the state lock the stopped `pulumi up` left: s3://state/x.json" in record.cause
    assert record.failed_at is not None and record.restored_at is not None
    assert record.failed_at < record.restored_at


def test_an_interrupt_before_promote_stops_the_cli_and_keeps_the_release_resumable(
    rig: Rig,
) -> None:
    stopped: list[str] = []

    def up_interrupted_in_stage(on_progress: OnProgress) -> None:
        if rig.stack.values.get(RELEASE_STEP) == "stage":
            raise KeyboardInterrupt
        WorldStack.up(rig.stack, on_progress)

    rig.stack.up = up_interrupted_in_stage  # type: ignore[method-assign]
    rig.stack.cancel = lambda: stopped.append("cancel")  # type: ignore[method-assign]
    rig.stack.left_lock = lambda: "the stopped `pulumi up` left no state lock"  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        rig.release()

    assert stopped == ["cancel"]
    assert rig.stored()[0]["outcome"] is None
    assert rig.stack.world.sets == []


def test_ctrl_c_after_someone_rebuilt_the_listener_leaves_it_as_it_is(rig: Rig) -> None:
    def rebuilt() -> Weights:
        raise ListenerDrift("listener has default actions [fixed-response]")

    def maintenance_then_interrupt(event: Progress) -> None:
        if event.kind == "weights-set" and event.step == 50:
            rig.stack.world.read_weights = rebuilt  # type: ignore[method-assign]
            raise KeyboardInterrupt

    rig.stack.during_promote = maintenance_then_interrupt
    record = rig.release()

    assert record.outcome is Outcome.ABORTED
    assert "changed by someone else" in record.cause and "[fixed-response]" in record.cause
    # the engine's own abort restored before the rebuild showed; the driver wrote nothing more
    restores = [w for _, w in rig.stack.world.sets if w == Weights.all_on(Colour.BLUE)]
    assert len(restores) == 1


def test_ctrl_c_before_promote_leaves_a_record_the_next_run_resumes(rig: Rig) -> None:
    rig.stack.crash_on_up = None
    original_up = rig.stack.up

    def interrupted_stage(on_progress: object) -> None:
        raise KeyboardInterrupt

    rig.stack.up = interrupted_stage  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        rig.release()
    assert rig.stored()[0]["outcome"] is None
    rig.stack.up = original_up  # type: ignore[method-assign]

    record = rig.release()
    assert record.outcome is Outcome.PROMOTED and record.runs == 2
    assert len(rig.stored()) == 1


def test_a_crash_between_stage_and_promote_is_resumed_by_the_next_run(rig: Rig) -> None:
    rig.stack.crash_on_up = 2  # stage's up passes (its Job ran), the driver dies in promote's
    with pytest.raises(Crash):
        rig.release()
    [interrupted] = rig.stored()
    assert interrupted["outcome"] is None
    assert [p["phase"] for p in interrupted["phases"]] == THROUGH_PROMOTE

    rig.stack.crash_on_up = None
    ups_before = rig.stack.ups
    record = rig.release()

    assert record.outcome is Outcome.PROMOTED and record.runs == 2
    assert phases(record)["stage"] == Result.RESUMED.value
    assert rig.stack.ups - ups_before == 2  # promote and clean-up: nothing staged again
    assert rig.stack.world.weights == Weights.all_on(Colour.GREEN)
    assert [r["id"] for r in rig.stored()] == [record.id]
    assert any("resuming release" in line for line in rig.lines)


def test_a_new_image_closes_an_interrupted_release_instead_of_resuming_it(rig: Rig) -> None:
    rig.stack.crash_on_up = 1
    with pytest.raises(Crash):
        rig.release()
    rig.stack.crash_on_up = None

    record = rig.release(image=IMAGE.replace("a", "b"))

    assert record.outcome is Outcome.PROMOTED and record.runs == 1
    outcomes = sorted(str(r["outcome"]) for r in rig.stored())
    assert outcomes == ["failed", "promoted"]


def test_a_split_listener_blocks_a_new_release_and_changes_nothing(rig: Rig) -> None:
    rig.stack.world.weights = Weights(blue=50, green=50)
    before = dict(rig.stack.values)

    record = rig.release()

    assert record.outcome is Outcome.FAILED and EXIT_CODES[record.outcome] == 1
    assert "split (blue=50% green=50%)" in record.cause and "nothing was changed" in record.cause
    assert rig.stack.values == before and rig.stack.ups == 0
    assert rig.stack.world.sets == []
    assert rig.stored()[0]["outcome"] == "failed"
    assert [t for t, _, _ in rig.sent.notices] == [Tier.CRITICAL]


def test_a_split_listener_lets_its_own_interrupted_release_resume(rig: Rig) -> None:
    _die_mid_promote(rig)

    record = rig.release()

    assert record.outcome is Outcome.PROMOTED and record.runs == 2
    assert rig.stack.world.weights == Weights.all_on(Colour.GREEN)


def test_stage_only_validates_and_the_next_run_promotes_without_staging_again(rig: Rig) -> None:
    validated = rig.release(stage_only=True)

    assert validated.outcome is None
    assert phases(validated) == {
        "baseline": "passed",
        "stage": "passed",
        "smoke": "passed",
        "load": "passed",
    }
    assert rig.stack.world.weights == Weights.all_on(Colour.BLUE)  # nothing moved yet
    assert rig.stack.values[LIVE_COLOUR] == "blue" and rig.stack.ups == 1

    promoted = rig.release()  # the production job, after its approval

    assert promoted.id == validated.id and promoted.outcome is Outcome.PROMOTED
    assert phases(promoted)["stage"] == "resumed" and rig.stack.ups == 3  # promote, clean-up
    assert rig.stack.world.weights == Weights.all_on(Colour.GREEN)
    assert [t for t, _, _ in rig.sent.notices] == [Tier.INFO, Tier.INFO]  # one start, one end


def test_a_failed_clean_up_leaves_the_release_promoted_and_says_so(rig: Rig) -> None:
    rig.stack.cleanup_fails = True
    record = rig.release()

    assert record.outcome is Outcome.PROMOTED and EXIT_CODES[record.outcome] == 0
    assert phases(record)["cleanup"] == "failed"
    assert rig.stack.world.weights == Weights.all_on(Colour.GREEN)
    assert any(
        "warning: clean-up failed" in line and "blue still runs" in line for line in rig.lines
    )
    assert rig.stored()[0]["phases"][-1]["detail"].startswith("clean-up failed")


def test_a_stack_dast_does_not_scan_records_no_dast_phase(
    settings: Settings, servers: dict[Colour, ColourServer], tmp_path: Path
) -> None:
    """Only staging's releases are scanned (deploy-staging.yml): a prod promote's record
    does not say it skipped a scan it never has."""
    prod_like = dataclasses.replace(settings, environment=Environment.PROD)
    rig = Rig(
        world_stack(prod_like, servers),
        LocalRecords(tmp_path / "records"),
        Sent(),
        FixedBaseline(180.0),
        prod_like,
        [],
    )
    record = rig.release()
    assert record.outcome is Outcome.PROMOTED
    assert "dast" not in phases(record)


def test_the_pre_traffic_job_runs_in_the_stage_step_and_never_again(rig: Rig) -> None:
    record = rig.release()

    assert record.outcome is Outcome.PROMOTED
    assert list(phases(record)) == [*THROUGH_PROMOTE, "cleanup"]
    assert record.phases[1].detail.endswith("its pre-traffic Job succeeded first")
    assert rig.stack.ups == 3  # stage (its Job, then its pods), promote, clean-up


def test_without_a_hook_command_the_stage_runs_no_job(rig: Rig) -> None:
    del rig.stack.values[HOOK_COMMAND]
    rig.stack.hook_fails = True  # would fail, were it run
    record = rig.release()

    assert record.outcome is Outcome.PROMOTED
    assert "pre-traffic" not in record.phases[1].detail


def test_an_up_that_cannot_run_during_promote_fails_with_the_config_put_back(rig: Rig) -> None:
    real_up = rig.stack.up

    def locked(on_progress: OnProgress) -> None:
        if rig.stack.values[LIVE_COLOUR] == "green":
            raise StackUnavailable("another update of stack staging is running")
        real_up(on_progress)

    rig.stack.up = locked  # type: ignore[method-assign]
    record = rig.release()

    assert record.outcome is Outcome.FAILED and EXIT_CODES[record.outcome] == 1
    assert "another update" in record.cause
    assert rig.stack.values[LIVE_COLOUR] == "blue"
    assert rig.stack.world.weights == Weights.all_on(Colour.BLUE)


@pytest.mark.parametrize(
    ("cutover", "released"),
    [(CutoverOutcome.ROLLED_BACK, Outcome.ROLLED_BACK), (CutoverOutcome.REFUSED, Outcome.STOPPED)],
)
def test_an_up_failed_out_of_sight_is_classified_by_the_providers_outcome_line(
    rig: Rig, cutover: CutoverOutcome, released: Outcome
) -> None:
    """A refusal of a release rolled back before says "was rolled back at ..." in its prose;
    only the outcome line the provider adds decides whether this run rolled back."""
    record = RollbackRecord(
        "green@2026-11-27T06:00:00Z", Colour.GREEN, "web:2", "2026-11-27T06:00:00Z", "s", 50, "5xx"
    )
    refusal = f"{record.refused('/switchyard/s/green')}. {record.ways_out(Colour.BLUE)}"
    text = f"{refusal}\n{outcome_line(cutover)}"
    real_up = rig.stack.up

    def refused(on_progress: OnProgress) -> None:
        if rig.stack.values[LIVE_COLOUR] == "green":
            raise UpFailed(text)  # as the Automation API passes it: text, no report
        real_up(on_progress)

    rig.stack.up = refused  # type: ignore[method-assign]
    assert rig.release().outcome is released
    assert rig.stack.values[LIVE_COLOUR] == "blue"


def test_a_rollback_out_of_sight_leaves_the_time_to_restore_unknown_not_zero(rig: Rig) -> None:
    """A real `pulumi up` runs the engine in Pulumi's process: the driver learns that it rolled
    back, not when the alarm fired. It used to take the restore's own moment as the failure's,
    so every real rollback restored in 0 s and met the time-to-restore target."""

    def fire_at_50(event: Progress) -> None:
        if event.kind == "weights-set" and event.step == 50 and event.weights.green == 50:
            rig.stack.world.alarms["green-5xx"] = AlarmState(
                "green-5xx", AlarmValue.ALARM, "5xx at 7%"
            )

    rig.stack.during_promote = fire_at_50
    real_up = rig.stack.up

    def out_of_sight(on_progress: OnProgress) -> None:
        if rig.stack.values[LIVE_COLOUR] != "green":
            real_up(on_progress)
            return
        try:
            real_up(lambda event: None)  # no engine event reaches the driver
        except UpFailed as exc:  # as the Automation API passes it: the provider's text
            raise UpFailed(f"{exc}\n{outcome_line(CutoverOutcome.ROLLED_BACK)}") from None

    rig.stack.up = out_of_sight  # type: ignore[method-assign]
    rig.rollbacks = {}  # the cutover recorded nothing: no alarm judged the release
    record = rig.release()

    assert record.outcome is Outcome.ROLLED_BACK
    assert rig.stack.world.weights == Weights.all_on(Colour.BLUE)
    assert record.restored_at is not None
    assert record.failed_at is None and record.time_to_restore_seconds is None
    day = timedelta(days=1)
    metrics = compute([record], record.started_at - day, record.started_at + day)
    assert metrics.change_failure_rate == 1.0
    assert metrics.time_to_restore_minutes is None  # no data, not a restore in 0 minutes
    assert metrics.untimed == 1 and metrics.meets["time_to_restore_minutes"] is None


def _rolled_back_out_of_sight(rig: Rig) -> None:
    """``pulumi up`` fails as the Automation API reports a rollback: text, no report."""

    def rolled_back(on_progress: OnProgress) -> None:
        if rig.stack.values[LIVE_COLOUR] != "green":
            real_up(on_progress)
            return
        rig.stack.world.weights = Weights.all_on(Colour.BLUE)
        raise UpFailed(f"cutover: rolled back\n{outcome_line(CutoverOutcome.ROLLED_BACK)}")

    real_up = rig.stack.up
    rig.stack.up = rolled_back  # type: ignore[method-assign]


def _recorded(release: str, failed: datetime, restored: datetime | None) -> RollbackRecord:
    at = (restored or failed) + timedelta(seconds=1)
    return RollbackRecord(
        f"green@{at.isoformat()}",
        Colour.GREEN,
        release,
        at.isoformat(),
        "staging",
        50,
        "alarm 'green-5xx' is ALARM",
        failed.isoformat(),
        None if restored is None else restored.isoformat(),
    )


def test_a_rollback_out_of_sight_takes_its_times_from_the_cutovers_rollback_record(
    rig: Rig,
) -> None:
    _rolled_back_out_of_sight(rig)
    late = datetime(2030, 1, 1, tzinfo=UTC)  # after the rig's clock started the release
    rig.rollbacks = {Colour.GREEN: _recorded(IMAGE, late, late + timedelta(seconds=42))}
    record = rig.release()

    assert record.outcome is Outcome.ROLLED_BACK
    assert (record.failed_at, record.restored_at) == (late, late + timedelta(seconds=42))
    assert record.time_to_restore_seconds == 42.0


@pytest.mark.parametrize(
    ("release", "failed"),
    [
        (NEXT_IMAGE, datetime(2030, 1, 1, tzinfo=UTC)),  # another release's rollback
        (IMAGE, datetime(2000, 1, 1, tzinfo=UTC)),  # this image's, before this release began
    ],
)
def test_a_rollback_record_of_another_release_gives_no_times(
    rig: Rig, release: str, failed: datetime
) -> None:
    _rolled_back_out_of_sight(rig)
    rig.rollbacks = {Colour.GREEN: _recorded(release, failed, failed + timedelta(seconds=5))}
    record = rig.release()

    assert record.outcome is Outcome.ROLLED_BACK
    assert record.failed_at is None and record.time_to_restore_seconds is None


def test_a_release_from_a_fresh_checkout_follows_the_image_the_live_colour_runs(rig: Rig) -> None:
    """CI checks the repository out anew for each release and does not commit the stack file
    the Automation API changed, so the next release starts from a file whose live colour's
    image is stale. The program refuses that (the live colour's pods are never changed in
    place): every second release from CI stopped at stage."""
    committed = dict(rig.stack.values)
    assert rig.release().outcome is Outcome.PROMOTED  # green is live and runs IMAGE
    rig.stack.values = dict(committed)  # a fresh checkout: blue live, greenImage stale
    assert rig.stack.values[image_key(Colour.GREEN)] != IMAGE

    second = rig.release(image=NEXT_IMAGE)

    assert second.outcome is Outcome.PROMOTED, second.cause
    assert second.source is Colour.GREEN
    assert rig.stack.world.weights == Weights.all_on(Colour.BLUE)
    assert rig.stack.values[image_key(Colour.GREEN)] == IMAGE  # what green runs
    assert any("greenImage" in line and IMAGE in line for line in rig.lines)


def test_the_promote_job_keeps_the_baseline_the_stage_job_measured(rig: Rig) -> None:
    """deploy-prod stages in one job and promotes in another, each from a fresh checkout: the
    promote job resumes the release (the baseline is not measured again), and its `pulumi up`
    put the stack file's static latencyBaselineMs back under the latency alarms."""
    committed = dict(rig.stack.values)
    staged = rig.release(stage_only=True)
    assert staged.baseline_source == "measured" and rig.stack.values[LATENCY_BASELINE_MS] == "180"
    rig.stack.values = dict(committed)  # the promote job's checkout
    rig.baseline.value = 999.0  # a new measurement would differ: none is taken

    promoted = rig.release()

    assert promoted.id == staged.id and promoted.outcome is Outcome.PROMOTED
    assert rig.stack.values[LATENCY_BASELINE_MS] == "180"
    assert (promoted.baseline_ms, promoted.baseline_source) == (180.0, "measured")


def test_https_checks_without_a_host_name_are_refused_before_anything_changes(rig: Rig) -> None:
    """With a certificate the test listener presents it, and it names the service's hosts,
    never the load balancer's own DNS name: checks against that name fail TLS verification,
    so every release stopped at smoke, after staging, with a misleading cause."""
    assert rig.settings.alb.certificate_arn
    committed = dict(rig.stack.values)
    real = {"albDnsName": "switchyard-staging-1234.eu-west-1.elb.amazonaws.com"}
    rig.stack.outputs = lambda: real  # type: ignore[method-assign]

    with pytest.raises(SwitchyardError, match="--test-url https://") as refused:
        rig.release()

    assert "TEST_URL" in str(refused.value) and "nothing was changed" in str(refused.value)
    assert rig.stack.ups == 0 and rig.stack.values == committed and rig.stored() == []
    assert rig.stack.world.sets == []


def fire_green_at_50(rig: Rig) -> None:
    def fire(event: Progress) -> None:
        if event.kind == "weights-set" and event.step == 50 and event.weights.green == 50:
            rig.stack.world.alarms["green-5xx"] = AlarmState(
                "green-5xx", AlarmValue.ALARM, "5xx at 7%"
            )

    rig.stack.during_promote = fire


def test_a_rollback_writes_its_post_incident_record_and_the_notice_links_it(rig: Rig) -> None:
    fire_green_at_50(rig)
    record = rig.release()

    assert record.outcome is Outcome.ROLLED_BACK
    expected = rig.records.folder / "incidents" / "staging" / f"{record.id}.md"
    assert record.post_incident == str(expected)
    text = expected.read_text()
    assert text.startswith(f"# Post-incident record: release {record.id}")
    assert "- Commit: abc1234" in text and "| weights-set | 50 | 50 |" in text
    assert "fault seen: alarm 'green-5xx' is ALARM (5xx at 7%)" in text
    assert "response plan switchyard-staging-critical" in text  # the page
    assert rig.stored()[0]["post_incident"] == str(expected)
    tier, _, message = rig.sent.notices[-1]
    assert tier is Tier.CRITICAL and f"Post-incident record: {expected}" in message
    assert rig.records.load_post_incident("staging", record.id) == text


def test_an_aborted_promote_writes_one_too_and_a_promotion_none(rig: Rig) -> None:
    def interrupt(event: Progress) -> None:
        if event.kind == "weights-set" and event.step == 50:
            raise KeyboardInterrupt

    rig.stack.during_promote = interrupt
    aborted = rig.release()
    assert aborted.outcome is Outcome.ABORTED and aborted.post_incident
    assert "Who or what interrupted the promote" in Path(aborted.post_incident).read_text()
    rig.stack.during_promote = None
    promoted = rig.release(NEXT_IMAGE)
    assert promoted.outcome is Outcome.PROMOTED and promoted.post_incident is None


@pytest.fixture
def prod_rig(rig: Rig) -> Rig:
    rig.settings = dataclasses.replace(
        rig.settings, environment=Environment.PROD, slo=Slo(99.9, 30)
    )
    return rig


def test_prod_refuses_to_start_while_the_budget_is_spent(prod_rig: Rig) -> None:
    prod_rig.budget = FixedBudget(1_000_000, 1_200)  # 1,000 allowed at 99.9%

    with pytest.raises(BudgetSpent) as refused:
        prod_rig.release()

    message = str(refused.value)
    assert "the error budget is spent: -20.0% of the 99.9% availability budget left over 30 " in (
        message
    )
    assert "--override-error-budget" in message
    assert prod_rig.stored() == [] and prod_rig.stack.world.weights == Weights.all_on(Colour.BLUE)
    assert prod_rig.sent.notices == []  # nothing started


def test_the_override_releases_and_the_record_keeps_it(prod_rig: Rig) -> None:
    prod_rig.budget = FixedBudget(1_000_000, 1_200)
    record = prod_rig.release(override_budget=True)
    assert record.outcome is Outcome.PROMOTED
    assert record.error_budget.startswith(
        "released over a spent error budget (--override-error-budget): -20.0%"
    )
    assert prod_rig.stored()[-1]["error_budget"] == record.error_budget


def test_a_budget_left_is_judged_and_recorded_and_staging_is_not_gated(rig: Rig) -> None:
    rig.budget = FixedBudget(1_000_000, 5_000)
    assert rig.release().outcome is Outcome.PROMOTED  # staging: no gate
    rig.settings = dataclasses.replace(
        rig.settings, environment=Environment.PROD, slo=Slo(99.9, 30)
    )
    rig.budget = FixedBudget(1_000_000, 250)
    record = rig.release(NEXT_IMAGE)
    assert record.error_budget.startswith("judged: 75.0% of the 99.9%")


def test_a_failed_rollback_writes_one_with_the_question_it_leaves(rig: Rig) -> None:
    fire_green_at_50(rig)
    rig.stack.world.fail("ModifyListener", *range(3, 500))  # both steps land; no rollback does

    record = rig.release()

    assert record.outcome is Outcome.FAILED
    assert record.cutover is not None and record.cutover["outcome"] == "rollback-failed"
    assert record.post_incident is not None
    text = Path(record.post_incident).read_text()
    assert "Why did the rollback write fail" in text and "- Outcome: failed" in text
    assert f"Post-incident record: {record.post_incident}" in rig.sent.notices[-1][2]


def test_a_rerun_after_a_promote_finished_by_hand_closes_it_without_moving_traffic(
    rig: Rig,
) -> None:
    rig.stack.crash_on_up = 2  # the driver dies in promote's `up`
    with pytest.raises(Crash):
        rig.release()
    rig.stack.crash_on_up = None
    # someone finished it by hand: `pulumi up` with liveColour green, the cutover's state too
    rig.stack.world.weights = Weights.all_on(Colour.GREEN)
    rig.stack.live = Colour.GREEN
    # "Re-run jobs" checks out the stack file as the release found it
    rig.stack.values[LIVE_COLOUR] = "blue"
    rig.stack.values.pop(image_key(Colour.GREEN), None)
    sets_before = len(rig.stack.world.sets)

    record = rig.release()

    assert record.outcome is Outcome.PROMOTED and record.runs == 2
    assert rig.stack.world.weights == Weights.all_on(Colour.GREEN)
    assert rig.stack.world.sets[sets_before:] == []  # never shifted back and forward again
    assert rig.stack.values[LIVE_COLOUR] == "green"
    assert [r["outcome"] for r in rig.stored()] == ["promoted"]


def _die_mid_promote(rig: Rig) -> None:
    def die_at_50(event: Progress) -> None:
        if event.kind == "weights-set" and event.step == 50:
            raise Crash("runner lost mid-promote")

    rig.stack.during_promote = die_at_50
    with pytest.raises(Crash):
        rig.release()
    rig.stack.during_promote = None
    assert rig.stack.world.weights == Weights(blue=50, green=50)


def test_a_new_release_closes_a_split_left_by_an_interrupted_one_and_goes_on(rig: Rig) -> None:
    _die_mid_promote(rig)

    record = rig.release(image=NEXT_IMAGE)

    assert record.outcome is Outcome.PROMOTED and record.image == NEXT_IMAGE
    assert rig.stack.world.weights == Weights.all_on(Colour.GREEN)
    first, second = rig.stored()[0], rig.stored()[1]
    assert {first["image"]: first["outcome"], second["image"]: second["outcome"]} == {
        IMAGE: "aborted",
        NEXT_IMAGE: "promoted",
    }
    closed = next(r for r in rig.stored() if r["image"] == IMAGE)
    assert "blue=100%" in closed["cause"] and "closed by the release of" in closed["cause"]


def test_a_refusal_never_hides_the_interrupted_release_from_its_re_run(rig: Rig) -> None:
    _die_mid_promote(rig)
    # a refusal recorded after it (a run refused before it started: no phase on record)
    refused = ReleaseRecord.begin("staging", NEXT_IMAGE, Colour.BLUE, datetime.now(UTC))
    refused.outcome, refused.cause = Outcome.FAILED, "refused"
    rig.records.save(refused)

    record = rig.release()

    assert record.outcome is Outcome.PROMOTED and record.runs == 2
    assert rig.stack.world.weights == Weights.all_on(Colour.GREEN)


def test_ctrl_c_early_in_a_resumed_run_leaves_the_release_to_resume_and_moves_nothing(
    rig: Rig,
) -> None:
    rig.stack.crash_on_up = 2  # the first run dies as its promote begins
    with pytest.raises(Crash):
        rig.release()
    rig.stack.crash_on_up = None
    sets_before = len(rig.stack.world.sets)
    outputs = rig.stack.outputs
    calls: list[int] = []

    def interrupted() -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 2:  # past the start, looking for the test listener's address
            raise KeyboardInterrupt  # Ctrl-C in the resumed run's first seconds
        return outputs()

    rig.stack.outputs = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        rig.release()

    assert rig.stack.world.sets[sets_before:] == []
    assert [r["outcome"] for r in rig.stored()] == [None]  # still resumable
    assert rig.release().outcome is Outcome.PROMOTED


# -- the release state: a stale stack file never reverts a release ----------------------------


def test_every_release_owned_change_is_published_as_it_is_made(rig: Rig) -> None:
    rig.truth = MemoryReleaseState()
    published: list[dict[str, str]] = []
    write = rig.truth.write

    def recorded(state: ReleaseState) -> None:
        published.append(dict(state.values))
        write(state)

    rig.truth.write = recorded  # type: ignore[method-assign]

    record = rig.release()

    assert record.outcome is Outcome.PROMOTED
    assert rig.truth.state is not None and rig.truth.state.values == owned(rig.stack.values)
    assert rig.truth.state.values[LIVE_COLOUR] == "green"
    assert rig.truth.state.values[image_key(Colour.GREEN)] == IMAGE
    assert rig.truth.state.values[RELEASE_STEP] == "cleanup"
    # the promotion's liveColour was the truth before its `pulumi up` ran
    assert [v[LIVE_COLOUR] for v in published].index("green") < len(published) - 1


def test_a_clean_checkout_after_a_release_is_refused_by_the_program(rig: Rig) -> None:
    """What a hand `pulumi up` from `main` meets: the program's check (infra.config) is this."""
    rig.truth = MemoryReleaseState()
    committed = dict(rig.stack.values)
    rig.release()
    assert rig.truth.state is not None

    problems = stale_problems(committed, rig.truth.state, "staging", rig.truth.parameter)

    assert {p.key for p in problems} >= {LIVE_COLOUR, image_key(Colour.GREEN)}
    live = next(p for p in problems if p.key == LIVE_COLOUR)
    assert "'blue' in the stack file" in live.reason and "says 'green'" in live.reason


def test_the_next_release_from_a_clean_checkout_starts_from_the_release_state(rig: Rig) -> None:
    rig.truth = MemoryReleaseState()
    committed = dict(rig.stack.values)
    rig.release()
    rig.stack.values = dict(committed)  # CI's next checkout: the release is not in it
    rig.lines.clear()

    second = rig.release(image=NEXT_IMAGE)

    assert second.outcome is Outcome.PROMOTED and second.source is Colour.GREEN
    assert any("stack file set from the release state" in line for line in rig.lines)
    assert not any("liveColour is blue but" in line for line in rig.lines)
    assert rig.truth.state is not None
    assert rig.truth.state.values[LIVE_COLOUR] == "blue"
    assert rig.truth.state.values[image_key(Colour.BLUE)] == NEXT_IMAGE


def test_an_aborted_promote_leaves_the_old_colour_as_the_truth(rig: Rig) -> None:
    rig.truth = MemoryReleaseState()

    def interrupt_at_50(event: Progress) -> None:
        if event.kind == "weights-set" and event.step == 50:
            raise KeyboardInterrupt

    rig.stack.during_promote = interrupt_at_50
    record = rig.release()

    assert record.outcome is Outcome.ABORTED
    assert rig.truth.state is not None and rig.truth.state.values[LIVE_COLOUR] == "blue"


def test_a_failed_publish_warns_and_no_up_runs_until_the_state_is_true(rig: Rig) -> None:
    rig.truth = MemoryReleaseState()
    rig.truth.fail_writes = 1  # stage's set_config: throttled once
    record = rig.release()
    assert record.outcome is Outcome.PROMOTED
    assert any("warning: the release state" in line for line in rig.lines)

    again = MemoryReleaseState()
    again.fail_writes = 99
    rig.truth, rig.lines[:] = again, []
    ups, sets = rig.stack.ups, len(rig.stack.world.sets)
    refused = rig.release(image=NEXT_IMAGE)
    assert refused.outcome is Outcome.STOPPED and EXIT_CODES[refused.outcome] == 4
    assert "ThrottlingException" in refused.cause and again.parameter in refused.cause
    assert rig.stack.ups == ups and len(rig.stack.world.sets) == sets


# -- the candidate takes the shift at the live colour's size -----------------------------------


def test_the_candidate_is_staged_at_the_live_colours_size_before_the_first_step(rig: Rig) -> None:
    rig.stack.world.healthy[Colour.BLUE] = 5  # busy: blue's autoscaler went above minReplicas
    rig.truth = MemoryReleaseState()
    step_reads: list[tuple[int, str]] = []

    def at_first_step(event: Progress) -> None:
        if event.kind == "weights-set" and event.step == rig.settings.traffic.steps[0]:
            step_reads.append(
                (rig.stack.world.healthy[Colour.GREEN], rig.stack.values[CANDIDATE_REPLICAS])
            )

    rig.stack.during_promote = at_first_step
    record = rig.release()

    assert record.outcome is Outcome.PROMOTED
    assert step_reads == [(5, "5")], "green carried its first step with blue's five pods"
    assert "5 healthy target(s)" in phases_detail(record, Phase.STAGE)
    assert rig.stack.values[CANDIDATE_REPLICAS] == "0", "clean-up ends the release's hold"
    assert rig.truth.state is not None and rig.truth.state.values[CANDIDATE_REPLICAS] == "0"


@pytest.mark.parametrize("breakage", ["smoke", "rollback"])
def test_a_release_that_ends_unpromoted_lifts_the_hold_with_one_more_up(
    rig: Rig, servers: dict[Colour, ColourServer], breakage: str
) -> None:
    if breakage == "smoke":
        servers[Colour.GREEN].behaviour.failing_paths = frozenset({"/api/orders"})
    else:
        fire_green_at_50(rig)
    seen: list[str] = []
    rig.stack.on_up = lambda step: seen.append(rig.stack.values[CANDIDATE_REPLICAS])

    record = rig.release()

    assert record.outcome in (Outcome.STOPPED, Outcome.ROLLED_BACK)
    assert seen[-1] == "0" and rig.stack.values[CANDIDATE_REPLICAS] == "0"
    assert rig.stack.world.weights == Weights.all_on(Colour.BLUE)


def test_the_promote_job_raises_the_candidate_to_a_live_colour_that_grew_since_stage(
    rig: Rig,
) -> None:
    """deploy-prod: hours may pass at the approval gate between the stage and promote jobs."""
    staged = rig.release(stage_only=True)
    assert rig.stack.values[CANDIDATE_REPLICAS] == "3"
    rig.stack.world.healthy[Colour.BLUE] = 6  # busier at the approval
    at_first: list[int] = []

    def first_step(event: Progress) -> None:
        if event.kind == "weights-set" and event.step == rig.settings.traffic.steps[0]:
            at_first.append(rig.stack.world.healthy[Colour.GREEN])

    rig.stack.during_promote = first_step
    promoted = rig.release()

    assert promoted.id == staged.id and promoted.outcome is Outcome.PROMOTED
    assert at_first == [6]
    assert "green raised to 6 pods" in phases_detail(promoted, Phase.PROMOTE)


def test_a_live_colour_above_max_replicas_stops_the_release_before_anything_changes(
    rig: Rig,
) -> None:
    rig.stack.world.healthy[Colour.BLUE] = rig.settings.service.max_replicas + 3
    before = dict(rig.stack.values)

    record = rig.release()

    assert record.outcome is Outcome.STOPPED
    assert f"Raise maxReplicas to at least {rig.settings.service.max_replicas + 3}" in record.cause
    rig.stack.values.pop(LATENCY_BASELINE_MS)  # the baseline phase measured it, before stage
    before.pop(LATENCY_BASELINE_MS)
    assert rig.stack.ups == 0 and rig.stack.values == before
    assert rig.stack.world.sets == []


def test_a_candidate_the_cluster_cannot_grow_to_the_live_size_never_takes_traffic(
    rig: Rig,
) -> None:
    rig.stack.world.healthy[Colour.BLUE] = 5
    rig.stack.room = 4  # the cluster autoscaler cannot add a node: one pod stays pending

    record = rig.release()

    assert record.outcome is Outcome.STOPPED and phases(record)["stage"] == "failed"
    assert "4 healthy target(s)" in record.cause and "5 needed (the live colour's size)" in (
        record.cause
    )
    assert rig.stack.world.sets == []


def phases_detail(record: ReleaseRecord, phase: Phase) -> str:
    return next(p.detail for p in record.phases if p.phase is phase)


# -- kill -9 anywhere, then "Re-run jobs": the same end as one uninterrupted run ----------------

KILLS = [
    *[f"start:{phase}" for phase in ("baseline", "stage", "smoke", "load", "promote", "cleanup")],
    *[f"before-up:{n}" for n in (1, 2, 3)],  # stage's, promote's, clean-up's
    *[f"after-up:{n}" for n in (1, 2, 3)],
    "mid-shift:50",
]


def _kill(rig: Rig, where: str) -> None:
    kind, at = where.split(":")
    if kind == "before-up":
        rig.stack.crash_on_up = int(at)
    elif kind == "after-up":
        rig.stack.crash_after_up = int(at)
    elif kind == "mid-shift":
        rig.stack.during_promote = _crash_at(int(at))
    lines = rig.lines

    class Dying(list[str]):
        def append(self, line: str) -> None:
            super().append(line)
            if kind == "start" and line == f"{at}: ...":
                raise Crash(f"killed as {at} began")

    rig.lines = Dying(lines)


def _crash_at(step: int) -> Callable[[Progress], None]:
    def crash(event: Progress) -> None:
        if event.kind == "weights-set" and event.step == step:
            raise Crash(f"killed at {step}%")

    return crash


@pytest.mark.parametrize("with_state", [True, False], ids=["release-state", "no-state-yet"])
@pytest.mark.parametrize("where", KILLS)
def test_a_rerun_after_a_kill_anywhere_ends_as_one_uninterrupted_run(
    rig: Rig, where: str, with_state: bool
) -> None:
    """Each defence alone holds: the release state (the re-run's checkout gets the killed run's
    values), and without one the listener and the stack's `images` output."""
    rig.truth = MemoryReleaseState() if with_state else None
    committed = dict(rig.stack.values)
    _kill(rig, where)
    with pytest.raises(Crash):
        rig.release()
    rig.stack.crash_on_up = rig.stack.crash_after_up = None
    rig.stack.during_promote = None
    rig.lines = list(rig.lines)
    killed_at = list(rig.stack.world.sets)
    rig.stack.values = dict(committed)  # "Re-run jobs": a fresh checkout of the stack file

    record = rig.release()

    assert record.outcome is Outcome.PROMOTED, record.cause
    assert rig.stack.world.weights == Weights.all_on(Colour.GREEN)
    assert rig.stack.live is Colour.GREEN and rig.stack.deployed[Colour.GREEN] == IMAGE
    assert rig.stack.values[LIVE_COLOUR] == "green"
    assert rig.stack.values[RELEASE_STEP] == "cleanup"
    if rig.truth is not None:
        assert rig.truth.state is not None
        assert rig.truth.state.values == owned(rig.stack.values)
    assert [r["outcome"] for r in rig.stored()] == ["promoted"]  # one release, resumed
    # green's share never fell on the way: no shift back and forth
    shares = [w.green for _, w in rig.stack.world.sets[len(killed_at) :]]
    assert shares == sorted(shares), shares


def test_a_staged_release_superseded_by_a_hand_release_is_closed_not_resumed(rig: Rig) -> None:
    """At prod's approval gate an operator released another image on green by hand: the
    approved promote job must not pin liveColour to blue and roll its image onto green."""
    staged = rig.release(stage_only=True)
    rig.stack.world.weights = Weights.all_on(Colour.GREEN)  # the hand release's cutover
    rig.stack.live = Colour.GREEN
    rig.stack.deployed[Colour.GREEN] = NEXT_IMAGE
    rig.stack.values.update({LIVE_COLOUR: "green", image_key(Colour.GREEN): NEXT_IMAGE})

    record = rig.release()  # the approved promote job, same image as the staged release

    assert record.id != staged.id and record.source is Colour.GREEN
    assert record.outcome is Outcome.PROMOTED and rig.stack.live is Colour.BLUE
    closed = next(r for r in rig.stored() if r["id"] == staged.id)
    assert closed["outcome"] == "failed" and "superseded" in closed["cause"]
    assert rig.stack.deployed[Colour.BLUE] == IMAGE  # staged on the idle colour, then shifted


def test_the_live_size_counts_its_pods_still_starting(rig: Rig) -> None:
    """Scaling up under load, blue has 3 healthy targets and 2 more `initial`: 5 pods."""
    rig.stack.world.starting[Colour.BLUE] = 2
    seen: list[str] = []
    rig.stack.on_up = lambda step: seen.append(rig.stack.values.get(CANDIDATE_REPLICAS, ""))

    record = rig.release()

    assert record.outcome is Outcome.PROMOTED and seen[0] == "5"


# -- the release scope: a release applies only what a release changes ------------------------


def _plan(rig: Rig, extra: list[Change]) -> Callable[[], list[Change]]:
    """The stack's preview: the workloads move at every up, and ``extra`` comes with them."""

    def planned() -> list[Change]:
        moved = [Change(OpType.UPDATE, "kubernetes:apps/v1:Deployment", "workload-green")]
        return moved + extra

    return planned


ADDON = Change(OpType.UPDATE, "aws:eks/addon:Addon", "cluster-vpc-cni", ("addonVersion",))


def test_a_release_whose_up_would_change_infrastructure_stops_before_anything_moves(
    rig: Rig,
) -> None:
    """An add-on whose default version moved since the last infrastructure `up`, or a VPC
    change merged with the release: the release refuses at stage, names them, and leaves the
    stack as it found it."""
    before = dict(rig.stack.values)
    rig.planned = _plan(rig, [ADDON])
    record = rig.release()

    assert record.outcome is Outcome.STOPPED and EXIT_CODES[record.outcome] == 4
    assert "update aws:eks/addon:Addon cluster-vpc-cni (addonVersion)" in record.cause
    assert "infrastructure `pulumi up` first" in record.cause
    assert rig.stack.ups == 0
    # as it was; candidateReplicas, unset before, reads 0 as its default does
    assert rig.stack.values == {**before, CANDIDATE_REPLICAS: before.get(CANDIDATE_REPLICAS, "0")}
    assert rig.stack.world.weights == Weights.all_on(Colour.BLUE)


def test_a_release_inside_its_scope_is_promoted_as_before(rig: Rig) -> None:
    rig.planned = _plan(rig, [])
    record = rig.release()

    assert record.outcome is Outcome.PROMOTED
    assert rig.stack.world.weights == Weights.all_on(Colour.GREEN)


def test_infrastructure_that_drifts_in_before_promote_stops_it_with_the_colour_put_back(
    rig: Rig,
) -> None:
    drift: list[Change] = []
    rig.planned = _plan(rig, drift)
    real_up = rig.stack.up

    def up_then_drift(on_progress: OnProgress) -> None:
        real_up(on_progress)
        drift.append(ADDON)  # after the stage's up, before the promote's preview

    rig.stack.up = up_then_drift  # type: ignore[method-assign]
    record = rig.release()

    assert record.outcome is Outcome.STOPPED
    assert "cluster-vpc-cni" in record.cause
    assert rig.stack.values[LIVE_COLOUR] == "blue"
    assert rig.stack.world.weights == Weights.all_on(Colour.BLUE)


def test_a_preview_the_policy_pack_fails_stops_the_release_with_its_config_put_back(
    rig: Rig,
) -> None:
    before = dict(rig.stack.values)

    def refused() -> list[Change]:
        raise SwitchyardError(
            "pulumi preview failed: mandatory policy violation: switchyard-baseline/"
            "s3-bucket-tls-only on records-bucket: the bucket policy allows plain HTTP"
        )

    rig.planned = refused
    record = rig.release()

    assert record.outcome is Outcome.STOPPED
    assert "s3-bucket-tls-only on records-bucket" in record.cause
    assert rig.stack.ups == 0
    assert rig.stack.values == {**before, CANDIDATE_REPLICAS: before.get(CANDIDATE_REPLICAS, "0")}


def _in_clean_up(rig: Rig, raised: BaseException) -> None:
    real_up = rig.stack.up

    def up(on_progress: OnProgress) -> None:
        if rig.stack.values.get(RELEASE_STEP) == "cleanup":
            raise raised
        real_up(on_progress)

    rig.stack.up = up  # type: ignore[method-assign]


def test_ctrl_c_during_clean_up_closes_the_release_as_promoted(rig: Rig) -> None:
    _in_clean_up(rig, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt) as interrupted:
        rig.release()

    (stored,) = rig.stored()
    assert stored["outcome"] == "promoted" and stored["promoted_at"]
    assert "clean-up was interrupted" in stored["cause"]
    assert "was promoted" in interrupted.value.__notes__[0]
    assert "before any traffic moved" not in interrupted.value.__notes__[0]
    metrics = compute([ReleaseRecord.from_json(stored)], *_window(stored))
    assert metrics.change_failure_rate == 0.0 and metrics.unrestored == 0


def test_a_release_killed_in_its_clean_up_is_closed_as_promoted_by_the_next(rig: Rig) -> None:
    _in_clean_up(rig, Crash("runner lost in clean-up"))
    with pytest.raises(Crash):
        rig.release()
    del rig.stack.up  # the instance's stand-in: the class's up again

    rig.release(image=NEXT_IMAGE)

    first = next(r for r in rig.stored() if r["image"] == IMAGE)
    assert first["outcome"] == "promoted" and "clean-up was interrupted" in first["cause"]


def test_an_up_that_fails_elsewhere_after_the_shift_is_a_deployment_not_an_incident(
    rig: Rig,
) -> None:
    real_up = rig.stack.up

    def up(on_progress: OnProgress) -> None:
        real_up(on_progress)
        if (
            rig.stack.values[LIVE_COLOUR] == "green"
            and rig.stack.values.get(RELEASE_STEP) != "cleanup"
        ):
            raise UpFailed("aws:cloudwatch:Dashboard dashboard: updating failed: Throttling")

    rig.stack.up = up  # type: ignore[method-assign]
    record = rig.release()

    assert rig.stack.world.weights == Weights.all_on(Colour.GREEN)
    assert record.outcome is Outcome.FAILED and record.promoted_at is not None
    assert record.failed_at is None and "carries all traffic" in record.cause
    metrics = compute([record], *_window(record.as_json()))
    assert metrics.deployment_frequency_per_week > 0
    assert metrics.change_failure_rate == 0.0 and metrics.unrestored == 0


def test_a_split_closed_by_the_next_release_is_timed_from_its_promote(rig: Rig) -> None:
    _die_mid_promote(rig)
    rig.release(image=NEXT_IMAGE)

    closed = next(r for r in rig.stored() if r["image"] == IMAGE)
    promote = next(p for p in closed["phases"] if p["phase"] == "promote")
    assert closed["failed_at"] == promote["started_at"]  # not the closing run's "now"


def _window(stored: dict[str, Any]) -> tuple[datetime, datetime]:
    started = datetime.fromisoformat(stored["started_at"])
    return started - timedelta(days=1), started + timedelta(days=1)


ZAP = Path(__file__).resolve().parents[1] / "fixtures" / "zap"


def test_a_high_dast_finding_stops_the_release_before_any_traffic_moves(rig: Rig) -> None:
    record = rig.release(dast=read_report(ZAP / "report-high.json"))

    assert record.outcome is Outcome.STOPPED and EXIT_CODES[record.outcome] == 4
    assert phases(record) == {
        "baseline": "passed",
        "stage": "passed",
        "smoke": "passed",
        "load": "passed",
        "dast": "failed",
    }
    assert "1 High" in record.cause and "Cross Site Scripting (Reflected) [40012]" in record.cause
    assert record.traffic_moved is False
    assert rig.stack.world.weights == Weights.all_on(Colour.BLUE)
    assert rig.stored()[-1]["phases"][-1]["phase"] == "dast"


def test_medium_dast_findings_are_recorded_and_the_release_is_promoted(rig: Rig) -> None:
    record = rig.release(dast=read_report(ZAP / "report-medium.json"))

    assert record.outcome is Outcome.PROMOTED
    (dast,) = [p for p in record.phases if p.phase is Phase.DAST]
    assert dast.result is Result.PASSED and "1 Medium finding(s) reported" in dast.detail
    assert list(phases(record)).index("dast") == list(phases(record)).index("promote") - 1
