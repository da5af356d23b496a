"""BlueGreenCutover under Pulumi's mock runtime: what it registers and with which inputs."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.cutover import BlueGreenCutover, BlueGreenCutoverArgs
from delivery.config.model import Colour, InsufficientData, Tier, TrafficPolicy
from delivery.cutover.provider import INPUTS, OUTPUTS, CutoverProvider
from infra.offline import RecordingMocks, dynamic_provider, install

LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/0123abcd/4567ef01"
BLUE_TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/89ab0123"
GREEN_TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-green/cdef4567"
POLICY = TrafficPolicy((10, 50, 100), 300, 15, 3, InsufficientData.ROLLBACK)
TOPICS = {
    Tier.CRITICAL: "arn:aws:sns:eu-west-1:123456789012:web-critical",
    Tier.EMERGENCY: "arn:aws:sns:eu-west-1:123456789012:web-emergency",
}


@pytest.fixture
def mocks() -> RecordingMocks:
    recording = RecordingMocks()
    install(recording, "prod")
    return recording


def build(live: Colour = Colour.BLUE) -> BlueGreenCutover:
    return BlueGreenCutover(
        "web",
        BlueGreenCutoverArgs(
            listener_arn=pulumi.Output.from_input(LISTENER),
            target_groups={Colour.BLUE: BLUE_TG, Colour.GREEN: GREEN_TG},
            live_colour=live,
            policy=POLICY,
            gating_alarms={Colour.BLUE: ["web-blue-5xx"], Colour.GREEN: ["web-green-5xx"]},
            region="eu-west-1",
            stack="prod",
            alert_topics=TOPICS,
            record_path="/switchyard/prod/cutover",
            release="web:1.4.2",
        ),
    )


@pulumi.runtime.test
def test_the_component_owns_one_dynamic_resource_with_the_policy(mocks: RecordingMocks) -> Any:
    cutover = build(Colour.GREEN)

    def check(_: Any) -> None:
        component = mocks.named("web")
        assert component.type == "switchyard:cutover:BlueGreenCutover"
        assert component.custom is False
        weights = mocks.named("web-weights")
        assert weights.type == "pulumi-python:dynamic:Resource"
        assert weights.inputs["listener_arn"] == LISTENER
        assert weights.inputs["target_groups"] == {"blue": BLUE_TG, "green": GREEN_TG}
        assert weights.inputs["live_colour"] == "green"
        assert weights.inputs["policy"] == {
            "trafficSteps": [10, 50, 100],
            "bakeSeconds": 300,
            "pollSeconds": 15,
            "minHealthyTargets": 3,
            "insufficientData": "rollback",
        }
        assert weights.inputs["gating_alarms"] == {
            "blue": ["web-blue-5xx"],
            "green": ["web-green-5xx"],
        }
        assert weights.inputs["alert_topics"] == {
            "critical": TOPICS[Tier.CRITICAL],
            "emergency": TOPICS[Tier.EMERGENCY],
        }
        assert weights.inputs["release"] == "web:1.4.2"
        assert weights.inputs["retry_rollback"] == ""
        assert weights.inputs["record_path"] == "/switchyard/prod/cutover"
        declared = {k for k in weights.inputs if not k.startswith("__")}
        assert declared - set(OUTPUTS) == set(INPUTS)
        assert isinstance(dynamic_provider(weights), CutoverProvider)

    return cutover.weights.apply(check)


@pulumi.runtime.test
def test_the_registered_inputs_pass_the_providers_own_check(mocks: RecordingMocks) -> Any:
    cutover = build()

    def check(_: Any) -> None:
        inputs = {
            k: v for k, v in mocks.named("web-weights").inputs.items() if not k.startswith("__")
        }
        failures = CutoverProvider().check({}, inputs).failures
        assert [(f.property, f.reason) for f in failures] == []

    return cutover.weights.apply(check)


class LiveWeightsMocks(RecordingMocks):
    """Answers the dynamic resource with weights no default could produce."""

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        id_, outputs = super().new_resource(args)
        if args.typ == "pulumi-python:dynamic:Resource":
            outputs = {**outputs, "weights": {"blue": 37, "green": 63}, "live_colour": "green"}
        return id_, outputs


@pulumi.runtime.test
def test_the_component_exposes_what_its_dynamic_resource_reports() -> Any:
    install(LiveWeightsMocks(), "prod")
    cutover = build()
    return pulumi.Output.all(cutover.weights, cutover.live_colour).apply(
        lambda both: assertion(both == [{"blue": 37, "green": 63}, "green"], both)
    )


def assertion(condition: bool, detail: object) -> None:
    assert condition, detail
