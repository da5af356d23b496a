"""The stack port: the few Pulumi operations a release needs, so that the orchestration is
tested without the Pulumi CLI. ``delivery.release.automation`` implements it over the Automation
API; ``delivery.release.rehearse`` over the embedded emulator and the real cutover engine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from delivery.cutover.events import CutoverReport
from delivery.errors import SwitchyardError
from delivery.release.progress import OnProgress


class UpFailed(SwitchyardError):
    """``pulumi up`` failed; the message is what the engine said. ``report`` is the cutover's
    own report when the adapter has it (the engine ran in this process); a real ``pulumi up``
    runs the engine out of the driver's sight, so there it is None."""

    def __init__(self, message: str, report: CutoverReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class StackPort(Protocol):
    @property
    def name(self) -> str: ...

    def config(self) -> dict[str, str]:
        """The stack's current config, every value as text, keys fully qualified."""
        ...

    def set_config(self, values: Mapping[str, str]) -> None:
        """Set these keys in the stack's config (what ``pulumi config set`` does)."""
        ...

    def up(self, on_progress: OnProgress) -> None:
        """``pulumi up``; raises UpFailed. Reports the cutover's progress when it runs one."""
        ...

    def outputs(self) -> dict[str, Any]: ...

    def cancel(self) -> None:
        """Stop the ``pulumi up`` an interrupt left running (its ``up`` call has returned with
        the interrupt, the CLI has not), within a few seconds; nothing when none runs."""
        ...

    def left_lock(self) -> str | None:
        """After ``cancel``: clear the state lock the stopped update left, when it is certainly
        its own, and say what is left; None when no update was stopped."""
        ...


class ForwardingStack:
    """A stack port that passes every call to ``inner``: the decorators (the lock, the
    listener watch, the release state) override only what they add to."""

    def __init__(self, inner: StackPort) -> None:
        self._inner = inner

    @property
    def name(self) -> str:
        return self._inner.name

    def config(self) -> dict[str, str]:
        return self._inner.config()

    def set_config(self, values: Mapping[str, str]) -> None:
        self._inner.set_config(values)

    def up(self, on_progress: OnProgress) -> None:
        self._inner.up(on_progress)

    def outputs(self) -> dict[str, Any]:
        return self._inner.outputs()

    def cancel(self) -> None:
        self._inner.cancel()

    def left_lock(self) -> str | None:
        return self._inner.left_lock()


def text_value(config: Mapping[str, str], key: str) -> str | None:
    value = config.get(key)
    return None if value in (None, "") else str(value)
