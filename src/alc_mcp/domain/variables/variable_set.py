"""``VariableSet``: one session's variables, and the rules that hold across them.

The set is pure: no locks, no I/O, no clock (callers pass ``now_ms``), no randomness
(ids come from an injectable factory), so the engine can rebuild it from a journal and
get the same set, and tests can drive it without a session. Every mutating method
either applies fully or raises and changes nothing, because a half-applied batch or
import would leave the journal and the script disagreeing.

Records are immutable by convention: every value, constraint spec and metadata dict is
copied when it enters the set, and what the set hands out must be treated as read-only
(``Variable.to_json`` shares nested containers with the record instead of copying them).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from alc_mcp.domain.variables.constraints import check_constraints, check_value
from alc_mcp.domain.variables.errors import (
    BatchRejected,
    ImportRejected,
    VariableError,
    VariableExists,
    VariableLimit,
    VariableNotFound,
    kind_of,
)
from alc_mcp.domain.variables.record import (
    Variable,
    check_description,
    check_variable_metadata,
    parse_record,
)
from alc_mcp.domain.variables.values import (
    DEFAULT_MAX_BYTES,
    VarType,
    check_metadata,
    parse_type,
    validate_name,
)

__all__ = ["DEFAULT_MAX_COUNT", "MAX_COUNT_ENV", "VariableSet", "glob_match"]

DEFAULT_MAX_COUNT = 1000

#: Environment variable that raises the count limit; the limit error names it.
MAX_COUNT_ENV = "ALC_MAX_VARIABLES"

_ID_SUFFIX = re.compile(r"_(\d+)\Z")
_ID_ATTEMPTS = 16


@functools.lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts = [".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts), re.DOTALL)


def glob_match(pattern: str, name: str) -> bool:
    """Whole-name match where ``*`` is any run of characters and ``?`` exactly one."""
    return _glob_regex(pattern).fullmatch(name) is not None


def _check_now(now_ms: Any) -> None:
    if isinstance(now_ms, bool) or not isinstance(now_ms, int):
        raise TypeError(f"now_ms must be an int (milliseconds), got {now_ms!r}")


class VariableSet:
    """One session's variables.

    Keys are ids or names (ids are looked up first; an id never equals another variable's
    name). Listing order is creation time, ties broken by insertion order.
    """

    __slots__ = ("_by_id", "_counter", "_id_by_name", "_max_bytes", "_max_count", "_new_id", "_seq", "_ticks")

    def __init__(
        self,
        *,
        max_count: int = DEFAULT_MAX_COUNT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        new_id: Callable[[str], str] | None = None,
    ) -> None:
        for label, limit in (("max_count", max_count), ("max_bytes", max_bytes)):
            if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
                raise ValueError(f"{label} must be a positive integer, got {limit!r}")
        self._max_count = max_count
        self._max_bytes = max_bytes
        self._new_id = new_id
        self._by_id: dict[str, Variable] = {}
        self._id_by_name: dict[str, str] = {}
        self._seq: dict[str, int] = {}  # id → insertion tick, for stable ordering
        self._ticks = 0
        self._counter = 0  # the default id factory's last number

    # ── lookup ──

    def _resolve(self, key: Any) -> str | None:
        if not isinstance(key, str):
            return None
        if key in self._by_id:
            return key
        return self._id_by_name.get(key)

    def get(self, key: str) -> Variable:
        """The variable with this id or name; ``VariableNotFound`` otherwise."""
        variable_id = self._resolve(key)
        if variable_id is None:
            raise VariableNotFound(key)
        return self._by_id[variable_id]

    def has(self, key: str) -> bool:
        return self._resolve(key) is not None

    def __len__(self) -> int:
        return len(self._by_id)

    def _ordered(self) -> list[Variable]:
        return sorted(self._by_id.values(), key=lambda v: (v.created_at, self._seq[v.id]))

    def matching(self, pattern: str | None = None) -> list[Variable]:
        """Variables oldest first, optionally only names matching a ``*``/``?`` glob."""
        ordered = self._ordered()
        if pattern is None:
            return ordered
        if not isinstance(pattern, str):
            raise VariableError(f"a name pattern must be a string, got {kind_of(pattern)}")
        return [v for v in ordered if glob_match(pattern, v.name)]

    def names(self) -> list[str]:
        return [v.name for v in self._ordered()]

    def get_many(self, keys: Sequence[str]) -> tuple[dict[str, Variable], list[str]]:
        """(found keyed by the requested key, missing keys in request order, each once)."""
        found: dict[str, Variable] = {}
        missing: list[str] = []
        for key in keys:
            variable_id = self._resolve(key)
            if variable_id is not None:
                found[key] = self._by_id[variable_id]
            elif key not in missing:
                missing.append(key)
        return found, missing

    def export(self) -> list[dict[str, Any]]:
        return [v.to_json() for v in self._ordered()]

    # ── ids and the indexes ──

    def _allocate_id(self, name: str, taken: Callable[[str], bool]) -> str:
        candidate = ""
        for _ in range(_ID_ATTEMPTS):
            if self._new_id is None:
                self._counter += 1
                candidate = f"var_{name}_{self._counter}"
            else:
                candidate = self._new_id(name)
                if not isinstance(candidate, str) or not candidate:
                    raise VariableError(f"the id factory returned {candidate!r} for variable '{name}'")
            if not taken(candidate):
                return candidate
        raise VariableError(f"could not allocate a unique id for variable '{name}' (last tried {candidate})")

    def _id_taken(self, candidate: str) -> bool:
        return candidate in self._by_id or candidate in self._id_by_name

    def _note_id(self, variable_id: str) -> None:
        """Keep the default factory ahead of ids that enter from outside (journal, import)."""
        if self._new_id is None:
            match = _ID_SUFFIX.search(variable_id)
            if match:
                self._counter = max(self._counter, int(match.group(1)))

    def _insert(self, variable: Variable) -> None:
        old = self._by_id.get(variable.id)
        if old is not None:
            del self._id_by_name[old.name]
        else:
            self._ticks += 1
            self._seq[variable.id] = self._ticks
        self._by_id[variable.id] = variable
        self._id_by_name[variable.name] = variable.id
        self._note_id(variable.id)

    def _drop(self, variable_id: str) -> Variable:
        variable = self._by_id.pop(variable_id)
        del self._id_by_name[variable.name]
        del self._seq[variable_id]
        return variable

    # ── mutation ──

    def define(
        self,
        name: str,
        type: VarType | str,
        initial: Any,
        *,
        constraints: dict[str, Any] | None = None,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        now_ms: int,
    ) -> Variable:
        """Create a variable at version 0."""
        _check_now(now_ms)
        validate_name(name)
        existing = self._id_by_name.get(name)
        if existing is not None:
            raise VariableExists(name, existing)
        if name in self._by_id:
            raise VariableError(
                f"variable name '{name}' is already the id of variable '{self._by_id[name].name}'; "
                "choose another name"
            )
        var_type = parse_type(type)
        spec = check_constraints(var_type, constraints, name)
        value = check_value(var_type, initial, spec, name, self._max_bytes)
        description = check_description(description, name)
        meta = check_variable_metadata(metadata, name, self._max_bytes)
        if len(self._by_id) >= self._max_count:
            raise VariableLimit(
                f"cannot define variable '{name}': the session already has {len(self._by_id)} variables, "
                f"the limit; delete some or raise {MAX_COUNT_ENV} (now {self._max_count})"
            )
        variable = Variable(
            id=self._allocate_id(name, self._id_taken),
            name=name,
            type=var_type,
            value=value,
            constraints=spec,
            description=description,
            metadata=meta,
            version=0,
            created_at=now_ms,
            updated_at=now_ms,
        )
        self._insert(variable)
        return variable

    def _updated(self, variable: Variable, value: Any, metadata: dict[str, Any], now_ms: int) -> Variable:
        """The next version of ``variable`` (checked, not stored)."""
        stored = check_value(variable.type, value, variable.constraints, variable.name, self._max_bytes)
        meta = variable.metadata
        if metadata:
            meta = check_variable_metadata({**variable.metadata, **metadata}, variable.name, self._max_bytes)
        return Variable(
            id=variable.id,
            name=variable.name,
            type=variable.type,
            value=stored,
            constraints=variable.constraints,
            description=variable.description,
            metadata=meta,
            version=variable.version + 1,
            created_at=variable.created_at,
            updated_at=now_ms,
        )

    def update(
        self, key: str, value: Any, *, metadata: dict[str, Any] | None = None, now_ms: int
    ) -> Variable:
        """Validate and store a new value; version + 1; metadata merged over the old."""
        _check_now(now_ms)
        variable = self.get(key)
        update_meta = check_variable_metadata(metadata, variable.name, self._max_bytes)
        new = self._updated(variable, value, update_meta, now_ms)
        self._insert(new)
        return new

    def set_many(
        self,
        updates: Mapping[str, Any],
        *,
        atomic: bool,
        metadata: dict[str, Any] | None = None,
        now_ms: int,
    ) -> dict[str, Variable | VariableError]:
        """Update several variables, keyed by id or name, in the mapping's order.

        Non-atomic: each update is applied or its error recorded. Atomic: all are checked
        first; any error raises ``BatchRejected`` (every failing key and why) and nothing
        changes. Metadata that is not a JSON table is refused for the whole call.
        """
        _check_now(now_ms)
        if not isinstance(updates, Mapping):
            raise VariableError(f"updates must be a table of names to values, got {kind_of(updates)}")
        update_meta = check_metadata(metadata, "metadata of the batch update", self._max_bytes)
        results: dict[str, Variable | VariableError] = {}
        if not atomic:
            for key, value in updates.items():
                try:
                    results[key] = self.update(key, value, metadata=update_meta, now_ms=now_ms)
                except VariableError as err:
                    results[key] = err
            return results

        staged: dict[str, Variable] = {}  # id → next record, so repeated keys build on each other
        errors: dict[str, VariableError] = {}
        for key, value in updates.items():
            try:
                variable_id = self._resolve(key)
                if variable_id is None:
                    raise VariableNotFound(key)
                current = staged.get(variable_id, self._by_id[variable_id])
                new = self._updated(current, value, update_meta, now_ms)
            except VariableError as err:
                errors[str(key)] = err
                continue
            staged[variable_id] = new
            results[key] = new
        if errors:
            raise BatchRejected(errors)
        for new in staged.values():
            self._insert(new)
        return results

    def delete(self, key: str) -> Variable:
        """Remove a variable by id or name and return it."""
        variable_id = self._resolve(key)
        if variable_id is None:
            raise VariableNotFound(key)
        return self._drop(variable_id)

    def put(self, variable: Variable) -> None:
        """Insert or replace a whole record (rebuilding from a journal).

        The record is trusted (no value or limit checks: a journal written under larger
        limits must still load), but names stay unique and never shadow another id.
        """
        if not isinstance(variable, Variable):
            raise TypeError(f"put needs a Variable, got {variable.__class__.__name__}")
        owner = self._id_by_name.get(variable.name)
        if owner is not None and owner != variable.id:
            raise VariableExists(variable.name, owner)
        if variable.name in self._by_id and variable.name != variable.id:
            raise VariableError(
                f"variable name '{variable.name}' is already the id of variable "
                f"'{self._by_id[variable.name].name}'"
            )
        other = self._id_by_name.get(variable.id)
        if other is not None and other != variable.id:
            raise VariableError(
                f"variable id '{variable.id}' is already the name of another variable (id {other})"
            )
        self._insert(variable)

    def remove(self, variable_id: str) -> None:
        """Remove by id if present (rebuilding from a journal)."""
        if variable_id in self._by_id:
            self._drop(variable_id)

    def import_records(
        self,
        records: Sequence[dict[str, Any]],
        *,
        replace: bool = False,
        now_ms: int,
    ) -> list[Variable]:
        """Import exported records; all or nothing.

        A record needs name, type and value; a missing id is allocated, a missing version
        is 0 and missing timestamps are ``now_ms``. Every record is checked (type,
        constraints, value, size, name and id uniqueness) and the count limit applied
        before anything changes. ``replace=True`` drops the current variables first.
        """
        _check_now(now_ms)
        if isinstance(records, str | bytes) or not isinstance(records, Sequence):
            raise VariableError(f"import needs a list of variable records, got {kind_of(records)}")
        base_ids = set() if replace else set(self._by_id)
        base_names = {} if replace else dict(self._id_by_name)
        new_ids: set[str] = set()
        new_names: dict[str, str] = {}
        # Ids and names the records bring along, so an allocated id never collides with them.
        reserved = {
            r[key]
            for r in records
            if isinstance(r, Mapping)
            for key in ("id", "name")
            if isinstance(r.get(key), str)
        }
        counter = self._counter

        def defaults(key: str, name: str) -> Any:
            if key == "id":
                return self._allocate_id(
                    name,
                    lambda c: c in base_ids or c in base_names or c in new_ids or c in reserved,
                )
            return 0 if key == "version" else now_ms

        parsed: list[Variable] = []
        errors: dict[int, VariableError] = {}
        for index, record in enumerate(records):
            try:
                variable = parse_record(record, defaults=defaults, max_bytes=self._max_bytes)
                self._check_unique(variable, base_ids, base_names, new_ids, new_names)
            except VariableError as err:
                errors[index] = err
                continue
            new_ids.add(variable.id)
            new_names[variable.name] = variable.id
            parsed.append(variable)
        if errors:
            self._counter = counter
            raise ImportRejected(errors)
        total = len(base_ids) + len(parsed)
        if total > self._max_count:
            self._counter = counter
            raise VariableLimit(
                f"import rejected, nothing changed: {len(parsed)} variables would make {total}, "
                f"over the limit of {self._max_count} per session; import fewer or raise {MAX_COUNT_ENV}"
            )
        if replace:
            self._by_id.clear()
            self._id_by_name.clear()
            self._seq.clear()
        for variable in parsed:
            self._insert(variable)
        return parsed

    @staticmethod
    def _check_unique(
        variable: Variable,
        base_ids: set[str],
        base_names: dict[str, str],
        new_ids: set[str],
        new_names: dict[str, str],
    ) -> None:
        name, variable_id = variable.name, variable.id
        owner = base_names.get(name) or new_names.get(name)
        if owner is not None:
            raise VariableExists(name, owner)
        if variable_id in base_ids or variable_id in new_ids:
            raise VariableError(f"variable record '{name}': id '{variable_id}' is already in use")
        if (name in base_ids or name in new_ids) and name != variable_id:
            raise VariableError(f"variable record '{name}': the name is already the id of another variable")
        if (variable_id in base_names or variable_id in new_names) and variable_id != name:
            raise VariableError(
                f"variable record '{name}': id '{variable_id}' is already the name of another variable"
            )
