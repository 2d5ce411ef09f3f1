"""``alc-mcp test PATH``: run the lust specs of a package or collection on this machine
(the ``alc_pkg_test`` tool, without a server) and print a readable report.

PATH is a spec file, a package directory or a collection. The person at the terminal
may read their own files, so PATH and every ``--search-path`` are the allowed roots
here (the server's ``ALC_CODE_ROOTS`` fence is for callers over MCP).

Exit codes: 0 every test passed, 1 a test failed or a file could not run, 2 bad arguments.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from alc_mcp.app.catalog import PackageCatalog
from alc_mcp.app.package_tests import PackageTester, TestError
from alc_mcp.config import Config, ConfigError
from alc_mcp.domain.jsonfmt import dumps_pretty
from alc_mcp.terminal import EXIT_FAILED, EXIT_OK, EXIT_USAGE

__all__ = ["render_report", "test_command"]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def render_report(report: dict[str, Any], *, verbose: bool = False) -> str:
    """One line per file, each failure with its message, then the totals."""
    lines = []
    by_file: dict[str, list[dict[str, Any]]] = {}
    for result in report["results"]:
        by_file.setdefault(result["file"], []).append(result)
    for entry in report["files"]:
        name = entry["file"]
        mark = "ok  " if entry["passed"] == entry["tests"] and "error" not in entry else "FAIL"
        lines.append(f"{mark} {name}  {entry['passed']}/{entry['tests']} passed  ({_ms(entry['seconds'])})")
        for result in by_file.get(name, []):
            if not result["ok"]:
                lines.append(f"     x {result['name']}")
                lines.extend(f"         {line}" for line in result["error"].splitlines())
            elif verbose:
                lines.append(f"     . {result['name']}")
        if "error" in entry:
            lines.append("     the file stopped early:")
            lines.extend(f"         {line}" for line in entry["error"].splitlines())
    s = report["summary"]
    lines.append(
        f"{s['tests']} tests, {s['passed']} passed, {s['failed']} failed, {s['file_errors']} file error(s) "
        f"in {s['files']} file(s) ({_ms(s['seconds'])})"
    )
    return "\n".join(lines)


def test_command(
    path: str,
    *,
    search_paths: Sequence[str] = (),
    as_json: bool = False,
    verbose: bool = False,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"alc-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    target = Path(path).expanduser().resolve()
    roots = (
        target if target.is_dir() else target.parent,
        *(Path(p).expanduser().resolve() for p in search_paths),
    )
    config = replace(config, code_roots=roots)
    tester = PackageTester(config, PackageCatalog(config))
    try:
        report = tester.run(tester.plan(path=str(target), search_paths=list(search_paths)))
    except TestError as exc:
        print(f"alc-mcp test: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(dumps_pretty(report) if as_json else render_report(report, verbose=verbose), file=out)
    return EXIT_OK if report["ok"] else EXIT_FAILED
