"""The rule behind ``alc.state.incr``, kept apart from any store: the in-memory and the
SQLite store must compute the same new value, and the engine must recognise the refusal
whichever store raised it."""

from __future__ import annotations

from typing import Any

__all__ = ["NotANumber", "incremented"]


class NotANumber(ValueError):
    """``incr`` on a key whose value is not a number; the message names the key."""


def incremented(key: str, found: bool, current: Any, delta: float, default: float) -> float:
    """(existing value or default) + delta, as a float (algocline's contract). A key
    stored with JSON null exists: it is not a number, and does not fall back to default."""
    base = current if found else default
    if isinstance(base, bool) or not isinstance(base, int | float):
        raise NotANumber(f"incr: value at '{key}' is not a number")
    return float(base) + float(delta)
