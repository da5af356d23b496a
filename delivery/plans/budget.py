"""Pure planning of the error budget: burn rates, their alarm windows, and the budget left.

Google's SRE workbook, "Alerting on SLOs" (section 6, multiwindow, multi-burn-rate alerts):
page when 2% of the budget burns in 1 hour or 5% in 6 hours, open a ticket when 10% burns in
3 days; each long window is paired with a short one 1/12 its length, and an alert fires only
while both burn faster than the rate, so it stops soon after the burning stops. The issue
adds the workbook's 24 h / 2 h ticket at 3x (10% of the budget in a day). For a 30-day period
the rates are the workbook's 14.4, 6, 3 and 1: rate = share of budget x period / window.

A burn rate of 1 spends exactly the budget over the period; ``error_rate / (1 - SLO)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from delivery.config.model import Slo, Tier

HOUR: Final = 3600
DAY: Final = 24 * HOUR
SHORT_WINDOW_SHARE: Final = 12  # the short window is 1/12 of the long one
# CloudWatch PutMetricAlarm: Period x EvaluationPeriods at most 7 days (604,800 s), and at most
# one day (86,400 s) when the period is under an hour; a period is 10, 20, 30 or n x 60 s.
MAX_EVALUATION_SECONDS: Final = 7 * DAY
MAX_SHORT_PERIOD_EVALUATION_SECONDS: Final = DAY


class Severity(StrEnum):
    PAGE = "page"  # someone acts now: an incident starts and escalates
    TICKET = "ticket"  # someone looks within the working day: nobody is paged


@dataclass(frozen=True)
class BurnRateAlert:
    """Alert when ``budget_share`` of the budget burns within ``long_seconds``."""

    severity: Severity
    tier: Tier  # where it notifies; a paging tier also starts an incident
    budget_share: float
    long_seconds: int

    @property
    def short_seconds(self) -> int:
        return self.long_seconds // SHORT_WINDOW_SHARE

    @property
    def slug(self) -> str:
        return f"burn-{_span(self.long_seconds)}"

    def burn_rate(self, slo: Slo) -> float:
        """How many times faster than sustainable the budget burns at the threshold."""
        return round(self.budget_share * slo.period_days * DAY / self.long_seconds, 6)

    def error_rate(self, slo: Slo) -> float:
        """The share of failed requests in both windows above which the alert fires."""
        return round(self.burn_rate(slo) * slo.error_budget, 12)


BURN_RATE_ALERTS: Final = (
    BurnRateAlert(Severity.PAGE, Tier.EMERGENCY, 0.02, HOUR),
    BurnRateAlert(Severity.PAGE, Tier.CRITICAL, 0.05, 6 * HOUR),
    BurnRateAlert(Severity.TICKET, Tier.WARNING, 0.10, DAY),
    BurnRateAlert(Severity.TICKET, Tier.WARNING, 0.10, 3 * DAY),
)


def _span(seconds: int) -> str:
    if seconds % DAY == 0:
        return f"{seconds // DAY}d"
    if seconds % HOUR == 0:
        return f"{seconds // HOUR}h"
    return f"{seconds // 60}m"


def window_name(seconds: int) -> str:
    """A window as people write it: 5m, 1h, 3d."""
    return _span(seconds)


def evaluation_problem(period_seconds: int, evaluation_periods: int = 1) -> str | None:
    """Why CloudWatch would refuse an alarm over this window, or None."""
    total = period_seconds * evaluation_periods
    if period_seconds % 60 and period_seconds not in (10, 20, 30):
        return f"a period of {period_seconds} s is not 10, 20, 30 or a multiple of 60"
    if total > MAX_EVALUATION_SECONDS:
        return f"{total} s of evaluation is over CloudWatch's 7 days"
    if period_seconds < HOUR and total > MAX_SHORT_PERIOD_EVALUATION_SECONDS:
        return f"{total} s of evaluation with a period under an hour is over one day"
    return None


@dataclass(frozen=True)
class BudgetLeft:
    """The error budget over an SLO period, from the period's request and error counts."""

    slo: Slo
    requests: float
    errors: float

    @property
    def allowed_errors(self) -> float:
        return self.requests * self.slo.error_budget

    @property
    def share_left(self) -> float:
        """1.0 untouched, 0.0 spent, below 0 overspent. No requests: nothing spent."""
        if self.requests <= 0:
            return 1.0
        return 1 - self.errors / self.allowed_errors

    @property
    def spent(self) -> bool:
        return self.share_left <= 0

    @property
    def availability_percent(self) -> float:
        return 100.0 if self.requests <= 0 else 100 * (1 - self.errors / self.requests)

    def __str__(self) -> str:
        return (
            f"{self.share_left:.1%} of the {self.slo.availability_percent:g}% availability "
            f"budget left over {self.slo.period_days} days ({self.errors:,.0f} failed of "
            f"{self.requests:,.0f} requests; {self.allowed_errors:,.0f} allowed)"
        )


# The ALB metrics the budget is judged on (CloudWatch, AWS/ApplicationELB, 60 s): the live
# colour's target 5xx and requests (dimensions LoadBalancer and TargetGroup), and the load
# balancer's own 5xx (dimension LoadBalancer only: a 502 or 503 the ALB answers itself has no
# target group).
TARGET_5XX: Final = "HTTPCode_Target_5XX_Count"
ELB_5XX: Final = "HTTPCode_ELB_5XX_Count"
REQUESTS: Final = "RequestCount"
BUDGET_QUERIES: Final = (("target5xx", TARGET_5XX), ("elb5xx", ELB_5XX), ("requests", REQUESTS))


# Users' requests in a window: those a target answered (the target group's RequestCount) and
# the 5xx the load balancer answered itself (no healthy target), which never reached one.
_ASKED: Final = "(FILL(requests, 0) + FILL(elb5xx, 0))"
_FAILED: Final = "(FILL(target5xx, 0) + FILL(elb5xx, 0))"


def burn_rate_expression(slo: Slo, min_requests: int = 1) -> str:
    """Metric math over one window: the rate the budget burns. A window with fewer than
    ``min_requests`` requests burns nothing: on a quiet service two 5xx in a five-minute window
    would otherwise page (the SRE workbook's "low-traffic services"). The rollback alarms'
    ``minRequestCount`` is the floor of every window, unscaled: below a fifth of it per minute
    the 5-minute window cannot confirm, and the 6 h / 30 min pair (critical) pages instead of
    the 1 h / 5 min one."""
    return f"IF({_ASKED} >= {max(1, min_requests)}, {_FAILED} / {_ASKED} / {slo.error_budget:g}, 0)"


def budget_left_expression(slo: Slo) -> str:
    """Metric math over the SLO period: the percentage of the budget left."""
    return f"IF({_ASKED} > 0, 100 * (1 - {_FAILED} / {_ASKED} / {slo.error_budget:g}), 100)"
