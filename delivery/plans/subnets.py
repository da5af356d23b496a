"""Pure subnet planning: non-overlapping public and private CIDRs for each availability zone."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

from delivery.config.model import MAX_SUBNET_PREFIX, public_subnet_prefix, zone_bits


@dataclass(frozen=True)
class ZoneSubnets:
    zone_index: int
    private: IPv4Network
    public: IPv4Network


def plan_subnets(vpc: IPv4Network, zones: int) -> tuple[ZoneSubnets, ...]:
    """Private subnets share the VPC's first half, public ones its third quarter.

    The last quarter stays free for later tiers (databases, endpoints) without renumbering.
    Every zone gets the same sizes, so capacity does not depend on which zone a pod lands in.
    """
    if zones < 1:
        raise ValueError(f"need at least one zone, got {zones}")
    bits = zone_bits(zones)
    private_half, rest = vpc.subnets(prefixlen_diff=1)
    public_quarter, _reserved = rest.subnets(prefixlen_diff=1)
    if public_subnet_prefix(vpc.prefixlen, zones) > MAX_SUBNET_PREFIX:
        raise ValueError(f"{vpc} is too small for {zones} zones")
    privates = list(private_half.subnets(prefixlen_diff=bits))
    publics = list(public_quarter.subnets(prefixlen_diff=bits))
    return tuple(ZoneSubnets(i, privates[i], publics[i]) for i in range(zones))
