"""The PR project's stacks (pr/Pulumi.yaml) over the Automation API: the PrStacks port.

Each run sets the stack's whole config before `up`, so a runner that never saw the stack
(its Pulumi.dev-pr-<n>.yaml exists only on the runner that wrote it) still deploys it
correctly, and `destroy` needs no config at all (every key of pr/Pulumi.yaml has a default;
pulumi refuses a stack that lacks a key without one: pkg/workspace/config_project_test.go,
"Stack 'dev' is missing configuration value"). Needs the Pulumi CLI and a backend login, as
delivery.release.automation does; tested over the port instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from delivery.config.stackfile import PROJECT_ROOT
from delivery.release.automation import (
    PULUMI_INSTALL,
    StackUnavailable,
    _automation,
    cli_failure,
)
from delivery.release.pulumi_cli import CancellableCommand

PR_PROJECT: Final = PROJECT_ROOT / "pr"


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
            result = selected.up(on_output=self._say, refresh=True)
        return {k: v.value for k, v in result.outputs.items()}

    def destroy(self, stack: str) -> None:
        auto = _automation()
        with cli_failure("stack select", stack):
            selected = auto.select_stack(
                stack_name=stack, work_dir=str(self._work_dir), opts=self._options()
            )
        with cli_failure("destroy", stack):
            selected.destroy(on_output=self._say)
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
