"""``python -m delivery``: the command line (``delivery.cli``).

Importing it takes a few hundred milliseconds (botocore's models); a Ctrl-C or SIGTERM in that
time ends with one line, as it does once the command runs.
"""

import signal
import sys
from types import FrameType


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _main() -> int:
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        from delivery.cli import main
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(_main())
