"""The engine wiring both adapters share: the MCP server and the terminal runner.

Each adapter is a host for the same sessions; this module is the one place that opens
the store, builds the registry over it, and turns "run this strategy on that task"
into a program, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alc_mcp.config import Config
from alc_mcp.engine.registry import SessionRegistry
from alc_mcp.engine.worker import Program
from alc_mcp.server.durability import Durability, open_durability


@dataclass(slots=True)
class Runtime:
    config: Config
    durability: Durability
    registry: SessionRegistry

    def close(self) -> None:
        """Stop every session's thread, then flush and close the store."""
        self.registry.close()
        self.durability.close()


def open_runtime(config: Config) -> Runtime:
    """The store (or the reason it is off) and a registry over it."""
    durability = open_durability(config)
    registry = SessionRegistry(config, durability.store, durability.writer)
    return Runtime(config, durability, registry)


def advice_ctx(task: str | None, opts: Any) -> dict[str, Any]:
    """``alc_advice``'s ctx: the options object (anything else is ignored) plus the task."""
    ctx = dict(opts) if isinstance(opts, dict) else {}
    if task is not None:
        ctx["task"] = task
    return ctx


def advice_program(strategy: str, ctx: Any) -> Program:
    """Run package ``strategy`` (already resolved, so a valid module name) on ``ctx``."""
    return Program(f"local pkg = require({strategy!r})\nreturn pkg.run(ctx)", "=alc_advice", ctx)
