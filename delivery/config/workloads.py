"""Reads the cluster, service and release keys (declared in ``delivery.config.keys``) into the
model. ``delivery.config.settings.load_settings`` calls these with its reader, so their
problems join the one ``ConfigError`` with every other key's.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from delivery.config.model import (
    IDENTITY_ENV,
    PROGRAM_ENV,
    PROJECT,
    ApiAccess,
    CapacityType,
    ClusterSettings,
    Colour,
    Environment,
    KubernetesVersion,
    NodeGroupSettings,
    ReleaseSettings,
    ReleaseStep,
    ServiceSettings,
    TrafficPolicy,
)
from delivery.config.nodes import instance_type_problem
from delivery.config.reader import ConfigReader, private_range, shown, special_range

# registry/repository, then a tag, a digest or both; an image without either would mean
# `latest`, which names no release.
IMAGE: Final = re.compile(
    r"^(?:[a-z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:[._/-][a-z0-9]+)*"
    r"(?P<tag>:\w[\w.-]{0,127})?(?P<digest>@sha256:[a-f0-9]{64})?\Z",
    re.ASCII,  # \d and \w: ASCII digits and letters only, as registries accept
)
_ROLE_ARN: Final = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}\Z", re.ASCII)
_SECURITY_GROUP: Final = re.compile(r"^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})\Z")
# EKS's quota "Public endpoint access CIDR ranges per cluster" (EKS user guide, service quotas).
MAX_PUBLIC_ACCESS_CIDRS: Final = 40
_INSTANCE_TYPE: Final = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9][a-z0-9-]*\Z")  # m7i.metal-24xl
# Kubernetes' IsEnvVarName (apimachinery validation): [-._a-zA-Z][-._a-zA-Z0-9]*.
_ENV: Final = re.compile(r"^(?P<name>[-._a-zA-Z][-._a-zA-Z0-9]*)=(?P<value>.*)$", re.DOTALL)
_ARGUMENT: Final = re.compile(r".")


def image_problem(value: str, environment: Environment | None) -> str | None:
    match = IMAGE.match(value)
    if not match or not (match["tag"] or match["digest"]):
        return (
            "must be a container image with a tag or a digest, such as "
            f"registry.example.com/web:1.4.2 or ...web@sha256:<64 hex>; got {shown(value)}"
        )
    if environment is not None and environment.digests_only and not match["digest"]:
        return (
            "must be an image pinned by digest (...@sha256:<64 hex>) in prod, so that a "
            f"release is exactly one build; got {shown(value)}"
        )
    return None


def _strings(reader: ConfigReader, name: str, pattern: re.Pattern[str], what: str) -> list[str]:
    """A list of text items that ``pattern`` matches; a problem names the first bad one."""
    items = reader.listing(name) or []
    bad = [i for i in items if not isinstance(i, str) or not pattern.match(i)]
    if bad:
        reader.fail(name, f"must list {what}, got {shown(bad[0])}")
        return []
    return items


def _repeated(items: list[str]) -> list[str]:
    """Each item that an earlier one already named, in order."""
    return [item for i, item in enumerate(items) if item in items[:i]]


def _at_least_one(reader: ConfigReader, name: str, found: list[str], why: str) -> None:
    if not found and not reader.has_problem(name):
        reader.fail(name, why)


def read_cluster(reader: ConfigReader, environment: Environment | None) -> ClusterSettings | None:
    version = reader.choice("kubernetesVersion", KubernetesVersion)
    cidrs = reader.cidr_blocks(
        "clusterPublicAccessCidrs",
        "the Kubernetes API",
        "list the CI or VPN ranges that run `pulumi up`, or none for a private endpoint",
    )
    if cidrs:
        cidrs = _public_endpoint_ranges(reader, cidrs)
    api = _read_api_access(reader)
    admins = _strings(reader, "clusterAdminRoleArns", _ROLE_ARN, "IAM role ARNs")
    twice = next(iter(_repeated(admins)), None)
    if twice is not None:
        # One access entry per principal: EKS's CreateAccessEntry refuses a second
        # (ResourceInUseException), after the first was created.
        reader.fail("clusterAdminRoleArns", f"lists {shown(twice)} twice; keep one")
        admins = []
    _at_least_one(
        reader,
        "clusterAdminRoleArns",
        admins,
        "must name at least one IAM role ARN: the cluster grants no one access implicitly, "
        "and whoever runs `pulumi up` must be one of these roles or deployRoleArn",
    )
    deploy = reader.matching("deployRoleArn", _ROLE_ARN, "an IAM role ARN")
    _refuse_own_ci_roles(reader, environment, admins, deploy)
    nodes = _read_nodes(reader, environment)
    if version is None or cidrs is None or api is None or not admins or nodes is None:
        return None
    if reader.has_problem("deployRoleArn"):
        return None
    extra = 1 if api.bootstrap_cidr else 0
    if len(cidrs) + extra > MAX_PUBLIC_ACCESS_CIDRS:
        reader.fail(
            "clusterPublicAccessCidrs",
            f"lists {len(cidrs)} ranges{' besides clusterBootstrapCidr' if extra else ''}; EKS "
            f"allows at most {MAX_PUBLIC_ACCESS_CIDRS} on the public endpoint: merge "
            "neighbouring ranges, or reach the private endpoint through clusterApiAccessCidrs",
        )
        return None
    return ClusterSettings(version, cidrs, tuple(admins), deploy, nodes, api)


def _refuse_own_ci_roles(
    reader: ConfigReader, environment: Environment | None, admins: list[str], deploy: str | None
) -> None:
    """The stack creates its CI roles and admits the infrastructure one itself, after creating
    it; named here, its access entry would be created from the bare ARN with no dependency on
    the role, and EKS refuses an entry for a role that does not exist yet."""
    if environment is None:
        return
    own = {f"{PROJECT}-{environment}-{kind}" for kind in ("release", "infrastructure")}
    for key, arns in (("clusterAdminRoleArns", admins), ("deployRoleArn", [deploy])):
        named = [a for a in arns if a and a.rsplit("/", 1)[-1] in own]
        if named:
            reader.fail(
                key,
                f"names {shown(named[0])}, a CI role this stack creates; the cluster admits "
                "the infrastructure role by itself once it exists: remove it",
            )


def _public_endpoint_ranges(
    reader: ConfigReader, cidrs: tuple[ipaddress.IPv4Network, ...]
) -> tuple[ipaddress.IPv4Network, ...] | None:
    """EKS refuses private blocks on the public endpoint (EKS user guide, "Configure network
    access to cluster API server endpoint"): a private client reaches the private one."""
    for net in cidrs:
        private = private_range(net)
        if private:
            reader.fail(
                "clusterPublicAccessCidrs",
                f"{net} is private ({private}), which EKS refuses on the public endpoint: move "
                "it to clusterApiAccessCidrs, which admits it to the private endpoint on 443",
            )
            return None
    return cidrs


def _read_api_access(reader: ConfigReader) -> ApiAccess | None:
    """Ways to the private endpoint (ranges, security groups) and the temporary bootstrap /32."""
    ranges = reader.cidr_blocks(
        "clusterApiAccessCidrs",
        "the Kubernetes API",
        "list the runner's or the VPN's own range",
    )
    for net in ranges or ():
        inside = private_range(net)
        if inside is None or not net.subnet_of(inside):
            reader.fail(
                "clusterApiAccessCidrs",
                f"{net} is not inside a private range (10.0.0.0/8, 172.16.0.0/12, "
                "192.168.0.0/16, 100.64.0.0/10): only a network routed to the VPC reaches the "
                "private endpoint; list a public address in clusterPublicAccessCidrs instead",
            )
            ranges = None
            break
    groups = _strings(
        reader,
        "clusterApiAccessSecurityGroupIds",
        _SECURITY_GROUP,
        "security group ids (sg- and 8 or 17 hex digits)",
    )
    if _repeated(groups):
        reader.fail("clusterApiAccessSecurityGroupIds", f"names a group twice: {shown(groups)}")
    bootstrap = reader.text("clusterBootstrapCidr", _bootstrap_problem)
    if ranges is None or reader.has_problem("clusterApiAccessSecurityGroupIds"):
        return None
    if reader.has_problem("clusterBootstrapCidr"):
        return None
    return ApiAccess(ranges, tuple(groups), ipaddress.IPv4Network(bootstrap) if bootstrap else None)


def _bootstrap_problem(value: str) -> str | None:
    try:
        net = ipaddress.IPv4Network(value.strip(), strict=False)
    except ValueError:
        net = None
    if net is None or net.prefixlen != 32:
        return (
            "must be one public IPv4 address as a /32 (your egress address, e.g. from "
            f"`curl https://checkip.amazonaws.com`), such as 198.51.100.7/32; got {shown(value)}"
        )
    if private_range(net) or special_range(net):
        return (
            f"{net} is not a public address, which EKS refuses on the public endpoint; "
            "use the public address your traffic leaves from"
        )
    return None


def _read_nodes(reader: ConfigReader, environment: Environment | None) -> NodeGroupSettings | None:
    types = _strings(reader, "nodeInstanceTypes", _INSTANCE_TYPE, "EC2 instance types")
    _at_least_one(
        reader,
        "nodeInstanceTypes",
        types,
        "must list at least one EC2 instance type, e.g. m6i.large",
    )
    capacity = reader.choice("nodeCapacityType", CapacityType)
    if capacity is CapacityType.SPOT and environment is not None and not environment.spot_allowed:
        reader.fail(
            "nodeCapacityType",
            f"must be onDemand in {environment}: spot nodes can be taken back with two "
            "minutes' notice",
        )
        capacity = None
    if _repeated(types):
        reader.fail("nodeInstanceTypes", f"names a type twice: {shown(types)}")
        types = []
    for problem in filter(None, (instance_type_problem(t, capacity) for t in types)):
        reader.fail("nodeInstanceTypes", problem)
        types = []
    low = reader.integer("nodeMinSize")
    desired = reader.integer("nodeDesiredSize")
    high = _not_below(reader, "nodeMaxSize", reader.integer("nodeMaxSize"), low, "nodeMinSize")
    if low is not None and desired is not None and high is not None and not low <= desired <= high:
        reader.fail(
            "nodeDesiredSize",
            f"must lie between nodeMinSize ({low}) and nodeMaxSize ({high}), got {desired}",
        )
        desired = None
    if not types or capacity is None or low is None or desired is None or high is None:
        return None
    return NodeGroupSettings(tuple(types), capacity, low, desired, high)


def read_service(reader: ConfigReader, environment: Environment | None) -> ServiceSettings | None:
    images = {
        colour: reader.text(f"{colour}Image", lambda v: image_problem(v, environment))
        for colour in Colour
    }
    command = _strings(reader, "containerCommand", _ARGUMENT, "non-empty arguments")
    env = []
    for item in reader.listing("containerEnv") or []:
        match = _ENV.match(item) if isinstance(item, str) else None
        if not match:
            reader.fail("containerEnv", f"entries must be 'NAME=value', got {shown(item)}")
            continue
        env.append((match["name"], match["value"]))
    _check_env_names(reader, [name for name, _ in env])
    cpu_request = reader.integer("cpuRequestMillicores")
    cpu_limit = _not_below(
        reader,
        "cpuLimitMillicores",
        reader.integer("cpuLimitMillicores"),
        cpu_request,
        "cpuRequestMillicores",
    )
    memory_request = reader.integer("memoryRequestMiB")
    memory_limit = _not_below(
        reader,
        "memoryLimitMiB",
        reader.integer("memoryLimitMiB"),
        memory_request,
        "memoryRequestMiB",
    )
    low = reader.integer("minReplicas")
    high = _not_below(reader, "maxReplicas", reader.integer("maxReplicas"), low, "minReplicas")
    idle = reader.integer("idleReplicas")
    if low is not None and idle is not None and idle > low:
        reader.fail("idleReplicas", f"must not exceed minReplicas ({low}), got {idle}")
        idle = None
    target = reader.integer("autoscaleCpuPercent")
    blue, green = images[Colour.BLUE], images[Colour.GREEN]
    numbers = (cpu_request, cpu_limit, memory_request, memory_limit, low, high, idle, target)
    if blue is None or green is None or any(n is None for n in numbers):
        return None
    if reader.has_problem("containerCommand") or reader.has_problem("containerEnv"):
        return None
    return ServiceSettings(
        {Colour.BLUE: blue, Colour.GREEN: green},
        tuple(command),
        tuple(env),
        *numbers,  # type: ignore[arg-type]  # each checked for None above
    )


def _check_env_names(reader: ConfigReader, names: list[str]) -> None:
    twice = sorted(set(_repeated(names)))
    if twice:
        reader.fail(
            "containerEnv",
            f"sets {', '.join(twice)} more than once; a container's env is keyed by name, and "
            "a server-side apply refuses the Deployment: keep one",
        )
    if taken := [n for n in names if n in PROGRAM_ENV]:
        reader.fail(
            "containerEnv",
            f"sets {', '.join(taken)}, which the program sets on every pod "
            f"({', '.join(PROGRAM_ENV)}): remove it",
        )
    if identity := [n for n in names if n in IDENTITY_ENV]:
        reader.fail(
            "containerEnv",
            f"sets {', '.join(identity)}: the pods take their AWS identity from IRSA, whose "
            "webhook injects neither its role nor its token into a container that sets "
            "either, and static keys would override the role; remove it",
        )


def _not_below(
    reader: ConfigReader, name: str, value: int | None, floor: int | None, floor_key: str
) -> int | None:
    """``value`` unless it is below ``floor`` (another key's value), which is a problem."""
    if value is not None and floor is not None and value < floor:
        reader.fail(name, f"must be at least {floor_key} ({floor}), got {value}")
        return None
    return value


def read_release(reader: ConfigReader, environment: Environment | None) -> ReleaseSettings | None:
    step = reader.choice("releaseStep", ReleaseStep)
    hook_command = _strings(reader, "hookCommand", _ARGUMENT, "non-empty arguments")
    hook_image = reader.text("hookImage", lambda v: image_problem(v, environment))
    delay = reader.integer("scaleDownDelaySeconds")
    candidate = reader.integer("candidateReplicas")
    if step is None or delay is None or candidate is None:
        return None
    if reader.has_problem("hookCommand") or reader.has_problem("hookImage"):
        return None
    return ReleaseSettings(step, tuple(hook_command), hook_image, delay, candidate)


def check_capacity(
    reader: ConfigReader,
    traffic: TrafficPolicy | None,
    service: ServiceSettings | None,
    release: ReleaseSettings | None = None,
) -> None:
    """A cutover that can never start, or one that could put traffic on idle pods, is a config
    error: the cutover's gate needs minHealthyTargets healthy targets on the colour taking
    traffic, which must be reachable at minReplicas and out of reach at idleReplicas (so a
    rollback onto a cleaned-up colour is refused until it is scaled up)."""
    if traffic is None or service is None:
        return
    healthy = traffic.min_healthy_targets
    if healthy > service.min_replicas:
        reader.fail(
            "minHealthyTargets",
            f"is {healthy} but minReplicas is {service.min_replicas}: a candidate staged at "
            "minReplicas could never pass the cutover's healthy-target gate; lower "
            f"minHealthyTargets to at most {service.min_replicas} or raise minReplicas",
        )
    elif service.idle_replicas >= healthy:
        reader.fail(
            "idleReplicas",
            f"is {service.idle_replicas} but minHealthyTargets is {healthy}: a shift back onto "
            "a cleaned-up colour would pass the healthy-target gate on its idle pods; set "
            f"idleReplicas below {healthy} or raise minHealthyTargets (at most minReplicas, "
            f"{service.min_replicas})",
        )
    if (
        release is not None
        and release.step is not ReleaseStep.CLEANUP
        and release.candidate_replicas > service.max_replicas
    ):
        reader.fail(
            "candidateReplicas",
            f"is {release.candidate_replicas} (the live colour's pods when the release staged) "
            f"but maxReplicas is {service.max_replicas}: the candidate could not take the "
            f"shift at the live colour's size; raise maxReplicas to at least "
            f"{release.candidate_replicas}",
        )


def upgrade_problem(running: str, wanted: str) -> str | None:
    """What to say when a cluster at ``running`` cannot go to ``wanted`` in one update."""

    def minor(version: str) -> tuple[int, int]:
        major, rest = version.split(".")[:2]
        return int(major), int(rest)

    have, want = minor(running), minor(wanted)
    if want == have or (want[0] == have[0] and want[1] == have[1] + 1):
        return None
    if want < have:
        return (
            f"is {wanted} but the cluster runs {running}: EKS cannot downgrade a cluster; "
            f"set kubernetesVersion back to {running}"
        )
    step = f"{have[0]}.{have[1] + 1}"
    return (
        f"is {wanted} but the cluster runs {running}: EKS upgrades one minor version at a "
        f"time; set kubernetesVersion to {step}, run `pulumi up`, then go on to {wanted}"
    )
