"""Where the LuaCATS definitions of the ``alc.*`` API live (``alc://types/alc.d.lua``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["types_path"]


def types_path() -> Path:
    return Path(str(resources.files("alc_mcp.engine").joinpath("lua/alc.d.lua")))
