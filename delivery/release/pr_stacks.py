"""The PR project's stacks (pr/Pulumi.yaml) over the Automation API: the PrStacks port.

Each run sets the stack's whole config before `up`, so a runner that never saw the stack
(its Pulumi.dev-pr-<n>.yaml exists only on the runner that wrote it) still deploys it
correctly, and `destroy` needs no config at all (every key of pr/Pulumi.yaml has a default;
pulumi refuses a stack that lacks a key without one: pkg/workspace/config_project_test.go,
"Stack 'dev' is missing configuration value"). Needs the Pulumi CLI and a backend login, as
delivery.release.automation does; tested over the port instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from delivery.config.stackfile import PROJECT_ROOT
from delivery.errors import PortError
from delivery.release.automation import (
    PULUMI_INSTALL,
    StackUnavailable,
    _automation,
    _s3_client,
    cli_failure,
)
from delivery.release.pulumi_cli import CancellableCommand
from delivery.release.state_lock import StateLocks, clear_stale_locks

PR_PROJECT: Final = PROJECT_ROOT / "pr"
PR_PROJECT_NAME: Final = "switchyard-pr"
# Longer than any job that takes a PR stack's lock runs (pr-environment.yml: up and destroy 45
# minutes, the sweep 120): a lock older than this was left by a killed CLI.
STALE_LOCK_AFTER: Final = timedelta(hours=3)


def after_stale_locks(
    run: Callable[[], Any],
    locks: StateLocks,
    locked: type[Exception],
    say: Callable[[str], None],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Any:
    """``run``; when the stack is locked (``locked``), delete the locks older than
    STALE_LOCK_AFTER and run once more, or say which lock is still held."""
    try:
        return run()
    except locked as exc:
        if not locks.supported:
            raise StackUnavailable(
                f"the stack is locked ({exc}); run `pulumi cancel` once no job updates it"
            ) from exc
        try:
            deleted, kept = clear_stale_locks(locks, now(), STALE_LOCK_AFTER)
        except PortError as failure:
            raise StackUnavailable(f"the stack is locked ({exc}); {failure}") from exc
        if not deleted:
            held = "; ".join(str(k) for k in kept) or "a lock this run cannot list"
            raise StackUnavailable(
                f"another update holds the stack ({held}), taken within {STALE_LOCK_AFTER}: "
                "wait for its job, or delete the lock once its process is gone"
            ) from exc
        say(f"deleted {len(deleted)} stale state lock(s): {'; '.join(map(str, deleted))}")
        return run()


class AutomationPrStacks:
    def __init__(
        self,
        secrets_provider: str | None = None,
        say: Callable[[str], None] = print,
        work_dir: Path = PR_PROJECT,
    ) -> None:
        self._secrets_provider = secrets_provider
        self._say = say
        self._work_dir = work_dir

    def _options(self) -> Any:
        auto = _automation()
        return auto.LocalWorkspaceOptions(
            pulumi_command=_cli(), secrets_provider=self._secrets_provider
        )

    def outputs(self, stack: str) -> Mapping[str, Any] | None:
        auto = _automation()
        try:
            selected = auto.select_stack(
                stack_name=stack, work_dir=str(self._work_dir), opts=self._options()
            )
        except auto.errors.StackNotFoundError:
            return None
        with cli_failure("stack output", stack):
            return {k: v.value for k, v in selected.outputs().items()}

    def up(self, stack: str, config: Mapping[str, str]) -> Mapping[str, Any]:
        auto = _automation()
        with cli_failure("stack select --create", stack):
            selected = auto.create_or_select_stack(
                stack_name=stack, work_dir=str(self._work_dir), opts=self._options()
            )
        with cli_failure("config set-all", stack):
            selected.set_all_config({k: auto.ConfigValue(value=v) for k, v in config.items()})
        with cli_failure("up", stack):
            # refresh: a rule or target group deleted by hand is found missing and made again
            result = self._unlocked(stack, lambda: selected.up(on_output=self._say, refresh=True))
        return {k: v.value for k, v in result.outputs.items()}

    def _unlocked(self, stack: str, run: Callable[[], Any]) -> Any:
        backend = os.environ.get("PULUMI_BACKEND_URL", "")
        locks = StateLocks(backend, stack, _s3_client, project=PR_PROJECT_NAME)
        return after_stale_locks(run, locks, _automation().errors.ConcurrentUpdateError, self._say)

    def destroy(self, stack: str) -> None:
        auto = _automation()
        with cli_failure("stack select", stack):
            selected = auto.select_stack(
                stack_name=stack, work_dir=str(self._work_dir), opts=self._options()
            )
        with cli_failure("destroy", stack):
            self._unlocked(stack, lambda: selected.destroy(on_output=self._say))
        with cli_failure("stack rm", stack):
            selected.workspace.remove_stack(stack)

    def names(self) -> Sequence[str]:
        auto = _automation()
        workspace = auto.LocalWorkspace(work_dir=str(self._work_dir), pulumi_command=_cli())
        with cli_failure("stack ls", "(all)"):
            return [summary.name for summary in workspace.list_stacks()]


def _cli() -> CancellableCommand:
    try:
        return CancellableCommand()  # runs `pulumi version`
    except FileNotFoundError as exc:
        raise StackUnavailable(f"the Pulumi CLI is not on PATH ({exc}); {PULUMI_INSTALL}") from exc
