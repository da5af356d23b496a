"""A stack port over the in-memory world (tests/world.py) and the real cutover engine.

`up` does what the program's `pulumi up` does for a release: a changed image is staged on its
colour (its pre-traffic hook may fail), a changed liveColour runs the real engine from the
recorded live colour. Smoke and load checks reach real HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from delivery.config.model import Colour, Settings
from delivery.config.stackfile import stack_config
from delivery.cutover.engine import Cutover
from delivery.errors import ListenerDrift, RollbackFailed, RolledBack, ShiftRefused
from delivery.rehearsal.servers import ColourServer
from delivery.release.keys import LIVE_COLOUR, image_key
from delivery.release.port import UpFailed
from delivery.release.progress import OnProgress, Progress
from tests.world import Crash, World, make_world


@dataclass
class WorldStack:
    settings: Settings
    world: World
    servers: dict[Colour, ColourServer]
    values: dict[str, str] = field(default_factory=dict)
    live: Colour = Colour.BLUE
    deployed: dict[Colour, str] = field(default_factory=dict)
    hook_fails: bool = False
    crash_on_up: int | None = None  # the n-th `up` dies (the driver's process is killed)
    during_promote: Callable[[Progress], None] | None = None
    ups: int = 0
    set_calls: list[dict[str, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.settings.stack

    def config(self) -> dict[str, str]:
        return dict(self.values)

    def set_config(self, values: Mapping[str, str]) -> None:
        self.set_calls.append(dict(values))
        self.values.update(values)

    def up(self, on_progress: OnProgress) -> None:
        self.ups += 1
        if self.crash_on_up == self.ups:
            raise Crash(f"the driver was killed during up #{self.ups}")
        for colour in Colour:
            image = self.values.get(image_key(colour))
            if image and image != self.deployed.get(colour):
                if self.hook_fails:
                    raise UpFailed("job pre-traffic-hook failed: migration exited 1")
                self.deployed[colour] = image
                self.servers[colour].behaviour.image = image
        wanted = Colour(self.values[LIVE_COLOUR])
        if wanted is self.live:
            return

        def observe(event: Progress) -> None:
            on_progress(event)
            if self.during_promote:
                self.during_promote(event)

        self.world.start_run()
        engine = Cutover(
            self.world,
            self.world,
            self.world,
            self.world,
            self.settings.traffic,
            tuple(self.world.alarms),
            observe,
        )
        try:
            engine.shift(self.live, wanted)
        except (RolledBack, ShiftRefused, ListenerDrift, RollbackFailed) as exc:
            raise UpFailed(f"switchyard:cutover:BlueGreenCutover failed: {exc}") from exc
        self.live = wanted

    def outputs(self) -> dict[str, Any]:
        return {
            "testListenerUrl": self.servers[self.live.other].url,
            "targetGroupArns": {c.value: f"arn:tg/{c}" for c in Colour},
            "loadBalancerArn": "arn:lb",
        }


def world_stack(settings: Settings, servers: dict[Colour, ColourServer]) -> WorldStack:
    world = make_world(settings.traffic, source=settings.live_colour)
    values = {
        k: v if isinstance(v, str) else str(v) for k, v in stack_config(settings.stack).items()
    }
    return WorldStack(settings, world, servers, values, live=settings.live_colour)
