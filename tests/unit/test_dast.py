"""The DAST gate's reading of ZAP's JSON report, its verdict (High stops, Medium reported), its
SARIF form, and its bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from delivery.errors import BadRequest
from delivery.release.dast import ZapRules, main, read_report, sarif

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "zap"


def test_a_high_finding_fails_and_names_itself() -> None:
    report = read_report(FIXTURES / "report-high.json")
    assert [(f.plugin, f.risk) for f in report.findings] == [
        ("40012", 3),
        ("10038", 2),
        ("10036", 1),
    ]
    passed, said = report.verdict()
    assert not passed
    assert said.startswith("ZAP (report-high.json): 1 High, 1 Medium finding(s): ")
    assert "Cross Site Scripting (Reflected) [40012] at https://staging-test" in said


def test_medium_findings_are_reported_and_pass() -> None:
    passed, said = read_report(FIXTURES / "report-medium.json").verdict()
    assert passed
    assert said == (
        "ZAP (report-medium.json): 0 High, 1 Medium finding(s) reported: Content Security "
        "Policy (CSP) Header Not Set [10038] at https://staging-test.example.com:8443/ (+1)"
    )


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("not json", "not ZAP's JSON report"),
        ('{"alerts": []}', "has no 'site' list"),
        ('{"site": [{"alerts": [{"alert": "x"}]}]}', "an alert without a riskcode"),
    ],
)
def test_a_report_that_is_not_zaps_is_refused(tmp_path: Path, body: str, said: str) -> None:
    path = tmp_path / "report_json.json"
    path.write_text(body)
    with pytest.raises(BadRequest, match=said):
        read_report(path)


def test_a_missing_report_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match=r"pass the report_json\.json"):
        read_report(tmp_path / "absent.json")


def test_the_sarif_has_a_rule_per_plugin_and_levels_by_risk(tmp_path: Path) -> None:
    out = tmp_path / "zap.sarif"
    assert main([str(FIXTURES / "report-high.json"), "--sarif", str(out)]) == 0
    document = json.loads(out.read_text())
    assert document["version"] == "2.1.0"
    (run,) = document["runs"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["10036", "10038", "40012"]
    assert [(r["ruleId"], r["level"]) for r in run["results"]] == [
        ("40012", "error"),
        ("10038", "warning"),
        ("10036", "note"),
    ]
    uris = [
        loc["physicalLocation"]["artifactLocation"]["uri"] for loc in run["results"][1]["locations"]
    ]
    assert uris == [
        "https://staging-test.example.com:8443/",
        "https://staging-test.example.com:8443/healthz",
    ]
    assert document == sarif(read_report(FIXTURES / "report-high.json"))


def test_two_scans_make_one_sarif_run(tmp_path: Path) -> None:
    out = tmp_path / "zap.sarif"
    reports = [str(FIXTURES / "report-high.json"), str(FIXTURES / "report-medium.json")]
    assert main([*reports, "--sarif", str(out)]) == 0
    (run,) = json.loads(out.read_text())["runs"]
    assert len(run["results"]) == 5  # 3 from the baseline, 2 from the other


def test_the_rules_file_ignores_and_fails_as_it_says(tmp_path: Path) -> None:
    rules = tmp_path / "rules.tsv"
    rules.write_text(
        "40012\tIGNORE\t(Cross Site Scripting (Reflected))\n10036\tFAIL\t(Server leak)\n"
    )
    report = read_report(FIXTURES / "report-high.json", ZapRules.read(rules))
    assert [(f.plugin, f.risk) for f in report.findings] == [("10038", 2), ("10036", 3)]
    passed, said = report.verdict()
    assert not passed and "Server Leaks Version Information" in said  # FAIL stops it


def test_a_bad_rules_line_is_named(tmp_path: Path) -> None:
    rules = tmp_path / "rules.tsv"
    rules.write_text("10036 WARN (spaces, not tabs)\n")
    with pytest.raises(BadRequest, match=r"rules\.tsv:1: a rule is"):
        ZapRules.read(rules)


def test_every_site_of_a_report_is_read_and_false_positives_dropped(tmp_path: Path) -> None:
    data = json.loads((FIXTURES / "report-medium.json").read_text())
    second = json.loads(json.dumps(data["site"][0]))
    second["@name"] = "https://other.example.com"
    second["alerts"][0]["confidence"] = "0"  # marked a false positive in ZAP
    data["site"].append(second)
    path = tmp_path / "two-sites.json"
    path.write_text(json.dumps(data))
    assert [f.plugin for f in read_report(path).findings] == ["10038", "10036", "10036"]
