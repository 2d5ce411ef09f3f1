"""The host's side of session variables (``alc_vars_*``): see, change and delete a
session's typed variables, and export or import them. Each use case returns the
JSON object its tool answers with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alc_mcp.domain.variables import Variable, VariableError
from alc_mcp.engine.clock import now_ms
from alc_mcp.engine.registry import SessionRegistry
from alc_mcp.engine.variables import Outcome, VariableOps

__all__ = ["HostVariables"]

HOST = "host"


class HostVariables:
    def __init__(self, registry: SessionRegistry) -> None:
        self._registry = registry

    async def listing(self, session_id: str, pattern: str | None) -> dict[str, Any]:
        listed = await self._registry.read_variables(session_id, lambda ops: ops.variables.matching(pattern))
        return {"variables": [v.to_json() for v in listed]}

    async def get(self, session_id: str, names: Sequence[str]) -> dict[str, Any]:
        found, missing = await self._registry.read_variables(
            session_id, lambda ops: ops.get_many(names, source=HOST)
        )
        return {"found": {k: v.to_json() for k, v in found.items()}, "missing": missing}

    async def update(
        self, session_id: str, updates: dict[str, Any], *, atomic: bool, reason: str | None
    ) -> dict[str, Any]:
        metadata = {} if reason is None else {"reason": reason}

        def change(ops: VariableOps) -> Outcome:
            return ops.set_many(updates, atomic=atomic, metadata=metadata, now_ms=now_ms(), source=HOST)

        try:
            outcome = await self._registry.change_variables(session_id, change)
        except VariableError as exc:
            errors = getattr(exc, "errors", None)
            if not atomic or errors is None:
                raise
            return {"status": "rejected", "results": {k: {"error": str(e)} for k, e in errors.items()}}
        results = {
            key: {"version": r.version} if isinstance(r, Variable) else {"error": str(r)}
            for key, r in outcome.result.items()
        }
        failed = sum("error" in r for r in results.values())
        status = "applied" if not failed else ("rejected" if failed == len(results) else "partial")
        return {"status": status, "results": results}

    async def delete(self, session_id: str, names: Sequence[str]) -> dict[str, Any]:
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

        result: dict[str, Any] = (await self._registry.change_variables(session_id, change)).result
        return result

    async def export(self, session_id: str) -> dict[str, Any]:
        records = await self._registry.read_variables(session_id, lambda ops: ops.variables.export())
        return {"variables": records}

    async def load(self, session_id: str, records: list[dict[str, Any]], *, replace: bool) -> dict[str, Any]:
        def change(ops: VariableOps) -> Outcome:
            return ops.import_records(records, replace=replace, now_ms=now_ms(), source=HOST)

        outcome = await self._registry.change_variables(session_id, change)
        return {"imported": [v.name for v in outcome.result]}
