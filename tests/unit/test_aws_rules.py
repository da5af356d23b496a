"""Values AWS would reject are ConfigErrors naming the key, judged without calling AWS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from delivery.cli import main as delivery_main
from delivery.config.model import HOOK_HASH_CHARS
from delivery.config.regions import ZONES, real_regions, zone_count_problem, zone_names
from delivery.config.settings import load_settings
from delivery.config.stackfile import (
    PROJECT_ROOT,
    judge_secret_values,
    load_stack,
    stack_config,
    stack_secret_values,
)
from delivery.errors import ConfigError

GOOD: dict[str, Any] = stack_config("staging")
SECURE = {"secure": "v1:AAABAGvZ0mtyM1R5TNwtkcVHXdmNQWrvhQ=="}


def reasons(**overrides: Any) -> dict[str, str]:
    raw = {**GOOD, **{k if ":" in k else f"switchyard:{k}": v for k, v in overrides.items()}}
    with pytest.raises(ConfigError) as failure:
        load_settings(raw, "staging")
    return {p.key: p.reason for p in failure.value.problems}


def test_real_regions_come_from_botocore_in_every_partition() -> None:
    assert {"eu-west-1", "us-east-1", "cn-north-1", "us-gov-west-1"} <= real_regions()
    assert "eu-west-9" not in real_regions()
    reason = reasons(**{"aws:region": "eu-west-9"})["aws:region"]
    assert "got 'eu-west-9'; did you mean eu-west-" in reason


# Where the table departs from moto's, with the source (see the comment in ZONES).
CORRECTED = {"cn-north-1": ("cn-north-1a", "cn-north-1b", "cn-north-1d")}


def test_the_zone_table_matches_the_emulators_and_names_real_regions() -> None:
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

    moto = {r: tuple(z.name for z in zones) for r, zones in RegionsAndZonesBackend.zones.items()}
    for region in ZONES:
        assert region in real_regions(), region
        assert zone_names(region) == CORRECTED.get(region, moto[region]), region
    assert all(moto[region] != zones for region, zones in CORRECTED.items())


def test_the_beijing_region_has_its_three_zones() -> None:
    dev = {k: v for k, v in stack_config("dev").items() if k != "switchyard:rotationLambdaArn"}
    raw = {**dev, "aws:region": "cn-north-1", "switchyard:azCount": "3"}
    assert load_settings(raw, "dev").network.az_count == 3


def test_a_region_that_answers_no_zones_is_named_not_sized_to_zero() -> None:
    assert zone_count_problem(2, "eu-west-1", ()) == (
        "eu-west-1 answered no available Availability Zones: check that the region is enabled "
        "for the account (an opt-in region must be enabled first) and that aws:region is the "
        "region you mean"
    )
    unlisted = zone_count_problem(2, "eusc-de-east-1", ())
    assert unlisted is not None
    assert "add the zones the region offers to that table" in unlisted
    assert "at most 0" not in unlisted


def test_az_count_beyond_the_regions_zones_names_them() -> None:
    assert reasons(azCount=4) == {
        "switchyard:azCount": "asks for 4 zones, but eu-west-1 has 3 available "
        "(eu-west-1a, eu-west-1b, eu-west-1c); set it to at most 3"
    }


def test_tag_values_accept_any_letters_and_aws_punctuation() -> None:
    raw = {**GOOD, "switchyard:owner": "équipe données_1 @ops:/=+-.", "switchyard:costCentre": "7"}
    assert load_settings(raw, "staging").tags["owner"] == "équipe données_1 @ops:/=+-."


def test_a_certificate_from_another_region_names_the_stacks_region() -> None:
    arn = GOOD["switchyard:certificateArn"].replace("eu-west-1", "us-east-1")
    assert reasons(certificateArn=arn)["switchyard:certificateArn"] == (
        "is in us-east-1, but an ALB can only use a certificate from its own region; "
        "request or import the certificate in eu-west-1 and use that ARN"
    )


@pytest.mark.parametrize(
    ("region", "partition", "arn_partition"),
    [
        ("eu-west-1", "aws", "aws-cn"),
        ("eu-west-1", "aws", "aws-us-gov"),
        ("cn-north-1", "aws-cn", "aws"),
        ("us-gov-west-1", "aws-us-gov", "aws"),
    ],
)
def test_a_regional_arn_from_another_partition_names_both(
    region: str, partition: str, arn_partition: str
) -> None:
    """arn:aws-cn:acm:eu-west-1:... names the stack's region but a partition it is not in."""
    uuid = "0f3d2a6e-5b7c-4e1a-9d2f-7a8b9c0d1e2f"
    found = reasons(
        **{
            "aws:region": region,
            "azCount": 2,
            "certificateArn": f"arn:{arn_partition}:acm:{region}:123456789012:certificate/{uuid}",
            "rotationLambdaArn": f"arn:{arn_partition}:lambda:{region}:123456789012:function:r",
        }
    )
    assert set(found) == {"switchyard:certificateArn", "switchyard:rotationLambdaArn"}
    assert found["switchyard:certificateArn"] == (
        f"is in partition {arn_partition}, but the stack's region {region} is in partition "
        f"{partition} (its ARNs start arn:{partition}:), and an ALB can only use a certificate "
        f"from its own region; request or import the certificate in {region} and use that ARN"
    )
    lambda_reason = found["switchyard:rotationLambdaArn"]
    assert f"partition {arn_partition}, but the stack's region {region}" in lambda_reason


