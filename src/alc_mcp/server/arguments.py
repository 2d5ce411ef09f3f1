"""Tool arguments checked the same way for every tool, and explained in the tool's words.

The SDK validates a call's arguments against each tool's pydantic model, but it ignores
arguments the tool does not take (a misspelt ``session_ld`` silently becomes "omitted")
and reports a wrong one as raw pydantic text ("1 validation error for
alc_rewindArguments … [type=int_parsing …] For further information visit https://…").

``StrictArgumentsServer`` is the SDK's ``MCPServer`` with two public methods extended, so
every tool registered on it gets the same treatment and no tool needs code of its own:

- ``list_tools`` publishes ``additionalProperties: false`` on every input schema, so a
  client can see up front that unknown arguments are refused;
- ``call_tool`` refuses an argument the tool's schema does not list (naming the ones it
  takes, and the closest match), and rewrites the SDK's validation failure into one line
  per wrong argument: which argument, what was sent, what is expected (read from the
  tool's published JSON schema, so the words match what ``tools/list`` says).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp_types import Tool as MCPTool
from pydantic import ValidationError

__all__ = ["StrictArgumentsServer", "invalid_arguments_message", "unknown_arguments_message"]

#: How much of a rejected value is quoted back.
_SHOWN_CHARS = 60


class StrictArgumentsServer(MCPServer):
    """An ``MCPServer`` whose tools reject unknown arguments and say what is wrong with a
    bad one in plain words (an ``isError`` result, as for any other caller mistake)."""

    _schemas: dict[str, dict[str, Any]] | None = None

    async def list_tools(self) -> list[MCPTool]:
        tools = await super().list_tools()
        return [
            tool.model_copy(update={"input_schema": {**tool.input_schema, "additionalProperties": False}})
            for tool in tools
        ]

    def add_tool(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._schemas = None
        super().add_tool(fn, *args, **kwargs)

    def remove_tool(self, name: str) -> None:
        self._schemas = None
        super().remove_tool(name)

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        schema = (await self._input_schemas()).get(name)
        if schema is not None:
            unknown = unknown_arguments_message(name, arguments, schema)
            if unknown is not None:
                raise ToolError(f"Error executing tool {name}: {unknown}")
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if (
                schema is None
                or isinstance(exc, UnexpectedToolError)
                or not isinstance(cause, ValidationError)
            ):
                raise
            raise ToolError(
                f"Error executing tool {name}: {invalid_arguments_message(cause, schema)}"
            ) from cause

    async def _input_schemas(self) -> dict[str, dict[str, Any]]:
        if self._schemas is None:
            self._schemas = {tool.name: dict(tool.input_schema) for tool in await super().list_tools()}
        return self._schemas


def unknown_arguments_message(
    tool: str, arguments: Mapping[str, Any], schema: Mapping[str, Any]
) -> str | None:
    """The refusal of arguments ``schema`` does not list, or None when there are none."""
    known = list(schema.get("properties") or {})
    unknown = [key for key in arguments if key not in known]
    if not unknown:
        return None
    parts = []
    for key in unknown:
        close = difflib.get_close_matches(key, known, n=1)
        parts.append(f"`{key}`" + (f" (did you mean `{close[0]}`?)" if close else ""))
    noun = "argument" if len(unknown) == 1 else "arguments"
    takes = ", ".join(f"`{k}`" for k in known) if known else "no arguments"
    return f"unknown {noun} {', '.join(parts)}; {tool} takes {takes}."


def invalid_arguments_message(error: ValidationError, schema: Mapping[str, Any]) -> str:
    """One line per rejected argument: which one, what was sent, what is expected."""
    lines = []
    seen: set[str] = set()
    for item in error.errors(include_url=False):
        loc = tuple(item.get("loc") or ())
        path = _path(loc)
        if path in seen:  # a union reports each arm; one line per argument is enough
            continue
        seen.add(path)
        node = _schema_at(schema, loc)
        expected = _expected(node, schema) if node is not None else None
        expected = expected or _expected_from_error(item)
        if item.get("type") == "missing":
            line = f"missing `{path}`: expected {expected}"
        else:
            line = f"`{path}`: got {_shown(item.get('input'))}; expected {expected}"
        description = node.get("description") if isinstance(node, dict) else None
        if description and len(loc) == 1:
            line += f" — {description.rstrip('.')}"
        lines.append(line + ".")
    if not lines:
        return "the arguments do not match the tool's input schema."
    if len(lines) == 1:
        (line,) = lines
        return (
            f"missing argument {line.removeprefix('missing ')}"
            if line.startswith("missing ")
            else (f"invalid argument {line}")
        )
    return "invalid arguments:\n" + "\n".join(lines)


def _path(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "arguments"


def _shown(value: Any) -> str:
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 1] + "…"
    return f"{text} ({_json_kind(value)})"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _resolve(node: Any, root: Mapping[str, Any]) -> Any:
    """Follow a local ``$ref`` (``#/$defs/Name``) to its definition."""
    while (
        isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/$defs/")
    ):
        node = (root.get("$defs") or {}).get(node["$ref"].removeprefix("#/$defs/"))
    return node


def _arms(node: Any, root: Mapping[str, Any]) -> list[Any]:
    node = _resolve(node, root)
    if isinstance(node, dict) and isinstance(node.get("anyOf"), list):
        return [_resolve(arm, root) for arm in node["anyOf"]]
    return [node]


def _schema_at(root: Mapping[str, Any], loc: Sequence[Any]) -> dict[str, Any] | None:
    """The schema of the value at ``loc`` (keys and array indexes), or None."""
    node: Any = root
    for part in loc:
        found = None
        for arm in _arms(node, root):
            if not isinstance(arm, dict):
                continue
            if isinstance(part, int) and isinstance(arm.get("items"), dict):
                found = arm["items"]
            elif isinstance(part, str) and part in (arm.get("properties") or {}):
                found = arm["properties"][part]
            if found is not None:
                break
        if found is None:
            return None
        node = found
    node = _resolve(node, root)
    return node if isinstance(node, dict) else None


_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a JSON object",
    "array": "a JSON array",
}


