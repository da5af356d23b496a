"""The offline preview diff: the program under Pulumi's mock runtime at a base git ref and at
the working tree, each in its own process (its own code, its own stack files), compared.

No credentials and no Pulumi CLI, so it runs on pull requests from forks, where secrets are
absent. The base tree comes from ``git archive`` into a temporary folder.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Final

from delivery.config.stackfile import PROJECT_ROOT
from delivery.errors import SwitchyardError
from delivery.release.preview import PreviewPlan, live_change, plan_from_graphs, settings_or_none

EVALUATION_TIMEOUT = 600


class OfflinePreviewError(SwitchyardError):
    pass


def base_tree(ref: str, repo: Path, into: Path) -> Path:
    try:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", ref],
            capture_output=True,
            check=True,
            timeout=120,
        )
    except subprocess.CalledProcessError as exc:
        raise OfflinePreviewError(
            f"git cannot archive the base ref {ref!r}: {exc.stderr.decode().strip()}. Fetch it "
            "first (in CI: actions/checkout with fetch-depth: 0) or pass --base with a ref that "
            "exists"
        ) from exc
    except OSError as exc:
        raise OfflinePreviewError(f"git is needed for the offline preview: {exc}") from exc
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def evaluate_tree(tree: Path, stack: str) -> dict[str, Any]:
    """Run ``python -m infra.offline --json`` inside ``tree``: that tree's program and files."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "infra.offline", "--stack", stack, "--json"],
            check=False,
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
            capture_output=True,
            text=True,
            timeout=EVALUATION_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        raise OfflinePreviewError(f"evaluating {tree} took over {EVALUATION_TIMEOUT}s") from exc
    if "unrecognized arguments: --json" in done.stderr:
        raise OfflinePreviewError(
            f"the program at {tree} predates `python -m infra.offline --json`, which the "
            "offline preview needs; compare against a newer base"
        )
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise OfflinePreviewError(
            f"the program at {tree} does not evaluate for stack {stack!r}: "
            + "\n".join(lines[-15:])
        )
    try:
        graph: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError) as exc:
        raise OfflinePreviewError(f"the program at {tree} printed no graph: {exc}") from exc
    return graph


NO_GRAPH: Final[dict[str, Any]] = {"resources": {}, "config": {}}


def offline_plan(stack: str, base: str, work_tree: Path = PROJECT_ROOT) -> PreviewPlan:
    """The plan from ``base`` to the working tree; a stack whose file the base lacks (the pull
    request adds it) starts from nothing, so its preview shows what it creates."""
    with tempfile.TemporaryDirectory(prefix="switchyard-base-") as folder:
        tree = base_tree(base, work_tree, Path(folder))
        new_stack = not (tree / f"Pulumi.{stack}.yaml").is_file()
        before = NO_GRAPH if new_stack else evaluate_tree(tree, stack)
    after = evaluate_tree(work_tree, stack)
    plan = plan_from_graphs(
        stack, before["resources"], after["resources"], f"offline: {base} → working tree"
    )
    plan.new_stack = new_stack
    plan.live_change = live_change(before["config"], after["config"])
    plan.settings = settings_or_none(after["config"], stack)
    return plan
