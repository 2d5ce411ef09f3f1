"""Opening PostgreSQL: migrated once, a newer schema refused, a bad URL named."""

from __future__ import annotations

import psycopg
import pytest

from alc_mcp.engine.storage import StoreUnavailable
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
