"""The driver's own lock per stack: one S3 object, taken and handed over by conditional writes.

Two releases on one stack at once (CI beside a laptop, two dispatched runs) cannot both act: the
first takes ``s3://<bucket>/locks/<stack>.json`` with ``If-None-Match: *`` (create only if absent)
and every later change of it is ``If-Match: <the ETag it read>``, so of two drivers racing for it
exactly one write lands and the other gets 412 PreconditionFailed (409 ConditionalRequestConflict
while the other's write is in flight) and is refused naming the holder. S3 has supported both
headers on PutObject since 2024 ("Conditional writes", S3 User Guide); moto 5.2.5 implements them
(moto/s3/responses.py ``put_object``: If-Match → 412 or NoSuchKey, If-None-Match ``*`` → 412).

The object is never deleted, only overwritten as released (a versioned bucket keeps its history
and no delete marker is involved). A holder that died without releasing (kill -9, a lost runner)
is taken over when its lease has passed, when it is an earlier attempt of the same CI run (GitHub
runs one attempt of a run at a time), when it is a process on this host that no longer exists,
or by ``--break-lock <its id>`` as the refusal says.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from delivery.cutover.aws import failure_of
from delivery.errors import Exit, PortError, SwitchyardError
from delivery.release.port import ForwardingStack, StackPort
from delivery.release.progress import OnProgress

PREFIX: Final = "locks"
# Longer than any release job may run (deploy-prod.yml's promote: timeout-minutes 150), so a
# live holder never loses it; the driver renews it before every `pulumi up` besides.
LEASE: Final = timedelta(hours=3)
# Another machine's clock may run ahead: a lease counts as passed only this much after its end.
CLOCK_SKEW: Final = timedelta(minutes=5)
_LOST_RACE = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


@dataclass(frozen=True)
class Identity:
    """Who holds the lock, as a person reading the refusal can find it."""

    who: str  # "<repo> run <id> attempt <n>: <url>" in CI, "<user>@<host> pid <pid>" elsewhere
    host: str
    pid: int
    run: str | None = None  # "<repository>/<run id>" in GitHub Actions
    attempt: int = 0

    @classmethod
    def here(cls, environ: Mapping[str, str] = os.environ) -> Identity:
        host, pid = socket.gethostname(), os.getpid()
        repo, run = environ.get("GITHUB_REPOSITORY"), environ.get("GITHUB_RUN_ID")
        if repo and run:
            attempt = int(environ.get("GITHUB_RUN_ATTEMPT") or "1")
            server = environ.get("GITHUB_SERVER_URL", "https://github.com")
            who = f"{repo} run {run} attempt {attempt} ({server}/{repo}/actions/runs/{run})"
            return cls(who, host, pid, f"{repo}/{run}", attempt)
        user = environ.get("USER") or environ.get("USERNAME") or "someone"
        return cls(f"{user}@{host} pid {pid}", host, pid)

    def outlives(self, other: Identity, alive: Callable[[int], bool]) -> bool:
        """True when ``other`` is certainly dead because of who we are."""
        if self.run is not None and self.run == other.run:
            return other.attempt < self.attempt
        return other.run is None and other.host == self.host and not alive(other.pid)


@dataclass(frozen=True)
class Holder:
    id: str  # one per acquisition; what --break-lock names
    stack: str
    identity: Identity
    acquired_at: datetime
    expires_at: datetime
    released_at: datetime | None = None

    def __str__(self) -> str:
        return (
            f"{self.identity.who} (lock {self.id}, since {self.acquired_at:%Y-%m-%d %H:%M:%S}Z, "
            f"lease until {self.expires_at:%Y-%m-%d %H:%M:%S}Z)"
        )

    def as_json(self) -> dict[str, Any]:
        i = self.identity
        return {
            "id": self.id,
            "stack": self.stack,
            "who": i.who,
            "host": i.host,
            "pid": i.pid,
            "run": i.run,
            "attempt": i.attempt,
            "acquired_at": self.acquired_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "released_at": None if self.released_at is None else self.released_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Any) -> Holder:
        released = data.get("released_at")
        return cls(
            str(data["id"]),
            str(data["stack"]),
            Identity(
                str(data["who"]),
                str(data["host"]),
                int(data["pid"]),
                data.get("run"),
                int(data.get("attempt", 0)),
            ),
            datetime.fromisoformat(data["acquired_at"]),
            datetime.fromisoformat(data["expires_at"]),
            None if released is None else datetime.fromisoformat(released),
        )


class LockHeld(SwitchyardError):
    """Another release holds the stack's lock; nothing was changed."""

    exit_code = Exit.STOPPED

    def __init__(self, stack: str, holder: Holder, where: str) -> None:
        super().__init__(
            f"another release of stack {stack} is running: {holder} holds {where}; nothing was "
            "changed. Wait for it to end; if it is dead (its job was killed, its laptop closed), "
            f"release again with --break-lock {holder.id}, or after its lease ends"
        )
        self.holder = holder


