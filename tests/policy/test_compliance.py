"""The compliance report: every rule of the baseline mapped to SOC 2 and PCI DSS v4.0 (or a
reason for none), each stack's report, change management from the release records, and the
command's bad inputs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from delivery.config.model import Colour
from delivery.errors import Exit
from delivery.release.record import (
    LocalRecords,
    Outcome,
    Phase,
    PhaseResult,
    ReleaseRecord,
    Result,
)
from policy.compliance import judge
from policy.frameworks import MAPPING, PCI, SOC2, criteria_tags
from policy.pack import RULES
from policy.report import main, report

START = datetime(2026, 11, 2, 10, tzinfo=UTC)


def test_every_rule_has_a_mapping_or_a_reason_and_names_known_criteria() -> None:
    assert set(MAPPING) == {r.name for r in RULES}
    for name, criteria in MAPPING.items():
        assert criteria.soc2, name
        assert criteria.pci or criteria.reason, name
        assert set(criteria.soc2) <= set(SOC2), name
        assert {p.split(".")[0] for p in criteria.pci} <= set(PCI), name


def test_the_issues_criteria_are_each_judged_by_some_rule_or_named_as_a_gap() -> None:
    judged = {c for m in MAPPING.values() for c in m.soc2}
    requirements = {p.split(".")[0] for m in MAPPING.values() for p in m.pci}
    assert {"CC6.1", "CC6.6", "CC7.2", "CC8.1"} <= judged
    assert {"1", "2", "3", "4", "6", "7", "8", "10"} <= requirements
    gaps = "\n".join(judge("x", [], {}, {}).gaps())
    assert "PCI 11: no rule of the pack judges it" in gaps  # said, not hidden


def _records(folder: Path) -> LocalRecords:
    store = LocalRecords(folder)
    for day, outcome in enumerate((Outcome.PROMOTED, Outcome.ROLLED_BACK, Outcome.PROMOTED)):
        start = START + timedelta(days=day)
        record = ReleaseRecord.begin("prod", f"web@sha256:{day}", Colour.BLUE, start)
        record.outcome, record.ended_at = outcome, start + timedelta(hours=1)
        record.run_url = "https://github.com/o/r/actions/runs/1" if day else None
        record.phases = [
            PhaseResult(Phase(p), Result.PASSED, start, start, "ok")
            for p in ("stage", "smoke", "load", "promote")
        ]
        store.save(record)
    return store


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_each_stacks_report(stack: str, tmp_path: Path) -> None:
    built = report(stack, _records(tmp_path) if stack == "prod" else None)
    results = {c.rule.name: c.result for c in built.controls}
    assert len(results) == len(RULES)
    assert "failed" not in results.values()  # the committed stacks pass the mandatory rules
    text = built.markdown()
    assert text.startswith(f"# Compliance report: stack `{stack}`")
    assert "| CC6.6 |" in text and "| PCI 1.3 |" in text
    if stack == "dev":  # dev's relaxed rules are advisory there, and the report says so
        assert "advisory" in results.values()
        assert any("elb-https-listeners" in g and "advisory" in g for g in built.gaps())
    body = built.as_json()
    assert body["stack"] == stack and len(body["controls"]) == len(RULES)
    if stack == "prod":
        evidence = body["change_management"]
        assert evidence["records"] == 3
        assert evidence["outcomes"] == {"promoted": 2, "rolled-back": 1}
        assert evidence["promoted with stage, smoke and load passed"] == "2 of 2"
        assert evidence["promoted from a CI run (run URL recorded)"] == "1 of 2"
        gates = "environments the release jobs wait in (set their required reviewers in GitHub; "
        assert "production" in evidence[gates + "not read here)"]
        assert evidence["result"] == "passed" and body["criteria"]["CC8.1"] == "passed"
    else:
        assert any("no release records were given" in g for g in built.gaps())
        # the pipeline's design alone proves no change management
        assert body["criteria"]["CC8.1"] == "unproven (no release records)"
        assert "| CC8.1 |" in text and "unproven (no release records) |" in text


def test_a_release_promoted_without_its_checks_fails_change_management(tmp_path: Path) -> None:
    store = _records(tmp_path)
    loaded = store.load().records
    promoted = next(r for r in loaded if r.outcome and r.outcome.value == "promoted")
    promoted.phases = [p for p in promoted.phases if p.phase is not Phase.LOAD]
    store.save(promoted)
    written = tmp_path / "out" / "report.json"
    argv = ["--stack", "prod", "--records", str(tmp_path), "--json", str(written)]
    assert main(argv) == Exit.FAILED
    body = json.loads(written.read_text())
    assert body["change_management"]["result"] == "failed"
    assert body["criteria"]["CC8.1"] == "failed"
    assert any("promoted without stage, smoke and load" in g for g in body["gaps"])


def test_a_failed_mandatory_rule_fails_its_criteria_and_is_a_gap() -> None:
    violation = ("elb-tls12-policy", True, "listener traffic-production: TLS 1.0 allowed")
    (rule,) = [r for r in RULES if r.name == "elb-tls12-policy"]
    present = {t: ["traffic-production"] for t in rule.types}
    built = judge("prod", [violation], present, {"records": 1})
    (control,) = [c for c in built.controls if c.rule.name == "elb-tls12-policy"]
    assert control.result == "failed"
    assert any(g.startswith("elb-tls12-policy") and "TLS 1.0" in g for g in built.gaps())
    assert "| CC6.7 | data in transit is protected |" in built.markdown()
    assert "| failed |" in built.markdown()
    assert control.resources == ("traffic-production",)  # the evidence: what it judged


def test_the_command_writes_markdown_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = tmp_path / "records"
    _records(records)
    markdown, as_json = tmp_path / "out" / "c.md", tmp_path / "out" / "c.json"
    argv = ["--stack", "prod", "--records", str(records), "--markdown", str(markdown)]
    assert main([*argv, "--json", str(as_json)]) == Exit.OK
    assert markdown.read_text() == capsys.readouterr().out
    assert json.loads(as_json.read_text())["change_management"]["records"] == 3


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--stack", "qa"], "no stack file Pulumi.qa.yaml"),
        (["--stack", "prod", "--records", "/nonexistent/records"], "is not a folder"),
    ],
)
def test_bad_input_is_named(argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == Exit.BAD_INPUT
    assert said in capsys.readouterr().err


def test_python_m_policy_report_runs_the_report_not_the_pack() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "policy", "report", "--stack", "qa"],
        check=False,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == Exit.BAD_INPUT
    assert "no stack file Pulumi.qa.yaml" in done.stderr


def test_the_pack_carries_each_rules_criteria_as_its_policies_tags() -> None:
    """pulumi-policy's Policy ``tags``: the engine reports them with each violation."""
    from policy.pack import POLICIES

    by_rule = {r.name: r for r in RULES}
    for policy in POLICIES:
        rule = by_rule[policy.name.removesuffix("-relaxed")]
        assert policy.tags == list(criteria_tags(rule.name)), policy.name
    assert criteria_tags("elb-tls12-policy") == ("soc2:CC6.7", "pci-dss-v4:4.2")


def test_a_graph_with_nothing_in_it_passes_nothing() -> None:
    built = judge("empty", [], {}, {})
    assert {c.result for c in built.controls} == {"not applicable"}
    assert "| passed |" not in built.markdown()
    gaps = "\n".join(built.gaps())
    assert "CC6.6: no rule judges it" in gaps and "PCI 1: no rule judges it" in gaps


def test_an_advisory_violation_shows_on_its_criterion() -> None:
    (rule,) = [r for r in RULES if r.name == "elb-waf"]
    present = {t: ["traffic-alb"] for t in rule.types}
    built = judge("dev", [("elb-waf-relaxed", False, "no WAF in dev")], present, {"records": 1})
    assert "| CC6.6 | the system boundary is protected against threats from outside it |" in (
        built.markdown()
    )
    row = next(line for line in built.markdown().splitlines() if line.startswith("| CC6.6 |"))
    assert row.endswith("| advisory |")
