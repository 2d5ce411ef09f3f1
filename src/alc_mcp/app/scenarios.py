"""Where scenarios come from: inline text, a file, or a name looked up in the scenario
directories, in this order: ``$ALC_HOME/scenarios``, the ``scenarios/`` folder of each
installed package (``ALC_PACKAGES_PATH`` first, then ``$ALC_HOME/packages``), and the
scenarios bundled with alc-mcp.

The server reads scenario files; Lua only compiles the text it is handed.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alc_mcp.app.code_files import allowed_path
from alc_mcp.engine.packages import PackageResolver, bundled_dir

__all__ = [
    "MAX_SCENARIO_BYTES",
    "SCENARIO_NAME",
    "Scenario",
    "ScenarioCatalog",
    "ScenarioError",
    "bundled_scenarios_dir",
]

SCENARIO_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
MAX_SCENARIO_BYTES = 1024 * 1024


class ScenarioError(ValueError):
    """A scenario that cannot be found or read; the message says what to do."""


def bundled_scenarios_dir() -> Path:
    return bundled_dir("scenarios")


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    source: str
    origin: str  # inline | file | home | package:<name> | bundled
    path: Path | None = None

    @property
    def chunkname(self) -> str:
        return f"@{self.path.name}" if self.path is not None else f"=scenario:{self.name}"

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()[:16]

    def brief(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "origin": self.origin,
            "path": str(self.path) if self.path else None,
            "hash": self.hash,
        }


class ScenarioCatalog:
    def __init__(
        self,
        home: Path,
        resolver: PackageResolver,
        bundled: Path | None = None,
        *,
        roots: Sequence[Path] = (),
    ) -> None:
        self._roots = tuple(roots)  # where scenario files may be read from (``app.code_files``)
        self.home_dir = home / "scenarios"
        self._resolver = resolver
        self._bundled = bundled or bundled_scenarios_dir()

    def directories(self) -> list[tuple[str, Path]]:
        dirs = [("home", self.home_dir)]
        for package in self._resolver.installed():
            if package.root.source == "bundled":
                continue
            folder = package.directory / "scenarios"
            if folder.is_dir():
                dirs.append((f"package:{package.name}", folder))
        dirs.append(("bundled", self._bundled))
        return dirs

    def resolve(
        self, scenario: str | None = None, scenario_file: str | None = None, scenario_name: str | None = None
    ) -> Scenario:
        given = [v for v in (scenario, scenario_file, scenario_name) if v is not None]
        if not given:
            raise ScenarioError(
                "Provide one of: scenario, scenario_file, or scenario_name "
                "(alc_scenario_list shows the names)."
            )
        if len(given) > 1:
            raise ScenarioError(
                "Provide only one of: scenario, scenario_file, or scenario_name (not multiple)."
            )
        if scenario is not None:
            return Scenario("inline", scenario, "inline")
        if scenario_file is not None:
            path = allowed_path(
                scenario_file, self._roots, what="scenario_file", reader="alc_eval", inline="scenario"
            )
            return Scenario(path.stem, _read(path), "file", path)
        assert scenario_name is not None
        return self.find(scenario_name)

    def find(self, name: str) -> Scenario:
        if not SCENARIO_NAME.fullmatch(name):
            raise ScenarioError(
                f"invalid scenario name '{name}': use letters, digits, '_', '-' or '.' (no slashes)"
            )
        looked = []
        for origin, folder in self.directories():
            path = folder / f"{name}.lua"
            if path.is_file():
                return Scenario(name, _read(path), origin, path)
            looked.append(str(path))
        raise ScenarioError(
            f"Scenario '{name}' not found. Looked at:\n\t" + "\n\t".join(looked) + "\n"
            "alc_scenario_list shows the scenarios there are; alc_scenario_install adds one."
        )

    def all(self) -> list[Scenario]:
        """Every scenario by name; the first directory that has a name wins."""
        seen: dict[str, Scenario] = {}
        for origin, folder in self.directories():
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.lua")):
                if path.stem not in seen and SCENARIO_NAME.fullmatch(path.stem):
                    try:
                        seen[path.stem] = Scenario(path.stem, _read(path), origin, path)
                    except ScenarioError:
                        continue
        return list(seen.values())

    def install(self, source_path: Path, name: str | None = None) -> list[Path]:
        """Copy one ``.lua`` file, or every ``.lua`` file of a directory (its ``scenarios/``
        folder if it has one), into ``$ALC_HOME/scenarios``."""
        source_path = allowed_path(
            str(source_path), self._roots, what="path", reader="alc_scenario_install", inline="source"
        )
        if source_path.is_dir():
            folder = source_path / "scenarios" if (source_path / "scenarios").is_dir() else source_path
            files = sorted(folder.glob("*.lua"))
            if not files:
                raise ScenarioError(f"no .lua scenario files in {folder}")
            if name is not None:
                raise ScenarioError("`name` renames a single file; leave it out when installing a directory")
        elif source_path.is_file():
            files = [source_path]
        else:
            raise ScenarioError(f"no such file or directory: {source_path}")
        self.home_dir.mkdir(parents=True, exist_ok=True)
        installed = []
        for file in files:
            target_name = name if name is not None else file.stem
            if not SCENARIO_NAME.fullmatch(target_name):
                raise ScenarioError(f"invalid scenario name '{target_name}'")
            _read(file)
            target = self.home_dir / f"{target_name}.lua"
            shutil.copyfile(file, target)
            installed.append(target)
        return installed

    def write(self, name: str, source: str) -> Path:
        if not SCENARIO_NAME.fullmatch(name):
            raise ScenarioError(f"invalid scenario name '{name}'")
        self.home_dir.mkdir(parents=True, exist_ok=True)
        target = self.home_dir / f"{name}.lua"
        target.write_text(source, encoding="utf-8")
        return target


def _read(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_SCENARIO_BYTES:
            raise ScenarioError(
                f"{path} is {size} bytes; scenarios larger than {MAX_SCENARIO_BYTES} are refused"
            )
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"Scenario file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc}") from None
