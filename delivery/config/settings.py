"""Reads raw configuration into the typed model (``delivery.config.model``).

A plain mapping of fully qualified config keys (what a ``Pulumi.<stack>.yaml`` holds under
``config:``, or what Pulumi's runtime holds) goes in; frozen dataclasses come out, or one
``ConfigError`` that names every bad key and why. Nothing else in Switchyard reads configuration.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
import re
from collections.abc import Mapping
from typing import Any, Final

from delivery.config.alarm_kinds import ALARM_KEYS, KINDS
from delivery.config.aws_rules import (
    ACM_CERTIFICATE,
    DNS_1035_LABEL,
    DNS_1123_LABEL,
    DNS_LABEL_MAX,
    HEALTH_CHECK_PATH_MAX,
    LAMBDA_FUNCTION,
    MANAGED_POLICY_CHARACTERS,
    SECURITY_GROUP_INBOUND_RULES,
    URL_PATH,
    region_of_arn_problem,
    tag_value_problem,
    worst_case_read_policy,
)
from delivery.config.cross_keys import check_cpu_alarm_above_autoscaler, check_webhook_keys
from delivery.config.incidents import read_incidents, read_slo
from delivery.config.keys import DECLARED, REGION, SECRET_VALUES, qualified, unknown_key_problems
from delivery.config.model import (
    HOOK_HASH_CHARS,
    MAX_SUBNET_PREFIX,
    PROJECT,
    AlarmThresholds,
    AlbSettings,
    AlertingSettings,
    BaselineSource,
    ChatChannel,
    Colour,
    Environment,
    HealthCheck,
    InsufficientData,
    LoadCheck,
    NatLayout,
    NetworkSettings,
    ReleaseChecks,
    SecretsSettings,
    SecuritySettings,
    Settings,
    SmokeCheck,
    Subscription,
    Tier,
    TrafficPolicy,
    Workload,
    default_infrastructure_environment,
    public_subnet_prefix,
)
from delivery.config.nodes import check_node_fit
from delivery.config.pr_environments import read_pr_environments
from delivery.config.reader import ConfigReader, shown
from delivery.config.regions import region_problem, zone_count_problem, zone_names
from delivery.config.workloads import check_capacity, read_cluster, read_release, read_service
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


# re.ASCII in value patterns: \d and \w are ASCII only, not every Unicode digit (U+FF10...).
# Milliseconds since ids must differ for two rollbacks within a second; ids written before
# that have whole seconds and still name their record.
_ROLLBACK_ID = re.compile(r"(blue|green)@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z\Z", re.ASCII)
MIN_CLIENT_PREFIX: Final = 16  # the widest test-client range: 65,536 addresses
_CLUSTER_NAME = re.compile(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}\Z")  # EKS's rule
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}\Z")
# Kubernetes names are 63 characters at most: <serviceName>-green, <serviceName>-hook-<hash>.
MAX_SERVICE_NAME: Final = DNS_LABEL_MAX - len("-hook-") - HOOK_HASH_CHARS
# GitHub's rules: an account (user or organisation) name is 1..39 letters, digits and single
# hyphens, not starting or ending with one (an Enterprise Managed User's adds _<shortcode>); a
# repository name is 1..100 of letters, digits, '.', '-' and '_', and not '.' or '..'.
_GITHUB_REPOSITORY = re.compile(
    r"^(?=[^/]{1,39}/)[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*(?:_[A-Za-z0-9]+)?"
    r"/(?!\.\.?\Z)[A-Za-z0-9_.-]{1,100}\Z",
    re.ASCII,
)
_GITHUB_ENVIRONMENT = re.compile(r"^[A-Za-z0-9_.-]{1,255}\Z")
_OIDC_PROVIDER_ARN = re.compile(
    r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com\Z",
    re.ASCII,
)


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


def _tag_problem(value: str) -> str | None:
    return "must not be blank" if not value.strip() else tag_value_problem(value)


def _read_network(reader: ConfigReader, region: str | None) -> NetworkSettings | None:
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
    known_zones = zone_names(region) if region else None
    problem = (
        zone_count_problem(zones, region, known_zones) if region and zones and known_zones else None
    )
    if problem:
        reader.fail("azCount", problem)
        zones = None
    if cidr is not None and zones is not None:
        smallest = public_subnet_prefix(cidr.prefixlen, zones)
        if smallest > MAX_SUBNET_PREFIX:
            reader.fail(
                "vpcCidr",
                f"{cidr} is too small for {zones} zones: public subnets "
                f"would be /{smallest}, AWS allows at most /{MAX_SUBNET_PREFIX}; "
                "use a larger block",
            )
            cidr = None
    if cidr is None or zones is None or nat is None or retention is None:
        return None
    return NetworkSettings(cidr, zones, nat, retention)


def _read_alb(
    reader: ConfigReader, environment: Environment | None, region: str | None
) -> AlbSettings | None:
    certificate = reader.text("certificateArn", functools.partial(_certificate_problem, region))
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
    path = reader.text("healthCheckPath", _health_path_problem)
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


def _certificate_problem(region: str | None, arn: str) -> str | None:
    found = ACM_CERTIFICATE.match(arn)
    if not found:
        return (
            "must be an ACM certificate ARN, arn:aws:acm:<region>:<account>:certificate/<uuid>, "
            f"got {shown(arn)}"
        )
    if region:
        return region_of_arn_problem(
            found,
            region,
            "an ALB can only use a certificate from its own region",
            f"request or import the certificate in {region} and use that ARN",
        )
    return None


def _health_path_problem(path: str) -> str | None:
    if len(path) > HEALTH_CHECK_PATH_MAX:
        return f"must be at most {HEALTH_CHECK_PATH_MAX} characters (ELB's limit), got {len(path)}"
    if not URL_PATH.match(path):
        return f"must be a URL path starting with / (ASCII, no spaces), got {shown(path)}"
    return None


def _read_cidrs(reader: ConfigReader) -> tuple[ipaddress.IPv4Network, ...] | None:
    return reader.cidr_blocks(
        "testClientCidrs",
        "the test listener, and so the unreleased colour,",
        "list the CI or VPN ranges that run smoke tests",
        widest=MIN_CLIENT_PREFIX,
    )


def _check_test_clients(
    reader: ConfigReader, network: NetworkSettings | None, alb: AlbSettings | None
) -> None:
    """What only the VPC and the listeners together decide about the test clients."""
    if network is None or alb is None:
        return
    inside = [c for c in alb.test_client_cidrs if c.subnet_of(network.cidr)]
    if inside:
        reader.fail(
            "testClientCidrs",
            f"{inside[0]} is the VPC block {network.cidr} or inside it, which the test "
            "listener already admits (AWS refuses the duplicate rule); remove it",
        )
    if alb.inbound_rules > SECURITY_GROUP_INBOUND_RULES:
        room = SECURITY_GROUP_INBOUND_RULES - (alb.inbound_rules - len(alb.test_client_cidrs))
        reader.fail(
            "testClientCidrs",
            f"lists {len(alb.test_client_cidrs)} ranges, but the ALB's security group allows "
            f"{SECURITY_GROUP_INBOUND_RULES} inbound rules and the listeners take the rest: at "
            f"most {room} fit; merge neighbouring ranges",
        )


def _read_alarms(reader: ConfigReader) -> AlarmThresholds | None:
    values = {key.name: reader.integer(key.name) for key in ALARM_KEYS}
    if any(v is None for v in values.values()):
        return None
    return AlarmThresholds({k: v for k, v in values.items() if v is not None})


def _service_problem(name: str) -> str | None:
    """Each colour's pods run as the Kubernetes Service <name>-<colour>, which Container
    Insights reports the CPU and memory alarms' metrics under."""
    if len(name) > MAX_SERVICE_NAME or not DNS_1035_LABEL.match(name):
        return (
            f"must keep <serviceName>-<colour> and <serviceName>-hook-<hash> Kubernetes names "
            f"(DNS-1035 label: a-z, 0-9 and -, starting with a letter, not ending with -, at "
            f"most {DNS_LABEL_MAX} characters), so at most {MAX_SERVICE_NAME} characters; "
            f"got {shown(name)}"
        )
    return None


