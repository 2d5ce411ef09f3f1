"""The Layer 0 library beyond the core: one module per area of ``alc.*``.

Each module exposes ``functions(context: BridgeContext) -> dict[str, Callback]``
mapping dotted names under ``alc`` (``"math.mean"`` → ``alc.math.mean``) to callbacks
built with ``luaargs.lua_callback``.
"""

from __future__ import annotations

from types import ModuleType

from alc_mcp.engine.stdlib import cards, evaluation, fork, host, mathlib, state, text, vars

__all__ = ["MODULES"]

MODULES: tuple[ModuleType, ...] = (state, text, mathlib, fork, vars, evaluation, cards, host)
