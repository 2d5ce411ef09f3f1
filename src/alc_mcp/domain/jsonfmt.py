"""JSON text exactly as algocline's ``serde_json`` writes it, keys sorted.

Hosts and e2e snapshots compare tool results as text, so the formatting is part of
the wire contract: compact for results, pretty (2 spaces, ``": "``) for status
snapshots. orjson already matches serde's float formatting (shortest round-trip,
``1.0`` keeps its fraction) except for one detail: it writes positive exponents as
``1e+21`` where serde writes ``1e21``. That single difference is patched here.
"""

from __future__ import annotations

import re
from typing import Any, TypeAlias

import orjson

__all__ = ["JsonValue", "dumps_compact", "dumps_pretty"]

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"

_COMPACT = orjson.OPT_SORT_KEYS
_PRETTY = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2

# A JSON string literal (skipped as a whole, so text such as "the+" inside a value is
# never touched) or a positive exponent marker. Outside strings, ``e+`` can only occur
# in a number, because orjson's output is always well-formed JSON.
_STRING_OR_EXPONENT = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|e\+')


def _drop_exponent_plus(match: re.Match[bytes]) -> bytes:
    text = match.group()
    return text if text.startswith(b'"') else b"e"


def _serde_floats(raw: bytes) -> bytes:
    if b"e+" not in raw:
        return raw
    return _STRING_OR_EXPONENT.sub(_drop_exponent_plus, raw)


def dumps_compact(value: Any) -> str:
    """Serialise like ``serde_json::to_string`` over a sorted map (the tool-result format)."""
    return _serde_floats(orjson.dumps(value, option=_COMPACT)).decode("utf-8")


def dumps_pretty(value: Any) -> str:
    """Serialise like ``serde_json::to_string_pretty`` over a sorted map (status snapshots)."""
    return _serde_floats(orjson.dumps(value, option=_PRETTY)).decode("utf-8")
