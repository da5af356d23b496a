"""An in-memory release-state store for the tests of the ports above it."""

from __future__ import annotations

from delivery.errors import PortError
from delivery.release.truth import ReleaseState


class MemoryReleaseState:
    """The release-state store as a dict, as SsmReleaseState behaves (tested against the
    emulator in tests/integration/test_release_state_store.py), with writes that can fail."""

    def __init__(self, parameter: str = "/switchyard/dev/release/dev") -> None:
        self.parameter = parameter
        self.state: ReleaseState | None = None
        self.fail_writes = 0  # the next n writes raise PortError (a throttled or denied API)

    def read(self) -> ReleaseState | None:
        return self.state

    def write(self, state: ReleaseState) -> None:
        if self.fail_writes:
            self.fail_writes -= 1
            raise PortError(f"PutParameter on {self.parameter}: ThrottlingException")
        self.state = state
