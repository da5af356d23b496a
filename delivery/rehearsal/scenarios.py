"""What can happen to a release during a rehearsal, and what the engine must do about it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from delivery.config.model import InsufficientData, TrafficPolicy
from delivery.cutover.ports import AlarmValue
from delivery.errors import Exit, SwitchyardError


class Outcome(StrEnum):
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled-back"
    REFUSED = "refused"
    FAILED = "failed"  # drift or a failed rollback: never what a scenario expects


class ScenarioError(SwitchyardError):
    """An unknown or impossible scenario was asked for."""

    exit_code = Exit.BAD_INPUT


@dataclass(frozen=True)
class Scenario:
    name: str
    expected: Outcome
    description: str
    fault_step: int | None = None  # the step during whose bake the fault starts
    fault_at: float = 0.4  # how far into that bake, as a fraction
    alarm_state: AlarmValue = AlarmValue.ALARM
    flapping: bool = False
    firing_before_start: bool = False
    healthy_targets: int | None = None  # None: enough to pass the health gate
    throttled_calls: int = 0


NAMES = (
    "healthy",
    "fail-at:<step>",
    "flapping",
    "throttled",
    "unhealthy-green",
    "already-firing",
    "insufficient-data",
)


def middle_step(policy: TrafficPolicy) -> int:
    return policy.steps[(len(policy.steps) - 1) // 2]


def default_scenarios(policy: TrafficPolicy) -> list[Scenario]:
    """The whole story: a release promoted, then one that goes bad at the middle step."""
    return [
        parse_scenario("healthy", policy),
        parse_scenario(f"fail-at:{middle_step(policy)}", policy),
    ]


def parse_scenario(text: str, policy: TrafficPolicy) -> Scenario:
    name = text.strip().lower()
    if name == "healthy":
        return Scenario(name, Outcome.PROMOTED, "every step bakes clean; the new colour goes live")
    if name.startswith("fail-at:"):
        raw = name.removeprefix("fail-at:")
        if not raw.isdigit() or int(raw) not in policy.steps:
            raise ScenarioError(
                f"scenario {text!r}: the step must be one of this stack's steps "
                f"{list(policy.steps)}, e.g. fail-at:{middle_step(policy)}"
            )
        step = int(raw)
        return Scenario(
            name,
            Outcome.ROLLED_BACK,
            f"the 5xx alarm enters ALARM during the {step}% bake",
            fault_step=step,
        )
    if name == "flapping":
        return Scenario(
            name,
            Outcome.ROLLED_BACK,
            "the 5xx alarm flaps: ALARM for half a poll, then OK before the next poll; the "
            "first ALARM seen rolls back and the rollback sticks",
            fault_step=policy.steps[0],
            flapping=True,
        )
    if name == "throttled":
        return Scenario(
            name,
            Outcome.PROMOTED,
            "ELBv2 throttles the listener calls; botocore's retry mode absorbs it",
            throttled_calls=3,
        )
    if name == "unhealthy-green":
        return Scenario(
            name,
            Outcome.REFUSED,
            "the new colour has no healthy targets; no traffic may move",
            healthy_targets=0,
        )
    if name == "already-firing":
        return Scenario(
            name,
            Outcome.REFUSED,
            "a gating alarm is in ALARM before the shift starts",
            firing_before_start=True,
        )
    if name == "insufficient-data":
        expected = (
            Outcome.ROLLED_BACK
            if policy.insufficient_data is InsufficientData.ROLLBACK
            else Outcome.PROMOTED
        )
        return Scenario(
            name,
            expected,
            f"an alarm goes to INSUFFICIENT_DATA mid-bake; this stack says "
            f"{policy.insufficient_data.value}",
            fault_step=middle_step(policy),
            alarm_state=AlarmValue.INSUFFICIENT_DATA,
        )
    raise ScenarioError(f"unknown scenario {text!r}; choose from: {', '.join(NAMES)}")
