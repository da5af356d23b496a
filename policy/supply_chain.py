"""``make audit``: the supply-chain checks, each reported on its own line.

- pip-audit over the pinned constraints (PyPI's vulnerability data: needs the network; when the
  service does not answer, say so, and count nothing as audited);
- bandit over the code: no medium or high finding (each accepted one carries ``# nosec`` and
  its reason on the line);
- a CycloneDX SBOM of the project's environment, written to ``out/sbom.cdx.json``;
- a secret scan of the tracked files (detect-secrets) against ``.secrets.baseline``, the audited
  list of known non-secrets: anything new fails;
- zizmor over the GitHub workflows (offline, its regular persona): no finding (each accepted
  one carries ``# zizmor: ignore[<audit>]`` and its reason on the line);
- every IAM policy the program renders, per stack: parliament, cloudsplaining and the
  resource-type check (policy/iam_audit.py);
- checkov's Kubernetes checks over every object the program declares, rendered per stack to
  ``out/manifests/<stack>/`` (checkov runs from ``.venv-audit``: its pins clash with Pulumi's).

Exit 0: clean; 1: a finding; 3: clean so far, but the vulnerability service was unreachable.
"""

from __future__ import annotations

import json
import shutil
import subprocess  # nosec B404 - runs the project's own pinned tools, never user input
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from delivery.config.stackfile import available_stacks, load_stack

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CODE = ("delivery", "components", "infra", "policy")
SBOM = ROOT / "out" / "sbom.cdx.json"
MANIFESTS = ROOT / "out" / "manifests"
BASELINE = ROOT / ".secrets.baseline"
FINDING, UNREACHABLE = 1, 3


@dataclass(frozen=True)
class Step:
    name: str
    status: int  # 0 clean, FINDING, UNREACHABLE
    summary: str


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # nosec B603 - fixed argument lists of installed tools
        [str(BIN / args[0]), *args[1:]], cwd=ROOT, capture_output=True, text=True, check=False
    )


def vulnerabilities(report: dict[str, Any]) -> Step:
    """Judge pip-audit's JSON: vulnerable packages are findings; packages the service could
    not answer for were not audited, and saying 'no vulnerabilities' for them would be a lie."""
    deps = report.get("dependencies", [])
    skipped = [d["name"] for d in deps if "skip_reason" in d]
    vulnerable = [
        f"{d['name']} {d['version']}: {', '.join(v['id'] for v in d['vulns'])}"
        for d in deps
        if d.get("vulns")
    ]
    if vulnerable:
        return Step("pip-audit", FINDING, "vulnerable: " + "; ".join(vulnerable))
    if deps and len(skipped) == len(deps):
        return Step(
            "pip-audit",
            UNREACHABLE,
            f"NOT AUDITED: PyPI's vulnerability service answered for none of the {len(deps)} "
            "pinned packages (it needs the network to pypi.org's JSON API); run `make audit` "
            "where that is reachable",
        )
    partial = f"; {len(skipped)} not found on PyPI: {', '.join(skipped)}" if skipped else ""
    return Step(
        "pip-audit", 0, f"{len(deps) - len(skipped)} packages, no known vulnerability{partial}"
    )


def audit_dependencies() -> Step:
    out = ROOT / "out" / "pip-audit.json"
    out.unlink(missing_ok=True)  # never judge an earlier run's report
    done = _run(
        "pip-audit", "-r", "constraints.txt", "--no-deps", "--disable-pip",
        "--progress-spinner", "off", "--timeout", "15", "-f", "json", "-o", str(out),
    )  # fmt: skip
    if not out.exists() or (done.returncode != 0 and "ConnectionError" in done.stderr):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Step(
            "pip-audit", UNREACHABLE, f"NOT AUDITED: vulnerability service unreachable ({last})"
        )
    return vulnerabilities(json.loads(out.read_text()))


def static_analysis() -> Step:
    done = _run("bandit", "-r", *CODE, "-f", "json", "-q")
    results = json.loads(done.stdout or "{}").get("results", [])
    serious = [r for r in results if r["issue_severity"] in ("MEDIUM", "HIGH")]
    if serious:
        where = "; ".join(
            f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}" for r in serious
        )
        return Step("bandit", FINDING, f"{len(serious)} medium/high: {where}")
    return Step("bandit", 0, f"no medium or high finding ({len(results)} low) in {', '.join(CODE)}")


def bill_of_materials() -> Step:
    done = _run(
        "cyclonedx-py", "environment", sys.executable, "--pyproject", "pyproject.toml",
        "--of", "JSON", "--output-reproducible", "-o", str(SBOM),
    )  # fmt: skip
    if done.returncode != 0 or not SBOM.exists():
        return Step("sbom", FINDING, f"cyclonedx-py failed: {done.stderr.strip()[-300:]}")
    components = json.loads(SBOM.read_text()).get("components", [])
    return Step("sbom", 0, f"{len(components)} components -> {SBOM.relative_to(ROOT)}")


