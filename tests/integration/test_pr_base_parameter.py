"""Dev's base as `pr-env up` reads it, from an SSM parameter over real HTTP (moto's server):
the value dev wrote, nothing when dev wrote none, and a clear error for a value not JSON."""

from __future__ import annotations

import json

import pytest

from delivery.cutover.aws import AwsClients
from delivery.plans.pr_environments import DEFAULT_BASE_PARAMETER, PrEnvironmentError
from delivery.release.pr_environments import SsmPrBase


def test_the_base_is_the_parameters_json_and_none_without_one(operator: AwsClients) -> None:
    source = SsmPrBase(operator.ssm, DEFAULT_BASE_PARAMETER)
    assert source.read() is None
    base = {"namePrefix": "switchyard-dev", "tags": {"owner": "platform-team"}}
    operator.ssm.put_parameter(
        Name=DEFAULT_BASE_PARAMETER, Type="String", Value=json.dumps(base), Tier="Standard"
    )
    assert source.read() == base
    assert source.where == f"SSM parameter {DEFAULT_BASE_PARAMETER}"


def test_a_base_that_is_not_json_says_how_to_rewrite_it(operator: AwsClients) -> None:
    operator.ssm.put_parameter(Name=DEFAULT_BASE_PARAMETER, Type="String", Value="{broken")
    with pytest.raises(PrEnvironmentError, match=r"is not JSON .*pulumi up --stack dev"):
        SsmPrBase(operator.ssm, DEFAULT_BASE_PARAMETER).read()
