"""Session variables on the engine side: operations from the script (``alc.vars``) and
from the host (``alc_vars_*`` tools) applied to a session's ``VariableSet``.

Each operation returns its result together with the journal events it caused
(``VarChanged``/``VarRemoved`` with the whole record), so a caller can journal them in
order: the script's changes are queued behind its other events, the host's are
committed before the tool answers. Telemetry never carries values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from alc_mcp import telemetry
from alc_mcp.config import Limits
from alc_mcp.domain.journal import JournalEvent, VarChanged, VarRemoved
from alc_mcp.domain.variables import (
    BatchRejected,
    ConstraintViolation,
    InvalidValue,
    Variable,
    VariableError,
    VariableSet,
)

__all__ = ["Outcome", "VariableOps", "script_call", "with_limits"]


@dataclass(slots=True)
class Outcome:
    result: Any = None
    events: list[JournalEvent] = field(default_factory=list)


def _size(value: Any) -> int:
    return len(orjson.dumps(value))


class VariableOps:
    """The operations on one session's variables. Not thread-safe: callers hold the
    session's lock."""

    def __init__(
        self, session_id: str, variables: VariableSet, presets: Mapping[str, Any] | None = None
    ) -> None:
        self.session_id = session_id
        self.variables = variables
        self._presets = dict(presets or {})

    # --- telemetry ---------------------------------------------------------------------

    def _emit(self, name: str, measurements: dict[str, float] | None = None, **metadata: Any) -> None:
        telemetry.emit(name, measurements, session_id=self.session_id, **metadata)

    def _type_of(self, key: str) -> str | None:
        return self.variables.get(key).type.value if self.variables.has(key) else None

    def _failed(self, error: VariableError, source: str, var_type: str | None) -> None:
        if isinstance(error, ConstraintViolation):
            self._emit("variable.constraint_violation", type=var_type, source=source)
        elif isinstance(error, InvalidValue):
            self._emit("variable.validation_failed", type=var_type, source=source)

    def _changed(self, variable: Variable, event_name: str, source: str) -> VarChanged:
        measurements: dict[str, float] = {"size_bytes": _size(variable.value)}
        if event_name == "variable.updated":
            measurements["version"] = variable.version
        self._emit(event_name, measurements, type=variable.type.value, source=source)
        return VarChanged(variable.to_json())

    # --- operations --------------------------------------------------------------------

    def define(
        self,
        name: str,
        var_type: str,
        initial: Any,
        *,
        constraints: dict[str, Any] | None,
        description: str | None,
        metadata: dict[str, Any],
        now_ms: int,
        source: str,
    ) -> Outcome:
        value = self._presets.get(name, initial)
        try:
            variable = self.variables.define(
                name,
                var_type,
                value,
                constraints=constraints,
                description=description,
                metadata={"source": source, **metadata},
                now_ms=now_ms,
            )
        except VariableError as exc:
            self._failed(exc, source, var_type)
            if name in self._presets:
                raise type(exc)(f"{exc} (the value was preset by the host with vars)") from None
            raise
        return Outcome(variable.id, [self._changed(variable, "variable.registered", source)])

    def get(self, key: str, *, source: str) -> Variable:
        variable = self.variables.get(key)
        self._emit("variable.get", type=variable.type.value, source=source)
        return variable

    def update(self, key: str, value: Any, *, metadata: dict[str, Any], now_ms: int, source: str) -> Outcome:
        try:
            variable = self.variables.update(
                key, value, metadata={"source": source, **metadata}, now_ms=now_ms
            )
        except VariableError as exc:
            self._failed(exc, source, self._type_of(key))
            raise
        return Outcome(variable, [self._changed(variable, "variable.updated", source)])

    def delete(self, key: str, *, source: str) -> Outcome:
        variable = self.variables.delete(key)
        self._emit("variable.deleted", type=variable.type.value, source=source)
        return Outcome(variable, [VarRemoved(variable.id)])

    def get_many(self, keys: Sequence[str], *, source: str) -> tuple[dict[str, Variable], list[str]]:
        found, missing = self.variables.get_many(keys)
        self._emit("variables.batch_get", {"found": len(found), "missing": len(missing)}, source=source)
        return found, missing

    def set_many(
        self, updates: Mapping[str, Any], *, atomic: bool, metadata: dict[str, Any], now_ms: int, source: str
    ) -> Outcome:
        try:
            results = self.variables.set_many(
                updates, atomic=atomic, metadata={"source": source, **metadata}, now_ms=now_ms
            )
        except BatchRejected as exc:
            for key, error in exc.errors.items():
                self._failed(error, source, self._type_of(key))
            self._emit("variables.batch_update", {"applied": 0, "failed": len(exc.errors)}, source=source)
            raise
        events: list[JournalEvent] = []
        failed = 0
        for key, outcome in results.items():
            if isinstance(outcome, Variable):
                events.append(self._changed(outcome, "variable.updated", source))
            else:
                failed += 1
                self._failed(outcome, source, self._type_of(key))
        applied = len(results) - failed
        self._emit("variables.batch_update", {"applied": applied, "failed": failed}, source=source)
        return Outcome(results, events)

    def import_records(
        self, records: Sequence[dict[str, Any]], *, replace: bool, now_ms: int, source: str
    ) -> Outcome:
        before = {v.id for v in self.variables.matching()}
        imported = self.variables.import_records(records, replace=replace, now_ms=now_ms)
        events: list[JournalEvent] = []
        if replace:
            kept = {v.id for v in imported}
            events += [VarRemoved(variable_id) for variable_id in sorted(before - kept)]
        events += [self._changed(v, "variable.registered", source) for v in imported]
        return Outcome(imported, events)


