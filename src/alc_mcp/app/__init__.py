"""The use cases — start, feed, status, cancel, rewind, logs, packages, variables — as
one service that both adapters (the MCP server and the terminal runner) call."""

from alc_mcp.app.durability import StartupError
from alc_mcp.app.errors import CALLER_MISTAKES
from alc_mcp.app.service import Reply, SessionService
from alc_mcp.engine.session import Answer

__all__ = ["CALLER_MISTAKES", "Answer", "Reply", "SessionService", "StartupError"]
