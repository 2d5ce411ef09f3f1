"""The variable record: one version of one variable, as the journal and export carry it.

A record is frozen and its containers are treated as read-only, so a ``VariableSet``
can hand records out and keep earlier versions in journal events without copying.
``parse_record`` is the one way a record comes in from JSON (journal replay, import),
so a hand-edited or foreign record meets the same type and constraint checks as a value
from a script; only the size limit is left to the caller, since a journal written under
larger limits must still load.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from alc_mcp.domain.variables.constraints import check_constraints, check_value
from alc_mcp.domain.variables.errors import VariableError, kind_of, shown
from alc_mcp.domain.variables.values import VarType, check_metadata, parse_type, validate_name

__all__ = ["Variable", "check_description", "check_variable_metadata", "parse_record"]


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
        return parse_record(data, defaults=None, max_bytes=None)


def _record_int(data: Mapping[str, Any], key: str, label: str, *, minimum: int | None = None) -> int:
    value = data[key]
    if isinstance(value, int) and not isinstance(value, bool) and (minimum is None or value >= minimum):
        return value
    what = "an integer" if minimum is None else "a non-negative integer"
    raise VariableError(f"{label}: '{key}' must be {what}, got {shown(value)}")


def parse_record(
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
        raise VariableError(f"a variable record must be an object, got {kind_of(data)}")
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
    description = check_description(data.get("description"), name)
    metadata = check_variable_metadata(data.get("metadata"), name, max_bytes)

    fields = dict(data)
    if defaults is not None:
        for key in ("id", "version", "created_at", "updated_at"):
            if fields.get(key) is None:
                fields[key] = defaults(key, name)
    variable_id = fields["id"]
    if not isinstance(variable_id, str) or not variable_id:
        raise VariableError(f"{label}: 'id' must be a non-empty string, got {shown(variable_id)}")
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


def check_description(description: Any, name: str) -> str | None:
    if description is not None and not isinstance(description, str):
        raise VariableError(f"description of variable '{name}' must be a string, got {kind_of(description)}")
    return description


def check_variable_metadata(metadata: Any, name: str, max_bytes: int | None) -> dict[str, Any]:
    """A variable's metadata table, checked and copied; errors name the variable."""
    return check_metadata(metadata, f"metadata of variable '{name}'", max_bytes)
