"""The provider's rollback under pressure, driven as the Pulumi engine drives it (Pulumi's own
servicer and serialisation) against moto over HTTP: a slow alert, a restore made by hand while
AWS fails the rollback, and a first step AWS refused."""

# The provider tests' fixtures are imported by name, which pytest needs and pyflakes reads as
# redefinitions.
# ruff: noqa: F811

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from delivery.config.model import Colour
from delivery.cutover.aws import AwsClients, make_clients
from delivery.cutover.events import Outcome, outcome_in
from delivery.plans.schedule import Weights
from delivery.rehearsal.emulator import TrafficPlane, force_weights, listener_weights
from delivery.rehearsal.faults import Fault, FaultInjector
from tests.integration.conftest import default_action_types, put_up_maintenance_page
from tests.integration.pulumi_engine import DynamicEngine, ProviderFailed
from tests.integration.test_provider import (  # noqa: F401
    Inbox,
    alarm_on_green_at_half,
    aws_env,
    inboxes,
    inject,
    props,
    pulumi,
)

pytestmark = pytest.mark.integration


def test_a_slow_emergency_page_does_not_hold_up_the_restore(
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pulumi.up(props(plane, inboxes))
    restored = threading.Event()
    page_saw_the_restore: list[bool] = []

    def slow_publish() -> None:  # SNS hangs until the traffic is safe (or 10 s)
        page_saw_the_restore.append(restored.wait(timeout=10))

    def landed(http_response: Any, **_: Any) -> None:
        if http_response.status_code < 300:  # after-call follows failed calls too
            restored.set()

    def clients(*args: Any, **kwargs: Any) -> AwsClients:
        made = make_clients(*args, **kwargs)
        denied_once = Fault("ModifyListener", 1, code="AccessDenied", status=403)
        FaultInjector(denied_once).attach(made.elbv2)
        made.elbv2.meta.events.register(
            "after-call.elastic-load-balancing-v2.ModifyListener", landed
        )
        FaultInjector(Fault("Publish", 1, stall=slow_publish)).attach(made.sns)
        return made

    monkeypatch.setattr("delivery.cutover.provider.make_clients", clients)
    alarm_on_green_at_half(operator, plane)
    with pytest.raises(ProviderFailed) as failed:
        pulumi.up(props(plane, inboxes, live="green"))
    assert page_saw_the_restore == [True]  # the retry went on while the page hung
    assert listener_weights(operator, plane) == Weights(blue=100, green=0)
    assert outcome_in(failed.value.details) is Outcome.ROLLED_BACK
    [page] = inboxes["emergency"].messages()  # still sent, once SNS answered
    assert "keeps retrying" in page["report"]["cause"]


def weighted(operator: AwsClients, plane: TrafficPlane) -> None:
    force_weights(operator, plane, Weights(blue=100, green=0))


def plain_forward_to_blue(operator: AwsClients, plane: TrafficPlane) -> None:
    """How the console restores one colour: a forward to its target group alone."""
    blue = {"Type": "forward", "TargetGroupArn": plane.target_groups[Colour.BLUE]}
    operator.elbv2.modify_listener(ListenerArn=plane.listener_arn, DefaultActions=[blue])


@pytest.mark.parametrize("restore", [weighted, plain_forward_to_blue])
def test_a_restore_by_hand_while_aws_fails_the_rollback_ends_it_as_a_rollback(
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
    restore: Callable[[AwsClients, TrafficPlane], None],
) -> None:
    pulumi.up(props(plane, inboxes))
    attempts = 0

    def on_call_restores_blue() -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 3:  # a few failed calls in, the on-call restores blue in the console
            restore(operator, plane)

    failing = Fault(
        "ModifyListener", 100_000, code="InternalFailure", status=500, stall=on_call_restores_blue
    )
    inject(monkeypatch, "elbv2", failing)
    alarm_on_green_at_half(operator, plane)
    with pytest.raises(ProviderFailed) as failed:
        pulumi.up(props(plane, inboxes, live="green"))
    details = failed.value.details
    assert outcome_in(details) is Outcome.ROLLED_BACK
    assert "a call that failed landed after all, or someone restored it by hand" in details
    assert "ROLLBACK FAILED" not in details
    assert len(inboxes["emergency"].messages()) == 1  # the page when the first call failed
    [critical] = inboxes["critical"].messages()
    assert critical["report"]["outcome"] == "rolled-back"


@pytest.mark.parametrize(
    ("fault", "outcome", "weights_after"),
    [
        # AWS answered that it did not act: nothing moved, nobody is paged
        (Fault("ModifyListener", 6), Outcome.REFUSED, Weights(blue=100, green=0)),
        (Fault("DescribeListeners", 100_000, first=2), Outcome.REFUSED, Weights(blue=100, green=0)),
        # a write that timed out may have landed: roll back
        (Fault("ModifyListener", 6, timeout=True), Outcome.ROLLED_BACK, Weights(blue=100, green=0)),
    ],
)
def test_a_failure_before_the_first_step_refuses_unless_the_step_may_have_landed(
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
    fault: Fault,
    outcome: Outcome,
    weights_after: Weights,
) -> None:
    pulumi.up(props(plane, inboxes))
    inject(monkeypatch, "elbv2", fault)
    with pytest.raises(ProviderFailed) as failed:
        pulumi.up(props(plane, inboxes, live="green"))
    assert outcome_in(failed.value.details) is outcome
    assert listener_weights(operator, plane) == weights_after
    pages = inboxes["critical"].messages()
    assert len(pages) == (1 if outcome is Outcome.ROLLED_BACK else 0)


def test_a_listener_rebuilt_by_hand_during_a_failing_rollback_is_not_overwritten(
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pulumi.up(props(plane, inboxes))

    def on_call_puts_up_a_maintenance_page() -> None:
        put_up_maintenance_page(operator, plane)

    denied = Fault(
        "ModifyListener",
        3,
        code="AccessDenied",
        status=403,
        stall=on_call_puts_up_a_maintenance_page,
    )
    inject(monkeypatch, "elbv2", denied)
    alarm_on_green_at_half(operator, plane)
    with pytest.raises(ProviderFailed) as failed:
        pulumi.up(props(plane, inboxes, live="green"))
    details = failed.value.details
    assert outcome_in(details) is Outcome.ROLLBACK_FAILED
    assert "ROLLBACK NOT FINISHED" in details and "[fixed-response]" in details
    assert default_action_types(operator, plane) == ["fixed-response"]
    assert len(inboxes["critical"].messages()) == 1


def test_a_maintenance_page_is_not_overwritten_when_the_read_between_tries_fails_too(
    pulumi: DynamicEngine,
    operator: AwsClients,
    plane: TrafficPlane,
    inboxes: dict[str, Inbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One elbv2 throttling burst fails the rollback's write and the read after it."""
    pulumi.up(props(plane, inboxes))
    reads = Fault("DescribeListeners", 0)  # armed with the maintenance page below

    def maintenance_page_and_throttled_reads() -> None:
        put_up_maintenance_page(operator, plane)
        reads.first, reads.count = reads.seen + 1, 6  # every attempt of the next read

    denied = Fault(
        "ModifyListener",
        1,
        code="AccessDenied",
        status=403,
        stall=maintenance_page_and_throttled_reads,
    )
    inject(monkeypatch, "elbv2", denied, reads)
    alarm_on_green_at_half(operator, plane)
    with pytest.raises(ProviderFailed) as failed:
        pulumi.up(props(plane, inboxes, live="green"))
    assert outcome_in(failed.value.details) is Outcome.ROLLBACK_FAILED
    assert default_action_types(operator, plane) == ["fixed-response"]
