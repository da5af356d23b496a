"""`status`: where a stack's traffic stands, and `--watch` to follow a shift in progress.

A prod `pulumi up` blocks for the sum of its bakes while the Pulumi CLI shows nothing of the
steps inside the cutover; the listener's weights are the truth, so they are what is watched.
The same watch reports the cutover's progress while the driver's `pulumi up` runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from delivery.config.model import Colour
from delivery.cutover.ports import Alarms, AlarmValue, Clock, Listener
from delivery.errors import PortError
from delivery.plans.schedule import Weights
from delivery.release.keys import LIVE_COLOUR, image_key
from delivery.release.port import ForwardingStack, StackPort, text_value
from delivery.release.progress import OnProgress, seen_weights
from delivery.release.record import RecordStore


class StackView(Protocol):
    def config(self) -> dict[str, str]: ...

    def outputs(self) -> dict[str, Any]: ...


def status_lines(
    stack_name: str,
    stack: StackView,
    listener: Listener,
    alarms: Alarms,
    records: RecordStore,
    last: int = 5,
) -> list[str]:
    config, outputs = stack.config(), stack.outputs()
    weights = listener.read_weights()
    live = text_value(config, LIVE_COLOUR) or "?"
    carrying = weights.settled
    lines = [
        f"stack {stack_name}: liveColour {live}; listener {weights}"
        + ("" if carrying else "  <- a shift is in progress or was interrupted"),
    ]
    if carrying and carrying.value != live:
        lines.append(
            f"  config says {live} but {carrying} carries the traffic: a release is about to "
            "shift, or a rollback left the config behind (the driver sets it back)"
        )
    for colour in Colour:
        image = text_value(config, image_key(colour)) or "(not set)"
        role = "live" if colour.value == live else "candidate"
        names = list((outputs.get("alarmNames") or {}).get(colour.value) or [])
        try:
            states = alarms.states(names) if names else {}
            firing = [n for n, s in states.items() if s.value is AlarmValue.ALARM]
            missing = [n for n in names if n not in states]
            alarm_text = (
                f"{len(names)} gating alarm(s), {len(firing)} in ALARM"
                + (f" ({', '.join(firing)})" if firing else "")
                + (f", {len(missing)} missing" if missing else "")
            )
        except PortError as exc:
            alarm_text = f"alarms unreadable: {exc}"
        lines.append(f"  {colour:<5} {role:<9} {weights.of(colour):3d}%  {image}  {alarm_text}")
    mine = [r for r in records.load().records if r.stack == stack_name][-last:]
    lines.append(f"last {len(mine)} release(s):" if mine else "no releases recorded")
    for r in reversed(mine):
        outcome = r.outcome.value if r.outcome else (r.cause or "in progress (or interrupted)")
        lines.append(f"  {r.started_at:%Y-%m-%d %H:%M} {r.image} {r.source}->{r.target} {outcome}")
    return lines


def watch(
    listener: Listener,
    clock: Clock,
    say: Callable[[str], None],
    interval: float,
    stop: threading.Event | None = None,
    on_progress: OnProgress | None = None,
) -> Weights:
    """Report every change of the listener's weights until a colour carries 100% again (or
    ``stop`` is set). Returns the weights last read."""
    stop = stop or threading.Event()
    weights = listener.read_weights()
    say(f"[{clock.now():8.1f}s] listener {weights}")
    if weights.settled is None and on_progress:
        on_progress(seen_weights(clock.now(), weights))  # a step taken before the first look
    if weights.settled and on_progress is None:
        say("no shift in progress")
        return weights
    while not stop.is_set():
        _pause(clock, interval, stop)
        if stop.is_set():
            break
        try:
            now = listener.read_weights()
        except PortError as exc:
            say(f"listener unreadable: {exc}")
            continue
        if now != weights:
            weights = now
            say(f"[{clock.now():8.1f}s] listener {weights}")
            if on_progress:
                on_progress(seen_weights(clock.now(), weights))
            if weights.settled and on_progress is None:
                break
    return weights


WATCH_SLICE_SECONDS = 0.5


def _pause(clock: Clock, seconds: float, stop: threading.Event) -> None:
    """``clock.sleep(seconds)`` in slices, so that the watch ends within half a second of
    ``stop`` (pollSeconds is 15 s in prod) on any clock, a rehearsal's compressed one too."""
    deadline = clock.now() + seconds
    while not stop.is_set() and (left := deadline - clock.now()) > 0:
        clock.sleep(min(left, WATCH_SLICE_SECONDS))


class WatchedStack(ForwardingStack):
    """A stack port whose ``up`` also reports the listener's weight changes as progress, for a
    real ``pulumi up`` whose cutover runs out of the driver's sight."""

    def __init__(
        self,
        inner: StackPort,
        listener: Listener,
        clock: Clock,
        interval: float,
        say: Callable[[str], None],
    ) -> None:
        super().__init__(inner)
        self._listener = listener
        self._clock = clock
        self._interval = interval
        self._say = say

    def up(self, on_progress: OnProgress) -> None:
        stop = threading.Event()
        thread = threading.Thread(
            target=watch,
            args=(self._listener, self._clock, self._say, self._interval, stop, on_progress),
            name="listener-watch",
            daemon=True,
        )
        thread.start()
        try:
            self._inner.up(on_progress)
        except KeyboardInterrupt:
            # The abort must not wait out the watch's poll (pollSeconds, 15 s in prod: the
            # runner sends SIGKILL 10 s after SIGINT); the daemon thread stops at its next look.
            stop.set()
            raise
        except BaseException:
            stop.set()
            thread.join(timeout=self._interval + 30)
            raise
        stop.set()
        thread.join(timeout=self._interval + 30)