class LockLost(SwitchyardError):
    """This run's lock was taken over (it was broken or its lease passed): stop acting."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


class StackLock:
    def __init__(
        self,
        s3: Any,
        bucket: str,
        stack: str,
        identity: Identity,
        now: Callable[[], datetime],
        lease: timedelta = LEASE,
        alive: Callable[[int], bool] = _alive,
    ) -> None:
        self._s3 = s3
        self.bucket = bucket
        self.key = f"{PREFIX}/{stack}.json"
        self._stack = stack
        self._identity = identity
        self._now = now
        self._lease = lease
        self._alive = alive
        self._etag: str | None = None
        self.holder: Holder | None = None

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def _read(self) -> tuple[Holder | None, str | None]:
        try:
            found = self._s3.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None, None
            raise self._failed("read", exc) from exc
        except BotoCoreError as exc:
            raise self._failed("read", exc) from exc
        etag = str(found["ETag"])
        try:
            return Holder.from_json(json.loads(found["Body"].read())), etag
        except (ValueError, KeyError, TypeError):
            return None, etag  # not a lock we wrote: overwritten only with its ETag

    def _failed(self, what: str, exc: ClientError | BotoCoreError) -> PortError:
        return PortError(
            f"cannot {what} the release lock {self.where}: {exc}; the deploy role needs "
            f"s3:GetObject and s3:PutObject on {self.bucket}/{PREFIX}/*",
            failure_of(exc),
        )

    def _write(self, holder: Holder, condition: dict[str, str]) -> bool:
        """Write ``holder``; False when the condition failed (someone else wrote first)."""
        try:
            reply = self._s3.put_object(
                Bucket=self.bucket,
                Key=self.key,
                Body=json.dumps(holder.as_json(), indent=2).encode(),
                ContentType="application/json",
                **condition,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _LOST_RACE | {"NoSuchKey"}:
                return False
            raise self._failed("write", exc) from exc
        except BotoCoreError as exc:
            raise self._failed("write", exc) from exc
        self._etag = str(reply["ETag"])
        return True

    def _free(self, current: Holder, break_lock: str | None) -> bool:
        now = self._now()
        return (
            current.released_at is not None
            or now > current.expires_at + CLOCK_SKEW
            or current.id == break_lock
            or self._identity.outlives(current.identity, self._alive)
        )

    def acquire(self, break_lock: str | None = None) -> Holder:
        now = self._now()
        mine = Holder(
            f"{self._stack}-{secrets.token_hex(4)}",
            self._stack,
            self._identity,
            now,
            now + self._lease,
        )
        current, etag = self._read()
        if etag is None:
            won = self._write(mine, {"IfNoneMatch": "*"})
        elif current is None or self._free(current, break_lock):
            won = self._write(mine, {"IfMatch": etag})
        else:
            raise LockHeld(self._stack, current, self.where)
        if not won:
            winner, _ = self._read()
            if winner is None:
                raise PortError(f"the release lock {self.where} changed while it was taken; retry")
            raise LockHeld(self._stack, winner, self.where)
        self.holder = mine
        return mine

    def renew(self) -> None:
        """Extend the lease; LockLost when someone took the lock over meanwhile."""
        holder = self._held()
        renewed = replace(holder, expires_at=self._now() + self._lease)
        if not self._write(renewed, {"IfMatch": str(self._etag)}):
            current, _ = self._read()
            self.holder = None
            raise LockLost(
                f"the release lock {self.where} was taken over by "
                f"{current if current else 'someone else'}: this run stopped before acting"
            )
        self.holder = renewed

    def release(self) -> str | None:
        """Mark the lock released; a warning when it was no longer ours (None when it was)."""
        holder = self._held()
        self.holder = None
        if self._write(replace(holder, released_at=self._now()), {"IfMatch": str(self._etag)}):
            return None
        current, _ = self._read()
        return f"the release lock {self.where} was no longer this run's: {current} holds it"

    def _held(self) -> Holder:
        if self.holder is None or self._etag is None:
            raise LockLost(f"this run does not hold the release lock {self.where}")
        return self.holder


@contextmanager
def holding(
    lock: StackLock, say: Callable[[str], None], break_lock: str | None = None
) -> Iterator[Holder]:
    """Hold ``lock`` for the block; released on every way out, a Ctrl-C included."""
    holder = lock.acquire(break_lock)
    say(f"release lock {lock.where} taken: {holder.id}")
    try:
        yield holder
    finally:
        try:
            warning = lock.release()
        except (PortError, LockLost) as exc:
            warning = f"the release lock was not released ({exc}); its lease ends it"
        if warning:
            say(f"warning: {warning}")


class LockedStack(ForwardingStack):
    """A stack port that renews the lock before every ``pulumi up``: an up runs only while this
    run holds the stack (a broken or lapsed lock stops the run before it acts)."""

    def __init__(self, inner: StackPort, lock: StackLock) -> None:
        super().__init__(inner)
        self._lock = lock

    def up(self, on_progress: OnProgress) -> None:
        self._lock.renew()
        self._inner.up(on_progress)
