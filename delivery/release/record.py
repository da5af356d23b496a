"""The release record: one JSON document per release, from which delivery metrics come.

Kept in an S3 bucket in real use (versioned, encrypted, private) and in a local folder in the
rehearsal and tests. A record is saved at every phase, so a crash leaves it unfinished
(``outcome`` None) and the next run for the same stack and image resumes it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from delivery.config.model import Colour
from delivery.cutover.aws import call
from delivery.errors import PortError, SwitchyardError

SCHEMA_VERSION = 1


class Outcome(StrEnum):
    PROMOTED = "promoted"  # exit 0
    ROLLED_BACK = "rolled-back"  # exit 3: traffic moved, an alarm put it back
    STOPPED = "stopped"  # exit 4: stopped before any traffic moved
    ABORTED = "aborted"  # interrupted during promote; the driver restored the old colour
    FAILED = "failed"  # exit 1: anything else


class Phase(StrEnum):
    BASELINE = "baseline"
    STAGE = "stage"
    HOOK = "hook"  # records of earlier versions only: the stage step now runs the Job
    SMOKE = "smoke"
    LOAD = "load"
    DAST = "dast"  # the ZAP scan of the staged colour, when the release is given its report
    PROMOTE = "promote"
    CLEANUP = "cleanup"  # the old colour shrinks, after a promotion only


class Result(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    RESUMED = "resumed"  # passed in an earlier, interrupted run of the same release


CLOCK_SKEW_SECONDS: Final = 60.0  # AWS's clock and a runner's, NTP-synchronised, agree within


class RecordError(SwitchyardError):
    """A record file cannot be read as a release record."""


def now_utc() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _moment(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise RecordError(f"{what} must be an ISO 8601 time, got {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _flag(value: Any, what: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise RecordError(f"{what} must be true, false or null, got {value!r}")


@dataclass
class PhaseResult:
    phase: Phase
    result: Result
    started_at: datetime
    ended_at: datetime
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase.value,
            "result": self.result.value,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "detail": self.detail,
        }


@dataclass
class ReleaseRecord:
    id: str
    stack: str
    image: str
    source: Colour
    target: Colour
    started_at: datetime
    commit: str | None = None
    commit_time: datetime | None = None
    run_url: str | None = None
    phases: list[PhaseResult] = field(default_factory=list)
    outcome: Outcome | None = None  # None: in progress, or interrupted
    cause: str = ""
    ended_at: datetime | None = None
    baseline_ms: float | None = None
    baseline_source: str = "static"
    failed_at: datetime | None = None  # the fault: the alarm seen, or the abort
    restored_at: datetime | None = None  # 100% back on a good colour
    promoted_at: datetime | None = None
    runs: int = 1  # how many driver runs this release took (resumed after a crash: 2+)
    cutover: dict[str, Any] | None = None  # the engine's CutoverReport, when the driver saw it
    error_budget: str = ""  # the prod budget gate's verdict, or the override that passed it
    post_incident: str | None = None  # where the post-incident record of a rollback is kept
    # Whether users' traffic reached the new colour: a deployment in DORA's sense, and a
    # failed one if it then ended other than promoted. None: unknown (a record written before).
    traffic_moved: bool | None = None

    @classmethod
    def begin(cls, stack: str, image: str, source: Colour, started_at: datetime) -> ReleaseRecord:
        stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
        return cls(
            f"{stack}-{stamp}-{secrets.token_hex(3)}",
            stack,
            image,
            source,
            source.other,
            started_at,
        )

    def passed(self, phase: Phase) -> bool:
        return any(
            p.phase is phase and p.result in (Result.PASSED, Result.RESUMED) for p in self.phases
        )

    @property
    def time_to_restore_seconds(self) -> float | None:
        """Failure to restore. The failure's moment is CloudWatch's (the alarm's state change)
        and the restore the runner's: a restore up to CLOCK_SKEW "before" the failure is the
        two clocks apart and counts as 0; further apart, the duration is unknown (None)."""
        if self.failed_at is None or self.restored_at is None:
            return None
        seconds = (self.restored_at - self.failed_at).total_seconds()
        if seconds < -CLOCK_SKEW_SECONDS:
            return None
        return max(0.0, seconds)

    @property
    def lead_time_seconds(self) -> float | None:
        """Commit to promotion; None when unknown, or when the commit time given is after the
        promotion (impossible: a wrong --commit-time or time zone, not a lead time)."""
        if self.promoted_at is None or self.commit_time is None:
            return None
        seconds = (self.promoted_at - self.commit_time).total_seconds()
        return seconds if seconds >= 0 else None

    def as_json(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "id": self.id,
            "stack": self.stack,
            "image": self.image,
            "commit": self.commit,
            "commit_time": _iso(self.commit_time),
            "run_url": self.run_url,
            "source": self.source.value,
            "target": self.target.value,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "phases": [p.as_json() for p in self.phases],
            "outcome": None if self.outcome is None else self.outcome.value,
            "cause": self.cause,
            "baseline_ms": self.baseline_ms,
            "baseline_source": self.baseline_source,
            "failed_at": _iso(self.failed_at),
            "restored_at": _iso(self.restored_at),
            "promoted_at": _iso(self.promoted_at),
            "time_to_restore_seconds": self.time_to_restore_seconds,
            "lead_time_seconds": self.lead_time_seconds,
            "runs": self.runs,
            "cutover": self.cutover,
            "error_budget": self.error_budget,
            "post_incident": self.post_incident,
            "traffic_moved": self.traffic_moved,
        }

    @classmethod
    def from_json(cls, data: Any) -> ReleaseRecord:
        if not isinstance(data, dict):
            raise RecordError(f"a record must be a JSON object, got {type(data).__name__}")
        if data.get("version") != SCHEMA_VERSION:
            raise RecordError(
                f"record version {data.get('version')!r} is not {SCHEMA_VERSION}, the version "
                "this driver reads"
            )
        try:
            phases = [
                PhaseResult(
                    Phase(p["phase"]),
                    Result(p["result"]),
                    _moment(p["started_at"], "phases.started_at") or now_utc(),
                    _moment(p["ended_at"], "phases.ended_at") or now_utc(),
                    str(p.get("detail", "")),
                )
                for p in data.get("phases", [])
            ]
            started = _moment(data["started_at"], "started_at")
            outcome = data.get("outcome")
            return cls(
                id=str(data["id"]),
                stack=str(data["stack"]),
                image=str(data["image"]),
                source=Colour(data["source"]),
                target=Colour(data["target"]),
                started_at=started or now_utc(),
                commit=data.get("commit"),
                commit_time=_moment(data.get("commit_time"), "commit_time"),
                run_url=data.get("run_url"),
                phases=phases,
                outcome=None if outcome is None else Outcome(outcome),
                cause=str(data.get("cause", "")),
                ended_at=_moment(data.get("ended_at"), "ended_at"),
                baseline_ms=data.get("baseline_ms"),
                baseline_source=str(data.get("baseline_source", "static")),
                failed_at=_moment(data.get("failed_at"), "failed_at"),
                restored_at=_moment(data.get("restored_at"), "restored_at"),
                promoted_at=_moment(data.get("promoted_at"), "promoted_at"),
                runs=int(data.get("runs", 1)),
                cutover=data.get("cutover"),
                error_budget=str(data.get("error_budget", "")),
                post_incident=data.get("post_incident"),
                traffic_moved=_flag(data.get("traffic_moved"), "traffic_moved"),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise RecordError(f"not a release record: {type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class Unreadable:
    """A stored document that is not a release record; reported, never silently dropped."""

    where: str
    reason: str


@dataclass(frozen=True)
class Loaded:
    records: list[ReleaseRecord]
    unreadable: list[Unreadable]


class RecordStore(Protocol):
    def save(self, record: ReleaseRecord) -> None: ...

    def load(self) -> Loaded: ...

    def save_post_incident(self, record: ReleaseRecord, markdown: str) -> str:
        """Keep a release's post-incident record beside the records; return where it is."""
        ...

    def load_post_incident(self, stack: str, release_id: str) -> str | None: ...


def parse(text: str | bytes, where: str) -> ReleaseRecord:
    try:
        return ReleaseRecord.from_json(json.loads(text))
    except json.JSONDecodeError as exc:
        raise RecordError(f"{where} is not JSON: {exc}") from exc
    except RecordError as exc:
        raise RecordError(f"{where}: {exc}") from exc


def _sorted(found: Iterator[tuple[str, bytes]]) -> Loaded:
    records, bad = [], []
    for where, body in found:
        try:
            records.append(parse(body, where))
        except RecordError as exc:
            bad.append(Unreadable(where, str(exc)))
    records.sort(key=lambda r: r.started_at)
    return Loaded(records, bad)


def record_name(record: ReleaseRecord) -> str:
    return f"{record.stack}/{record.id}.json"


INCIDENTS = "incidents"  # beside the records' folder or prefix, so no listing of records meets it


def post_incident_name(stack: str, release_id: str) -> str:
    return f"{INCIDENTS}/{stack}/{release_id}.md"


class LocalRecords:
    """Records as files under a folder: ``<folder>/<stack>/<id>.json``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(self, record: ReleaseRecord) -> None:
        path = self.folder / record_name(record)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(record.as_json(), indent=2) + "\n")
        partial.replace(path)  # a reader never sees half a record

    def load(self) -> Loaded:
        if not self.folder.is_dir():
            return Loaded([], [])
        return _sorted((str(p), p.read_bytes()) for p in sorted(self.folder.glob("*/*.json")))

    def save_post_incident(self, record: ReleaseRecord, markdown: str) -> str:
        path = self.folder / post_incident_name(record.stack, record.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".md.partial")
        partial.write_text(markdown)
        partial.replace(path)
        return str(path)

    def load_post_incident(self, stack: str, release_id: str) -> str | None:
        path = self.folder / post_incident_name(stack, release_id)
        return path.read_text() if path.is_file() else None


class S3Records:
    """Records as objects under ``s3://<bucket>/<prefix>/<stack>/<id>.json``."""

    def __init__(self, s3: Any, bucket: str, prefix: str = "releases") -> None:
        self._s3 = s3
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def save(self, record: ReleaseRecord) -> None:
        call(
            self._s3.put_object,
            Bucket=self.bucket,
            Key=f"{self.prefix}/{record_name(record)}",
            Body=json.dumps(record.as_json(), indent=2).encode(),
            ContentType="application/json",
        )

    def load(self) -> Loaded:
        def objects() -> Iterator[tuple[str, bytes]]:
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=f"{self.prefix}/"
            )
            try:
                for page in pages:
                    for item in page.get("Contents", []):
                        found = call(self._s3.get_object, Bucket=self.bucket, Key=item["Key"])
                        yield f"s3://{self.bucket}/{item['Key']}", found["Body"].read()
            except ClientError as exc:
                raise PortError(
                    f"cannot list s3://{self.bucket}/{self.prefix}/: {exc}; check the bucket "
                    "name (the stack's releaseRecordsBucket output) and s3:ListBucket"
                ) from exc
            except NoCredentialsError as exc:
                raise PortError(
                    f"reading s3://{self.bucket}/ needs AWS credentials and none were found; "
                    "set AWS_PROFILE or assume a role that may read the bucket, or read a "
                    "copy with --records DIR"
                ) from exc
            except BotoCoreError as exc:
                raise PortError(f"cannot reach s3://{self.bucket}/: {exc}") from exc

        return _sorted(objects())

    def _incident_key(self, stack: str, release_id: str) -> str:
        # A sibling of the records' prefix: listing releases/ never meets a Markdown file.
        return post_incident_name(stack, release_id)

    def save_post_incident(self, record: ReleaseRecord, markdown: str) -> str:
        key = self._incident_key(record.stack, record.id)
        call(
            self._s3.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=markdown.encode(),
            ContentType="text/markdown; charset=utf-8",
        )
        return f"s3://{self.bucket}/{key}"

    def load_post_incident(self, stack: str, release_id: str) -> str | None:
        try:
            found = call(
                self._s3.get_object, Bucket=self.bucket, Key=self._incident_key(stack, release_id)
            )
        except PortError as exc:
            if "NoSuchKey" in str(exc):
                return None
            raise
        body: bytes = found["Body"].read()
        return body.decode()


def unfinished(records: Sequence[ReleaseRecord], stack: str) -> ReleaseRecord | None:
    """The stack's latest release when it never reached an outcome (its run was killed)."""
    # A run refused before it began (no phase on record) never hides the release it refused
    # for: that release's re-run must still find and resume it.
    mine = [r for r in records if r.stack == stack and not _refused(r)]
    return mine[-1] if mine and mine[-1].outcome is None else None


def _refused(record: ReleaseRecord) -> bool:
    return record.outcome is Outcome.FAILED and not record.phases
