"""The subnet planner: any VPC block and zone count that fit give disjoint, contained subnets."""

from __future__ import annotations

import itertools
from ipaddress import IPv4Network

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from delivery.config.model import MAX_SUBNET_PREFIX
from delivery.plans.subnets import plan_subnets


@st.composite
def vpcs(draw: st.DrawFn) -> IPv4Network:
    prefix = draw(st.integers(16, 24))
    address = draw(st.integers(0, 2**32 - 1))
    return IPv4Network((address, prefix), strict=False)


@given(vpc=vpcs(), zones=st.integers(1, 6))
def test_subnets_are_inside_the_vpc_and_never_overlap(vpc: IPv4Network, zones: int) -> None:
    try:
        plan = plan_subnets(vpc, zones)
    except ValueError:
        assume(False)
    subnets = [s for zone in plan for s in (zone.private, zone.public)]
    assert len(plan) == zones
    assert [z.zone_index for z in plan] == list(range(zones))
    assert all(s.subnet_of(vpc) for s in subnets)
    assert all(s.prefixlen <= MAX_SUBNET_PREFIX for s in subnets)
    for a, b in itertools.combinations(subnets, 2):
        assert not a.overlaps(b), (a, b)
    assert all(z.private.num_addresses == 2 * z.public.num_addresses for z in plan)


@given(vpc=vpcs(), zones=st.integers(1, 6))
def test_a_block_too_small_is_refused_rather_than_squeezed(vpc: IPv4Network, zones: int) -> None:
    needed_bits = 2 + (zones - 1).bit_length()
    if vpc.prefixlen + needed_bits > MAX_SUBNET_PREFIX:
        with pytest.raises(ValueError, match="too small"):
            plan_subnets(vpc, zones)
    else:
        assert len(plan_subnets(vpc, zones)) == zones


def test_the_prod_layout() -> None:
    plan = plan_subnets(IPv4Network("10.30.0.0/16"), 3)
    assert [(str(z.private), str(z.public)) for z in plan] == [
        ("10.30.0.0/19", "10.30.128.0/20"),
        ("10.30.32.0/19", "10.30.144.0/20"),
        ("10.30.64.0/19", "10.30.160.0/20"),
    ]
