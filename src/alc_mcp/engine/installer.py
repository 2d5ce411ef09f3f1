"""Installing and removing packages in ``$ALC_HOME/packages``.

A source is a local directory or a git URL (cloned with the ``git`` command). It holds
either one package (``init.lua`` at its root) or a collection (``*/init.lua``). A
collection installs whole: its packages and its support folders (``tools/``,
``types/``: any top-level folder without ``init.lua`` whose name ``require`` can take),
so ``require("tools.docs.x")`` works as it does in the collection's own checkout.
Installing over an existing package or folder replaces it and says so; nothing is
overwritten silently.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alc_mcp.engine.packages import PACKAGE_NAME, PackageError

__all__ = [
    "GIT_TIMEOUT_SECONDS",
    "SOURCE_FILE",
    "InstallError",
    "InstallReport",
    "install",
    "installed_source",
    "remove",
]

GIT_TIMEOUT_SECONDS = 60
SOURCE_FILE = ".alc-source.json"
_GIT_PREFIXES = ("http://", "https://", "git@", "git://", "ssh://", "file://")


class InstallError(PackageError):
    pass


@dataclass(slots=True)
class InstallReport:
    mode: str
    source: str
    installed: list[str] = field(default_factory=list)
    replaced: list[dict[str, Any]] = field(default_factory=list)
    support: list[str] = field(default_factory=list)

    def to_json(self, packages_dir: Path) -> dict[str, Any]:
        result: dict[str, Any] = {
            "installed": self.installed,
            "replaced": self.replaced,
            "mode": self.mode,
            "source": self.source,
            "packages_dir": str(packages_dir),
        }
        if self.support:
            result["support"] = self.support
        return result


def install(source: str, packages_dir: Path, name: str | None = None) -> InstallReport:
    local = Path(source).expanduser()
    if local.is_dir():
        return _install_from(local.resolve(), source, packages_dir, name, mode_prefix="local_")
    if not source.startswith(_GIT_PREFIXES) and "/" not in source:
        raise InstallError(
            f"Source directory does not exist: {source}. Pass an existing directory (absolute path) "
            "or a git URL such as https://github.com/user/repo"
        )
    with tempfile.TemporaryDirectory(prefix="alc-install-") as tmp:
        checkout = Path(tmp) / "checkout"
        _clone(source, checkout)
        return _install_from(checkout, source, packages_dir, name, mode_prefix="")


def _clone(url: str, into: Path) -> None:
    git = shutil.which("git")
    if git is None:
        raise InstallError("git is not installed on this machine: install git, or pass a local directory")
    if not url.startswith(_GIT_PREFIXES):
        url = "https://" + url
    try:
        done = subprocess.run(
            [git, "clone", "--depth", "1", "--", url, str(into)],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InstallError(f"git clone timed out after {GIT_TIMEOUT_SECONDS}s: {url}") from None
    if done.returncode != 0:
        raise InstallError(f"git clone failed: {done.stderr.strip() or done.stdout.strip()}")


def _install_from(
    root: Path, source: str, packages_dir: Path, name: str | None, *, mode_prefix: str
) -> InstallReport:
    if (root / "init.lua").is_file():
        package_name = name or _name_from(source)
        _check_name(package_name)
        report = InstallReport(mode_prefix + "single", source)
        _copy(root, packages_dir / package_name, source, report, package_name)
        return report
    members = sorted(p for p in root.iterdir() if p.is_dir() and (p / "init.lua").is_file())
    if not members:
        raise InstallError(
            "No packages found. Expected init.lua at root (single) or */init.lua (collection)."
        )
    if name is not None:
        raise InstallError(
            "The 'name' parameter is only supported for single-package sources; "
            f"this source is a collection of {len(members)} packages"
        )
    report = InstallReport(mode_prefix + "collection", source)
    for member in members:
        _check_name(member.name)
        _copy(member, packages_dir / member.name, source, report, member.name)
    for folder in _support_folders(root):
        _copy(folder, packages_dir / folder.name, source, report, folder.name, kind="support")
    return report


def _support_folders(root: Path) -> list[Path]:
    """A collection's top-level folders that are not packages but can be required from
    (a plain identifier as name; hidden folders such as ``.git`` are left out)."""
    return sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and not (p / "init.lua").is_file() and PACKAGE_NAME.fullmatch(p.name)
    )


def _name_from(source: str) -> str:
    tail = source.rstrip("/").rsplit("/", 1)[-1]
    return tail.removesuffix(".git")


def _check_name(name: str) -> None:
    if not PACKAGE_NAME.fullmatch(name):
        raise InstallError(
            f"invalid package name '{name}': use letters, digits and _ only (it is what require() takes); "
            "pass name= to choose one"
        )


def _copy(
    source_dir: Path,
    destination: Path,
    origin: str,
    report: InstallReport,
    name: str,
    *,
    kind: str = "package",
) -> None:
    if destination.is_symlink() or destination.exists():
        report.replaced.append({"name": name, "previous_source": _recorded_source(destination)})
        if destination.is_symlink() or destination.is_file():
            destination.unlink()
        else:
            shutil.rmtree(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source_dir, destination, ignore=shutil.ignore_patterns(".git"), symlinks=False)
    (destination / SOURCE_FILE).write_text(
        json.dumps({"source": origin, "installed_at": int(time.time() * 1000)}), encoding="utf-8"
    )
    (report.support if kind == "support" else report.installed).append(name)


def _recorded_source(directory: Path) -> str | None:
    try:
        source = json.loads((directory / SOURCE_FILE).read_text(encoding="utf-8")).get("source")
    except (OSError, ValueError, AttributeError):
        return None
    return source if isinstance(source, str) else None


def installed_source(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def remove(name: str, packages_dir: Path) -> Path:
    _check_name(name)
    target = packages_dir / name
    if not (target / "init.lua").is_file():
        raise InstallError(f"package '{name}' is not installed in {packages_dir}")
    if target.is_symlink():
        target.unlink()
    else:
        shutil.rmtree(target)
    return target
