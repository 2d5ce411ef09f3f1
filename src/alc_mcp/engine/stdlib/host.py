"""``alc.hash(s)`` and ``alc.dirs()``: what package code used to get from the OS.

``alc.hash`` is the SHA-256 of the string's bytes in hex: the same on every machine
and in every version, so a fingerprint written into a card stays comparable.
``alc.dirs()`` names the server's directories (``home``, ``packages``, ``scenarios``),
so code that looks for scenarios never reads ``os.getenv("HOME")`` (nil here). Both
are pure for a given server, so nothing is journaled.
"""

from __future__ import annotations

import hashlib
from typing import Any

from alc_mcp.engine.luaargs import Callback, as_text, lua_callback
from alc_mcp.engine.port import BridgeContext

__all__ = ["functions"]


def functions(context: BridgeContext) -> dict[str, Callback]:
    json, dirs = context.json, dict(context.facilities.dirs)

    @lua_callback("alc.hash")
    def hash_(text: Any = None) -> bytes:
        data = text if isinstance(text, bytes) else as_text(text, "argument").encode()
        return hashlib.sha256(data).hexdigest().encode()

    @lua_callback("alc.dirs")
    def dirs_() -> Any:
        return json.to_lua(dirs)

    return {"hash": hash_, "dirs": dirs_}
