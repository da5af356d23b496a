"""The whole program under Pulumi's mock runtime, for every stack file.

Each assertion names the resource and the input it checks.
"""

from __future__ import annotations

import itertools
import json
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from delivery.config.model import Colour, Settings
from delivery.config.settings import SECRET_VALUES_KEY
from delivery.config.stackfile import PROJECT_ROOT, load_stack
from delivery.errors import ConfigError
from delivery.plans.alarms import worst_case_fault_to_rollback
from infra.offline import Evaluation, RecordingMocks, Registered, is_secret
from tests.bad_config import BAD_VALUES
from tests.program.harness import SECRET_VALUES, arn_of, evaluate, is_private

STACKS = ("dev", "staging", "prod")
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest) -> tuple[Settings, Evaluation]:
    return load_stack(request.param), evaluate(request.param)


def plain(value: Any) -> Any:
    return value["value"] if is_secret(value) else value


def test_the_graph_builds_with_every_component(stack: tuple[Settings, Evaluation]) -> None:
    _, run = stack
    components = {r.type for r in run.mocks.resources if not r.custom}
    assert components >= {
        "switchyard:network:MultiAzNetwork",
        "switchyard:secrets:EnvironmentSecrets",
        "switchyard:alerting:AlertTopics",
        "switchyard:traffic:WeightedAlb",
        "switchyard:alarms:RollbackAlarms",
        "switchyard:dashboard:EnvironmentDashboard",
        "switchyard:cutover:BlueGreenCutover",
    }
    for resource in run.mocks.resources:
        if resource.custom and not resource.type.startswith("pulumi:providers"):
            assert "switchyard:" in run.mocks.options[resource.name].parent, (
                f"{resource.name} is not a child of a component"
            )


def test_subnets_spread_over_the_zones_without_overlap(stack: tuple[Settings, Evaluation]) -> None:
    settings, run = stack
    subnets = run.mocks.of_type("aws:ec2/subnet:Subnet")
    for tier in ("public", "private"):
        tiered = [s for s in subnets if s.inputs["tags"]["tier"] == tier]
        zones = {s.inputs["availabilityZone"] for s in tiered}
        assert len(tiered) == len(zones) == settings.network.az_count, f"{tier} subnets: {zones}"
    networks = [IPv4Network(s.inputs["cidrBlock"]) for s in subnets]
    for a, b in itertools.combinations(networks, 2):
        assert not a.overlaps(b), f"subnet cidrBlock {a} overlaps {b}"
    assert all(n.subnet_of(settings.network.cidr) for n in networks)


def test_nat_layout_matches_the_stack(stack: tuple[Settings, Evaluation]) -> None:
    settings, run = stack
    nats = run.mocks.of_type("aws:ec2/natGateway:NatGateway")
    expected = 1 if settings.network.nat.value == "single" else settings.network.az_count
    assert len(nats) == expected
    routes = {r.name: r.inputs for r in run.mocks.of_type("aws:ec2/route:Route")}
    for i in range(settings.network.az_count):
        nat = routes[f"network-private-{i}-default"]["natGatewayId"]
        assert nat == f"network-nat-{i % expected}-id", f"private route {i} natGatewayId"
    assert routes["network-public-default"]["gatewayId"] == "network-igw-id"


LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def test_flow_logs_go_to_cloudwatch_logs(stack: tuple[Settings, Evaluation]) -> None:
    settings, run = stack
    (flow,) = run.mocks.of_type("aws:ec2/flowLog:FlowLog")
    group = run.mocks.named("network-flow-logs", "aws:cloudwatch/logGroup:LogGroup")
    role = run.mocks.named("network-flow-logs", "aws:iam/role:Role")
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["vpcId"] == run.exports["vpcId"]
    assert flow.inputs["logDestination"] == arn_of(
        run, group.name, "aws:cloudwatch/logGroup:LogGroup"
    )
    assert flow.inputs["iamRoleArn"] == arn_of(run, role.name, "aws:iam/role:Role")
    assert group.inputs["retentionInDays"] == settings.network.flow_log_retention_days


