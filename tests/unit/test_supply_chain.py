"""How `make audit` judges the tools' reports."""

from __future__ import annotations

from policy import supply_chain
from policy.supply_chain import FINDING, UNREACHABLE, new_secrets, vulnerabilities


def test_a_vulnerable_pin_is_a_finding_naming_package_version_and_advisory() -> None:
    step = vulnerabilities(
        {
            "dependencies": [
                {"name": "requests", "version": "2.0.0", "vulns": [{"id": "GHSA-x"}]},
                {"name": "rich", "version": "15.0.0", "vulns": []},
            ]
        }
    )
    assert step.status == FINDING
    assert "requests 2.0.0: GHSA-x" in step.summary


def test_nothing_answered_is_not_audited_rather_than_clean() -> None:
    skipped = {"skip_reason": "Dependency not found on PyPI and could not be audited"}
    step = vulnerabilities({"dependencies": [{"name": "a", **skipped}, {"name": "b", **skipped}]})
    assert step.status == UNREACHABLE
    assert "NOT AUDITED" in step.summary and "none of the 2" in step.summary


def test_a_clean_audit_names_what_it_could_not_check() -> None:
    step = vulnerabilities(
        {
            "dependencies": [
                {"name": "rich", "version": "15.0.0", "vulns": []},
                {"name": "internal", "skip_reason": "not on PyPI"},
            ]
        }
    )
    assert step.status == 0
    assert "1 packages, no known vulnerability; 1 not found on PyPI: internal" in step.summary


def test_only_secrets_missing_from_the_audited_baseline_are_reported() -> None:
    known = {"results": {"a.py": [{"hashed_secret": "h1", "line_number": 3, "type": "T"}]}}
    scan = {
        "results": {
            "a.py": [{"hashed_secret": "h1", "line_number": 9, "type": "T"}],  # moved, known
            "b.py": [{"hashed_secret": "h2", "line_number": 1, "type": "AWS Access Key"}],
        }
    }
    assert new_secrets(scan, known) == ["b.py:1 AWS Access Key"]


def test_zizmors_findings_are_named_by_audit_severity_and_workflow() -> None:
    report = [
        {
            "ident": "template-injection",
            "determinations": {"severity": "High", "confidence": "High"},
            "locations": [
                {"symbolic": {"key": {"Local": {"verbatim_path": ".github/workflows/ci.yml"}}}}
            ],
        }
    ]
    assert supply_chain.workflow_findings(report) == [
        "template-injection (High) in .github/workflows/ci.yml"
    ]


def test_the_workflows_have_no_zizmor_finding() -> None:
    """The real zizmor (pinned in constraints.txt) over the real workflows, offline."""
    step = supply_chain.workflow_audit()
    assert step.status == 0, step.summary
