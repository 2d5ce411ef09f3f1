"""Where ``require`` finds packages, and what is installed where.

Roots are searched in order: each directory of ``ALC_PACKAGES_PATH``, then
``$ALC_HOME/packages``, then the strategies bundled with alc-mcp. In each root the
module ``a.b`` is ``a/b.lua``, then ``a/b/init.lua``. The server reads the files;
Lua's io never touches the filesystem. Roots are looked at on every lookup, so a
package installed while the server runs is found at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = [
    "MAX_SOURCE_BYTES",
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
]

#: A plain dotted identifier: no path separators, no "..", nothing a path could hide in.
MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
PACKAGE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_SOURCE_BYTES = 4 * 1024 * 1024


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
    source: str  # ALC_PACKAGES_PATH | ALC_HOME | bundled

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
    def __init__(self, roots: Sequence[Root]) -> None:
        self.roots = tuple(roots)

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

    def find(self, name: str) -> Module:
        if not MODULE_NAME.fullmatch(name):
            raise PackageError(
                f"invalid module name '{name}': use a dotted identifier such as 'mypkg' or 'mypkg.util' "
                "(letters, digits and _; no slashes or '..')"
            )
        searched = []
        for root, path in self.candidates(name):
            if path.is_file():
                return Module(name, path, root, _read(path))
            searched.append(f"no file '{path}'")
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


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise PackageError(f"{path} is {size} bytes; packages larger than {MAX_SOURCE_BYTES} are refused")
        return path.read_bytes()
    except OSError as exc:
        raise PackageError(f"cannot read {path}: {exc.strerror or exc}") from exc
