"""``completion/complete``: what a host can offer its user while they fill in a resource
template or a prompt.

- ``alc://strategies/{name}`` (and ``/meta``): the names of the packages require() finds;
- ``alc://sessions/{session_id}`` (and ``/variables/{name}``): the ids and names of the
  paused and running sessions, then the variable names of the chosen session;
- ``alc://cards/{card_id}``: card ids and aliases;
- a strategy prompt's ``opts``: the JSON of that strategy's knobs at their defaults.

Values are the candidates starting with what the user typed (case-insensitive), sorted,
at most 100 (the spec's limit) with ``total`` and ``hasMore`` telling the rest. A
candidate list that cannot be had (an unknown session, a store that is down) is empty:
completion is a convenience, never an error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp_types import CompleteRequestParams, CompleteResult, Completion, PromptReference

from alc_mcp.app import CALLER_MISTAKES, SessionService
from alc_mcp.app.errors import ScratchError
from alc_mcp.domain.jsonfmt import dumps_compact
from alc_mcp.server.session_resources import SESSION_URI, VARIABLE_URI

__all__ = ["MAX_VALUES", "candidates", "register_completions"]

#: The most values one completion may carry (MCP spec).
MAX_VALUES = 100

Candidates = Callable[[SessionService, dict[str, str]], Awaitable[list[str]]]


async def _strategies(service: SessionService, _arguments: dict[str, str]) -> list[str]:
    return sorted({package.name for package in service.catalog.resolver.installed()})


async def _sessions(service: SessionService, _arguments: dict[str, str]) -> list[str]:
    listing = await service.status_all(None, False)
    keys = []
    for snapshot in listing["sessions"]:
        keys.append(snapshot["session_id"])
        if snapshot.get("name"):
            keys.append(snapshot["name"])
    return keys


async def _variables(service: SessionService, arguments: dict[str, str]) -> list[str]:
    session = arguments.get("session_id")
    if not session:
        return []
    return [record["name"] for record in (await service.vars_list(session, None))["variables"]]


async def _cards(service: SessionService, _arguments: dict[str, str]) -> list[str]:
    cards = (await service.evaluations.card_list(limit=MAX_VALUES * 10))["cards"]
    aliases = (await service.evaluations.aliases())["aliases"]
    return [alias["alias"] for alias in aliases] + [card["card_id"] for card in cards]


RESOURCE_ARGUMENTS: dict[tuple[str, str], Candidates] = {
    ("alc://strategies/{name}", "name"): _strategies,
    ("alc://strategies/{name}/meta", "name"): _strategies,
    (SESSION_URI, "session_id"): _sessions,
    (VARIABLE_URI, "session_id"): _sessions,
    (VARIABLE_URI, "name"): _variables,
    ("alc://cards/{card_id}", "card_id"): _cards,
}


async def _default_opts(service: SessionService, strategy: str) -> list[str]:
    """A strategy prompt's ``opts``: its knobs at their defaults, ready to edit."""
    try:
        meta = await service.catalog.read_meta(strategy)
    except ScratchError:
        return []
    inputs = meta.get("inputs")
    if not isinstance(inputs, dict):
        return []
    defaults = {
        key: spec["default"]
        for key, spec in inputs.items()
        if key != "task" and isinstance(spec, dict) and spec.get("default") is not None
    }
    return [dumps_compact(defaults)] if defaults else []


async def candidates(service: SessionService, params: CompleteRequestParams) -> list[str]:
    """Everything the argument could be, before matching what was typed."""
    arguments = (params.context.arguments if params.context else None) or {}
    ref, name = params.ref, params.argument.name
    try:
        if isinstance(ref, PromptReference):
            # Every prompt is a strategy's, named after it.
            return await _default_opts(service, ref.name) if name == "opts" else []
        source = RESOURCE_ARGUMENTS.get((ref.uri, name))
        return await source(service, arguments) if source is not None else []
    except CALLER_MISTAKES:
        return []


def completion(values: list[str], typed: str) -> Completion:
    prefix = typed.casefold()
    matches = sorted({value for value in values if value.casefold().startswith(prefix)})
    return Completion(values=matches[:MAX_VALUES], total=len(matches), has_more=len(matches) > MAX_VALUES)


def register_completions(server: MCPServer[Any]) -> None:
    """Serve ``completion/complete`` (and so declare the ``completions`` capability).

    Registered on the low-level server, as ``MCPServer.completion`` does itself, because
    that decorator hands its handler no request context, and the candidates live in the
    lifespan's service."""

    async def complete(
        context: ServerRequestContext[SessionService], params: CompleteRequestParams
    ) -> CompleteResult:
        values = await candidates(context.lifespan_context, params)
        return CompleteResult(completion=completion(values, params.argument.value))

    server._lowlevel_server.add_request_handler("completion/complete", CompleteRequestParams, complete)
