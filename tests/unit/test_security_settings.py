"""The security keys: who may deploy, the WAF rate limit, and the limits the baseline sets."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.config.settings import load_settings
from delivery.config.stackfile import stack_config
from delivery.errors import ConfigError


def load(stack: str, **overrides: Any) -> Any:
    raw = {**stack_config(stack)}
    for key, value in overrides.items():
        if value is ...:
            raw.pop(f"switchyard:{key}")
        else:
            raw[f"switchyard:{key}"] = value
    return load_settings(raw, stack)


def problems(stack: str, **overrides: Any) -> dict[str, str]:
    with pytest.raises(ConfigError) as failure:
        load(stack, **overrides)
    return {p.key: p.reason for p in failure.value.problems}


def test_each_stack_names_its_repository_and_environments() -> None:
    prod = load("prod").security
    assert prod.github_repository == "example-org/switchyard"
    assert prod.github_environments == ("production-stage", "production")
    assert prod.github_oidc_provider_arn is None
    assert load("staging").security.github_environments == ("staging",)


def test_dev_may_run_without_a_web_acl_but_staging_and_prod_may_not() -> None:
    assert load("dev").security.waf_rate_limit is None
    assert load("dev", wafRateLimit=500).security.waf_rate_limit == 500
    for stack in ("staging", "prod"):
        assert "is required" in problems(stack, wafRateLimit=...)["switchyard:wafRateLimit"]


def test_prod_keeps_a_year_of_logs() -> None:
    reason = problems("prod", flowLogRetentionDays=90)["switchyard:flowLogRetentionDays"]
    assert "at least 365 in prod" in reason
    assert load("staging", flowLogRetentionDays=90).network.flow_log_retention_days == 90


def test_a_huge_number_is_a_config_error_not_a_crash() -> None:
    huge = "9" * 5000
    assert "whole number" in problems("dev", azCount=huge)["switchyard:azCount"]
    assert "must be a list" in problems("dev", trafficSteps=huge)["switchyard:trafficSteps"]
