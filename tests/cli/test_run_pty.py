"""``alc-mcp run`` with a person at the terminal: driven under a pseudo-terminal."""

from __future__ import annotations

import time
from pathlib import Path

import pexpect
import pytest

from tests.cli.support import cli_env, command, statuses, write_pick

pytestmark = pytest.mark.slow

TIMEOUT = 30


def spawn(tmp_path: Path, *args: str, **env: str) -> pexpect.spawn:
    argv = command(*args)
    child = pexpect.spawn(
        argv[0],
        argv[1:],
        cwd=str(tmp_path),
        env={**cli_env(tmp_path / "home", write_pick(tmp_path)), **env},
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(50, 200),
    )
    return child


def answer(child: pexpect.spawn, *lines: str) -> None:
    """Type an answer line by line, waiting for the "> " prompt before each."""
    for line in lines:
        child.expect_exact("> ")
        child.sendline(line)


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None, f"killed by signal {child.signalstatus}"
    return child.exitstatus


def test_interactive_run_reads_multi_line_answers(tmp_path: Path) -> None:
    child = spawn(tmp_path, "pick", "--task", "name a colour")
    try:
        child.expect_exact("Session s-")
        child.expect_exact("[progress 1/2] pick: sampling 2")
        child.expect_exact("q-0 (1 of 2 in this pause, max_tokens 64)")
        child.expect_exact("Answer briefly.")
        child.expect_exact("Candidate 1 for: name a colour")
        child.expect_exact("Your answer (end it with a line with only '.' or Ctrl-D):")
        answer(child, "red", "  indented second line", ".")
        child.expect_exact("q-1 (2 of 2 in this pause, max_tokens 64)")
        child.expect_exact("Candidate 2 for: name a colour")
        # Ctrl-D ends an answer too.
        answer(child, "blue")
        child.expect_exact("> ")
        child.sendeof()
        child.expect_exact("[progress 2/2] pick: judging")
        child.expect_exact("q-0 (1 of 1 in this pause, max_tokens 16)")
        # The judge prompt quotes both answers exactly as typed (the tty writes \r\n).
        child.expect(r"red\r\n\s+  indented second line\r\n\s+---\r\n\s+blue\r\n")
        answer(child, "blue it is", ".")
        child.expect_exact("[print] pick: judged")
        child.expect_exact("chosen: blue it is")
        child.expect_exact("stats: 3 LLM calls in 2 pauses")
        assert finish(child) == 0
    finally:
        child.terminate(force=True)
    assert statuses(tmp_path / "home") == ["completed"]


def test_ctrl_c_at_a_prompt_cancels_the_session(tmp_path: Path) -> None:
    child = spawn(tmp_path, "pick", "--task", "t")
    try:
        child.expect_exact("q-0 (1 of 2 in this pause")
        answer(child, "half an answer")
        child.expect_exact("> ")
        child.sendintr()
        child.expect_exact("interrupted (Ctrl-C)")
        child.expect_exact("The session was cancelled.")
        child.expect_exact("--- cancelled; stats:")
        assert finish(child) == 1
        assert "Traceback" not in (child.before or "")
    finally:
        child.terminate(force=True)
    assert statuses(tmp_path / "home") == ["cancelled"]


def test_ctrl_c_while_the_script_runs_cancels_it(tmp_path: Path) -> None:
    (tmp_path / "spin.lua").write_text(
        'local go = alc.llm("Start spinning?")\nalc.log("info", "spinning")\nwhile true do end\n',
        encoding="utf-8",
    )
    # Enough instructions that only the 10 s wall clock could stop the loop.
    child = spawn(tmp_path, "spin.lua", ALC_MAX_INSTRUCTIONS=str(10**12))
    try:
        child.expect_exact("Start spinning?")
        answer(child, "yes", ".")
        time.sleep(0.5)  # the script is now busy in its loop
        started = time.monotonic()
        child.sendintr()
        child.expect_exact("interrupted (Ctrl-C)")
        assert finish(child) == 1
        assert time.monotonic() - started < 5  # the run limit is 10 s: it was cancelled, not timed out
    finally:
        child.terminate(force=True)
    assert statuses(tmp_path / "home") == ["cancelled"]
