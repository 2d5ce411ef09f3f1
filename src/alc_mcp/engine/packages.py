"""Where ``require`` finds packages, and what is installed where.

Roots are searched in order: the session's ``search_paths`` (``alc_run`` /
``alc_pkg_test``), each directory of ``ALC_PACKAGES_PATH``, then ``$ALC_HOME/packages``,
then the strategies bundled with alc-mcp. In each root the module ``a.b`` is
``a/b.lua``, then ``a/b/init.lua``. After the roots come the templates of the script's
own ``package.path`` (``/repo/?.lua;./?/init.lua``), but only those whose file lies
under one of the roots: any other is skipped unread and named in the "not found"
message, so a script cannot make the server read an arbitrary file. The server reads
the files; Lua's io never touches the filesystem. Roots are looked at on every lookup,
so a package installed while the server runs is found at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = [
    "MAX_SOURCE_BYTES",
    "MAX_TEMPLATES",
    "MODULE_NAME",
    "PACKAGE_NAME",
    "InstalledPackage",
    "Module",
    "ModuleNotFound",
    "PackageError",
    "PackageResolver",
    "Root",
    "bundled_dir",
    "bundled_strategies_dir",
    "template_files",
]

#: A plain dotted identifier: no path separators, no "..", nothing a path could hide in.
MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
PACKAGE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_SOURCE_BYTES = 4 * 1024 * 1024
#: package.path templates looked at per require (each costs a path resolution the
#: instruction hook cannot interrupt); the rest are named as skipped.
MAX_TEMPLATES = 64


class PackageError(Exception):
    """A package could not be read, or its name is not acceptable."""


class ModuleNotFound(PackageError):
    """No root has the module; the message lists every file looked for, one per line."""


def bundled_dir(name: str) -> Path:
    """A folder that ships inside the wheel (``strategies``, ``scenarios``); in a source
    checkout it sits at the top level."""
    packaged = Path(str(resources.files("alc_mcp"))) / name
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / name


def bundled_strategies_dir() -> Path:
    return bundled_dir("strategies")


@dataclass(frozen=True, slots=True)
class Root:
    path: Path
    source: str  # search_paths | ALC_PACKAGES_PATH | ALC_HOME | bundled

    def to_json(self) -> dict[str, str]:
        return {"path": str(self.path), "source": self.source}


@dataclass(frozen=True, slots=True)
class Module:
    name: str
    path: Path
    root: Root
    source: bytes

    @property
    def chunkname(self) -> str:
        """What Lua error messages show: the file relative to its root."""
        return "@" + self.path.relative_to(self.root.path).as_posix()


@dataclass(frozen=True, slots=True)
class InstalledPackage:
    name: str
    directory: Path
    root: Root


class PackageResolver:
    def __init__(self, roots: Sequence[Root], base: Path | None = None) -> None:
        self.roots = tuple(roots)
        #: What a relative ``package.path`` template is relative to (the first search path).
        self.base = base

    def with_search_paths(self, paths: Sequence[str]) -> PackageResolver:
        """This resolver with ``paths`` searched first (a session's ``search_paths``)."""
        if not paths:
            return self
        extra = [Root(Path(p), "search_paths") for p in paths]
        return PackageResolver([*extra, *self.roots], Path(paths[0]))

    @classmethod
    def from_dirs(
        cls, packages_path: Sequence[Path], home: Path, bundled: Path | None = None
    ) -> PackageResolver:
        roots = [Root(Path(p), "ALC_PACKAGES_PATH") for p in packages_path]
        roots.append(Root(home / "packages", "ALC_HOME"))
        roots.append(Root(bundled or bundled_strategies_dir(), "bundled"))
        return cls(roots)

    def candidates(self, name: str) -> Iterator[tuple[Root, Path]]:
        parts = name.split(".")
        for root in self.roots:
            base = root.path.joinpath(*parts)
            yield root, base.with_name(base.name + ".lua")
            yield root, base / "init.lua"

    def find(self, name: str, package_path: str = "") -> Module:
        """The module ``name`` from the roots, else from the allowed templates of
        ``package_path`` (Lua's ``package.path``); ``ModuleNotFound`` lists every file
        looked for and every template skipped."""
        if not MODULE_NAME.fullmatch(name):
            raise PackageError(
                f"invalid module name '{name}': use a dotted identifier such as 'mypkg' or 'mypkg.util' "
                "(letters, digits and _; no slashes or '..')"
            )
        searched = []
        for root, path in self.candidates(name):
            if not path.is_file():
                searched.append(f"no file '{path}'")
            elif root.source == "search_paths" and not path.resolve().is_relative_to(root.path.resolve()):
                # A caller-named directory is fenced like code_file: no symlink out of it.
                searched.append(f"ignored '{path}': it links to {path.resolve()}, outside {root.path}")
            else:
                return Module(name, path, root, _read(path))
        templates = [t for t in package_path.split(";") if "?" in t]
        for template, file, owner in template_files(name, templates[:MAX_TEMPLATES], self.base, self.roots):
            if owner is None:
                searched.append(
                    f"ignored package.path template '{template}': {file} is outside the directories "
                    "require may read (installed packages, ALC_PACKAGES_PATH, search_paths)"
                )
            elif file.is_file():
                return Module(name, file, owner, _read(file))
            else:
                searched.append(f"no file '{file}'")
        if len(templates) > MAX_TEMPLATES:
            skipped = len(templates) - MAX_TEMPLATES
            searched.append(f"ignored {skipped} package.path templates after the first {MAX_TEMPLATES}")
        raise ModuleNotFound("\n\t".join(searched))

    def installed(self) -> list[InstalledPackage]:
        """Every package directory (``<root>/<name>/init.lua``), in search order."""
        found = []
        for root in self.roots:
            if not root.path.is_dir():
                continue
            for entry in sorted(root.path.iterdir()):
                if PACKAGE_NAME.fullmatch(entry.name) and (entry / "init.lua").is_file():
                    found.append(InstalledPackage(entry.name, entry, root))
        return found


def template_files(
    name: str, templates: Sequence[str], base: Path | None, roots: Sequence[Root]
) -> Iterator[tuple[str, Path, Root | None]]:
    """``(template, file, root)`` for each template (``/repo/?.lua``) with ``?``
    replaced by ``name`` (dots as separators); ``root`` is the root the
    file's real path lies in, None when it lies in none (the file must not be read).
    A relative template is relative to ``base``; without one it is outside every root.
    Only paths are computed and resolved here: no file is opened."""
    relative = name.replace(".", "/")
    real_roots = [Root(root.path.resolve(), root.source) for root in roots]
    for template in templates:
        candidate = Path(template.replace("?", relative))
        if not candidate.is_absolute():
            if base is None:
                yield template, candidate, None
                continue
            candidate = base / candidate
        try:
            real = candidate.resolve()
        except (OSError, ValueError):  # a NUL byte, a symlink loop: no file anyone may read
            yield template, candidate, None
            continue
        owner = next((root for root in real_roots if real.is_relative_to(root.path)), None)
        yield template, real, owner


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise PackageError(f"{path} is {size} bytes; packages larger than {MAX_SOURCE_BYTES} are refused")
        return path.read_bytes()
    except OSError as exc:
        raise PackageError(f"cannot read {path}: {exc.strerror or exc}") from exc
