"""What the engine needs from durable storage, split by concern.

The engine owns these contracts and the store implements them (structurally: no
import from ``store/`` is needed here), so a second backend is one new module that
satisfies the same three protocols and nothing above it changes.

- ``SessionStore``: each session's row and its journal, the record replay needs;
- ``HistoryStore``: what spans sessions (aggregate stats, retention);
- ``SharedStore``: ``alc.state``, the key-value space every session shares;
- ``CardArchive``: ``alc.card.*``, the immutable evaluation cards and their samples
  (the same store the evaluation tools write);
- ``Storage``: the three of one backend, opened together (what the registry is given),
  with ``GroupCommit``: many writes in one transaction, so the journal writer commits
  the writes of many sessions at once (group commit);
- ``HandOver``: how one worker asks another to let go of a session (a backend that can
  signal between processes has one; SQLite has none, so a session held elsewhere is
  refused until its lease is released or expires).

All methods block (a commit may fsync): async callers run them through the journal
writer, never on the event loop. Any failure to reach the storage raises
``StoreUnavailable`` with a reason a user can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from alc_mcp.domain.evaluation import Card
from alc_mcp.domain.journal import JournalEntry, JournalEvent
from alc_mcp.domain.program import Program
from alc_mcp.domain.records import SessionRow

__all__ = [
    "AnswerTaken",
    "CardArchive",
    "CardRefused",
    "Done",
    "GroupCommit",
    "HandOver",
    "HistoryStore",
    "Lease",
    "LeaseHeld",
    "SessionStore",
    "SharedStore",
    "Storage",
    "StoreUnavailable",
]


class StoreUnavailable(Exception):
    """The storage cannot be used; str(exc) says why in plain words."""


class LeaseHeld(StoreUnavailable):
    """Another live alc-mcp process drives this session (it holds its lease), or this
    process no longer does: nothing was written."""

    def __init__(self, session_id: str, pid: int | None, owner: str | None = None) -> None:
        self.session_id = session_id
        self.pid = pid
        self.owner = owner
        where = f" (pid {pid})" if pid is not None else ""
        super().__init__(
            f"session '{session_id}' is live in another alc-mcp process{where}; retry in a moment, "
            "or continue it there"
        )


class AnswerTaken(Exception):
    """The journal already holds an answer to this query of this pause (another call,
    perhaps on another worker, answered it first): nothing was written."""

    def __init__(self, session_id: str, query_id: str) -> None:
        self.session_id = session_id
        self.query_id = query_id
        super().__init__(
            f"query {query_id} of session '{session_id}' was already answered (by another call, "
            "on this or another alc-mcp worker); call alc_status to see what the session waits for now"
        )


@dataclass(frozen=True, slots=True)
class Lease:
    """Who drives a live session: ``owner`` is ``host/process token``."""

    owner: str
    pid: int
    token: int
    heartbeat: int  # unix ms

    @property
    def host(self) -> str:
        return self.owner.partition("/")[0]

    def to_json(self) -> dict[str, Any]:
        """As ``alc_status`` and ``alc_info`` show the worker that owns a session."""
        return {"owner": self.owner, "host": self.host, "pid": self.pid, "heartbeat": self.heartbeat}


class SessionStore(Protocol):
    def create_session(
        self,
        session_id: str,
        program: Program,
        at: int,
        *,
        task_preview: str | None = None,
        principal: str | None = None,
    ) -> str:
        """Insert a running session and its start event; returns its unique name.
        ``principal`` is who started it (None: no authentication, e.g. stdio)."""
        ...

    def append(
        self,
        session_id: str,
        events: Sequence[tuple[int, JournalEvent]],
        *,
        lease: int | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """Append ``(at, event)`` pairs in order, all or none; returns their seqs.

        ``summary`` (the keyword arguments of ``update_session``) updates the session's
        row in the same transaction: one commit for a pause and its row, not two.

        With ``lease`` (a fencing token from ``take_lease``) the append is refused with
        ``LeaseHeld`` unless that lease is still this session's, checked in the same
        transaction; None writes unfenced (notes, tests). An ``Answered`` event for a
        query the same pause already has an answer for raises ``AnswerTaken``."""
        ...

    def take_lease(
        self, session_id: str, owner: str, pid: int, at: int, ttl_ms: int, *, dead: str | None = None
    ) -> int:
        """Make ``owner`` the one process driving the session; returns a fencing token
        larger than any before it. ``LeaseHeld`` if another owner's heartbeat is newer
        than ``at - ttl_ms``, unless that owner is ``dead`` (the caller saw its process
        is gone)."""
        ...

    def renew_leases(self, owner: str, at: int) -> None:
        """Move the heartbeat of every lease ``owner`` holds to ``at``."""
        ...

    def release_lease(self, session_id: str, owner: str) -> None:
        """Give up ``owner``'s lease of the session (nothing if it holds none)."""
        ...

    def release_leases(self, owner: str) -> None:
        """Give up every lease ``owner`` holds (shutdown)."""
        ...

    def lease(self, session_id: str) -> Lease | None:
        """The session's current lease, or None if no process holds it."""
        ...

    def update_session(
        self,
        session_id: str,
        *,
        status: str,
        updated_at: int,
        llm_calls: int | None = None,
        rounds: int | None = None,
        elapsed_ms: int | None = None,
        stats: dict[str, Any] | None = None,
    ) -> None: ...

    def truncate_from(self, session_id: str, seq: int) -> int:
        """Delete the entries with seq >= ``seq`` (rewind); the start event stays."""
        ...

    def journal(
        self,
        session_id: str,
        *,
        after_seq: int = 0,
        limit: int | None = None,
        kinds: Collection[str] | None = None,
    ) -> list[JournalEntry]: ...

    def count_entries(self, session_id: str, kinds: Collection[str] | None = None) -> int:
        """How many journal entries the session has (of ``kinds``, ``encode_event`` names)."""
        ...

    def get_session(self, session_id: str) -> SessionRow | None: ...

    def resolve(self, id_or_name: str) -> str | None:
        """The id of the session with this id or, failing that, this name."""
        ...

    def list_sessions(
        self, *, limit: int = 50, statuses: Collection[str] | None = None
    ) -> list[SessionRow]: ...

    def delete_session(self, session_id: str) -> bool: ...


