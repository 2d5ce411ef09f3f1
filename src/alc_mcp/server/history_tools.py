"""Past and present sessions as a record: transcripts, notes, stats, deletion."""

from __future__ import annotations

from typing import Annotated

from mcp_types import CallToolResult
from pydantic import Field

from alc_mcp.server import texts
from alc_mcp.server.annotations import ADDITIVE, READ_ONLY, REMOVES
from alc_mcp.server.context import ServiceContext, service_of
from alc_mcp.server.params import OptionalText, caller_mistakes, text_param
from alc_mcp.server.results import LogDeleted, LogView, NoteAdded, StatsReply, compact, pretty
from alc_mcp.server.toolbox import ToolBox

__all__ = ["register_history_tools"]


def register_history_tools(server: ToolBox) -> None:
    @server.tool(title="View session history", description=texts.ALC_LOG_VIEW, annotations=READ_ONLY)
    async def alc_log_view(
        context: ServiceContext,
        session_id: OptionalText = text_param("Session id or name. Omit to list sessions, newest first."),
        cursor: int = Field(
            default=0, ge=0, description="Transcript page start (next_cursor of the last page)."
        ),
        limit: int = Field(default=50, ge=1, le=500, description="Sessions to list, or queries per page."),
    ) -> Annotated[CallToolResult, LogView]:
        with caller_mistakes():
            view = await service_of(context).log_view(session_id, cursor, limit)
        return compact(view) if session_id is None else pretty(view)

    @server.tool(title="Add a note to a session", description=texts.ALC_NOTE, annotations=ADDITIVE)
    async def alc_note(
        context: ServiceContext,
        session_id: str = Field(description="Session id or name."),
        content: str = Field(description="Note content (free text)."),
        title: OptionalText = text_param(
            'Short label for what the note refers to (e.g. "Step 2", "overall").'
        ),
    ) -> Annotated[CallToolResult, NoteAdded]:
        with caller_mistakes():
            return compact(await service_of(context).note(session_id, content, title))

    @server.tool(title="Usage statistics", description=texts.ALC_STATS, annotations=READ_ONLY)
    async def alc_stats(
        context: ServiceContext,
        strategy: OptionalText = text_param(
            'Only this strategy (e.g. "sc"); alc_run sessions count as "unknown".'
        ),
        days: float | None = Field(default=None, gt=0, description="Only sessions of the last N days."),
    ) -> Annotated[CallToolResult, StatsReply]:
        with caller_mistakes():
            return compact(await service_of(context).stats(strategy, days))

    @server.tool(title="Delete a session", description=texts.ALC_LOG_DELETE, annotations=REMOVES)
    async def alc_log_delete(
        context: ServiceContext,
        session_id: str = Field(description="Session id or name to delete for good."),
    ) -> Annotated[CallToolResult, LogDeleted]:
        with caller_mistakes():
            return compact(await service_of(context).delete(session_id))
