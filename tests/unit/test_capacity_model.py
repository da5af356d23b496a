"""The rehearsal's model of the HPA's default behaviour, and what the release plan's hold does
to the colour losing traffic: a rollback at the last step lands on its starting capacity."""

from __future__ import annotations

from delivery.config.stackfile import load_stack
from delivery.rehearsal.capacity import ModelAutoscaler, promotion_trace, rehearse_capacity

PROD = load_stack("prod")


def test_the_default_autoscaler_shrinks_the_old_colour_within_a_bake() -> None:
    # What the issue saw: at 0% for one 600 s bake, the default HPA (300 s window) is at min.
    service = PROD.traffic
    trace = rehearse_capacity(
        service.steps, service.bake_seconds, 12, PROD.service.min_replicas, 15, held=False
    )
    assert trace.old_at_end == PROD.service.min_replicas


def test_a_rollback_at_the_last_step_lands_on_the_old_colours_starting_capacity() -> None:
    trace = promotion_trace(PROD, 12)
    assert trace.old_at_end == 12
    assert trace.old_minimum == 12


def test_the_candidate_takes_the_first_step_at_the_live_colours_size() -> None:
    trace = promotion_trace(PROD, 12)
    assert trace.starting_new == 12 > PROD.service.min_replicas
    assert min(p.new for p in trace.points) == 12, "held: never below it during the shift"


def test_the_model_scales_up_by_max_of_four_pods_and_double_per_sync() -> None:
    hpa = ModelAutoscaler(1, 100, 2, held=False)
    assert hpa.sync(15, 50) == 6  # +4 (more than 100% of 2)
    assert hpa.sync(30, 50) == 12  # +100%
    assert hpa.sync(45, 1) == 12, "scale-down waits for the 300 s window"
    assert hpa.sync(45 + 300, 1) == 1
