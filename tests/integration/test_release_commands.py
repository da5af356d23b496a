"""The release commands end to end: `release --rehearse` for every scenario against the
embedded emulator, `report` over the records it wrote, the offline preview between two commits,
and the bad inputs of each."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from delivery.cli import main
from delivery.config.stackfile import PROJECT_ROOT, load_stack
from delivery.errors import Exit
from delivery.release.offline import OfflinePreviewError, offline_plan
from delivery.release.preview import COMMENT_LIMIT, render

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:" + "c" * 64


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=ci", "-c", "user.email=ci@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


HEAD = git(PROJECT_ROOT, "rev-parse", "HEAD")


COMMIT_TIME = "2026-11-26T22:00:00+00:00"
SCENARIOS = {  # scenario: (exit code, outcome, the phase that failed)
    "clean": (0, "promoted", None),
    "smoke-fails": (4, "stopped", "smoke"),
    "load-fails": (4, "stopped", "load"),
    "alarm-at:50": (3, "rolled-back", "promote"),
}


def rehearse(scenario: str, records: Path, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(
        [
            "release",
            "--stack",
            "staging",
            "--image",
            IMAGE,
            "--commit",
            HEAD,
            "--rehearse",
            "--scenario",
            scenario,
            "--records",
            str(records),
            "--json",
            str(out),
            *extra,
        ]
    )
    return code, json.loads(out.read_text())


@pytest.fixture(scope="module")
def rehearsed(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, tuple[int, dict[str, Any]]]]:
    """Each scenario once, into one records folder (the commit time given for `clean`)."""
    folder = tmp_path_factory.mktemp("rehearsed")
    results = {
        name: rehearse(
            name,
            folder / "records",
            folder / f"{name}.json",
            *(["--commit-time", COMMIT_TIME] if name == "clean" else []),
        )
        for name in SCENARIOS
    }
    return folder / "records", results


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_rehearsed_release_ends_with_its_exit_code_and_a_record(
    rehearsed: tuple[Path, dict[str, tuple[int, dict[str, Any]]]], scenario: str
) -> None:
    records, results = rehearsed
    code, outcome, failed_phase = SCENARIOS[scenario]
    exit_code, record = results[scenario]

    assert exit_code == code
    assert record["outcome"] == outcome
    failed = [p["phase"] for p in record["phases"] if p["result"] == "failed"]
    assert failed == ([failed_phase] if failed_phase else [])
    stored = json.loads((records / "staging" / f"{record['id']}.json").read_text())
    assert stored == record
    assert record["commit"] == HEAD
    if scenario == "clean":
        assert record["commit_time"] == COMMIT_TIME
    else:  # from git: this checkout has the commit
        assert record["commit_time"] == git(PROJECT_ROOT, "show", "-s", "--format=%cI", HEAD)
    if outcome == "rolled-back":
        assert "5xx at 50%" in record["cause"]
        # in policy time: the alarm fires at a poll and is seen at the next one, a poll
        # interval later, not the few milliseconds of the compressed run
        poll = load_stack("staging").traffic.poll_seconds
        assert 0.9 * poll <= record["time_to_restore_seconds"] <= poll + 5


def test_the_rehearsed_rollback_has_a_post_incident_record_the_incident_command_prints(
    rehearsed: tuple[Path, dict[str, tuple[int, dict[str, Any]]]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    records, results = rehearsed
    record = results["alarm-at:50"][1]
    kept = records / "incidents" / "staging" / f"{record['id']}.md"
    assert record["post_incident"] == str(kept)
    assert all(results[s][1]["post_incident"] is None for s in SCENARIOS if s != "alarm-at:50")

    code = main(["incident", record["id"], "--records", str(records)])

    printed = capsys.readouterr().out
    assert code == 0 and printed == kept.read_text()
    for section in (
        "## Timeline",
        "## Weights over time",
        "## The alarm's metric around",
        "## Open questions",
        f"- Commit: {HEAD}",
        "- Time to detect",
        "| 70 |",
    ):
        assert section in printed, section
    # a record kept before post-incident records existed is rendered from the release record
    kept.unlink()
    assert main(["incident", record["id"], "--records", str(records)]) == 0
    assert capsys.readouterr().out.startswith(f"# Post-incident record: release {record['id']}")
    promoted = results["clean"][1]["id"]
    assert main(["incident", promoted, "--records", str(records)]) == 2
    assert "only a rollback" in capsys.readouterr().err
    assert main(["incident", "staging-20260101T000000Z-000000", "--records", str(records)]) == 2
    assert "no release 'staging-20260101T000000Z-000000'" in capsys.readouterr().err
    assert main(["incident", "../../etc/x", "--records", str(records)]) == 2
    assert "RELEASE_ID must be a release's id" in capsys.readouterr().err


def test_report_computes_the_metrics_from_rehearsed_records(
    rehearsed: tuple[Path, dict[str, tuple[int, dict[str, Any]]]], tmp_path: Path
) -> None:
    records = tmp_path / "records"
    shutil.copytree(rehearsed[0], records)
    (records / "staging" / "garbage.json").write_text("{")

    code = main(
        [
            "report",
            "--records",
            str(records),
            "--json",
            str(tmp_path / "metrics.json"),
            "--chart",
            str(tmp_path / "metrics.png"),
        ]
    )

    assert code == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["deployment_frequency_per_week"] == pytest.approx(7 / 30, abs=1e-3)
    assert metrics["change_failure_rate"] == 0.5  # one promoted, one rolled back
    assert metrics["lead_time_hours"] > 0
    assert metrics["time_to_restore_minutes"] is not None
    assert metrics["counts"]["stopped"] == 2
    assert metrics["skipped"] == [str(records / "staging" / "garbage.json")]
    assert (tmp_path / "metrics.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scenario", "alarm-at:30", "--rehearse"], "unknown release scenario 'alarm-at:30'"),
        (["--scenario", "explode", "--rehearse"], "unknown release scenario"),
        (["--commit", "not a sha", "--rehearse"], "--commit must be a git commit SHA"),
        (["--commit-time", "yesterday", "--rehearse"], "--commit-time must be an ISO 8601"),
        (
            ["--commit", "not a sha", "--commit-time", "2026-11-02T09:00:00Z", "--rehearse"],
            "--commit must be a git commit SHA",
        ),
        (["--commit-time", "2999-01-01T00:00:00Z", "--rehearse"], "is in the future"),
        # a committer's local time read as UTC would shift the lead time by hours
        (["--commit-time", "2026-11-02T09:00:00", "--rehearse"], "has no time zone"),
        (["--rehearse", "--image", "Web Server:latest"], "--image must be a container image"),
        (["--rehearse", "--image", "web@sha256:1"], "--image must be a container image"),
        (["--scenario", "load-fails"], "--scenario and --speed only apply with --rehearse"),
        # "clean" is the rehearsal's default scenario, never a real release's
        (["--scenario", "clean"], "--scenario and --speed only apply with --rehearse"),
        (["--speed", "5"], "--scenario and --speed only apply with --rehearse"),
    ],
)
def test_bad_release_input_is_refused_with_the_reason(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["release", "--stack", "staging", "--image", IMAGE, "--records", str(tmp_path), *argv]
    )

    assert code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # no record: nothing started


def test_prod_takes_images_by_digest_only(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["release", "--stack", "prod", "--image", "web:1.4.2", "--rehearse"])
    assert code == 2
    assert "--image must be an image pinned by digest" in capsys.readouterr().err


def test_a_stack_without_a_stack_file_is_named_with_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["release", "--stack", "qa", "--image", IMAGE, "--rehearse"])
    assert code == 2
    assert "no stack file Pulumi.qa.yaml" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["release", "--stack", "staging", "--image", IMAGE],
        ["status", "--stack", "staging"],
        ["release-state", "--stack", "staging"],
        ["preview", "--stack", "staging", "--markdown", "{tmp}/comment.md"],
    ],
    ids=lambda argv: argv[0],
)
def test_every_command_without_the_pulumi_cli_exits_alike_and_says_how_to_get_it(
    argv: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `pulumi` anywhere
    code = main([a.format(tmp=tmp_path) for a in argv])

    assert code == Exit.UNAVAILABLE
    assert "the Pulumi CLI is not installed" in capsys.readouterr().err


def test_report_says_what_it_left_out_instead_of_printing_zeroes(
    rehearsed: tuple[Path, dict[str, tuple[int, dict[str, Any]]]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["report", "--records", str(tmp_path / "empty")]) == 0
    assert "no release records in" in capsys.readouterr().err  # a wrong folder
    records = rehearsed[0]
    assert main(["report", "--records", str(records), "--stack", "stagin"]) == 0
    err = capsys.readouterr().err
    assert "no releases of stack 'stagin'" in err and "'staging'" in err  # a misspelling
    assert main(["report", "--records", str(records), "--stack", "prod"]) == 0
    assert "no releases of stack 'prod'" in capsys.readouterr().err
    assert main(["report", "--records", str(records), "--since", "1h"]) == 0
    assert capsys.readouterr().err == ""  # every rehearsed release ended within the hour


def test_report_from_a_bucket_without_credentials_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    code = main(["report", "--bucket", "switchyard-staging-releases-x"])
    assert code != 0
    err = capsys.readouterr().err
    assert "needs AWS credentials and none were found" in err and "Traceback" not in err


def test_report_refuses_a_bad_window(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--records", str(tmp_path), "--since", "forever"]) == 2
    assert "--since must look like 30d" in capsys.readouterr().err


@pytest.fixture(scope="module")
def two_commits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project as one commit, then a prod change as the next commit."""
    repo = tmp_path_factory.mktemp("project")
    listed = git(PROJECT_ROOT, "ls-files", "--cached", "--others", "--exclude-standard")
    for name in listed.splitlines():
        source = PROJECT_ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    prod = repo / "Pulumi.prod.yaml"
    text = prod.read_text()
    prod.write_text(text.replace("switchyard:azCount: 3", "switchyard:azCount: 2"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    text = text.replace("switchyard:liveColour: blue", "switchyard:liveColour: green")
    prod.write_text(text)  # eu-west-1 has three zones
    git(repo, "commit", "-qam", "prod: a third zone, and release green")
    return repo


def test_the_offline_preview_diffs_two_commits(two_commits: Path) -> None:
    plan = offline_plan("prod", "HEAD~1", work_tree=two_commits)
    text = render(plan)

    created = {(c.type, c.name) for c in plan.changes if c.op.value == "create"}
    assert ("aws:ec2/subnet:Subnet", "network-private-2") in created
    assert ("aws:ec2/natGateway:NatGateway", "network-nat-2") in created
    updated = {c.name: c.properties for c in plan.changes if c.op.value == "update"}
    assert "live_colour" in updated["cutover-weights"]
    assert "traffic-production" not in updated  # its actions are the cutover's (ignoreChanges)
    assert plan.live_change is not None and [str(c) for c in plan.live_change] == ["blue", "green"]
    assert "### Cutover: blue → green" in text and len(text) <= COMMENT_LIMIT
    assert "offline: HEAD~1 → working tree" in text


def test_an_unknown_base_ref_says_how_to_fetch_it(two_commits: Path) -> None:
    with pytest.raises(OfflinePreviewError, match="fetch-depth: 0"):
        offline_plan("prod", "origin/no-such-branch", work_tree=two_commits)


@pytest.mark.parametrize("command", ["release", "status", "preview", "report"])
def test_each_release_command_explains_its_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "\n  3    release: rolled back" in text and "\n  4    release: stopped" in text
    assert "(default: None)" not in text


def test_a_rehearsed_release_shows_the_capacity_trace_of_the_shift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rehearse("smoke-fails", tmp_path / "records", tmp_path / "out.json")
    shown = capsys.readouterr().out
    assert "capacity during the shift" in shown
    service = load_stack("staging").service
    assert (
        f"old colour: at least {service.max_replicas} pods during the shift; a rollback after "
        f"the last bake lands on {service.max_replicas}"
    ) in shown


def test_a_release_whose_commit_time_is_unknown_says_it_gets_no_lead_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The application's commit is not in this checkout: without --commit-time the release
    has no lead time, and says so rather than leaving a gap in the metrics unexplained."""
    argv = ["release", "--stack", "staging", "--image", IMAGE, "--records", str(tmp_path)]
    code = main([*argv, "--rehearse", "--scenario", "smoke-fails", "--commit", "0123abcd"])
    assert code == 4
    err = capsys.readouterr().err
    assert "gets no lead time: commit 0123abcd is not in this checkout" in err
    (stored,) = tmp_path.glob("staging/*.json")
    assert json.loads(stored.read_text())["commit_time"] is None


@pytest.mark.parametrize("streams", ["stdout", "stdout and stderr"])
def test_a_release_whose_reader_goes_away_still_ends_with_a_closed_record(
    streams: str, tmp_path: Path
) -> None:
    """`release ... | head -1`: the pipe closes after the first line, and every later progress
    line would raise BrokenPipeError in the middle of the release."""
    records = tmp_path / "records"
    argv = ["release", "--stack", "staging", "--image", IMAGE, "--rehearse"]
    argv += ["--scenario", "alarm-at:50", "--records", str(records), "--commit-time", COMMIT_TIME]
    both = streams == "stdout and stderr"
    process = subprocess.Popen(
        [sys.executable, "-m", "delivery", *argv, "--commit", HEAD],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if both else subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.readline()
    process.stdout.close()  # the reader is gone
    err = "" if both else process.communicate(timeout=300)[1]
    code = process.wait(timeout=300)

    assert code == Exit.ROLLED_BACK
    assert "Traceback" not in err
    if not both:
        assert "note: stdout's reader has gone (a closed pipe)" in err
    (record,) = [json.loads(p.read_text()) for p in (records / "staging").glob("*.json")]
    assert record["outcome"] == "rolled-back"
    assert all(p["detail"] != "in progress" for p in record["phases"])


def test_a_rehearsed_release_with_a_high_dast_finding_stops_before_promote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`release --dast-report` as the staging workflow's promote job runs it: the baseline's
    and the API scan's reports judged together, before any traffic moves."""
    zap = PROJECT_ROOT / "tests" / "fixtures" / "zap"
    code, record = rehearse(
        "clean",
        tmp_path / "records",
        tmp_path / "out.json",
        "--dast-report",
        str(zap / "report-medium.json"),
        "--dast-report",
        str(zap / "report-high.json"),
    )
    assert code == Exit.STOPPED
    assert record["outcome"] == "stopped" and record["traffic_moved"] is False
    (dast,) = [p for p in record["phases"] if p["phase"] == "dast"]
    assert dast["result"] == "failed"
    assert dast["detail"].startswith(
        "ZAP (report-medium.json + report-high.json): 1 High, 2 Medium finding(s)"
    )
    assert "promote" not in [p["phase"] for p in record["phases"]]


def test_a_dast_report_that_is_not_zaps_is_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "report_json.json"
    broken.write_text("<html>")
    argv = ["release", "--stack", "staging", "--image", IMAGE, "--rehearse"]
    argv += ["--records", str(tmp_path / "records"), "--dast-report", str(broken)]
    assert main(argv) == Exit.BAD_INPUT
    assert "not ZAP's JSON report" in capsys.readouterr().err
    assert not (tmp_path / "records").exists()