def test_security_groups_admit_nothing_else(stack: tuple[Settings, Evaluation]) -> None:
    settings, run = stack
    alb = settings.alb
    rules = {r.name: r.inputs for r in run.mocks.of_type(INGRESS)}
    internet = {r["fromPort"] for r in rules.values() if r.get("cidrIpv4") == "0.0.0.0/0"}
    assert internet == ({80, 443} if alb.certificate_arn else {80})
    test_sources = {
        r["cidrIpv4"] for r in rules.values() if r["fromPort"] == alb.test_listener_port
    }
    assert test_sources == {str(settings.network.cidr), *map(str, alb.test_client_cidrs)}
    into_targets = [r for r in rules.values() if r["securityGroupId"] == "traffic-targets-sg-id"]
    assert into_targets == [
        {
            **into_targets[0],
            "fromPort": alb.target_port,
            "toPort": alb.target_port,
            "referencedSecurityGroupId": "traffic-alb-sg-id",
        }
    ]
    for group in run.mocks.of_type("aws:ec2/securityGroup:SecurityGroup"):
        assert not group.inputs.get("ingress"), f"{group.name} has inline ingress rules"
    for name, rule in rules.items():
        assert rule["fromPort"] == rule["toPort"], f"{name} opens a port range"


def listener(run: Evaluation, name: str) -> Registered:
    return run.mocks.named(name)


