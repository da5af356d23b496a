"""A stand-in for the Pulumi CLI, as the Automation API drives it, with the CLI's signal
handling: pkg/backend/cancellation_scope.go (pulumi 3.260.0, the newest snapshot here) takes
SIGINT and SIGTERM on a channel buffered for one; the first cancels (prints "^C received;
cancelling ..." and lets the operations in flight finish: here an update that never ends on
its own, as a cutover's bake outlasts any cancel), the second terminates (the engine returns,
plugins closed) and the DIY backend's deferred Unlock deletes the update's lock file
(pkg/backend/diy/backend.go ``defer b.Unlock``). Written in Python, run as ``bin/pulumi``.

Its environment: STANDIN_LOG (one line per argv and per signal), STANDIN_LOCKS (the stack's
lock folder), STANDIN_DEAF=1 (it ignores both signals: a CLI stuck in a call).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
import uuid
from pathlib import Path
from types import FrameType

VERSION = "3.272.0"
CANCELLING = "^C received; cancelling. If you would like to terminate immediately, press ^C again."


def log(line: str) -> None:
    with open(os.environ["STANDIN_LOG"], "a") as out:
        out.write(line + "\n")


def up() -> int:
    locks = Path(os.environ["STANDIN_LOCKS"])
    locks.mkdir(parents=True, exist_ok=True)
    lock = locks / f"{uuid.uuid4()}.json"
    content = {"pid": os.getpid(), "username": "runner", "hostname": socket.gethostname()}
    lock.write_text(json.dumps({**content, "timestamp": "2026-12-06T03:00:00Z"}))
    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) == 1:
            log(f"signal {signal.Signals(signum).name}: cancelling")
            print(CANCELLING, flush=True)
        else:
            log(f"signal {signal.Signals(signum).name}: terminating")

    if os.environ.get("STANDIN_DEAF") == "1":
        for each in (signal.SIGINT, signal.SIGTERM):
            signal.signal(each, signal.SIG_IGN)
    else:
        for each in (signal.SIGINT, signal.SIGTERM):
            signal.signal(each, on_signal)
    log(f"up: locked, pid {os.getpid()}")
    print("Updating (prod)", flush=True)
    while len(received) < 2:
        time.sleep(0.01)
    lock.unlink()
    log("up: unlocked, exiting")
    print("error: update terminated", file=sys.stderr, flush=True)
    return 255


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--non-interactive"]
    log("argv " + " ".join(args))
    if args[:1] == ["version"]:
        print(f"v{VERSION}")
        return 0
    if args[:1] == ["up"]:
        return up()
    if args[:2] == ["stack", "output"]:
        print("{}")
        return 0
    if args[:1] == ["whoami"]:
        print(
            json.dumps(
                {
                    "user": "runner",
                    "url": os.environ.get("STANDIN_BACKEND", ""),
                    "organizations": [],
                }
            )
        )
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
