"""The six variable types and what a value of each must be before it can be stored.

Values cross from Lua and from MCP clients, so they arrive loosely typed (Lua hands over
``3.0`` for ``3``; JSON has one number type). ``coerce`` turns an acceptable value into
the one stored form and refuses the rest; JSON values and metadata are copied on the way
in, so nothing the caller keeps can change a stored record. Every stored value and
metadata table also has to fit the per-variable size limit, measured as compact JSON,
since that is what the journal writes.
"""

from __future__ import annotations

import enum
import math
import re
from typing import Any

import orjson

from alc_mcp.domain.variables.errors import (
    InvalidValue,
    UnknownType,
    VariableError,
    VariableLimit,
    kind_of,
    shown,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_BYTES_ENV",
    "VarType",
    "check_metadata",
    "check_size",
    "coerce",
    "encoded_size",
    "parse_type",
    "validate_name",
]

DEFAULT_MAX_BYTES = 1024 * 1024

#: Environment variable that raises the size limit; the limit errors name it.
MAX_BYTES_ENV = "ALC_MAX_VARIABLE_BYTES"

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_MAX_DEPTH = 128  # nesting of json values and metadata (orjson itself stops at 254)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")


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


def validate_name(name: str) -> str:
    """Return ``name`` if it is identifier-like (``[A-Za-z_][A-Za-z0-9_.-]{0,127}``)."""
    if not isinstance(name, str):
        raise VariableError(f"a variable name must be a string, got {kind_of(name)}")
    if not _NAME.fullmatch(name):
        raise VariableError(
            f"invalid variable name {shown(name)}: use 1 to 128 letters, digits, '_', '.' or '-', "
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
    raise _NotJson(f"{kind_of(value)} is not a JSON type")


def _json_path(err: _NotJson) -> str:
    return "$" + "".join(reversed(err.path))


def encoded_size(value: Any) -> int:
    """Bytes of the compact JSON encoding of a (checked) value."""
    return len(orjson.dumps(value))


def check_size(label: str, size: int, max_bytes: int | None) -> None:
    """Refuse ``size`` bytes over ``max_bytes`` (None: no limit, for records accepted before).

    ``label`` names what is too big in the error, e.g. "variable 'x' value".
    """
    if max_bytes is not None and size > max_bytes:
        raise VariableLimit(
            f"{label} is {size} bytes as JSON, over the limit of {max_bytes} bytes "
            f"per variable; store less or raise {MAX_BYTES_ENV}"
        )


def coerce(type: VarType, value: Any, name: str) -> Any:
    """Check ``value`` against the type; return the value as stored.

    An int is accepted for a float (stored as float); an integral float is accepted for an
    integer (2.0 → 2, 1.5 is refused); a boolean is never a number; a choice is a string;
    a json value is any JSON value (copied, tuples become lists).
    """
    var_type = parse_type(type)
    if var_type is VarType.STRING:
        if not isinstance(value, str):
            raise InvalidValue(f"variable '{name}' must be a string, got {kind_of(value)}")
        return value
    if var_type is VarType.CHOICE:
        if not isinstance(value, str):
            raise InvalidValue(
                f"variable '{name}' must be a string (one of its choices), got {kind_of(value)}"
            )
        return value
    if var_type is VarType.BOOLEAN:
        if not isinstance(value, bool):
            raise InvalidValue(f"variable '{name}' must be a boolean, got {kind_of(value)}")
        return value
    if var_type is VarType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue(f"variable '{name}' must be an integer, got {kind_of(value)}")
        if isinstance(value, float):
            if not value.is_integer():  # also false for inf and nan
                raise InvalidValue(f"variable '{name}' must be an integer, got {value!r}")
            value = int(value)
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise InvalidValue(f"variable '{name}' value {value} is outside the 64-bit integer range")
        return int(value)
    if var_type is VarType.FLOAT:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue(f"variable '{name}' must be a number, got {kind_of(value)}")
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


def check_metadata(metadata: Any, label: str, max_bytes: int | None) -> dict[str, Any]:
    """A fresh copy of a metadata table (a JSON object), within the size limit.

    ``label`` names it in errors, e.g. "metadata of variable 'x'".
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise VariableError(f"{label} must be a table, got {kind_of(metadata)}")
    try:
        copy: dict[str, Any] = _json_copy(metadata)
        size = encoded_size(copy)
    except _NotJson as err:
        raise VariableError(f"{label} must be JSON: {err.reason} at {_json_path(err)}") from None
    except orjson.JSONEncodeError as err:
        raise VariableError(f"{label} cannot be stored as JSON: {err}") from None
    check_size(label, size, max_bytes)
    return copy
