"""A kubernetesVersion change moves the whole cluster, one minor version at a time."""

from __future__ import annotations

import pytest

from delivery.config.stackfile import load_stack
from delivery.config.workloads import upgrade_problem
from delivery.errors import ConfigError
from infra.offline import RecordingMocks
from tests.program.harness import evaluate

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ADDON = "aws:eks/addon:Addon"


def cluster_name(stack: str) -> str:
    return load_stack(stack).workload.cluster_name


def test_node_groups_follow_the_clusters_version() -> None:
    run = evaluate("staging", {"switchyard:kubernetesVersion": "1.34"})
    (cluster,) = run.mocks.of_type("aws:eks/cluster:Cluster")
    groups = run.mocks.of_type(NODE_GROUP)
    assert groups and {g.inputs["version"] for g in groups} == {cluster.inputs["version"]}
    assert cluster.inputs["version"] == "1.34"


def test_every_add_on_is_pinned_to_its_default_for_the_configured_version() -> None:
    for version in ("1.33", "1.34"):
        run = evaluate("staging", {"switchyard:kubernetesVersion": version})
        addons = run.mocks.of_type(ADDON)
        assert addons
        assert {a.inputs["addonVersion"] for a in addons} == {f"v{version}.0-eksbuild.1"}


def test_one_minor_version_up_is_accepted() -> None:
    mocks = RecordingMocks(clusters={cluster_name("staging"): "1.33"})
    assert evaluate(
        "staging", {"switchyard:kubernetesVersion": "1.34"}, mocks=mocks
    ).mocks.resources


@pytest.mark.parametrize(
    ("running", "wanted", "says"),
    [
        ("1.33", "1.35", "set kubernetesVersion to 1.34, run `pulumi up`, then go on to 1.35"),
        ("1.35", "1.34", "EKS cannot downgrade a cluster; set kubernetesVersion back to 1.35"),
    ],
)
def test_a_skip_or_a_downgrade_is_refused_before_anything_is_registered(
    running: str, wanted: str, says: str
) -> None:
    mocks = RecordingMocks(clusters={cluster_name("staging"): running})
    with pytest.raises(ConfigError) as refused:
        evaluate("staging", {"switchyard:kubernetesVersion": wanted}, mocks=mocks)
    assert refused.value.keys == ("switchyard:kubernetesVersion",)
    assert says in str(refused.value) and f"the cluster runs {running}" in str(refused.value)
    assert mocks.resources == []


def test_another_clusters_version_is_not_this_ones() -> None:
    mocks = RecordingMocks(clusters={"someone-elses": "1.30"})
    assert evaluate(
        "staging", {"switchyard:kubernetesVersion": "1.35"}, mocks=mocks
    ).mocks.resources


def test_the_same_version_is_no_upgrade() -> None:
    assert upgrade_problem("1.34", "1.34") is None
