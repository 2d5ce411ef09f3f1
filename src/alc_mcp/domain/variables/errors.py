"""Every refusal a variable operation can raise, and how their messages name a value.

``str()`` of each error is the message the user sees (Lua error text or tool error
text), so it says which rule failed and, for a limit, how to raise it. Callers catch
``VariableError`` for all of them; the subclasses let telemetry tell a wrong type from a
broken constraint.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BatchRejected",
    "ConstraintViolation",
    "ImportRejected",
    "InvalidConstraints",
    "InvalidValue",
    "UnknownType",
    "VariableError",
    "VariableExists",
    "VariableLimit",
    "VariableNotFound",
    "kind_of",
    "shown",
]


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


def kind_of(value: Any) -> str:
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
    return type(value).__name__


def shown(value: Any, limit: int = 40) -> str:
    """A value for an error message: numbers as written, strings quoted and shortened."""
    if isinstance(value, str):
        text = value if len(value) <= limit else value[: limit - 1] + "…"
        return "'" + text + "'"
    return repr(value)
