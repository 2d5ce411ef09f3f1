"""Messages from a session thread to the event loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alc_mcp.domain.query import LlmQuery

__all__ = ["PauseRequest", "ScriptCancelled", "ScriptFailed", "ScriptReturned", "WorkerEvent"]


@dataclass(frozen=True, slots=True)
class PauseRequest:
    """The script waits for answers to ``queries``."""

    queries: tuple[LlmQuery, ...]


@dataclass(frozen=True, slots=True)
class ScriptReturned:
    result: Any


@dataclass(frozen=True, slots=True)
class ScriptFailed:
    error: str


@dataclass(frozen=True, slots=True)
class ScriptCancelled:
    pass


WorkerEvent = PauseRequest | ScriptReturned | ScriptFailed | ScriptCancelled
