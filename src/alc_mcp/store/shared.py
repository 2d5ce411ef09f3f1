"""``alc.state`` rules every ``SharedStore`` applies alike (``store.memory``,
``store.sqlite.shared``): what ``incr`` computes and the error it raises."""

from __future__ import annotations

from typing import Any


class NotANumber(ValueError):
    pass


def incremented(key: str, found: bool, current: Any, delta: float, default: float) -> float:
    """(existing value or default) + delta, as a float (algocline's contract). A key
    stored with JSON null exists: it is not a number, and does not fall back to default."""
    base = current if found else default
    if isinstance(base, bool) or not isinstance(base, int | float):
        raise NotANumber(f"incr: value at '{key}' is not a number")
    return float(base) + float(delta)
