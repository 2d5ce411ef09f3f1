"""Wall-clock milliseconds, the unit of every timestamp in metrics and the journal."""

import time

__all__ = ["now_ms"]


def now_ms() -> int:
    return int(time.time() * 1000)
