"""Node groups a real account would refuse, or that could run none of the service's pods."""

from __future__ import annotations

from typing import Final

from delivery.config.instance_types import (
    accelerated_by_name,
    architecture_by_name,
    exists,
    lookup,
)
from delivery.config.model import CapacityType, ClusterSettings, ServiceSettings
from delivery.config.reader import ConfigReader

# The managed node groups' AMI (components/cluster.py passes it as ami_type): EKS launches it
# on x86_64 instances only ("AMI types", EKS API reference, Nodegroup amiType).
NODE_AMI_TYPE: Final = "AL2023_x86_64_STANDARD"
NODE_ARCHITECTURE: Final = "x86_64"
# Pods every node runs before ours: aws-node (VPC CNI) and kube-proxy, the two host-network
# pods nodeadm's max-pods formula adds 2 for, and the CloudWatch observability add-on's agent
# and Fluent Bit DaemonSets. Only the add-on's requests are counted (chart 6.4.0 values:
# agent 250m/128Mi, Fluent Bit 50m/25Mi); the EKS add-ons' own requests and the node's real
# memory (below EC2's nominal figure) make the room smaller: a refusal here is certain, a
# pass is not a promise.
DAEMONSET_PODS: Final = 4
DAEMONSET_MILLICORES: Final = 250 + 50
DAEMONSET_MIB: Final = 128 + 25


def instance_type_problem(name: str, capacity: CapacityType | None) -> str | None:
    if not exists(name):
        return (
            f"names {name!r}, which is not an EC2 instance type the pinned EC2 API model "
            "(botocore in constraints.txt) knows: use one `aws ec2 describe-instance-types` "
            "lists, e.g. m6i.large; a type launched since needs `make lock` and "
            "`python -m tests.instance_types_source`"
        )
    known = lookup(name)
    architectures = known.architectures if known else (architecture_by_name(name),)
    if NODE_ARCHITECTURE not in architectures:
        return (
            f"names {name!r}, a type for {'/'.join(architectures)}, but the node AMI "
            f"{NODE_AMI_TYPE} runs on x86_64 only: use an x86_64 type such as m6i.large"
        )
    by_name: tuple[str, ...] = ("gpu",) if accelerated_by_name(name) else ()
    accelerated = known.accelerators if known else by_name
    if accelerated:
        return (
            f"names {name!r}, an accelerated type ({'/'.join(accelerated)}), but the node AMI "
            f"{NODE_AMI_TYPE} carries no accelerator drivers (EKS has AL2023_x86_64_NVIDIA and "
            "_NEURON AMIs for those): use a general-purpose type such as m6i.large"
        )
    if known and capacity is CapacityType.SPOT and "spot" not in known.usage_classes:
        return (
            f"names {name!r}, which EC2 does not sell as spot capacity: use another type or "
            "nodeCapacityType onDemand"
        )
    return None


def check_node_fit(
    reader: ConfigReader, cluster: ClusterSettings | None, service: ServiceSettings | None
) -> None:
    """Every instance type of the node groups must hold one of the service's pods beside the
    DaemonSets, or a node the autoscaler adds for a pending pod can never take it."""
    if cluster is None or service is None:
        return
    for name in cluster.nodes.instance_types:
        known = lookup(name)
        if known is None:
            continue  # newer than the table: EC2 knows it, its size is not known here
        cpu = known.allocatable_millicores - DAEMONSET_MILLICORES
        mib = known.allocatable_mib - DAEMONSET_MIB
        if known.max_pods <= DAEMONSET_PODS:
            why = (
                f"runs at most {known.max_pods} pods (VPC CNI: ENIs x (addresses per ENI - 1)"
                f" + 2) and the {DAEMONSET_PODS} DaemonSet pods every node runs take them all"
            )
        elif service.cpu_request_millicores > cpu:
            why = (
                f"leaves {cpu}m CPU for pods after the kubelet's reserve and the DaemonSets, "
                f"less than cpuRequestMillicores ({service.cpu_request_millicores})"
            )
        elif service.memory_request_mib > mib:
            why = (
                f"leaves {mib} MiB for pods after the kubelet's reserve and the DaemonSets, "
                f"less than memoryRequestMiB ({service.memory_request_mib})"
            )
        else:
            continue
        reader.fail(
            "nodeInstanceTypes",
            f"names {name!r}, which {why}: no node of that type can run the service's pods "
            "(and the real room is smaller still); use a larger type or lower the requests",
        )
