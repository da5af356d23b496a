"""Times read from text that other programs wrote: ISO 8601 with its zone, or nothing."""

from __future__ import annotations

from datetime import datetime


def aware_moment(value: object) -> datetime | None:
    """``value`` as a zoned time; None when it is not ISO 8601 or has no zone (a naive time
    says nothing of when it was). Python 3.11 reads ``Z`` and Go's nanoseconds (RFC 3339)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else None
