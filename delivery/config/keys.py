"""Every configuration key, declared once.

To add a key: append one declaration to its area below — ``integer(name, low, high,
description)``, ``text(...)``, ``choice(name, Enum, ...)`` or ``array(name, items, ...)`` — read it
in ``delivery/config/settings.py`` with the ``ConfigReader`` getter of its type (which takes the
range from here), set it in the stack files, and run ``make schema``: ``Pulumi.yaml``'s schema
entry is generated from the declaration, and a test fails when the two differ. A rollback
alarm's keys are declared with its kind in ``delivery/config/alarm_kinds.py``.

Keys are read as Pulumi reads them: ``bakeSeconds`` in a stack file is ``switchyard:bakeSeconds``.
Besides the project's own, only the namespaces of the providers the program uses (and Pulumi's
``pulumi:``) may appear; anything else, and a project key written under ``pulumi:`` or a
provider's namespace, is reported with the closest real key.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from delivery.config.alarm_kinds import ALARM_KEYS
from delivery.config.model import (
    PROJECT,
    BaselineSource,
    CapacityType,
    Colour,
    Environment,
    InsufficientData,
    KubernetesVersion,
    NatLayout,
    ReleaseStep,
)
from delivery.config.reader import Key, array, choice, integer, text
from delivery.errors import Problem

REGION = Key("aws:region", "string", "The AWS region of every resource.")
SECRET_VALUES = Key(
    "secretValues",
    "object",
    "Secret object of every secret value, one entry per secretNames item and per "
    "alertWebhooks key: `pulumi config set --secret --path 'secretValues.database-password' "
    "<value>`.",
    secret=True,
)


def secret_command(name: str) -> str:
    """How to set one entry of ``secretValues`` encrypted."""
    return f"pulumi config set --secret --path '{SECRET_VALUES.full}.{name}' <value>"


STACK: Final = (
    REGION,
    choice("environment", Environment, "Environment name; prod turns on deletion protection."),
    text("owner", "Team that owns the environment; tagged on every resource as `owner`."),
    text(
        "costCentre",
        "Cost centre billed for the environment; tagged on every resource as `cost-centre`.",
    ),
    choice(
        "liveColour",
        Colour,
        "Colour that should carry 100% of production traffic. Changing it and running "
        "`pulumi up` performs the stepwise, alarm-gated cutover to that colour.",
    ),
    text(
        "retryRollback",
        "Retry a rolled-back release on purpose: the id of its rollback record, exactly as the "
        "refusal prints it (for example green@2026-11-27T05:12:03.417Z).",
        optional=True,
    ),
)
TRAFFIC: Final = (
    array(
        "trafficSteps",
        "integer",
        "Percentages of production traffic sent to the new colour, one step at a time: "
        "strictly increasing integers in 1..100 ending at 100, e.g. [10, 50, 100].",
    ),
    integer(
        "bakeSeconds",
        1,
        86_400,
        "Seconds to hold each step while the gating alarms are watched; at least the longest "
        "evaluation window of the rollback alarms.",
    ),
    integer(
        "pollSeconds",
        1,
        300,
        "Seconds between alarm polls during a bake, at most bakeSeconds. Worst-case rollback "
        "reaction is one poll interval after the alarm fires.",
    ),
    integer(
        "minHealthyTargets",
        1,
        1000,
        "Healthy targets the new colour's target group needs before any traffic moves: at "
        "most minReplicas and more than idleReplicas, so a cleaned-up colour takes no traffic "
        "until it is scaled up.",
    ),
    choice(
        "insufficientData",
        InsufficientData,
        "What a gating alarm in INSUFFICIENT_DATA means during a cutover.",
    ),
)
NETWORK: Final = (
    integer(
        "azCount",
        2,
        6,
        "Availability zones the VPC spans, at most as many as the region has; one public and "
        "one private subnet in each.",
    ),
    text(
        "vpcCidr", "The VPC's IPv4 block, /16 to /24, e.g. 10.30.0.0/16; subnets are planned in it."
    ),
    choice(
        "natGateways",
        NatLayout,
        "`single` (one shared NAT gateway) or `perZone` (one per availability zone).",
    ),
    integer(
        "flowLogRetentionDays",
        1,
        3653,
        "Days the environment's logs (VPC flow logs, WAF and SNS delivery logs) are kept in "
        "CloudWatch Logs: a retention CloudWatch accepts, e.g. 7, 30, 365; at least 365 in prod.",
    ),
)
ALB: Final = (
    text(
        "certificateArn",
        "ACM certificate for the HTTPS listener, in the stack's region (TLS 1.3 policy; HTTP "
        "redirects to HTTPS). Required in staging and prod; empty in dev means HTTP only.",
        optional=True,
    ),
    integer(
        "targetPort", 1, 65535, "Port the workloads listen on; the only port the ALB may reach."
    ),
    integer(
        "testListenerPort",
        1,
        65535,
        "Port of the test listener, which always forwards to the idle colour for smoke tests "
        "(not 80 or 443).",
    ),
    array(
        "testClientCidrs",
        "string",
        "CIDR blocks (CI runners, VPN) allowed to reach the test listener, besides the VPC itself.",
        optional=True,
    ),
    text("healthCheckPath", "Path the target groups' health checks request, e.g. /healthz."),
    integer("healthCheckIntervalSeconds", 5, 300, "Seconds between health checks."),
    integer(
        "healthCheckTimeoutSeconds",
        2,
        120,
        "Seconds before a health check times out, shorter than the interval.",
    ),
    integer(
        "healthyThreshold", 2, 10, "Consecutive passing checks before a target counts as healthy."
    ),
    integer(
        "unhealthyThreshold",
        2,
        10,
        "Consecutive failing checks before a target counts as unhealthy.",
    ),
)
WORKLOAD: Final = (
    text(
        "clusterName",
        "Name of the environment's EKS cluster; Container Insights reports its pods under it.",
    ),
    text("k8sNamespace", "Kubernetes namespace of the workloads."),
    text(
        "serviceName",
        "Service name, at most 47 characters; each colour runs as the Deployment and Service "
        "<serviceName>-<colour>.",
    ),
)
CLUSTER: Final = (
    choice(
        "kubernetesVersion",
        KubernetesVersion,
        "Kubernetes minor version of the EKS cluster (the versions whose Cluster Autoscaler "
        "chart the program pins).",
    ),
    array(
        "clusterPublicAccessCidrs",
        "string",
        "CIDR blocks (CI runners, VPN) that may reach the Kubernetes API's public endpoint; "
        "empty keeps the endpoint private (then `pulumi up` must run from inside the VPC). "
        "Public ranges only, at most 40 with clusterBootstrapCidr (EKS refuses more, and "
        "private or reserved blocks).",
        optional=True,
    ),
    array(
        "clusterApiAccessCidrs",
        "string",
        "Private ranges (this VPC, a peered VPC, a VPN: RFC 1918 or 100.64.0.0/10) admitted to "
        "the private API endpoint on 443 by the cluster's security group.",
        optional=True,
    ),
    array(
        "clusterApiAccessSecurityGroupIds",
        "string",
        "Security groups (a self-hosted runner's, a bastion's; in this VPC or a peered one) "
        "admitted to the private API endpoint on 443, e.g. [sg-0123456789abcdef0].",
        optional=True,
    ),
    text(
        "clusterBootstrapCidr",
        "Temporary: one public /32 (the operator's egress address) admitted to the public "
        "endpoint for the first deploy of a private cluster, before a runner inside the VPC "
        "exists. `check` and the policy pack flag it until it is removed (README, first deploy).",
        optional=True,
    ),
    array(
        "clusterAdminRoleArns",
        "string",
        "IAM roles granted cluster administration through EKS access entries (at least one). "
        "Whoever runs `pulumi up` must be one of these or deployRoleArn.",
    ),
    text(
        "deployRoleArn",
        "IAM role of the CI deploy job; it gets the same cluster access entry as the "
        "administrators.",
        optional=True,
    ),
    array(
        "nodeInstanceTypes",
        "string",
        "EC2 instance types of the managed node groups (x86_64, Amazon Linux 2023), "
        "e.g. [m6i.large]; each must hold one of the service's pods beside the DaemonSets.",
    ),
    choice(
        "nodeCapacityType",
        CapacityType,
        "Capacity of the node groups; spot only outside prod.",
    ),
    integer("nodeMinSize", 0, 100, "Fewest nodes per zone; there is one node group per zone."),
    integer(
        "nodeDesiredSize",
        0,
        100,
        "Nodes per zone when a node group is created; the Cluster Autoscaler owns it afterwards.",
    ),
    integer("nodeMaxSize", 1, 100, "Most nodes per zone the Cluster Autoscaler may grow to."),
)
SERVICE: Final = (
    text(
        "blueImage",
        "Container image the blue colour runs, with a tag or a digest (prod: digest only). "
        "Change it only while blue is not live: the live colour's pods never change in place.",
    ),
    text("greenImage", "Container image the green colour runs; as blueImage."),
    array(
        "containerCommand",
        "string",
        "Command of the service's container; empty runs the image's entrypoint.",
        optional=True,
    ),
    array(
        "containerEnv",
        "string",
        "Environment of the service's container as 'NAME=value' entries (no secrets: those "
        "come from Secrets Manager; not the names the program or IRSA set, such as "
        "AWS_REGION or AWS_ROLE_ARN).",
        optional=True,
    ),
    integer(
        "cpuRequestMillicores",
        10,
        64_000,
        "CPU each pod requests, in millicores; the autoscaler's percentage is of this.",
    ),
    integer(
        "cpuLimitMillicores",
        10,
        64_000,
        "CPU limit of each pod in millicores, at least the request; the CPU rollback alarm's "
        "percentage is of this.",
    ),
    integer("memoryRequestMiB", 16, 262_144, "Memory each pod requests, in MiB."),
    integer(
        "memoryLimitMiB",
        16,
        262_144,
        "Memory limit of each pod in MiB, at least the request; the memory rollback alarm's "
        "percentage is of this.",
    ),
    integer(
        "minReplicas",
        1,
        1000,
        "Fewest pods of a colour at full size (the live colour, and the other one until clean-up).",
    ),
    integer("maxReplicas", 1, 1000, "Most pods of a colour at full size, at least minReplicas."),
    integer(
        "idleReplicas",
        1,
        1000,
        "Pods the idle colour keeps after clean-up, below minHealthyTargets: warm for the "
        "next release.",
    ),
    integer(
        "autoscaleCpuPercent",
        10,
        100,
        "CPU use, as a percentage of the request, that the pod autoscaler aims for.",
    ),
)
RELEASE: Final = (
    choice(
        "releaseStep",
        ReleaseStep,
        "`stage`: the pre-traffic Job runs for the image of the colour that is not live, then "
        "that colour runs the image at full size; `cleanup`: after a successful "
        "cutover and scaleDownDelaySeconds, the colour that is not live shrinks to "
        "idleReplicas.",
    ),
    array(
        "hookCommand",
        "string",
        "Command of the pre-traffic Job (e.g. expand-only migrations) that must succeed before "
        "any traffic reaches a release; empty means no hook.",
        optional=True,
    ),
    text(
        "hookImage",
        "Image of the pre-traffic Job; empty runs it in the release's own image.",
        optional=True,
    ),
    integer(
        "candidateReplicas",
        0,
        1000,
        "Set by the release driver: the live colour's pods when the release staged. Above 0 a "
        "release is under way: until clean-up neither colour's autoscaler goes below it nor "
        "scales down, so the candidate takes the shift at the live colour's size and a rollback "
        "lands on it; at most maxReplicas. 0 (the driver's value at every end): no release.",
        default=0,
    ),
    integer(
        "scaleDownDelaySeconds",
        0,
        3600,
        "Seconds after a successful cutover before the old colour shrinks to idleReplicas.",
        default=30,
    ),
)
ALERTING: Final = (
    array(
        "alertEmails",
        "string",
        "E-mail subscriptions as '<tier>:<address>', tier one of info, warning, critical, "
        "emergency.",
        optional=True,
    ),
    array(
        "alertWebhooks",
        "string",
        "HTTPS subscriptions as '<tier>:<key>', where <key> names the entry of the secret "
        "`secretValues` that holds the URL, so the URL stays encrypted. Only endpoints that "
        "confirm an SNS subscription (PagerDuty's CloudWatch integration URL); a Slack "
        "incoming webhook never does: use alertChatChannels.",
        optional=True,
    ),
    array(
        "alertChatChannels",
        "string",
        "Slack channels AWS Chatbot posts a tier's notices (and its incidents' updates) to, as "
        "'<tier>:slack:<workspace id>/<channel id>'; the workspace is authorised with AWS "
        "Chatbot once, in its console.",
        optional=True,
    ),
)
INCIDENTS: Final = (
    array(
        "incidentContacts",
        "string",
        "People Incident Manager engages, one channel per entry as '<contact>:<EMAIL|SMS|VOICE>:"
        "<address>' (an e-mail address, or a phone number in E.164 such as +15555550100); "
        "repeat a contact for more channels. Each channel must be activated once with the "
        "code AWS sends to it.",
        optional=True,
    ),
    array(
        "criticalEscalation",
        "string",
        "Escalation of an incident a critical alarm starts: stages in order, each "
        "'<minutes>:<contact>[+<contact>...]' (1..30 minutes to acknowledge before the next "
        "stage is engaged), e.g. ['5:alice', '10:bob+carol']. Required in staging and prod.",
        optional=True,
    ),
    array(
        "emergencyEscalation",
        "string",
        "Escalation of an incident an emergency alarm starts (a failed rollback, the paging "
        "composite, a fast error-budget burn); as criticalEscalation.",
        optional=True,
    ),
    text(
        "incidentReplicationSetArn",
        "ARN of the account's existing Incident Manager replication set (an account holds "
        "one). Empty: this stack creates it, so set it in every other stack of the account.",
        optional=True,
    ),
    text(
        "availabilitySlo",
        "Availability objective in percent of production requests answered without a 5xx, "
        "e.g. 99.9; the error budget and its burn-rate alarms derive from it.",
    ),
    integer(
        "sloPeriodDays",
        30,
        90,
        "Days over which the availability objective is judged (the error budget's period); "
        "at least 30, or the slowest burn-rate ticket (10% of the budget in 3 days) would fire "
        "below the sustainable rate.",
        default=30,
    ),
)
SECRETS: Final = (
    array(
        "secretNames",
        "string",
        "Application secrets stored in Secrets Manager; each value is read from "
        "`secretValues.<name>`.",
        optional=True,
    ),
    integer(
        "secretRotationDays",
        1,
        90,
        "Days between Secrets Manager rotations when a rotation function is configured "
        "(FSBP SecretsManager.4 expects at most 90).",
    ),
    text(
        "rotationLambdaArn",
        "Lambda function that rotates the secrets; empty leaves Secrets Manager rotation off.",
        optional=True,
    ),
    integer(
        "keyRotationDays",
        90,
        2560,
        "Days between automatic rotations of the environment's KMS key.",
    ),
    SECRET_VALUES,
)

RELEASE_CHECKS: Final = (
    array(
        "smokeChecks",
        "string",
        "Critical paths the release driver checks through the test listener before any "
        "traffic moves, each '<path> <expected status> <timeout seconds>', e.g. '/healthz 200 2'.",
    ),
    integer(
        "loadRequests",
        1,
        1_000_000,
        "Requests in the release's bounded load run against the test listener.",
    ),
    integer(
        "loadDurationSeconds",
        1,
        3600,
        "Longest the load run may take, in seconds; it stops early when every request is done.",
    ),
    integer("loadConcurrency", 1, 256, "Requests in flight at once during the load run."),
    integer(
        "loadP95Ms",
        1,
        60_000,
        "The load run fails, and the release stops before traffic moves, when its p95 latency "
        "exceeds this many ms.",
    ),
    integer(
        "loadErrorRatePercent",
        0,
        100,
        "The load run fails when more than this percentage of its requests fail.",
    ),
    choice(
        "latencyBaselineSource",
        BaselineSource,
        "`static` keeps latencyBaselineMs as written; `measured` has the release driver set it "
        "to the live colour's p95 response time over the last 7 days before each release.",
    ),
)

SECURITY: Final = (
    text(
        "githubRepository",
        "GitHub repository (<owner>/<name>) whose workflows may assume this environment's "
        "release and infrastructure roles through GitHub's OIDC provider.",
    ),
    array(
        "githubEnvironments",
        "string",
        "GitHub environments whose jobs may assume the release role (the token's `sub` must "
        "be repo:<owner>/<name>:environment:<name>), e.g. [production-stage, production] "
        "for prod.",
    ),
    text(
        "githubInfrastructureEnvironment",
        "The GitHub environment whose jobs alone may assume the infrastructure role (give it "
        "required reviewers). Empty: infrastructure-<stack>. Never one of githubEnvironments.",
        optional=True,
    ),
    text(
        "githubOidcProviderArn",
        "ARN of the account's existing token.actions.githubusercontent.com OIDC provider. "
        "Empty: this stack creates it (an account holds one per URL, so set it in every other "
        "stack of the account).",
        optional=True,
    ),
    Key(
        "wafRateLimit",
        "integer",
        "Requests per client IP per 5 minutes above which the WAF web ACL blocks. Required in "
        "staging and prod; dev may leave it out and run without a web ACL.",
        low=100,
        high=2_000_000_000,
        optional=True,
    ),
)

PR_ENVIRONMENTS: Final = (
    text(
        "prDomain",
        "Dev only: the DNS domain under which each labelled pull request gets an environment "
        "at pr-<number>.<prDomain> on dev's load balancer, e.g. pr.dev.example.com. Empty: no "
        "PR environments.",
        optional=True,
    ),
    text(
        "prHostedZoneId",
        "Route 53 public hosted zone that holds prDomain (its own zone or its parent's); the "
        "stack adds the wildcard record *.<prDomain> for dev's load balancer. Required with "
        "prDomain.",
        optional=True,
    ),
    text(
        "prCertificateArn",
        "ACM certificate for *.<prDomain> in dev's region; required with prDomain when dev's "
        "load balancer serves HTTPS (certificateArn), which then presents it for PR hosts.",
        optional=True,
    ),
    text(
        "prGithubEnvironment",
        "The GitHub environment whose jobs alone may assume the PR environments' CI role. "
        "Empty: pr-environments. Never one of githubEnvironments or the infrastructure one.",
        optional=True,
    ),
)

DECLARED: Final[tuple[Key, ...]] = (
    *STACK,
    *TRAFFIC,
    *NETWORK,
    *ALB,
    *ALARM_KEYS,
    *WORKLOAD,
    *CLUSTER,
    *SERVICE,
    *RELEASE,
    *ALERTING,
    *INCIDENTS,
    *SECRETS,
    *RELEASE_CHECKS,
    *SECURITY,
    *PR_ENVIRONMENTS,
)
BY_FULL_NAME: Final[Mapping[str, Key]] = {k.full: k for k in DECLARED}
assert len(BY_FULL_NAME) == len(DECLARED), "a key is declared twice"

# Namespaces of the providers the program uses, and each one's Python SDK package, whose
# generated config/vars.py reads every key of the provider (so the list follows the pin).
PROVIDERS: Final[Mapping[str, str]] = {"aws": "pulumi_aws"}
ENGINE_NAMESPACE: Final = "pulumi"  # the engine's own keys (pulumi:tags, ...)
# The engine's settings Pulumi documents (stack tags, the template a project came from, default
# providers turned off, resource auto-naming). Pulumi owns the namespace, so other pulumi: keys
# pass too, unless they name a Switchyard setting, which the engine would silently ignore.
ENGINE_KEYS: Final = frozenset(
    f"{ENGINE_NAMESPACE}:{name}"
    for name in ("tags", "template", "disable-default-providers", "autonaming")
)


@functools.cache
def provider_keys(namespace: str) -> frozenset[str]:
    """Every config key the provider reads, as ``<namespace>:<camelCaseName>``."""
    spec = importlib.util.find_spec(PROVIDERS[namespace])
    assert spec and spec.origin, f"the {PROVIDERS[namespace]} package is not installed"
    source = (Path(spec.origin).parent / "config" / "vars.py").read_text(encoding="utf-8")
    return frozenset(f"{namespace}:{name}" for name in _CONFIG_READ.findall(source))


_CONFIG_READ = re.compile(r"__config__\.get\w*\('(\w+)'")


def qualified(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Keys as Pulumi reads them: a key without a namespace belongs to the project."""
    found: dict[str, Any] = {}
    problems = []
    for key, value in raw.items():
        full = str(key) if ":" in str(key) else f"{PROJECT}:{key}"
        if full in found:
            problems.append(
                Problem(full, f"is set twice (as {key} and as {full}); keep one of them")
            )
        found[full] = value
    return found, problems


