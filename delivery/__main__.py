"""``python -m delivery``: the command line (``delivery.cli``).

Importing it takes a few hundred milliseconds (botocore's models); a Ctrl-C in that time ends
with one line, as it does once the command runs.
"""

import sys


def _main() -> int:
    try:
        from delivery.cli import main
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(_main())
