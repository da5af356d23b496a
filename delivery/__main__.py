"""``python -m delivery``: the command line (``delivery.cli``).

Importing it takes a few hundred milliseconds (botocore's models); a Ctrl-C or SIGTERM in that
time ends with one line, as it does once the command runs.
"""

import signal
import sys
from types import FrameType


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the first signal is the one that counts
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _main() -> int:
    terminable = signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    if terminable:
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        from delivery.cli import main
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if terminable:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # main() guards the command itself
    return main()


if __name__ == "__main__":
    sys.exit(_main())
