"""Invariants of the release plan over every live colour, step, image pair and hook setting."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from delivery.config.model import Colour, ReleaseStep
from delivery.config.stackfile import load_stack
from delivery.plans.release import Size, plan_release

BASE = load_stack("staging")
images = st.sampled_from([f"registry.example.com/web:{v}" for v in ("1.0", "1.1", "2.0")])
commands = st.sampled_from([(), ("/app/migrate",), ("/app/migrate", "--expand-only")])


@given(
    live=st.sampled_from(list(Colour)),
    step=st.sampled_from(list(ReleaseStep)),
    blue=images,
    green=images,
    command=commands,
)
def test_plan_invariants(
    live: Colour, step: ReleaseStep, blue: str, green: str, command: tuple[str, ...]
) -> None:
    service = dataclasses.replace(BASE.service, images={Colour.BLUE: blue, Colour.GREEN: green})
    release = dataclasses.replace(BASE.release, step=step, hook_command=command)
    plan = plan_release("web", service, release, live)

    assert [c for c, p in plan.colours.items() if p.live] == [live]
    assert plan.colours[live].frozen and plan.colours[live].size is Size.FULL
    assert not plan.colours[live].after_cutover, "the live colour never waits to shrink"
    other = plan.colours[live.other]
    assert not other.frozen
    assert (other.size is Size.IDLE) == (step is ReleaseStep.CLEANUP) == other.after_cutover
    assert plan.release_image == service.images[live]
    assert len({h.name for h in plan.hooks}) == len(plan.hooks)
    assert all(h.frozen == (h.colour is live) for h in plan.hooks)
    assert all(h.release_image == service.images[h.colour] for h in plan.hooks)
    if command:
        assert plan.gating_hook is not None
        assert plan.gating_hook.release_image == service.images[live]
        assert {h.release_image for h in plan.hooks} <= set(service.images.values())
        if step is ReleaseStep.STAGE:
            assert service.images[live.other] in {h.release_image for h in plan.hooks}
    else:
        assert plan.hooks == () and plan.gating_hook is None

    # Promoting after the stage gates on the very Job the stage ran: no second run.
    if step is ReleaseStep.STAGE and command:
        promoted = plan_release("web", service, release, live.other)
        assert promoted.gating_hook is not None
        assert promoted.gating_hook.name in {h.name for h in plan.hooks}
