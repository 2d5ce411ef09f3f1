"""``alc_status(pending_filter=…)``: which parts of the pending queries a host wants to see.

Prompts can be long, and a host polling status usually needs only ids or a preview,
so the projection is opt-in and per field. Errors are tool errors whose wording
follows algocline (tests grep for the preset and type messages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from alc_mcp.domain.query import LlmQuery

__all__ = ["PendingFilter", "PendingFilterError", "PromptMode", "parse_pending_filter", "project"]

PromptMode = Literal["off", "preview", "full"]

_VALID_PRESETS = '"meta" | "preview" | "full"'
_FLAG_FIELDS = ("query_id", "max_tokens", "system", "grounded", "underspecified")
_OBJECT_FIELDS = (*_FLAG_FIELDS, "prompt")
_PROMPT_MODES: tuple[PromptMode, ...] = ("off", "preview", "full")
_PROMPT_FIELDS = ("mode", "chars")


class PendingFilterError(ValueError):
    """A ``pending_filter`` argument the server cannot use; the message is shown to the host."""


@dataclass(frozen=True, slots=True)
class PendingFilter:
    query_id: bool = False
    max_tokens: bool = False
    system: bool = False
    grounded: bool = False
    underspecified: bool = False
    prompt_mode: PromptMode = "off"
    prompt_chars: int = 200
    """Characters kept by ``prompt_mode == "preview"``; ignored by the other modes."""


def _json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _invalid(detail: str) -> PendingFilterError:
    return PendingFilterError(f"invalid pending_filter object: {detail}")


def _expected_list(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _preset(name: str, preview_chars: int) -> PendingFilter:
    if name == "meta":
        return PendingFilter(query_id=True, max_tokens=True, prompt_chars=preview_chars)
    if name == "preview":
        return PendingFilter(
            query_id=True, max_tokens=True, prompt_mode="preview", prompt_chars=preview_chars
        )
    if name == "full":
        return PendingFilter(
            query_id=True,
            max_tokens=True,
            system=True,
            grounded=True,
            underspecified=True,
            prompt_mode="full",
            prompt_chars=preview_chars,
        )
    raise PendingFilterError(f"unknown pending_filter preset '{name}' (valid: {_VALID_PRESETS})")


def _parse_prompt(value: Any, preview_chars: int) -> tuple[PromptMode, int]:
    if not isinstance(value, dict):
        got = _json_type_name(value)
        raise _invalid(f'field `prompt` must be an object like {{"mode": "preview"}}, got {got}')
    for key in value:
        if key not in _PROMPT_FIELDS:
            expected = _expected_list(_PROMPT_FIELDS)
            raise _invalid(f"unknown field `{key}` in `prompt`, expected one of {expected}")
    if "mode" not in value:
        raise _invalid("missing field `mode` in `prompt`")
    mode = value["mode"]
    if mode not in _PROMPT_MODES:
        shown = f"'{mode}'" if isinstance(mode, str) else _json_type_name(mode)
        raise _invalid(f"unknown `prompt.mode` {shown}, expected one of {_expected_list(_PROMPT_MODES)}")
    chars = value.get("chars", preview_chars)
    if isinstance(chars, bool) or not isinstance(chars, int) or chars < 0:
        raise _invalid(f"field `prompt.chars` must be a non-negative integer, got {_json_type_name(chars)}")
    return mode, chars


def _parse_object(value: dict[Any, Any], preview_chars: int) -> PendingFilter:
    for key in value:
        if key not in _OBJECT_FIELDS:
            raise _invalid(f"unknown field `{key}`, expected one of {_expected_list(_OBJECT_FIELDS)}")
    flags: dict[str, bool] = {}
    for name in _FLAG_FIELDS:
        flag = value.get(name, False)
        if not isinstance(flag, bool):
            raise _invalid(f"field `{name}` must be a boolean, got {_json_type_name(flag)}")
        flags[name] = flag
    mode: PromptMode = "off"
    chars = preview_chars
    if "prompt" in value:
        mode, chars = _parse_prompt(value["prompt"], preview_chars)
    return PendingFilter(**flags, prompt_mode=mode, prompt_chars=chars)


def parse_pending_filter(value: Any, preview_chars: int = 200) -> PendingFilter | None:
    """Turn the tool argument into a filter; None (JSON null or absent) means "no projection"."""
    if value is None:
        return None
    if isinstance(value, str):
        return _preset(value, preview_chars)
    if isinstance(value, dict):
        return _parse_object(value, preview_chars)
    raise PendingFilterError(
        f"pending_filter must be a preset name (string) or filter object, got {_json_type_name(value)}"
    )


def project(query: LlmQuery, f: PendingFilter) -> dict[str, Any]:
    """The selected fields of one pending query; unselected fields produce no key at all."""
    out: dict[str, Any] = {}
    if f.query_id:
        out["query_id"] = query.id
    if f.max_tokens:
        out["max_tokens"] = query.max_tokens
    if f.system:
        out["system"] = query.system
    if f.grounded:
        out["grounded"] = query.grounded
    if f.underspecified:
        out["underspecified"] = query.underspecified
    if f.prompt_mode == "preview":
        # Slicing a str cuts on code points, so a preview never splits a UTF-8 sequence.
        out["prompt_preview"] = query.prompt[: f.prompt_chars]
    elif f.prompt_mode == "full":
        out["prompt"] = query.prompt
    return out
