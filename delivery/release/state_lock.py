"""The lock an interrupted ``pulumi up`` left in the DIY state backend: found, and cleared when
it is certainly our own child's.

The DIY backend (``pulumi login s3://...`` or ``file://...``) locks an update by writing
``<backend>/.pulumi/locks/organization/<project>/<stack>/<lock id>.json`` holding
``{"pid", "username", "hostname", "timestamp"}`` of the CLI, deletes it when the update ends
(pkg/backend/diy/lock.go ``lockContent``, ``lockPath``; backend.go ``defer b.Unlock``), and
refuses the next update while any other lock file is in that folder (``checkForLock``). A CLI
killed with SIGKILL leaves its file, so the next release is refused until someone deletes it;
``pulumi cancel`` deletes every file in the folder, a live update's included
(``CancelCurrentUpdate``). The driver deletes exactly the file whose pid and host are those of
the CLI it ran and stopped, and names any other. Pulumi Cloud keeps no such file: its update
lease is ended by ``pulumi cancel``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from botocore.exceptions import BotoCoreError, ClientError

from delivery.config.model import PROJECT
from delivery.cutover.aws import failure_of
from delivery.errors import PortError
from delivery.plans.moments import aware_moment
from delivery.plans.state_backend import lock_prefix


@dataclass(frozen=True)
class LockFile:
    where: str  # the object's URL, as `pulumi up`'s refusal shows it
    pid: int | None
    hostname: str | None
    username: str | None
    taken_at: datetime | None = None  # lockContent.Timestamp (Go time.Time, RFC 3339)

    def made_by(self, pid: int, hostname: str) -> bool:
        return self.pid == pid and self.hostname == hostname

    def __str__(self) -> str:
        return f"{self.where} (created by {self.username}@{self.hostname}, pid {self.pid})"


class StateLocks:
    """The lock files of one stack in a DIY backend; ``s3://`` and ``file://`` URLs."""

    def __init__(
        self,
        backend_url: str,
        stack: str,
        s3_client: Callable[[str | None], Any],
        project: str = PROJECT,
    ) -> None:
        parsed = urlparse(backend_url)
        self._scheme = parsed.scheme
        self._bucket = parsed.netloc
        base = parsed.path.strip("/")
        prefix = lock_prefix(stack, project)
        self._prefix = f"{base}/{prefix}" if base else prefix
        regions = parse_qs(parsed.query).get("region")
        self._region = regions[0] if regions else None
        self._s3_client = s3_client
        self._dir = Path(parsed.path).expanduser() / prefix
        if self._scheme == "file" and parsed.netloc == "~":  # file://~/state
            self._dir = Path.home() / parsed.path.lstrip("/") / prefix

    @property
    def supported(self) -> bool:
        return self._scheme in ("s3", "file")

    def list(self) -> list[LockFile]:
        if self._scheme == "file":
            return [self._parse(str(p), p.read_bytes()) for p in sorted(self._dir.glob("*.json"))]
        s3 = self._s3_client(self._region)
        try:
            listed = s3.list_objects_v2(Bucket=self._bucket, Prefix=self._prefix)
            found = []
            for item in listed.get("Contents", []):
                body = s3.get_object(Bucket=self._bucket, Key=item["Key"])["Body"].read()
                found.append(self._parse(f"s3://{self._bucket}/{item['Key']}", body))
            return found
        except (ClientError, BotoCoreError) as exc:
            raise self._failed("list", exc) from exc

    def delete(self, lock: LockFile) -> None:
        if self._scheme == "file":
            Path(lock.where).unlink(missing_ok=True)
            return
        key = lock.where.removeprefix(f"s3://{self._bucket}/")
        try:
            self._s3_client(self._region).delete_object(Bucket=self._bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise self._failed("delete", exc) from exc

    def _failed(self, what: str, exc: ClientError | BotoCoreError) -> PortError:
        return PortError(
            f"cannot {what} the state lock under s3://{self._bucket}/{self._prefix}: {exc}",
            failure_of(exc),
        )

    @staticmethod
    def _parse(where: str, body: bytes) -> LockFile:
        try:
            data = json.loads(body)
            pid = data.get("pid")
            return LockFile(
                where,
                pid if isinstance(pid, int) else None,
                str(data.get("hostname")) if data.get("hostname") else None,
                str(data.get("username")) if data.get("username") else None,
                aware_moment(data.get("timestamp")),
            )
        except (ValueError, AttributeError):
            return LockFile(where, None, None, None)


def clear_stale_locks(
    locks: StateLocks, now: datetime, older_than: timedelta
) -> tuple[list[LockFile], list[LockFile]]:
    """Delete the locks taken longer ago than any update that takes them runs; (deleted,
    kept). A lock without a readable time is kept: nothing says its update is over."""
    found = locks.list()
    stale = [lock for lock in found if lock.taken_at and now - lock.taken_at > older_than]
    for lock in stale:
        locks.delete(lock)
    return stale, [lock for lock in found if lock not in stale]


def clear_child_lock(locks: StateLocks, stack: str, pid: int, hostname: str | None = None) -> str:
    """Delete the lock the stopped CLI ``pid`` on this host left; say what is left."""
    if not locks.supported:
        return (
            f"the state backend keeps no lock file the driver can read; if the next `pulumi up` "
            f"says stack {stack} is locked by the interrupted update, run `pulumi cancel "
            f"--stack {stack}` once you are sure no update runs"
        )
    hostname = hostname or socket.gethostname()
    try:
        found = locks.list()
        mine = [lock for lock in found if lock.made_by(pid, hostname)]
        for lock in mine:
            locks.delete(lock)
    except PortError as exc:
        return (
            f"{exc}: if the next `pulumi up` says the stack is locked, delete the lock file it "
            f"names (created by pid {pid} on {hostname}, the stopped CLI)"
        )
    others = [lock for lock in found if lock not in mine]
    said = (
        f"deleted the state lock the stopped `pulumi up` left: {', '.join(str(m) for m in mine)}"
        if mine
        else "the stopped `pulumi up` left no state lock"
    )
    if others:
        said += (
            f"; other state lock(s) remain, not ours: {'; '.join(str(o) for o in others)}. "
            "Delete one only when its process is gone"
        )
    return said
