"""The session loop as tools: run, advice, continue, status, cancel, rewind.

run, advice and continue hand the service the request's ``report_progress``: a call
that carries a progressToken hears how its script goes (a no-op without one).

Free-text parameters (code, answers, tasks) are annotated exactly ``str``: the SDK
JSON-decodes string arguments of any other annotation, which would turn an answer
such as ``{"verdict": "yes"}`` into a dict.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, InputRequiredResult
from pydantic import BaseModel, Field

from alc_mcp.app import Answer
from alc_mcp.domain.pending_filter import parse_pending_filter
from alc_mcp.domain.query import TokenUsage
from alc_mcp.server import texts
from alc_mcp.server.annotations import ADDITIVE, OVERWRITES, READ_ONLY, REMOVES
from alc_mcp.server.context import ServiceContext, service_of
from alc_mcp.server.inline import answer_inline
from alc_mcp.server.params import SEARCH_PATHS, VARS_PRESET, OptionalText, caller_mistakes, text_param
from alc_mcp.server.results import FeedReply, StatusReply, compact, pretty
from alc_mcp.server.toolbox import ToolBox

__all__ = ["register_session_tools"]


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


def register_session_tools(server: ToolBox) -> None:
    @server.tool(title="Run Lua code", description=texts.ALC_RUN, annotations=ADDITIVE)
    async def alc_run(
        context: ServiceContext,
        code: OptionalText = text_param("Lua source code (inline). Provide either `code` or `code_file`."),
        code_file: OptionalText = text_param(
            "Path to a Lua source file. Provide either `code` or `code_file`."
        ),
        ctx: Any = Field(default=None, description="JSON value passed to Lua as the global `ctx`."),
        vars: dict[str, Any] | None = VARS_PRESET,
        search_paths: list[str] | None = SEARCH_PATHS,
    ) -> Annotated[CallToolResult, FeedReply] | InputRequiredResult:
        with caller_mistakes():
            reply = await answer_inline(
                context,
                lambda: service_of(context).run(
                    code, code_file, ctx, vars, search_paths, context.report_progress
                ),
            )
        if isinstance(reply, InputRequiredResult):
            return reply
        return compact(reply.to_json())

    @server.tool(title="Apply a strategy", description=texts.ALC_ADVICE, annotations=ADDITIVE)
    async def alc_advice(
        context: ServiceContext,
        strategy: str = Field(
            description='Package to run, e.g. "cot", "sc", "panel", or any installed package.'
        ),
        task: OptionalText = text_param("The task or question to work on (becomes ctx.task)."),
        opts: Any = Field(default=None, description="Strategy options, merged into ctx (a JSON object)."),
        vars: dict[str, Any] | None = VARS_PRESET,
    ) -> Annotated[CallToolResult, FeedReply] | InputRequiredResult:
        with caller_mistakes():
            reply = await answer_inline(
                context,
                lambda: service_of(context).advise(strategy, task, opts, vars, context.report_progress),
            )
        if isinstance(reply, InputRequiredResult):
            return reply
        return compact(reply.to_json())

    @server.tool(title="Answer a paused session", description=texts.ALC_CONTINUE, annotations=ADDITIVE)
    async def alc_continue(
        context: ServiceContext,
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
    ) -> Annotated[CallToolResult, FeedReply] | InputRequiredResult:
        with caller_mistakes("Continue failed: "):
            if responses is not None:
                answers = [
                    Answer(r.query_id, r.response, r.usage.domain() if r.usage else None) for r in responses
                ]
            elif response is not None:
                answers = [Answer(query_id, response, usage.domain() if usage else None)]
            else:
                raise ToolError("Either 'response' or 'responses' must be provided")
            reply = await answer_inline(
                context, lambda: service_of(context).feed(session_id, answers, context.report_progress)
            )
        if isinstance(reply, InputRequiredResult):
            return reply
        return compact(reply.to_json())

    @server.tool(title="Session status", description=texts.ALC_STATUS, annotations=READ_ONLY)
    async def alc_status(
        context: ServiceContext,
        session_id: OptionalText = text_param("Session to inspect. Omit to list all active sessions."),
        pending_filter: Any = Field(
            default=None,
            description='Pending-query projection: "meta", "preview", "full", or an object such as '
            '{"query_id": true, "prompt": {"mode": "preview", "chars": 50}}. Omit for counts only.',
        ),
        include_history: bool = Field(
            default=False, description="Include the last 10 prompt/answer pairs of each session."
        ),
    ) -> Annotated[CallToolResult, StatusReply]:
        service = service_of(context)
        with caller_mistakes():
            projection = parse_pending_filter(pending_filter, service.config.prompt_preview_chars)
            if session_id is not None:
                return pretty(await service.status(session_id, projection, include_history))
            listing = await service.status_all(projection, include_history)
        return compact(listing) if not listing["sessions"] else pretty(listing)

    @server.tool(title="Cancel a session", description=texts.ALC_CANCEL, annotations=REMOVES)
    async def alc_cancel(
        context: ServiceContext,
        session_id: str = Field(description="Session to cancel (paused or running)."),
    ) -> Annotated[CallToolResult, FeedReply]:
        with caller_mistakes("Cancel failed: "):
            reply = await service_of(context).cancel(session_id)
        return compact(reply.to_json())

    @server.tool(title="Rewind to an earlier question", description=texts.ALC_REWIND, annotations=OVERWRITES)
    async def alc_rewind(
        context: ServiceContext,
        session_id: str = Field(description="Session id or name."),
        query_index: int = Field(
            ge=0, description="Index of the answered query to ask again (alc_log_view)."
        ),
    ) -> Annotated[CallToolResult, FeedReply]:
        with caller_mistakes("Rewind failed: "):
            reply = await service_of(context).rewind(session_id, query_index)
        return compact(reply.to_json())
