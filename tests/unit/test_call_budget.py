"""How long a call may wait between attempts, by whose call it is."""

from __future__ import annotations

import pytest

from delivery.cutover.aws import NOTIFY_BUDGET, SETUP_BUDGET, CallBudget


@pytest.mark.parametrize("poll", [1, 5, 10, 15, 60])
def test_calls_on_the_cutovers_path_back_off_briefly_at_any_poll(poll: int) -> None:
    # two throttles cost at most two back-offs: within 2.5 s with the attempts
    assert CallBudget.per_poll(poll).max_backoff <= min(0.5, poll / 4)


def test_calls_off_the_cutovers_path_keep_a_quarter_of_their_budget() -> None:
    # a throttled PutParameter (the rollback record) or Publish may back off for seconds
    assert NOTIFY_BUDGET.max_backoff == 2.5
    assert SETUP_BUDGET.max_backoff == 20.0
