"""Output that outlives its reader: ``python -m delivery release ... | head`` must not kill a
release halfway.

Python ignores SIGPIPE, so a write to a pipe whose reader has gone raises BrokenPipeError
(https://docs.python.org/3.11/library/signal.html#note-on-sigpipe). Raised from a progress line
in the middle of a promote it would skip the driver's bookkeeping and leave the release's record
open. Instead the stream is pointed at /dev/null, as that note advises, and the command carries
on: its record, not its output, is the account of what happened.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class ReaderGone:
    """A text stream that, once its reader has gone, writes to /dev/null and says so once on
    the other stream (when that one is still read)."""

    def __init__(self, stream: TextIO, name: str, other: TextIO) -> None:
        self._stream = stream
        self._name = name
        self._other = other
        self.gone = False

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._lost()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._lost()

    def _lost(self) -> None:
        if self.gone:
            return
        self.gone = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)
        try:
            self._other.write(
                f"note: {self._name}'s reader has gone (a closed pipe); the command carries on "
                "and keeps its record, without this output\n"
            )
            self._other.flush()
        except (BrokenPipeError, ValueError):
            pass

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding: the stream's own
        return getattr(self._stream, name)


@contextmanager
def surviving_a_closed_pipe() -> Iterator[None]:
    """sys.stdout and sys.stderr for the duration: a vanished reader silences, never stops."""
    out, err = sys.stdout, sys.stderr
    sys.stdout = ReaderGone(out, "stdout", err)
    sys.stderr = ReaderGone(err, "stderr", out)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
