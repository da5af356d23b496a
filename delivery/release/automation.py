"""The stack port over the Pulumi Automation API: a LocalWorkspace over this project directory.

Needs the Pulumi CLI on PATH and a backend login (``pulumi login``); none of that exists on a
machine without the cloud, so the orchestration is tested over the port instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from delivery.config.stackfile import PROJECT_ROOT
from delivery.errors import SwitchyardError, Unavailable
from delivery.release.port import UpFailed
from delivery.release.progress import OnProgress
from delivery.release.pulumi_cli import CancellableCommand, Stopped
from delivery.release.state_lock import StateLocks, clear_child_lock

PULUMI_INSTALL = "https://www.pulumi.com/docs/iac/download-install/"
# The security baseline (policy/PulumiPolicy.yaml): every `up` and `preview` the driver runs
# is judged by it, as `pulumi up --policy-pack policy` is; a mandatory violation fails them.
POLICY_PACK: Final = PROJECT_ROOT / "policy"


class StackUnavailable(Unavailable):
    """The stack cannot be opened: no CLI, no login, or no such stack. Nothing was changed."""


class PulumiFailed(SwitchyardError):
    """A Pulumi CLI command the Automation API ran failed; the message is the CLI's own."""


@contextmanager
def cli_failure(command: str, stack: str) -> Iterator[None]:
    """A CommandError of the Automation API (the CLI exited non-zero: a secrets provider it
    cannot reach, a backend that refused it) as a clean error in the one hierarchy, so a release
    closes its record rather than dying with a traceback."""
    try:
        yield
    except _automation().errors.CommandError as exc:
        raise PulumiFailed(
            f"`pulumi {command}` on stack {stack} failed: {cli_said(exc)}; fix that and run again"
        ) from exc


def cli_said(error: Exception) -> str:
    """What the CLI printed on stderr (pulumi's CommandResult.__str__ ends with it)."""
    text = str(error)
    said = text.rsplit(" stderr: ", 1)[-1].strip() if " stderr: " in text else text.strip()
    return said.replace("\n", " ") or "no message"


def _automation() -> Any:
    from pulumi import automation

    return automation


def open_stack(
    stack: str, work_dir: Path = PROJECT_ROOT, command: CancellableCommand | None = None
) -> Any:
    auto = _automation()
    try:
        options = auto.LocalWorkspaceOptions(pulumi_command=command or CancellableCommand())
        return auto.select_stack(stack_name=stack, work_dir=str(work_dir), opts=options)
    except FileNotFoundError as exc:
        raise StackUnavailable(
            f"the Pulumi CLI is not installed or not on PATH ({exc}); install it "
            f"({PULUMI_INSTALL}) or, in CI, add the pulumi/actions step before this one"
        ) from exc
    except auto.errors.StackNotFoundError as exc:
        raise StackUnavailable(
            f"stack {stack!r} does not exist in the backend you are logged in to. Check "
            f"`pulumi whoami -v` and `pulumi stack ls`; create it once with `pulumi stack "
            f"init {stack} --secrets-provider awskms://alias/...` (README, real use)"
        ) from exc
    except auto.errors.CommandError as exc:
        raise StackUnavailable(f"pulumi could not select stack {stack!r}: {exc}") from exc


S3Client = Callable[[str | None], Any]


