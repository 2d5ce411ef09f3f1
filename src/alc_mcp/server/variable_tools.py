"""The host's side of session variables: see, change and delete a paused session's
typed variables (``alc_vars_*``), and export or import them as JSON."""

from __future__ import annotations

from typing import Annotated, Any

from mcp_types import CallToolResult
from pydantic import Field

from alc_mcp.server import texts
from alc_mcp.server.annotations import OVERWRITES, READ_ONLY, REMOVES
from alc_mcp.server.context import ServiceContext, service_of
from alc_mcp.server.params import OptionalText, caller_mistakes, text_param
from alc_mcp.server.results import (
    VariablesChanged,
    VariablesDeleted,
    VariablesFound,
    VariablesImported,
    VariablesListed,
    compact,
)
from alc_mcp.server.toolbox import ToolBox

__all__ = ["register_variable_tools"]


def register_variable_tools(server: ToolBox) -> None:
    @server.tool(title="List session variables", description=texts.ALC_VARS_LIST, annotations=READ_ONLY)
    async def alc_vars_list(
        context: ServiceContext,
        session_id: str = Field(description="Session id or name."),
        pattern: OptionalText = text_param('Glob on names: "*" any run, "?" one character.'),
    ) -> Annotated[CallToolResult, VariablesListed]:
        with caller_mistakes():
            return compact(await service_of(context).vars_list(session_id, pattern))

    @server.tool(title="Get session variables", description=texts.ALC_VARS_GET, annotations=READ_ONLY)
    async def alc_vars_get(
        context: ServiceContext,
        session_id: str = Field(description="Session id or name."),
        names: list[str] = Field(description="Variable names or ids."),
    ) -> Annotated[CallToolResult, VariablesFound]:
        with caller_mistakes():
            return compact(await service_of(context).vars_get(session_id, names))

    @server.tool(title="Change session variables", description=texts.ALC_VARS_SET, annotations=OVERWRITES)
    async def alc_vars_set(
        context: ServiceContext,
        session_id: str = Field(description="Session id or name (it must be paused)."),
        updates: dict[str, Any] = Field(description="New values by variable name or id."),
        atomic: bool = Field(default=False, description="All updates valid and applied, or none."),
        reason: OptionalText = text_param("Why, kept in each variable's metadata."),
    ) -> Annotated[CallToolResult, VariablesChanged]:
        with caller_mistakes():
            result = await service_of(context).vars_set(session_id, updates, atomic=atomic, reason=reason)
        return compact(result)

    @server.tool(title="Delete session variables", description=texts.ALC_VARS_DELETE, annotations=REMOVES)
    async def alc_vars_delete(
        context: ServiceContext,
        session_id: str = Field(description="Session id or name (it must be paused)."),
        names: list[str] = Field(description="Variable names or ids to delete."),
    ) -> Annotated[CallToolResult, VariablesDeleted]:
        with caller_mistakes():
            return compact(await service_of(context).vars_delete(session_id, names))

    @server.tool(title="Export session variables", description=texts.ALC_VARS_EXPORT, annotations=READ_ONLY)
    async def alc_vars_export(
        context: ServiceContext, session_id: str = Field(description="Session id or name.")
    ) -> Annotated[CallToolResult, VariablesListed]:
        with caller_mistakes():
            return compact(await service_of(context).vars_export(session_id))

    @server.tool(title="Import session variables", description=texts.ALC_VARS_IMPORT, annotations=OVERWRITES)
    async def alc_vars_import(
        context: ServiceContext,
        session_id: str = Field(description="Session id or name (it must be paused)."),
        variables: list[dict[str, Any]] = Field(
            description="Variable records, as alc_vars_export gives them."
        ),
        replace: bool = Field(default=False, description="Remove the session's other variables first."),
    ) -> Annotated[CallToolResult, VariablesImported]:
        with caller_mistakes():
            result = await service_of(context).vars_import(session_id, variables, replace=replace)
        return compact(result)
