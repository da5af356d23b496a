"""The release commands of ``python -m delivery``: release, status, report (and their wiring
to AWS and the Automation API). Imported lazily: only these commands need boto3's S3/SNS and
pulumi.automation."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from delivery.config.model import Colour, Settings, Tier
from delivery.config.stackfile import PROJECT_ROOT, load_stack
from delivery.config.workloads import image_problem
from delivery.cutover.aws import (
    AwsClients,
    CloudWatchAlarms,
    ElbListener,
    SsmRollbackRecords,
    TargetGroupHealth,
)
from delivery.cutover.aws import make_clients as make_cutover_clients
from delivery.cutover.clock import SystemClock
from delivery.cutover.records import rollback_record_path
from delivery.errors import BadRequest, Exit, SwitchyardError
from delivery.release.automation import AutomationStack, StackUnavailable
from delivery.release.baseline import CloudWatchBaseline
from delivery.release.budget import (
    CloudWatchErrorBudget,
    load_balancer_suffix,
    target_group_suffix,
)
from delivery.release.dast import RULES_FILE, DastReport, ZapRules, merged, read_report
from delivery.release.incident import (
    CloudWatchAlarmMetrics,
    needs_post_incident,
    page_description,
    post_incident,
)
from delivery.release.keys import CANDIDATE_REPLICAS
from delivery.release.lock import Identity, LockedStack, StackLock, holding
from delivery.release.metrics import compute, in_window, write_chart
from delivery.release.notify import SnsNotifier
from delivery.release.orchestrate import EXIT_CODES, NO_RELEASE, Ports, Release, Request
from delivery.release.preview import planned_changes
from delivery.release.record import (
    LocalRecords,
    RecordStore,
    ReleaseRecord,
    S3Records,
    now_utc,
)
from delivery.release.scope import ScopedStack
from delivery.release.status import WatchedStack, status_lines, watch
from delivery.release.truth import SsmReleaseState, TruthfulStack, compare, push


def check_image(image: str, settings: Settings) -> str:
    """The image as the stack's ``<colour>Image`` key would accept it (the same rule)."""
    problem = image_problem(image, settings.environment)
    if problem:
        raise BadRequest(f"--image {problem} (app-image.yml outputs the digest)")
    return image


REQUIRED_OUTPUTS = (
    "productionListenerArn",
    "loadBalancerArn",
    "targetGroupArns",
    "alertTopicArns",
    "alarmNames",
)


CLOCK_SKEW = timedelta(minutes=5)  # a runner's clock may run a little behind the committer's


