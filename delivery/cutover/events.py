"""What the cutover engine tells its observers, and the one report of a cutover.

Observers (the rehearsal's progress, the release driver's ``on_event``) receive each ``Event``
as it happens. When an operation ends, however it ends, the engine builds one
``CutoverReport``: the CLI, the rehearsal, the benchmark, the SNS message and the dynamic
provider's outputs all read that same object (``as_dict``/``from_dict`` for JSON and outputs).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from delivery.config.model import Colour
from delivery.cutover.ports import AlarmValue
from delivery.plans.schedule import Weights


class EventKind(StrEnum):
    """Everything the engine does or sees, one member each."""

    GATES_PASSED = "gates-passed"  # health and alarm gates passed before any traffic moved
    STEP_SET = "weights-set"  # a step's listener write (the new colour's weight rises)
    ROLLBACK_SET = "rollback-set"  # the rollback's listener write (100% back on the old colour)
    CORRECTED = "corrected"  # create found the pulumi-aws #5772 99/1 artefact and set 100/0
    POLL = "poll"  # one alarm check during a bake (not kept in the report, only counted)
    BAKE_PASSED = "bake-passed"
    ALARM = "alarm"  # a poll found a gating alarm that says stop
    ROLLED_BACK = "rolled-back"
    ROLLBACK_RETRYING = "rollback-retrying"  # a rollback call failed; retrying (alert now)
    ROLLBACK_FAILED = "rollback-failed"
    REFUSED = "refused"  # a gate failed before anything moved
    DRIFT = "drift"  # the listener carries weights this run did not set
    PROMOTED = "promoted"
    UNCHANGED = "unchanged"  # the live colour already carries 100%; nothing to do

    @property
    def sets_weights(self) -> bool:
        """Whether this event is a listener write (a step, a rollback or the 99/1 correction)."""
        return self in (EventKind.STEP_SET, EventKind.ROLLBACK_SET, EventKind.CORRECTED)


class Outcome(StrEnum):
    """How a cutover operation ended."""

    ESTABLISHED = "established"  # create: the live colour carries 100%
    UNCHANGED = "unchanged"  # update: the live colour already carried 100%
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled-back"
    ROLLBACK_FAILED = "rollback-failed"
    REFUSED = "refused"
    DRIFT = "drift"


OUTCOME_LINE: Final = "switchyard-outcome: "  # ends every error the dynamic provider raises
_OUTCOME_LINE = re.compile("^" + re.escape(OUTCOME_LINE) + r"([a-z-]+)$", re.MULTILINE)


def outcome_line(outcome: Outcome) -> str:
    """The line the provider adds to its errors, so that a reader out of the engine's sight
    (the release driver, given only Pulumi's text) classifies it without reading prose."""
    return f"{OUTCOME_LINE}{outcome.value}"


def outcome_in(text: str) -> Outcome | None:
    """The outcome named by the last outcome line in ``text``, if any."""
    found = [m for m in _OUTCOME_LINE.findall(text) if m in Outcome._value2member_map_]
    return Outcome(found[-1]) if found else None


@dataclass(frozen=True)
class Event:
    """One thing the engine did or saw, at engine-clock time ``at`` (seconds)."""

    at: float
    kind: EventKind
    weights: Weights
    step: int | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": round(self.at, 3),
            "kind": self.kind.value,
            "weights": self.weights.as_dict(),
            "step": self.step,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        step = data.get("step")
        return cls(
            at=float(data["at"]),
            kind=EventKind(data["kind"]),
            weights=_weights(data["weights"]),
            step=None if step is None else int(step),
            detail=str(data.get("detail", "")),
        )


Observer = Callable[[Event], None]


@dataclass(frozen=True)
class Verdict:
    """A gating alarm that says stop: in ALARM, without data (when that rolls back), or missing."""

    alarm: str
    state: AlarmValue | None  # None: no such alarm
    reason: str
    since: datetime | None = None  # when the alarm entered its state: the failure's start

    def __str__(self) -> str:
        state = self.state.value if self.state else "missing"
        because = f" ({self.reason})" if self.reason else ""
        return f"alarm {self.alarm!r} is {state}{because}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "alarm": self.alarm,
            "state": self.state.value if self.state else None,
            "reason": self.reason,
            "since": None if self.since is None else self.since.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        state, since = data.get("state"), data.get("since")
        return cls(
            str(data["alarm"]),
            AlarmValue(state) if state else None,
            str(data["reason"]),
            datetime.fromisoformat(str(since)) if since else None,
        )


@dataclass(frozen=True)
class CutoverReport:
    """One cutover operation from start to end: what moved, what was seen, how it ended.

    ``source`` carried 100% when the run started (the colour last promoted); ``target`` is the
    colour the run was to make live (equal to ``source`` when it only held the live colour).
    ``weights`` are the weights in force at the end (None: unknown, the rollback failed and the
    listener could not be read). ``step`` is the step the run stopped at, or the last one
    baked. ``cause`` says why it stopped ("" when it did not). ``reaction_seconds`` runs on the
    engine's clock from the first sign of trouble (the poll that saw the alarm, or the start of
    the alarm read that failed: the blind time) to the listener carrying 100% on ``source``.
    """

    source: Colour
    target: Colour
    outcome: Outcome
    weights: Weights | None
    events: tuple[Event, ...]
    polls: int = 0
    step: int | None = None
    cause: str = ""
    alarm: Verdict | None = None
    reaction_seconds: float | None = None

    @property
    def live(self) -> Colour | None:
        """The colour carrying 100% at the end, if one does."""
        return None if self.weights is None else self.weights.settled

    @property
    def steps(self) -> tuple[int, ...]:
        """The step weights this run set on the listener, in order."""
        return tuple(
            e.step for e in self.events if e.kind is EventKind.STEP_SET and e.step is not None
        )

    @property
    def rolled_back(self) -> bool:
        return self.outcome in (Outcome.ROLLED_BACK, Outcome.ROLLBACK_FAILED)

    def summary(self) -> str:
        """One paragraph for people: what happened and what is in force now."""
        now = str(self.weights) if self.weights else "unknown"
        where = f" at step {self.step}%" if self.step is not None else ""
        if self.outcome is Outcome.PROMOTED:
            return f"{self.target} is live: {now} after {len(self.steps)} step(s)."
        if self.outcome in (Outcome.ESTABLISHED, Outcome.UNCHANGED):
            return f"{self.source} carries all traffic ({now}); nothing moved."
        reaction = (
            f" Reaction {self.reaction_seconds * 1000:.0f} ms."
            if self.reaction_seconds is not None
            else ""
        )
        return (
            f"{self.source} -> {self.target} {self.outcome.value}{where}: {self.cause}. "
            f"Weights in force: {now}.{reaction}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "target": self.target.value,
            "outcome": self.outcome.value,
            "weights": self.weights.as_dict() if self.weights else None,
            "steps": list(self.steps),
            "polls": self.polls,
            "step": self.step,
            "cause": self.cause,
            "alarm": self.alarm.as_dict() if self.alarm else None,
            "reaction_ms": None
            if self.reaction_seconds is None
            else round(self.reaction_seconds * 1000, 1),
            "events": [e.as_dict() for e in self.events],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CutoverReport:
        """The report back from ``as_dict`` (a stack output, a JSON file, an SNS message)."""
        weights, step, alarm = data.get("weights"), data.get("step"), data.get("alarm")
        reaction = data.get("reaction_ms")
        return cls(
            source=Colour(data["source"]),
            target=Colour(data["target"]),
            outcome=Outcome(data["outcome"]),
            weights=_weights(weights) if weights else None,
            events=tuple(Event.from_dict(e) for e in data.get("events", [])),
            polls=int(data.get("polls", 0)),
            step=None if step is None else int(step),
            cause=str(data.get("cause", "")),
            alarm=Verdict.from_dict(alarm) if alarm else None,
            reaction_seconds=None if reaction is None else float(reaction) / 1000,
        )


def _weights(data: Mapping[str, Any]) -> Weights:
    """Weights from their dict form; Pulumi carries numbers as floats."""
    return Weights(blue=int(data["blue"]), green=int(data["green"]))