_PROVIDER_KEY_REFUSED: Final = (
    "is not used: Switchyard configures its AWS provider itself, from aws:region and the tags "
    f"{PROJECT}:environment, {PROJECT}:owner and {PROJECT}:costCentre; remove it and give "
    "credentials through the environment (AWS_PROFILE or the AWS_* variables)"
)


def unknown_key_problems(keys: Iterable[str]) -> list[Problem]:
    """Every key that no declaration and no provider the program uses would read."""
    problems = []
    for key in keys:
        namespace, _, name = key.partition(":")
        if key in BY_FULL_NAME or key in ENGINE_KEYS:
            continue
        ours = _closest(name, PROJECT)
        if namespace == ENGINE_NAMESPACE:
            if ours:  # the engine ignores it: the setting would silently keep its old value
                problems.append(Problem(key, _misplaced(ours, name, "Pulumi's")))
            continue
        if namespace in PROVIDERS:
            if key in provider_keys(namespace):
                # Every resource uses an explicit provider built from Switchyard's keys, and the
                # zone lookup must reach the same account: other provider keys would not.
                problems.append(Problem(key, _PROVIDER_KEY_REFUSED))
                continue
            if ours and ours.lower() == f"{PROJECT}:{name}".lower():
                problems.append(Problem(key, _misplaced(ours, name, f"the {namespace} provider's")))
                continue
            close = _closest(name, namespace) or ours  # aws:region is declared
            hint = f"did you mean {close}?" if close else "remove it"
            problems.append(Problem(key, f"is not a setting of the {namespace} provider; {hint}"))
            continue
        hint = f"did you mean {ours}?" if ours else "remove it"
        if namespace == PROJECT:
            problems.append(Problem(key, f"is not a Switchyard setting; {hint}"))
        else:
            spaces = ", ".join([PROJECT, *PROVIDERS, ENGINE_NAMESPACE])
            problems.append(
                Problem(
                    key,
                    f"is in namespace {namespace!r}, which nothing reads (known: {spaces}); {hint}",
                )
            )
    return problems


