"""Typed session variables: the knobs a strategy declares and the host can steer.

A variable has a type (``string``, ``integer``, ``float``, ``boolean``, ``choice``,
``json``), optional constraints for that type, a description and metadata, and a version
that starts at 0 and grows by one with every update. Values are checked against the type,
the per-variable size limit and the constraints at every boundary (define, set, batch
set, import), and every refusal says which rule failed ("value 150 is above maximum 100").

``VariableSet`` holds one session's variables. It is pure: no locks, no I/O, no clock
(callers pass ``now_ms``), no randomness (ids come from an injectable factory). Every
mutating method either applies fully or raises and changes nothing.

Records are immutable by convention: every value, constraint spec and metadata dict is
copied when it enters the set, and what the set hands out must be treated as read-only
(``to_json`` shares nested containers with the record instead of copying them).
"""

from __future__ import annotations

import enum
import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import regex

DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_MAX_COUNT = 1000

#: Environment variables that raise the limits; the limit errors name them.
MAX_BYTES_ENV = "ALC_MAX_VARIABLE_BYTES"
MAX_COUNT_ENV = "ALC_MAX_VARIABLES"

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_MAX_DEPTH = 128  # nesting of json values and metadata (orjson itself stops at 254)
#: A pattern comes from an untrusted script; a bounded match keeps a pathological one
#: from pinning a thread (the regex engine checks the clock itself; Python's re cannot).
PATTERN_TIMEOUT_SECONDS = 0.25

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")
_ID_SUFFIX = re.compile(r"_(\d+)\Z")
_ID_ATTEMPTS = 16


# ── errors ──────────────────────────────────────────────────


class VariableError(ValueError):
    """Base; ``str()`` is the clear message the user sees (Lua error text / tool error text)."""


class UnknownType(VariableError):
    """The type is not one of the six variable types."""


class InvalidValue(VariableError):
    """The value does not have the variable's type."""


class ConstraintViolation(VariableError):
    """The value has the right type but breaks one of the variable's constraints."""


class InvalidConstraints(VariableError):
    """The constraint spec itself is wrong (unknown key, min > max, bad regex, …)."""


class VariableNotFound(VariableError):
    def __init__(self, key: object) -> None:
        super().__init__(f"variable '{key}' not found")
        self.key = key


class VariableExists(VariableError):
    def __init__(self, name: str, variable_id: str) -> None:
        super().__init__(f"variable '{name}' is already defined (id {variable_id}); use set to change it")
        self.name = name
        self.variable_id = variable_id


class VariableLimit(VariableError):
    """A count or size limit was hit; the message names the limit and how to raise it."""


class BatchRejected(VariableError):
    """An atomic batch update had at least one invalid entry, so none was applied."""

    def __init__(self, errors: dict[str, VariableError]) -> None:
        detail = "; ".join(f"{key}: {error}" for key, error in errors.items())
        super().__init__(f"atomic update rejected, nothing changed: {detail}")
        self.errors = errors


class ImportRejected(VariableError):
    """At least one imported record was invalid, so none was imported."""

    def __init__(self, errors: dict[int, VariableError]) -> None:
        detail = "; ".join(f"record {index}: {error}" for index, error in errors.items())
        super().__init__(f"import rejected, nothing changed: {detail}")
        self.errors = errors


# ── types and values ────────────────────────────────────────


class VarType(enum.StrEnum):
    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    JSON = "json"


def parse_type(type: VarType | str) -> VarType:
    """The ``VarType`` for a type name; ``UnknownType`` for anything else."""
    if isinstance(type, VarType):
        return type
    try:
        return VarType(type)
    except ValueError:
        raise UnknownType(
            f"unknown variable type '{type}' (use string, integer, float, boolean, choice or json)"
        ) from None


def _kind(value: Any) -> str:
    """The JSON-ish name of a value's type, as error messages show it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return value.__class__.__name__


def _show(value: Any, limit: int = 40) -> str:
    """A value for an error message: numbers as written, strings quoted and shortened."""
    if isinstance(value, str):
        text = value if len(value) <= limit else value[: limit - 1] + "…"
        return "'" + text + "'"
    return repr(value)


def validate_name(name: str) -> str:
    """Return ``name`` if it is identifier-like (``[A-Za-z_][A-Za-z0-9_.-]{0,127}``)."""
    if not isinstance(name, str):
        raise VariableError(f"a variable name must be a string, got {_kind(name)}")
    if not _NAME.fullmatch(name):
        raise VariableError(
            f"invalid variable name {_show(name)}: use 1 to 128 letters, digits, '_', '.' or '-', "
            "starting with a letter or '_'"
        )
    return name


class _NotJson(Exception):
    """Internal: a value inside a json structure is not JSON; ``path`` grows while unwinding."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str] = []


