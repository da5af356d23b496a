"""One error hierarchy for everything Switchyard raises on purpose.

Every message says what went wrong and what to do about it, because the reader is an operator
looking at a failed `pulumi up` or a red CI job, not the author of this code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Exit(IntEnum):
    """Every command's exit codes, one table (``python -m delivery --help`` prints it)."""

    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    ROLLED_BACK = 3
    STOPPED = 4
    UNAVAILABLE = 5
    INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a process that Ctrl-C ended


EXIT_MEANINGS: dict[Exit, str] = {
    Exit.OK: "done: every rehearsed scenario ended as it expects; a release was promoted",
    Exit.FAILED: "failed: a rehearsed scenario ended otherwise than it expects (see the "
    "outcome table); a release failed otherwise than below (drift, a failed rollback); AWS "
    "refused or failed a call",
    Exit.BAD_INPUT: "bad input: an invalid stack file, an unknown scenario or release id, a bad "
    "option; nothing was started",
    Exit.ROLLED_BACK: "release: rolled back; liveColour was set back to the old colour",
    Exit.STOPPED: "release: stopped or refused before any traffic moved (a gate, the smoke or "
    "load test, the hook, a change beyond the release scope, a mandatory policy violation, a "
    "spent error budget, another run's lock)",
    Exit.UNAVAILABLE: "something the command needs is not here: the Pulumi CLI, a backend "
    "login, the stack in the backend, AWS credentials, an extra; nothing was changed",
    Exit.INTERRUPTED: "interrupted (Ctrl-C, a cancelled CI job); during a promote the driver "
    "put 100% back on the old colour and recorded the release as aborted",
}


class SwitchyardError(Exception):
    """Base class: catch this to handle every deliberate Switchyard failure. ``exit_code`` is
    the command's exit code when the error ends it."""

    exit_code: Exit = Exit.FAILED


class BadRequest(SwitchyardError):
    """An option or argument is unusable; nothing was started."""

    exit_code = Exit.BAD_INPUT


class Unavailable(SwitchyardError):
    """A tool, login or access the command needs is missing; nothing was changed."""

    exit_code = Exit.UNAVAILABLE


@dataclass(frozen=True)
class Problem:
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


class ConfigError(SwitchyardError):
    """The configuration is invalid; lists every bad key at once."""

    exit_code = Exit.BAD_INPUT

    def __init__(self, problems: Sequence[Problem], source: str = "configuration") -> None:
        self.problems = tuple(problems)
        self.source = source
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{source} has {len(self.problems)} invalid setting(s); nothing was changed:\n{lines}"
        )

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.problems)


class CallFailure(StrEnum):
    """Why an outside call failed, as far as the advice to an operator differs."""

    TRANSIENT = "transient"  # throttled, a 5xx, a timeout, no connection: try again later
    DENIED = "denied"  # the caller lacks a permission, or its credentials were refused
    NO_CREDENTIALS = "no-credentials"  # the caller has no usable credentials to sign with
    NOT_FOUND = "not-found"  # the named thing does not exist
    OTHER = "other"


class PortError(SwitchyardError):
    """An outside system (AWS, the emulator) refused or failed a call after retries.
    ``failure`` (set by the adapter) says which kind of failure, for the advice; ``rejected``
    that the service answered that it did not act (a 4xx error), so a write changed nothing.
    Otherwise (a timeout, a 5xx) a write may or may not have taken effect."""

    def __init__(
        self, message: str, failure: CallFailure = CallFailure.OTHER, rejected: bool = False
    ) -> None:
        super().__init__(message)
        self.failure = failure
        self.rejected = rejected
        if failure is CallFailure.NO_CREDENTIALS:
            self.exit_code = Exit.UNAVAILABLE

    def advice(self, permission: str, name: str) -> str:
        """What to do about it: wait, grant ``permission``, provide credentials, or check
        ``name``."""
        if self.failure is CallFailure.TRANSIENT:
            return "AWS throttled or failed the call (a transient error): run again in a minute"
        if self.failure is CallFailure.DENIED:
            return f"grant {permission} to the deploying role"
        if self.failure is CallFailure.NO_CREDENTIALS:
            return (
                "no AWS credentials: set AWS_PROFILE (run aws sso login if it uses SSO) or "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or in CI assume the stack's role "
                "first, then run again"
            )
        if self.failure is CallFailure.NOT_FOUND:
            return f"check {name}"
        return f"check {name} and the {permission} permission"