def new_secrets(scan: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    known = {
        (path, item["hashed_secret"])
        for path, items in baseline.get("results", {}).items()
        for item in items
    }
    return [
        f"{path}:{item['line_number']} {item['type']}"
        for path, items in scan.get("results", {}).items()
        for item in items
        if (path, item["hashed_secret"]) not in known
    ]


def secret_scan() -> Step:
    # the tracked files; the baseline itself holds only hashes of the audited non-secrets
    done = _run("detect-secrets", "scan", "--exclude-files", r"^\.secrets\.baseline$")
    found = new_secrets(json.loads(done.stdout), json.loads(BASELINE.read_text()))
    if found:
        return Step(
            "secrets",
            FINDING,
            f"{len(found)} possible secret(s) not in .secrets.baseline: {'; '.join(found)} "
            "(remove them, or audit a false positive into the baseline)",
        )
    return Step("secrets", 0, "no secret beyond the audited non-secrets of .secrets.baseline")


def workflow_findings(report: list[dict[str, Any]]) -> list[str]:
    """zizmor's JSON findings, each as '<audit> (<severity>) in <workflow>'."""
    found = []
    for finding in report:
        locations = finding.get("locations") or [{}]
        key = (locations[0].get("symbolic") or {}).get("key") or {}
        where = (key.get("Local") or {}).get("verbatim_path", "?")
        severity = (finding.get("determinations") or {}).get("severity", "?")
        found.append(f"{finding.get('ident', '?')} ({severity}) in {where}")
    return found


def workflow_audit() -> Step:
    done = _run("zizmor", "--offline", "--format", "json", ".github/workflows")
    try:
        found = workflow_findings(json.loads(done.stdout or "[]"))
    except ValueError:
        return Step("zizmor", FINDING, f"zizmor failed: {done.stderr.strip()[-300:]}")
    if found:
        return Step("zizmor", FINDING, f"{len(found)} finding(s): {'; '.join(found)}")
    return Step("zizmor", 0, "no finding in .github/workflows (regular persona, offline)")


def iam_policies() -> Step:
    from policy.iam_audit import audit  # the program's offline runs: imported only here

    report = audit(available_stacks())
    accepted = f"{len(report.accepted)} accepted, each with its reason (policy/iam_audit.py)"
    if report.findings:
        shown = "; ".join(str(f) for f in report.findings)
        return Step("iam", FINDING, f"{len(report.findings)} finding(s): {shown}")
    return Step(
        "iam",
        0,
        f"{report.documents} policies of {len(available_stacks())} stacks: no finding from "
        f"parliament, cloudsplaining or the resource-type check; {accepted}",
    )


# checkov's Kubernetes checks that stay failed, and why (checkov 3.3.30, offline).
MANIFEST_CHECKS_ACCEPTED: Final = {
    "CKV2_K8S_6": (
        "no NetworkPolicy: the VPC CNI's network policy agent is not enabled, so a policy "
        "would be inert; the pods are reached only through the load balancer's security "
        "group and the nodes' (components/cluster.py)"
    ),
}
# Only where the stack may name images by tag (delivery/config/workloads.py requires a digest
# in prod; the policy pack's pods-images-pinned is advisory in dev and staging).
TAGGED_IMAGES_ACCEPTED: Final = {"CKV_K8S_43": "dev and staging follow moving tags"}
CHECKOV = ROOT / ".venv-audit" / "bin" / "checkov"


def write_manifests(stack: str, folder: Path) -> int:
    from infra.offline import placeholder_graph
    from policy.manifests import kubernetes_objects, render

    folder.mkdir(parents=True, exist_ok=True)
    objects = kubernetes_objects(placeholder_graph(stack))
    for index, resource in enumerate(objects):
        manifest = render(resource)
        name = f"{index:02d}-{manifest['kind']}-{resource.name}.yaml"
        (folder / name).write_text(yaml.safe_dump(manifest, sort_keys=False))
    return len(objects)


def manifest_findings(report: Any, accepted: dict[str, str]) -> list[str]:
    reports = report if isinstance(report, list) else [report]
    return sorted(
        {
            f"{failed['check_id']} ({failed['check_name']}) on {failed['resource']}"
            for single in reports
            for failed in single.get("results", {}).get("failed_checks", [])
            if failed["check_id"] not in accepted
        }
    )


def manifest_lint() -> Step:
    if not CHECKOV.exists():
        return Step("manifests", FINDING, f"{CHECKOV} is missing: run `make audit`")
    shutil.rmtree(MANIFESTS, ignore_errors=True)
    found, checked = [], 0
    for stack in available_stacks():
        folder = MANIFESTS / stack
        checked += write_manifests(stack, folder)
        accepted = {**MANIFEST_CHECKS_ACCEPTED}
        if not load_stack(stack).environment.digests_only:
            accepted.update(TAGGED_IMAGES_ACCEPTED)
        done = subprocess.run(  # nosec B603 - the audit venv's checkov on files written above
            [str(CHECKOV), "-d", str(folder), "--framework", "kubernetes", "--output", "json",
             "--quiet", "--skip-download"],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
        try:
            report = json.loads(done.stdout or "[]")
        except ValueError:
            return Step("manifests", FINDING, f"checkov failed: {done.stderr.strip()[-300:]}")
        found += [f"{stack}: {f}" for f in manifest_findings(report, accepted)]
    if found:
        return Step("manifests", FINDING, f"{len(found)} finding(s): {'; '.join(found)}")
    return Step(
        "manifests",
        0,
        f"checkov over {checked} rendered objects of {len(available_stacks())} stacks: no "
        f"finding beyond {', '.join(sorted([*MANIFEST_CHECKS_ACCEPTED, *TAGGED_IMAGES_ACCEPTED]))}"
        " (accepted in policy/supply_chain.py)",
    )


def main() -> int:
    SBOM.parent.mkdir(exist_ok=True)
    steps = [
        audit_dependencies(),
        static_analysis(),
        bill_of_materials(),
        secret_scan(),
        workflow_audit(),
        iam_policies(),
        manifest_lint(),
    ]
    for step in steps:
        mark = {0: "ok", FINDING: "FAIL", UNREACHABLE: "SKIPPED"}[step.status]
        print(f"{mark:8} {step.name:10} {step.summary}")
    statuses = {step.status for step in steps}
    return FINDING if FINDING in statuses else UNREACHABLE if UNREACHABLE in statuses else 0


if __name__ == "__main__":
    raise SystemExit(main())
