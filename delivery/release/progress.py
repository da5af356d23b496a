"""The one place the driver reads the cutover engine's events.

The engine's ``Event`` travels to the driver in-process (rehearsal) or is reconstructed from the
listener's weights (a real ``pulumi up`` runs the engine inside the Pulumi engine's process).
Everything the driver needs from an event goes through these functions, so a change in the
engine's event type is a change here only.
"""

from __future__ import annotations

from collections.abc import Callable

from delivery.config.model import Colour
from delivery.cutover.events import Event, EventKind
from delivery.plans.schedule import Weights

Progress = Event
OnProgress = Callable[[Progress], None]

_QUIET = frozenset({EventKind.POLL})


def seen_weights(at: float, weights: Weights) -> Progress:
    """A weight change seen on the listener from outside the engine (the watch)."""
    return Event(at, EventKind.STEP_SET, weights, None, "seen by the listener watch")


def moved_traffic_to(event: Progress, target: Colour) -> bool:
    """The listener carried some of ``target``'s traffic at this event."""
    return event.kind is EventKind.STEP_SET and event.weights.of(target) > 0


def is_rollback(event: Progress) -> bool:
    return event.kind in (EventKind.ROLLED_BACK, EventKind.ROLLBACK_FAILED)


def is_alarm(event: Progress) -> bool:
    return event.kind is EventKind.ALARM


def describe(event: Progress) -> str | None:
    """One line per step and bake; None for the events not worth a line (each poll)."""
    if event.kind in _QUIET:
        return None
    step = f" step {event.step}%" if event.step is not None else ""
    detail = f": {event.detail}" if event.detail else ""
    return f"[{event.at:8.1f}s] {event.kind}{step} ({event.weights}){detail}"
