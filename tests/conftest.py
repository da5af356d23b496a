"""Shared test settings: hypothesis profiles (CI runs the derandomized one), and signals as a
foreground process has them."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings


@pytest.fixture
def foreground_signals() -> Iterator[None]:
    """SIGINT and SIGTERM as Python sets them up in a foreground process, whatever the suite
    was started with (a shell starts a background job ignoring SIGINT)."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    for each, handler in before.items():
        signal.signal(each, handler)


settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=1000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
