"""The PR environments' Pulumi program (pr/Pulumi.yaml): one pull request's environment."""

import pulumi

from delivery.errors import SwitchyardError
from infra.pr_environment import build_pr_environment, read_pr_config

try:
    config = read_pr_config()
except SwitchyardError as exc:
    raise pulumi.RunError(str(exc)) from None

for name, value in build_pr_environment(config).items():
    pulumi.export(name, value)
