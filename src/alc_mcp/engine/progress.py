"""Who hears a session's progress while a call drives it: the contract between the
session and whoever asked (the app's reporter for an MCP request with a progressToken).

The session tells its listener, on the event loop, of every ``alc.progress`` the script
makes (the session thread waits until it has been told, so nothing overtakes it), and
while it waits for the script's next pause or end it wakes whenever the listener is
due to hear something, so a script that runs long without either is still heard of.
"""

from __future__ import annotations

from typing import Protocol

from alc_mcp.domain.journal import ProgressSet

__all__ = ["ProgressListener"]


class ProgressListener(Protocol):
    def due_in(self) -> float:
        """Seconds until the listener wants to hear that the script still runs."""
        ...

    async def progressed(self, event: ProgressSet) -> None:
        """The script called ``alc.progress``."""
        ...

    async def running(self) -> None:
        """The script still runs, with nothing new to tell (a heartbeat)."""
        ...