def script_call(ops: VariableOps, op: str, args: dict[str, Any], now_ms: int) -> Outcome:
    """One ``alc.vars.<op>`` call from the script; the result is plain JSON, since it is
    what the journal keeps for a replay. Raises VariableError."""
    source = "lua"
    key = args.get("key", "")
    if op == "define":
        return ops.define(
            args["name"],
            args["type"],
            args.get("initial"),
            constraints=args.get("constraints"),
            description=args.get("description"),
            metadata=args.get("metadata") or {},
            now_ms=now_ms,
            source=source,
        )
    if op == "get":
        return Outcome(ops.get(key, source=source).value)
    if op == "info":
        return Outcome(ops.get(key, source=source).to_json())
    if op == "has":
        return Outcome(ops.variables.has(key))
    if op == "list":
        return Outcome([v.to_json() for v in ops.variables.matching(args.get("pattern"))])
    if op == "set":
        outcome = ops.update(
            key, args.get("value"), metadata=args.get("metadata") or {}, now_ms=now_ms, source=source
        )
        return Outcome(outcome.result.version, outcome.events)
    if op == "delete":
        return Outcome(True, ops.delete(key, source=source).events)
    if op == "get_many":
        found, missing = ops.get_many(args["keys"], source=source)
        return Outcome({"found": {k: v.value for k, v in found.items()}, "missing": missing})
    if op == "set_many":
        outcome = ops.set_many(
            args["updates"],
            atomic=args["atomic"],
            metadata=args.get("metadata") or {},
            now_ms=now_ms,
            source=source,
        )
        results = {k: True if isinstance(r, Variable) else str(r) for k, r in outcome.result.items()}
        return Outcome(results, outcome.events)
    raise ValueError(f"unknown alc.vars operation {op!r}")


def with_limits(variables: VariableSet, limits: Limits) -> VariableSet:
    """The same variables under this server's limits (a set rebuilt from a journal has
    the defaults)."""
    limited = VariableSet(max_count=limits.max_variables, max_bytes=limits.max_variable_bytes)
    for variable in variables.matching():
        limited.put(variable)
    return limited
