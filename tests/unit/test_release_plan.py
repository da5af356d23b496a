"""The release plan: sizes, frozen pods and hook Jobs for each step of a release."""

from __future__ import annotations

import dataclasses
import re

from delivery.config.model import Colour, ReleaseStep, Settings
from delivery.config.settings import MAX_SERVICE_NAME
from delivery.config.stackfile import load_stack
from delivery.plans.release import (
    ReleasePlan,
    Size,
    hook_job_name,
    live_image_problem,
    plan_release,
)

OLD = "registry.example.com/web:1.0.0"
NEW = "registry.example.com/web:2.0.0"


def plan_for(
    live: Colour, step: ReleaseStep, blue: str = OLD, green: str = NEW, hook: bool = True
) -> ReleasePlan:
    settings: Settings = load_stack("staging")
    service = dataclasses.replace(settings.service, images={Colour.BLUE: blue, Colour.GREEN: green})
    release = dataclasses.replace(
        settings.release, step=step, hook_command=("/app/migrate",) if hook else ()
    )
    return plan_release("web", service, release, live)


def test_stage_runs_the_candidate_at_full_size_beside_the_frozen_live_colour() -> None:
    plan = plan_for(Colour.BLUE, ReleaseStep.STAGE)
    live, candidate = plan.colours[Colour.BLUE], plan.colours[Colour.GREEN]
    assert (live.live, live.frozen, live.size) == (True, True, Size.FULL)
    assert (candidate.live, candidate.frozen, candidate.size) == (False, False, Size.FULL)
    assert candidate.image == NEW
    assert plan.shrinking is None
    # the candidate's Job runs in the stage, before its pods start
    assert [h.release_image for h in plan.hooks] == [OLD, NEW]


def test_the_stage_declares_the_candidates_job_beside_the_live_one() -> None:
    plan = plan_for(Colour.BLUE, ReleaseStep.STAGE)
    assert [h.release_image for h in plan.hooks] == [OLD, NEW]
    assert [(h.colour, h.frozen) for h in plan.hooks] == [
        (Colour.BLUE, True),
        (Colour.GREEN, False),
    ]
    assert plan.gating_hook is not None and plan.gating_hook.release_image == OLD


def test_promotion_gates_on_the_new_release_and_keeps_the_old_colour_full() -> None:
    plan = plan_for(Colour.GREEN, ReleaseStep.STAGE)
    assert plan.release_image == NEW
    assert plan.gating_hook is not None and plan.gating_hook.release_image == NEW
    assert plan.colours[Colour.BLUE].size is Size.FULL
    # the Job keeps its name from the stage to the promotion: it does not run twice
    staged = plan_for(Colour.BLUE, ReleaseStep.STAGE)
    assert plan.gating_hook.name in {h.name for h in staged.hooks}
    assert plan.gating_hook.frozen, "once live, its Job is frozen like its pods"


def test_cleanup_shrinks_the_other_colour_after_the_cutover() -> None:
    plan = plan_for(Colour.GREEN, ReleaseStep.CLEANUP)
    assert plan.shrinking is not None
    assert plan.shrinking.colour is Colour.BLUE
    assert (plan.shrinking.size, plan.shrinking.after_cutover) == (Size.IDLE, True)
    assert not plan.colours[Colour.GREEN].after_cutover


def test_no_hook_command_means_no_jobs() -> None:
    plan = plan_for(Colour.BLUE, ReleaseStep.STAGE, hook=False)
    assert plan.hooks == ()
    assert plan.gating_hook is None


def test_each_colours_release_has_its_own_job_even_for_one_image() -> None:
    plan = plan_for(Colour.BLUE, ReleaseStep.STAGE, green=OLD)
    assert [h.colour for h in plan.hooks] == [Colour.BLUE, Colour.GREEN]
    assert len({h.name for h in plan.hooks}) == 2


def test_job_names_follow_the_release_and_stay_valid_kubernetes_names() -> None:
    blue, green = Colour.BLUE, Colour.GREEN
    a = hook_job_name("web", blue, OLD, OLD, ("/app/migrate",))
    assert a == hook_job_name("web", blue, OLD, OLD, ("/app/migrate",))
    assert a != hook_job_name("web", blue, NEW, NEW, ("/app/migrate",))
    assert a != hook_job_name("web", blue, OLD, OLD, ("/app/migrate", "--dry-run"))
    assert a != hook_job_name("web", green, OLD, OLD, ("/app/migrate",))
    longest = hook_job_name("a" * MAX_SERVICE_NAME, green, OLD, OLD, ())
    assert len(longest) == 63
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", longest)


def test_a_live_image_mismatch_is_named_with_the_way_out() -> None:
    assert live_image_problem(Colour.GREEN, NEW, NEW) is None
    problem = live_image_problem(Colour.GREEN, NEW, OLD)
    assert problem is not None
    assert problem.startswith(f"greenImage is {NEW} but green, the live colour, runs {OLD}")
    assert "Put greenImage back to" in problem
    assert "stage it on blue (blueImage, releaseStep stage" in problem
