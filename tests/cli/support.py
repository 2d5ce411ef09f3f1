"""Shared pieces of the ``alc-mcp run`` tests: a deterministic strategy package and the
command as a subprocess with its own ALC_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: A small strategy with the shape of the real ones: ``n`` candidates in one pause
#: (a batch), then one judging call; it logs, prints and reports progress.
PICK = """\
local M = {}
M.meta = { name = "pick", version = "0.1.0", description = "test fixture", category = "selection",
           inputs = { task = { type = "string" }, n = { type = "integer", default = 2 } } }
function M.run(ctx)
  local n = ctx.n or 2
  alc.progress(1, 2, "pick: sampling " .. n)
  alc.log("info", "pick: asking for " .. n .. " candidates")
  local items = {}
  for i = 1, n do
    items[i] = { prompt = string.format("Candidate %d for: %s", i, ctx.task), system = "Answer briefly.",
                 max_tokens = 64 }
  end
  local candidates = alc.llm_batch(items)
  alc.progress(2, 2, "pick: judging")
  local listing = table.concat(candidates, "\\n---\\n")
  local choice = alc.llm("Pick the best candidate:\\n" .. listing, { max_tokens = 16 })
  print("pick: judged")
  ctx.candidates = candidates
  ctx.result = "chosen: " .. choice
  return ctx
end
return M
"""

TIMEOUT = 60


def write_pick(root: Path) -> Path:
    """A package directory holding ``pick``; returns the directory for ALC_PACKAGES_PATH."""
    packages = root / "pkgs"
    (packages / "pick").mkdir(parents=True, exist_ok=True)
    (packages / "pick" / "init.lua").write_text(PICK, encoding="utf-8")
    return packages


def cli_env(home: Path, packages: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALC_")}
    env.update(
        ALC_HOME=str(home),
        ALC_MAX_MEMORY_MB="64",
        ALC_MAX_INSTRUCTIONS="20000000",
        ALC_MAX_RUN_SECONDS="10",
        PYTHONIOENCODING="utf-8",
    )
    if packages is not None:
        env["ALC_PACKAGES_PATH"] = str(packages)
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "alc_mcp.cli", "run", *args]


def run_cli(cwd: Path, env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args), cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=TIMEOUT
    )


def statuses(home: Path) -> list[str]:
    """Status of every session in the store, newest first."""
    from alc_mcp.store.sqlite import SqliteStore

    store = SqliteStore(home / "alc.db")
    try:
        return [row.status for row in store.sessions.list_sessions(limit=100)]
    finally:
        store.close()
