"""The interrupted `pulumi up`: the driver gets out at once, then stops the CLI the way the CLI
itself understands (tests/standin_pulumi.py copies its signal handling) and clears exactly the
state lock it left.

Real processes and real signals: the Automation API runs the stand-in as ``bin/pulumi``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from delivery.interrupts import first_signal_aborts
from delivery.plans.state_backend import lock_prefix
from delivery.rehearsal.emulator import Emulator
from delivery.release.automation import AutomationStack, open_stack
from delivery.release.pulumi_cli import CancellableCommand
from delivery.release.state_lock import StateLocks, clear_child_lock
from tests.integration.conftest import emulator_s3

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("foreground_signals")]
STANDIN = Path(__file__).resolve().parents[1] / "standin_pulumi.py"
GIVE_UP = 20.0  # the test's own bound: a driver that waits for its child never gets out


class Cli:
    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, deaf: bool) -> None:
        binary = root / "bin" / "pulumi"
        binary.parent.mkdir(parents=True)
        binary.write_text(f"#!{sys.executable}\n" + STANDIN.read_text())
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
        self.log = root / "standin.log"
        self.backend = root / "state"
        self.locks = self.backend / lock_prefix("prod")
        monkeypatch.setenv("STANDIN_LOG", str(self.log))
        monkeypatch.setenv("STANDIN_LOCKS", str(self.locks))
        monkeypatch.setenv("STANDIN_BACKEND", f"file://{self.backend}")
        monkeypatch.setenv("STANDIN_DEAF", "1" if deaf else "0")
        project = root / "project"
        project.mkdir()
        (project / "Pulumi.yaml").write_text("name: switchyard\nruntime: python\n")
        self.command = CancellableCommand(root=str(root))
        self.said: list[str] = []
        self.stack = AutomationStack(
            open_stack("prod", project, self.command), self.said.append, self.command
        )
        self.stack.find_backend()

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def alive(self, pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(tmp_path, monkeypatch, deaf=False)


@pytest.fixture
def deaf_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(tmp_path, monkeypatch, deaf=True)


def interrupt_once_locked(cli: Cli) -> Iterator[None]:
    """SIGINT to this process (the runner's, to the step's process) once the CLI holds its
    lock; if the driver is still inside `up` long after, the CLI is killed so that the test
    fails instead of hanging (the SDK's own PulumiCommand.run holds the interrupt until its
    child ends)."""

    def runner() -> None:
        while not (locked := [line for line in cli.lines() if line.startswith("up: locked")]):
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)
        if not left.wait(GIVE_UP):
            os.kill(int(locked[0].rsplit(" ", 1)[1]), signal.SIGKILL)

    left = threading.Event()
    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    yield
    left.set()
    thread.join()


def interrupted_up(cli: Cli) -> int:
    """``up`` under the driver's signal guard until the SIGINT; the CLI's pid, alive then."""
    with first_signal_aborts():
        runner = interrupt_once_locked(cli)
        next(runner)
        try:
            with pytest.raises(KeyboardInterrupt):
                cli.stack.up(lambda _: None)
            (locked,) = [line for line in cli.lines() if line.startswith("up: locked")]
            pid = int(locked.rsplit(" ", 1)[1])
            assert cli.alive(pid), "the interrupt got out of up only once the CLI had ended"
        finally:
            next(runner, None)
    return pid


def test_an_interrupt_gets_out_of_up_while_the_cli_still_runs(cli: Cli) -> None:
    interrupted_up(cli)
    try:
        assert "up: unlocked, exiting" not in cli.lines()
        assert cli.command.pid is not None
    finally:
        cli.stack.cancel()


def test_cancel_makes_the_cli_terminate_and_release_its_own_lock(cli: Cli) -> None:
    pid = interrupted_up(cli)
    cli.stack.cancel()

    assert [line for line in cli.lines() if line.startswith("signal")] == [
        "signal SIGINT: cancelling",
        "signal SIGINT: terminating",
    ]
    assert not cli.alive(pid)
    assert list(cli.locks.glob("*.json")) == []
    assert cli.said == [f"the interrupted `pulumi up` (pid {pid}) terminated"]
    assert cli.stack.left_lock() == "the stopped `pulumi up` left no state lock"


def test_a_cli_deaf_to_signals_is_killed_and_exactly_its_lock_is_deleted(deaf_cli: Cli) -> None:
    theirs = deaf_cli.locks / "0b5e-someone-else.json"
    pid = interrupted_up(deaf_cli)
    theirs.write_text(
        json.dumps({"pid": 4242, "username": "ana", "hostname": "laptop", "timestamp": "x"})
    )
    deaf_cli.stack.cancel()

    assert not deaf_cli.alive(pid)
    assert deaf_cli.said == [f"the interrupted `pulumi up` (pid {pid}) killed"]
    mine = [p for p in deaf_cli.locks.glob("*.json") if p != theirs]
    assert len(mine) == 1 and json.loads(mine[0].read_text())["pid"] == pid

    said = deaf_cli.stack.left_lock()

    assert said is not None
    assert said.startswith(f"deleted the state lock the stopped `pulumi up` left: {mine[0]}")
    assert f"created by runner@{socket.gethostname()}, pid {pid}" in said
    assert (
        f"other state lock(s) remain, not ours: {theirs} (created by ana@laptop, pid 4242)" in said
    )
    assert list(deaf_cli.locks.glob("*.json")) == [theirs]


def test_nothing_to_cancel_when_no_up_runs(cli: Cli) -> None:
    cli.stack.cancel()
    assert cli.said == []
    assert cli.stack.left_lock() is None


STATE_BUCKET = "switchyard-state-test"


def test_an_s3_backend_loses_exactly_the_stopped_clis_lock(emulator: Emulator) -> None:
    """The DIY backend's real key under a bucket prefix (``pulumi login s3://bucket/prefix``:
    the path is a folder in the bucket, pkg/backend/diy/backend.go ``PrefixedBucket``)."""
    s3 = emulator_s3(emulator)
    s3.create_bucket(
        Bucket=STATE_BUCKET, CreateBucketConfiguration={"LocationConstraint": emulator.region}
    )
    folder = f"team/{lock_prefix('prod')}"
    host = socket.gethostname()
    bodies = {
        f"{folder}aaaa.json": {"pid": 4321, "username": "runner", "hostname": host},
        f"{folder}bbbb.json": {"pid": 4242, "username": "ana", "hostname": "laptop"},
        f"team/{lock_prefix('staging')}cccc.json": {"pid": 4321, "hostname": host},
    }
    for key, body in bodies.items():
        s3.put_object(Bucket=STATE_BUCKET, Key=key, Body=json.dumps(body).encode())
    locks = StateLocks(f"s3://{STATE_BUCKET}/team?region={emulator.region}", "prod", lambda _: s3)

    said = clear_child_lock(locks, "prod", 4321, host)

    left = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=STATE_BUCKET)["Contents"])
    assert left == sorted(k for k in bodies if not k.endswith("aaaa.json"))
    assert said.startswith(
        f"deleted the state lock the stopped `pulumi up` left: s3://{STATE_BUCKET}/{folder}aaaa.json"
    )
    assert f"s3://{STATE_BUCKET}/{folder}bbbb.json (created by ana@laptop, pid 4242)" in said


def test_an_unlistable_backend_names_the_lock_to_delete_instead(emulator: Emulator) -> None:
    s3 = emulator_s3(emulator)
    locks = StateLocks("s3://no-such-state-bucket", "prod", lambda _: s3)

    said = clear_child_lock(locks, "prod", 4321, "runner-host")

    assert "cannot list the state lock under s3://no-such-state-bucket/.pulumi/locks/" in said
    assert "NoSuchBucket" in said
    assert "delete the lock file it names (created by pid 4321 on runner-host" in said


def test_pulumi_cloud_keeps_no_lock_file_and_is_told_to_pulumi_cancel() -> None:
    locks = StateLocks("https://api.pulumi.com", "prod", lambda _: None)

    said = clear_child_lock(locks, "prod", 4321)

    assert "run `pulumi cancel --stack prod` once you are sure no update runs" in said
