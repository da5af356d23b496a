"""The per-stack release lock against moto's S3 over HTTP: conditional writes decide who holds it,
a second release is refused naming the holder and changes nothing, a dead holder is taken over."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from delivery.config.model import Colour, Settings
from delivery.config.stackfile import load_stack
from delivery.plans.schedule import Weights
from delivery.rehearsal.emulator import Emulator
from delivery.rehearsal.servers import ColourServer, colour_servers
from delivery.release.command import release_holding
from delivery.release.lock import Identity, LockedStack, LockHeld, LockLost, StackLock
from delivery.release.orchestrate import Ports, Request
from delivery.release.record import LocalRecords, Outcome
from tests.integration.conftest import emulator_s3
from tests.release_world import world_stack

BUCKET = "it-release-lock"
IMAGE = "registry.example.com/web@sha256:" + "c" * 64
CI = Identity(
    "o/r run 7 attempt 1 (https://github.com/o/r/actions/runs/7)", "runner-1", 11, "o/r/7", 1
)
LAPTOP = Identity("ana@laptop pid 42", "laptop", 42)


class Now:
    def __init__(self) -> None:
        self.t = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t


@pytest.fixture
def s3(emulator: Emulator, operator: Any) -> Any:
    client = emulator_s3(emulator)
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": emulator.region}
    )
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return client


def lock(s3: Any, who: Identity, now: Now, alive: bool = True) -> StackLock:
    return StackLock(s3, BUCKET, "staging", who, now, alive=lambda pid: alive)


def test_a_second_holder_is_refused_naming_the_first(s3: Any) -> None:
    now = Now()
    first = lock(s3, CI, now).acquire()

    with pytest.raises(LockHeld) as refused:
        lock(s3, LAPTOP, now).acquire()

    message = str(refused.value)
    assert "o/r run 7 attempt 1" in message and "actions/runs/7" in message
    assert first.id in message and f"--break-lock {first.id}" in message
    assert f"s3://{BUCKET}/locks/staging.json" in message
    assert refused.value.holder.id == first.id


def test_a_released_lock_is_taken_by_the_next_run(s3: Any) -> None:
    now = Now()
    held = lock(s3, CI, now)
    held.acquire()
    assert held.release() is None

    second = lock(s3, LAPTOP, now).acquire()
    assert second.identity == LAPTOP


def test_two_takers_of_a_lapsed_lease_cannot_both_win(s3: Any) -> None:
    """Both read the lapsed holder; the first conditional write lands, the second gets 412."""
    now = Now()
    lock(s3, CI, now).acquire()
    now.t += timedelta(hours=4)
    a, b = lock(s3, LAPTOP, now), lock(s3, dataclasses.replace(LAPTOP, pid=43), now)
    stale, etag = a._read()
    assert stale is not None and etag is not None
    assert a._write(dataclasses.replace(stale, id="a"), {"IfMatch": etag})
    assert not b._write(dataclasses.replace(stale, id="b"), {"IfMatch": etag})
    assert not b._write(dataclasses.replace(stale, id="b"), {"IfNoneMatch": "*"})


def test_a_lease_within_its_time_and_skew_still_holds(s3: Any) -> None:
    now = Now()
    lock(s3, CI, now).acquire()
    now.t += timedelta(hours=3, minutes=4)  # past the lease, within the 5 minutes of skew
    with pytest.raises(LockHeld):
        lock(s3, LAPTOP, now).acquire()
    now.t += timedelta(minutes=2)
    assert lock(s3, LAPTOP, now).acquire().identity == LAPTOP


def test_a_dead_holder_is_taken_over_by_its_rerun_or_by_name(s3: Any) -> None:
    now = Now()
    dead = lock(s3, CI, now).acquire()  # killed: never released
    # "Re-run jobs": the same run, the next attempt; GitHub runs one attempt at a time.
    rerun = dataclasses.replace(CI, attempt=2)
    assert lock(s3, rerun, now).acquire().identity == rerun

    # A laptop's own earlier run, killed -9 on the same host: its pid is gone.
    s3.put_object(Bucket=BUCKET, Key="locks/staging.json", Body=b"{}")  # not a lock: overwritable
    lock(s3, LAPTOP, now).acquire()
    again = dataclasses.replace(LAPTOP, pid=44)
    with pytest.raises(LockHeld):
        lock(s3, again, now, alive=True).acquire()
    assert lock(s3, again, now, alive=False).acquire().identity == again

    other = lock(s3, CI, now)
    with pytest.raises(LockHeld) as refused:
        other.acquire()
    assert other.acquire(break_lock=refused.value.holder.id).identity == CI
    assert dead.id != refused.value.holder.id


def test_a_broken_lock_stops_its_old_holder_before_its_next_up(s3: Any) -> None:
    now = Now()
    old = lock(s3, CI, now)
    held = old.acquire()
    lock(s3, LAPTOP, now).acquire(break_lock=held.id)

    with pytest.raises(LockLost, match="taken over by ana@laptop"):
        old.renew()
    assert old.holder is None


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[Colour, ColourServer]]:
    with colour_servers("blue", "green") as running:
        yield {Colour(name): server for name, server in running.items()}


def small(settings: Settings) -> Settings:
    load = dataclasses.replace(settings.checks.load, requests=20, concurrency=2, p95_ms=2000)
    return dataclasses.replace(settings, checks=dataclasses.replace(settings.checks, load=load))


def test_a_release_while_another_holds_the_stack_is_refused_and_changes_nothing(
    s3: Any, servers: dict[Colour, ColourServer], tmp_path: Path
) -> None:
    settings = small(load_stack("staging"))
    stack = world_stack(settings, servers)
    before = dict(stack.values)
    now = Now()
    lock(s3, LAPTOP, now).acquire()  # a laptop's release is running
    mine = lock(s3, CI, now)
    records = LocalRecords(tmp_path)
    lines: list[str] = []
    ports = Ports(
        stack=LockedStack(stack, mine),
        listener=stack.world,
        health=stack.world,
        records=records,
        notifier=stack.world,  # type: ignore[arg-type]  # never reached
        clock=stack.world,
        say=lines.append,
    )

    with pytest.raises(LockHeld, match="ana@laptop pid 42"):
        release_holding(mine, settings, ports, Request(IMAGE))

    assert stack.values == before and stack.ups == 0 and stack.world.sets == []
    assert records.load().records == []


def test_a_release_holds_the_lock_throughout_and_releases_it_at_the_end(
    s3: Any, servers: dict[Colour, ColourServer], tmp_path: Path
) -> None:
    settings = small(load_stack("staging"))
    stack = world_stack(settings, servers)
    now = Now()
    mine = lock(s3, CI, now)
    seen: list[str] = []
    original = stack.up

    def up_while_another_tries(on_progress: Any) -> None:
        with pytest.raises(LockHeld):
            lock(s3, LAPTOP, now).acquire()
        seen.append("refused")
        original(on_progress)

    stack.up = up_while_another_tries  # type: ignore[method-assign]
    sent: list[Any] = []
    ports = Ports(
        stack=LockedStack(stack, mine),
        listener=stack.world,
        health=stack.world,
        records=LocalRecords(tmp_path),
        notifier=type("N", (), {"publish": lambda self, *a: sent.append(a)})(),
        clock=stack.world,
        say=lambda line: None,
    )

    record = release_holding(mine, settings, ports, Request(IMAGE))

    assert record.outcome is Outcome.PROMOTED and stack.world.weights == Weights.all_on(
        Colour.GREEN
    )
    assert seen == ["refused"] * stack.ups
    assert lock(s3, LAPTOP, now).acquire().identity == LAPTOP  # released on exit
