"""The ``alc-mcp`` command: with no arguments (or ``serve``) it runs the MCP server on stdio."""

from __future__ import annotations

import argparse
import sys

from alc_mcp import __version__
from alc_mcp.config import Config, ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="alc-mcp", description="MCP server for pausable LLM-driven Lua scripts"
    )
    parser.add_argument("--version", action="version", version=f"alc-mcp {__version__}")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the MCP server (default)")
    serve.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)

    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"alc-mcp: {exc}", file=sys.stderr)
        return 2

    from alc_mcp.server.app import build_server

    server = build_server(config)
    if getattr(args, "http", False):
        server.run("streamable-http", host=args.host, port=args.port)
    else:
        server.run("stdio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