def _json_copy(value: Any, depth: int = 0) -> Any:
    """A fresh copy of a JSON value (tuples become lists), or ``_NotJson``."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise _NotJson(f"integer {value} is outside the 64-bit range")
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotJson(f"number {value!r} is not finite")
        return float(value)
    if isinstance(value, list | tuple | dict) and depth >= _MAX_DEPTH:
        raise _NotJson(f"nested deeper than {_MAX_DEPTH} levels")
    if isinstance(value, list | tuple):
        out: list[Any] = []
        for index, item in enumerate(value):
            try:
                out.append(_json_copy(item, depth + 1))
            except _NotJson as err:
                err.path.append(f"[{index}]")
                raise
        return out
    if isinstance(value, dict):
        obj: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotJson(f"object key {key!r} is not a string")
            try:
                obj[key] = _json_copy(item, depth + 1)
            except _NotJson as err:
                err.path.append(f".{key}")
                raise
        return obj
    raise _NotJson(f"{_kind(value)} is not a JSON type")


def _json_path(err: _NotJson) -> str:
    return "$" + "".join(reversed(err.path))


def encoded_size(value: Any) -> int:
    """Bytes of the compact JSON encoding of a (checked) value."""
    return len(orjson.dumps(value))


def coerce(type: VarType, value: Any, name: str) -> Any:
    """Check ``value`` against the type; return the value as stored.

    An int is accepted for a float (stored as float); an integral float is accepted for an
    integer (2.0 → 2, 1.5 is refused); a boolean is never a number; a choice is a string;
    a json value is any JSON value (copied, tuples become lists).
    """
    var_type = parse_type(type)
    if var_type is VarType.STRING:
        if not isinstance(value, str):
            raise InvalidValue(f"variable '{name}' must be a string, got {_kind(value)}")
        return value
    if var_type is VarType.CHOICE:
        if not isinstance(value, str):
            raise InvalidValue(f"variable '{name}' must be a string (one of its choices), got {_kind(value)}")
        return value
    if var_type is VarType.BOOLEAN:
        if not isinstance(value, bool):
            raise InvalidValue(f"variable '{name}' must be a boolean, got {_kind(value)}")
        return value
    if var_type is VarType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue(f"variable '{name}' must be an integer, got {_kind(value)}")
        if isinstance(value, float):
            if not value.is_integer():  # also false for inf and nan
                raise InvalidValue(f"variable '{name}' must be an integer, got {value!r}")
            value = int(value)
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise InvalidValue(f"variable '{name}' value {value} is outside the 64-bit integer range")
        return int(value)
    if var_type is VarType.FLOAT:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue(f"variable '{name}' must be a number, got {_kind(value)}")
        try:
            number = float(value)
        except OverflowError:
            raise InvalidValue(f"variable '{name}' value {value} is too large for a float") from None
        if not math.isfinite(number):
            raise InvalidValue(f"variable '{name}' must be a finite number, got {number!r}")
        return number
    try:
        return _json_copy(value)
    except _NotJson as err:
        raise InvalidValue(
            f"variable '{name}' must be a JSON value: {err.reason} at {_json_path(err)}"
        ) from None


# ── constraints ─────────────────────────────────────────────

_ALLOWED: dict[VarType, tuple[str, ...]] = {
    VarType.STRING: ("min_length", "max_length", "pattern"),
    VarType.INTEGER: ("min", "max"),
    VarType.FLOAT: ("min", "max"),
    VarType.BOOLEAN: (),
    VarType.CHOICE: ("choices",),
    VarType.JSON: ("max_size",),
}


def _whole(value: Any) -> int | None:
    """An int for an int or an integral float (Lua may hand over 3.0); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _count_constraint(key: str, value: Any, name: str, *, minimum: int) -> int:
    number = _whole(value)
    if number is None or number < minimum:
        what = "a non-negative integer" if minimum == 0 else "a positive integer"
        raise InvalidConstraints(
            f"constraint '{key}' of variable '{name}' must be {what}, got {_show(value)}"
        )
    return number


