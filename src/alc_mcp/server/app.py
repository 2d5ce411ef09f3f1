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
from dataclasses import replace
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
from alc_mcp.domain.pending_filter import parse_pending_filter
from alc_mcp.domain.query import TokenUsage
from alc_mcp.engine.archive import Archive
from alc_mcp.engine.catalog import PackageCatalog
from alc_mcp.engine.packages import ModuleNotFound, PackageError
from alc_mcp.engine.session import Answer, SessionError
from alc_mcp.engine.worker import Program
from alc_mcp.runtime import Runtime, advice_ctx, advice_program, open_runtime
from alc_mcp.server import texts
from alc_mcp.server.catalog_mcp import register_prompts, register_resources, types_path
from alc_mcp.server.eval_tools import register_eval_tools
from alc_mcp.server.info import server_info
from alc_mcp.server.params import VARS_PRESET, OptionalText, caller_mistakes, text_param
from alc_mcp.server.variable_tools import register_variable_tools


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


def build_server(config: Config | None = None, *, runtime: Runtime | None = None) -> MCPServer:
    """A ready-to-run server; its lifespan restores sessions from the store and owns the
    background reaper. Pass ``runtime`` to keep a handle on the registry it serves."""
    config = config or Config.from_env()
    runtime = runtime or open_runtime(config)
    durability, registry = runtime.durability, runtime.registry
    archive = Archive(registry, unavailable_reason=durability.reason)
    catalog = PackageCatalog(registry)

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:
            await registry.open()
            await archive.apply_retention()
            tasks.start_soon(registry.run_reaper)
            tasks.start_soon(archive.run_retention)
            try:
                yield
            finally:
                runtime.close()
                tasks.cancel_scope.cancel()

    server = MCPServer("alc-mcp", version=__version__, instructions=texts.INSTRUCTIONS, lifespan=lifespan)
    local = ToolAnnotations(open_world_hint=False)
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(description=texts.ALC_RUN, annotations=local, structured_output=False)
    async def alc_run(
        code: OptionalText = text_param("Lua source code (inline). Provide either `code` or `code_file`."),
        code_file: OptionalText = text_param(
            "Path to a Lua source file. Provide either `code` or `code_file`."
        ),
        ctx: Any = Field(default=None, description="JSON value passed to Lua as the global `ctx`."),
        vars: dict[str, Any] | None = VARS_PRESET,
    ) -> str:
        program = replace(_program(code, code_file, ctx), vars=vars)
        session_id, result = await registry.start(program)
        return dumps_compact(feed_result_json(result, session_id))

    @server.tool(description=texts.ALC_ADVICE, annotations=local, structured_output=False)
    async def alc_advice(
        strategy: str = Field(
            description='Package to run, e.g. "cot", "sc", "panel", or any installed package.'
        ),
        task: OptionalText = text_param("The task or question to work on (becomes ctx.task)."),
        opts: Any = Field(default=None, description="Strategy options, merged into ctx (a JSON object)."),
        vars: dict[str, Any] | None = VARS_PRESET,
    ) -> str:
        try:
            registry.resolver.find(strategy)
        except ModuleNotFound as exc:
            raise ToolError(
                f"Package '{strategy}' not found. Searched:\n\t{exc}\nInstall it with alc_pkg_install "
                "or list what is available with alc_pkg_list."
            ) from None
        except PackageError as exc:
            raise ToolError(str(exc)) from None
        program = replace(advice_program(strategy, advice_ctx(task, opts)), vars=vars)
        session_id, result = await registry.start(program, strategy=strategy)
        return dumps_compact(feed_result_json(result, session_id))

    @server.tool(description=texts.ALC_CONTINUE, annotations=local, structured_output=False)
    async def alc_continue(
        session_id: str = Field(description="Session ID returned by alc_run / alc_advice."),
        response: OptionalText = text_param(
            "The answer to the pending query; alone when exactly one query is pending."
        ),
        query_id: OptionalText = text_param(
            "Which query `response` answers. Required when several are pending."
        ),
        responses: list[ResponseItem] | None = Field(
            default=None,
            description="Batch mode: answer several pending queries at once (all valid or none applied).",
        ),
        usage: Usage | None = Field(default=None, description="Token usage for `response` (single mode)."),
    ) -> str:
        with caller_mistakes("Continue failed: "):
            if responses is not None:
                answers = [
                    Answer(r.query_id, r.response, r.usage.domain() if r.usage else None) for r in responses
                ]
            elif response is not None:
                answers = [Answer(query_id, response, usage.domain() if usage else None)]
            else:
                raise ToolError("Either 'response' or 'responses' must be provided")
            session_id = await registry.resolve(session_id)
            result = await registry.feed(session_id, answers)
        return dumps_compact(feed_result_json(result, session_id))

    @server.tool(description=texts.ALC_STATUS, annotations=read_only, structured_output=False)
    async def alc_status(
        session_id: OptionalText = text_param("Session to inspect. Omit to list all active sessions."),
        pending_filter: Any = Field(
            default=None,
            description='Pending-query projection: "meta", "preview", "full", or an object such as '
            '{"query_id": true, "prompt": {"mode": "preview", "chars": 50}}. Omit for counts only.',
        ),
        include_history: bool = Field(
            default=False, description="Include the last 10 prompt/answer pairs of each session."
        ),
    ) -> str:
        with caller_mistakes():
            projection = parse_pending_filter(pending_filter, config.prompt_preview_chars)
        if session_id is not None:
            try:
                return dumps_pretty(await registry.snapshot(session_id, projection, include_history))
            except SessionError:
                raise ToolError(f"session '{session_id}' not found (may have completed)") from None
        sessions = await registry.snapshots(projection, include_history)
        listing = {"active_sessions": len(sessions), "sessions": sessions}
        return dumps_compact(listing) if not sessions else dumps_pretty(listing)

    @server.tool(description=texts.ALC_CANCEL, annotations=local, structured_output=False)
    async def alc_cancel(
        session_id: str = Field(description="Session to cancel (paused or running)."),
    ) -> str:
        with caller_mistakes("Cancel failed: "):
            session_id = await registry.resolve(session_id)
            result = await registry.cancel(session_id)
        return dumps_compact(feed_result_json(result, session_id))

    @server.tool(description=texts.ALC_REWIND, annotations=local, structured_output=False)
    async def alc_rewind(
        session_id: str = Field(description="Session id or name."),
        query_index: int = Field(
            ge=0, description="Index of the answered query to ask again (alc_log_view)."
        ),
    ) -> str:
        with caller_mistakes("Rewind failed: "):
            resolved = await registry.resolve(session_id)
            result = await registry.rewind(resolved, query_index)
        return dumps_compact(feed_result_json(result, resolved))

    @server.tool(description=texts.ALC_LOG_VIEW, annotations=read_only, structured_output=False)
    async def alc_log_view(
        session_id: OptionalText = text_param("Session id or name. Omit to list sessions, newest first."),
        cursor: int = Field(
            default=0, ge=0, description="Transcript page start (next_cursor of the last page)."
        ),
        limit: int = Field(default=50, ge=1, le=500, description="Sessions to list, or queries per page."),
    ) -> str:
        with caller_mistakes():
            if session_id is None:
                return dumps_compact(await archive.list_sessions(limit))
            return dumps_pretty(await archive.transcript(session_id, cursor, limit))

    @server.tool(description=texts.ALC_NOTE, annotations=local, structured_output=False)
    async def alc_note(
        session_id: str = Field(description="Session id or name."),
        content: str = Field(description="Note content (free text)."),
        title: OptionalText = text_param(
            'Short label for what the note refers to (e.g. "Step 2", "overall").'
        ),
    ) -> str:
        with caller_mistakes():
            return dumps_compact(await archive.note(session_id, content, title))

    @server.tool(description=texts.ALC_STATS, annotations=read_only, structured_output=False)
    async def alc_stats(
        strategy: OptionalText = text_param(
            'Only this strategy (e.g. "sc"); alc_run sessions count as "unknown".'
        ),
        days: float | None = Field(default=None, gt=0, description="Only sessions of the last N days."),
    ) -> str:
        with caller_mistakes():
            return dumps_compact(await archive.stats(strategy, days))

    @server.tool(
        description=texts.ALC_LOG_DELETE,
        annotations=ToolAnnotations(destructive_hint=True, open_world_hint=False),
        structured_output=False,
    )
    async def alc_log_delete(
        session_id: str = Field(description="Session id or name to delete for good."),
    ) -> str:
        with caller_mistakes():
            return dumps_compact(await archive.delete(session_id))

    @server.tool(description=texts.ALC_PKG_LIST, annotations=read_only, structured_output=False)
    async def alc_pkg_list() -> str:
        return dumps_compact(await catalog.list())

    @server.tool(
        description=texts.ALC_PKG_INSTALL,
        annotations=ToolAnnotations(destructive_hint=True, open_world_hint=True),
        structured_output=False,
    )
    async def alc_pkg_install(
        url: str = Field(
            description="Local directory (absolute path) or git URL of a package or collection."
        ),
        name: OptionalText = text_param(
            "Install a single package under this name instead of its directory's."
        ),
    ) -> str:
        with caller_mistakes():
            return dumps_compact(await catalog.install(url, name))

    @server.tool(
        description=texts.ALC_PKG_REMOVE,
        annotations=ToolAnnotations(destructive_hint=True, open_world_hint=False),
        structured_output=False,
    )
    async def alc_pkg_remove(name: str = Field(description="Package installed in ALC_HOME/packages.")) -> str:
        with caller_mistakes():
            return dumps_compact(await catalog.remove(name))

    @server.tool(description=texts.ALC_INFO, annotations=read_only, structured_output=False)
    async def alc_info() -> str:
        return dumps_pretty(
            server_info(
                config,
                live_sessions=registry.live_count,
                known_sessions=len(registry),
                durability=durability,
                resolver=registry.resolver,
                types=types_path(),
            )
        )

    register_variable_tools(server, registry)
    register_eval_tools(server, registry)
    register_resources(server, catalog)
    register_prompts(server, catalog)
    return server


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