# Namespaces the program may not create for the workloads: the cluster's own (the kube- prefix
# is reserved for Kubernetes system namespaces, Kubernetes docs "Namespaces"; default exists on
# every cluster, so creating it fails) and the one the CloudWatch add-on installs into.
_TAKEN_NAMESPACES: Final = ("default", "amazon-cloudwatch")


def _namespace_problem(value: str) -> str | None:
    if not (len(value) <= DNS_LABEL_MAX and DNS_1123_LABEL.match(value)):
        return (
            "must be a Kubernetes namespace (DNS-1123 label: a-z, 0-9 and -, at most "
            f"{DNS_LABEL_MAX} characters, not starting or ending with -), got {shown(value)}"
        )
    if value.startswith("kube-") or value in _TAKEN_NAMESPACES:
        return (
            f"is {value!r}, a namespace the cluster or its add-ons own (kube-*, "
            f"{', '.join(_TAKEN_NAMESPACES)}): the program creates the workloads' namespace "
            "with its own Pod Security labels; name one of the service's own, e.g. its "
            "serviceName"
        )
    return None


def _read_workload(reader: ConfigReader) -> Workload | None:
    cluster = reader.matching(
        "clusterName", _CLUSTER_NAME, "an EKS cluster name (letters, digits, - and _, 1..100)"
    )
    namespace = reader.text("k8sNamespace", _namespace_problem)
    service = reader.text("serviceName", _service_problem)
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