def _bound_constraint(var_type: VarType, key: str, value: Any, name: str) -> int | float:
    if var_type is VarType.INTEGER:
        number = _whole(value)
        if number is None:
            raise InvalidConstraints(
                f"constraint '{key}' of integer variable '{name}' must be an integer, got {_show(value)}"
            )
        return number
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidConstraints(
            f"constraint '{key}' of float variable '{name}' must be a finite number, got {_show(value)}"
        )
    return float(value)


def check_constraints(type: VarType, constraints: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """Validate a constraint spec for the type; return a normalised copy.

    A key whose value is None counts as absent. ``choices`` is required for a choice.
    """
    var_type = parse_type(type)
    if constraints is None:
        constraints = {}
    if not isinstance(constraints, Mapping):
        raise InvalidConstraints(
            f"constraints of variable '{name}' must be a table of constraint names to values, "
            f"got {_kind(constraints)}"
        )
    allowed = _ALLOWED[var_type]
    for key in constraints:
        if key not in allowed:
            hint = f"allowed: {', '.join(allowed)}" if allowed else f"{var_type} variables take none"
            raise InvalidConstraints(f"unknown constraint '{key}' for {var_type} variable '{name}' ({hint})")
    spec = {key: value for key, value in constraints.items() if value is not None}
    out: dict[str, Any] = {}

    if var_type is VarType.STRING:
        for key in ("min_length", "max_length"):
            if key in spec:
                out[key] = _count_constraint(key, spec[key], name, minimum=0)
        if out.get("min_length", 0) > out.get("max_length", math.inf):
            raise InvalidConstraints(
                f"constraint min_length {out['min_length']} is greater than max_length "
                f"{out['max_length']} for variable '{name}'"
            )
        if "pattern" in spec:
            pattern = spec["pattern"]
            if not isinstance(pattern, str):
                raise InvalidConstraints(
                    f"constraint 'pattern' of variable '{name}' must be a string, got {_kind(pattern)}"
                )
            try:
                regex.compile(pattern)
            except regex.error as err:
                raise InvalidConstraints(
                    f"constraint pattern {_show(pattern)} of variable '{name}' "
                    f"is not a valid regular expression: {err}"
                ) from None
            out["pattern"] = pattern

    elif var_type in (VarType.INTEGER, VarType.FLOAT):
        for key in ("min", "max"):
            if key in spec:
                out[key] = _bound_constraint(var_type, key, spec[key], name)
        if "min" in out and "max" in out and out["min"] > out["max"]:
            raise InvalidConstraints(
                f"constraint min {out['min']!r} is greater than max {out['max']!r} for variable '{name}'"
            )

    elif var_type is VarType.CHOICE:
        choices = spec.get("choices")
        if (
            not isinstance(choices, list | tuple)
            or not choices
            or not all(isinstance(choice, str) for choice in choices)
        ):
            raise InvalidConstraints(
                f"choice variable '{name}' needs constraint 'choices': a non-empty list of distinct strings"
            )
        seen: set[str] = set()
        for choice in choices:
            if choice in seen:
                raise InvalidConstraints(f"choice {_show(choice)} is listed twice for variable '{name}'")
            seen.add(choice)
        out["choices"] = list(choices)

    elif var_type is VarType.JSON and "max_size" in spec:
        out["max_size"] = _count_constraint("max_size", spec["max_size"], name, minimum=1)

    return out


def _check_constraint_values(
    var_type: VarType, value: Any, constraints: Mapping[str, Any], name: str, size: int
) -> None:
    if var_type is VarType.STRING:
        length = len(value)
        low = constraints.get("min_length")
        if low is not None and length < low:
            raise ConstraintViolation(
                f"variable '{name}' value of length {length} is shorter than min_length {low}"
            )
        high = constraints.get("max_length")
        if high is not None and length > high:
            raise ConstraintViolation(
                f"variable '{name}' value of length {length} is longer than max_length {high}"
            )
        pattern = constraints.get("pattern")
        if pattern is not None and not _matches(pattern, value, name):
            raise ConstraintViolation(
                f"variable '{name}' value {_show(value)} does not match pattern {_show(pattern, 80)}"
            )
    elif var_type in (VarType.INTEGER, VarType.FLOAT):
        low = constraints.get("min")
        if low is not None and value < low:
            raise ConstraintViolation(f"variable '{name}' value {value!r} is below minimum {low!r}")
        high = constraints.get("max")
        if high is not None and value > high:
            raise ConstraintViolation(f"variable '{name}' value {value!r} is above maximum {high!r}")
    elif var_type is VarType.CHOICE:
        choices = constraints.get("choices")
        if choices is not None and value not in choices:
            listed = ", ".join(_show(choice) for choice in choices)
            raise ConstraintViolation(
                f"variable '{name}' value {_show(value)} is not one of the choices {listed}"
            )
    elif var_type is VarType.JSON:
        limit = constraints.get("max_size")
        if limit is not None and size > limit:
            raise ConstraintViolation(
                f"variable '{name}' value is larger than max_size {limit} bytes ({size} bytes as JSON)"
            )


def check_value(
    var_type: VarType,
    value: Any,
    constraints: Mapping[str, Any],
    name: str,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> Any:
    """Type check, size limit, then constraints; return the value as stored.

    ``constraints`` should be a spec normalised by ``check_constraints``. ``max_bytes=None``
    skips the size limit (used when loading a record that was accepted before).
    """
    var_type = parse_type(var_type)
    stored = coerce(var_type, value, name)
    try:
        size = encoded_size(stored)
    except orjson.JSONEncodeError as err:  # e.g. a string holding lone surrogates
        raise InvalidValue(f"variable '{name}' value cannot be stored as JSON: {err}") from None
    if max_bytes is not None and size > max_bytes:
        raise VariableLimit(
            f"variable '{name}' value is {size} bytes as JSON, over the limit of {max_bytes} bytes "
            f"per variable; store less or raise {MAX_BYTES_ENV}"
        )
    _check_constraint_values(var_type, stored, constraints, name, size)
    return stored


def _check_metadata(metadata: Any, label: str, max_bytes: int | None) -> dict[str, Any]:
    """A fresh copy of a metadata table (a JSON object), within the size limit.

    ``label`` names it in errors, e.g. "metadata of variable 'x'".
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise VariableError(f"{label} must be a table, got {_kind(metadata)}")
    try:
        copy = _json_copy(metadata)
        size = encoded_size(copy)
    except _NotJson as err:
        raise VariableError(f"{label} must be JSON: {err.reason} at {_json_path(err)}") from None
    except orjson.JSONEncodeError as err:
        raise VariableError(f"{label} cannot be stored as JSON: {err}") from None
    if max_bytes is not None and size > max_bytes:
        raise VariableLimit(
            f"{label} is {size} bytes as JSON, over the limit of {max_bytes} bytes "
            f"per variable; store less or raise {MAX_BYTES_ENV}"
        )
    return copy


def _meta_label(name: str) -> str:
    return f"metadata of variable '{name}'"


def _check_description(description: Any, name: str) -> str | None:
    if description is not None and not isinstance(description, str):
        raise VariableError(f"description of variable '{name}' must be a string, got {_kind(description)}")
    return description


@functools.lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts = [".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts), re.DOTALL)


def glob_match(pattern: str, name: str) -> bool:
    """Whole-name match where ``*`` is any run of characters and ``?`` exactly one."""
    return _glob_regex(pattern).fullmatch(name) is not None


def _check_now(now_ms: Any) -> int:
    if isinstance(now_ms, bool) or not isinstance(now_ms, int):
        raise TypeError(f"now_ms must be an int (milliseconds), got {now_ms!r}")
    return now_ms


# ── the record ──────────────────────────────────────────────

_REQUIRED = ("id", "name", "type", "value", "version", "created_at", "updated_at")
_OPTIONAL = ("constraints", "description", "metadata")
_FIELDS = frozenset(_REQUIRED + _OPTIONAL)


@dataclass(frozen=True, slots=True)
class Variable:
    id: str
    name: str
    type: VarType
    value: Any
    constraints: dict[str, Any]
    description: str | None
    metadata: dict[str, Any]
    version: int
    created_at: int
    updated_at: int

    def to_json(self) -> dict[str, Any]:
        """All fields, the type as its string (nested containers are shared, read-only)."""
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type.value,
            "value": self.value,
            "constraints": dict(self.constraints),
            "description": self.description,
            "metadata": dict(self.metadata),
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Variable:
        """The inverse of ``to_json``; checks the shape, the type, constraints and value."""
        return _parse_record(data, defaults=None, max_bytes=None)


def _record_int(data: Mapping[str, Any], key: str, label: str, *, minimum: int | None = None) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
        what = "an integer" if minimum is None else "a non-negative integer"
        raise VariableError(f"{label}: '{key}' must be {what}, got {_show(value)}")
    return value


def _parse_record(
    data: Any,
    *,
    defaults: Callable[[str, str], Any] | None,
    max_bytes: int | None,
) -> Variable:
    """Build a checked ``Variable`` from a JSON record.

    With ``defaults`` (import), only name, type and value are required; a missing (or
    null) id, version or timestamp is ``defaults(field, name)``, asked for only once the
    rest of the record has been checked.
    """
    if not isinstance(data, Mapping):
        raise VariableError(f"a variable record must be an object, got {_kind(data)}")
    label = f"variable record '{data['name']}'" if isinstance(data.get("name"), str) else "variable record"
    unknown = sorted(str(key) for key in data if key not in _FIELDS)
    if unknown:
        raise VariableError(
            f"{label}: unknown field {', '.join(repr(k) for k in unknown)} "
            f"(fields: {', '.join(_REQUIRED + _OPTIONAL)})"
        )
    required = _REQUIRED if defaults is None else ("name", "type", "value")
    missing = [key for key in required if key not in data]
    if missing:
        raise VariableError(f"{label}: missing field {', '.join(repr(k) for k in missing)}")

    name = validate_name(data["name"])
    var_type = parse_type(data["type"])
    constraints = check_constraints(var_type, data.get("constraints"), name)
    value = check_value(var_type, data["value"], constraints, name, max_bytes)
    description = _check_description(data.get("description"), name)
    metadata = _check_metadata(data.get("metadata"), _meta_label(name), max_bytes)

    fields = dict(data)
    if defaults is not None:
        for key in ("id", "version", "created_at", "updated_at"):
            if fields.get(key) is None:
                fields[key] = defaults(key, name)
    variable_id = fields["id"]
    if not isinstance(variable_id, str) or not variable_id:
        raise VariableError(f"{label}: 'id' must be a non-empty string, got {_show(variable_id)}")
    version = _record_int(fields, "version", label, minimum=0)
    created_at = _record_int(fields, "created_at", label)
    updated_at = _record_int(fields, "updated_at", label)
    return Variable(
        id=variable_id,
        name=name,
        type=var_type,
        value=value,
        constraints=constraints,
        description=description,
        metadata=metadata,
        version=version,
        created_at=created_at,
        updated_at=updated_at,
    )


# ── the set ─────────────────────────────────────────────────


class VariableSet:
    """One session's variables. Every mutating method either applies fully or raises and changes nothing.

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

    def list(self, pattern: str | None = None) -> list[Variable]:
        """Variables oldest first, optionally only names matching a ``*``/``?`` glob."""
        ordered = self._ordered()
        if pattern is None:
            return ordered
        if not isinstance(pattern, str):
            raise VariableError(f"a name pattern must be a string, got {_kind(pattern)}")
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
        description = _check_description(description, name)
        meta = _check_metadata(metadata, _meta_label(name), self._max_bytes)
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
            meta = _check_metadata(
                {**variable.metadata, **metadata}, _meta_label(variable.name), self._max_bytes
            )
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

    def set(self, key: str, value: Any, *, metadata: dict[str, Any] | None = None, now_ms: int) -> Variable:
        """Validate and store a new value; version + 1; metadata merged over the old."""
        _check_now(now_ms)
        variable = self.get(key)
        update_meta = _check_metadata(metadata, _meta_label(variable.name), self._max_bytes)
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
            raise VariableError(f"updates must be a table of names to values, got {_kind(updates)}")
        update_meta = _check_metadata(metadata, "metadata of the batch update", self._max_bytes)
        results: dict[str, Variable | VariableError] = {}
        if not atomic:
            for key, value in updates.items():
                try:
                    results[key] = self.set(key, value, metadata=update_meta, now_ms=now_ms)
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

    def import_(
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
            raise VariableError(f"import needs a list of variable records, got {_kind(records)}")
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
                variable = _parse_record(record, defaults=defaults, max_bytes=self._max_bytes)
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


def _matches(pattern: str, value: str, name: str) -> bool:
    try:
        return regex.search(pattern, value, timeout=PATTERN_TIMEOUT_SECONDS) is not None
    except TimeoutError:
        raise ConstraintViolation(
            f"variable '{name}' value could not be checked against pattern {_show(pattern, 80)} within "
            f"{PATTERN_TIMEOUT_SECONDS} s; use a simpler pattern"
        ) from None
