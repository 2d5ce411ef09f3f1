"""``alc._eval_summary(report)``: the statistics of an eval report, computed by the same
code as the ``alc_eval`` tool (``alc_mcp.domain.evaluation.summarize``).

Pure and deterministic, so nothing is journaled: a replay computes the same summary.
"""

from __future__ import annotations

from typing import Any

from alc_mcp.domain.evaluation import EvaluationError, summarize
from alc_mcp.engine.errors import BridgeError
from alc_mcp.engine.luaargs import Callback, is_table, lua_callback, lua_type_name
from alc_mcp.engine.port import BridgeContext

__all__ = ["functions"]


def functions(context: BridgeContext) -> dict[str, Callback]:
    json = context.json

    @lua_callback("alc._eval_summary")
    def eval_summary(report: Any = None) -> Any:
        if not is_table(report):
            raise BridgeError(f"report must be a table, got {lua_type_name(report)}")
        data = json.from_lua(report)
        if not isinstance(data, dict):
            raise BridgeError("report must be a table with a cases field")
        try:
            return json.to_lua(summarize(data))
        except EvaluationError as exc:
            raise BridgeError(str(exc)) from None

    return {"_eval_summary": eval_summary}
