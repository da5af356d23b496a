"""The stack-config keys a release changes, named once.

Each release step is a stack-config change followed by ``pulumi up`` (README, "Releases from CI"),
so a person can do any step by hand with ``pulumi config set``. The workload component owns the
meaning of these keys (its images per colour, its release step, its pre-traffic hook); only this
module spells them for the driver.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from delivery.config.model import PROJECT, Colour

LIVE_COLOUR: Final = f"{PROJECT}:liveColour"
LATENCY_BASELINE_MS: Final = f"{PROJECT}:latencyBaselineMs"
RELEASE_STEP: Final = f"{PROJECT}:releaseStep"  # values: delivery.config.model.ReleaseStep
HOOK_COMMAND: Final = f"{PROJECT}:hookCommand"
CANDIDATE_REPLICAS: Final = f"{PROJECT}:candidateReplicas"


def image_key(colour: Colour) -> str:
    """The key holding the image a colour runs: staging a release sets it on the idle colour."""
    return f"{PROJECT}:{colour.value}Image"


def has_hook(config: Mapping[str, str]) -> bool:
    """A pre-traffic hook is configured (``hookCommand`` lists a command)."""
    raw = config.get(HOOK_COMMAND) or "[]"
    try:
        command = json.loads(raw)
    except json.JSONDecodeError:
        return bool(raw.strip())
    return bool(command)
