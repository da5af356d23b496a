"""The escalation plan's model: an unacknowledged emergency walks every stage on time, and an
acknowledgement stops every stage not yet begun."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from delivery.config.model import EscalationStage, Tier
from delivery.config.stackfile import load_stack
from delivery.plans.escalation import engagements, exhausted_after, paged, stage_starts

names = st.sampled_from(["alice", "bob", "carol", "dave"])
stage = st.builds(
    EscalationStage,
    st.integers(1, 30),
    st.lists(names, min_size=1, max_size=3, unique=True).map(tuple),
)
plans = st.lists(stage, min_size=1, max_size=8)


def test_prods_unacknowledged_emergency_walks_every_stage_with_its_timings() -> None:
    walked = paged(load_stack("prod").incidents, Tier.EMERGENCY)
    assert [str(e) for e in walked] == [
        "+0 min: stage 1 engages oncall-primary",
        "+5 min: stage 2 engages oncall-secondary",
        "+10 min: stage 3 engages oncall-secondary, platform-lead",
    ]
    assert exhausted_after(load_stack("prod").incidents.escalations[Tier.EMERGENCY]) == 20


def test_info_and_warning_page_nobody() -> None:
    prod = load_stack("prod").incidents
    assert paged(prod, Tier.INFO) == () and paged(prod, Tier.WARNING) == ()
    assert paged(load_stack("dev").incidents, Tier.EMERGENCY) == ()


@given(plans)
def test_unacknowledged_engages_every_stage_in_order_one_wait_apart(
    stages: list[EscalationStage],
) -> None:
    walked = engagements(stages)
    assert [e.stage for e in walked] == list(range(len(stages)))
    assert [e.contacts for e in walked] == [s.contacts for s in stages]
    assert walked[0].minute == 0
    for before, after, waited in zip(walked, walked[1:], stages, strict=False):
        assert after.minute - before.minute == waited.minutes
    assert exhausted_after(stages) == walked[-1].minute + stages[-1].minutes


@given(plans, st.floats(0, 300, allow_nan=False))
def test_an_acknowledgement_stops_every_later_stage(
    stages: list[EscalationStage], acknowledged: float
) -> None:
    walked = engagements(stages, acknowledged)
    starts = stage_starts(stages)
    assert walked == engagements(stages)[: len(walked)]  # a prefix: nothing skipped
    assert all(e.minute <= acknowledged for e in walked)
    assert len(walked) == sum(1 for s in starts if s <= acknowledged)
    assert walked[0].stage == 0  # the first stage is engaged at once, always
