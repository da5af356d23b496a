"""What an EC2 instance type offers a node of ours, for the node groups' configuration checks.

The table (``ec2-instance-types.json``) is EC2's own DescribeInstanceTypes output as moto
5.2.5 ships it (``moto/ec2/resources/instance_types.json.gz``), cut to the fields these checks
read; ``python -m tests.instance_types_source`` rewrites it from the installed moto, and a test
keeps the two equal. A type EC2's API model knows (botocore's ``InstanceType`` enum, kept
in the same file) but the table does not is newer than the table: it is accepted on its name's
architecture alone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

TABLE: Final = Path(__file__).with_name("ec2-instance-types.json")
# "Instance type naming conventions" (Amazon EC2 instance types guide): a "g" right after the
# generation means an AWS Graviton (arm64) processor; a1 is the first Graviton. Checked
# against every type of the table by a test.
_GRAVITON: Final = re.compile(r"^(?:a1|[a-z]+\d+g[a-z]*(?:-[a-z]+)?)\.", re.ASCII)
# NVIDIA Grace (arm64) superchips: p6e-gb200 ("GB200": Grace CPU, Blackwell GPUs).
_GRACE: Final = re.compile(r"^[a-z]+\d+[a-z]*-gb\d+\.", re.ASCII)
# Accelerated families (GPU, Neuron, Gaudi, FPGA, video transcoding), for names the table
# lacks: the families the table marks accelerated, by their leading letters.
_ACCELERATED: Final = re.compile(r"^(?:g|gr|p|inf|trn|dl|f|vt)\d", re.ASCII)

# amazon-eks-ami nodeadm (internal/kubelet/config.go, maxpods/maxpods.go), which the AL2023
# node AMI runs: kubeReserved memory 11 MiB per pod + 255 MiB, evictionHard memory.available
# 100Mi, kubeReserved CPU 6% of the first core, 1% of the second, 0.5% of the next two and
# 0.25% of the rest, and max pods ENIs x (IPv4 addresses per ENI - 1) + 2.
_EVICTION_MIB: Final = 100
_CPU_BANDS: Final = ((0, 1000, 600), (1000, 2000, 100), (2000, 4000, 50), (4000, None, 25))


@dataclass(frozen=True)
class InstanceType:
    name: str
    architectures: tuple[str, ...]  # EC2's SupportedArchitectures: x86_64, arm64, ...
    vcpus: int
    memory_mib: int
    network_interfaces: int
    ipv4_per_interface: int
    usage_classes: tuple[str, ...]  # on-demand, spot
    accelerators: tuple[str, ...]  # gpu, neuron, inference, fpga, media: none on ours

    @property
    def max_pods(self) -> int:
        return self.network_interfaces * (self.ipv4_per_interface - 1) + 2

    @property
    def allocatable_millicores(self) -> int:
        total = self.vcpus * 1000
        reserved = sum(
            (min(total, end or total) - start) * basis_points // 10_000
            for start, end, basis_points in _CPU_BANDS
            if total > start
        )
        return total - reserved

    @property
    def allocatable_mib(self) -> int:
        return self.memory_mib - (11 * self.max_pods + 255) - _EVICTION_MIB


def architecture_by_name(name: str) -> str:
    return "arm64" if _GRAVITON.match(name) or _GRACE.match(name) else "x86_64"


def accelerated_by_name(name: str) -> bool:
    return bool(_ACCELERATED.match(name))


@cache
def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(TABLE.read_text())
    return loaded


@cache
def _table() -> dict[str, InstanceType]:
    rows = _document()["types"]
    return {
        name: InstanceType(name, tuple(arch), cpus, mib, enis, ips, tuple(usage), tuple(extra))
        for name, (arch, cpus, mib, enis, ips, usage, extra) in rows.items()
    }


@cache
def _api_model_types() -> frozenset[str]:
    return frozenset(_document()["apiModel"])


def lookup(name: str) -> InstanceType | None:
    """The type's figures, or None when the table does not have it."""
    return _table().get(name)


def exists(name: str) -> bool:
    return name in _table() or name in _api_model_types()
