"""The pack's rules that read the date (EKS version support) judge as of one fixed day, so
that a test's verdict does not change with the calendar; a real preview uses today's."""

from __future__ import annotations

from datetime import date

import pytest

from policy import eks

JUDGED_ON = date(2026, 12, 6)


@pytest.fixture(autouse=True)
def judged_on_a_fixed_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eks, "today", lambda: JUDGED_ON)
