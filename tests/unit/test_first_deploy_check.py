"""`check` warns about what a real first `pulumi up` cannot use: the committed example values
and a private cluster's temporary bootstrap address."""

from __future__ import annotations

import pytest

from delivery.cli import main as delivery_main
from delivery.config.first_deploy import bootstrap_warnings, example_value_warnings
from delivery.config.settings import load_settings
from delivery.config.stackfile import stack_config


def test_check_names_every_key_that_still_holds_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert delivery_main(["check", "--stack", "prod"]) == 0
    err = capsys.readouterr().err
    for key in (
        "certificateArn",
        "clusterAdminRoleArns",
        "deployRoleArn",
        "blueImage",
        "rotationLambdaArn",
    ):
        assert f"warning: switchyard:{key} names the example account 123456789012" in err, key
    assert "warning: switchyard:githubRepository is the example repository" in err
    assert (
        "warning: switchyard:testClientCidrs lists documentation addresses (203.0.113.0/24" in err
    )
    assert "warning: switchyard:alertEmails uses example.com addresses" in err


def test_real_values_raise_no_warning() -> None:
    real = {
        "switchyard:certificateArn": "arn:aws:acm:eu-west-1:210987654321:certificate/x",
        "switchyard:githubRepository": "acme/switchyard",
        "switchyard:testClientCidrs": ["81.2.69.0/28"],
        "switchyard:clusterAdminRoleArns": ["arn:aws:iam::210987654321:role/platform-admin"],
        "switchyard:alertEmails": ["critical:oncall@acme.io"],
    }
    assert example_value_warnings(real) == []
    assert len(example_value_warnings({"k": ["192.0.2.10/32", "198.51.100.7"]})) == 1


def test_check_flags_the_bootstrap_address_until_it_is_removed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    raw = {**stack_config("prod"), "switchyard:clusterBootstrapCidr": "81.2.69.142/32"}
    (warning,) = bootstrap_warnings(load_settings(raw, "prod"))
    assert "switchyard:clusterBootstrapCidr admits 81.2.69.142/32" in warning
    assert "pulumi config rm switchyard:clusterBootstrapCidr --stack prod" in warning
    assert bootstrap_warnings(load_settings(stack_config("prod"), "prod")) == []


@pytest.mark.parametrize(
    ("stack", "warned"),
    [("prod", True), ("staging", False), ("dev", False)],  # staging names prod's set
)
def test_check_warns_a_stack_that_would_create_the_incident_manager_replication_set(
    stack: str, warned: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert delivery_main(["check", "--stack", stack]) == 0
    err = capsys.readouterr().err
    assert ("Incident Manager has taken no new customers since 2025-11-07" in err) == warned
    if warned:
        assert "aws ssm-incidents list-replication-sets" in err
