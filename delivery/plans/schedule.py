"""Pure planning for a cutover: weights, the resume point and timing arithmetic. No I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from delivery.config.model import Colour, TrafficPolicy


@dataclass(frozen=True, order=True)
class Weights:
    """The production listener's forward weights; always two colours summing to 100."""

    blue: int
    green: int

    def __post_init__(self) -> None:
        if not (0 <= self.blue <= 100 and 0 <= self.green <= 100):
            raise ValueError(f"weights must lie in 0..100, got {self}")
        if self.blue + self.green != 100:
            raise ValueError(f"weights must sum to 100, got {self}")

    @classmethod
    def all_on(cls, colour: Colour) -> Weights:
        return cls.split(colour, 100)

    @classmethod
    def split(cls, target: Colour, target_weight: int) -> Weights:
        """``target`` gets ``target_weight`` percent, the other colour the rest."""
        if target is Colour.GREEN:
            return cls(blue=100 - target_weight, green=target_weight)
        return cls(blue=target_weight, green=100 - target_weight)

    @classmethod
    def from_mapping(cls, weights: Mapping[Colour, int]) -> Weights:
        return cls(blue=weights[Colour.BLUE], green=weights[Colour.GREEN])

    def of(self, colour: Colour) -> int:
        return self.blue if colour is Colour.BLUE else self.green

    @property
    def settled(self) -> Colour | None:
        """The colour carrying 100%, if one does (None while split)."""
        return next((c for c in Colour if self.of(c) == 100), None)

    def as_dict(self) -> dict[str, int]:
        return {"blue": self.blue, "green": self.green}

    def __str__(self) -> str:
        return f"blue={self.blue}% green={self.green}%"


@dataclass(frozen=True)
class Step:
    """Hold the target colour at ``weight`` for a bake; ``move`` says whether to set it first."""

    weight: int
    move: bool


def schedule(policy: TrafficPolicy, current_target_weight: int) -> tuple[Step, ...]:
    """The steps still to run when the target colour already carries ``current_target_weight``.

    A weight above zero means an earlier run stopped part way. Its bake may not have finished,
    so the first step re-bakes where traffic stands before anything rises: a resumed run never
    skips a bake. That holds for weights off the schedule (the policy changed in between) too.
    """
    if not 0 <= current_target_weight <= 100:
        raise ValueError(f"weight must lie in 0..100, got {current_target_weight}")
    remaining = tuple(Step(w, move=True) for w in policy.steps if w > current_target_weight)
    if current_target_weight == 0:
        return remaining
    return (Step(current_target_weight, move=False), *remaining)


def polls_per_bake(policy: TrafficPolicy) -> int:
    """Alarm polls in one bake: one as the bake starts, one per interval, one at its end."""
    return math.ceil(policy.bake_seconds / policy.poll_seconds) + 1


def worst_case_reaction_seconds(policy: TrafficPolicy) -> float:
    """Longest wait between an alarm entering ALARM and the engine seeing it."""
    return float(policy.poll_seconds)


def expected_duration_seconds(policy: TrafficPolicy, current_target_weight: int = 0) -> int:
    """Bake time a healthy shift takes from the given weight (API latency not counted)."""
    return policy.bake_seconds * len(schedule(policy, current_target_weight))
