"""The host's side of session variables: see, change and delete a paused session's
typed variables (``alc_vars_*``), and export or import them as JSON."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations
from pydantic import Field

from alc_mcp.domain.jsonfmt import dumps_compact
from alc_mcp.domain.variables import Variable, VariableError
from alc_mcp.engine.clock import now_ms
from alc_mcp.engine.registry import SessionRegistry
from alc_mcp.engine.variables import Outcome, VariableOps
from alc_mcp.server import texts
from alc_mcp.server.params import OptionalText, caller_mistakes, text_param

HOST = "host"


def register_variable_tools(server: MCPServer, registry: SessionRegistry) -> None:
    local = ToolAnnotations(open_world_hint=False)
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(description=texts.ALC_VARS_LIST, annotations=read_only, structured_output=False)
    async def alc_vars_list(
        session_id: str = Field(description="Session id or name."),
        pattern: OptionalText = text_param('Glob on names: "*" any run, "?" one character.'),
    ) -> str:
        with caller_mistakes():
            listed = await registry.read_variables(session_id, lambda ops: ops.variables.matching(pattern))
            return dumps_compact({"variables": [v.to_json() for v in listed]})

    @server.tool(description=texts.ALC_VARS_GET, annotations=read_only, structured_output=False)
    async def alc_vars_get(
        session_id: str = Field(description="Session id or name."),
        names: list[str] = Field(description="Variable names or ids."),
    ) -> str:
        with caller_mistakes():
            found, missing = await registry.read_variables(
                session_id, lambda ops: ops.get_many(names, source=HOST)
            )
            return dumps_compact({"found": {k: v.to_json() for k, v in found.items()}, "missing": missing})

    @server.tool(description=texts.ALC_VARS_SET, annotations=local, structured_output=False)
    async def alc_vars_set(
        session_id: str = Field(description="Session id or name (it must be paused)."),
        updates: dict[str, Any] = Field(description="New values by variable name or id."),
        atomic: bool = Field(default=False, description="All updates valid and applied, or none."),
        reason: OptionalText = text_param("Why, kept in each variable's metadata."),
    ) -> str:
        metadata = {} if reason is None else {"reason": reason}

        def change(ops: VariableOps) -> Outcome:
            return ops.set_many(updates, atomic=atomic, metadata=metadata, now_ms=now_ms(), source=HOST)

        with caller_mistakes():
            try:
                outcome = await registry.change_variables(session_id, change)
            except VariableError as exc:
                errors = getattr(exc, "errors", None)
                if not atomic or errors is None:
                    raise
                return dumps_compact(
                    {"status": "rejected", "results": {k: {"error": str(e)} for k, e in errors.items()}}
                )
            results = {
                key: {"version": r.version} if isinstance(r, Variable) else {"error": str(r)}
                for key, r in outcome.result.items()
            }
            failed = sum("error" in r for r in results.values())
            status = "applied" if not failed else ("rejected" if failed == len(results) else "partial")
            return dumps_compact({"status": status, "results": results})

    @server.tool(description=texts.ALC_VARS_DELETE, annotations=local, structured_output=False)
    async def alc_vars_delete(
        session_id: str = Field(description="Session id or name (it must be paused)."),
        names: list[str] = Field(description="Variable names or ids to delete."),
    ) -> str:
        def change(ops: VariableOps) -> Outcome:
            deleted, missing, events = [], [], []
            for name in names:
                if not ops.variables.has(name):
                    missing.append(name)
                    continue
                outcome = ops.delete(name, source=HOST)
                deleted.append(outcome.result.name)
                events += outcome.events
            return Outcome({"deleted": deleted, "missing": missing}, events)

        with caller_mistakes():
            return dumps_compact((await registry.change_variables(session_id, change)).result)

    @server.tool(description=texts.ALC_VARS_EXPORT, annotations=read_only, structured_output=False)
    async def alc_vars_export(session_id: str = Field(description="Session id or name.")) -> str:
        with caller_mistakes():
            return dumps_compact(
                {"variables": await registry.read_variables(session_id, lambda o: o.variables.export())}
            )

    @server.tool(description=texts.ALC_VARS_IMPORT, annotations=local, structured_output=False)
    async def alc_vars_import(
        session_id: str = Field(description="Session id or name (it must be paused)."),
        variables: list[dict[str, Any]] = Field(
            description="Variable records, as alc_vars_export gives them."
        ),
        replace: bool = Field(default=False, description="Remove the session's other variables first."),
    ) -> str:
        def change(ops: VariableOps) -> Outcome:
            return ops.import_records(variables, replace=replace, now_ms=now_ms(), source=HOST)

        with caller_mistakes():
            outcome = await registry.change_variables(session_id, change)
            return dumps_compact({"imported": [v.name for v in outcome.result]})
