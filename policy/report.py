"""``python -m policy report --stack <stack>``: the compliance report of a stack, from the
policy pack's run over its offline graph and its release records (policy.compliance)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from delivery.cli_args import output_file
from delivery.config.stackfile import load_stack
from delivery.errors import BadRequest, Exit, SwitchyardError
from delivery.release.record import LocalRecords, Outcome, Phase, RecordStore, S3Records
from infra.offline import evaluate, placeholder_secrets
from policy.compliance import Report, judge
from policy.offline import run_pack

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github" / "workflows"
CHECKED_BEFORE_PROMOTE = (Phase.STAGE, Phase.SMOKE, Phase.LOAD)


def change_management(stack: str, records: RecordStore | None) -> dict[str, Any]:
    """The releases of ``stack`` as evidence of CC8.1: each went through stage, smoke and load
    before promote, from a CI run; prod's promote waits for the environment's approval."""
    if records is None:
        return {}
    loaded = records.load()
    mine = [r for r in loaded.records if r.stack == stack and r.outcome is not None]
    outcomes = Counter(r.outcome.value for r in mine if r.outcome)
    promoted = [r for r in mine if r.outcome is Outcome.PROMOTED]
    checked = [r for r in promoted if all(r.passed(p) for p in CHECKED_BEFORE_PROMOTE)]
    from_ci = [r for r in promoted if r.run_url]
    gates = _approval_gates(stack)
    if not promoted:
        verdict = "unproven"  # nothing reached users through the pipeline in these records
    elif len(checked) < len(promoted):
        verdict = "failed"  # a promote without stage, smoke and load passed
    else:
        verdict = "passed"
    return {
        "result": verdict,
        "records": len(mine),
        "outcomes": dict(sorted(outcomes.items())),
        "promoted with stage, smoke and load passed": f"{len(checked)} of {len(promoted)}",
        "promoted from a CI run (run URL recorded)": f"{len(from_ci)} of {len(promoted)}",
        "environments the release jobs wait in (set their required reviewers in GitHub; "
        "not read here)": ", ".join(gates) or "none declared for this stack",
        "unreadable records": len(loaded.unreadable),
    }


def _approval_gates(stack: str) -> list[str]:
    """The environments the stack's release workflow waits in (deploy-<stack>.yml's jobs)."""
    path = WORKFLOWS / f"deploy-{stack}.yml"
    if not path.is_file():
        return []
    jobs = (yaml.safe_load(path.read_text()) or {}).get("jobs", {})
    found = {str(job.get("environment")) for job in jobs.values() if job.get("environment")}
    return sorted(found)


def report(stack: str, records: RecordStore | None) -> Report:
    settings = load_stack(stack)
    run = evaluate(settings.stack, secrets=placeholder_secrets(settings.stack))
    violations = [(v.policy, v.mandatory, v.message) for v in run_pack(run.mocks.nodes)]
    names: dict[str, list[str]] = {}
    for resource in run.mocks.resources:
        names.setdefault(resource.type, []).append(resource.name)
    return judge(settings.stack, violations, names, change_management(settings.stack, records))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m policy report",
        description="Map each rule of the security baseline to SOC 2 criteria and PCI DSS v4.0\n"
        "requirements, judge them on the stack's offline graph, and take the release\n"
        "records as the evidence of change management.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--records", type=Path, help="release records folder")
    source.add_argument("--bucket", help="release records bucket in S3")
    parser.add_argument(
        "--markdown", type=output_file(".md"), default=None, help="write the report here"
    )
    parser.add_argument("--json", type=output_file(".json"), default=None, help="and as JSON")
    args = parser.parse_args(argv)
    try:
        store = _records(args)
        built = report(args.stack, store)
    except SwitchyardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    text = built.markdown()
    print(text, end="")
    for path, body in ((args.markdown, text), (args.json, built.json_text())):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
    failed = any(c.result == "failed" for c in built.controls)
    return Exit.FAILED if failed or built.change_result() == "failed" else Exit.OK


def _records(args: argparse.Namespace) -> RecordStore | None:
    if args.records is not None:
        if not args.records.is_dir():
            raise BadRequest(f"--records {args.records} is not a folder of release records")
        return LocalRecords(args.records)
    if args.bucket:
        import boto3

        return S3Records(boto3.session.Session().client("s3"), args.bucket)
    return None
