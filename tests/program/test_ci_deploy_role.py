"""The role the deploy workflows assume can really run a release.

The workflows take ``vars.AWS_DEPLOY_ROLE_ARN``, which the README sets to the stack's CI
infrastructure role: the driver runs ``pulumi up`` (the infrastructure role's business) and its
own calls around it (the release role's list: records, baseline, notifications, the abort).
"""

from __future__ import annotations

from typing import Any

import pytest

from delivery.config.stackfile import available_stacks
from infra.offline import Evaluation
from tests.program.harness import evaluate
from tests.unit.test_workflows import NAMES, jobs

DEPLOY_ROLE = "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
DEFAULT_SESSION_SECONDS = 3600  # configure-aws-credentials' default role-duration-seconds


def deploy_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for workflow in ("deploy-staging", "deploy-prod"):
        for name, job in jobs(NAMES[workflow]).items():
            for step in job["steps"]:
                given = step.get("with", {})
                if given.get("role-to-assume") == DEPLOY_ROLE:
                    found.append((workflow, name, {**given, "timeout": job["timeout-minutes"]}))
    return found


@pytest.fixture(scope="module", params=available_stacks())
def run(request: pytest.FixtureRequest) -> Evaluation:
    return evaluate(request.param)


def test_every_deploy_job_assumes_the_deploy_role() -> None:
    assert sorted((w, j) for w, j, _ in deploy_jobs()) == [
        ("deploy-prod", "promote"),
        ("deploy-prod", "stage"),
        ("deploy-staging", "release"),
    ]


def test_the_deploy_session_fits_the_roles_maximum_and_outlives_the_job(run: Evaluation) -> None:
    """STS refuses AssumeRoleWithWebIdentity asking for more than the role's
    MaxSessionDuration; credentials that expire before the job's timeout leave a cutover
    (and its rollback) without AWS access half way."""
    (role,) = [r for r in run.mocks.of_type("aws:iam/role:Role") if r.name == "ci-infrastructure"]
    maximum = int(role.inputs["maxSessionDuration"])
    for workflow, job, given in deploy_jobs():
        session = int(given.get("role-duration-seconds", DEFAULT_SESSION_SECONDS))
        where = f"{workflow}.{job}"
        assert session <= maximum, f"{where} asks for {session} s; the role allows {maximum} s"
        assert session >= given["timeout"] * 60, f"{where} outlives its credentials"
