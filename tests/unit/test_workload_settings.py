"""The cluster, service and release keys: rules that depend on the environment or on each other."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.config.keys import BY_FULL_NAME
from delivery.config.model import CapacityType, Colour, Environment, ReleaseStep
from delivery.config.settings import load_settings
from delivery.config.stackfile import stack_config
from delivery.config.workloads import image_problem
from delivery.errors import ConfigError

PROD: dict[str, Any] = stack_config("prod")
DIGEST = "@sha256:" + "0" * 64


def problems(base: dict[str, Any], **overrides: Any) -> dict[str, str]:
    raw = {**base, **{f"switchyard:{k}": v for k, v in overrides.items()}}
    with pytest.raises(ConfigError) as failure:
        load_settings(raw, "test")
    return {p.key: p.reason for p in failure.value.problems}


def test_prod_runs_only_images_pinned_by_digest() -> None:
    found = problems(PROD, greenImage="registry.example.com/web:2.0.0", hookImage="tools:1")
    assert set(found) == {"switchyard:greenImage", "switchyard:hookImage"}
    assert "pinned by digest" in found["switchyard:greenImage"]
    assert image_problem("registry.example.com/web:2.0.0", Environment.STAGING) is None
    assert image_problem(f"registry.example.com/web{DIGEST}", Environment.PROD) is None
    assert (
        image_problem(f"registry.example.com:5000/team/web:2.0{DIGEST}", Environment.PROD) is None
    )


def test_prod_nodes_run_on_demand() -> None:
    found = problems(PROD, nodeCapacityType="spot")
    assert "must be onDemand in prod" in found["switchyard:nodeCapacityType"]
    assert load_settings(stack_config("dev"), "dev").cluster.nodes.capacity is CapacityType.SPOT


def test_hook_is_no_longer_a_release_step() -> None:
    """The stage step runs the pre-traffic Job before the new pods: a stack file still naming
    the old hook step is told the steps there are, not staged twice."""
    found = problems(stack_config("dev"), releaseStep="hook")
    assert list(found) == ["switchyard:releaseStep"]
    assert "must be one of stage, cleanup, got 'hook'" in found["switchyard:releaseStep"]


def test_every_problem_of_the_new_keys_is_reported_at_once() -> None:
    found = problems(PROD, minReplicas=0, releaseStep="ship", blueImage="web", nodeMaxSize=0)
    assert set(found) == {
        "switchyard:minReplicas",
        "switchyard:releaseStep",
        "switchyard:blueImage",
        "switchyard:nodeMaxSize",
    }


def test_node_sizes_must_be_ordered() -> None:
    found = problems(PROD, nodeMinSize=5, nodeMaxSize=3)
    assert "at least nodeMinSize (5)" in found["switchyard:nodeMaxSize"]


def test_optional_release_keys_take_their_defaults() -> None:
    raw = {k: v for k, v in PROD.items() if k != "switchyard:scaleDownDelaySeconds"}
    raw.pop("switchyard:hookCommand")
    settings = load_settings(raw, "prod")
    assert settings.release.scale_down_delay_seconds == 30
    assert BY_FULL_NAME["switchyard:scaleDownDelaySeconds"].schema()["default"] == 30
    assert settings.release.hook_command == ()
    assert settings.release.hook_image is None


def test_the_keys_read_into_the_model() -> None:
    settings = load_settings(stack_config("staging"), "staging")
    assert settings.service.images[Colour.BLUE].endswith("/web:1.4.2")
    assert settings.service.env == (("LOG_LEVEL", "info"),)
    assert settings.release.step is ReleaseStep.CLEANUP
    assert settings.cluster.kubernetes_version == "1.35"
    assert settings.service.idle_replicas <= settings.service.min_replicas


def test_the_stacks_differ_in_size_and_exposure() -> None:
    dev, staging, prod = (load_settings(stack_config(s), s) for s in ("dev", "staging", "prod"))
    assert dev.service.max_replicas < staging.service.max_replicas < prod.service.max_replicas
    assert dev.service.idle_replicas < prod.service.idle_replicas
    assert prod.cluster.public_access_cidrs == ()
    assert dev.cluster.public_access_cidrs and staging.cluster.public_access_cidrs
    assert prod.cluster.nodes.capacity is CapacityType.ON_DEMAND