class AutomationStack:
    """``pulumi.automation`` behind the stack port, its CLI runs through CancellableCommand: an
    interrupt gets out of ``up`` at once, and ``cancel`` then stops the CLI it left running."""

    def __init__(
        self,
        stack: Any,
        say: Callable[[str], None] = print,
        command: CancellableCommand | None = None,
        s3_client: S3Client | None = None,
    ) -> None:
        self._stack = stack
        self._say = say
        self._command: CancellableCommand = command or stack.workspace.pulumi_command
        self._s3_client = s3_client or _s3_client
        self._backend: str | None = None
        self._stopped: Stopped | None = None
        self.policy_packs = [str(POLICY_PACK)]

    @classmethod
    def select(cls, stack: str, say: Callable[[str], None] = print) -> AutomationStack:
        selected = cls(open_stack(stack), say)
        selected.find_backend()
        return selected

    def find_backend(self) -> None:
        """The state backend's URL (``pulumi whoami``), read before any update: an abort has
        no time for another CLI run."""
        try:
            self._backend = str(self._stack.workspace.who_am_i().url)
        except _automation().errors.CommandError as exc:
            self._say(f"warning: `pulumi whoami` failed ({exc}); an abort cannot clear locks")

    @property
    def name(self) -> str:
        return str(self._stack.name)

    def config(self) -> dict[str, str]:
        with cli_failure("config", self.name):
            every = self._stack.get_all_config()
        return {k: str(v.value) for k, v in every.items() if not v.secret}

    def set_config(self, values: Mapping[str, str]) -> None:
        auto = _automation()
        with cli_failure("config set-all", self.name):
            self._stack.set_all_config({k: auto.ConfigValue(value=v) for k, v in values.items()})

    def up(self, on_progress: OnProgress) -> None:
        """``pulumi up``. The cutover runs inside the Pulumi engine's process, so its progress
        reaches the driver through the listener watch wrapped around this (status.watched)."""
        auto = _automation()
        errors: list[str] = []

        def on_event(event: Any) -> None:
            diagnostic = event.diagnostic_event
            if diagnostic is not None and diagnostic.severity in ("error", "warning"):
                message = diagnostic.message.strip()
                self._say(f"pulumi {diagnostic.severity}: {message}")
                if diagnostic.severity == "error":
                    errors.append(message)
            if event.policy_event is not None:
                line = policy_line(event.policy_event)
                self._say(line)
                if event.policy_event.enforcement_level == MANDATORY:
                    errors.insert(0, line)

        try:
            self._stack.up(
                on_event=on_event,
                color="never",
                suppress_progress=True,
                policy_packs=self.policy_packs,
            )
        except auto.errors.ConcurrentUpdateError as exc:
            raise StackUnavailable(
                f"another update of stack {self.name} is running ({exc}); wait for it, or if "
                "it died, clear its lock (README: after an interrupted up) and run again"
            ) from exc
        except auto.errors.CommandError as exc:
            raise UpFailed("\n".join(errors) or str(exc)) from exc

    def outputs(self) -> dict[str, Any]:
        with cli_failure("stack output", self.name):
            every = self._stack.outputs()
        return {k: v.value for k, v in every.items()}

    def cancel(self) -> None:
        self._stopped = self._command.stop()
        if self._stopped is not None:
            self._say(f"the interrupted `pulumi up` (pid {self._stopped.pid}) {self._stopped.how}")

    def left_lock(self) -> str | None:
        stopped = self._stopped
        if stopped is None:
            return None
        if self._backend is None:
            return "the state backend is unknown, so its lock was not checked"
        locks = StateLocks(self._backend, self.name, self._s3_client)
        return clear_child_lock(locks, self.name, stopped.pid)

    def preview(self, on_event: Callable[[Any], None]) -> None:
        auto = _automation()
        blocking: list[str] = []

        def seen(event: Any) -> None:
            policy = event.policy_event
            if policy is not None and policy.enforcement_level == MANDATORY:
                blocking.append(policy_line(policy))
            on_event(event)

        try:
            self._stack.preview(
                diff=True, on_event=seen, color="never", policy_packs=self.policy_packs
            )
        except auto.errors.CommandError as exc:
            raise SwitchyardError(f"pulumi preview failed: {'; '.join(blocking) or exc}") from exc


# pulumi-policy's enforcement levels; a mandatory violation fails the preview or update.
MANDATORY: Final = "mandatory"


def policy_line(event: Any) -> str:
    """One policy event (the engine's ``policyEvent``: pulumi.automation.events.PolicyEvent)."""
    where = f" on {str(event.resource_urn).rsplit('::', 1)[-1]}" if event.resource_urn else ""
    return (
        f"{event.enforcement_level} policy violation: {event.policy_pack_name}/"
        f"{event.policy_name}{where}: {event.message.strip()}"
    )


def _s3_client(region: str | None) -> Any:
    import boto3

    return boto3.session.Session(region_name=region).client("s3")
