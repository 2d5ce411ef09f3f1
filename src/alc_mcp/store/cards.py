"""Evaluation records on disk: immutable cards, aliases, and the eval history.

The tables live in the session database (migration 3 in ``store.sql``) and are reached
through a connection of their own, so this module depends on nothing but the schema.
With durability off (no database) the same tables are kept in an in-memory SQLite
database and last as long as the server.

Cards are written once: ``put_card`` of an id that exists raises ``CardExists``, and
triggers refuse any UPDATE or DELETE of a card row, whatever issues it. An alias is a
name that points at one card and may be moved to another.

Methods block (SQLite); async callers run them off the event loop.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from alc_mcp.domain.evaluation import Card
from alc_mcp.engine.storage import CardRefused
from alc_mcp.store.sqlite import sql

__all__ = ["BUSY_TIMEOUT_S", "CardError", "CardExists", "CardNotFound", "CardStore", "EvalRow"]

BUSY_TIMEOUT_S = 5.0


class CardError(CardRefused):
    """A card or alias operation that cannot be done; the message says why."""


class CardExists(CardError):
    pass


class CardNotFound(CardError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "card not found"


@dataclass(frozen=True, slots=True)
class EvalRow:
    id: str
    session_id: str | None
    strategy: str
    scenario: str
    status: str
    created_at: int
    finished_at: int | None
    card_id: str | None
    request: dict[str, Any]
    result: Any
    error: str | None

    def brief(self) -> dict[str, Any]:
        report = self.result.get("report") if isinstance(self.result, dict) else None
        summary = report.get("summary") if isinstance(report, dict) else None
        out: dict[str, Any] = {
            "eval_id": self.id,
            "session_id": self.session_id,
            "strategy": self.strategy,
            "scenario": self.scenario,
            "status": self.status,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "card_id": self.card_id,
            "repeats": self.request.get("repeats"),
            "model": self.request.get("model"),
        }
        if isinstance(summary, dict):
            out["summary"] = {k: summary.get(k) for k in ("n", "passed", "pass_rate", "mean", "ci_95")}
        if self.error is not None:
            out["error"] = self.error
        return out


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class CardStore:
    def __init__(self, path: Path | None) -> None:
        """Open the cards of the database at ``path``, or an in-memory set for None."""
        self.path = path
        self._lock = threading.Lock()
        target = str(path) if path is not None else ":memory:"
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            target, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        if path is not None:
            self._conn.execute(sql.JOURNAL_MODE_WAL).fetchone()
        self._conn.execute(sql.FOREIGN_KEYS_ON)
        with self._tx() as conn:
            for statement in sql.CARD_SCHEMA:
                conn.execute(statement)

    @property
    def durable(self) -> bool:
        return self.path is not None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            conn.execute(sql.BEGIN)
            try:
                yield conn
            except BaseException:
                conn.execute(sql.ROLLBACK)
                raise
            conn.execute(sql.COMMIT)

    def _read(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(statement, params).fetchall()

    # --- cards ---------------------------------------------------------------------------

    def put_card(self, card: Card) -> None:
        """Write a card; a second write of the same id raises ``CardExists``."""
        try:
            with self._tx() as conn:
                conn.execute(
                    "INSERT INTO cards (id, created_at, strategy, scenario, model, data) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        card.card_id,
                        card.created_at,
                        card.strategy,
                        card.scenario,
                        card.model,
                        _dumps(card.data),
                    ),
                )
        except sqlite3.IntegrityError:
            raise CardExists(f"card '{card.card_id}' exists already; cards are never rewritten") from None

    def get_card(self, card_id: str) -> Card:
        rows = self._read("SELECT id, created_at, data FROM cards WHERE id = ?", (card_id,))
        if not rows:
            raise CardNotFound(f"card '{card_id}' not found (alc_card_list shows the cards there are)")
        return _card(rows[0])

    def has_card(self, card_id: str) -> bool:
        return bool(self._read("SELECT 1 FROM cards WHERE id = ?", (card_id,)))

    def list_cards(
        self, *, strategy: str | None = None, scenario: str | None = None, model: str | None = None
    ) -> list[Card]:
        """Newest first, optionally narrowed to one strategy, scenario or model."""
        clauses, params = [], []
        for column, value in (("strategy", strategy), ("scenario", scenario), ("model", model)):
            if value is not None:
                clauses.append(f"{column} = ?")  # column names are ours, never input
                params.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._read(
            f"SELECT id, created_at, data FROM cards{where} ORDER BY created_at DESC, id DESC", tuple(params)
        )
        return [_card(row) for row in rows]

    # --- samples (alc.card.write_samples) ------------------------------------------------

    def put_samples(self, card_id: str, samples: Sequence[Any]) -> int:
        """Write a card's samples, one row each; a card's samples are written once."""
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM cards WHERE id = ?", (card_id,)).fetchone() is None:
                raise CardNotFound(f"card '{card_id}' not found; create the card before writing its samples")
            if conn.execute("SELECT 1 FROM card_samples WHERE card_id = ? LIMIT 1", (card_id,)).fetchone():
                raise CardExists(f"card '{card_id}' has its samples already; samples are written once")
            conn.executemany(
                "INSERT INTO card_samples (card_id, idx, data) VALUES (?, ?, ?)",
                [(card_id, index, _dumps(sample)) for index, sample in enumerate(samples)],
            )
        return len(samples)

    def samples(self, card_id: str, offset: int = 0, limit: int | None = None) -> list[Any]:
        rows = self._read(
            "SELECT data FROM card_samples WHERE card_id = ? ORDER BY idx LIMIT ? OFFSET ?",
            (card_id, -1 if limit is None else limit, offset),
        )
        return [orjson.loads(data) for (data,) in rows]

    # --- aliases -----------------------------------------------------------------------------

    def set_alias(self, alias: str, card_id: str, at: int) -> str | None:
        """Point ``alias`` at ``card_id``; returns the card it pointed at before (or None)."""
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM cards WHERE id = ?", (card_id,)).fetchone() is None:
                raise CardNotFound(f"card '{card_id}' not found; an alias can only name an existing card")
            before = conn.execute("SELECT card_id FROM card_aliases WHERE alias = ?", (alias,)).fetchone()
            conn.execute(
                "INSERT INTO card_aliases (alias, card_id, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (alias) DO UPDATE SET "
                "card_id = excluded.card_id, updated_at = excluded.updated_at",
                (alias, card_id, at),
            )
        return before[0] if before else None

    def alias(self, alias: str) -> str | None:
        rows = self._read("SELECT card_id FROM card_aliases WHERE alias = ?", (alias,))
        return rows[0][0] if rows else None

    def aliases(self) -> list[dict[str, Any]]:
        rows = self._read("SELECT alias, card_id, updated_at FROM card_aliases ORDER BY alias")
        return [{"alias": a, "card_id": c, "updated_at": u} for a, c, u in rows]

    # --- eval history ----------------------------------------------------------------------------

    def add_eval(self, row: EvalRow) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO evals (id, session_id, strategy, scenario, status, created_at, finished_at, "
                "card_id, request, result, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.id,
                    row.session_id,
                    row.strategy,
                    row.scenario,
                    row.status,
                    row.created_at,
                    row.finished_at,
                    row.card_id,
                    _dumps(row.request),
                    None if row.result is None else _dumps(row.result),
                    row.error,
                ),
            )

    def finish_eval(
        self,
        eval_id: str,
        *,
        status: str,
        finished_at: int,
        result: Any = None,
        card_id: str | None = None,
        error: str | None = None,
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE evals SET status = ?, finished_at = ?, result = ?, card_id = ?, error = ? "
                "WHERE id = ?",
                (status, finished_at, None if result is None else _dumps(result), card_id, error, eval_id),
            )

    def get_eval(self, eval_id: str) -> EvalRow | None:
        rows = self._read(
            f"SELECT {_EVAL_COLUMNS} FROM evals WHERE id = ? OR session_id = ?", (eval_id, eval_id)
        )
        return _eval(rows[0]) if rows else None

    def list_evals(
        self,
        *,
        limit: int = 50,
        strategy: str | None = None,
        scenario: str | None = None,
        status: str | None = None,
    ) -> list[EvalRow]:
        clauses, params = [], []
        for column, value in (("strategy", strategy), ("scenario", scenario), ("status", status)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._read(
            f"SELECT {_EVAL_COLUMNS} FROM evals{where} ORDER BY created_at DESC, id DESC LIMIT ?",
            (*params, max(1, limit)),
        )
        return [_eval(row) for row in rows]


_EVAL_COLUMNS = (
    "id, session_id, strategy, scenario, status, created_at, finished_at, card_id, request, result, error"
)


def _card(row: tuple[Any, ...]) -> Card:
    card_id, created_at, data = row
    return Card.build(card_id, created_at, orjson.loads(data))


def _eval(row: tuple[Any, ...]) -> EvalRow:
    values = list(row)
    values[8] = orjson.loads(values[8])
    values[9] = orjson.loads(values[9]) if values[9] is not None else None
    return EvalRow(*values)