# Slack's ids: a workspace (team) T..., a channel C... (public) or G... (private), upper-case
# letters and digits (AWS Chatbot's SlackTeamId and SlackChannelId: 1-256 characters, the ids
# Slack shows under a channel's details).
_SLACK_WORKSPACE = re.compile(r"T[A-Z0-9]{8,20}", re.ASCII)
_SLACK_CHANNEL = re.compile(r"[CG][A-Z0-9]{8,20}", re.ASCII)


def _read_chats(reader: ConfigReader) -> tuple[ChatChannel, ...]:
    found = []
    for item in reader.listing("alertChatChannels") or []:
        tier_text, _, rest = str(item).partition(":")
        kind, _, where = rest.partition(":")
        workspace, _, channel = where.partition("/")
        tiers = [t for t in Tier if t.value == tier_text]
        if (
            not tiers
            or kind != "slack"
            or not _SLACK_WORKSPACE.fullmatch(workspace)
            or not _SLACK_CHANNEL.fullmatch(channel)
        ):
            reader.fail(
                "alertChatChannels",
                f"entries must be '<tier>:slack:<workspace id>/<channel id>' with tier one of "
                f"{', '.join(Tier)}, the workspace id T... and the channel id C... or G... as "
                f"Slack shows them (e.g. 'critical:slack:T0123ABCDE/C0456FGHIJ'), got "
                f"{shown(item)}",
            )
            continue
        found.append(ChatChannel(tiers[0], workspace, channel))
    if len(set(found)) != len(found):
        reader.fail("alertChatChannels", "must not repeat an entry")
    return tuple(found)


def _read_secrets(reader: ConfigReader, region: str | None) -> SecretsSettings | None:
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
    lambda_arn = reader.text("rotationLambdaArn", functools.partial(_lambda_problem, region))
    key_rotation = reader.integer("keyRotationDays")
    if names is None or rotation is None or key_rotation is None:
        return None
    return SecretsSettings(tuple(names), rotation, lambda_arn, key_rotation)


_SMOKE = re.compile(r"^(?P<path>/\S*) (?P<status>[1-5]\d\d) (?P<timeout>\d+(\.\d+)?)\Z", re.ASCII)


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


def _lambda_problem(region: str | None, arn: str) -> str | None:
    found = LAMBDA_FUNCTION.match(arn)
    if not found:
        return (
            "must be a Lambda function ARN, arn:aws:lambda:<region>:<account>:function:<name>, "
            f"got {shown(arn)}"
        )
    if region:
        return region_of_arn_problem(
            found,
            region,
            "Secrets Manager only calls a rotation function in the secret's region",
            f"deploy it in {region} and use that ARN",
        )
    return None


def _check_read_policy(
    reader: ConfigReader,
    region: str | None,
    environment: Environment | None,
    secrets: SecretsSettings | None,
) -> None:
    if region is None or environment is None or secrets is None or not secrets.names:
        return
    prefix = f"{PROJECT}-{environment}"
    size = worst_case_read_policy(region, prefix, secrets.names)
    if size > MANAGED_POLICY_CHARACTERS:
        fit = len(secrets.names)
        while fit and worst_case_read_policy(region, prefix, secrets.names[:fit]) > (
            MANAGED_POLICY_CHARACTERS
        ):
            fit -= 1
        reader.fail(
            "secretNames",
            f"{len(secrets.names)} names make the secrets read policy up to {size:,} "
            f"characters, over IAM's {MANAGED_POLICY_CHARACTERS:,} for a managed policy; the "
            f"first {fit} fit: shorten the names or move some secrets to another stack",
        )


