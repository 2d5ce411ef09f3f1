"""The MCP layer: tool definitions over the session registry.

Thin by design: it checks and shapes arguments, calls the registry, and turns the
result into compact JSON text. Script failures are results (``{"status":"error"}``);
caller mistakes raise ``ToolError`` (``isError: true``) with a message saying what to do.

Free-text parameters (code, answers, tasks) are annotated exactly ``str``: the SDK
JSON-decodes string arguments of any other annotation, which would turn an answer
such as ``{"verdict": "yes"}`` into a dict.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from alc_mcp import __version__
from alc_mcp.config import Config
from alc_mcp.domain.feed_result import feed_result_json
from alc_mcp.domain.jsonfmt import dumps_compact, dumps_pretty
from alc_mcp.domain.pending_filter import PendingFilterError, parse_pending_filter
from alc_mcp.domain.query import TokenUsage
from alc_mcp.domain.state import FeedError
from alc_mcp.engine.registry import SessionRegistry
from alc_mcp.engine.session import Answer, SessionError
from alc_mcp.engine.worker import Program
from alc_mcp.server import texts
from alc_mcp.server.info import server_info


class Usage(BaseModel):
    """Token usage the host reports for one answer; replaces the server's estimates."""

    prompt_tokens: int | None = Field(default=None, ge=0, description="Prompt tokens the host's model used.")
    completion_tokens: int | None = Field(default=None, ge=0, description="Tokens in the host's answer.")

    def domain(self) -> TokenUsage:
        return TokenUsage(self.prompt_tokens, self.completion_tokens)


class ResponseItem(BaseModel):
    query_id: str = Field(description="The id of the query being answered (q-0, q-1, …).")
    response: str = Field(description="The answer text, exactly as the model produced it.")
    usage: Usage | None = Field(default=None, description="Optional token usage for this answer.")


def build_server(config: Config | None = None) -> MCPServer:
    """A ready-to-run server; its lifespan owns the registry's background reaper."""
    config = config or Config.from_env()
    registry = SessionRegistry(config)

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(registry.run_reaper)
            try:
                yield
            finally:
                registry.close()
                tasks.cancel_scope.cancel()

    server = MCPServer("alc-mcp", version=__version__, instructions=texts.INSTRUCTIONS, lifespan=lifespan)
    local = ToolAnnotations(open_world_hint=False)
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(description=texts.ALC_RUN, annotations=local, structured_output=False)
    async def alc_run(
        code: str = _text("Lua source code (inline). Provide either `code` or `code_file`."),
        code_file: str = _text("Path to a Lua source file. Provide either `code` or `code_file`."),
        ctx: Any = Field(default=None, description="JSON value passed to Lua as the global `ctx`."),
    ) -> str:
        program = _program(code, code_file, ctx)
        session_id, result = await registry.start(program)
        return dumps_compact(feed_result_json(result, session_id))

    @server.tool(description=texts.ALC_CONTINUE, annotations=local, structured_output=False)
    async def alc_continue(
        session_id: str = Field(description="Session ID returned by alc_run / alc_advice."),
        response: str = _text("The answer to the pending query; alone when exactly one query is pending."),
        query_id: str = _text("Which query `response` answers. Required when several are pending."),
        responses: list[ResponseItem] | None = Field(
            default=None,
            description="Batch mode: answer several pending queries at once (all valid or none applied).",
        ),
        usage: Usage | None = Field(default=None, description="Token usage for `response` (single mode)."),
    ) -> str:
        try:
            if responses is not None:
                answers = [
                    Answer(r.query_id, r.response, r.usage.domain() if r.usage else None) for r in responses
                ]
            elif response is not None:
                qid = query_id if query_id is not None else registry.sole_pending_id(session_id)
                answers = [Answer(qid, response, usage.domain() if usage else None)]
            else:
                raise ToolError("Either 'response' or 'responses' must be provided")
            result = await registry.feed(session_id, answers)
        except (SessionError, FeedError) as exc:
            raise ToolError(f"Continue failed: {exc}") from None
        return dumps_compact(feed_result_json(result, session_id))

    @server.tool(description=texts.ALC_STATUS, annotations=read_only, structured_output=False)
    async def alc_status(
        session_id: str = _text("Session to inspect. Omit to list all active sessions."),
        pending_filter: Any = Field(
            default=None,
            description='Pending-query projection: "meta", "preview", "full", or an object such as '
            '{"query_id": true, "prompt": {"mode": "preview", "chars": 50}}. Omit for counts only.',
        ),
        include_history: bool = Field(
            default=False, description="Include the last 10 prompt/answer pairs of each session."
        ),
    ) -> str:
        try:
            projection = parse_pending_filter(pending_filter, config.prompt_preview_chars)
        except PendingFilterError as exc:
            raise ToolError(str(exc)) from None
        if session_id is not None:
            try:
                return dumps_pretty(registry.snapshot(session_id, projection, include_history))
            except SessionError:
                raise ToolError(f"session '{session_id}' not found (may have completed)") from None
        sessions = registry.snapshots(projection, include_history)
        listing = {"active_sessions": len(sessions), "sessions": sessions}
        return dumps_compact(listing) if not sessions else dumps_pretty(listing)

    @server.tool(description=texts.ALC_CANCEL, annotations=local, structured_output=False)
    async def alc_cancel(
        session_id: str = Field(description="Session to cancel (paused or running)."),
    ) -> str:
        try:
            result = await registry.cancel(session_id)
        except SessionError as exc:
            raise ToolError(f"Cancel failed: {exc}") from None
        return dumps_compact(feed_result_json(result, session_id))

    @server.tool(description=texts.ALC_INFO, annotations=read_only, structured_output=False)
    async def alc_info() -> str:
        return dumps_pretty(server_info(config, active_sessions=len(registry)))

    return server


def _text(description: str) -> Any:
    """An optional free-text parameter: annotated plain ``str`` (so the SDK never
    JSON-decodes it), absent when None."""
    return Field(default=None, description=description)


def _program(code: str | None, code_file: str | None, ctx: Any) -> Program:
    if code is not None and code_file is not None:
        raise ToolError("Provide either `code` or `code_file`, not both.")
    if code is None and code_file is None:
        raise ToolError("Either `code` or `code_file` must be provided.")
    if code_file is not None:
        path = Path(code_file).expanduser()
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ToolError(f"Failed to read {code_file}: {exc}") from None
        return Program(source, f"@{path.name}", ctx)
    assert code is not None
    return Program(code, "=alc_run", ctx)
