"""EKS and pods: encrypted secrets, audit logs, a closed or narrowed API endpoint in prod, nodes
in private subnets; pods non-root, read-only, without privilege escalation, pinned by digest."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

from delivery.config.model import BOOTSTRAP_TAG, Environment
from policy.baseline import ADVISORY, INTERNET, Rule, Stack, Subject, as_list

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
SUBNET = "aws:ec2/subnet:Subnet"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
WORKLOADS = frozenset(
    {
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:batch/v1:Job",
        "kubernetes:core/v1:Pod",
    }
)
AUDIT_LOGS = ("api", "audit", "authenticator")
NOT_PROD = "outside prod operators reach the API from anywhere; prod narrows or closes it"


def _secrets_encrypted(cluster: Subject) -> Iterator[str]:
    configs = as_list(cluster.get("encryptionConfig"))
    if not any("secrets" in as_list(c.get("resources")) for c in configs):
        yield "stores Kubernetes secrets unencrypted by KMS; set encryption_config for secrets"


def _audit_logs(cluster: Subject) -> Iterator[str]:
    missing = [t for t in AUDIT_LOGS if t not in as_list(cluster.get("enabledClusterLogTypes"))]
    if missing:
        yield f"does not log {', '.join(missing)}; add them to enabled_cluster_log_types"


def _covers_the_internet(cidrs: set[str]) -> bool:
    """The ranges together, not one by one: 0.0.0.0/1 and 128.0.0.0/1 are the internet too."""
    if cidrs & INTERNET:
        return True
    try:
        nets = [ipaddress.ip_network(c, strict=False) for c in cidrs]
    except ValueError:
        return False
    v4 = [n for n in nets if isinstance(n, ipaddress.IPv4Network)]
    return sum(n.num_addresses for n in ipaddress.collapse_addresses(v4)) == 2**32


def _endpoint(cluster: Subject) -> Iterator[str]:
    vpc = cluster.get("vpcConfig") or {}
    if vpc.get("endpointPublicAccess", True) is False:
        return
    cidrs = set(as_list(vpc.get("publicAccessCidrs"))) or {"0.0.0.0/0"}
    if _covers_the_internet(cidrs):
        yield (
            "exposes its API endpoint to the whole internet; set endpoint_public_access=False "
            "or public_access_cidrs to the operators' ranges"
        )


# The end of each version's standard and extended support on EKS (14 and 26 months after its
# EKS release: "Understand the Kubernetes version lifecycle on EKS", EKS user guide; dates as
# endoflife.date/amazon-eks lists them).
SUPPORT_ENDS: Final[Mapping[str, tuple[date, date]]] = {
    "1.33": (date(2026, 7, 29), date(2027, 7, 29)),
    "1.34": (date(2026, 12, 2), date(2027, 12, 2)),
    "1.35": (date(2027, 3, 27), date(2028, 3, 27)),
}


def today() -> date:
    return datetime.now(UTC).date()


def _supported(cluster: Subject) -> Iterator[str]:
    version = str(cluster.get("version") or "")
    ends = SUPPORT_ENDS.get(version)
    if ends is None or today() <= ends[0]:
        return
    standard, extended = ends
    if today() > extended:
        yield (
            f"runs Kubernetes {version}, past the end of EKS extended support ({extended}): "
            "EKS upgrades it by itself; upgrade kubernetesVersion one minor version at a time"
        )
    else:
        yield (
            f"runs Kubernetes {version}, past the end of EKS standard support ({standard}): "
            f"extended support costs more per cluster hour and ends {extended}; upgrade "
            "kubernetesVersion to the next minor version"
        )


def _bootstrap_access(cluster: Subject) -> Iterator[str]:
    address = (cluster.get("tags") or {}).get(BOOTSTRAP_TAG)
    if address:
        yield (
            f"admits the temporary bootstrap address {address} to its public endpoint; once a "
            "runner inside the VPC reaches the private endpoint (clusterApiAccessSecurityGroupIds"
            " or clusterApiAccessCidrs), remove clusterBootstrapCidr and run `pulumi up` from it"
        )


def _public_subnet(subnet: Subject) -> bool:
    tags = subnet.get("tags") or {}
    return bool(
        subnet.get("mapPublicIpOnLaunch")
        or tags.get("tier") == "public"
        or "kubernetes.io/role/elb" in tags
    )


def _private_nodes(stack: Stack) -> Iterator[tuple[Subject, str]]:
    subnets = {s.urn: s for s in stack.of_type(SUBNET)}
    for group in stack.of_type(NODE_GROUP):
        public = [
            subnets[urn].name
            for urn in group.dependencies.get("subnetIds", ())
            if urn in subnets and _public_subnet(subnets[urn])
        ]
        if public:
            yield (
                group,
                (f"places nodes in public subnets ({', '.join(public)}); use the private subnets"),
            )


def _node_metadata(template: Subject) -> Iterator[str]:
    """Nodes answer IMDSv2 only, one hop away: a pod (one more hop) cannot take the node
    role's credentials (EKS best practices, "Restrict access to the instance profile")."""
    options = template.get("metadataOptions") or {}
    if not options:
        yield (
            "sets no metadata options, so EC2's defaults (IMDSv1 allowed) apply; set "
            "metadata_options http_tokens=required and http_put_response_hop_limit=1"
        )
        return
    if options.get("httpTokens") != "required":
        yield "allows IMDSv1; set metadata_options.http_tokens=required"
    if int(options.get("httpPutResponseHopLimit") or 1) > 1:
        yield (
            f"lets {options['httpPutResponseHopLimit']} hops reach IMDS, so pods reach the node "
            "role; set metadata_options.http_put_response_hop_limit=1"
        )


