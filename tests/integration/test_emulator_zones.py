"""The emulator builds subnets in moto's zones, which the configuration's table may correct."""

from __future__ import annotations

import pytest

from delivery.config.regions import zone_names
from delivery.errors import SwitchyardError
from delivery.rehearsal.emulator import Emulator, build_traffic_plane


def test_a_plane_wider_than_the_emulators_zones_is_refused_by_name(emulator: Emulator) -> None:
    # AWS gives cn-north-1 three zones (the table has them); moto knows two.
    emulator.reset()
    beijing = Emulator(emulator.endpoint, "cn-north-1").clients()
    assert len(zone_names("cn-north-1") or ()) == 3
    with pytest.raises(SwitchyardError) as refused:
        build_traffic_plane(beijing, "beijing", zones=3)
    assert str(refused.value) == (
        "the AWS emulator (moto) offers cn-north-1 2 zones (cn-north-1a, cn-north-1b), so a "
        "traffic plane over 3 cannot be built there; rehearse a stack with azCount at most 2"
    )
    assert len(build_traffic_plane(beijing, "beijing", zones=2).subnets) == 2