def commit_time(
    commit: str | None, given: str | None = None, repo: Path = PROJECT_ROOT
) -> datetime | None:
    """The commit's time: as given, else its committer time from git, else None."""
    if commit and not re.fullmatch(r"[0-9a-fA-F]{4,40}", commit, re.ASCII):
        raise BadRequest(f"--commit must be a git commit SHA, got {commit!r}")
    if given:
        try:
            moment = datetime.fromisoformat(given)
        except ValueError as exc:
            raise BadRequest(
                f"--commit-time must be an ISO 8601 time such as 2026-11-02T09:00:00Z, "
                f"got {given!r}"
            ) from exc
        if moment.tzinfo is None:
            # Read as UTC, a committer's local time would shift the lead time by hours.
            raise BadRequest(
                f"--commit-time {given} has no time zone; give the commit's own time with its "
                "offset, as `git show -s --format=%cI <sha>` prints it (e.g. "
                "2026-11-02T10:00:00+01:00, or ...Z for UTC)"
            )
        if moment > datetime.now(UTC) + CLOCK_SKEW:
            raise BadRequest(
                f"--commit-time {given} is in the future; pass the commit's own time (git show "
                "-s --format=%cI <sha>), with its time zone"
            )
        return moment
    if not commit:
        return None
    try:
        shown = subprocess.run(
            ["git", "-C", str(repo), "show", "-s", "--format=%cI", commit],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return datetime.fromisoformat(shown.stdout.strip())


def ci_run_url() -> str | None:
    server, repo, run = (
        os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


@dataclass(frozen=True)
class Aws:
    """The driver's AWS access in real use (credentials from the environment: OIDC in CI)."""

    cutover: AwsClients
    s3: Any
    sns: Any

    @classmethod
    def connect(cls, region: str) -> Aws:
        session = boto3.session.Session(region_name=region)
        return cls(make_cutover_clients(region), session.client("s3"), session.client("sns"))


def _outputs(stack: AutomationStack) -> dict[str, Any]:
    outputs = stack.outputs()
    missing = [k for k in REQUIRED_OUTPUTS if k not in outputs]
    if missing:
        raise StackUnavailable(
            f"stack {stack.name} exports no {', '.join(missing)}: it has not been deployed. "
            "Run the first `pulumi up` by hand (README, real use); releases come after"
        )
    return outputs


def _records(args: argparse.Namespace, outputs: dict[str, Any], aws: Aws | None) -> RecordStore:
    if args.records:
        return LocalRecords(args.records)
    bucket = getattr(args, "bucket", None) or outputs.get("releaseRecordsBucket")
    if not bucket or aws is None:
        raise SwitchyardError(
            "no release records: pass --records DIR, or --bucket NAME (the stack's "
            "releaseRecordsBucket output)"
        )
    return S3Records(aws.s3, str(bucket))


def _lock_bucket(args: argparse.Namespace, outputs: dict[str, Any]) -> str:
    """The lock lives in the records bucket even when the records are kept in a folder: it must
    be where every driver of the stack (CI, a laptop) looks."""
    bucket = getattr(args, "bucket", None) or outputs.get("releaseRecordsBucket")
    if not bucket:
        raise StackUnavailable(
            "the stack exports no releaseRecordsBucket, which holds the release lock: run "
            "`pulumi up` once by hand (README, real use)"
        )
    return str(bucket)


def release_holding(
    lock: StackLock,
    settings: Settings,
    ports: Ports,
    request: Request,
    break_lock: str | None = None,
    truth: TruthfulStack | None = None,
) -> ReleaseRecord:
    """The release while holding the stack's lock: a second driver on the stack is refused
    (LockHeld, naming this one) before it reads or changes anything. Holding it, the release
    state goes into the stack file first: the checkout may be older than the last release."""
    with holding(lock, ports.say, break_lock):
        if truth is not None:
            truth.pull()
        return Release(settings, ports).run(request)


def _groups(outputs: dict[str, Any]) -> dict[Colour, str]:
    return {Colour(k): str(v) for k, v in outputs["targetGroupArns"].items()}


def _no_lead_time(commit: str | None) -> str:
    because = (
        f"commit {commit} is not in this checkout and no --commit-time was given"
        if commit
        else "no --commit was given"
    )
    return (
        f"this release gets no lead time: {because}; pass --commit and --commit-time (the "
        "application's commit and `git show -s --format=%cI <sha>`, app-image's outputs)"
    )


def release(settings: Settings, args: argparse.Namespace) -> int:
    if not args.rehearse and (args.scenario is not None or args.speed is not None):
        raise BadRequest(
            "--scenario and --speed only apply with --rehearse: add --rehearse to rehearse "
            "against the emulator, or drop them for a real release; nothing was started"
        )
    request = Request(
        image=check_image(args.image, settings),
        commit=args.commit,
        commit_time=commit_time(args.commit, args.commit_time),
        run_url=ci_run_url(),
        test_url=args.test_url,
        stage_only=args.stage_only,
        override_error_budget=args.override_error_budget,
        dast=_dast(args.dast_report),
    )
    if request.commit_time is None:
        print(f"warning: {_no_lead_time(args.commit)}", file=sys.stderr)
    record = _rehearse(settings, args, request) if args.rehearse else _real(settings, args, request)
    code = _summarise(record, args.json)
    if args.rehearse and record.post_incident:
        print(f"\n{Path(record.post_incident).read_text()}", end="")
    return code


def _dast(reports: list[Path] | None) -> DastReport | None:
    """The scans' reports as one verdict, with the repository's ZAP rules file applied."""
    if not reports:
        return None
    rules = ZapRules.read(RULES_FILE)
    return merged([read_report(path, rules) for path in reports])


def _rehearse(settings: Settings, args: argparse.Namespace, request: Request) -> ReleaseRecord:
    from delivery.rehearsal.capacity import print_capacity
    from delivery.rehearsal.release import parse_release_scenario, rehearse_release

    scenario = parse_release_scenario(args.scenario or "clean", settings)
    records = args.records or Path("out/releases")
    record = rehearse_release(settings, scenario, request, records, print, args.speed)
    print_capacity(settings, print)
    return record


def _real(settings: Settings, args: argparse.Namespace, request: Request) -> ReleaseRecord:
    stack = AutomationStack.select(settings.stack)
    outputs = _outputs(stack)
    aws = Aws.connect(settings.region)
    groups = _groups(outputs)
    listener = ElbListener(aws.cutover.elbv2, outputs["productionListenerArn"], groups)
    clock = SystemClock()
    identity = Identity.here()
    lock = StackLock(aws.s3, _lock_bucket(args, outputs), settings.stack, identity, now_utc)
    truth = TruthfulStack(
        WatchedStack(stack, listener, clock, settings.traffic.poll_seconds, print),
        SsmReleaseState(aws.cutover.ssm, settings.environment.value, settings.stack),
        identity.who,
        now_utc,
    )
    # Every release `up` is previewed first: one that would change more than a release does
    # stops before it runs (delivery.release.scope).
    scoped = ScopedStack(truth, lambda: planned_changes(stack), {CANDIDATE_REPLICAS: NO_RELEASE})
    ports = Ports(
        stack=LockedStack(scoped, lock),
        listener=listener,
        health=TargetGroupHealth(aws.cutover.elbv2, groups),
        records=_records(args, outputs, aws),
        notifier=SnsNotifier(aws.sns, {Tier(k): v for k, v in outputs["alertTopicArns"].items()}),
        clock=clock,
        baseline=CloudWatchBaseline(aws.cutover.cloudwatch, now_utc()),
        budget=CloudWatchErrorBudget(
            aws.cutover.cloudwatch,
            load_balancer_suffix(str(outputs["loadBalancerArn"])),
            # The colour users are on, as the listener says: the checkout's liveColour may be
            # older than the last release (the release state is pulled once the lock is held).
            target_group_suffix(groups[listener.read_weights().settled or settings.live_colour]),
            now_utc,
        ),
        alarm_metrics=CloudWatchAlarmMetrics(aws.cutover.cloudwatch),
        rollbacks=SsmRollbackRecords(
            aws.cutover.ssm, rollback_record_path(settings.environment.value)
        ),
    )
    return release_holding(lock, settings, ports, request, args.break_lock, truth)


def _summarise(record: ReleaseRecord, json_path: Path | None) -> int:
    outcome = record.outcome.value if record.outcome else "validated, not promoted yet"
    print(f"\nrelease {record.id}: {outcome} ({record.source} -> {record.target})")
    for phase in record.phases:
        took = (phase.ended_at - phase.started_at).total_seconds()
        print(f"  {phase.phase:<9} {phase.result:<8} {took:7.1f}s  {phase.detail}")
    if record.cause:
        print(f"cause: {record.cause}")
    if record.time_to_restore_seconds is not None:
        print(f"time to restore: {record.time_to_restore_seconds:.3f}s")
    if record.error_budget:
        print(f"error budget: {record.error_budget}")
    if record.post_incident:
        print(f"post-incident record: {record.post_incident}")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(record.as_json(), indent=2) + "\n")
        print(f"record: {json_path}")
    return EXIT_CODES[record.outcome] if record.outcome else Exit.OK


def release_state(settings: Settings, args: argparse.Namespace) -> int:
    """Show the release state beside the stack file; --pull sets the file from it, --push
    (holding the release lock, so never beside a running release) makes the file's values it."""
    stack = AutomationStack.select(settings.stack)
    aws = Aws.connect(settings.region)
    store = SsmReleaseState(aws.cutover.ssm, settings.environment.value, settings.stack)
    identity = Identity.here()
    if args.pull:
        TruthfulStack(stack, store, identity.who, now_utc).pull()
    elif args.push:
        bucket = _lock_bucket(args, _outputs(stack))
        lock = StackLock(aws.s3, bucket, settings.stack, identity, now_utc)
        with holding(lock, print, None):
            push(stack, store, identity.who, now_utc, print)
    for line in compare(stack, store):
        print(line)
    return 0


def status(settings: Settings, args: argparse.Namespace) -> int:
    stack = AutomationStack.select(settings.stack)
    outputs = _outputs(stack)
    aws = Aws.connect(settings.region)
    listener = ElbListener(aws.cutover.elbv2, outputs["productionListenerArn"], _groups(outputs))
    for line in status_lines(
        settings.stack,
        stack,
        listener,
        CloudWatchAlarms(aws.cutover.cloudwatch),
        _records(args, outputs, aws),
    ):
        print(line)
    if args.watch:
        watch(listener, SystemClock(), print, settings.traffic.poll_seconds)
    return 0


def parse_since(text: str) -> timedelta:
    found = re.fullmatch(r"(\d+)([dhw])", text.strip())
    if not found or int(found[1]) == 0:
        raise BadRequest(f"--since must look like 30d, 12h or 4w, got {text!r}")
    unit = {"d": "days", "h": "hours", "w": "weeks"}[found[2]]
    return timedelta(**{unit: int(found[1])})


def report(args: argparse.Namespace) -> int:
    until = now_utc()
    since = until - parse_since(args.since)
    if not (args.records or args.bucket):
        raise BadRequest("report needs --records DIR or --bucket NAME")
    store = _store(args)
    loaded = store.load()
    for bad in loaded.unreadable:
        print(f"warning: skipped {bad.where}: {bad.reason}", file=sys.stderr)
    records = [r for r in loaded.records if args.stack is None or r.stack == args.stack]
    for warning in left_out(loaded.records, records, args, since, until):
        print(f"warning: {warning}", file=sys.stderr)
    metrics = compute(records, since, until)
    for line in metrics.lines():
        print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        body = {**metrics.as_json(), "skipped": [b.where for b in loaded.unreadable]}
        args.json.write_text(json.dumps(body, indent=2) + "\n")
        print(f"metrics: {args.json}")
    if args.chart:
        empty = write_chart(args.chart, records, metrics)
        print(f"chart: {args.chart}" + (f" (no data: {'; '.join(empty)})" if empty else ""))
    return 0


def left_out(
    everything: list[ReleaseRecord],
    chosen: list[ReleaseRecord],
    args: argparse.Namespace,
    since: datetime,
    until: datetime,
) -> list[str]:
    """What the report does not count, said rather than shown as zeroes: no records at all (a
    wrong folder or bucket), none of the stack asked for (a misspelled one), other stacks',
    unfinished releases, and those outside the window."""
    where = str(args.records) if args.records else f"s3://{args.bucket}"
    if not everything:
        return [f"no release records in {where}: check the folder or bucket name"]
    stacks = sorted({r.stack for r in everything})
    if not chosen:
        return [f"no releases of stack {args.stack!r} in {where}; its records name {stacks}"]
    said = []
    if args.stack is None and len(stacks) > 1:
        # DORA's metrics are production's: a busy staging would drown prod's failures.
        said.append(
            f"counted the releases of {len(stacks)} stacks together ({', '.join(stacks)}); "
            "pass --stack <name> (production's: --stack prod) for one stack's metrics"
        )
    others = len(everything) - len(chosen)
    if others:
        other_stacks = ", ".join(s for s in stacks if s != args.stack)
        said.append(f"left out {others} release(s) of other stacks ({other_stacks})")
    unfinished = sum(1 for r in chosen if r.outcome is None)
    if unfinished:
        said.append(f"left out {unfinished} unfinished release(s): running, or interrupted")
    finished = sum(1 for r in chosen if r.outcome is not None)
    outside = finished - len(in_window(chosen, since, until))
    if outside:
        said.append(f"left out {outside} release(s) that ended outside the window")
    return said


def _store(args: argparse.Namespace) -> RecordStore:
    if args.records:
        return LocalRecords(args.records)
    return S3Records(boto3.session.Session().client("s3"), args.bucket)


# ReleaseRecord.begin's ids; anything else (a path, say) never reaches the store.
_RELEASE_ID = re.compile(r"(?P<stack>[A-Za-z0-9_.-]+?)-\d{8}T\d{6}Z-[0-9a-f]{6}\Z", re.ASCII)


def incident(args: argparse.Namespace) -> int:
    """Print a release's post-incident record; one kept before this driver had them (or whose
    store failed) is rendered from its release record, without the alarm's metric."""
    found_id = _RELEASE_ID.match(str(args.release_id))
    if not found_id:
        raise BadRequest(
            "RELEASE_ID must be a release's id as the records and the rollback notice give it, "
            f"<stack>-<yyyymmddThhmmssZ>-<6 hex>, got {args.release_id!r}"
        )
    store = _store(args)
    stack = found_id["stack"]
    markdown = store.load_post_incident(stack, args.release_id)
    if markdown is None:
        found = [r for r in store.load().records if r.id == args.release_id]
        if not found:
            raise BadRequest(
                f"no release {args.release_id!r} in the records; `python -m delivery status "
                "--stack <stack>` lists the last releases"
            )
        record = found[0]
        if not needs_post_incident(record):
            outcome = record.outcome.value if record.outcome else "unfinished"
            raise BadRequest(
                f"release {record.id} {outcome}: only a rollback, a failed rollback or an "
                "aborted promote has a post-incident record"
            )
        page = page_description(load_stack(record.stack), Tier.CRITICAL)
        markdown = post_incident(record, page, None, now_utc()).markdown()
    print(markdown, end="")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown)
    return 0
