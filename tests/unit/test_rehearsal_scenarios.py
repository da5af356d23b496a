"""Where a rehearsed fault falls: between two polls, as a real one does on average."""

from __future__ import annotations

import pytest

from delivery.config.stackfile import load_stack
from delivery.rehearsal.run import fault_delay
from delivery.rehearsal.scenarios import default_scenarios


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_default_fault_falls_halfway_between_two_polls(stack: str) -> None:
    policy = load_stack(stack).traffic
    (faulty,) = [s for s in default_scenarios(policy) if s.fault_step is not None]
    delay = fault_delay(faulty, policy)
    assert delay % policy.poll_seconds == pytest.approx(policy.poll_seconds / 2)
    assert 0 < delay < policy.bake_seconds  # inside the bake of its step
    assert abs(delay - faulty.fault_at * policy.bake_seconds) <= policy.poll_seconds
