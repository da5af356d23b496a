"""A PR stack left locked by a killed CLI (pulumi/pulumi pkg/backend/diy/lock.go: the lock is
``.pulumi/locks/organization/<project>/<stack>/<id>.json`` holding ``lockContent``: pid,
username, hostname and a Go time.Time timestamp), in a file:// DIY backend: a lock older than
any job that takes it is deleted and the update runs again; a young one is left and named."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from delivery.release.automation import StackUnavailable
from delivery.release.pr_stacks import PR_PROJECT_NAME, STALE_LOCK_AFTER, after_stale_locks
from delivery.release.state_lock import StateLocks

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class Locked(Exception):
    """Stands for the Automation API's ConcurrentUpdateError."""


def lock(root: Path, name: str, timestamp: str) -> Path:
    folder = root / ".pulumi" / "locks" / "organization" / PR_PROJECT_NAME / "dev-pr-7"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    content = {"pid": 4242, "username": "runner", "hostname": "gone", "timestamp": timestamp}
    path.write_text(json.dumps(content))
    return path


class Update:
    def __init__(self, root: Path) -> None:
        self.root, self.calls = root, 0

    def __call__(self) -> str:
        self.calls += 1
        if any((self.root / ".pulumi" / "locks").rglob("*.json")):
            raise Locked("the stack is currently locked by 1 lock(s)")
        return "updated"


def locks_of(root: Path) -> StateLocks:
    return StateLocks(f"file://{root}", "dev-pr-7", lambda _: None, project=PR_PROJECT_NAME)


def test_a_lock_older_than_any_job_is_deleted_and_the_update_runs_again(tmp_path: Path) -> None:
    # Go writes nanoseconds and a zone (RFC 3339)
    old = (NOW - STALE_LOCK_AFTER - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")
    path = lock(tmp_path, "a1", old)
    update, said = Update(tmp_path), list[str]()
    result = after_stale_locks(update, locks_of(tmp_path), Locked, said.append, lambda: NOW)
    assert result == "updated" and update.calls == 2
    assert not path.exists() and "deleted 1 stale state lock" in said[0]


@pytest.mark.parametrize(
    "timestamp",
    [(NOW - timedelta(minutes=30)).isoformat(), "not a time", "2026-12-07T09:00:00"],
    ids=["young", "unreadable", "naive"],
)
def test_a_lock_that_may_be_held_is_kept_and_named(tmp_path: Path, timestamp: str) -> None:
    path = lock(tmp_path, "b2", timestamp)
    update = Update(tmp_path)
    with pytest.raises(StackUnavailable, match=r"another update holds the stack .*b2\.json"):
        after_stale_locks(update, locks_of(tmp_path), Locked, print, lambda: NOW)
    assert path.exists() and update.calls == 1


def test_a_backend_without_lock_files_is_told_to_pulumi_cancel() -> None:
    locks = StateLocks("https://api.pulumi.com", "dev-pr-7", lambda _: None)

    def update() -> str:
        raise Locked("locked")

    with pytest.raises(StackUnavailable, match="pulumi cancel"):
        after_stale_locks(update, locks, Locked, print, lambda: NOW)


def test_an_unlocked_update_runs_once(tmp_path: Path) -> None:
    update = Update(tmp_path)
    assert after_stale_locks(update, locks_of(tmp_path), Locked, print, lambda: NOW) == "updated"
    assert update.calls == 1
