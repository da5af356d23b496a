"""The state-bucket paths the README gives the CI roles are those the DIY backend writes, and
the workflows install the CLI version of the SDK the project pins."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from delivery.plans.state_backend import state_paths

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PULUMI_ACTION = "pulumi/actions@"


def sdk_version() -> str:
    found = re.search(r"^pulumi==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M)
    assert found, "constraints.txt pins pulumi"
    return found[1]


def test_the_lock_path_is_under_the_diy_backends_organization() -> None:
    # pkg/backend/diy/lock.go: .pulumi/locks/<FullyQualifiedName>/<id>.json, where a project
    # stack's FullyQualifiedName is organization/<project>/<stack>.
    paths = state_paths("prod")
    assert ".pulumi/locks/organization/switchyard/prod/*" in paths.read_write
    assert ".pulumi/locks/organization/switchyard/prod/" in paths.list_prefixes
    assert not any(p.startswith(".pulumi/locks/switchyard/") for p in paths.read_write)


def test_the_readme_grants_exactly_the_paths_the_backend_writes() -> None:
    paths = state_paths("<stack>")
    for path in (*paths.read_write, *paths.read_only):
        assert f"`{path}`" in README, path
    assert ".pulumi/locks/switchyard/" not in README


def test_the_readme_gives_the_pr_role_exactly_the_pr_stacks_paths() -> None:
    """The PR stacks (project switchyard-pr, stacks dev-pr-<n>) and nothing of dev's."""
    section = README[README.index("### PR environments") :]
    section = section[: section.index("\n### ")]
    paths = state_paths("dev-pr-*", "switchyard-pr")
    for path in (*paths.read_write, *paths.read_only, paths.list_prefixes[0]):
        assert f"`{path}`" in section, path
    assert ".pulumi/stacks/switchyard/" not in section


def steps(path: Path) -> list[dict[str, Any]]:
    document = yaml.safe_load(path.read_text())
    return [s for job in document["jobs"].values() for s in job.get("steps", [])]


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.stem for p in WORKFLOWS])
def test_every_cli_install_pins_the_sdks_version(path: Path) -> None:
    # pulumi/actions v7.0.0 installs the newest 3.x unless `pulumi-version` is given
    # (src/config.ts: the default range is ^3).
    for step in steps(path):
        if str(step.get("uses", "")).startswith(PULUMI_ACTION):
            assert (step.get("with") or {}).get("pulumi-version") == sdk_version(), step
