"""Constraints: the per-type rules a variable's values must keep, and the one check every
stored value goes through.

A spec is checked once, when the variable is defined, and normalised (Lua's ``3.0``
becomes ``3``, a None entry is dropped), so checking a value later never has to doubt
the spec. The ``pattern`` comes from an untrusted script, so it is matched with a
timeout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson
import regex

from alc_mcp.domain.variables.errors import (
    ConstraintViolation,
    InvalidConstraints,
    InvalidValue,
    kind_of,
    shown,
)
from alc_mcp.domain.variables.values import (
    DEFAULT_MAX_BYTES,
    VarType,
    check_size,
    coerce,
    encoded_size,
    parse_type,
)

__all__ = ["PATTERN_TIMEOUT_SECONDS", "check_constraints", "check_value"]

#: A pattern comes from an untrusted script; a bounded match keeps a pathological one
#: from pinning a thread (the regex engine checks the clock itself; Python's re cannot).
PATTERN_TIMEOUT_SECONDS = 0.25

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
            f"constraint '{key}' of variable '{name}' must be {what}, got {shown(value)}"
        )
    return number


def _bound_constraint(var_type: VarType, key: str, value: Any, name: str) -> int | float:
    if var_type is VarType.INTEGER:
        number = _whole(value)
        if number is None:
            raise InvalidConstraints(
                f"constraint '{key}' of integer variable '{name}' must be an integer, got {shown(value)}"
            )
        return number
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidConstraints(
            f"constraint '{key}' of float variable '{name}' must be a finite number, got {shown(value)}"
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
            f"got {kind_of(constraints)}"
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
                    f"constraint 'pattern' of variable '{name}' must be a string, got {kind_of(pattern)}"
                )
            try:
                regex.compile(pattern)
            except regex.error as err:
                raise InvalidConstraints(
                    f"constraint pattern {shown(pattern)} of variable '{name}' "
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
                raise InvalidConstraints(f"choice {shown(choice)} is listed twice for variable '{name}'")
            seen.add(choice)
        out["choices"] = list(choices)

    elif var_type is VarType.JSON and "max_size" in spec:
        out["max_size"] = _count_constraint("max_size", spec["max_size"], name, minimum=1)

    return out


def _matches(pattern: str, value: str, name: str) -> bool:
    try:
        return regex.search(pattern, value, timeout=PATTERN_TIMEOUT_SECONDS) is not None
    except TimeoutError:
        raise ConstraintViolation(
            f"variable '{name}' value could not be checked against pattern {shown(pattern, 80)} within "
            f"{PATTERN_TIMEOUT_SECONDS} s; use a simpler pattern"
        ) from None


def _enforce(var_type: VarType, value: Any, constraints: Mapping[str, Any], name: str, size: int) -> None:
    """Refuse a value, already in its stored form, that breaks the spec; ``size`` is its JSON size."""
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
                f"variable '{name}' value {shown(value)} does not match pattern {shown(pattern, 80)}"
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
            listed = ", ".join(shown(choice) for choice in choices)
            raise ConstraintViolation(
                f"variable '{name}' value {shown(value)} is not one of the choices {listed}"
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
    check_size(f"variable '{name}' value", size, max_bytes)
    _enforce(var_type, stored, constraints, name, size)
    return stored
