"""Driving a strategy through the real MCP server with a scripted host.

A responder is a function ``(prompt, system) -> answer``. ``advise`` runs a bundled
strategy with ``alc_advice`` and answers every pause until the session ends, keeping
each pause's queries so tests can check the strategy's round-trip structure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import Host

Responder = Callable[[str, str | None], str]

#: A host model that ignores every requested format.
PROSE = (
    "Well, that is an interesting question, and there are many ways to look at it. "
    "I would rather discuss the considerations at length than commit to anything specific."
)


def prose(_prompt: str, _system: str | None) -> str:
    return PROSE


@dataclass
class Run:
    final: dict[str, Any]
    pauses: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def round_trips(self) -> int:
        return len(self.pauses)

    @property
    def result(self) -> Any:
        """The strategy's answer: ``ctx.result`` of the returned ctx."""
        assert self.final["status"] == "completed", self.final
        return self.final["result"]["result"]

    @property
    def prompts(self) -> list[str]:
        return [q["prompt"] for pause in self.pauses for q in pause]


def queries_of(reply: dict[str, Any]) -> list[dict[str, Any]]:
    if "queries" in reply:
        return reply["queries"]
    return [{"id": reply["query_id"], **{k: reply[k] for k in ("prompt", "system", "max_tokens")}}]


async def drive(host: Host, reply: dict[str, Any], answer: Responder, max_round_trips: int = 500) -> Run:
    run = Run(reply)
    while reply["status"] == "needs_response":
        assert len(run.pauses) < max_round_trips, "the strategy never finished"
        queries = queries_of(reply)
        run.pauses.append(queries)
        responses = [{"query_id": q["id"], "response": answer(q["prompt"], q.get("system"))} for q in queries]
        reply = await host.ok("alc_continue", session_id=reply["session_id"], responses=responses)
    run.final = reply
    return run


async def advise(
    host: Host, strategy: str, task: str, answer: Responder, opts: dict[str, Any] | None = None
) -> Run:
    reply = await host.ok("alc_advice", strategy=strategy, task=task, opts=opts or {})
    return await drive(host, reply, answer)
