"""Turning what a caller asks for (inline code, a file, a strategy and a task) into
the ``Program`` a session runs; shared by the MCP tools and the terminal runner so
the two cannot drift apart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alc_mcp.app.code_files import read_code_file, search_dirs
from alc_mcp.domain.program import Program

__all__ = ["ProgramError", "advice_ctx", "advice_program", "code_program"]


class ProgramError(ValueError):
    """The request does not describe one program; the message says what to send."""


def code_program(
    code: str | None,
    code_file: str | None,
    ctx: Any,
    vars: dict[str, Any] | None,
    roots: Sequence[Path],
    search_paths: Sequence[str] | None = None,
) -> Program:
    """``alc_run``: exactly one of inline ``code`` or a ``code_file`` to read, from
    under one of ``roots`` only (``app.code_files``); ``search_paths`` (under the same
    roots) are where its ``require`` may also read."""
    if code is not None and code_file is not None:
        raise ProgramError("Provide either `code` or `code_file`, not both.")
    if code is None and code_file is None:
        raise ProgramError("Either `code` or `code_file` must be provided.")
    if code_file is not None:
        source, chunkname = read_code_file(code_file, roots)
    else:
        assert code is not None
        source, chunkname = code, "=alc_run"
    return Program(source, chunkname, ctx, vars, search_paths=search_dirs(search_paths, roots))


def advice_ctx(task: str | None, opts: Any) -> dict[str, Any]:
    """``alc_advice``'s ctx: the options object (anything else is ignored) plus the task."""
    ctx = dict(opts) if isinstance(opts, dict) else {}
    if task is not None:
        ctx["task"] = task
    return ctx


def advice_program(strategy: str, ctx: Any, vars: dict[str, Any] | None = None) -> Program:
    """Run package ``strategy`` (already resolved, so a valid module name) on ``ctx``."""
    source = f"local pkg = require({strategy!r})\nreturn pkg.run(ctx)"
    return Program(source, "=alc_advice", ctx, vars, strategy=strategy)