def _read_security(
    reader: ConfigReader, environment: Environment | None, stack: str
) -> SecuritySettings | None:
    repository = reader.matching(
        "githubRepository",
        _GITHUB_REPOSITORY,
        "a GitHub repository as <owner>/<name> (owner: letters, digits and single hyphens, "
        "at most 39, an Enterprise Managed User's with its _<shortcode>; name: letters, "
        "digits, '.', '-' and '_', at most 100)",
    )
    environments = reader.listing("githubEnvironments")
    if environments is not None and (
        not environments
        or not all(isinstance(e, str) and _GITHUB_ENVIRONMENT.match(e) for e in environments)
    ):
        reader.fail(
            "githubEnvironments",
            "must list the GitHub environments whose workflows may deploy (letters, digits, "
            f"'.', '_', '-'), e.g. [production-stage, production]; got {shown(environments)}",
        )
        environments = None
    infrastructure = reader.matching(
        "githubInfrastructureEnvironment",
        _GITHUB_ENVIRONMENT,
        "a GitHub environment name (letters, digits, '.', '_', '-'), e.g. infrastructure-prod",
    ) or default_infrastructure_environment(stack)
    # GitHub's environment names are not case-sensitive ("Managing environments for
    # deployment"): Staging is staging.
    if environments and infrastructure.casefold() in {str(e).casefold() for e in environments}:
        reader.fail(
            "githubInfrastructureEnvironment",
            f"{infrastructure!r} is also in githubEnvironments: a release job there could "
            "assume the infrastructure role; give infrastructure changes an environment of "
            "their own (with required reviewers)",
        )
    provider = reader.matching(
        "githubOidcProviderArn",
        _OIDC_PROVIDER_ARN,
        "the ARN of the account's token.actions.githubusercontent.com OIDC provider",
    )
    rate = reader.integer("wafRateLimit")
    waf_required = environment is not None and environment.guarded_by_waf
    if rate is None and waf_required and not reader.has_problem("wafRateLimit"):
        reader.fail(
            "wafRateLimit",
            f"is required in {environment}: a WAF web ACL guards its load balancer; set it "
            f"with `pulumi config set {reader.key('wafRateLimit')} 2000`",
        )
    if repository is None or environments is None or (waf_required and rate is None):
        return None
    return SecuritySettings(repository, tuple(environments), provider, rate, infrastructure)


def _check_log_retention(
    reader: ConfigReader, environment: Environment | None, network: NetworkSettings | None
) -> None:
    if environment is None or network is None:
        return
    least = environment.min_log_retention_days
    if network.flow_log_retention_days < least:
        reader.fail(
            "flowLogRetentionDays",
            f"must be at least {least} in {environment} (FSBP CloudWatch.16), "
            f"got {network.flow_log_retention_days}",
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
    region = reader.text(REGION_KEY, region_problem)
    environment = reader.choice("environment", Environment)
    owner = reader.text("owner", _tag_problem)
    cost_centre = reader.text("costCentre", _tag_problem)
    live = reader.choice("liveColour", Colour)
    retry_rollback = reader.matching(
        "retryRollback",
        _ROLLBACK_ID,
        "a rollback record's id as the refusal prints it, such as green@2026-11-27T05:12:03.417Z",
    )
    traffic = read_traffic_policy(reader)
    network = _read_network(reader, region)
    alb = _read_alb(reader, environment, region)
    _check_test_clients(reader, network, alb)
    alarms = _read_alarms(reader)
    workload = _read_workload(reader)
    alerting = AlertingSettings(
        _read_subscriptions(reader, "alertEmails", email=True),
        _read_subscriptions(reader, "alertWebhooks", email=False),
        _read_chats(reader),
    )
    incidents = read_incidents(reader, environment)
    slo = read_slo(reader)
    secrets = _read_secrets(reader, region)
    _check_read_policy(reader, region, environment, secrets)
    checks = _read_checks(reader)
    cluster = read_cluster(reader, environment)
    service = read_service(reader, environment)
    release = read_release(reader, environment)
    security = _read_security(reader, environment, stack)
    pr_environments = read_pr_environments(
        reader, environment, security, alb, functools.partial(_certificate_problem, region)
    )
    _check_log_retention(reader, environment, network)
    _check_bake_covers_alarms(reader, traffic, alarms)
    check_capacity(reader, traffic, service, release)
    check_node_fit(reader, cluster, service)
    check_webhook_keys(reader, alerting, secrets)
    check_cpu_alarm_above_autoscaler(reader, alarms, service)
    reader.problems.extend(unknown_key_problems(config))
    if reader.problems:
        raise ConfigError(reader.problems, source=f"stack {stack!r}")
    assert region and environment and owner and cost_centre and live and traffic
    assert network and alb and alarms and workload and secrets and checks and security
    assert cluster and service and release and slo
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
        security,
        retry_rollback or "",
        incidents,
        slo,
        pr_environments,
    )
