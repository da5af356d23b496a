"""The Pulumi program: one environment from the stack's validated configuration."""

import pulumi

from infra.config import read_stack_config
from infra.environment import build_environment

for name, value in build_environment(read_stack_config()).items():
    pulumi.export(name, value)
