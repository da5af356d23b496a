"""AWS regions and their availability zones, known without calling AWS.

A region is real when botocore's endpoint data (shipped with botocore, read offline) offers
every service the program uses there. ``ZONES`` holds the zones each region offers a new
account; ``check`` judges ``azCount`` from it and the offline runtime answers
``getAvailabilityZones`` with it. The program asks the region itself.

botocore lists regions but not their zones, so the table comes from the AWS emulator's (moto's)
and is not verified against AWS region by region, except where a comment names a source. A
region botocore offers that the table lacks is refused by ``check`` and named by the offline
runtime (``unlisted_region_problem``), never guessed.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Sequence
from typing import Final

import botocore.session

from delivery.config.reader import shown

# The services whose resources the program declares (IAM is global, so it has no regions).
SERVICES: Final = (
    "ec2",
    "elbv2",
    "cloudwatch",
    "logs",
    "sns",
    "secretsmanager",
    "kms",
    "s3",
    "eks",
)

# Zone letters per region: "<region><letter>" is each zone's name.
ZONES: Final[dict[str, str]] = {
    "af-south-1": "abc",
    "ap-east-1": "abc",
    "ap-east-2": "abc",
    "ap-northeast-1": "acd",
    "ap-northeast-2": "abcd",
    "ap-northeast-3": "abc",
    "ap-south-1": "abc",
    "ap-south-2": "abc",
    "ap-southeast-1": "abc",
    "ap-southeast-2": "abc",
    "ap-southeast-3": "abc",
    "ap-southeast-4": "abc",
    "ap-southeast-5": "abc",
    "ap-southeast-6": "abc",
    "ap-southeast-7": "abc",
    "ca-central-1": "abd",
    "ca-west-1": "abc",
    # moto has two; AWS's "Getting Started with AWS in China" (General Information) says the
    # Beijing and Ningxia Regions have three Availability Zones each, cn-north-1a, 1b and 1d.
    "cn-north-1": "abd",
    "cn-northwest-1": "abc",
    "eu-central-1": "abc",
    "eu-central-2": "abc",
    "eu-north-1": "abc",
    "eu-south-1": "abc",
    "eu-south-2": "abc",
    "eu-west-1": "abc",
    "eu-west-2": "abc",
    "eu-west-3": "abc",
    "il-central-1": "abc",
    "me-central-1": "abc",
    "me-south-1": "abc",
    "mx-central-1": "abc",
    "sa-east-1": "abc",
    "us-east-1": "abcdef",
    "us-east-2": "abc",
    "us-gov-east-1": "abc",
    "us-gov-west-1": "abc",
    "us-west-1": "ab",
    "us-west-2": "abcd",
}


@functools.cache
def _endpoints() -> botocore.session.Session:
    return botocore.session.get_session()  # loads botocore's endpoint data once


@functools.cache
def partition_of(region: str) -> str:
    """aws, aws-cn, aws-us-gov, ...: the partition a region's ARNs name."""
    return str(_endpoints().get_partition_for_region(region))


@functools.cache
def real_regions() -> frozenset[str]:
    """Every region, in every partition, that offers all of ``SERVICES``."""
    session = _endpoints()
    found: set[str] = set()
    for partition in session.get_available_partitions():
        offered = [set(session.get_available_regions(s, partition)) for s in SERVICES]
        found |= set.intersection(*offered)
    return frozenset(found)


def region_problem(region: str) -> str | None:
    """Why ``region`` is not a region Switchyard can deploy to, or None. The one rule for the
    stack's ``aws:region`` and the cutover provider's ``region`` input."""
    if region in real_regions():
        return None
    close = difflib.get_close_matches(region.strip().lower(), sorted(real_regions()), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return (
        "must be an AWS region that offers every service Switchyard uses, such as "
        f"eu-west-1, got {shown(region)}{hint}"
    )


def zone_names(region: str) -> tuple[str, ...] | None:
    """The region's zones, or None when the table does not know the region."""
    letters = ZONES.get(region)
    return None if letters is None else tuple(f"{region}{letter}" for letter in letters)


def unlisted_region_problem(region: str) -> str | None:
    """Why ``check`` cannot judge a region botocore offers but the zone table lacks, or None."""
    if region in ZONES:
        return None
    return (
        f"{region} offers every service, but its zones are not in Switchyard's table "
        "(ZONES in delivery/config/regions.py), so azCount cannot be checked; add the zones "
        "the region offers to that table, or choose a listed region such as eu-west-1"
    )


def zone_count_problem(az_count: int, region: str, zones: Sequence[str]) -> str | None:
    """Why ``azCount`` cannot be met in a region with these available zones, or None."""
    if az_count <= len(zones):
        return None
    if not zones:  # the offline runtime answers from ZONES; AWS answers an enabled region's
        why = unlisted_region_problem(region) or (
            "check that the region is enabled for the account (an opt-in region must be "
            "enabled first) and that aws:region is the region you mean"
        )
        return f"{region} answered no available Availability Zones: {why}"
    return (
        f"asks for {az_count} zones, but {region} has {len(zones)} available "
        f"({', '.join(zones)}); set it to at most {len(zones)}"
    )
