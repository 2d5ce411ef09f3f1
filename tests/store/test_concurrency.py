"""Many threads, one store: nothing lost, each session's order kept."""

from __future__ import annotations

import threading

from alc_mcp.domain.journal import Logged, Noted
from alc_mcp.store.sqlite import SqliteStore
from tests.store.conftest import started

THREADS = 8
PER_THREAD = 150


def test_concurrent_appends_keep_order_and_lose_nothing(store: SqliteStore) -> None:
    for t in range(THREADS):
        store.sessions.create_session(f"s-{t}", started(), 0)
    barrier = threading.Barrier(THREADS)
    returned: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            barrier.wait()
            seqs: list[int] = []
            i = 0
            while i < PER_THREAD:
                if i % 10 == 0:  # mix single appends with small batches
                    batch = [(i + k, Logged("info", f"t{t}", str(i + k))) for k in range(3)]
                    seqs += store.sessions.append(f"s-{t}", batch)
                    i += 3
                else:
                    seqs += store.sessions.append(f"s-{t}", [(i, Logged("info", f"t{t}", str(i)))])
                    i += 1
                if i % 25 == 0:  # readers interleave with the writers
                    store.sessions.journal(f"s-{(t + 1) % THREADS}", limit=5)
                    store.sessions.set_metadata(f"s-{t}", {"i": str(i)})
            store.sessions.append(f"s-{t}", [(i, Noted("done"))])
            returned[t] = seqs
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    all_seqs = [seq for seqs in returned.values() for seq in seqs]
    assert len(all_seqs) == len(set(all_seqs))
    for t in range(THREADS):
        entries = store.sessions.journal(f"s-{t}")
        logged = entries[1:-1]
        assert [e.event.message for e in logged] == [str(i) for i in range(len(logged))]  # type: ignore[union-attr]
        assert len(logged) >= PER_THREAD
        assert [e.seq for e in logged] == returned[t] == sorted(returned[t])
        assert entries[-1].event == Noted("done")
        row = store.sessions.get_session(f"s-{t}")
        assert row is not None and row.notes_count == 1
