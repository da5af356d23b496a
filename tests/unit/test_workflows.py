"""The GitHub workflows: valid against the workflow schema check-jsonschema vendors, every
action pinned by commit, minimal permissions per job, OIDC only, the approval environments and
one never-cancelled release per stack."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from delivery.config.stackfile import load_stack

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
NAMES = {p.stem: p for p in WORKFLOWS}
PINNED = re.compile(
    r"^\s*(?:-\s+)?uses:\s+(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})"
    r"\s+#\s+(?P<version>v\d+(?:\.\d+)+)\s*$"
)
ANY_USES = re.compile(r"^\s*(?:-\s+)?uses:\s")


def load(path: Path) -> dict[str, Any]:
    document: dict[Any, Any] = yaml.safe_load(path.read_text())
    if True in document:  # YAML 1.1 reads the key `on` as true
        document["on"] = document.pop(True)
    return document


def jobs(path: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = load(path)["jobs"]
    return found


def uses(job: dict[str, Any]) -> list[str]:
    return [str(s["uses"]).split("@")[0] for s in job.get("steps", []) if "uses" in s]


def release_steps() -> list[tuple[str, dict[str, Any]]]:
    """Every step that runs the release driver, with its workflow's name."""
    return [
        (workflow, step)
        for workflow in ("deploy-staging", "deploy-prod")
        for job in jobs(NAMES[workflow]).values()
        for step in job["steps"]
        if "delivery release" in str(step.get("run", ""))
    ]


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_six_workflows_exist() -> None:
    workflows = {"ci", "deploy-staging", "deploy-prod", "deploy-infrastructure", "app-image"}
    workflows.add("pr-environment")
    assert set(NAMES) == workflows


