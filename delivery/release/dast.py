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


def read_report(path: Path) -> DastReport:
    """ZAP's JSON report; a missing or malformed one is refused (the release does not pass a
    scan that did not report)."""
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
            uris = tuple(str(i.get("uri", "")) for i in alert.get("instances", []) if i)
            name = str(alert.get("alert") or alert.get("name") or "unnamed alert")
            findings.append(Finding(str(alert.get("pluginid", "?")), name, risk, uris))
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
        description="Turn ZAP's JSON report into SARIF for GitHub's code scanning.",
    )
    parser.add_argument("report", type=Path, help="ZAP's report_json.json")
    parser.add_argument("sarif", type=Path, help="where to write the SARIF file")
    args = parser.parse_args(argv)
    try:
        report = read_report(args.report)
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
