"""The release scope (delivery.release.scope) against what the program really changes: every
step of a release stays inside it, and an infrastructure change does not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.automation.events import OpType

from delivery.release.preview import Change
from delivery.release.scope import outside_scope
from infra.offline import Evaluation
from tests.program.harness import evaluate

NEW = "registry.example.com/web:2.0.0"
STAGE = {
    "switchyard:greenImage": NEW,
    "switchyard:releaseStep": "stage",
    "switchyard:candidateReplicas": "3",
}
STEPS = {
    "stage": STAGE,
    "raise the floor": {**STAGE, "switchyard:candidateReplicas": "5"},
    "promote": {**STAGE, "switchyard:liveColour": "green"},
    "clean-up": {
        "switchyard:greenImage": NEW,
        "switchyard:liveColour": "green",
        "switchyard:releaseStep": "cleanup",
    },
}


def changes(before: Evaluation, after: Evaluation) -> list[Change]:
    """The plan between two evaluations, as a preview lists it: a resource only in one is a
    create or a delete, one whose inputs differ an update of the differing properties."""

    def inputs(run: Evaluation) -> dict[tuple[str, str], dict[str, Any]]:
        return {(r.type, r.name): r.inputs for r in run.mocks.resources}

    old, new = inputs(before), inputs(after)
    found = []
    for key in sorted(old.keys() | new.keys()):
        if key not in old or key not in new:
            found.append(Change(OpType.CREATE if key in new else OpType.DELETE, *key))
            continue
        differing = tuple(
            sorted(
                p
                for p in old[key].keys() | new[key].keys()
                if json.dumps(old[key].get(p), sort_keys=True, default=str)
                != json.dumps(new[key].get(p), sort_keys=True, default=str)
            )
        )
        if differing:
            found.append(Change(OpType.UPDATE, *key, differing))
    return found


@pytest.fixture(scope="module")
def base() -> Evaluation:
    return evaluate("staging")


@pytest.mark.parametrize("step", STEPS)
def test_every_step_of_a_release_stays_in_the_release_scope(base: Evaluation, step: str) -> None:
    planned = changes(base, evaluate("staging", STEPS[step]))
    assert planned, "the step changes something"
    assert outside_scope(planned) == []


@pytest.mark.parametrize(
    ("key", "value", "reaches"),
    [
        ("vpcCidr", "10.40.0.0/16", "aws:ec2/vpc:Vpc"),
        ("nodeInstanceTypes", ["m6i.xlarge"], "aws:eks/nodeGroup:NodeGroup"),
        ("fiveXxRatePercent", 7, "aws:cloudwatch/metricAlarm:MetricAlarm"),
        ("healthCheckPath", "/ready", "aws:lb/targetGroup:TargetGroup"),
        ("kubernetesVersion", "1.34", "aws:eks/cluster:Cluster"),
    ],
)
def test_an_infrastructure_change_is_outside_the_release_scope(
    base: Evaluation, key: str, value: Any, reaches: str
) -> None:
    outside = outside_scope(changes(base, evaluate("staging", {f"switchyard:{key}": value})))
    assert reaches in {c.type for c in outside}, outside
