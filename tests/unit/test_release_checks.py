"""The load run's verdict: nearest-rank p95 and each threshold breach named."""

from __future__ import annotations

import pytest

from delivery.config.model import LoadCheck
from delivery.release.checks import LoadResult, p95

LIMITS = LoadCheck(
    requests=100, duration_seconds=60, concurrency=4, p95_ms=500, error_rate_percent=1.0
)


def test_p95_is_the_nearest_rank() -> None:
    assert p95([float(v) for v in range(1, 101)]) == 95.0
    assert p95([float(v) for v in range(1, 21)]) == 19.0
    assert p95([7.0]) == 7.0
    assert p95([]) == 0.0


@pytest.mark.parametrize(
    ("requests", "errors", "p95_ms", "breaches"),
    [
        (100, 1, 500.0, []),  # exactly at both limits passes
        (100, 2, 120.0, ["error rate 2.0% above 1% (2 of 100)"]),
        (100, 0, 501.0, ["p95 501 ms above 500 ms"]),
        (100, 5, 900.0, ["p95 900 ms above 500 ms", "error rate 5.0% above 1% (5 of 100)"]),
        (0, 0, 0.0, ["no request completed", "error rate 100.0% above 1% (0 of 0)"]),
    ],
)
def test_each_breach_is_named(
    requests: int, errors: int, p95_ms: float, breaches: list[str]
) -> None:
    assert LoadResult(requests, errors, p95_ms, 1.0, LIMITS).breaches == breaches
