"""Typed session variables: the knobs a strategy declares and the host can steer.

A variable has a type (``string``, ``integer``, ``float``, ``boolean``, ``choice``,
``json``), optional constraints for that type, a description and metadata, and a version
that starts at 0 and grows by one with every update. Values are checked against the type,
the per-variable size limit and the constraints at every boundary (define, set, batch
set, import), and every refusal says which rule failed ("value 150 is above maximum 100").

The package is layered, each module using only those before it: ``errors`` (what can be
refused), ``values`` (the types and their values), ``constraints`` (per-type rules and
the full value check), ``record`` (``Variable``) and ``variable_set`` (``VariableSet``).
Import from the package itself; the modules' other names are shared between them only.
"""

from __future__ import annotations

from alc_mcp.domain.variables.constraints import PATTERN_TIMEOUT_SECONDS, check_constraints, check_value
from alc_mcp.domain.variables.errors import (
    BatchRejected,
    ConstraintViolation,
    ImportRejected,
    InvalidConstraints,
    InvalidValue,
    UnknownType,
    VariableError,
    VariableExists,
    VariableLimit,
    VariableNotFound,
)
from alc_mcp.domain.variables.record import Variable
from alc_mcp.domain.variables.values import (
    DEFAULT_MAX_BYTES,
    MAX_BYTES_ENV,
    VarType,
    coerce,
    encoded_size,
    parse_type,
    validate_name,
)
from alc_mcp.domain.variables.variable_set import DEFAULT_MAX_COUNT, MAX_COUNT_ENV, VariableSet, glob_match

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_COUNT",
    "MAX_BYTES_ENV",
    "MAX_COUNT_ENV",
    "PATTERN_TIMEOUT_SECONDS",
    "BatchRejected",
    "ConstraintViolation",
    "ImportRejected",
    "InvalidConstraints",
    "InvalidValue",
    "UnknownType",
    "VarType",
    "Variable",
    "VariableError",
    "VariableExists",
    "VariableLimit",
    "VariableNotFound",
    "VariableSet",
    "check_constraints",
    "check_value",
    "coerce",
    "encoded_size",
    "glob_match",
    "parse_type",
    "validate_name",
]