class HistoryStore(Protocol):
    def aggregate_stats(
        self, *, strategy: str | None = None, since_ms: int | None = None
    ) -> dict[str, Any]: ...

    def apply_retention(
        self, *, now_ms: int, max_age_days: float | None, max_finished: int | None
    ) -> list[str]:
        """Delete finished sessions past the limits; returns their ids."""
        ...


class SharedStore(Protocol):
    def state_get(self, ns: str, key: str) -> tuple[bool, Any]: ...

    def state_set(self, ns: str, key: str, value: Any) -> None: ...

    def state_keys(self, ns: str) -> list[str]: ...

    def state_delete(self, ns: str, key: str) -> bool: ...

    def state_set_nx(self, ns: str, key: str, value: Any) -> bool: ...

    def state_incr(self, ns: str, key: str, delta: float, default: float) -> float: ...


class CardRefused(Exception):
    """A card operation that cannot be done (the card exists already, or is not there);
    str(exc) says why."""


class CardArchive(Protocol):
    """Cards are written once: ``put_card`` of an id that exists, or a second
    ``put_samples`` for one card, raises ``CardRefused``; so does reading a card that
    is not there."""

    def put_card(self, card: Card) -> None: ...

    def get_card(self, card_id: str) -> Card: ...

    def list_cards(
        self, *, strategy: str | None = None, scenario: str | None = None, model: str | None = None
    ) -> list[Card]: ...

    def set_alias(self, alias: str, card_id: str, at: int) -> str | None: ...

    def alias(self, alias: str) -> str | None: ...

    def aliases(self) -> list[dict[str, Any]]: ...

    def put_samples(self, card_id: str, samples: Sequence[Any]) -> int: ...

    def samples(self, card_id: str, offset: int = 0, limit: int | None = None) -> list[Any]: ...


@dataclass(frozen=True, slots=True)
class Done:
    """What one operation of a group came to: its value, or the exception it raised."""

    value: Any = None
    error: BaseException | None = None

    @classmethod
    def of(cls, operation: Callable[[], Any]) -> Done:
        """Run ``operation``; what it returned or raised (handed to whoever submitted it)."""
        try:
            return cls(operation())
        except Exception as exc:
            return cls(error=exc)


class GroupCommit(Protocol):
    def group(self, operations: Sequence[Callable[[], Any]]) -> list[Done]:
        """Run ``operations`` (calls on this backend's stores) in order in one
        transaction with one commit, and say how each went. Each runs in its own
        savepoint: one that raises (``AnswerTaken``, ``LeaseHeld``, …) is undone alone
        and the others stand. If the transaction cannot begin or commit, every
        operation's outcome is that ``StoreUnavailable``, and none of them was written."""
        ...


class Storage(GroupCommit, Protocol):
    """One backend's three stores over one database; closing it is its opener's job."""

    @property
    def sessions(self) -> SessionStore: ...

    @property
    def history(self) -> HistoryStore: ...

    @property
    def shared(self) -> SharedStore: ...


class HandOver(Protocol):
    """Signals between workers sharing one database: "let go of this session".

    The listener runs on its own thread and calls ``on_request`` there with the id of
    each session another worker asked this ``owner`` to release."""

    def ask_release(self, session_id: str, owner: str) -> None:
        """Ask ``owner`` (a lease holder) to hibernate the session and release its lease."""
        ...

    def listen(self, owner: str, on_request: Callable[[str], None]) -> None:
        """Start delivering the release requests addressed to ``owner``."""
        ...

    def close(self) -> None:
        """Stop listening (idempotent)."""
        ...
