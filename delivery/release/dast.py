"""The DAST gate: OWASP ZAP's baseline (or API) scan of the staged colour through the test
listener, judged before promote. High findings stop the release before any traffic moves;
Medium ones are reported in the record. Also its SARIF form, for GitHub's code scanning.

The scan's report is ZAP's traditional JSON (``zap-baseline.py -J report_json.json``, as
zaproxy/action-baseline v0.15.0 runs it): ``site[].alerts[]``, each with ``pluginid``,
``alert`` (or ``name``), ``riskcode`` ("0" informational, "1" low, "2" medium, "3" high),
``confidence`` and ``instances[].uri``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from delivery.errors import BadRequest

RULES_FILE: Final = Path(__file__).resolve().parents[2] / ".zap" / "rules.tsv"
HIGH: Final = 3
MEDIUM: Final = 2
RISKS: Final = {0: "informational", 1: "low", 2: "medium", 3: "high"}
SARIF_LEVELS: Final = {3: "error", 2: "warning", 1: "note", 0: "note"}


@dataclass(frozen=True)
class Finding:
    plugin: str
    alert: str
    risk: int
    uris: tuple[str, ...]

    def __str__(self) -> str:
        where = f" at {self.uris[0]}" + (f" (+{len(self.uris) - 1})" if len(self.uris) > 1 else "")
        return f"{self.alert} [{self.plugin}]{where if self.uris else ''}"


@dataclass(frozen=True)
class DastReport:
    source: str
    findings: tuple[Finding, ...]

    def at(self, risk: int) -> list[Finding]:
        return [f for f in self.findings if f.risk == risk]

    def verdict(self) -> tuple[bool, str]:
        """(passed, what the record says): High findings fail, Medium ones are reported."""
        high, medium = self.at(HIGH), self.at(MEDIUM)
        said = f"ZAP ({self.source}): {len(high)} High, {len(medium)} Medium finding(s)"
        if high:
            return False, f"{said}: {'; '.join(str(f) for f in high[:5])}"
        if medium:
            return True, f"{said} reported: {'; '.join(str(f) for f in medium[:5])}"
        return True, said


@dataclass(frozen=True)
class ZapRules:
    """``.zap/rules.tsv`` as the gate reads it: ZAP's JSON report holds every alert whatever
    the rules file says (zap-baseline.py writes ``-J`` from all of them; the file changes only
    its own pass/fail counts), so the gate applies it: an IGNORE rule's alerts are dropped, a
    FAIL rule's stop the release whatever their risk."""

    ignore: frozenset[str] = frozenset()
    fail: frozenset[str] = frozenset()

    @classmethod
    def read(cls, path: Path) -> ZapRules:
        if not path.is_file():
            return cls()
        ignore: set[str] = set()
        fail: set[str] = set()
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) < 2 or not parts[0].isdigit():
                raise BadRequest(
                    f"{path}:{number}: a rule is '<plugin id><TAB><IGNORE|INFO|WARN|FAIL><TAB>"
                    f"(<name>)', got {line!r}"
                )
            action = parts[1].strip()
            if action not in {"IGNORE", "INFO", "WARN", "FAIL"}:
                raise BadRequest(f"{path}:{number}: unknown action {action!r}")
            if action == "IGNORE":
                ignore.add(parts[0])
            elif action == "FAIL":
                fail.add(parts[0])
        return cls(frozenset(ignore), frozenset(fail))


FALSE_POSITIVE: Final = 0  # ZAP's confidence 0: a user marked the alert a false positive


def read_report(path: Path, rules: ZapRules | None = None) -> DastReport:
    """ZAP's JSON report, with ``rules`` applied; a missing or malformed one is refused (the
    release does not pass a scan that did not report)."""
    rules = rules or ZapRules()
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(
            f"--dast-report {path}: not ZAP's JSON report ({exc}); pass the report_json.json "
            "the scan wrote (zap-baseline.py -J)"
        ) from exc
    sites = data.get("site") if isinstance(data, dict) else None
    if not isinstance(sites, list):
        raise BadRequest(f"--dast-report {path}: has no 'site' list, so it is not ZAP's report")
    findings = []
    for site in sites:
        for alert in site.get("alerts", []) if isinstance(site, dict) else []:
            try:
                risk = int(alert["riskcode"])
            except (KeyError, TypeError, ValueError) as exc:
                raise BadRequest(
                    f"--dast-report {path}: an alert without a riskcode ({exc})"
                ) from exc
            plugin = str(alert.get("pluginid", "?"))
            if plugin in rules.ignore or str(alert.get("confidence")) == str(FALSE_POSITIVE):
                continue
            if plugin in rules.fail:
                risk = HIGH  # the rules file makes it stop the release
            uris = tuple(str(i.get("uri", "")) for i in alert.get("instances", []) if i)
            name = str(alert.get("alert") or alert.get("name") or "unnamed alert")
            findings.append(Finding(plugin, name, risk, uris))
    return DastReport(path.name, tuple(findings))


def merged(reports: Sequence[DastReport]) -> DastReport:
    """The baseline and the API scan as one verdict."""
    return DastReport(
        " + ".join(r.source for r in reports), tuple(f for r in reports for f in r.findings)
    )


def sarif(report: DastReport) -> dict[str, Any]:
    """SARIF 2.1.0 for github/codeql-action/upload-sarif: one rule per ZAP plugin."""
    rules = {f.plugin: f for f in report.findings}
    return {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "OWASP ZAP",
                        "informationUri": "https://www.zaproxy.org/",
                        "rules": [
                            {
                                "id": plugin,
                                "name": f.alert,
                                "shortDescription": {"text": f.alert},
                                "properties": {"risk": RISKS.get(f.risk, str(f.risk))},
                            }
                            for plugin, f in sorted(rules.items())
                        ],
                    }
                },
                "results": [
                    {
                        "ruleId": f.plugin,
                        "level": SARIF_LEVELS.get(f.risk, "note"),
                        "message": {"text": f"{f.alert} ({RISKS.get(f.risk, f.risk)})"},
                        "locations": [
                            {"physicalLocation": {"artifactLocation": {"uri": uri}}}
                            for uri in f.uris[:10]
                        ],
                    }
                    for f in report.findings
                ],
            }
        ],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m delivery.release.dast",
        description="Turn ZAP's JSON reports into one SARIF file (one run: code scanning\n"
        "refuses two runs of one tool under one category) for GitHub's code scanning.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("reports", type=Path, nargs="+", help="ZAP's report_json.json files")
    parser.add_argument("--sarif", type=Path, required=True, help="the SARIF file to write")
    parser.add_argument("--rules", type=Path, default=RULES_FILE, help="ZAP's rules file")
    args = parser.parse_args(argv)
    try:
        rules = ZapRules.read(args.rules)
        report = merged([read_report(path, rules) for path in args.reports])
    except BadRequest as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    args.sarif.parent.mkdir(parents=True, exist_ok=True)
    args.sarif.write_text(json.dumps(sarif(report), indent=2) + "\n")
    _, said = report.verdict()
    print(said)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
