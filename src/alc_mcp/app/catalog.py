"""The packages a user can ``require`` or run with ``alc_advice``: listing (with each
package's ``M.meta``, read in the sandbox), installing and removing."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio

from alc_mcp.config import Config
from alc_mcp.domain.program import Program
from alc_mcp.engine import installer
from alc_mcp.engine.packages import InstalledPackage, Module, ModuleNotFound, PackageError, PackageResolver
from alc_mcp.engine.scratch import ScratchError, evaluate
from alc_mcp.engine.types import types_path
from alc_mcp.store.memory import MemoryShared

__all__ = ["PackageCatalog", "UnknownPackage", "server_dirs"]

META_FIELDS = ("version", "description", "category")
_META_CACHE: dict[tuple[Any, int, int], dict[str, Any]] = {}


def server_dirs(config: Config) -> dict[str, str]:
    """What ``alc.dirs()`` answers: where this server keeps its packages and scenarios."""
    home = config.home.expanduser().resolve()
    return {"home": str(home), "packages": str(home / "packages"), "scenarios": str(home / "scenarios")}


class UnknownPackage(PackageError):
    """A package asked for by name is not installed anywhere."""


class PackageCatalog:
    """Needs no store and no session: a server lists its prompts from it at build time."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self.resolver = PackageResolver.from_dirs(config.packages_path, config.home)

    @property
    def packages_dir(self) -> Any:
        return self._config.home / "packages"

    def require(self, name: str) -> Module:
        """The package ``name``, or an error listing where it was looked for."""
        try:
            return self.resolver.find(name)
        except ModuleNotFound as exc:
            raise UnknownPackage(
                f"Package '{name}' not found. Searched:\n\t{exc}\nInstall it with alc_pkg_install "
                "or list what is available with alc_pkg_list."
            ) from None

    def source_text(self, name: str) -> str:
        return self.resolver.find(name).source.decode("utf-8", "replace")

    def types_text(self) -> str:
        return types_path().read_text(encoding="utf-8")

    def bundled(self) -> list[InstalledPackage]:
        return [p for p in self.resolver.installed() if p.root.source == "bundled"]

    def meta_now(self, name: str) -> dict[str, Any]:
        """A package's ``M.meta``, evaluated in the sandbox on the calling thread.

        Cached per file version: a server builds its prompt list from the bundled
        strategies' meta, and re-running every package on each start is wasted work."""
        module = self.resolver.find(name)
        stat = module.path.stat()
        key = (module.path, stat.st_mtime_ns, stat.st_size)
        cached = _META_CACHE.get(key)
        if cached is None:
            cached = _META_CACHE[key] = self._evaluate_meta(name)
        return dict(cached)

    def _evaluate_meta(self, name: str) -> dict[str, Any]:
        program = Program(
            f"local m = require('{name}')\nreturn type(m) == 'table' and m.meta or nil", "=[meta]"
        )
        # Reading meta must not touch anyone's alc.state: it gets a scratch space of its own.
        meta = evaluate(program, limits=self._config.limits, shared=MemoryShared(), resolver=self.resolver)
        return meta if isinstance(meta, dict) else {}

    async def read_meta(self, name: str) -> dict[str, Any]:
        return await anyio.to_thread.run_sync(partial(self.meta_now, name))

    async def listing(self) -> dict[str, Any]:
        entries = []
        active: dict[str, str] = {}
        for package in self.resolver.installed():
            entry: dict[str, Any] = {
                "name": package.name,
                "path": str(package.directory),
                "source": package.root.source,
                "active": package.name not in active,
            }
            if not entry["active"]:
                entry["shadowed_by"] = active[package.name]
            active.setdefault(package.name, str(package.directory))
            try:
                meta = await self.read_meta(package.name) if entry["active"] else {}
            except ScratchError as exc:
                entry["error"] = f"failed to load meta: {exc}"
                meta = {}
            for key in META_FIELDS:
                entry[key] = meta.get(key)
            if "inputs" in meta:
                entry["inputs"] = meta["inputs"]
            origin = installer.installed_source(package.directory)
            if origin is not None:
                entry["installed_from"] = origin.get("source")
            entries.append(entry)
        return {"packages": entries, "search_paths": [root.to_json() for root in self.resolver.roots]}

    async def install(self, url: str, name: str | None = None) -> dict[str, Any]:
        report = await anyio.to_thread.run_sync(partial(installer.install, url, self.packages_dir, name))
        result = report.to_json(self.packages_dir)
        warnings = []
        for package in report.installed:
            try:
                await self.read_meta(package)
            except ScratchError as exc:
                warnings.append(f"{package}: installed, but loading it failed: {exc}")
        if warnings:
            result["warnings"] = warnings
        return result

    async def remove(self, name: str) -> dict[str, Any]:
        path = await anyio.to_thread.run_sync(partial(installer.remove, name, self.packages_dir))
        return {"removed": name, "path": str(path)}
