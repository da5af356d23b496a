"""Reads raw configuration into the typed model (``delivery.config.model``).

A plain mapping of fully qualified config keys (what a ``Pulumi.<stack>.yaml`` holds under
``config:``, or what Pulumi's runtime holds) goes in; frozen dataclasses come out, or one
``ConfigError`` that names every bad key and why. Nothing else in Switchyard reads configuration.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import re
from collections.abc import Mapping
from typing import Any, Final

from delivery.config.alarm_kinds import ALARM_KEYS, KINDS
from delivery.config.keys import DECLARED, REGION, SECRET_VALUES, qualified, unknown_key_problems
from delivery.config.model import (
    HOOK_HASH_CHARS,
    PROJECT,
    AlarmThresholds,
    AlbSettings,
    AlertingSettings,
    BaselineSource,
    Colour,
    Environment,
    HealthCheck,
    InsufficientData,
    LoadCheck,
    NatLayout,
    NetworkSettings,
    ReleaseChecks,
    SecretsSettings,
    Settings,
    SmokeCheck,
    Subscription,
    Tier,
    TrafficPolicy,
    Workload,
)
from delivery.config.reader import ConfigReader, shown
from delivery.config.workloads import read_cluster, read_release, read_service
from delivery.errors import ConfigError

REGION_KEY: Final = REGION.full
# Secret values live in one secret object (`pulumi config set --secret --path
# 'secretValues.<name>' ...`). Only the program reads it; the model knows the names.
SECRET_VALUES_KEY: Final = SECRET_VALUES.full
# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS: Final = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ROLLBACK_ID = re.compile(r"(blue|green)@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
MAX_SERVICE_NAME: Final = 63 - len("-hook-") - HOOK_HASH_CHARS  # Kubernetes names: 63 at most
_URL_PATH = re.compile(r"/[\w./-]*\Z")  # matched from the start: the whole value
_CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[\w-]+$")
_LAMBDA_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]+$")


def _steps_problem(steps: list[Any]) -> str | None:
    if not steps:
        return "must list at least one step, ending at 100"
    if any(isinstance(s, bool) or not isinstance(s, int) for s in steps):
        return f"must contain whole percentages only, got {shown(steps)}"
    if any(not 1 <= s <= 100 for s in steps):
        return f"every step must be in 1..100, got {shown(steps)}"
    if any(b <= a for a, b in itertools.pairwise(steps)):
        return f"steps must be strictly increasing, got {shown(steps)}"
    if steps[-1] != 100:
        return f"the last step must be 100 so the release ends with all traffic, got {shown(steps)}"
    return None


def read_traffic_policy(reader: ConfigReader) -> TrafficPolicy | None:
    raw_steps = reader.listing("trafficSteps")
    steps: tuple[int, ...] | None = None
    if raw_steps is not None:
        problem = _steps_problem(raw_steps)
        if problem:
            reader.fail("trafficSteps", problem)
        else:
            steps = tuple(raw_steps)
    bake = reader.integer("bakeSeconds")
    poll = reader.integer("pollSeconds")
    if bake is not None and poll is not None and poll > bake:
        reader.fail("pollSeconds", f"must not exceed bakeSeconds ({bake}), got {poll}")
        poll = None
    healthy = reader.integer("minHealthyTargets")
    insufficient = reader.choice("insufficientData", InsufficientData)
    if steps is None or bake is None or poll is None or healthy is None or insufficient is None:
        return None
    return TrafficPolicy(steps, bake, poll, healthy, insufficient)


def traffic_policy_from_inputs(inputs: Mapping[str, Any]) -> TrafficPolicy:
    """Parse a policy in its stack-config spelling (``TrafficPolicy.to_inputs``)."""
    reader = ConfigReader(inputs, DECLARED, prefix="")
    policy = read_traffic_policy(reader)
    if reader.problems or policy is None:
        raise ConfigError(reader.problems, source="traffic policy")
    return policy


def _read_network(reader: ConfigReader) -> NetworkSettings | None:
    cidr = reader.network("vpcCidr", 16, 24)
    zones = reader.integer("azCount")
    nat = reader.choice("natGateways", NatLayout)
    retention = reader.integer("flowLogRetentionDays")
    if retention is not None and retention not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in LOG_RETENTION_DAYS[:12])
        reader.fail(
            "flowLogRetentionDays",
            f"must be one CloudWatch Logs accepts ({allowed}, ...), got {retention}",
        )
        retention = None
    if cidr is not None and zones is not None:
        # Private subnets take half the VPC and public ones a quarter, split over the zones.
        smallest = cidr.prefixlen + 2 + math.ceil(math.log2(zones))
        if smallest > 28:
            reader.fail(
                "vpcCidr",
                f"{cidr} is too small for {zones} zones: public subnets "
                f"would be /{smallest}, AWS allows at most /28; use a larger block",
            )
            cidr = None
    if cidr is None or zones is None or nat is None or retention is None:
        return None
    return NetworkSettings(cidr, zones, nat, retention)


def _read_alb(reader: ConfigReader, environment: Environment | None) -> AlbSettings | None:
    certificate = reader.matching("certificateArn", _CERTIFICATE_ARN, "an ACM certificate ARN")
    if (
        certificate is None
        and environment is not None
        and environment.https_only
        and not reader.has_problem("certificateArn")
    ):
        reader.fail(
            "certificateArn",
            f"is required in {environment}: production traffic is "
            "HTTPS only; only dev may run HTTP",
        )
    target_port = reader.integer("targetPort")
    test_port = reader.integer("testListenerPort")
    if test_port in (80, 443):
        reader.fail(
            "testListenerPort", f"must not be 80 or 443, which serve users; got {test_port}"
        )
        test_port = None
    cidrs = _read_cidrs(reader)
    path = reader.matching("healthCheckPath", _URL_PATH, "a URL path starting with /")
    interval = reader.integer("healthCheckIntervalSeconds")
    timeout = reader.integer("healthCheckTimeoutSeconds")
    if interval is not None and timeout is not None and timeout >= interval:
        reader.fail(
            "healthCheckTimeoutSeconds",
            f"must be shorter than healthCheckIntervalSeconds ({interval}), got {timeout}",
        )
        timeout = None
    healthy = reader.integer("healthyThreshold")
    unhealthy = reader.integer("unhealthyThreshold")
    if (
        target_port is None
        or test_port is None
        or cidrs is None
        or path is None
        or interval is None
        or timeout is None
        or healthy is None
        or unhealthy is None
    ):
        return None
    check = HealthCheck(path, interval, timeout, healthy, unhealthy)
    protected = environment is not None and environment.protected
    return AlbSettings(certificate, target_port, test_port, cidrs, check, protected)


def _read_cidrs(reader: ConfigReader) -> tuple[ipaddress.IPv4Network, ...] | None:
    return reader.cidr_blocks(
        "testClientCidrs", "the test listener", "list the CI or VPN ranges that run smoke tests"
    )


def _read_alarms(reader: ConfigReader) -> AlarmThresholds | None:
    values = {key.name: reader.integer(key.name) for key in ALARM_KEYS}
    if any(v is None for v in values.values()):
        return None
    return AlarmThresholds({k: v for k, v in values.items() if v is not None})


def _read_workload(reader: ConfigReader) -> Workload | None:
    what = "a lowercase DNS-style name (a-z, 0-9, -)"
    cluster = reader.matching("clusterName", _NAME, what)
    namespace = reader.matching("k8sNamespace", _NAME, what)
    service = reader.matching("serviceName", _NAME, what)
    if service is not None and len(service) > MAX_SERVICE_NAME:
        reader.fail(
            "serviceName",
            f"must be at most {MAX_SERVICE_NAME} characters, so that '<serviceName>-green' and "
            f"'<serviceName>-hook-<hash>' stay valid Kubernetes names; got {len(service)}",
        )
        service = None
    if cluster is None or namespace is None or service is None:
        return None
    return Workload(cluster, namespace, service)


def _read_subscriptions(reader: ConfigReader, name: str, email: bool) -> tuple[Subscription, ...]:
    found = []
    for item in reader.listing(name) or []:
        tier_text, _, endpoint = str(item).partition(":")
        tiers = [t for t in Tier if t.value == tier_text]
        valid = _EMAIL.match(endpoint) if email else _NAME.match(endpoint)
        if not tiers or not valid:
            what = "an e-mail address" if email else "a secretValues key holding the URL"
            reader.fail(
                name,
                f"entries must be '<tier>:<endpoint>' with tier one of "
                f"{', '.join(Tier)} and endpoint {what}, got {shown(item)}",
            )
            continue
        found.append(Subscription(tiers[0], endpoint))
    return tuple(found)


def _read_secrets(reader: ConfigReader) -> SecretsSettings | None:
    names = reader.listing("secretNames")
    if names is not None:
        bad = [n for n in names if not isinstance(n, str) or not _NAME.match(n)]
        if bad:
            reader.fail("secretNames", f"must be lowercase names (a-z, 0-9, -), got {shown(bad)}")
            names = None
        elif len(set(names)) != len(names):
            reader.fail("secretNames", f"must not repeat a name, got {shown(names)}")
            names = None
    rotation = reader.integer("secretRotationDays")
    lambda_arn = reader.matching("rotationLambdaArn", _LAMBDA_ARN, "a Lambda function ARN")
    key_rotation = reader.integer("keyRotationDays")
    if names is None or rotation is None or key_rotation is None:
        return None
    return SecretsSettings(tuple(names), rotation, lambda_arn, key_rotation)


_SMOKE = re.compile(r"^(?P<path>/\S*) (?P<status>[1-5]\d\d) (?P<timeout>\d+(\.\d+)?)$")


def _read_smoke(reader: ConfigReader) -> tuple[SmokeCheck, ...] | None:
    raw = reader.listing("smokeChecks")
    if raw is None:
        return None
    checks = []
    for item in raw:
        found = _SMOKE.match(str(item))
        timeout = float(found["timeout"]) if found else 0.0
        if not found or not 0 < timeout <= 60:
            reader.fail(
                "smokeChecks",
                "entries must be '<path> <expected status> <timeout seconds>' with a timeout "
                f"in (0, 60], e.g. '/healthz 200 2'; got {shown(item)}",
            )
            return None
        checks.append(SmokeCheck(found["path"], int(found["status"]), timeout))
    if not checks:
        reader.fail("smokeChecks", "must list at least one critical path, e.g. ['/healthz 200 2']")
        return None
    return tuple(checks)


def _read_checks(reader: ConfigReader) -> ReleaseChecks | None:
    smoke = _read_smoke(reader)
    requests = reader.integer("loadRequests")
    duration = reader.integer("loadDurationSeconds")
    concurrency = reader.integer("loadConcurrency")
    p95 = reader.integer("loadP95Ms")
    error_rate = reader.integer("loadErrorRatePercent")
    baseline = reader.choice("latencyBaselineSource", BaselineSource)
    if (
        smoke is None
        or requests is None
        or duration is None
        or concurrency is None
        or p95 is None
        or error_rate is None
        or baseline is None
    ):
        return None
    return ReleaseChecks(
        smoke, LoadCheck(requests, duration, concurrency, p95, float(error_rate)), baseline
    )


def _check_bake_covers_alarms(
    reader: ConfigReader, traffic: TrafficPolicy | None, alarms: AlarmThresholds | None
) -> None:
    if traffic is None or alarms is None:
        return
    kind = max(KINDS, key=lambda k: k.window_seconds(alarms.values))
    window = kind.window_seconds(alarms.values)
    if traffic.bake_seconds < window:
        reader.fail(
            "bakeSeconds",
            f"must be at least {window} s, the evaluation window of the "
            f"{kind.name} alarm: an alarm that cannot fire within a bake protects nothing "
            f"(got {traffic.bake_seconds})",
        )


def load_settings(raw: Mapping[str, Any], stack: str) -> Settings:
    """Validate a stack's whole configuration; raise one ConfigError listing every problem.

    ``raw`` holds every key of the stack, as the stack file or Pulumi's runtime has it; keys
    without a namespace are the project's, as Pulumi reads them.
    """
    config, problems = qualified(raw)
    reader = ConfigReader(config, DECLARED, prefix=f"{PROJECT}:")
    reader.problems.extend(problems)
    region = reader.matching(REGION_KEY, REGION_PATTERN, "an AWS region such as eu-west-1")
    environment = reader.choice("environment", Environment)
    owner = reader.text("owner", lambda v: None if v.strip() else "must not be blank")
    cost_centre = reader.text("costCentre", lambda v: None if v.strip() else "must not be blank")
    live = reader.choice("liveColour", Colour)
    retry_rollback = reader.matching(
        "retryRollback",
        _ROLLBACK_ID,
        "a rollback record's id as the refusal prints it, such as green@2026-11-27T05:12:03Z",
    )
    traffic = read_traffic_policy(reader)
    network = _read_network(reader)
    alb = _read_alb(reader, environment)
    alarms = _read_alarms(reader)
    workload = _read_workload(reader)
    alerting = AlertingSettings(
        _read_subscriptions(reader, "alertEmails", email=True),
        _read_subscriptions(reader, "alertWebhooks", email=False),
    )
    secrets = _read_secrets(reader)
    checks = _read_checks(reader)
    cluster = read_cluster(reader, environment)
    service = read_service(reader, environment)
    release = read_release(reader, environment)
    _check_bake_covers_alarms(reader, traffic, alarms)
    reader.problems.extend(unknown_key_problems(config))
    if reader.problems:
        raise ConfigError(reader.problems, source=f"stack {stack!r}")
    assert region and environment and owner and cost_centre and live and traffic
    assert network and alb and alarms and workload and secrets and checks
    assert cluster and service and release
    return Settings(
        stack,
        environment,
        region,
        owner,
        cost_centre,
        live,
        traffic,
        network,
        alb,
        alarms,
        workload,
        alerting,
        secrets,
        checks,
        cluster,
        service,
        release,
        retry_rollback or "",
    )
