"""A commit that ``append`` returned survives SIGKILL of the process (synchronous=NORMAL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from alc_mcp.domain.journal import Logged
from alc_mcp.store.sqlite import SqliteStore

CHILD = """
import sys
from pathlib import Path
from alc_mcp.domain.journal import Logged
from alc_mcp.domain.program import Program
from alc_mcp.store.sqlite import SqliteStore

store = SqliteStore(Path(sys.argv[1]))
store.sessions.create_session("s-1", Program("return 1", "=x"), 0)
i = 0
while True:
    (seq,) = store.sessions.append("s-1", [(i, Logged("info", "child", str(i)))])
    print(seq, flush=True)  # acknowledged only after append returned
    i += 1
"""


def test_acknowledged_appends_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    acknowledged = [int(child.stdout.readline()) for _ in range(200)]
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()

    with SqliteStore(path) as store:
        entries = store.sessions.journal("s-1")[1:]
    assert [e.seq for e in entries][: len(acknowledged)] == acknowledged
    assert [e.event for e in entries] == [Logged("info", "child", str(i)) for i in range(len(entries))]
