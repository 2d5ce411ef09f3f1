"""What every backend stores the same way: JSON text columns, journal rows, session rows,
free names and the key that makes an answer unique.

Each backend speaks its own SQL; the shape of what goes in and comes out is one thing,
kept here so SQLite and PostgreSQL cannot drift apart (a journal written by one reads
back identically through the other).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from alc_mcp.domain.journal import (
    Answered,
    Asked,
    JournalEntry,
    JournalError,
    JournalEvent,
    decode_event,
    encode_event,
)
from alc_mcp.domain.records import SessionRow
from alc_mcp.domain.state import Phase

__all__ = [
    "FINISHED_STATUSES",
    "STATUSES",
    "UnknownSession",
    "answer_keys",
    "check_status",
    "encode",
    "entry",
    "free_name",
    "session_row",
    "to_json_text",
    "update_values",
]

STATUSES: frozenset[str] = frozenset(phase.value for phase in Phase)
FINISHED_STATUSES: tuple[str, ...] = (Phase.COMPLETED.value, Phase.FAILED.value, Phase.CANCELLED.value)

# Two words give ~30,000 names; past that many sessions collisions get frequent, so
# after this many tries the attempt number is appended (``amber-falcon-37``).
_PLAIN_NAME_TRIES = 32
_NAME_TRIES = 1_000
#: In a session row as the backends select it (SessionRow's field order), the one column
#: stored as JSON text.
_STATS_COLUMN = 10


class UnknownSession(KeyError):
    """A write named a session the store does not have."""

    def __str__(self) -> str:  # KeyError would print the repr of its argument
        return f"unknown session {self.args[0]!r}"


def to_json_text(value: Any, what: str) -> str:
    """``value`` as the JSON text a column holds; ``TypeError`` naming ``what`` if JSON cannot.

    TEXT, not BLOB, so the file stays readable with the sqlite3 shell and json_extract.
    """
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as exc:
        raise TypeError(f"cannot store {what}: {exc}") from exc


def check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(sorted(STATUSES))}, not {status!r}")


def free_name(names: Callable[[], str], taken: Callable[[str], bool]) -> str:
    """A name from ``names`` that ``taken`` says no session has yet."""
    for attempt in range(_NAME_TRIES):
        name = names()
        if attempt >= _PLAIN_NAME_TRIES:
            name = f"{name}-{attempt}"
        if not taken(name):
            return name
    raise RuntimeError(f"no free session name after {_NAME_TRIES} tries")  # pragma: no cover


def session_row(values: Sequence[Any]) -> SessionRow:
    """A selected session row (its columns in SessionRow's field order), stats decoded."""
    columns = list(values)
    stats = columns[_STATS_COLUMN]
    columns[_STATS_COLUMN] = orjson.loads(stats) if stats is not None else None
    return SessionRow(*columns)


def encode(event: JournalEvent) -> tuple[str, str]:
    kind, data = encode_event(event)
    return kind, to_json_text(data, f"a {kind!r} journal event")


def entry(session_id: str, seq: int, kind: str, data: str, at: int) -> JournalEntry:
    try:
        event = decode_event(kind, orjson.loads(data))
    except (ValueError, TypeError, KeyError) as exc:
        raise JournalError(
            f"journal entry {seq} ({kind!r}) of session {session_id!r} cannot be read: {exc}"
        ) from exc
    return JournalEntry(seq, at, event)


def answer_keys(events: Sequence[tuple[int, JournalEvent]], asked_before: int) -> list[tuple[int, int, str]]:
    """``(position in events, pause, query id)`` of each answer in a batch being appended.

    Query ids repeat from one pause to the next (``q-0`` every time), so an answer is
    unique by the pause it answers (the number of ``Asked`` events before it, counting
    the ``asked_before`` already in the journal) and its query id."""
    keys = []
    pause = asked_before - 1
    for position, (_, event) in enumerate(events):
        if isinstance(event, Asked):
            pause += 1
        elif isinstance(event, Answered):
            keys.append((position, pause, event.query_id))
    return keys


def update_values(
    session_id: str,
    *,
    status: str,
    updated_at: int,
    llm_calls: int | None = None,
    rounds: int | None = None,
    elapsed_ms: int | None = None,
    stats: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    """The parameters of both backends' ``UPDATE_SESSION`` (status, time, counters,
    stats, id), checked; a counter left None keeps its stored value."""
    check_status(status)
    stats_text = to_json_text(stats, "session stats") if stats is not None else None
    return (status, updated_at, llm_calls, rounds, elapsed_ms, stats_text, session_id)
