"""The simulated stack port over the in-memory world (tests/world.py): the real cutover engine
on a fake clock, with the failures a release must survive (a failing pre-traffic hook, the
driver killed during `up`, something happening mid-promote). Smoke and load checks reach real
HTTP servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable

from delivery.config.model import Colour, ReleaseStep, Settings
from delivery.cutover.engine import Cutover
from delivery.rehearsal.release import SimulatedStack
from delivery.rehearsal.servers import ColourServer
from delivery.release.keys import CANDIDATE_REPLICAS, HOOK_COMMAND, RELEASE_STEP, has_hook
from delivery.release.port import UpFailed
from delivery.release.progress import OnProgress, Progress
from tests.world import Crash, World, make_world


class WorldStack(SimulatedStack):
    def __init__(self, settings: Settings, world: World, servers: dict[Colour, ColourServer]):
        super().__init__(
            settings,
            servers,
            self._engine_for,
            {
                "targetGroupArns": {c.value: f"arn:tg/{c}" for c in Colour},
                "loadBalancerArn": "arn:lb",
            },
        )
        self.world = world
        self.hook_fails = False
        self.cleanup_fails = False
        self.crash_on_up: int | None = None  # the n-th `up` dies (the driver is killed)
        self.crash_after_up: int | None = None  # the n-th `up` is applied, then the driver dies
        self.during_promote: Callable[[Progress], None] | None = None
        self.ups = 0
        self.room: int | None = None  # the most candidate pods the cluster can schedule

    def _engine_for(self, target: Colour, on_progress: OnProgress) -> Cutover:
        def observe(event: Progress) -> None:
            on_progress(event)
            if self.during_promote:
                self.during_promote(event)

        self.world.start_run()
        world = self.world
        return Cutover(
            world, world, world, world, self.settings.traffic, tuple(world.alarms), observe
        )

    def up(self, on_progress: OnProgress) -> None:
        self.ups += 1
        if self.crash_on_up == self.ups:
            raise Crash(f"the driver was killed during up #{self.ups}")
        if self.hook_fails and self._staging_with_hook():
            raise UpFailed("job web-hook-3f2a9c1d7e failed: migration exited 1")
        if self.cleanup_fails and self.values.get(RELEASE_STEP) == ReleaseStep.CLEANUP:
            raise UpFailed("deployment web-blue: scale down timed out")
        super().up(on_progress)
        if self.values.get(RELEASE_STEP) == ReleaseStep.STAGE:
            self._autoscale(self.live.other)
        if self.crash_after_up == self.ups:
            raise Crash(f"the driver was killed after up #{self.ups} was applied")

    def _autoscale(self, colour: Colour) -> None:
        """The HPA below its new minReplicas scales the Deployment up to it at its next sync
        (kubernetes pkg/controller/podautoscaler/horizontal.go: "Current number of replicas
        below Spec.MinReplicas" -> desiredReplicas = minReplicas), and the TargetGroupBinding
        registers each pod once ready: as many healthy targets, as far as the cluster has room."""
        floor = max(
            self.settings.service.min_replicas, int(self.values.get(CANDIDATE_REPLICAS) or 0)
        )
        if self.room is not None:
            floor = min(floor, self.room)
        self.world.healthy[colour] = max(self.world.healthy[colour], floor)

    def _staging_with_hook(self) -> bool:
        """The stage step's `up` runs the candidate's pre-traffic Job before its pods: a failed
        Job fails that `up` (delivery.plans.release)."""
        return self.values.get(RELEASE_STEP) == ReleaseStep.STAGE and has_hook(self.values)


def world_stack(settings: Settings, servers: dict[Colour, ColourServer]) -> WorldStack:
    stack = WorldStack(settings, make_world(settings.traffic, source=settings.live_colour), servers)
    stack.values[HOOK_COMMAND] = '["./manage", "migrate", "--expand-only"]'
    return stack
