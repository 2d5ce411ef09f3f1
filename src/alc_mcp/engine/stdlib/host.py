"""``alc.hash(s)``, ``alc.dirs()`` and ``alc._scenario_source(name)``: what package code
used to get from the OS.

``alc.hash`` is the SHA-256 of the string's bytes in hex: the same on every machine
and in every version, so a fingerprint written into a card stays comparable.
``alc.dirs()`` names the server's directories (``home``, ``packages``, ``scenarios``),
so code that looks for scenarios never reads ``os.getenv("HOME")`` (nil here). Both
are pure for a given server, so nothing is journaled.

``alc._scenario_source(name)`` is how ``alc.eval`` finds a named scenario: the server
reads ``<scenarios>/<name>.lua`` (``alc.dirs().scenarios``), else the bundled one of
that name, and hands Lua the text. The read is journaled, so a replay compiles the
scenario it ran before even if the file changed since.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from alc_mcp.engine.luaargs import Callback, as_text, lua_callback
from alc_mcp.engine.packages import MAX_SOURCE_BYTES, bundled_dir
from alc_mcp.engine.port import BridgeContext

__all__ = ["SCENARIO_FILE", "functions", "scenario_source"]

#: A scenario name: a file name without directories (no "/", no leading ".").
SCENARIO_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


def scenario_source(name: str, scenarios_dir: str | None) -> list[str] | None:
    """``[source, chunkname]`` of the scenario ``name``, or None if there is none."""
    if not SCENARIO_FILE.fullmatch(name) or ".." in name:
        return None
    folders = [Path(scenarios_dir)] if scenarios_dir else []
    folders.append(bundled_dir("scenarios"))
    for folder in folders:
        path = folder / f"{name}.lua"
        try:
            if path.is_file() and path.stat().st_size <= MAX_SOURCE_BYTES:
                return [path.read_text(encoding="utf-8"), f"@{path.name}"]
        except (OSError, UnicodeDecodeError):
            continue
    return None


def functions(context: BridgeContext) -> dict[str, Callback]:
    json, dirs = context.json, dict(context.facilities.dirs)

    @lua_callback("alc.hash")
    def hash_(text: Any = None) -> bytes:
        data = text if isinstance(text, bytes) else as_text(text, "argument").encode()
        return hashlib.sha256(data).hexdigest().encode()

    @lua_callback("alc.dirs")
    def dirs_() -> Any:
        return json.to_lua(dirs)

    @lua_callback("alc._scenario_source")
    def scenario(name: Any = None) -> tuple[Any, ...]:
        key = as_text(name, "scenario name")
        found = context.effects.observe("scenario", lambda: scenario_source(key, dirs.get("scenarios")), key)
        return (None,) if found is None else (found[0].encode(), found[1].encode())

    return {"hash": hash_, "dirs": dirs_, "_scenario_source": scenario}
