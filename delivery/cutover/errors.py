"""What a cutover operation raises when it ends short of its goal.

Each error carries the operation's ``CutoverReport``; they share ``SwitchyardError`` with every
other deliberate failure (``delivery.errors``).
"""

from __future__ import annotations

from delivery.cutover.events import CutoverReport
from delivery.errors import SwitchyardError


class CutoverStopped(SwitchyardError):
    """A cutover operation ended short of its goal. ``report`` (set by the engine) is the
    ``CutoverReport`` of the run: steps, events, outcome, cause, reaction."""

    report: CutoverReport | None = None


class ShiftRefused(CutoverStopped):
    """A gate failed before any traffic moved; the live colour still carries 100%."""


class ReleaseRolledBack(ShiftRefused):
    """The target colour's release was rolled back before; it stays refused until the config
    goes back, a new release reaches that colour, or someone retries it on purpose."""


class UnusableRecord(ShiftRefused):
    """The target colour's rollback record could not be read, or is not a record of that
    colour Switchyard wrote: whether its release was rolled back is unknown, so the shift is
    refused. ``reason`` says what is wrong with it, ``ways_out`` how to fix it."""

    def __init__(self, reason: str, ways_out: str) -> None:
        super().__init__(f"{reason}. Nothing was moved. {ways_out}")
        self.reason = reason
        self.ways_out = ways_out


class ListenerDrift(CutoverStopped):
    """Someone else changed the listener's weights; Switchyard stops rather than fight them."""


class RolledBack(CutoverStopped):
    """The shift was rolled back; the old colour carries 100% again."""


class RollbackFailed(CutoverStopped):
    """The rollback call itself failed: traffic may still reach the bad release. Page someone."""
