"""Known answers of the error-budget arithmetic (Google SRE workbook, "Alerting on SLOs")."""

from __future__ import annotations

import pytest

from delivery.config.keys import BY_FULL_NAME
from delivery.config.model import Slo, Tier
from delivery.plans.budget import (
    BURN_RATE_ALERTS,
    BudgetLeft,
    Severity,
    budget_left_expression,
    burn_rate_expression,
    evaluation_problem,
    window_name,
)
from tests.metric_math import evaluate

THIRTY_DAYS = Slo(99.9, 30)


def test_the_workbooks_burn_rates_windows_and_thresholds_for_99_9_over_30_days() -> None:
    table = [
        (
            a.severity,
            a.tier,
            window_name(a.long_seconds),
            window_name(a.short_seconds),
            a.burn_rate(THIRTY_DAYS),
            a.error_rate(THIRTY_DAYS),
        )
        for a in BURN_RATE_ALERTS
    ]
    assert table == [
        (Severity.PAGE, Tier.EMERGENCY, "1h", "5m", 14.4, 0.0144),
        (Severity.PAGE, Tier.CRITICAL, "6h", "30m", 6.0, 0.006),
        (Severity.TICKET, Tier.WARNING, "1d", "2h", 3.0, 0.003),
        (Severity.TICKET, Tier.WARNING, "3d", "6h", 1.0, 0.001),
    ]


def test_burn_rates_follow_the_period_and_thresholds_the_slo() -> None:
    fast = BURN_RATE_ALERTS[0]
    assert fast.burn_rate(Slo(99.9, 28)) == 13.44  # 2% of 672 hours in one hour
    assert fast.error_rate(Slo(99.0, 30)) == 0.144
    assert Slo(99.5, 30).error_budget == 0.005


@pytest.mark.parametrize(
    ("requests", "errors", "left", "spent"),
    [
        (1_000_000, 0, 1.0, False),
        (1_000_000, 250, 0.75, False),  # 1,000 allowed
        (1_000_000, 1_000, 0.0, True),
        (1_000_000, 1_500, -0.5, True),
        (0, 0, 1.0, False),  # no traffic spends nothing
    ],
)
def test_budget_left_for_given_requests_and_errors(
    requests: int, errors: int, left: float, spent: bool
) -> None:
    budget = BudgetLeft(THIRTY_DAYS, requests, errors)
    assert budget.share_left == pytest.approx(left)
    assert budget.spent is spent


def test_budget_left_says_it_in_words() -> None:
    assert str(BudgetLeft(THIRTY_DAYS, 1_000_000, 250)) == (
        "75.0% of the 99.9% availability budget left over 30 days (250 failed of 1,000,000 "
        "requests; 1,000 allowed)"
    )
    assert BudgetLeft(THIRTY_DAYS, 1_000_000, 250).availability_percent == pytest.approx(99.975)


def test_every_window_fits_cloudwatchs_evaluation_limits() -> None:
    for alert in BURN_RATE_ALERTS:
        assert evaluation_problem(alert.long_seconds) is None
        assert evaluation_problem(alert.short_seconds) is None


def test_cloudwatchs_limits_known_answers() -> None:
    assert evaluation_problem(8 * 86_400) == "691200 s of evaluation is over CloudWatch's 7 days"
    assert evaluation_problem(300, 289) is not None  # a period under an hour: one day at most
    assert evaluation_problem(3600, 168) is None  # exactly 7 days
    assert evaluation_problem(90) is not None


def test_every_allowed_period_burns_at_least_the_sustainable_rate() -> None:
    key = BY_FULL_NAME["switchyard:sloPeriodDays"]
    assert key.low is not None and key.high is not None
    for days in range(key.low, key.high + 1):
        assert min(a.burn_rate(Slo(99.9, days)) for a in BURN_RATE_ALERTS) >= 1.0, days
    assert BURN_RATE_ALERTS[-1].burn_rate(Slo(99.9, key.low - 1)) < 1.0  # why 30 is the floor


@pytest.mark.parametrize(
    ("requests", "target5xx", "elb5xx", "burn"),
    [
        # 15 failed of the 1,005 users asked (1,000 reached a target): 14.9x, over 14.4
        (1000, 10, 5, 15 / 1005 / 0.001),
        (1000, 14, None, 14.0),  # no ALB 5xx datapoint: filled with 0; under 14.4
        (1000, None, None, 0.0),  # no 5xx at all
        (None, None, 100, 1000.0),  # no healthy target: the ALB's own 503s, which pages
        (49, 49, 0, 0.0),  # under minRequestCount (50): a quiet window burns nothing
        (25, 25, 0, 0.0),  # 5 per minute all failing: too quiet for 5 min; the 30 min pages
        (50, 1, 0, 20.0),  # at the floor: judged
        (None, None, None, 0.0),  # no data: nothing burns
    ],
)
def test_the_burn_rate_metric_math_known_answers(
    requests: float | None, target5xx: float | None, elb5xx: float | None, burn: float
) -> None:
    expression = burn_rate_expression(THIRTY_DAYS, min_requests=50)
    metrics = {"requests": requests, "target5xx": target5xx, "elb5xx": elb5xx}
    assert evaluate(expression, metrics) == pytest.approx(burn)


@pytest.mark.parametrize(
    ("requests", "target5xx", "elb5xx", "left"),
    [
        (1_000_000, 500, None, 50.0),
        (1_000_000, 0, None, 100.0),
        (1_000_000, 2000, None, -100.0),
        (0, 0, 0, 100.0),
        (999_000, 0, 1000, 0.0),  # the ALB's own 503s count as asked and failed
    ],
)
def test_the_budget_left_metric_math_agrees_with_budget_left(
    requests: float, target5xx: float, elb5xx: float | None, left: float
) -> None:
    metrics = {"requests": requests, "target5xx": target5xx, "elb5xx": elb5xx}
    shown = evaluate(budget_left_expression(THIRTY_DAYS), metrics)
    assert shown == pytest.approx(left)
    asked, failed = requests + (elb5xx or 0), target5xx + (elb5xx or 0)
    assert shown == pytest.approx(100 * BudgetLeft(THIRTY_DAYS, asked, failed).share_left)
