"""pr-environment.yml: which jobs each GitHub event runs (the ``if:`` keys evaluated as GitHub
evaluates them), what each job runs as and where, and its shell steps run for real."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from delivery.config.stackfile import load_stack
from delivery.plans.pr_environments import PrState
from delivery.release.pr_environments import read_pull_requests
from tests.unit.gh_expression import ExpressionError, evaluate, truthy
from tests.unit.test_workflows import NAMES, jobs, load

LABEL = "pr-environment"
REPOSITORY = "example-org/switchyard"
WORKFLOW = NAMES["pr-environment"]
RUNNER = ["self-hosted", "linux", "switchyard-dev-pr-environments"]
PR_ROLE = "${{ vars.AWS_PR_ENVIRONMENTS_ROLE_ARN }}"


def scheduled(event_name: str) -> dict[str, Any]:
    return {"event_name": event_name, "repository": REPOSITORY, "event": {}}


def pull_request(
    action: str, labels: list[str], *, fork: bool = False, state: str = "", **event: Any
) -> dict[str, Any]:
    head = "someone/switchyard" if fork else REPOSITORY
    state = state or ("closed" if action == "closed" else "open")
    return {
        "event_name": "pull_request_target",
        "repository": REPOSITORY,
        "event": {
            "action": action,
            "pull_request": {
                "number": 42,
                "state": state,
                "labels": [{"name": name} for name in labels],
                "head": {"repo": {"full_name": head}, "sha": "0" * 40},
                "base": {"ref": "develop"},
            },
            **event,
        },
    }


def ran(github: dict[str, Any]) -> set[str]:
    """The jobs GitHub runs for an event: a job's ``if`` (default: every needed job ran and
    succeeded, ``success()``) decides, and a job whose needs were skipped is skipped."""
    done: set[str] = set()
    for name, job in jobs(WORKFLOW).items():  # needed jobs come first in the file
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        if not all(n in done for n in needs):
            continue
        if "if" not in job or truthy(evaluate(job["if"], {"github": github})):
            done.add(name)
    return done


@pytest.mark.parametrize(
    ("github", "expected"),
    [
        (pull_request("labeled", [LABEL], label={"name": LABEL}), {"up"}),
        (pull_request("synchronize", ["bug", LABEL]), {"up"}),
        (pull_request("reopened", [LABEL]), {"up"}),
        (pull_request("edited", [LABEL]), {"up"}),  # the description may name another image
        (pull_request("labeled", ["bug"], label={"name": "bug"}), set()),
        (pull_request("synchronize", []), set()),
        # GitHub compares strings ignoring case, label names included
        (pull_request("synchronize", ["PR-Environment"]), {"up"}),
        (pull_request("synchronize", [LABEL], fork=True), set()),
        (pull_request("closed", [LABEL]), {"destroy"}),
        (pull_request("closed", []), set()),
        (pull_request("closed", [LABEL], fork=True), set()),
        (pull_request("unlabeled", ["bug"], label={"name": LABEL}), {"destroy"}),
        (pull_request("unlabeled", [LABEL], label={"name": "bug"}), {"up"}),
        # a closed pull request's label or description changes recreate nothing
        (pull_request("edited", [LABEL], state="closed"), set()),
        (pull_request("labeled", [LABEL], state="closed", label={"name": LABEL}), set()),
        (scheduled("schedule"), {"pull-requests", "sweep"}),
        (scheduled("workflow_dispatch"), {"pull-requests", "sweep"}),
    ],
    ids=[
        "labelled",
        "push",
        "reopened",
        "edited",
        "another-label",
        "push-unlabelled",
        "label-case",
        "fork",
        "closed",
        "closed-unlabelled",
        "closed-fork",
        "label-removed",
        "another-label-removed",
        "edited-closed",
        "labelled-closed",
        "schedule",
        "by-hand",
    ],
)
def test_each_event_runs_exactly_its_jobs(github: dict[str, Any], expected: set[str]) -> None:
    assert ran(github) == expected


def test_the_triggers_are_the_pull_requests_life_and_an_hourly_sweep() -> None:
    """pull_request_target: the base branch's copy of this file runs, never the pull
    request's; a pull_request run (the PR's own workflow file) could be edited to do anything
    with the role, and so gets no job here."""
    on = load(WORKFLOW)["on"]
    assert "pull_request" not in on
    types = {"labeled", "unlabeled", "synchronize", "reopened", "closed", "edited"}
    assert set(on["pull_request_target"]["types"]) == types
    assert "branches" not in on["pull_request_target"]  # a PR to any branch may have one
    (cron,) = [entry["cron"] for entry in on["schedule"]]
    minute, hour, *rest = cron.split()
    assert minute.isdigit() and hour == "*" and rest == ["*", "*", "*"]
    assert "workflow_dispatch" in on


def test_every_job_that_touches_aws_runs_as_devs_pr_role_in_its_environment() -> None:
    environment = load_stack("dev").pr_environments
    assert environment is not None
    for name in ("up", "destroy", "sweep"):
        job = jobs(WORKFLOW)[name]
        assert job["runs-on"] == RUNNER, name
        assert job["environment"] == environment.github_environment, name
        (credentials,) = [s for s in job["steps"] if "role-to-assume" in s.get("with", {})]
        assert credentials["with"]["role-to-assume"] == PR_ROLE, name
    # the list of pull requests needs no AWS and no self-hosted runner
    listing = jobs(WORKFLOW)["pull-requests"]
    assert listing["permissions"] == {"contents": "read", "pull-requests": "read"}
    assert not str(listing["runs-on"]).startswith("[self-hosted")


def test_each_pull_request_has_one_update_at_a_time_never_cancelled() -> None:
    """Per job: a workflow-level group would let a run whose jobs all skip take the pending
    place and cancel a pending destroy (GitHub cancels a pending job or run when another
    joins its group, "Control the concurrency of workflows and jobs")."""
    assert "concurrency" not in load(WORKFLOW)
    group = {"group": "pr-environment-${{ github.event.pull_request.number }}"}
    for name in ("up", "destroy"):
        assert jobs(WORKFLOW)[name]["concurrency"] == group | {"cancel-in-progress": False}
    sweep = jobs(WORKFLOW)["sweep"]["concurrency"]
    assert sweep == {"group": "pr-environment-sweep", "cancel-in-progress": False}
    for name, job in jobs(WORKFLOW).items():
        for step in job["steps"]:
            if "actions/checkout" in step.get("uses", ""):
                assert step["with"]["persist-credentials"] is False, name


def run_of(job: str, command: str) -> dict[str, Any]:
    (step,) = [s for s in jobs(WORKFLOW)[job]["steps"] if command in str(s.get("run", ""))]
    found: dict[str, Any] = step
    return found


def test_no_job_runs_the_pull_requests_code_only_its_description_as_data(tmp_path: Path) -> None:
    """Each job checks out what the event names, which for pull_request_target is the base
    branch: no `ref` (the PR's head or merge commit) anywhere, and no step runs what the
    pull request wrote; its description reaches `up` through a file, read for one line."""
    for name, job in jobs(WORKFLOW).items():
        for step in job["steps"]:
            if "actions/checkout" in step.get("uses", ""):
                assert "ref" not in step.get("with", {}), name
    up = run_of("up", "pr-env up")
    assert '--pr "$PR"' in up["run"] and '--image "$IMAGE"' in up["run"]
    assert up["env"]["PR"] == "${{ github.event.pull_request.number }}"
    assert up["env"]["IMAGE"] == "${{ vars.STAGING_IMAGE }}"
    assert up["env"]["DESCRIPTION"] == "${{ github.event.pull_request.body }}"
    assert "--description-file out/description.txt" in up["run"]
    # the script writes the description as it is, whatever it holds, and runs nothing of it
    hostile = "$(touch pwned) `touch pwned` ; touch pwned\npr-environment-image: x"
    written = up["run"].split("exec ")[0]
    env = {"DESCRIPTION": hostile, "PATH": os.environ["PATH"]}
    subprocess.run(["bash", "-e", "-c", written], env=env, cwd=tmp_path, check=True)
    assert (tmp_path / "out" / "description.txt").read_text() == hostile + "\n"
    assert not (tmp_path / "pwned").exists()
    assert "exec .venv/bin/python -m delivery pr-env up" in up["run"]
    destroy = run_of("destroy", "pr-env destroy")
    assert destroy["run"].startswith("exec ") and '--pr "$PR"' in destroy["run"]


def output_of(script: str, tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    """Run a step's script and read $GITHUB_OUTPUT as the runner does: ``name=value`` lines
    and ``name<<DELIMITER`` blocks (docs.github.com, "Workflow commands", multiline strings)."""
    output = tmp_path / "github_output"
    output.write_text("")
    subprocess.run(
        ["bash", "-e", "-c", script],
        env={**env, "GITHUB_OUTPUT": str(output)},
        cwd=tmp_path,
        check=True,
    )
    values: dict[str, str] = {}
    lines = iter(output.read_text().splitlines())
    for line in lines:
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            values[name] = "\n".join(iter(lambda: next(lines), delimiter))
        else:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def test_the_sweep_gets_every_pull_requests_state_in_the_form_it_reads(tmp_path: Path) -> None:
    # a stand-in `gh` answering as `gh pr list --json number,state` does: a JSON array,
    # indented (gh indents JSON for a terminal, not in a pipe; either is read)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    listed = [
        {"number": 7, "state": "OPEN", "labels": [{"name": LABEL, "color": "ededed"}]},
        {"number": 3, "state": "OPEN", "labels": []},
    ]
    (bin_dir / "gh").write_text(
        "#!/bin/sh\n"
        f'[ "$*" = "pr list --repo {REPOSITORY} --state open --limit 10000 '
        f'--json number,state,labels" ] '
        "|| exit 9\n"
        f"cat <<'EOF'\n{json.dumps(listed, indent=2)}\nEOF\n"
    )
    (bin_dir / "gh").chmod(0o755)
    (step,) = jobs(WORKFLOW)["pull-requests"]["steps"]
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "REPOSITORY": REPOSITORY, "GH_TOKEN": "t"}
    outputs = output_of(step["run"], tmp_path, env)
    job = jobs(WORKFLOW)["pull-requests"]
    assert job["outputs"]["list"] == "${{ steps.list.outputs.list }}" and step["id"] == "list"
    sweep = run_of("sweep", "pr-env sweep")
    assert sweep["env"]["PULL_REQUESTS"] == "${{ needs.pull-requests.outputs.list }}"
    # the sweep step writes the list where it passes it, then runs the sweep
    written = sweep["run"].split("exec ")[0]
    subprocess.run(
        ["bash", "-e", "-c", written],
        env={"PULL_REQUESTS": outputs["list"], "PATH": os.environ["PATH"]},
        cwd=tmp_path,
        check=True,
    )
    text = (tmp_path / "out" / "pull-requests.json").read_text()
    assert "--pull-requests out/pull-requests.json" in sweep["run"]
    assert read_pull_requests(text, LABEL) == read_pull_requests(json.dumps(listed), LABEL)
    assert read_pull_requests(text, LABEL) == {7: PrState.OPEN, 3: PrState.CLOSED}  # unlabelled
    assert "--label pr-environment" in sweep["run"] and '--listed-at "$LISTED_AT"' in sweep["run"]
    assert outputs["listed-at"].endswith("Z")
    assert job["outputs"]["listed-at"] == "${{ steps.list.outputs.listed-at }}"
    assert sweep["env"]["MAX_AGE_HOURS"] == "${{ vars.PR_ENVIRONMENT_MAX_AGE_HOURS || '72' }}"


@pytest.mark.parametrize("url", ["http://pr-42.pr.dev.example.com", ""], ids=["up", "failed"])
def test_the_pull_request_always_gets_a_comment_with_its_url_or_the_failure(
    url: str, tmp_path: Path
) -> None:
    steps = jobs(WORKFLOW)["up"]["steps"]
    names = [s.get("name", s.get("uses", "")) for s in steps]
    comment = steps[names.index("The comment, or why there is none")]
    sticky = next(s for s in steps if "sticky-pull-request-comment" in s.get("uses", ""))
    assert steps.index(comment) < steps.index(sticky)
    assert comment["if"] == sticky["if"] == "always()"
    assert sticky["with"]["path"] == comment["env"]["COMMENT"]
    assert comment["env"]["URL_FILE"] in run_of("up", "pr-env up")["run"]
    if url:
        (tmp_path / "out").mkdir()
        (tmp_path / comment["env"]["URL_FILE"]).write_text(url + "\n")
    summary = tmp_path / "summary.md"
    env = {
        "COMMENT": comment["env"]["COMMENT"],
        "URL_FILE": comment["env"]["URL_FILE"],
        "SHA": "abc123",
        "RUN": "https://ci/run/1",
        "GITHUB_STEP_SUMMARY": str(summary),
        "PATH": "/usr/bin:/bin",
    }
    subprocess.run(["bash", "-e", "-c", comment["run"]], env=env, cwd=tmp_path, check=True)
    text = (tmp_path / comment["env"]["COMMENT"]).read_text()
    assert summary.read_text() == text
    if url:
        assert url in text and "abc123" in text
    else:
        assert "failed or was cancelled" in text and "https://ci/run/1" in text


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("'Closed' == 'closed'", True),
        ("contains(github.labels.*.name, 'X')", True),
        ("contains(github.labels.*.name, 'y')", False),
        ("contains(github.labels.name, 'x')", False),  # a name on an array is null
        ("github.missing.deeper == null", True),
        ("github.empty || '72'", "72"),
        ("!(github.one == 1) && 'no'", False),
        ("'it''s'", "it's"),
    ],
)
def test_the_evaluator_reads_expressions_as_github_does(expression: str, value: Any) -> None:
    github = {"labels": [{"name": "x"}], "empty": "", "one": 1}
    assert evaluate(expression, {"github": github}) == value


def test_the_evaluator_refuses_what_it_does_not_read() -> None:
    with pytest.raises(ExpressionError):
        evaluate("startsWith(github.ref, 'refs/')", {"github": {}})
    with pytest.raises(ExpressionError):
        evaluate("github.a == ", {"github": {}})
