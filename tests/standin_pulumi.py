"""A stand-in for the Pulumi CLI, as the Automation API drives it, with the CLI's signal
handling: pkg/backend/cancellation_scope.go (pulumi 3.260.0, the newest snapshot here) takes
SIGINT and SIGTERM on a channel buffered for one; the first cancels (prints "^C received;
cancelling ..." and lets the operations in flight finish: here an update that never ends on
its own, as a cutover's bake outlasts any cancel), the second terminates (the engine returns,
plugins closed) and the DIY backend's deferred Unlock deletes the update's lock file
(pkg/backend/diy/backend.go ``defer b.Unlock``). Written in Python, run as ``bin/pulumi``.

Its environment: STANDIN_LOG (one line per argv and per signal), STANDIN_LOCKS (the stack's
lock folder), STANDIN_DEAF=1 (it ignores both signals: a CLI stuck in a call), STANDIN_POLICY
(a JSON ``policyEvent``: with it, ``up`` and ``preview`` report that one violation of the
``--policy-pack`` they were given and end at once, failing on a mandatory one), STANDIN_FAIL
(a command, e.g. ``config set-all``: it fails as the CLI does, ``error: <STANDIN_FAIL_MESSAGE>``
on stderr and exit code 1: sdk/go/common/util/cmdutil/exit.go ``ExitError`` at 1b594989).

Events go where the Automation API listens for them (``--event-log``: a gRPC address for this
version), one JSON engine event each (the SDK's pulumi/automation/events.py reads
``policyEvent`` with ``message``, ``policyName``, ``policyPackName``, ``enforcementLevel``,
``resourceUrn``; ``summaryEvent`` ends a run, and a preview without one is an error to the SDK).
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


HISTORY = {  # one `pulumi stack history --json` entry, the fields the SDK reads
    "kind": "update",
    "startTime": "2026-12-06T03:00:00.000Z",
    "endTime": "2026-12-06T03:00:01.000Z",
    "message": "",
    "environment": {},
    "config": {},
    "result": "succeeded",
    "version": 1,
    "resourceChanges": {},
}


def send_events(address: str, events: list[dict[str, object]]) -> None:
    """To a CLI newer than 3.205 the SDK gives ``--event-log tcp://127.0.0.1:<port>``: the
    engine streams each event, JSON in an EventRequest, to its Events service
    (pulumi/automation/_stack.py ``_setup_event_log``, ``_EventsServicer``)."""
    import grpc
    from pulumi.runtime.proto import events_pb2, events_pb2_grpc

    with grpc.insecure_channel(address.removeprefix("tcp://")) as channel:
        stub = events_pb2_grpc.EventsStub(channel)
        stub.StreamEvents(iter([events_pb2.EventRequest(event=json.dumps(e)) for e in events]))


def judged(args: list[str]) -> int:
    """An update or preview that the pack judges: its one violation, then the end."""
    violation = json.loads(os.environ["STANDIN_POLICY"])
    judging = "--policy-pack" in args  # no pack given, nothing judges the run
    events: list[dict[str, object]] = (
        [{"sequence": 1, "timestamp": 0, "policyEvent": violation}] if judging else []
    )
    mandatory = judging and violation.get("enforcementLevel") == "mandatory"
    if not mandatory:
        events.append({"sequence": 2, "timestamp": 0, "summaryEvent": {"resourceChanges": {}}})
    send_events(args[args.index("--event-log") + 1], events)
    if mandatory:
        print(f"error: {args[0]} failed", file=sys.stderr, flush=True)
        return 255
    return 0


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--non-interactive"]
    log("argv " + " ".join(args))
    if args[:1] == ["version"]:
        print(f"v{VERSION}")
        return 0
    failing = os.environ.get("STANDIN_FAIL", "").split()
    if failing and args[: len(failing)] == failing:
        print(f"error: {os.environ.get('STANDIN_FAIL_MESSAGE', 'failed')}", file=sys.stderr)
        return 1
    if args[:1] == ["config"]:
        print("{}")
        return 0
    if args[:1] in (["up"], ["preview"]) and "STANDIN_POLICY" in os.environ:
        return judged(args)
    if args[:1] == ["up"]:
        return up()
    if args[:2] == ["stack", "history"]:  # the SDK reads the last update's summary after `up`
        print(json.dumps([HISTORY]))
        return 0
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