def _pod_spec(workload: Subject) -> Mapping[str, Any]:
    spec = workload.get("spec") or {}
    if workload.type == "kubernetes:core/v1:Pod":
        return spec
    template = (spec.get("jobTemplate") or {}).get("spec", spec)
    return ((template.get("template") or {}).get("spec")) or {}


def _containers(workload: Subject) -> Iterator[Mapping[str, Any]]:
    spec = _pod_spec(workload)
    yield from as_list(spec.get("initContainers"))
    yield from as_list(spec.get("containers"))


def _hardened(workload: Subject) -> Iterator[str]:
    pod_context = _pod_spec(workload).get("securityContext") or {}
    for container in _containers(workload):
        context = container.get("securityContext") or {}
        name = container.get("name", "?")
        if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
            yield f"container {name} may run as root; set securityContext.runAsNonRoot=true"
        if not context.get("readOnlyRootFilesystem"):
            yield f"container {name} can write its root filesystem; set readOnlyRootFilesystem=true"
        if context.get("allowPrivilegeEscalation", True) is not False:
            yield f"container {name} may escalate privileges; set allowPrivilegeEscalation=false"
        if context.get("privileged"):
            yield f"container {name} is privileged; remove privileged=true"


def _pinned(workload: Subject) -> Iterator[str]:
    for container in _containers(workload):
        image = str(container.get("image", ""))
        if "@sha256:" not in image:
            yield (
                f"container {container.get('name', '?')} runs {image or 'an unnamed image'} by "
                "tag; pin it by digest (image@sha256:...)"
            )


RULES = [
    Rule(
        "eks-secrets-encryption",
        "EKS clusters encrypt Kubernetes secrets with KMS",
        "FSBP EKS.3",
        _secrets_encrypted,
        frozenset({CLUSTER}),
    ),
    Rule(
        "eks-audit-logs",
        "EKS clusters send API, audit and authenticator logs to CloudWatch",
        "FSBP EKS.8",
        _audit_logs,
        frozenset({CLUSTER}),
    ),
    Rule(
        "eks-endpoint-restricted",
        "The prod EKS API endpoint is private or limited to known ranges",
        "FSBP EKS.1",
        _endpoint,
        frozenset({CLUSTER}),
        relaxed={e: NOT_PROD for e in Environment if not e.protected},
    ),
    Rule(
        # Advisory: extended support still brings patches, at a price; EKS itself upgrades a
        # cluster past it.
        "eks-version-supported",
        "EKS clusters run a Kubernetes version under standard support",
        "FSBP EKS.2",
        _supported,
        frozenset({CLUSTER}),
        level=ADVISORY,
    ),
    Rule(
        # Advisory: the first deploy of a private cluster needs it, and says so until it is gone.
        "eks-bootstrap-access-removed",
        "A private cluster's temporary bootstrap address is removed after the first deploy",
        "FSBP EKS.1",
        _bootstrap_access,
        frozenset({CLUSTER}),
        level=ADVISORY,
    ),
    Rule(
        "eks-private-nodes",
        "EKS node groups run in private subnets",
        "CIS Amazon EKS Benchmark 5.4.3",
        stack_check=_private_nodes,
    ),
    Rule(
        "eks-node-imdsv2",
        "Node launch templates require IMDSv2 with a hop limit of 1",
        "FSBP EC2.170; CIS Amazon EKS Benchmark 5.4.1",
        _node_metadata,
        frozenset({LAUNCH_TEMPLATE}),
    ),
    Rule(
        "pods-hardened",
        "Pods run as non-root, read-only, unprivileged, without privilege escalation",
        "CIS Amazon EKS Benchmark 4.2 (pod security)",
        _hardened,
        WORKLOADS,
    ),
    Rule(
        "pods-images-pinned",
        "Prod pods run images pinned by digest",
        "CIS Amazon EKS Benchmark 5.1 (image registries)",
        _pinned,
        WORKLOADS,
        relaxed={
            e: f"{e} follows moving tags while a release is built"
            for e in Environment
            if not e.digests_only
        },
    ),
]
