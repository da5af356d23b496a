"""The configuration model: every key's bad values, all reported at once, nothing half-read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from delivery.config.keys import DECLARED, schema
from delivery.config.model import (
    PROJECT,
    BaselineSource,
    ChatChannel,
    Colour,
    InsufficientData,
    NatLayout,
    Tier,
)
from delivery.config.settings import (
    SECRET_VALUES_KEY,
    load_settings,
    traffic_policy_from_inputs,
)
from delivery.config.stackfile import (
    PROJECT_ROOT,
    StackNotFound,
    available_stacks,
    load_stack,
    stack_config,
)
from delivery.errors import ConfigError
from tests.bad_config import BAD_VALUES

GOOD: dict[str, Any] = stack_config("staging")
OPTIONAL = {
    "prDomain",
    "prHostedZoneId",
    "prGithubEnvironment",
    "prCertificateArn",
    "certificateArn",
    "testClientCidrs",
    "incidentContacts",
    "criticalEscalation",
    "emergencyEscalation",
    "incidentReplicationSetArn",
    "sloPeriodDays",
    "alertEmails",
    "alertWebhooks",
    "alertChatChannels",
    "secretNames",
    "rotationLambdaArn",
    "clusterPublicAccessCidrs",
    "clusterApiAccessCidrs",
    "clusterApiAccessSecurityGroupIds",
    "clusterBootstrapCidr",
    "deployRoleArn",
    "containerCommand",
    "containerEnv",
    "hookCommand",
    "hookImage",
    "scaleDownDelaySeconds",
    "candidateReplicas",  # the release driver sets it
    "retryRollback",
    "githubOidcProviderArn",
    "githubInfrastructureEnvironment",
    "wafRateLimit",  # required in staging and prod only, like certificateArn
}


def full(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def problems_for(base: dict[str, Any] | None = None, /, **overrides: Any) -> dict[str, str]:
    raw = dict(GOOD if base is None else base)
    for key, value in overrides.items():
        if value is ...:
            raw.pop(full(key), None)
        else:
            raw[full(key)] = value
    with pytest.raises(ConfigError) as failure:
        load_settings(raw, "test")
    return {p.key: p.reason for p in failure.value.problems}


@pytest.mark.parametrize(
    "record_id", ["green@2026-11-27T05:12:03.417Z", "green@2026-11-27T05:12:03Z"]
)
def test_retry_rollback_takes_an_id_to_the_millisecond_or_an_older_one_to_the_second(
    record_id: str,
) -> None:
    settings = load_settings({**GOOD, full("retryRollback"): record_id}, "staging")
    assert settings.retry_rollback == record_id


def test_a_good_mapping_becomes_frozen_typed_settings() -> None:
    settings = load_settings(GOOD, "staging")
    assert settings.live_colour is Colour.BLUE
    assert settings.traffic.steps == (10, 50, 100)
    assert settings.traffic.insufficient_data is InsufficientData.IGNORE
    assert settings.network.nat is NatLayout.PER_ZONE
    assert str(settings.network.cidr) == "10.20.0.0/16"
    assert settings.alb.deletion_protection is False
    assert settings.alerting.webhooks == ()
    assert settings.alerting.chats == (ChatChannel(Tier.CRITICAL, "T0EXAMPLE1", "C0STAGING1"),)
    assert settings.secret_value_keys == ("database-password", "api-signing-key")
    assert settings.tags == {
        "environment": "staging",
        "project": "switchyard",
        "owner": "platform-team",
        "cost-centre": "cc-1001",
    }
    assert [str(c) for c in settings.checks.smoke] == [
        "/healthz -> 200 within 2s",
        "/api/orders -> 200 within 5s",
    ]
    assert settings.checks.load.concurrency == 16
    assert settings.checks.baseline is BaselineSource.MEASURED
    with pytest.raises(AttributeError):
        settings.traffic.bake_seconds = 1  # type: ignore[misc]


def test_pulumi_config_strings_are_read_like_yaml_values() -> None:
    # Pulumi's runtime hands scalars over as strings and arrays as JSON text.
    raw = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in GOOD.items()}
    assert raw["switchyard:trafficSteps"] == "[10, 50, 100]"
    assert load_settings(raw, "staging") == load_settings(GOOD, "staging")


@pytest.mark.parametrize(("key", "value", "reason"), BAD_VALUES)
def test_each_bad_value_names_its_key_and_why(key: str, value: Any, reason: str) -> None:
    problems = problems_for(**{key: value})
    assert list(problems) == [full(key)]
    assert reason in problems[full(key)]


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("vpcCidr", "10.0.0.0/1", "must be a /16 to /24 block, got /1"),
        ("vpcCidr", "127.0.0.1/16", "overlaps 127.0.0.0/8 (loopback)"),
        ("testClientCidrs", ["10.0.0.0/1"], "10.0.0.0/1 opens the test listener"),
        ("testClientCidrs", ["127.0.0.1/24"], "overlaps 127.0.0.0/8 (loopback)"),
        ("clusterPublicAccessCidrs", ["10.0.0.0/1"], "10.0.0.0/1 opens the Kubernetes API"),
    ],
)
def test_a_block_with_host_bits_suggests_only_a_block_that_would_be_accepted(
    key: str, value: Any, reason: str
) -> None:
    """10.0.0.0/1 means 0.0.0.0/1, which is refused too: say what is wrong, suggest nothing."""
    problem = problems_for(**{key: value})[full(key)]
    assert reason in problem
    assert "did you mean" not in problem


@pytest.mark.parametrize(
    "key", [k.full for k in DECLARED if not k.optional and k.full != SECRET_VALUES_KEY]
)
def test_each_missing_required_key_names_the_command_that_sets_it(key: str) -> None:
    problems = problems_for(**{key: ...})
    assert f"pulumi config set {key}" in problems[key]


# Required in staging and prod only: a certificate, a web ACL, and someone to page.
IN_DEV_ONLY_OPTIONAL = {
    "certificateArn",
    "wafRateLimit",
    "incidentContacts",
    "criticalEscalation",
    "emergencyEscalation",
}


@pytest.mark.parametrize("key", sorted(OPTIONAL - IN_DEV_ONLY_OPTIONAL))
def test_optional_keys_may_be_left_out(key: str) -> None:
    raw = {k: v for k, v in GOOD.items() if k != full(key)}
    if key == "alertWebhooks":
        assert load_settings(raw, "staging").alerting.webhooks == ()
    else:
        assert load_settings(raw, "staging").stack == "staging"


@pytest.mark.parametrize("key", ["criticalEscalation", "emergencyEscalation"])
def test_staging_without_an_escalation_says_it_would_page_nobody(key: str) -> None:
    assert "has no stage" in problems_for(**{key: ...})[full(key)]


def test_a_bad_stage_is_reported_once_not_again_as_an_unused_contact() -> None:
    problems = problems_for(criticalEscalation=["0:oncall-staging"], emergencyEscalation=[])
    assert set(problems) == {full("criticalEscalation"), full("emergencyEscalation")}
    assert "started by the emergency alarms" in problems[full("emergencyEscalation")]


def test_dev_may_page_nobody() -> None:
    dev = load_stack("dev")
    assert not dev.incidents.enabled and dev.incidents.contacts == ()
    assert dev.slo.availability_percent == 99.0 and dev.slo.period_days == 30


def test_prod_escalates_each_paging_tier_in_stages() -> None:
    prod = load_stack("prod")
    assert prod.slo.error_budget == 0.001
    assert set(prod.incidents.escalations) == {t for t in Tier if t.pages}
    first = prod.incidents.escalations[Tier.EMERGENCY][0]
    assert first.minutes == 5 and first.contacts == ("oncall-primary",)
    assert prod.incidents.replication_set_arn is None  # prod creates the account's set


def test_dev_may_run_without_a_certificate() -> None:
    assert load_stack("dev").alb.certificate_arn is None


def test_every_problem_is_reported_in_one_error() -> None:
    problems = problems_for(bakeSeconds=0, liveColour="red", trafficSteps=[5], azCount=9)
    assert set(problems) == {
        "switchyard:bakeSeconds",
        "switchyard:liveColour",
        "switchyard:trafficSteps",
        "switchyard:azCount",
    }


def test_a_vpc_too_small_for_its_zones_is_rejected() -> None:
    certificate = GOOD["switchyard:certificateArn"].replace("eu-west-1", "us-east-1")
    us_east_1 = {**GOOD, "aws:region": "us-east-1", "switchyard:certificateArn": certificate}
    problems = problems_for(us_east_1, vpcCidr="10.0.0.0/24", azCount=6)  # it has six zones
    assert "too small for 6 zones" in problems["switchyard:vpcCidr"]


def test_a_misspelt_key_is_rejected_with_a_suggestion() -> None:
    problems = problems_for(bakeSecond=60)
    assert "did you mean switchyard:bakeSeconds?" in problems["switchyard:bakeSecond"]


def test_the_secret_values_key_is_known_but_not_read_here() -> None:
    secret = "value-that-must-stay-out-of-the-model"
    settings = load_settings({**GOOD, SECRET_VALUES_KEY: json.dumps({"x": secret})}, "staging")
    assert secret not in repr(settings)


def test_the_error_message_lists_the_keys_and_says_nothing_changed() -> None:
    with pytest.raises(ConfigError) as failure:
        load_settings({**GOOD, "switchyard:pollSeconds": 0}, "prod")
    message = str(failure.value)
    assert "stack 'prod' has 1 invalid setting(s); nothing was changed" in message
    assert "switchyard:pollSeconds: must be in 1..300, got 0" in message


def test_a_policy_survives_pulumis_float_numbers() -> None:
    # Provider inputs cross the engine as protobuf Structs, where every number is a double.
    policy = load_settings(GOOD, "staging").traffic
    floats = {
        k: ([float(x) for x in v] if isinstance(v, list) else float(v) if isinstance(v, int) else v)
        for k, v in policy.to_inputs().items()
    }
    assert traffic_policy_from_inputs(floats) == policy


def test_a_policy_round_trips_through_its_input_spelling() -> None:
    policy = load_settings(GOOD, "staging").traffic
    assert traffic_policy_from_inputs(policy.to_inputs()) == policy


def test_a_bad_policy_input_is_a_config_error_naming_the_field() -> None:
    with pytest.raises(ConfigError) as failure:
        traffic_policy_from_inputs({"trafficSteps": [100], "bakeSeconds": 10})
    assert set(failure.value.keys) == {"pollSeconds", "minHealthyTargets", "insufficientData"}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_stack_file_is_valid(stack: str) -> None:
    settings = load_stack(stack)
    assert settings.environment == stack


def test_the_stacks_differ_sensibly() -> None:
    dev, staging, prod = (load_stack(s) for s in ("dev", "staging", "prod"))
    assert prod.traffic.steps == (10, 50, 100)
    assert prod.traffic.bake_seconds >= 600
    assert prod.traffic.insufficient_data is InsufficientData.ROLLBACK
    assert (
        dev.traffic.total_bake_seconds
        < staging.traffic.total_bake_seconds
        < prod.traffic.total_bake_seconds
    )
    assert (dev.network.az_count, staging.network.az_count, prod.network.az_count) == (2, 3, 3)
    assert dev.network.nat is NatLayout.SINGLE
    assert prod.network.nat is NatLayout.PER_ZONE
    assert prod.alb.deletion_protection
    assert not dev.alb.deletion_protection
    assert prod.alarms["errorRateMinutes"] == 5
    assert prod.alarms["resourceMinutes"] == 10


def test_an_unknown_stack_names_the_known_ones() -> None:
    with pytest.raises(StackNotFound, match="known stacks: dev, prod, staging"):
        load_stack("qa")
    assert available_stacks() == ["dev", "prod", "staging"]


def test_pulumi_yaml_documents_every_key_as_declared() -> None:
    project = yaml.safe_load((Path(PROJECT_ROOT) / "Pulumi.yaml").read_text())
    declared = schema()
    assert list(project["config"]) == list(declared), "run `make schema`"
    for key, entry in declared.items():
        assert project["config"][key] == entry, f"{key}: run `make schema`"
        assert len(entry["description"]) > 20, key
    assert project["config"]["secretValues"]["secret"] is True
    assert {k for k, e in declared.items() if "default" in e} == OPTIONAL
    assert project["main"] == "infra/"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"


# A pattern ending in `$` also matches before a final newline; a pasted value keeps one.
NEWLINE_SENSITIVE = (
    "aws:region",
    "switchyard:blueImage",
    "switchyard:greenImage",
    "switchyard:deployRoleArn",
    "switchyard:clusterAdminRoleArns",
    "switchyard:nodeInstanceTypes",
    "switchyard:alertEmails",
    "switchyard:alertChatChannels",
    "switchyard:secretNames",
    "switchyard:smokeChecks",
)


@pytest.mark.parametrize("key", NEWLINE_SENSITIVE)
def test_a_value_with_a_trailing_newline_is_refused(key: str) -> None:
    value = GOOD[key]
    bad = [f"{value[0]}\n", *value[1:]] if isinstance(value, list) else f"{value}\n"
    with pytest.raises(ConfigError) as failure:
        load_settings({**GOOD, key: bad}, "staging")
    assert key in {p.key for p in failure.value.problems}
