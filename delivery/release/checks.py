"""Smoke and load checks through the test listener, which always reaches the idle colour.

Plain HTTP from the CI runner: the test listener admits only the VPC and ``testClientCidrs``.
"""

from __future__ import annotations

import math
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from delivery.config.model import LoadCheck, SmokeCheck


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer at all
    seconds: float
    error: str = ""


def fetch(url: str, timeout: float) -> Answer:
    started = time.perf_counter()
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"smoke and load checks speak HTTP(S) only, got {url!r}")
    try:
        # Only http(s) URLs reach here (checked above), which is what bandit's B310 asks.
        with urllib.request.urlopen(url, timeout=timeout) as response:  # nosec B310
            response.read()
            status: int | None = response.status
            error = ""
    except urllib.error.HTTPError as exc:
        status, error = exc.code, ""
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        status, error = None, str(getattr(exc, "reason", exc))
    return Answer(status, time.perf_counter() - started, error)


@dataclass(frozen=True)
class SmokeResult:
    check: SmokeCheck
    answer: Answer

    @property
    def ok(self) -> bool:
        return self.answer.status == self.check.status

    def __str__(self) -> str:
        got = self.answer.status if self.answer.status is not None else self.answer.error
        return f"{self.check.path}: expected {self.check.status}, got {got}"


def smoke(base_url: str, checks: tuple[SmokeCheck, ...]) -> list[SmokeResult]:
    return [SmokeResult(c, fetch(base_url + c.path, c.timeout_seconds)) for c in checks]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    p95_ms: float
    seconds: float
    limits: LoadCheck

    @property
    def error_rate_percent(self) -> float:
        return 100.0 * self.errors / self.requests if self.requests else 100.0

    @property
    def breaches(self) -> list[str]:
        found = []
        if self.requests == 0:
            found.append("no request completed")
        if self.p95_ms > self.limits.p95_ms:
            found.append(f"p95 {self.p95_ms:.0f} ms above {self.limits.p95_ms} ms")
        if self.error_rate_percent > self.limits.error_rate_percent:
            found.append(
                f"error rate {self.error_rate_percent:.1f}% above "
                f"{self.limits.error_rate_percent:g}% ({self.errors} of {self.requests})"
            )
        return found

    def __str__(self) -> str:
        return (
            f"{self.requests} requests in {self.seconds:.1f}s, p95 {self.p95_ms:.0f} ms, "
            f"errors {self.error_rate_percent:.1f}%"
        )


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def load(base_url: str, checks: tuple[SmokeCheck, ...], limits: LoadCheck) -> LoadResult:
    """``limits.requests`` requests over the smoke paths in turn, ``concurrency`` at a time;
    requests not started by ``duration_seconds`` are not sent. A request fails when it does not
    answer with its path's expected status."""
    deadline = time.monotonic() + limits.duration_seconds

    def one(index: int) -> tuple[bool, float] | None:
        if time.monotonic() >= deadline:
            return None
        check = checks[index % len(checks)]
        answer = fetch(base_url + check.path, check.timeout_seconds)
        return answer.status == check.status, answer.seconds * 1000

    started = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=limits.concurrency)
    try:
        done = [r for r in pool.map(one, range(limits.requests)) if r is not None]
    except BaseException:
        # An interrupt must not wait for the requests not yet sent (``with`` would: its
        # shutdown waits for every queued one, up to duration_seconds).
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return LoadResult(
        requests=len(done),
        errors=sum(1 for ok, _ in done if not ok),
        p95_ms=p95([ms for _, ms in done]),
        seconds=time.perf_counter() - started,
        limits=limits,
    )
