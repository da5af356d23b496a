"""Argument types for the command line: bad values end as a usage error (exit 2) before any
work starts, never as a traceback after a whole run."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path


def positive_speed(text: str) -> float:
    try:
        speed = float(text)
    except ValueError:
        speed = math.nan
    if not math.isfinite(speed) or speed <= 0:
        raise argparse.ArgumentTypeError(
            f"must be a positive number such as 20 or 0.5, got {text!r}"
        )
    return speed


def output_file(suffix: str | None = None) -> Callable[[str], Path]:
    """A path a command may write a file to: not a folder, under a folder it can create and
    write in, and with ``suffix`` when one is given."""

    def parse(text: str) -> Path:
        path = Path(text)
        if suffix and path.suffix.lower() != suffix:
            raise argparse.ArgumentTypeError(f"must be a {suffix} file, got {text!r}")
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is a folder; name a file in it")
        existing = path.parent
        while not existing.exists():
            existing = existing.parent
        absolute = existing.resolve()
        if absolute == Path(absolute.anchor) and path.parent.resolve() != absolute:
            # a typo such as /out/x.json (for out/x.json) would make a folder at the root
            raise argparse.ArgumentTypeError(
                f"cannot write {text!r}: it would create a folder at the filesystem root; name "
                "a path in an existing folder (out/... is relative to here)"
            )
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(
                f"cannot write {text!r}: {str(existing)!r} is not a folder this user may write in"
            )
        return path

    return parse
