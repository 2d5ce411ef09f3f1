"""Running a short Lua program outside any session (e.g. to read a package's
``M.meta`` for ``alc_pkg_list``): same sandbox and limits, no journal, no host. Code
that asks the LLM while it runs is stopped, since nobody could answer."""

from __future__ import annotations

from typing import Any

from alc_mcp.config import Limits
from alc_mcp.domain.program import Program
from alc_mcp.engine.effects import Effects
from alc_mcp.engine.events import PauseRequest, ScriptReturned, WorkerEvent
from alc_mcp.engine.packages import PackageResolver
from alc_mcp.engine.port import NO_FACILITIES, Facilities
from alc_mcp.engine.storage import SharedStore
from alc_mcp.engine.worker import LuaWorker, WorkerGone

__all__ = ["NO_HOST", "ScratchError", "evaluate"]

NO_HOST = "package code asked the LLM while loading; alc.llm is only available inside a session"


class _SilentPort:
    """A session port for code nobody watches: logs and progress are dropped."""

    def log(self, level: str, source: str, message: str) -> None:
        pass

    def record_stat(self, key: str, value: Any) -> None:
        pass

    def get_stat(self, key: str) -> tuple[bool, Any]:
        return False, None

    def set_progress(self, step: int, total: int, message: str | None) -> None:
        pass

    def check_budget(self) -> str | None:
        return None

    def budget_remaining(self) -> dict[str, Any] | None:
        return None

    def vars_call(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        return {"error": "alc.vars is only available inside a session"}


class ScratchError(Exception):
    pass


def evaluate(
    program: Program,
    *,
    limits: Limits,
    shared: SharedStore,
    resolver: PackageResolver,
    facilities: Facilities = NO_FACILITIES,
) -> Any:
    """Run ``program`` to completion on the calling thread; return its result."""
    events: list[WorkerEvent] = []

    def post(event: WorkerEvent) -> None:
        if isinstance(event, PauseRequest):
            raise WorkerGone(NO_HOST)
        events.append(event)

    worker = LuaWorker(
        program,
        _SilentPort(),
        post,
        limits,
        name="alc-scratch",
        effects_factory=lambda pause, _monitor: Effects(pause, lambda _event: None),
        shared=shared,
        namespace="default",
        resolver=resolver,
        facilities=facilities,
    )
    worker.run_here()
    (event,) = events
    if isinstance(event, ScriptReturned):
        return event.result
    raise ScratchError(getattr(event, "error", NO_HOST))