def _misplaced(ours: str, name: str, owner: str) -> str:
    """A project key written in another namespace (``owner``'s, possessive): say whose it is
    and how to write it."""
    if ours.lower() == f"{PROJECT}:{name}".lower():
        return f"is a Switchyard setting, not {owner}; write it as {ours}"
    return f"is not a setting of {owner}, so nothing reads it; did you mean {ours}?"


def _closest(name: str, namespace: str) -> str | None:
    """The declared key of ``namespace`` whose name is closest to ``name``, in full. Names are
    compared without their namespace, which would make any short name look close."""
    by_lower = {
        k.full.partition(":")[2].lower(): k.full
        for k in DECLARED
        if k.full.partition(":")[0] == namespace
    }
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.75)
    return by_lower[close[0]] if close else None


def schema() -> dict[str, Any]:
    """``Pulumi.yaml``'s ``config:`` section, from the declarations."""
    return {k.name: k.schema() for k in DECLARED if k.in_schema}


def write_schema(project_file: Path) -> None:
    """Rewrite the ``config:`` section (the file's last) of ``Pulumi.yaml``; keep the rest."""
    text_before = re.split(r"(?m)^config:\s*$", project_file.read_text(), maxsplit=1)[0]
    body = yaml.safe_dump({"config": schema()}, sort_keys=False, width=100, allow_unicode=True)
    project_file.write_text(text_before + body)


if __name__ == "__main__":
    write_schema(Path(__file__).resolve().parents[2] / "Pulumi.yaml")
