"""The sign-in throttle: after `limit` failed sign-ins from one address within a minute,
that address waits until the oldest of them is a minute old."""

from datetime import datetime, timedelta

WINDOW = timedelta(minutes=1)
ATTEMPTS_PER_WINDOW = 10
# Failed attempts are kept this long, then forgotten.
KEPT_FOR = timedelta(days=1)


def seconds_to_wait(failures: int, oldest_failure_at: datetime | None, now: datetime,
                    limit: int = ATTEMPTS_PER_WINDOW) -> int:
    """0 when an address with `failures` failed sign-ins in the last WINDOW (the oldest at
    `oldest_failure_at`) may try again, else the whole seconds until it may."""
    if failures < limit or oldest_failure_at is None:
        return 0
    return max(1, int((oldest_failure_at + WINDOW - now).total_seconds()) + 1)