def _expected(node: Mapping[str, Any], root: Mapping[str, Any]) -> str | None:
    """What a value of schema ``node`` is, in words: "a whole number, at least 0"."""
    words = []
    nullable = False
    for arm in _arms(node, root):
        if not isinstance(arm, dict):
            continue
        if arm.get("type") == "null":
            nullable = True
            continue
        phrase = _one_type(arm, root)
        if phrase and phrase not in words:
            words.append(phrase)
    if not words:
        return None
    text = " or ".join(words)
    return text + " (or null)" if nullable else text


def _one_type(node: Mapping[str, Any], root: Mapping[str, Any]) -> str | None:
    if "enum" in node:
        return "one of " + ", ".join(orjson.dumps(v).decode() for v in node["enum"])
    kind = node.get("type")
    if kind is None and "properties" in node:
        kind = "object"
    phrase = _TYPE_WORDS.get(kind) if isinstance(kind, str) else None
    if phrase is None:
        return None
    bounds = []
    for key, word in (("minimum", "at least"), ("exclusiveMinimum", "above"), ("maximum", "at most")):
        if key in node:
            bounds.append(f"{word} {node[key]}")
    if "exclusiveMaximum" in node:
        bounds.append(f"below {node['exclusiveMaximum']}")
    if kind == "string":
        if "minLength" in node:
            bounds.append(f"at least {node['minLength']} characters")
        if "maxLength" in node:
            bounds.append(f"at most {node['maxLength']} characters")
    if kind == "array" and isinstance(node.get("items"), dict):
        item = _expected(node["items"], root)
        if item:
            phrase = f"a JSON array of {_plural(item)}"
    if kind == "object":
        fields = _resolve(node, root).get("properties") or {}
        required = set(node.get("required") or ())
        if fields:
            listed = ", ".join(f"`{k}`" + ("" if k in required else "?") for k in fields)
            phrase = f"a JSON object {{{listed}}}"
    return phrase + (", " + " and ".join(bounds) if bounds else "")


def _plural(phrase: str) -> str:
    for single, many in (
        ("a whole number", "whole numbers"),
        ("a number", "numbers"),
        ("a string", "strings"),
    ):
        if phrase.startswith(single):
            return many + phrase[len(single) :]
    return phrase.removeprefix("a ").removeprefix("an ") + " values"


def _expected_from_error(item: Mapping[str, Any]) -> str:
    """Fallback when the schema has no words for it: pydantic's own message, reworded."""
    message = str(item.get("msg") or "a valid value")
    for prefix in ("Input should be ", "Value should be "):
        if message.startswith(prefix):
            return message.removeprefix(prefix)
    if item.get("type") == "missing":
        return "a value"
    return message[:1].lower() + message[1:]
