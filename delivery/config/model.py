"""The typed configuration model: what a validated stack configuration is.

``delivery.config.settings`` builds these from raw configuration; everything else only reads them.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

PROJECT: Final = "switchyard"
ALARM_PERIOD_SECONDS: Final = 60  # ALB and Container Insights metrics arrive per minute
CLOUDWATCH_LAG_SECONDS: Final = 60  # metric ingestion before an alarm can see a datapoint
DEREGISTRATION_DELAY_SECONDS: Final = 30  # the target groups' drain time for in-flight requests
HOOK_HASH_CHARS: Final = 10  # a hook Job is named <serviceName>-hook-<hash of its release>


class Environment(StrEnum):
    """The environments, and every decision that differs between them."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"

    @property
    def protected(self) -> bool:
        """prod: deletion protection on the ALB and target groups, a long secret recovery."""
        return self is Environment.PROD

    @property
    def https_only(self) -> bool:
        """Only dev may serve HTTP; staging and prod need a certificate."""
        return self is not Environment.DEV

    @property
    def secret_recovery_days(self) -> int:
        return 30 if self.protected else 7

    @property
    def digests_only(self) -> bool:
        """prod runs only images pinned by digest: a release is exactly one build."""
        return self is Environment.PROD

    @property
    def spot_allowed(self) -> bool:
        """Spot nodes (taken back at two minutes' notice) only outside prod."""
        return self is not Environment.PROD

    @property
    def guarded_by_waf(self) -> bool:
        """staging and prod: a WAF web ACL in front of the load balancer (FSBP ELB.16)."""
        return self is not Environment.DEV

    @property
    def min_log_retention_days(self) -> int:
        """prod keeps a year of logs (FSBP CloudWatch.16); the others keep what they set."""
        return 365 if self.protected else 1

    @property
    def pages_people(self) -> bool:
        """staging and prod: critical and emergency alarms start Incident Manager incidents
        that escalate until someone acknowledges; dev may page nobody."""
        return self is not Environment.DEV

    @property
    def budget_gates_releases(self) -> bool:
        """prod: a release does not start while the error budget is spent."""
        return self is Environment.PROD


class Colour(StrEnum):
    BLUE = "blue"
    GREEN = "green"

    @property
    def other(self) -> Colour:
        return Colour.GREEN if self is Colour.BLUE else Colour.BLUE


MAX_SUBNET_PREFIX: Final = 28  # AWS's smallest subnet


def zone_bits(zones: int) -> int:
    """Address bits that split a tier's block evenly over ``zones`` zones."""
    return math.ceil(math.log2(zones)) if zones > 1 else 0


def public_subnet_prefix(vpc_prefix: int, zones: int) -> int:
    """Private subnets share the VPC's first half and public ones its third quarter, split
    over the zones (``delivery.plans.subnets``): the public ones are the smallest."""
    return vpc_prefix + 2 + zone_bits(zones)


class InsufficientData(StrEnum):
    """What an alarm in INSUFFICIENT_DATA means during a cutover."""

    IGNORE = "ignore"  # no data is not evidence of harm (quiet services, new targets)
    ROLLBACK = "rollback"  # no data is treated like ALARM: prove health or go back


class NatLayout(StrEnum):
    SINGLE = "single"  # one shared NAT gateway: cheap, one zone's failure cuts egress
    PER_ZONE = "perZone"  # one per zone: each zone survives alone


