"""The durable record of a rollback, and the rule that keeps a rolled-back release out.

A rollback is recorded in SSM Parameter Store, one parameter per colour
(``<path>/<colour>``), outside anything Pulumi manages, so no later ``pulumi up`` can erase it.
A shift to a colour whose current release is recorded as rolled back is refused until the
config goes back, a new release reaches that colour, or someone retries on purpose by setting
the cutover's ``retry_rollback`` input to the record's id (each rollback has its own id, so a
retry that rolls back again is refused again).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from delivery.config.model import PROJECT, Colour
from delivery.cutover.events import CutoverReport

# A standard SSM parameter holds at most 4,096 characters; kept in UTF-8 bytes, which also
# holds if AWS counts bytes.
VALUE_LIMIT: Final = 4096
CUT: Final = " [cut]"
NO_RELEASE: Final = "(no release identity)"


@dataclass(frozen=True)
class RollbackRecord:
    id: str  # "<colour>@<UTC time, ms>": what retry_rollback names to retry on purpose
    colour: Colour
    release: str
    at: str  # UTC, ISO 8601 to the millisecond (whole seconds in records written before)
    stack: str
    step: int | None
    cause: str
    # The release's failure and restore on the wall clock, for its time to restore: when the
    # cutover first saw trouble, and when the listener carried 100% on the old colour again
    # (None: not restored, a failed rollback). Records written before have neither.
    failed_at: str | None = None
    restored_at: str | None = None

    @classmethod
    def of(
        cls,
        report: CutoverReport,
        release: str,
        stack: str,
        when: datetime | None = None,
        failed: datetime | None = None,
        restored: datetime | None = None,
    ) -> RollbackRecord:
        # Milliseconds: two rollbacks within one second must not share an id (a retry of the
        # first would let the second through). Records written before keep whole seconds.
        at = _stamp(when or datetime.now(UTC))
        record = cls(
            id=f"{report.target}@{at}",
            colour=report.target,
            release=release,
            at=at,
            stack=stack,
            step=report.step,
            cause=report.cause,
            failed_at=None if failed is None else _stamp(failed),
            restored_at=None if restored is None else _stamp(restored),
        )
        return record._fitted()

    def moments(self) -> tuple[datetime | None, datetime | None]:
        """``failed_at`` and ``restored_at`` as times (None where absent or unreadable)."""
        return _moment(self.failed_at), _moment(self.restored_at)

    def _fitted(self) -> RollbackRecord:
        """This record, its cause cut (and marked) to the longest start whose JSON fits one
        SSM parameter: characters differ in size once encoded and escaped."""
        if self._fits(self.cause):
            return self
        kept = bisect.bisect_left(
            range(len(self.cause) + 1), True, key=lambda n: not self._fits(self.cause[:n] + CUT)
        )
        return replace(self, cause=self.cause[: max(0, kept - 1)] + CUT)

    def _fits(self, cause: str) -> bool:
        return len(replace(self, cause=cause).to_json().encode()) <= VALUE_LIMIT

    def to_json(self) -> str:
        data = {**asdict(self), "colour": self.colour.value}
        return json.dumps(data, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> RollbackRecord:
        """The record ``to_json`` wrote; ValueError, KeyError or TypeError for anything else
        (JSON nested too deeply to decode, or a step too large for a number, is a ValueError)."""
        try:
            return cls._from_data(json.loads(text))
        except (RecursionError, OverflowError) as exc:
            # Not chained: a RecursionError's traceback would read as a crash, not a refusal.
            raise ValueError(f"not a record Switchyard writes: {exc}") from None

    @classmethod
    def _from_data(cls, data: Any) -> RollbackRecord:
        if not isinstance(data, Mapping):
            raise TypeError(f"a rollback record is a JSON object, not {type(data).__name__}")
        step = data.get("step")
        return cls(
            id=str(data["id"]),
            colour=Colour(data["colour"]),
            release=str(data["release"]),
            at=str(data["at"]),
            stack=str(data["stack"]),
            step=None if step is None else int(step),
            cause=str(data["cause"]),
            failed_at=_optional_text(data.get("failed_at")),
            restored_at=_optional_text(data.get("restored_at")),
        )

    def blocks(self, release: str, retry: str) -> bool:
        """Whether this record refuses a shift of ``release`` to its colour."""
        return self.release == release and retry != self.id

    def refused(self, parameter: str) -> str:
        """Why a shift to this record's colour is refused: the rollback, when, its cause."""
        release = self.release or NO_RELEASE
        where = f" at step {self.step}%" if self.step is not None else ""
        return (
            f"{self.colour}'s release {release!r} was rolled back at {self.at}{where} "
            f"({self.cause}); Switchyard will not shift to it again (record {parameter})"
        )

    def ways_out(self, source: Colour) -> str:
        return (
            f"Ways out: set liveColour back to {source}; or deploy a new release to "
            f"{self.colour} (a new {self.colour}Image); or retry this release on purpose: "
            f"pulumi config set switchyard:retryRollback '{self.id}', then pulumi up"
        )


def rollback_record_path(environment: str) -> str:
    """The SSM path of an environment's rollback records (the cutover's ``record_path``)."""
    return f"/{PROJECT}/{environment}/cutover"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
