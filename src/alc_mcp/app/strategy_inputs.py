"""A strategy's required inputs (``M.meta.inputs.<name>.required``), checked before
``alc_advice`` starts a session, so that a missing task is a clear refusal instead of a
run on an empty prompt."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alc_mcp.app.catalog import PackageCatalog
from alc_mcp.engine.scratch import ScratchError

__all__ = ["MissingInputError", "advice_meta", "check_required_inputs", "missing_inputs"]


class MissingInputError(ValueError):
    """``alc_advice`` was called without an input the strategy declares required."""


def missing_inputs(meta: Mapping[str, Any], ctx: Mapping[str, Any]) -> list[str]:
    """The required inputs of ``meta`` that ``ctx`` lacks (absent, null, or blank text)."""
    inputs = meta.get("inputs")
    if not isinstance(inputs, Mapping):
        return []
    missing = []
    for name, spec in inputs.items():
        if not (isinstance(spec, Mapping) and spec.get("required") is True):
            continue
        value = ctx.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append(str(name))
    return sorted(missing, key=lambda n: (n != "task", n))


def check_required_inputs(strategy: str, meta: Mapping[str, Any], ctx: Mapping[str, Any]) -> None:
    """Raise ``MissingInputError`` naming each required input ``ctx`` lacks, what it is
    (its meta description) and where to put it."""
    missing = missing_inputs(meta, ctx)
    if not missing:
        return
    inputs = meta["inputs"]
    parts = []
    for name in missing:
        description = str(inputs[name].get("description") or "").rstrip(".")
        where = "`task`" if name == "task" else f"`opts.{name}`"
        parts.append(
            f"`{name}` ({description}); pass it as {where}" if description else f"`{name}` ({where})"
        )
    noun = "input" if len(missing) == 1 else "inputs"
    raise MissingInputError(f"strategy '{strategy}' needs the {noun} " + "; and ".join(parts) + ".")


async def advice_meta(catalog: PackageCatalog, strategy: str) -> dict[str, Any]:
    """The strategy's ``M.meta`` (cached per file version), or ``{}`` when it does not load:
    the run then reports the package's own error."""
    try:
        return await catalog.read_meta(strategy)
    except ScratchError:
        return {}
