"""``alc_pkg_test`` and ``alc-mcp test``: run a package's lust specs (``spec/*_spec.lua``)
in the sandbox, under a session's limits, and report every test.

Each spec file runs in a VM of its own (``engine.scratch``: the same sandbox, limits and
``require`` as a session, no host), with the global ``lust`` (``require("lust")``) and
its own scratch ``alc.state`` and cards, so a spec never touches the user's. A file
that does not compile, raises outside any ``it`` or hits a limit is reported as a file
error; the other files still run.

What is tested decides where ``require`` looks first (``base``, also what a relative
``package.path`` template such as ``./?.lua`` means): the folder that holds the
package (an installed package's root; the parent of a package directory) or the
collection itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from alc_mcp.app.catalog import PackageCatalog, server_dirs
from alc_mcp.app.code_files import allowed_path, code_roots, search_dirs
from alc_mcp.config import Config
from alc_mcp.domain.program import Program
from alc_mcp.engine.packages import MAX_SOURCE_BYTES, PackageError
from alc_mcp.engine.port import Facilities
from alc_mcp.engine.scratch import ScratchError, evaluate
from alc_mcp.store.cards import CardStore
from alc_mcp.store.memory import MemoryShared

__all__ = ["HARNESS_CHUNK", "PackageTester", "SpecFile", "TestError", "TestPlan"]

HARNESS_CHUNK = "=[alc_pkg_test]"
INLINE_NAME = "(inline)"

# Runs one spec file: lust as a global, the file's chunk, then lust's results.
_HARNESS = """
local lust = require("lust").reset()
_G.lust = lust
local chunk, err = load(ctx.source, ctx.chunkname, "t")
if not chunk then return { results = {}, error = "does not compile: " .. tostring(err) } end
local ok, raised = pcall(chunk)
return { results = lust.results, error = (not ok) and tostring(raised) or nil }
"""


class TestError(PackageError):
    """What to test is not there or not allowed; the message says what to pass."""

    __test__ = False  # not a pytest class


@dataclass(frozen=True, slots=True)
class SpecFile:
    name: str  # as reported: relative to the plan's base
    source: str
    chunkname: str


@dataclass(frozen=True, slots=True)
class TestPlan:
    __test__ = False

    files: tuple[SpecFile, ...]
    search_paths: tuple[str, ...] = ()
    base: str | None = None


@dataclass(slots=True)
class _Tally:
    files: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)


class PackageTester:
    def __init__(self, config: Config, catalog: PackageCatalog) -> None:
        self._config = config
        self._catalog = catalog

    # --- what to run ---------------------------------------------------------------------

    def plan(
        self,
        package: str | None = None,
        path: str | None = None,
        code: str | None = None,
        search_paths: Sequence[str] | None = None,
    ) -> TestPlan:
        """The spec files of exactly one of an installed ``package``, a ``path`` (a spec
        file, a package directory or a collection) or inline ``code``."""
        if sum(x is not None for x in (package, path, code)) != 1:
            raise TestError(
                "Provide exactly one of `package` (installed), `path` (a directory or file) or `code`."
            )
        roots = code_roots(self._config)
        extra = search_dirs(search_paths, roots)
        if code is not None:
            return TestPlan(
                (SpecFile(INLINE_NAME, code, "=" + INLINE_NAME),), extra, extra[0] if extra else None
            )
        if package is not None:
            base, specs = self._installed(package)
        else:
            assert path is not None
            base, specs = _discover(allowed_path(path, roots, what="path", reader="alc_pkg_test"))
        if not specs:
            raise TestError(
                f"no spec files found for {package or path}: alc_pkg_test runs spec/*_spec.lua "
                "(and */spec/*_spec.lua in a collection)"
            )
        files = tuple(_spec_file(spec, base) for spec in specs)
        return TestPlan(files, (str(base), *extra), str(base))

    def _installed(self, name: str) -> tuple[Path, list[Path]]:
        for package in self._catalog.resolver.installed():
            if package.name == name:
                return package.root.path.resolve(), _specs_in(package.directory.resolve())
        raise TestError(
            f"package '{name}' is not installed (alc_pkg_list shows what is); pass `path` instead"
        )

    # --- running ------------------------------------------------------------------------------

    def run(self, plan: TestPlan) -> dict[str, Any]:
        """Run every file of ``plan`` on this thread; the report ``alc_pkg_test`` returns."""
        tally = _Tally()
        for spec in plan.files:
            self._run_file(spec, plan, tally)
        tests = len(tally.results)
        passed = sum(1 for r in tally.results if r["ok"])
        file_errors = sum(1 for f in tally.files if "error" in f)
        summary = {
            "files": len(tally.files),
            "tests": tests,
            "passed": passed,
            "failed": tests - passed,
            "file_errors": file_errors,
            "seconds": round(sum(f["seconds"] for f in tally.files), 6),
        }
        return {
            "ok": tests > 0 and passed == tests and file_errors == 0,
            "summary": summary,
            "files": tally.files,
            "results": tally.results,
            "base": plan.base,
        }

    def _run_file(self, spec: SpecFile, plan: TestPlan, tally: _Tally) -> None:
        program = Program(
            _HARNESS,
            HARNESS_CHUNK,
            {"source": spec.source, "chunkname": spec.chunkname},
            search_paths=plan.search_paths,
        )
        cards = CardStore(None)  # a spec's cards are its own, gone after the file
        entry: dict[str, Any] = {"file": spec.name}
        try:
            outcome = evaluate(
                program,
                limits=self._config.limits,
                shared=MemoryShared(),
                resolver=self._catalog.resolver,
                facilities=Facilities(cards, server_dirs(self._config)),
            )
        except ScratchError as exc:
            outcome = {"results": [], "error": str(exc)}
        finally:
            cards.close()
        outcome = outcome if isinstance(outcome, dict) else {}
        rows = outcome.get("results")
        rows = rows if isinstance(rows, list) else []
        for row in rows:
            result = {
                "file": spec.name,
                "name": str(row.get("name")),
                "ok": row.get("ok") is True,
                "seconds": round(float(row.get("seconds") or 0.0), 6),
            }
            if not result["ok"]:
                result["error"] = str(row.get("error") or "failed")
            tally.results.append(result)
        entry["tests"] = len(rows)
        entry["passed"] = sum(1 for row in rows if row.get("ok") is True)
        entry["seconds"] = round(sum(float(row.get("seconds") or 0.0) for row in rows), 6)
        if outcome.get("error") is not None:
            entry["error"] = str(outcome["error"])
        tally.files.append(entry)

    async def test(
        self,
        package: str | None = None,
        path: str | None = None,
        code: str | None = None,
        search_paths: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        plan = await anyio.to_thread.run_sync(partial(self.plan, package, path, code, search_paths))
        return await anyio.to_thread.run_sync(partial(self.run, plan))


def _specs_in(directory: Path) -> list[Path]:
    return sorted((directory / "spec").glob("*_spec.lua"))


def _discover(target: Path) -> tuple[Path, list[Path]]:
    """(base, spec files) for a spec file, a package directory or a collection."""
    if target.is_file():
        folder = target.parent.parent if target.parent.name == "spec" else target.parent
        return (folder.parent if (folder / "init.lua").is_file() else folder), [target]
    if not target.is_dir():
        raise TestError(f"path {str(target)!r} does not exist; pass a spec file, a package or a collection")
    if (target / "init.lua").is_file():
        return target.parent, _specs_in(target)
    specs = _specs_in(target)
    for member in sorted(p for p in target.iterdir() if p.is_dir() and not p.name.startswith(".")):
        specs.extend(_specs_in(member))
    return target, specs


def _spec_file(path: Path, base: Path) -> SpecFile:
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            raise TestError(
                f"{path} is larger than {MAX_SOURCE_BYTES} bytes; spec files that large are refused"
            )
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TestError(f"cannot read spec file {path}: {exc}") from None
    name = path.relative_to(base).as_posix() if path.is_relative_to(base) else path.name
    return SpecFile(name, source, "@" + name)
