"""A scripted host for eval tests: answers each pause of an eval session by matching
the prompt against a table of known questions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FACTUAL = {
    "largest": "Jupiter",
    "capital city of Japan": "Tokyo",
    "formula of water": "H2O",
    "longest river in Africa": "The Nile",
    "Hamlet": "Shakespeare",
    "land on the Moon": "1969",
    "Red Planet": "Mars",
    "smallest prime": "2",
}


def cot_reply(answers: dict[str, str], wrong: set[str] | None = None) -> Callable[[str], str]:
    """A chain-of-thought style reply with the right answer (or a wrong one for the keys in ``wrong``)."""

    def reply(prompt: str) -> str:
        for key, answer in answers.items():
            if key in prompt:
                if wrong and key in wrong:
                    return "Let me think.\nAnswer: I do not know"
                return f"Let me think step by step.\nAnswer: {answer}"
        return "Answer: ?"

    return reply


async def drive(host: Any, first: dict[str, Any], reply: Callable[[str], str]) -> tuple[dict[str, Any], int]:
    """Answer every pause of a session until it ends; returns the final result and the pause count."""
    result = first
    pauses = 0
    while result["status"] == "needs_response":
        pauses += 1
        queries = result.get("queries") or [{"id": result["query_id"], "prompt": result["prompt"]}]
        responses = [{"query_id": q["id"], "response": reply(q["prompt"])} for q in queries]
        result = await host.ok("alc_continue", session_id=result["session_id"], responses=responses)
    return result, pauses
