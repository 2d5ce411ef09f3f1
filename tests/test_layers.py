"""The layers only ever depend downwards: domain is pure; the engine runs Lua on top
of it; the store implements the engine's storage contracts; the app holds the use
cases over engine and store; the adapters (MCP server, terminal, CLI) call the app.
This walks every import in src/ (including those only made for type checking) and
fails on one that reaches across or upwards."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "alc_mcp"

#: Which parts of alc_mcp each layer may import (besides itself, the standard library
#: and third-party packages). ``alc_mcp`` itself is the version, importable by all.
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "config": set(),
    "telemetry": set(),
    "engine": {"domain", "config", "telemetry"},
    "store": {"domain", "config", "engine.storage"},
    "app": {"domain", "config", "telemetry", "engine", "store"},
    "server": {"domain", "config", "app"},
    "terminal": {"domain", "config", "app", "responder"},
    "responder": {"domain", "config", "app"},
    "report_html": {"domain"},
    "eval_cli": {"domain", "config", "app", "terminal", "responder", "report_html"},
    "spec_cli": {"domain", "config", "app", "terminal"},
    "cli": {"config", "app", "server", "terminal", "eval_cli", "spec_cli"},
}


def layer_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name == PACKAGE or name.startswith(PACKAGE + ".")]


def allowed(source_layer: str, target: str) -> bool:
    target_layer = layer_of(target)
    if target == PACKAGE or target_layer == source_layer:
        return True
    rest = target.removeprefix(PACKAGE + ".")
    return any(rest == grant or rest.startswith(grant + ".") for grant in ALLOWED[source_layer])


SOURCES = sorted((SRC / PACKAGE).rglob("*.py"))


def test_every_module_belongs_to_a_known_layer() -> None:
    unknown = {module_name(p) for p in SOURCES if layer_of(module_name(p)) not in ALLOWED | {"": set()}}
    assert not unknown, f"modules outside every layer (add them to ALLOWED): {sorted(unknown)}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_import_reaches_up_or_across(path: Path) -> None:
    source_layer = layer_of(module_name(path))
    if not source_layer:
        return  # the package's face: only the version
    wrong = [
        f"line {line}: {target}" for line, target in imports_of(path) if not allowed(source_layer, target)
    ]
    assert not wrong, f"{module_name(path)} ({source_layer}) may not import: {wrong}"


def test_the_check_sees_a_wrong_import() -> None:
    assert not allowed("domain", "alc_mcp.engine.session")
    assert not allowed("engine", "alc_mcp.app.service")
    assert not allowed("store", "alc_mcp.engine.registry")
    assert not allowed("server", "alc_mcp.engine.session")
    assert allowed("store", "alc_mcp.engine.storage")
    assert allowed("server", "alc_mcp.app")
