"""The Pulumi program: one environment from the stack's validated configuration.

The Python language host prints a ``pulumi.RunError`` as its message alone and any other
exception as a traceback, so every deliberate Switchyard error leaves as a RunError: a bad
configuration ends with the list of bad keys, why, and how to fix each, and nothing registered.
"""

import pulumi

from delivery.errors import SwitchyardError
from infra.config import read_stack_config
from infra.environment import build_environment

try:
    stack = read_stack_config()
except SwitchyardError as exc:
    raise pulumi.RunError(str(exc)) from None

for name, value in build_environment(stack).items():
    pulumi.export(name, value)