def test_the_production_listener_forwards_to_both_groups(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    production = listener(run, "traffic-production")
    (action,) = production.inputs["defaultActions"]
    weights = {g["arn"]: g["weight"] for g in action["forward"]["targetGroups"]}
    groups = {c: run.exports["targetGroupArns"][c.value] for c in Colour}
    assert weights == {groups[settings.live_colour]: 100, groups[settings.live_colour.other]: 0}
    assert run.mocks.options["traffic-production"].ignore_changes == ("defaultActions",)
    if settings.alb.certificate_arn:
        assert production.inputs["port"] == 443
        assert production.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
        redirect = listener(run, "traffic-http-redirect").inputs["defaultActions"][0]
        assert redirect["redirect"] == {
            "port": "443",
            "protocol": "HTTPS",
            "statusCode": "HTTP_301",
        }
    else:
        assert (production.inputs["port"], production.inputs["protocol"]) == (80, "HTTP")


def test_the_test_listener_reaches_only_the_idle_colour(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    test = listener(run, "traffic-test")
    assert test.inputs["port"] == settings.alb.test_listener_port
    (action,) = test.inputs["defaultActions"]
    idle = run.exports["targetGroupArns"][settings.live_colour.other.value]
    assert action == {"type": "forward", "targetGroupArn": idle}


def test_target_groups_check_health_as_configured(stack: tuple[Settings, Evaluation]) -> None:
    settings, run = stack
    for colour in Colour:
        check = run.mocks.named(f"traffic-{colour}").inputs["healthCheck"]
        assert check["path"] == settings.alb.health_check.path
        assert check["interval"] == settings.alb.health_check.interval_seconds
        assert check["healthyThreshold"] == settings.alb.health_check.healthy_threshold


def test_every_rollback_trigger_has_its_alarm_per_colour(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    t = settings.alarms
    alarms = {r.inputs["name"]: r.inputs for r in run.mocks.of_type(ALARM)}
    critical = run.exports["alertTopicArns"]["critical"]
    for colour in Colour:
        prefix = f"switchyard-{settings.environment}-{colour}"
        five_xx = alarms[f"{prefix}-5xx-rate"]
        assert five_xx["threshold"] == t["fiveXxRatePercent"]
        assert f"requests >= {t['minRequestCount']}" in five_xx["metricQueries"][2]["expression"]
        assert [q.get("returnData", False) for q in five_xx["metricQueries"]] == [
            False,
            False,
            True,
        ]
        latency = alarms[f"{prefix}-latency"]
        assert latency["threshold"] == pytest.approx(
            t["latencyBaselineMs"] * t["latencyFactor"] / 1000
        )
        assert latency["extendedStatistic"] == "p95"
        errors = alarms[f"{prefix}-error-rate"]
        assert (errors["threshold"], errors["evaluationPeriods"]) == (
            t["errorRatePercent"],
            t["errorRateMinutes"],
        )
        for kind, limit in (("cpu", t["cpuPercent"]), ("memory", t["memoryPercent"])):
            resource = alarms[f"{prefix}-{kind}"]
            assert (resource["threshold"], resource["evaluationPeriods"]) == (
                limit,
                t["resourceMinutes"],
            )
            assert resource["dimensions"]["Service"] == f"{settings.workload.service_name}-{colour}"
            assert resource["treatMissingData"] == "missing"
        for kind in ("5xx-rate", "latency", "error-rate", "cpu", "memory"):
            # The critical topic first; the incident it starts is tests/program/test_incidents.py's
            assert alarms[f"{prefix}-{kind}"]["alarmActions"][0] == critical, kind
    assert run.exports["gatingAlarms"] == run.exports["alarmNames"][settings.live_colour.value]


def test_a_composite_alarm_per_colour_pages_through_emergency(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    composites = {
        r.inputs["alarmName"]: r.inputs
        for r in run.mocks.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")
    }
    for colour in Colour:
        page = composites[f"switchyard-{settings.environment}-{colour}-page"]
        for name in run.exports["alarmNames"][colour.value]:
            assert f'ALARM("{name}")' in page["alarmRule"]
        assert page["alarmActions"][0] == run.exports["alertTopicArns"]["emergency"]


def test_alert_tiers_and_subscriptions(stack: tuple[Settings, Evaluation]) -> None:
    settings, run = stack
    topics = {r.inputs["name"] for r in run.mocks.of_type("aws:sns/topic:Topic")}
    assert topics == {
        f"switchyard-{settings.environment}-{t}"
        for t in ("info", "warning", "critical", "emergency")
    }
    subscriptions = run.mocks.of_type("aws:sns/topicSubscription:TopicSubscription")
    emails = [s for s in subscriptions if s.inputs["protocol"] == "email"]
    hooks = [s for s in subscriptions if s.inputs["protocol"] == "https"]
    assert len(emails) == len(settings.alerting.emails)
    assert len(hooks) == len(settings.alerting.webhooks)
    assert all(is_secret(h.inputs["endpoint"]) for h in hooks), "webhook URLs must stay secret"


def test_the_dashboard_shows_every_alarm(stack: tuple[Settings, Evaluation]) -> None:
    settings, run = stack
    body = json.loads(
        run.mocks.of_type("aws:cloudwatch/dashboard:Dashboard")[0].inputs["dashboardBody"]
    )
    alarm_widget = next(w for w in body["widgets"] if w["type"] == "alarm")
    every = [
        r
        for r in run.mocks.resources
        if r.type in (ALARM, "aws:cloudwatch/compositeAlarm:CompositeAlarm")
    ]
    # 14 rollback, 1 audit, 4 burn-rate alerts of two windows and a composite each
    assert len(alarm_widget["properties"]["alarms"]) == len(every) == 15 + 4 * 3
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert "Requests per colour (the weights at work)" in titles
    assert run.exports["dashboardUrl"].endswith(
        f"#dashboards:name=switchyard-{settings.environment}"
    )


def test_secrets_are_pulumi_secrets_everywhere(stack: tuple[Settings, Evaluation]) -> None:
    settings, run = stack
    versions = run.mocks.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert len(versions) == len(settings.secrets.names)
    for version in versions:
        assert is_secret(version.inputs["secretString"]), f"{version.name} secretString"
    exported = json.dumps(run.exports)
    for value in SECRET_VALUES.values():
        assert value not in exported, "a secret value reached the stack outputs"
    for resource in run.mocks.resources:
        if resource.type in (
            "aws:secretsmanager/secretVersion:SecretVersion",
            "aws:sns/topicSubscription:TopicSubscription",
        ):
            continue
        text = json.dumps(resource.inputs, default=str)
        assert not any(v in text for v in SECRET_VALUES.values()), resource.name


def test_the_key_rotates_and_the_policy_reads_only_this_environment(
    stack: tuple[Settings, Evaluation],
) -> None:
    settings, run = stack
    key = run.mocks.of_type("aws:kms/key:Key")[0].inputs
    assert key["enableKeyRotation"] is True
    assert key["rotationPeriodInDays"] == settings.secrets.key_rotation_days
    rotations = run.mocks.of_type("aws:secretsmanager/secretRotation:SecretRotation")
    assert len(rotations) == (
        len(settings.secrets.names) if settings.secrets.rotation_lambda_arn else 0
    )
    policy = json.loads(run.mocks.named("secrets-read").inputs["policy"])
    read = policy["Statement"][0]
    assert sorted(read["Resource"]) == sorted(run.exports["secretArns"].values())
    assert set(read["Action"]) == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert all("*" not in arn for arn in read["Resource"])


def test_every_aws_resource_carries_the_tags(stack: tuple[Settings, Evaluation]) -> None:
    settings, run = stack
    (provider,) = run.mocks.of_type("pulumi:providers:aws")
    assert json.loads(provider.inputs["defaultTags"]) == {"tags": settings.tags}
    assert set(settings.tags) == {"environment", "project", "owner", "cost-centre"}
    for resource in run.mocks.resources:
        if resource.custom and resource.type.startswith("aws:"):
            assert resource.provider and "pulumi:providers:aws::aws" in resource.provider, (
                f"{resource.name} is not created by the tagging provider"
            )


def test_deletion_protection_only_in_prod(stack: tuple[Settings, Evaluation]) -> None:
    settings, run = stack
    prod = settings.environment == "prod"
    assert run.mocks.named("traffic-alb").inputs.get("enableDeletionProtection", False) is prod
    for name in ("traffic-alb", "traffic-blue", "traffic-green"):
        assert run.mocks.options[name].protect is prod, f"{name} protect"


def test_access_logs_go_to_an_encrypted_private_bucket(stack: tuple[Settings, Evaluation]) -> None:
    _, run = stack
    logs = run.mocks.named("traffic-alb").inputs["accessLogs"]
    assert logs["enabled"] is True
    [sse] = [
        r.inputs["rules"][0]
        for r in run.mocks.of_type(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
        if r.name == "traffic-access-logs"
    ]
    assert sse["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    assert is_private(run, "traffic-access-logs")


def test_the_cutover_owns_the_production_listener(stack: tuple[Settings, Evaluation]) -> None:
    settings, run = stack
    weights = run.mocks.named("cutover-weights").inputs
    assert weights["listener_arn"] == run.exports["productionListenerArn"]
    assert weights["target_groups"] == run.exports["targetGroupArns"]
    assert weights["gating_alarms"] == run.exports["alarmNames"]
    assert weights["policy"]["bakeSeconds"] == settings.traffic.bake_seconds
    assert run.exports["worstCaseFaultToRollbackSeconds"] == worst_case_fault_to_rollback(settings)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"switchyard:azCount": 9}, "switchyard:azCount"),
        ({"switchyard:bakeSeconds": 30}, "switchyard:bakeSeconds"),
        ({"switchyard:testClientCidrs": ["0.0.0.0/0"]}, "switchyard:testClientCidrs"),
        ({"switchyard:natGateways": "lots"}, "switchyard:natGateways"),
        ({"switchyard:certificateArn": None}, "switchyard:certificateArn"),
        ({"switchyard:liveColour": "teal"}, "switchyard:liveColour"),
        ({"switchyard:bakeSecs": 600}, "switchyard:bakeSecs"),
    ],
)
def test_bad_configuration_registers_nothing(overrides: dict[str, Any], key: str) -> None:
    mocks = RecordingMocks()
    with pytest.raises(ConfigError) as failure:
        evaluate("prod", overrides, mocks=mocks)
    assert key in failure.value.keys
    assert mocks.resources == []


# Pulumi hands every scalar over as text, so a number is never "must be text" in the program.
@pytest.mark.parametrize(
    ("key", "value", "reason"), [b for b in BAD_VALUES if b[2] != "must be text"]
)
def test_every_bad_value_of_every_key_stops_the_program_first(
    key: str, value: Any, reason: str
) -> None:
    full = key if ":" in key else f"switchyard:{key}"
    mocks = RecordingMocks()
    with pytest.raises(ConfigError) as failure:
        evaluate("staging", {full: None if value is ... else value}, mocks=mocks)
    assert full in failure.value.keys
    assert mocks.resources == []


@pytest.mark.parametrize(
    ("key", "written", "reason"),
    [
        ("owner", "[[platform]]", "must be text, written as one value (switchyard:owner: <text>)"),
        ("owner", "{team: platform}", "not an object; got {'team': 'platform'}"),
        ("bakeSeconds", "[[600]]", "must be a whole number in 1..86400, got [[600]]"),
        ("liveColour", "[blue]", "must be one of blue, green, got ['blue']"),
    ],
)
def test_check_and_the_program_say_the_same_about_a_list_where_text_belongs(
    tmp_path: Path, key: str, written: str, reason: str
) -> None:
    """check reads the stack file's list; the program gets it from Pulumi as JSON text."""
    original = (PROJECT_ROOT / "Pulumi.staging.yaml").read_text()
    kept = [row for row in original.splitlines() if not row.startswith(f"  switchyard:{key}:")]
    (tmp_path / "Pulumi.qa.yaml").write_text("\n".join([*kept, f"  switchyard:{key}: {written}"]))
    with pytest.raises(ConfigError) as by_check:
        load_stack("qa", tmp_path)
    value = yaml.safe_load(written)
    with pytest.raises(ConfigError) as by_program:
        evaluate("staging", {f"switchyard:{key}": value})
    assert by_check.value.problems == by_program.value.problems
    [problem] = by_program.value.problems
    assert problem.key == f"switchyard:{key}"
    assert reason in problem.reason


def test_a_region_the_offline_zone_table_lacks_is_named_by_the_program() -> None:
    # botocore offers eusc-de-east-1; the offline runtime answers zones from ZONES alone.
    mocks = RecordingMocks()
    overrides = {"aws:region": "eusc-de-east-1", "switchyard:rotationLambdaArn": None}
    with pytest.raises(ConfigError) as failure:
        evaluate("dev", overrides, mocks=mocks)
    [problem] = failure.value.problems
    assert problem.key == "switchyard:azCount"
    assert problem.reason.startswith("eusc-de-east-1 answered no available Availability Zones")
    assert "ZONES in delivery/config/regions.py" in problem.reason
    assert mocks.resources == []


def test_missing_secret_values_are_named_with_the_command() -> None:
    partial = {k: v for k, v in SECRET_VALUES.items() if k != "database-password"}
    mocks = RecordingMocks()
    with pytest.raises(ConfigError) as failure:
        evaluate("prod", secrets=partial, mocks=mocks)
    assert failure.value.keys == (f"{SECRET_VALUES_KEY}.database-password",)
    assert "pulumi config set --secret --path" in str(failure.value)
    assert mocks.resources == []


def test_secret_values_in_plain_text_are_refused() -> None:
    with pytest.raises(ConfigError, match="stored in plain text"):
        evaluate("dev", {SECRET_VALUES_KEY: SECRET_VALUES}, secrets=None)


def test_the_offline_preview_lists_the_graph(capsys: pytest.CaptureFixture[str]) -> None:
    from infra.offline import main

    assert main(["--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert "   4  aws:ec2/subnet:Subnet" in out  # dev: two zones, public and private
    assert "resources in stack dev" in out


def test_the_offline_preview_reports_a_bad_stack(capsys: pytest.CaptureFixture[str]) -> None:
    from infra.offline import main

    assert main(["--stack", "qa"]) == 2
    assert "no stack file Pulumi.qa.yaml" in capsys.readouterr().err


class RecordedLiveMocks(RecordingMocks):
    """The cutover's dynamic resource reports ``recorded`` as the colour last promoted, as its
    state does while a shift runs or after one was rolled back."""

    def __init__(self, recorded: Colour) -> None:
        super().__init__()
        self.recorded = recorded

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        id_, outputs = super().new_resource(args)
        if args.typ == "pulumi-python:dynamic:Resource":
            outputs = {**outputs, "live_colour": self.recorded.value}
        return id_, outputs


@pytest.mark.parametrize("stack_name", ["staging"])
def test_the_test_listener_follows_the_cutovers_outcome_not_the_config(stack_name: str) -> None:
    """liveColour says green, but the cutover has not promoted it (a shift running, or rolled
    back): the test listener must keep reaching green, the candidate, for diagnosis."""
    run = evaluate(stack_name, {"liveColour": "green"}, mocks=RecordedLiveMocks(Colour.BLUE))
    (action,) = listener(run, "traffic-test").inputs["defaultActions"]
    assert action["targetGroupArn"] == run.exports["targetGroupArns"]["green"]
    assert run.exports["liveColour"] == "blue"
    assert run.mocks.options["traffic-test"].parent.endswith("TestListener::test-listener")
    # It moved from the load balancer component: an alias keeps it the same listener.
    aliases = run.mocks.options["traffic-test"].aliases
    assert any('parentUrn: "' in a and "WeightedAlb::traffic" in a for a in aliases), aliases


def test_the_offline_runtime_answers_each_regions_real_zones() -> None:
    # dev's rotation function lives in eu-west-1: none in the other region
    run = evaluate("dev", {"aws:region": "us-west-1", "switchyard:rotationLambdaArn": None})
    zones = {s.inputs["availabilityZone"] for s in run.mocks.of_type("aws:ec2/subnet:Subnet")}
    assert zones == {"us-west-1a", "us-west-1b"}  # us-west-1 has two zones
    assert run.exports["albDnsName"].endswith(".us-west-1.elb.amazonaws.com")
