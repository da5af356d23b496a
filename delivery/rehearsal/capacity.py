"""A model of the HorizontalPodAutoscaler's default behaviour, to rehearse what a shift does to
each colour's capacity: which replica count a rollback at any step lands on.

Upstream, at the API of our pulumi-kubernetes 4.34.2 (autoscaling/v2), read in
kubernetes pkg/apis/autoscaling/v2/defaults.go: scale-up has no stabilisation and may add
max(4 pods, 100%) per 15 s (selectPolicy Max); scale-down may remove 100% per 15 s after the
stabilisation window, the kube-controller-manager's --horizontal-pod-autoscaler-downscale-
stabilization (default 5m: the highest recommendation of the last 300 s is used). The
controller syncs every 15 s (--horizontal-pod-autoscaler-sync-period). ``selectPolicy:
Disabled`` on scale-down (``components.workload.HELD``) turns scale-down off.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from delivery.config.model import ReleaseStep, Settings
from delivery.plans.release import plan_release

SYNC_SECONDS: Final = 15
SCALE_UP_PODS: Final = 4
SCALE_UP_PERCENT: Final = 100
DOWNSCALE_STABILISATION_SECONDS: Final = 300


@dataclass
class ModelAutoscaler:
    min_replicas: int
    max_replicas: int
    replicas: int
    held: bool  # behavior.scaleDown.selectPolicy: Disabled
    _recommendations: list[tuple[float, int]] = field(default_factory=list)

    def sync(self, now: float, pods_needed: int) -> int:
        """One controller sync: the recommendation for the load, then the rules; the new count."""
        wanted = min(max(pods_needed, self.min_replicas), self.max_replicas)
        self._recommendations = [
            (t, r) for t, r in self._recommendations if now - t < DOWNSCALE_STABILISATION_SECONDS
        ] + [(now, wanted)]
        if wanted > self.replicas:
            step = max(SCALE_UP_PODS, self.replicas * SCALE_UP_PERCENT // 100)
            self.replicas = min(wanted, self.replicas + step)
        elif wanted < self.replicas and not self.held:
            # the stabilised recommendation (never a rise); 100% per period lets it fall there
            stabilised = max(r for _, r in self._recommendations)
            self.replicas = min(self.replicas, stabilised)
        return self.replicas


@dataclass(frozen=True)
class CapacityPoint:
    at: float
    step: int  # the candidate's weight in force
    old: int
    new: int


@dataclass(frozen=True)
class CapacityTrace:
    points: tuple[CapacityPoint, ...]
    starting_old: int

    @property
    def starting_new(self) -> int:
        return self.points[0].new

    @property
    def old_minimum(self) -> int:
        return min(p.old for p in self.points)

    @property
    def old_at_end(self) -> int:
        """What a rollback at the end of the last bake puts all traffic back on."""
        return self.points[-1].old

    def lines(self) -> list[str]:
        shown: list[str] = []
        last: tuple[int, int, int] | None = None
        for p in self.points:
            if (p.step, p.old, p.new) != last:
                shown.append(
                    f"t={p.at:>6.0f}s  new {p.step:>3}%  old {p.old:>3} pods  new {p.new:>3}"
                )
                last = (p.step, p.old, p.new)
        return shown


def rehearse_capacity(
    steps: Sequence[int],
    bake_seconds: int,
    live_replicas: int,
    min_replicas: int,
    max_replicas: int,
    *,
    held: bool,
    candidate_replicas: int | None = None,
) -> CapacityTrace:
    """Both colours' autoscalers through a shift; the load is ``live_replicas`` pods' worth,
    split by weight. The candidate starts at ``candidate_replicas`` (default minReplicas)."""
    old = ModelAutoscaler(min_replicas, max_replicas, live_replicas, held)
    new = ModelAutoscaler(min_replicas, max_replicas, candidate_replicas or min_replicas, held)
    points = [CapacityPoint(0.0, 0, old.replicas, new.replicas)]
    now = 0.0
    for step in steps:
        for _ in range(math.ceil(bake_seconds / SYNC_SECONDS)):
            now += SYNC_SECONDS
            old_count = old.sync(now, math.ceil(live_replicas * (100 - step) / 100))
            new_count = new.sync(now, math.ceil(live_replicas * step / 100))
            points.append(CapacityPoint(now, step, old_count, new_count))
    return CapacityTrace(tuple(points), live_replicas)


def promotion_trace(settings: Settings, live_replicas: int | None = None) -> CapacityTrace:
    """The stack's shift from its live colour, each colour held or not as the promotion's
    `pulumi up` plans it; the live colour busy at ``live_replicas`` (default maxReplicas)."""
    old = settings.live_colour
    service = settings.service
    busy = live_replicas or service.max_replicas
    # The driver's stage sets candidateReplicas to the live colour's running targets.
    release = dataclasses.replace(settings.release, step=ReleaseStep.STAGE, candidate_replicas=busy)
    plan = plan_release(settings.workload.service_name, settings.service, release, old.other)
    return rehearse_capacity(
        settings.traffic.steps,
        settings.traffic.bake_seconds,
        busy,
        service.min_replicas,
        service.max_replicas,
        held=plan.colours[old].held,
        candidate_replicas=plan.colours[old.other].min_replicas,
    )


def print_capacity(settings: Settings, say: Callable[[str], None]) -> None:
    trace = promotion_trace(settings)
    say(
        f"capacity during the shift (HPA default behaviour modelled; the old colour starts at "
        f"{trace.starting_old} pods):"
    )
    for line in trace.lines():
        say(f"  {line}")
    say(
        f"old colour: at least {trace.old_minimum} pods during the shift; a rollback after the "
        f"last bake lands on {trace.old_at_end}; the candidate took the first step with "
        f"{trace.starting_new} pods (candidateReplicas: the live colour's, read at stage)"
    )