class Tier(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"
    EMERGENCY = "emergency"

    @property
    def pages(self) -> bool:
        """Critical and emergency start incidents (and page); info and warning never do."""
        return self in (Tier.CRITICAL, Tier.EMERGENCY)

    @property
    def impact(self) -> int:
        """Incident Manager's impact of an incident this tier starts (1 critical .. 5 none;
        StartIncident's ``impact``)."""
        return 1 if self is Tier.EMERGENCY else 2


@dataclass(frozen=True)
class TrafficPolicy:
    steps: tuple[int, ...]
    bake_seconds: int
    poll_seconds: int
    min_healthy_targets: int
    insufficient_data: InsufficientData

    @property
    def total_bake_seconds(self) -> int:
        return self.bake_seconds * len(self.steps)

    def to_inputs(self) -> dict[str, Any]:
        """The stack-config spelling, so a policy can travel as plain data (dynamic provider)."""
        return {
            "trafficSteps": list(self.steps),
            "bakeSeconds": self.bake_seconds,
            "pollSeconds": self.poll_seconds,
            "minHealthyTargets": self.min_healthy_targets,
            "insufficientData": self.insufficient_data.value,
        }


@dataclass(frozen=True)
class NetworkSettings:
    cidr: ipaddress.IPv4Network
    az_count: int
    nat: NatLayout
    flow_log_retention_days: int


@dataclass(frozen=True)
class HealthCheck:
    path: str
    interval_seconds: int
    timeout_seconds: int
    healthy_threshold: int
    unhealthy_threshold: int


@dataclass(frozen=True)
class AlbSettings:
    certificate_arn: str | None  # None: HTTP only (dev)
    target_port: int
    test_listener_port: int
    test_client_cidrs: tuple[ipaddress.IPv4Network, ...]
    health_check: HealthCheck
    deletion_protection: bool

    @property
    def public_ports(self) -> tuple[int, ...]:
        """The ports users reach from the internet: HTTP only without a certificate."""
        return (80, 443) if self.certificate_arn else (80,)

    @property
    def inbound_rules(self) -> int:
        """The ALB security group's inbound rules: the public ports, the test listener from
        the VPC, and from each test client range."""
        return len(self.public_ports) + 1 + len(self.test_client_cidrs)


@dataclass(frozen=True)
class AlarmThresholds:
    """Every rollback alarm's settings by key name (``delivery.config.alarm_kinds``)."""

    values: Mapping[str, int]

    def __getitem__(self, key: str) -> int:
        return self.values[key]


@dataclass(frozen=True)
class Workload:
    """Where Container Insights finds each colour's pods: service ``<serviceName>-<colour>``."""

    cluster_name: str
    namespace: str
    service_name: str


@dataclass(frozen=True)
class Subscription:
    tier: Tier
    endpoint: str  # an e-mail address, or the secretValues key holding a webhook URL


@dataclass(frozen=True)
class ChatChannel:
    """A Slack channel that AWS Chatbot posts a tier's notices to (its workspace authorised
    with Chatbot once, in the console)."""

    tier: Tier
    workspace: str  # the Slack workspace (team) id, T...
    channel: str  # the Slack channel id, C... (public) or G... (private)


@dataclass(frozen=True)
class AlertingSettings:
    emails: tuple[Subscription, ...]
    webhooks: tuple[Subscription, ...]
    chats: tuple[ChatChannel, ...] = ()

    def chat_channels(self) -> dict[tuple[str, str], tuple[Tier, ...]]:
        """Each Slack channel, with the tiers it hears, in tier order."""
        heard: dict[tuple[str, str], list[Tier]] = {}
        for chat in self.chats:
            heard.setdefault((chat.workspace, chat.channel), []).append(chat.tier)
        return {where: tuple(t for t in Tier if t in tiers) for where, tiers in heard.items()}


class ChannelType(StrEnum):
    """How Incident Manager engages a contact (SSM Contacts' ContactChannel types)."""

    EMAIL = "EMAIL"
    SMS = "SMS"
    VOICE = "VOICE"


@dataclass(frozen=True)
class ContactChannel:
    type: ChannelType
    address: str  # an e-mail address, or a phone number in E.164 (+15555550100)


@dataclass(frozen=True)
class Contact:
    """A person Incident Manager engages: ``name`` becomes the alias ``<prefix>-<name>``."""

    name: str
    channels: tuple[ContactChannel, ...]


@dataclass(frozen=True)
class EscalationStage:
    """Engage ``contacts`` at once; wait ``minutes`` for an acknowledgement, then go on."""

    minutes: int
    contacts: tuple[str, ...]


@dataclass(frozen=True)
class IncidentSettings:
    """Who is engaged, and in which order, when a paging tier starts an incident."""

    contacts: tuple[Contact, ...] = ()
    escalations: Mapping[Tier, tuple[EscalationStage, ...]] = field(default_factory=dict)
    replication_set_arn: str | None = None  # None: this stack creates the account's set

    @property
    def enabled(self) -> bool:
        return bool(self.escalations)


@dataclass(frozen=True)
class Slo:
    """The availability objective: the share of requests answered without a 5xx."""

    availability_percent: float
    period_days: int

    @property
    def error_budget(self) -> float:
        """The share of requests that may fail over the period (0.001 for 99.9%)."""
        return round(1 - self.availability_percent / 100, 12)


@dataclass(frozen=True)
class PrEnvironmentSettings:
    """Dev's environments per pull request: where they are reached, and who may make them."""

    domain: str  # each PR at pr-<n>.<domain>
    hosted_zone_id: str  # the public zone that gets *.<domain>
    github_environment: str  # the GitHub environment whose jobs get the PR CI role
    certificate_arn: str | None = None  # *.<domain>, when dev's load balancer serves HTTPS


@dataclass(frozen=True)
class SecretsSettings:
    names: tuple[str, ...]
    rotation_days: int
    rotation_lambda_arn: str | None  # None: Secrets Manager rotation off (no rotation function)
    key_rotation_days: int


class BaselineSource(StrEnum):
    """Where the latency alarms' baseline comes from at release time."""

    STATIC = "static"  # latencyBaselineMs as written in the stack file
    MEASURED = "measured"  # the live colour's p95 over the last 7 days, measured per release


@dataclass(frozen=True)
class SmokeCheck:
    """One critical path checked through the test listener before any traffic moves."""

    path: str
    status: int
    timeout_seconds: float

    def __str__(self) -> str:
        return f"{self.path} -> {self.status} within {self.timeout_seconds:g}s"


@dataclass(frozen=True)
class LoadCheck:
    """A bounded load run against the test listener and the thresholds it must meet."""

    requests: int
    duration_seconds: int
    concurrency: int
    p95_ms: int
    error_rate_percent: float


@dataclass(frozen=True)
class ReleaseChecks:
    smoke: tuple[SmokeCheck, ...]
    load: LoadCheck
    baseline: BaselineSource


class KubernetesVersion(StrEnum):
    """The Kubernetes minor versions the program supports: those it pins charts for."""

    V1_33 = "1.33"
    V1_34 = "1.34"
    V1_35 = "1.35"


# The Cluster Autoscaler chart whose app version matches each Kubernetes version
# (kubernetes/autoscaler tags cluster-autoscaler-chart-<chart version>).
CLUSTER_AUTOSCALER_CHARTS: Final = {
    KubernetesVersion.V1_33: "9.51.0",
    KubernetesVersion.V1_34: "9.53.0",
    KubernetesVersion.V1_35: "9.59.0",
}


class CapacityType(StrEnum):
    ON_DEMAND = "onDemand"
    SPOT = "spot"


class ReleaseStep(StrEnum):
    """Where a release stands; together with ``liveColour`` it decides each colour's size."""

    STAGE = "stage"  # the other colour runs at full size, after its pre-traffic Job succeeded
    CLEANUP = "cleanup"  # after the cutover and a delay, the other colour shrinks to idle


@dataclass(frozen=True)
class NodeGroupSettings:
    instance_types: tuple[str, ...]
    capacity: CapacityType
    min_size: int  # per zone: one managed node group per zone, for the autoscaler's balance
    desired_size: int
    max_size: int


# The cluster's tag while clusterBootstrapCidr is set: the console shows it, the pack flags it.
BOOTSTRAP_TAG: Final = "switchyard:bootstrap-public-access"


@dataclass(frozen=True)
class ApiAccess:
    """Who reaches the Kubernetes API. The private endpoint admits, on 443 through the
    cluster's security group, the in-VPC, peered or VPN ``cidrs`` and the ``security_groups``
    (a runner's, a bastion's); the public endpoint admits, besides ``clusterPublicAccessCidrs``
    and only until the first deploy has built a way in, the operator's ``bootstrap_cidr``."""

    cidrs: tuple[ipaddress.IPv4Network, ...] = ()
    security_groups: tuple[str, ...] = ()
    bootstrap_cidr: ipaddress.IPv4Network | None = None  # one /32, temporary


@dataclass(frozen=True)
class ClusterSettings:
    kubernetes_version: KubernetesVersion
    public_access_cidrs: tuple[ipaddress.IPv4Network, ...]  # empty: private endpoint only
    admin_role_arns: tuple[str, ...]
    deploy_role_arn: str | None
    nodes: NodeGroupSettings
    api: ApiAccess = ApiAccess()

    @property
    def public_endpoint_cidrs(self) -> tuple[ipaddress.IPv4Network, ...]:
        """The public endpoint's allow list; empty: the public endpoint is off."""
        bootstrap = (self.api.bootstrap_cidr,) if self.api.bootstrap_cidr else ()
        return (*self.public_access_cidrs, *bootstrap)


# Set on the service's container by the program (components/workload.py).
PROGRAM_ENV: Final = ("AWS_REGION", "SWITCHYARD_SECRETS_PREFIX", "SWITCHYARD_COLOUR")
# amazon-eks-pod-identity-webhook (pkg/handler/handler.go, addEnvToContainer) injects IRSA's
# role and token only into a container that defines neither AWS_ROLE_ARN nor
# AWS_WEB_IDENTITY_TOKEN_FILE (a region or STS key set only stops its own of those); static
# keys come before the web identity in every AWS SDK's credential chain.
IDENTITY_ENV: Final = (
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


@dataclass(frozen=True)
class ServiceSettings:
    """What each colour's pods run and how big they may grow."""

    images: dict[Colour, str]
    command: tuple[str, ...]  # empty: the image's entrypoint
    env: tuple[tuple[str, str], ...]
    cpu_request_millicores: int
    cpu_limit_millicores: int
    memory_request_mib: int
    memory_limit_mib: int
    min_replicas: int
    max_replicas: int
    idle_replicas: int
    cpu_target_percent: int  # the autoscaler's target, relative to the CPU request


@dataclass(frozen=True)
class ReleaseSettings:
    step: ReleaseStep
    hook_command: tuple[str, ...]  # empty: no pre-traffic hook
    hook_image: str | None  # None: the release's own image
    scale_down_delay_seconds: int
    candidate_replicas: int = 0  # the live colour's size when staged; 0: no release under way


@dataclass(frozen=True)
class SecuritySettings:
    github_repository: str  # owner/name: the only repository whose workflows get AWS roles
    github_environments: tuple[str, ...]  # the GitHub environments whose jobs release
    github_oidc_provider_arn: str | None  # None: this stack creates the account's provider
    waf_rate_limit: int | None  # requests per IP per 5 minutes; None: no web ACL (dev only)
    # The one GitHub environment whose jobs change infrastructure, behind its own reviewers.
    github_infrastructure_environment: str = ""


def default_infrastructure_environment(stack: str) -> str:
    return f"infrastructure-{stack}"


@dataclass(frozen=True)
class Settings:
    stack: str
    environment: Environment
    region: str
    owner: str
    cost_centre: str
    live_colour: Colour
    traffic: TrafficPolicy
    network: NetworkSettings
    alb: AlbSettings
    alarms: AlarmThresholds
    workload: Workload
    alerting: AlertingSettings
    secrets: SecretsSettings
    checks: ReleaseChecks  # what the release driver checks before traffic moves
    cluster: ClusterSettings
    service: ServiceSettings
    release: ReleaseSettings
    security: SecuritySettings
    retry_rollback: str = ""  # a rollback record's id: shift that rolled-back release again
    incidents: IncidentSettings = IncidentSettings()
    slo: Slo = Slo(99.9, 30)
    pr_environments: PrEnvironmentSettings | None = None  # None: no PR environments

    @property
    def name_prefix(self) -> str:
        """What every AWS name of this environment starts with: ``switchyard-<environment>``."""
        return f"{PROJECT}-{self.environment}"

    @property
    def tags(self) -> dict[str, str]:
        return {
            "environment": self.environment.value,
            "project": PROJECT,
            "owner": self.owner,
            "cost-centre": self.cost_centre,
        }

    @property
    def secret_value_keys(self) -> tuple[str, ...]:
        """Every key the program needs in ``secretValues``."""
        return (*self.secrets.names, *(w.endpoint for w in self.alerting.webhooks))
