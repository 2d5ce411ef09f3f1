"""The use cases of alc-mcp, shared by the MCP server and the terminal."""
