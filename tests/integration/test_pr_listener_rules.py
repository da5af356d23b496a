"""The priorities a new PR environment must avoid, read from the listener over real HTTP
(moto's server): every rule's priority, the default rule's ``default`` left out, and the
priority the plan then picks around them."""

from __future__ import annotations

from delivery.config.model import Colour
from delivery.cutover.aws import AwsClients
from delivery.plans.pr_environments import listener_priority
from delivery.rehearsal.emulator import TrafficPlane
from delivery.release.pr_environments import ElbListenerRules


def add_rule(operator: AwsClients, plane: TrafficPlane, priority: int, host: str) -> None:
    operator.elbv2.create_rule(
        ListenerArn=plane.listener_arn,
        Priority=priority,
        Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": [host]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": plane.target_groups[Colour.BLUE]}],
    )


def test_the_taken_priorities_are_the_listeners_rules(
    operator: AwsClients, plane: TrafficPlane
) -> None:
    rules = ElbListenerRules(operator.elbv2)
    assert rules.priorities(plane.listener_arn) == set()
    add_rule(operator, plane, 5, "ops.example.com")
    add_rule(operator, plane, 1006, "pr-7.pr.dev.example.com")
    taken = rules.priorities(plane.listener_arn)
    assert taken == {5, 1006}
    # PR 7's own slot is taken by another (a PR number past the band): the next one is free
    assert listener_priority(7, taken) == 1007


def test_the_room_counts_every_listeners_rules_and_the_target_groups(
    operator: AwsClients, plane: TrafficPlane
) -> None:
    rules = ElbListenerRules(operator.elbv2)
    before = rules.room(plane.listener_arn)
    add_rule(operator, plane, 5, "ops.example.com")
    add_rule(operator, plane, 1006, "pr-7.pr.dev.example.com")
    after = rules.room(plane.listener_arn)
    assert after.rules == before.rules + 2
    # moto answers the rules quota; the target groups' comes from the documented default
    assert (after.max_rules, after.max_target_groups) == (100, 100)
    assert after.target_groups == before.target_groups >= 2  # blue and green
    assert after.problem() is None
