"""Pure planning of a release on the two colours: who runs what, at which size, which hook Jobs.

A release is a sequence of stack-config changes, each followed by `pulumi up`
(``releaseStep`` and ``liveColour``; README "A release by hand"). From those two keys and the
images this decides, for each colour, its image, its size and whether `pulumi up` may touch
its pods; and which pre-traffic Jobs exist. The workload component turns the plan into
Kubernetes objects; nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from delivery.config.model import (
    HOOK_HASH_CHARS,
    Colour,
    ReleaseSettings,
    ReleaseStep,
    ServiceSettings,
)


class Size(StrEnum):
    FULL = "full"  # the autoscaler between minReplicas and maxReplicas
    IDLE = "idle"  # idleReplicas, pinned


@dataclass(frozen=True)
class HookJob:
    colour: Colour  # the colour whose release it prepares
    name: str  # one per (colour, release image, hook image, command): a new release, a new Job
    release_image: str  # the image this Job prepares the way for
    image: str
    command: tuple[str, ...]
    # The live colour's Job is frozen like its pods: a mistaken change to the live colour's
    # image (or to hookCommand) starts no Job; the next release's Job takes it.
    frozen: bool


@dataclass(frozen=True)
class ColourPlan:
    colour: Colour
    image: str
    live: bool
    size: Size
    # The live colour's pods are never changed by `pulumi up`: a new image (or any other pod
    # change) reaches users only by staging it on the other colour and shifting traffic.
    frozen: bool
    # Its scale-down waits for the cutover (and scaleDownDelaySeconds): a failed or rolled
    # back shift leaves it running.
    after_cutover: bool
    # Its autoscaler may not scale it down: while a release is under way (the stage and the
    # promotion) neither colour shrinks below what it carried when the shift began, so a
    # rollback lands on the capacity it left (Argo Rollouts keeps its stable side fully scaled
    # until a promotion is complete). Clean-up lifts the hold, after the delay for the old one.
    held: bool
    # The autoscaler's floor at full size: minReplicas, and until clean-up at least the live
    # colour's pods when the release staged (candidateReplicas), so that the candidate takes
    # 50% and 100% at the size the old colour carried them with (Argo Rollouts scales its
    # canary ReplicaSet to the stable one's count before a full promotion, for the same reason).
    min_replicas: int


@dataclass(frozen=True)
class ReleasePlan:
    colours: dict[Colour, ColourPlan]
    hooks: tuple[HookJob, ...]  # every Job declared this run, the gating one first
    gating_hook: HookJob | None  # the live image's Job: the cutover starts only after it
    release_image: str  # the live colour's image: the cutover's release identity

    @property
    def shrinking(self) -> ColourPlan | None:
        """The colour that scales down once the cutover has succeeded, if any."""
        return next((c for c in self.colours.values() if c.after_cutover), None)


def live_image_problem(colour: Colour, configured: str, running: str) -> str | None:
    """What to say when the live colour's image in config differs from what its pods run.

    Its pods are frozen (never changed in place), so such a change would otherwise pass
    silently, and a cutover would then move traffic to pods that do not run the configured
    image (an image set in the same change that flips liveColour, for instance).
    """
    if configured == running:
        return None
    return (
        f"{colour}Image is {configured} but {colour}, the live colour, runs {running}: the live "
        f"colour's pods are never changed in place. Put {colour}Image back to {running}; to "
        f"release {configured}, stage it on {colour.other} ({colour.other}Image, releaseStep "
        f"stage, `pulumi up`) before switching liveColour to it in a change of its own"
    )


def hook_job_name(
    service_name: str, colour: Colour, release_image: str, image: str, command: tuple[str, ...]
) -> str:
    identity = "\0".join((colour.value, release_image, image, *command)).encode()
    digest = hashlib.sha256(identity).hexdigest()[:HOOK_HASH_CHARS]
    return f"{service_name}-hook-{digest}"


def plan_release(
    service_name: str, service: ServiceSettings, release: ReleaseSettings, live: Colour
) -> ReleasePlan:
    other = live.other
    cleanup = release.step is ReleaseStep.CLEANUP
    # A release is under way from its stage until it is cleaned up or ends otherwise: the
    # driver sets candidateReplicas at stage and puts it back to 0 at every end.
    under_way = not cleanup and release.candidate_replicas > 0
    floor = service.min_replicas
    if under_way:
        floor = max(floor, release.candidate_replicas)
    colours = {
        live: ColourPlan(
            live, service.images[live], True, Size.FULL, True, False, under_way, floor
        ),
        other: ColourPlan(
            other,
            service.images[other],
            False,
            Size.IDLE if cleanup else Size.FULL,
            False,
            cleanup,
            under_way,
            service.idle_replicas if cleanup else floor,
        ),
    }
    hooks: list[HookJob] = []
    if release.hook_command:
        # The live image's Job always exists: it ran before that image's pods started. Until
        # clean-up the other colour's image has its Job too, and that colour's pods start only
        # after it succeeded (Argo CD PreSync, CodeDeploy BeforeInstall): the stage step runs
        # it. Jobs are per colour, so the Job a promotion waits for is the very one staging
        # ran, whatever the other colour runs.
        hooked = [live] if cleanup else [live, other]
        for colour in hooked:
            release_image = service.images[colour]
            image = release.hook_image or release_image
            command = release.hook_command
            name = hook_job_name(service_name, colour, release_image, image, command)
            hooks.append(HookJob(colour, name, release_image, image, command, colour is live))
    return ReleasePlan(
        colours,
        tuple(hooks),
        hooks[0] if hooks else None,
        service.images[live],
    )
