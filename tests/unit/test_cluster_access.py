"""Who reaches the Kubernetes API: the private endpoint's ranges and security groups, the
temporary bootstrap /32 of a private cluster's first deploy, and what EKS refuses on the public
endpoint (EKS user guide, "Configure network access to cluster API server endpoint")."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from delivery.config.settings import load_settings
from delivery.config.stackfile import stack_config
from delivery.errors import ConfigError

PROD: dict[str, Any] = stack_config("prod")
STAGING: dict[str, Any] = stack_config("staging")


def settings(base: dict[str, Any], **overrides: Any) -> Any:
    return load_settings({**base, **{f"switchyard:{k}": v for k, v in overrides.items()}}, "t")


def problem(base: dict[str, Any], key: str, **overrides: Any) -> str:
    with pytest.raises(ConfigError) as failure:
        settings(base, **overrides)
    found = {p.key: p.reason for p in failure.value.problems}
    assert set(found) == {f"switchyard:{key}"}, found
    return found[f"switchyard:{key}"]


def test_the_private_endpoint_admits_ranges_and_security_groups() -> None:
    api = settings(
        PROD,
        clusterApiAccessCidrs=["10.30.0.0/16", "100.64.8.0/24"],
        clusterApiAccessSecurityGroupIds=["sg-0123456789abcdef0", "sg-12345678"],
    ).cluster.api
    assert api.cidrs == (
        ipaddress.IPv4Network("10.30.0.0/16"),
        ipaddress.IPv4Network("100.64.8.0/24"),
    )
    assert api.security_groups == ("sg-0123456789abcdef0", "sg-12345678")
    assert api.bootstrap_cidr is None


def test_the_bootstrap_address_opens_the_public_endpoint_to_one_address_only() -> None:
    cluster = settings(PROD, clusterBootstrapCidr="198.51.100.7/32").cluster
    assert cluster.public_access_cidrs == ()
    assert cluster.public_endpoint_cidrs == (ipaddress.IPv4Network("198.51.100.7/32"),)
    both = settings(STAGING, clusterBootstrapCidr="198.51.100.7").cluster
    assert [str(c) for c in both.public_endpoint_cidrs] == ["203.0.113.0/24", "198.51.100.7/32"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("198.51.100.0/24", "one public IPv4 address as a /32"),
        ("0.0.0.0/0", "one public IPv4 address as a /32"),
        ("my laptop", "one public IPv4 address as a /32"),
        ("10.1.2.3/32", "not a public address"),
        ("127.0.0.1", "not a public address"),
    ],
)
def test_the_bootstrap_address_must_be_one_public_address(value: str, reason: str) -> None:
    assert reason in problem(PROD, "clusterBootstrapCidr", clusterBootstrapCidr=value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (["203.0.113.0/24"], "not inside a private range"),
        (["10.0.0.0/7"], "/8 or narrower"),
        (["172.15.0.0/16"], "not inside a private range"),
        (["10.30.0.0/16", "10.30.0.0/16"], "twice"),
        (["ten"], "IPv4 CIDR"),
    ],
)
def test_private_endpoint_ranges_must_be_private(value: list[str], reason: str) -> None:
    assert reason in problem(PROD, "clusterApiAccessCidrs", clusterApiAccessCidrs=value)


def test_security_groups_are_ids_named_once() -> None:
    bad = problem(
        PROD, "clusterApiAccessSecurityGroupIds", clusterApiAccessSecurityGroupIds=["runner-sg"]
    )
    assert "security group ids (sg- and 8 or 17 hex digits)" in bad
    twice = ["sg-12345678", "sg-12345678"]
    assert "twice" in problem(
        PROD, "clusterApiAccessSecurityGroupIds", clusterApiAccessSecurityGroupIds=twice
    )


def test_the_public_endpoint_refuses_private_ranges_and_more_than_eks_allows() -> None:
    private = problem(STAGING, "clusterPublicAccessCidrs", clusterPublicAccessCidrs=["10.9.0.0/16"])
    assert "EKS refuses on the public endpoint" in private
    assert "clusterApiAccessCidrs" in private
    many = [f"198.51.{i}.0/24" for i in range(40)]
    assert settings(STAGING, clusterPublicAccessCidrs=many).cluster.public_access_cidrs
    too_many = problem(
        STAGING,
        "clusterPublicAccessCidrs",
        clusterPublicAccessCidrs=many,
        clusterBootstrapCidr="192.0.2.9/32",
    )
    assert "at most 40" in too_many and "besides clusterBootstrapCidr" in too_many
