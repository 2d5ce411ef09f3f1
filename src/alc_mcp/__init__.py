"""alc-mcp: run LLM-driven Lua scripts as pausable MCP sessions."""

__version__ = "0.1.0"
