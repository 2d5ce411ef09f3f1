"""MCP resources and prompts: what a host can read and offer its user without
calling a tool.

- ``alc://types/alc.d.lua``: the LuaCATS types of the ``alc.*`` API, for editors;
- ``alc://strategies/{name}`` and ``alc://strategies/{name}/meta``: a package's source
  and its ``M.meta`` as JSON;
- one prompt per bundled strategy, telling the host model how to drive it.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.server.mcpserver.prompts.base import Prompt

from alc_mcp.app.catalog import PackageCatalog
from alc_mcp.app.errors import PackageError, ScratchError
from alc_mcp.domain.jsonfmt import dumps_compact, dumps_pretty

__all__ = ["TYPES_URI", "register_prompts", "register_resources", "strategy_instructions"]

TYPES_URI = "alc://types/alc.d.lua"


def register_resources(server: MCPServer, catalog: PackageCatalog) -> None:
    @server.resource(
        TYPES_URI,
        name="alc.d.lua",
        description="LuaCATS type definitions of the alc.* Lua API (for lua-language-server).",
        mime_type="text/x-lua",
    )
    def alc_types() -> str:
        return catalog.types_text()

    @server.resource(
        "alc://strategies/{name}",
        name="strategy source",
        description="The init.lua of a strategy package (bundled or installed).",
        mime_type="text/x-lua",
    )
    def strategy_source(name: str) -> str:
        try:
            return catalog.source_text(name)
        except PackageError as exc:
            raise ResourceNotFoundError(f"no strategy '{name}': {exc}") from None

    @server.resource(
        "alc://strategies/{name}/meta",
        name="strategy meta",
        description="A strategy's M.meta as JSON: version, description, category, paper and inputs.",
        mime_type="application/json",
    )
    async def strategy_meta(name: str) -> str:
        try:
            return dumps_pretty(await catalog.read_meta(name))
        except PackageError as exc:
            raise ResourceNotFoundError(f"no strategy '{name}': {exc}") from None
        except ScratchError as exc:
            raise ResourceError(f"cannot read the meta of '{name}': {exc}") from None


def register_prompts(server: MCPServer, catalog: PackageCatalog) -> list[str]:
    """One prompt per bundled strategy, named after it; returns their names."""
    names = []
    for package in catalog.bundled():
        if package.name in names:
            continue
        try:
            meta = catalog.meta_now(package.name)
        except ScratchError:
            continue  # a broken bundled strategy is reported by its tests, not at start-up
        server.add_prompt(_strategy_prompt(package.name, dumps_compact(meta)))
        names.append(package.name)
    return names


@functools.lru_cache(maxsize=256)
def _strategy_prompt(name: str, meta_json: str) -> Prompt:
    """The prompt of one strategy; cached per (name, meta), since a prompt holds no state
    and building it is pydantic work every server would otherwise repeat."""
    meta = orjson.loads(meta_json)
    description = str(meta.get("description") or f"the {name} strategy")

    def render(task: str, opts: str = "") -> str:
        return strategy_instructions(name, meta, task, opts)

    render.__name__ = name
    return Prompt.from_function(render, name=name, title=f"{name}: {description}", description=description)


def strategy_instructions(name: str, meta: dict[str, Any], task: str, opts: str = "") -> str:
    inputs = _table(meta, "inputs")
    knobs = [
        f"- {key}{_default_text(spec)}: {spec.get('description', '')}"
        for key, spec in sorted(inputs.items())
        if key != "task" and isinstance(spec, dict)
    ]
    paper = _table(meta, "paper")
    lines = [
        f'Use the alc-mcp strategy "{name}" ({meta.get("description", "")}) on this task:',
        "",
        task,
        "",
        "Drive it like this:",
        f'1. Call the tool alc_advice with strategy "{name}", the task above, and opts '
        f"{opts.strip() or '{}'} (a JSON object).",
        '2. While the result has "status": "needs_response", you are the model being asked: answer each '
        'query yourself, following its "system" instructions exactly and staying within "max_tokens"; '
        "answer only what it asks, in the format it asks for. Then call alc_continue with the session_id: "
        '"response" for a single query (query_id), or "responses": [{"query_id", "response"}, ...] to '
        "answer all queries of a batch in one call.",
        '3. Stop when "status" is "completed": the answer is in result.result (usually '
        "result.result.answer). Tell the user the answer and, briefly, how the strategy reached it. "
        'If "status" is "error", report the error instead.',
    ]
    if knobs:
        lines += ["", "Options you can put in opts:", *knobs]
    if paper.get("title"):
        lines += [
            "",
            f"Technique: {paper.get('title')} ({paper.get('authors', '')}, {paper.get('year', '')}).",
        ]
    return "\n".join(lines)


def _table(meta: dict[str, Any], key: str) -> dict[str, Any]:
    """``meta[key]`` if it is a table, else empty: meta comes from third-party Lua."""
    value = meta.get(key)
    return value if isinstance(value, dict) else {}


def _default_text(spec: dict[str, Any]) -> str:
    """`` (default <JSON>)`` for a knob with a default (JSON, as the host writes opts:
    ``null``, ``false``, ``["a", "b"]``), nothing for one without."""
    if spec.get("default") is None:
        return ""
    return f" (default {dumps_compact(spec['default'])})"
