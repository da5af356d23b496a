"""Pure model of an Incident Manager escalation plan: who is engaged, and when.

SSM Contacts runs an escalation plan's stages in order: a stage engages its contacts at once
and waits ``DurationInMinutes`` before the next stage begins; an acknowledgement by an
essential contact stops the plan, so no later stage is engaged (SSM Contacts API, ``Stage``
and ``ContactTargetInfo.IsEssential``; every Switchyard target is essential, so anyone's
acknowledgement stops it). After the last stage's wait the plan ends: nobody else is engaged.
``components/incidents.py`` declares the same stages; the property tests walk this model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from delivery.config.model import EscalationStage, IncidentSettings, Tier


@dataclass(frozen=True)
class Engagement:
    """Stage ``stage`` (0-based) engages ``contacts`` ``minute`` minutes into the incident."""

    minute: int
    stage: int
    contacts: tuple[str, ...]

    def __str__(self) -> str:
        return f"+{self.minute} min: stage {self.stage + 1} engages {', '.join(self.contacts)}"


def stage_starts(stages: Sequence[EscalationStage]) -> tuple[int, ...]:
    """The minute each stage begins: the sum of the waits before it."""
    starts, minute = [], 0
    for stage in stages:
        starts.append(minute)
        minute += stage.minutes
    return tuple(starts)


def engagements(
    stages: Sequence[EscalationStage], acknowledged_at: float | None = None
) -> tuple[Engagement, ...]:
    """Every engagement of an incident acknowledged ``acknowledged_at`` minutes after it began
    (None: nobody acknowledges). A stage due at the very minute of the acknowledgement is
    engaged: its predecessor's wait ran out unacknowledged."""
    return tuple(
        Engagement(start, index, stage.contacts)
        for index, (start, stage) in enumerate(zip(stage_starts(stages), stages, strict=True))
        if acknowledged_at is None or start <= acknowledged_at
    )


def exhausted_after(stages: Sequence[EscalationStage]) -> int:
    """Minutes after which an unacknowledged incident has engaged everyone and waited out the
    last stage: the plan ends there."""
    return sum(stage.minutes for stage in stages)


def paged(incidents: IncidentSettings, tier: Tier) -> tuple[Engagement, ...]:
    """Who an unacknowledged incident of ``tier`` engages: nobody for info and warning."""
    if not tier.pages:
        return ()
    return engagements(incidents.escalations.get(tier, ()))
