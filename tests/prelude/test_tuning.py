"""alc.tuning(defaults, ctx, opts): merging strategy parameters from ctx (spec §4.4, §9.2)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Host
from tests.prelude.support import END, completed, logs_then_finish

pytestmark = pytest.mark.anyio

DEFAULTS = "{n = 3, temperature = 0.7, style = {tone = 'neutral', length = 'short'}, tags = {'a', 'b'}}"


async def tuned(host: Host, ctx: Any, defaults: str = DEFAULTS, opts: str = "nil") -> Any:
    """alc.tuning(defaults, ctx, opts) with ctx passed to the session as its real ctx."""
    return await completed(host, f"return alc.tuning({defaults}, ctx, {opts})", ctx=ctx)


async def test_defaults_when_ctx_has_nothing(host: Host) -> None:
    assert await tuned(host, {"task": "t"}) == {
        "n": 3,
        "temperature": 0.7,
        "style": {"tone": "neutral", "length": "short"},
        "tags": ["a", "b"],
    }


async def test_scalar_override(host: Host) -> None:
    result = await tuned(host, {"n": 5, "temperature": 0.1})
    assert (result["n"], result["temperature"]) == (5, 0.1)
    assert result["style"] == {"tone": "neutral", "length": "short"}


async def test_dict_values_are_merged(host: Host) -> None:
    result = await tuned(host, {"style": {"tone": "formal"}})
    assert result["style"] == {"tone": "formal", "length": "short"}


async def test_two_level_deep_merge(host: Host) -> None:
    defaults = "{a = {b = {c = 1, d = 2}, e = 3}}"
    result = await tuned(host, {"a": {"b": {"d": 20}}}, defaults)
    assert result == {"a": {"b": {"c": 1, "d": 20}, "e": 3}}


async def test_arrays_are_replaced_not_merged(host: Host) -> None:
    result = await tuned(host, {"tags": ["z"]})
    assert result["tags"] == ["z"]


async def test_schema_is_stripped(host: Host) -> None:
    defaults = "{n = 1, _schema = {n = 'number'}}"
    assert await tuned(host, {"_schema": {"x": 1}}, defaults) == {"n": 1}


async def test_prefix_reads_a_sub_table(host: Host) -> None:
    ctx = {"n": 100, "mystrat": {"n": 7, "style": {"length": "long"}}}
    result = await tuned(host, ctx, opts="{prefix = 'mystrat'}")
    assert result["n"] == 7
    assert result["style"] == {"tone": "neutral", "length": "long"}


async def test_prefix_ignores_top_level_keys(host: Host) -> None:
    result = await tuned(host, {"n": 100, "temperature": 0.0}, opts="{prefix = 'mystrat'}")
    assert (result["n"], result["temperature"]) == (3, 0.7)


async def test_non_table_prefix_is_ignored_with_a_warning(host: Host) -> None:
    code = f"""
    local r = alc.tuning({DEFAULTS}, ctx, {{prefix = 'mystrat'}})
    alc.llm('{END}')
    return r.n
    """
    paused = await host.run(code, ctx={"n": 100, "mystrat": "fast"})
    logs, result = await logs_then_finish(host, paused)
    assert result == 3
    assert logs == [("warn", "alc.tuning: prefix 'mystrat' exists but is not a table, ignoring")]


async def test_nil_ctx_gives_the_defaults(host: Host) -> None:
    assert await completed(host, "return alc.tuning({n = 1, s = {x = 2}}, nil)") == {"n": 1, "s": {"x": 2}}


async def test_missing_ctx_gives_the_defaults(host: Host) -> None:
    # alc_run without ctx: the global ctx is JSON null (a userdata), not a table.
    assert await completed(host, "return alc.tuning({n = 1}, ctx)") == {"n": 1}


@pytest.mark.parametrize(("expr", "expected"), [("42", 42), ("'text'", "text"), ("nil", None)])
async def test_non_table_defaults_are_returned_unchanged(host: Host, expr: str, expected: Any) -> None:
    assert await completed(host, f"return alc.tuning({expr}, {{n = 5}})") == expected


async def test_false_overrides_a_default(host: Host) -> None:
    assert await tuned(host, {"verbose": False}, "{verbose = true}") == {"verbose": False}


async def test_keys_only_in_ctx_do_not_leak(host: Host) -> None:
    result = await tuned(host, {"task": "x", "extra": 1, "style": {"font": "serif"}})
    assert set(result) == {"n", "temperature", "style", "tags"}
    assert result["style"] == {"tone": "neutral", "length": "short"}


async def test_a_type_change_replaces_the_default(host: Host) -> None:
    result = await tuned(host, {"n": "many", "style": "casual", "temperature": {"min": 0}})
    assert (result["n"], result["style"], result["temperature"]) == ("many", "casual", {"min": 0})


async def test_json_null_in_ctx_keeps_the_default(host: Host) -> None:
    # Decision: null means "not given" rather than replacing the default by a userdata.
    result = await tuned(host, {"n": None, "style": {"tone": None}})
    assert result["n"] == 3
    assert result["style"] == {"tone": "neutral", "length": "short"}


async def test_an_array_replaces_an_empty_default_table(host: Host) -> None:
    assert await tuned(host, {"extra": ["x", "y"]}, "{extra = {}}") == {"extra": ["x", "y"]}


async def test_defaults_table_is_not_modified(host: Host) -> None:
    code = """
    local d = {n = 1, s = {x = 1}}
    alc.tuning(d, {n = 2, s = {x = 2}})
    return d
    """
    assert await completed(host, code) == {"n": 1, "s": {"x": 1}}
