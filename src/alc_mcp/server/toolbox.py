"""The tool table, built once per process.

Every alc-mcp tool reaches its service through the request's ``Context``, so the
tools hold no state of their own and one table serves every server a process builds
(tests build hundreds; building the pydantic models of 33 tools costs ~40 ms each time).
``ToolBox.tool`` has the signature of ``MCPServer.tool``, so tool modules declare their
tools exactly as they would on a server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mcp.server.mcpserver.tools import Tool

__all__ = ["ToolBox"]

F = TypeVar("F", bound=Callable[..., Any])


class ToolBox:
    def __init__(self) -> None:
        self.tools: list[Tool] = []

    def tool(self, **options: Any) -> Callable[[F], F]:
        def declare(fn: F) -> F:
            self.tools.append(Tool.from_function(fn, **options))
            return fn

        return declare
