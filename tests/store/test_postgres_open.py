"""Opening PostgreSQL: migrated once, a newer schema refused, a bad URL named."""

from __future__ import annotations

import psycopg
import pytest

from alc_mcp.domain.journal import Answered, Asked
from alc_mcp.domain.query import LlmQuery
from alc_mcp.engine.storage import AnswerTaken, StoreUnavailable
from alc_mcp.store.postgres import PostgresStore
from tests.store.conftest import started


def test_a_second_open_keeps_the_data_and_the_version(pg_url: str) -> None:
    with PostgresStore(pg_url) as first:
        first.sessions.create_session("s-1", started(), 1)
    with PostgresStore(pg_url) as again:
        assert again.sessions.get_session("s-1") is not None
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM alc_schema").fetchall() == [(PostgresStore.SCHEMA_VERSION,)]


def test_a_schema_newer_than_the_code_stops_the_open(pg_url: str) -> None:
    PostgresStore(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE alc_schema SET version = version + 1")

    with pytest.raises(StoreUnavailable, match="newer than this alc-mcp knows") as refused:
        PostgresStore(pg_url)
    assert "ALC_DATABASE_URL" in str(refused.value) and "upgrade alc-mcp" in str(refused.value)


def test_an_unreachable_server_names_the_variable_and_hides_the_password() -> None:
    url = "postgresql://alc:s3cret@127.0.0.1:1/alc?connect_timeout=1"
    with pytest.raises(StoreUnavailable) as refused:
        PostgresStore(url)
    message = str(refused.value)
    assert "ALC_DATABASE_URL=postgresql://alc:***@127.0.0.1:1/alc" in message
    assert "s3cret" not in message and "check that the server runs" in message


def test_a_missing_database_is_named(pg_url: str) -> None:
    url = pg_url.replace("/t", "/nosuchdb_t", 1)
    with pytest.raises(StoreUnavailable, match="nosuchdb_t"):
        PostgresStore(url)


def test_a_database_from_before_pause_counts_counts_the_pauses_it_holds(pg_url: str) -> None:
    with PostgresStore(pg_url) as store:
        store.sessions.create_session("s-1", started(), 1)
        store.sessions.append("s-1", [(2, Asked((LlmQuery("q-0", "p"),))), (3, Answered("q-0", "a"))])
        store.sessions.append("s-1", [(4, Asked((LlmQuery("q-0", "p"),)))])
    with psycopg.connect(pg_url) as conn:  # as the database was at schema version 1
        conn.execute("ALTER TABLE sessions DROP COLUMN asked")
        conn.execute("UPDATE alc_schema SET version = 1")

    with PostgresStore(pg_url) as store:
        store.sessions.append("s-1", [(5, Answered("q-0", "b"))])  # the second pause's, not the first's
        with pytest.raises(AnswerTaken):
            store.sessions.append("s-1", [(6, Answered("q-0", "again"))])
        answers = store.sessions.journal("s-1", kinds={"answer"})
        assert [e.event for e in answers] == [Answered("q-0", "a"), Answered("q-0", "b")]
