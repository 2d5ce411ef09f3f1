"""Errors raised inside ``alc.*`` calls, as the Lua side will see them."""

__all__ = ["BridgeError", "BudgetExceeded", "FatalError"]


class BridgeError(Exception):
    """An ordinary Lua error raised by an ``alc.*`` function (catchable by pcall)."""


class FatalError(Exception):
    """The run must stop (cancelled, limit reached, replay diverged); pcall cannot catch it."""


class BudgetExceeded(BridgeError):
    """``budget_exceeded: …`` exactly, with no function-name prefix: scripts match on
    the start of the message (algocline's contract)."""