def test_an_arn_in_the_stacks_partition_and_region_is_accepted() -> None:
    uuid = "0f3d2a6e-5b7c-4e1a-9d2f-7a8b9c0d1e2f"
    raw = {
        **GOOD,
        "aws:region": "cn-north-1",
        "switchyard:azCount": 2,
        "switchyard:certificateArn": f"arn:aws-cn:acm:cn-north-1:123456789012:certificate/{uuid}",
        "switchyard:rotationLambdaArn": "arn:aws-cn:lambda:cn-north-1:123456789012:function:r",
    }
    assert load_settings(raw, "staging").alb.certificate_arn == raw["switchyard:certificateArn"]


def test_too_many_test_client_ranges_say_how_many_fit() -> None:
    # prod listens on 80 and 443 and admits the VPC on the test port: 57 of 60 rules are left
    fits = [f"198.18.{i}.0/24" for i in range(57)]
    assert load_settings({**GOOD, "switchyard:testClientCidrs": fits}, "staging")
    too_many = [*fits, "198.19.0.0/24"]
    assert "at most 57 fit" in reasons(testClientCidrs=too_many)["switchyard:testClientCidrs"]


def test_a_dev_stack_without_a_certificate_has_room_for_one_more_range() -> None:
    dev = stack_config("dev")
    ranges = [f"198.18.{i}.0/24" for i in range(58)]
    assert load_settings({**dev, "switchyard:testClientCidrs": ranges}, "dev")


def test_the_longest_service_name_still_makes_63_character_kubernetes_names() -> None:
    name = "w" * 47
    settings = load_settings({**GOOD, "switchyard:serviceName": name}, "staging")
    assert len(f"{settings.workload.service_name}-hook-{'0' * HOOK_HASH_CHARS}") == 63


def test_the_read_policy_limit_says_how_many_names_fit() -> None:
    names = [f"secret-{i:02d}-{'x' * 48}" for i in range(60)]
    reason = reasons(secretNames=names)["switchyard:secretNames"]
    assert reason.startswith("60 names make the secrets read policy up to ")
    # each ARN takes about 140 characters of the 6,144
    assert "over IAM's 6,144 for a managed policy; the first 40 fit" in reason


# -- secretValues as the stack file holds it ---------------------------------------------------


def test_a_committed_stack_file_without_secret_values_lists_what_is_to_be_set() -> None:
    judged = stack_secret_values("prod", load_stack("prod"))
    assert judged.missing == ("database-password", "api-signing-key", "pager-webhook")
    assert judged.warnings()[0] == (
        "switchyard:secretValues.database-password is still to be set: pulumi config set "
        "--secret --path 'switchyard:secretValues.database-password' <value>"
    )


def test_check_warns_about_values_still_to_be_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert delivery_main(["check", "--stack", "dev"]) == 0
    err = capsys.readouterr().err
    assert "warning: switchyard:secretValues.api-signing-key is still to be set" in err


def test_a_plain_text_entry_beside_encrypted_ones_is_rejected_without_its_value() -> None:
    settings = load_stack("prod")
    config = {
        **GOOD,
        "switchyard:secretValues": {
            "database-password": SECURE,
            "api-signing-key": SECURE,
            "pager-webhook": "https://events.pagerduty.example.com/integration/sEcReT/enqueue",
        },
    }
    judged = judge_secret_values(config, settings)
    (problem,) = judged.problems
    assert problem.key == "switchyard:secretValues.pager-webhook"
    assert "pulumi config set --secret --path 'switchyard:secretValues.pager-webhook'" in (
        problem.reason
    )
    assert "sEcReT" not in str(problem) and "pagerduty.example.com" not in str(problem)
    assert judged.missing == ()


def test_encrypted_entries_and_a_wholly_encrypted_object_pass() -> None:
    settings = load_stack("staging")
    entries = dict.fromkeys(settings.secret_value_keys, SECURE)
    for value in (entries, SECURE):
        judged = judge_secret_values({**GOOD, "secretValues": value}, settings)
        assert (judged.problems, judged.missing) == ((), ())
    assert judge_secret_values({**GOOD, "secretValues": entries}, settings).warnings() == []


def test_check_warns_that_a_wholly_encrypted_object_cannot_be_verified() -> None:
    # `pulumi config set --secret switchyard:secretValues x` stores one scalar, not entries.
    judged = judge_secret_values({**GOOD, "secretValues": SECURE}, load_stack("staging"))
    (warning,) = judged.warnings()
    assert warning.startswith(
        "switchyard:secretValues is one encrypted value, so its entries cannot be verified"
    )
    assert "pulumi config set --secret --path 'switchyard:secretValues.<name>'" in warning


def test_a_stack_file_with_plain_text_secret_values_fails_check(tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "Pulumi.staging.yaml").read_text()
    (tmp_path / "Pulumi.staging.yaml").write_text(
        text + "  secretValues:\n    database-password: hunter2-not-for-logs\n"
    )
    settings = load_stack("staging", tmp_path)
    with pytest.raises(ConfigError) as failure:
        stack_secret_values("staging", settings, tmp_path)
    assert failure.value.keys == ("switchyard:secretValues.database-password",)
    assert "hunter2" not in str(failure.value)


@pytest.mark.parametrize("region", ["eusc-de-east-1", "us-iso-east-1"])
def test_check_refuses_a_region_the_zone_table_does_not_know(
    region: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dev = {k: v for k, v in stack_config("dev").items() if k != "switchyard:rotationLambdaArn"}
    settings = load_settings({**dev, "aws:region": region}, "dev")  # botocore offers it
    monkeypatch.setattr("delivery.cli.load_stack", lambda stack: settings)
    assert delivery_main(["check", "--stack", "dev"]) != 0
    err = capsys.readouterr().err
    assert f"aws:region: {region} offers every service, but its zones are not in" in err
    assert "add the zones the region offers to that table" in err
