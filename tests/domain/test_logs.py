import pytest

from alc_mcp.domain.logs import LogEntry, Progress, RecentLogs


def entry(ts: int) -> LogEntry:
    return LogEntry(ts=ts, level="info", source="alc.log", message=f"m{ts}")


def test_log_entry_json() -> None:
    assert LogEntry(5, "weird-level", "alc.lua.print", "hi").to_json() == {
        "ts": 5,
        "level": "weird-level",
        "source": "alc.lua.print",
        "message": "hi",
    }


def test_ring_keeps_last_20_oldest_first() -> None:
    logs = RecentLogs()
    assert logs.capacity == 20
    for ts in range(25):
        logs.push(entry(ts))
    assert len(logs) == 20
    assert [e.ts for e in logs.entries()] == list(range(5, 25))
    assert logs.to_json()[0] == entry(5).to_json()
    assert logs.to_json()[-1]["message"] == "m24"


def test_ring_below_capacity_keeps_everything() -> None:
    logs = RecentLogs(capacity=3)
    logs.push(entry(1))
    logs.push(entry(2))
    assert [e.ts for e in logs.entries()] == [1, 2]
    logs.push(entry(3))
    logs.push(entry(4))
    assert [e.ts for e in logs.entries()] == [2, 3, 4]


def test_ring_rejects_zero_capacity() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RecentLogs(capacity=0)


def test_entries_is_a_copy() -> None:
    logs = RecentLogs()
    logs.push(entry(1))
    logs.entries().clear()
    assert len(logs) == 1


def test_progress_json() -> None:
    assert Progress(2, 5, "halfway").to_json() == {"step": 2, "total": 5, "message": "halfway"}
    assert Progress(1, 0, None).to_json() == {"step": 1, "total": 0, "message": None}
