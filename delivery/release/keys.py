"""The stack-config keys a release changes, named once.

Each release step is a stack-config change followed by ``pulumi up`` (DESIGN.md, "A release"),
so a person can do any step by hand with ``pulumi config set``. The workloads' image keys belong
to the workload component; only this module spells them for the driver.
"""

from __future__ import annotations

from typing import Final

from delivery.config.model import PROJECT, Colour

LIVE_COLOUR: Final = f"{PROJECT}:liveColour"
LATENCY_BASELINE_MS: Final = f"{PROJECT}:latencyBaselineMs"


def image_key(colour: Colour) -> str:
    """The key holding the image a colour runs: staging a release sets it on the idle colour."""
    return f"{PROJECT}:{colour.value}Image"