@pytest.mark.parametrize(
    "schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"]
)
def test_every_workflow_is_valid_against_the_vendored_schema(schema: str) -> None:
    done = check_jsonschema(schema, *WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(NAMES["ci"].read_text().replace("runs-on:", "runs_on:", 1))
    done = check_jsonschema("vendor.github-workflows", broken)
    assert done.returncode != 0 and "runs-on" in done.stdout


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_every_action_is_pinned_by_commit_with_its_version(path: Path) -> None:
    lines = [line for line in path.read_text().splitlines() if ANY_USES.match(line)]
    assert lines
    unpinned = [line.strip() for line in lines if not PINNED.match(line)]
    assert unpinned == []


def test_each_action_is_pinned_to_one_commit_everywhere() -> None:
    seen: dict[str, set[tuple[str, str]]] = {}
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            if found := PINNED.match(line):
                seen.setdefault(found["action"], set()).add((found["sha"], found["version"]))
    assert {action: len(pins) for action, pins in seen.items()} == dict.fromkeys(seen, 1)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_permissions_are_empty_by_default_and_minimal_per_job(path: Path) -> None:
    assert load(path)["permissions"] == {}
    for name, job in jobs(path).items():
        granted = job["permissions"]
        assert isinstance(granted, dict), f"{name}: permissions must be listed, not {granted!r}"
        assert granted.get("contents") == "read", name
        allowed = {"contents", "id-token", "pull-requests", "security-events", "actions"}
        assert set(granted) <= allowed, name
        sarif = "github/codeql-action/upload-sarif" in uses(job)
        assert (granted.get("security-events") == "write") is sarif, f"{name}: SARIF upload only"
        assert (granted.get("actions") == "read") is sarif, f"{name}: upload-sarif's analysis key"
        aws = "aws-actions/configure-aws-credentials" in uses(job)
        assert (granted.get("id-token") == "write") is aws, f"{name}: id-token only for OIDC"
        comments = "marocchino/sticky-pull-request-comment" in uses(job)
        assert (granted.get("pull-requests") == "write") is comments, name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_no_long_lived_aws_keys_and_no_expressions_inside_scripts(path: Path) -> None:
    text = path.read_text()
    assert "aws-access-key-id" not in text and "aws-secret-access-key" not in text
    assert "secrets.AWS" not in text
    for name, job in jobs(path).items():
        for step in job.get("steps", []):
            # inputs reach scripts through env, never spliced into the shell text
            assert "${{" not in str(step.get("run", "")), f"{name}: {step.get('run')}"
            if "configure-aws-credentials" in str(step.get("uses", "")):
                assert "role-to-assume" in step["with"]


def test_ci_runs_on_pull_requests_to_main_develop_and_release_branches() -> None:
    ci = load(NAMES["ci"])
    assert ci["on"]["pull_request"]["branches"] == ["main", "develop", "release/**"]
    steps = {
        name: [str(s.get("run", "")) for s in job["steps"]]
        for name, job in jobs(NAMES["ci"]).items()
    }
    assert "make test" in steps["test"]
    # make audit: pip-audit, bandit, the SBOM, secrets, zizmor, the IAM policies, manifests
    assert "make audit" in steps["security"]
    assert any(s.rstrip().endswith("actionlint") for s in steps["security"])
    assert any("preview" in s and "--offline" in s for s in steps["offline-preview"])
    # the real preview needs the role and this repository's secrets: never on forks
    real = jobs(NAMES["ci"])["preview"]
    assert "vars.AWS_PREVIEW_ROLE_ARN" in real["if"] and "head.repo.full_name" in real["if"]
    environments = {e["stack"]: e["environment"] for e in real["strategy"]["matrix"]["include"]}
    assert list(environments) == ["dev", "staging", "prod"]
    assert real["environment"] == "${{ matrix.environment }}"
    # the PR's own code decrypts the stack's secrets: prod's waits for a reviewer's approval
    # in an environment (and OIDC subject) no other stack's preview uses
    assert environments["prod"] == "production-preview"
    assert environments["prod"] not in {environments["dev"], environments["staging"]}
    assert environments["prod"] not in {
        j.get("environment") for j in jobs(NAMES["deploy-prod"]).values()
    }


def test_prod_stages_behind_one_approval_and_promotes_behind_another() -> None:
    prod = jobs(NAMES["deploy-prod"])
    assert load(NAMES["deploy-prod"])["on"] == {
        "workflow_dispatch": {
            "inputs": {
                "image": {"description": prod_input("image"), "required": True, "type": "string"},
                "commit": {"description": prod_input("commit"), "required": True, "type": "string"},
                "commit-time": {
                    "description": prod_input("commit-time"),
                    "required": True,
                    "type": "string",
                },
            }
        }
    }
    assert prod["stage"]["environment"] == "production-stage"
    assert prod["promote"]["environment"] == "production"
    assert prod["promote"]["needs"] == "stage"
    stage_run = " ".join(str(s.get("run", "")) for s in prod["stage"]["steps"])
    promote_run = " ".join(str(s.get("run", "")) for s in prod["promote"]["steps"])
    assert "release --stack prod --stage-only" in stage_run
    assert "release --stack prod" in promote_run and "--stage-only" not in promote_run
    staging = jobs(NAMES["deploy-staging"])
    assert staging["stage"]["environment"] == staging["promote"]["environment"] == "staging"


def prod_input(name: str) -> str:
    inputs = load(NAMES["deploy-prod"])["on"]["workflow_dispatch"]["inputs"]
    return str(inputs[name]["description"])


@pytest.mark.parametrize(
    ("workflow", "stack"), [("deploy-staging", "staging"), ("deploy-prod", "prod")]
)
def test_one_release_per_stack_at_a_time_never_cancelled(workflow: str, stack: str) -> None:
    document = load(NAMES[workflow])
    concurrency = document["concurrency"]
    # GitHub cancels a pending run when a newer one joins its group (docs, "Control the
    # concurrency of workflows and jobs"), so a group shared by every image would silently
    # cancel a release waiting for approval: the group is per image, and the driver's lock in
    # S3 keeps two images from acting on the stack at once (refused, naming the holder).
    # Staging releases on push with no approval gate: its runs queue under one group.
    group = f"release-{stack}" + ("-${{ inputs.image }}" if stack == "prod" else "")
    assert concurrency == {"group": group, "cancel-in-progress": False}
    for job in document["jobs"].values():
        assert "concurrency" not in job  # the workflow's group covers every job
        runs = [str(s.get("run", "")) for s in job["steps"]]
        release = [r for r in runs if "delivery release" in r]
        assert all(r.startswith("exec ") for r in release)  # each release gets the signal


def test_the_app_image_is_scanned_before_it_is_pushed_and_output_by_digest() -> None:
    document = load(NAMES["app-image"])
    assert "workflow_call" in document["on"]
    outputs = document["on"]["workflow_call"]["outputs"]
    assert outputs["digest"]["value"] == "${{ jobs.image.outputs.digest }}"
    steps = jobs(NAMES["app-image"])["image"]["steps"]
    order = [str(s.get("uses", "")).split("@")[0] for s in steps]
    scan = order.index("aquasecurity/trivy-action")
    pushes = [i for i, s in enumerate(steps) if s.get("with", {}).get("push") is True]
    assert pushes and all(i > scan for i in pushes)
    trivy = steps[scan]["with"]
    assert trivy["severity"] == "CRITICAL,HIGH" and trivy["exit-code"] == "1"
    assert "anchore/sbom-action" in order


def test_a_release_measures_lead_time_only_from_the_applications_commit() -> None:
    """The image comes from the application's repository (app-image.yml); this repository's
    own commit (github.sha on a push to develop) built nothing the release ships."""
    for workflow, step in release_steps():
        assert "github.sha" not in str(step.get("env", {})), workflow


def test_every_release_gets_the_commits_time_which_travels_with_the_image() -> None:
    """Staging's releases had no lead time: the commit alone, not in this checkout, gives
    none. app-image outputs the commit and its time (with its offset); each release passes
    both, from the dispatch or from the variables set beside STAGING_IMAGE."""
    image = load(NAMES["app-image"])
    outputs = image["on"]["workflow_call"]["outputs"]
    assert outputs["commit-time"]["value"] == "${{ jobs.image.outputs.commit-time }}"
    job = jobs(NAMES["app-image"])["image"]
    assert job["outputs"]["commit-time"] == "${{ steps.commit.outputs.time }}"
    (commit_step,) = [s for s in job["steps"] if s.get("id") == "commit"]
    assert "git show -s --format=%cI HEAD" in commit_step["run"]
    for workflow, step in release_steps():
        assert '--commit-time "$COMMIT_TIME"' in step["run"], workflow
        assert "commit-time" in step["env"]["COMMIT_TIME"], workflow
    staging = [step for workflow, step in release_steps() if workflow == "deploy-staging"]
    assert len(staging) == 2  # the stage and the promote, with the same commit
    for step in staging:
        assert "vars.STAGING_COMMIT_TIME" in step["env"]["COMMIT_TIME"]
        assert "!inputs.image && vars.STAGING_COMMIT" in step["env"]["COMMIT"]
    dispatch = load(NAMES["deploy-staging"])["on"]["workflow_dispatch"]["inputs"]
    assert dispatch["commit-time"]["type"] == "string"


@pytest.mark.parametrize(
    ("workflow", "stack"), [("deploy-staging", "staging"), ("deploy-prod", "prod")]
)
def test_releases_run_where_the_cluster_and_the_test_listener_are_reachable(
    workflow: str, stack: str
) -> None:
    """A release's `pulumi up` talks to the Kubernetes API (prod's is private; staging's is
    open to clusterPublicAccessCidrs only) and its smoke and load checks to the test listener
    (the VPC and testClientCidrs only): GitHub's hosted runners, from anywhere in GitHub's
    address space, reach neither. Each stack's releases run on its own self-hosted runners."""
    settings = load_stack(stack)
    assert not settings.cluster.public_access_cidrs or all(
        c.num_addresses < 2**16 for c in settings.cluster.public_access_cidrs
    )
    for name, job in jobs(NAMES[workflow]).items():
        assert job["runs-on"] == ["self-hosted", "linux", f"switchyard-{stack}"], name


def test_releases_pass_the_test_listeners_host_name() -> None:
    """With HTTPS the driver needs a host name the certificate covers (it refuses the load
    balancer's own DNS name, which no certificate names)."""
    steps = release_steps()
    assert len(steps) == 4  # staging's and prod's stage and promote
    for workflow, step in steps:
        assert step["env"]["TEST_URL"] == "${{ vars.TEST_URL }}", workflow
        assert '${TEST_URL:+--test-url "$TEST_URL"}' in step["run"], workflow


@pytest.mark.parametrize("job", ["offline-preview", "preview"])
@pytest.mark.parametrize("written", [True, False], ids=["comment", "no-comment"])
def test_a_preview_job_always_leaves_a_comment_even_when_an_earlier_step_failed(
    job: str, written: bool, tmp_path: Path
) -> None:
    """The fallback step runs always() before the sticky comment: a missing comment (the
    install, the credentials or the CLI failed, the job was cancelled) becomes one that says
    so, since the comment action fails on an empty body and would leave the last one stale."""
    steps = jobs(NAMES["ci"])[job]["steps"]
    names = [s.get("name", s.get("uses", "")) for s in steps]
    fallback = steps[names.index("The comment, or why there is none")]
    sticky = next(s for s in steps if "sticky-pull-request-comment" in s.get("uses", ""))
    assert steps.index(fallback) < steps.index(sticky)
    assert fallback["if"] == "always()" and sticky["if"].startswith("always()")
    comment = tmp_path / "out" / "preview.md"
    if written:
        comment.parent.mkdir()
        comment.write_text("## Pulumi preview: `prod`\n")
    summary = tmp_path / "summary.md"
    env = {"STACK": "prod", "COMMENT": str(comment), "RUN": "https://ci/run/1"}
    subprocess.run(
        ["bash", "-e", "-c", fallback["run"]],
        env={**env, "GITHUB_STEP_SUMMARY": str(summary), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    text = comment.read_text()
    assert summary.read_text() == text
    if written:
        assert text == "## Pulumi preview: `prod`\n"
    else:
        assert "`prod` did not run" in text and "https://ci/run/1" in text
    assert fallback["env"]["COMMENT"] == sticky["with"]["path"]


def test_staging_scans_the_staged_colour_before_promote_and_the_scan_decides_it() -> None:
    """DAST on staging: stage, then OWASP ZAP's baseline scan (and the API scan when the app
    publishes an OpenAPI document) through the test listener, then promote, which passes each
    report to the driver: a High finding stops the release before any traffic moves."""
    staging = jobs(NAMES["deploy-staging"])
    assert staging["dast"]["needs"] == "stage" and staging["promote"]["needs"] == "dast"
    steps = staging["dast"]["steps"]
    actions = {str(s.get("uses", "")).split("@")[0]: s for s in steps if s.get("uses")}
    baseline = actions["zaproxy/action-baseline"]
    assert baseline["with"]["target"] == "${{ vars.TEST_URL }}"
    assert baseline["with"]["rules_file_name"] == ".zap/rules.tsv"
    assert baseline["with"]["fail_action"] is False  # the driver judges, not the action
    assert baseline["with"]["allow_issue_writing"] is False  # no issues: write permission
    api = actions["zaproxy/action-api-scan"]
    assert api["if"] == "vars.STAGING_OPENAPI_URL != ''"
    # one SARIF file, one run: code scanning refuses two runs of one tool under one category
    assert actions["github/codeql-action/upload-sarif"]["with"]["sarif_file"] == "out/zap.sarif"
    assert api["with"]["cmd_options"] == "-O ${{ vars.TEST_URL }}"  # the staged colour only
    assert staging["dast"]["environment"] == "staging"
    promote = " ".join(str(s.get("run", "")) for s in staging["promote"]["steps"])
    assert "--dast-report" in promote and "out/zap-*.json" in promote
    assert "--stage-only" in " ".join(str(s.get("run", "")) for s in staging["stage"]["steps"])


def test_the_zap_rules_file_is_what_zap_reads() -> None:
    """zap-baseline.py's -c file: one rule a line, tab-separated: the plugin id, one of
    IGNORE, INFO, WARN or FAIL, and the rule's name in brackets (action-baseline's README)."""
    lines = (ROOT / ".zap" / "rules.tsv").read_text().splitlines()
    assert lines
    for line in lines:
        plugin, action, name = line.split("\t")
        assert plugin.isdigit() and action in {"IGNORE", "INFO", "WARN", "FAIL"}, line
        assert name.startswith("(") and name.endswith(")"), line
