"""alc.budget_check(): is there budget left for another LLM call? (spec §4.4, §2.4)"""

from __future__ import annotations

import pytest

from tests.conftest import Host
from tests.prelude.support import answer, completed

pytestmark = pytest.mark.anyio


async def test_true_without_a_budget(host: Host) -> None:
    assert await completed(host, "return alc.budget_check()", ctx={"task": "x"}) is True
    assert await completed(host, "return alc.budget_check()") is True


async def test_true_while_calls_remain(host: Host) -> None:
    # Unset limits are JSON null in budget_remaining: they must not count as exhausted.
    code = "return {alc.budget_check(), alc.budget_remaining()}"
    assert await completed(host, code, ctx={"budget": {"max_llm_calls": 2}}) == [
        True,
        {"llm_calls": 2, "elapsed_ms": None, "tokens": None},
    ]


async def test_false_once_the_last_call_is_used(host: Host) -> None:
    code = """
    local before = alc.budget_check()
    alc.llm('one')
    local after = alc.budget_check()
    local ok = pcall(alc.llm, 'two')
    return {before, after, ok}
    """
    paused = await host.run(code, ctx={"budget": {"max_llm_calls": 1}})
    done = await answer(host, paused, "a")
    assert done["result"] == [True, False, False]


async def test_false_with_a_zero_call_budget(host: Host) -> None:
    assert await completed(host, "return alc.budget_check()", ctx={"budget": {"max_llm_calls": 0}}) is False


async def test_false_once_the_elapsed_time_is_used(host: Host) -> None:
    ctx = {"budget": {"max_elapsed_ms": 1}}
    code = "local t = os.clock() while os.clock() - t < 0.05 do end return alc.budget_check()"
    assert await completed(host, code, ctx=ctx) is False


async def test_true_with_plenty_of_time(host: Host) -> None:
    ctx = {"budget": {"max_elapsed_ms": 10**9}}
    assert await completed(host, "return alc.budget_check()", ctx=ctx) is True


async def test_false_once_tokens_are_used_up(host: Host) -> None:
    # Decision: unlike algocline, an exhausted token budget also counts.
    code = """
    local before = alc.budget_check()
    alc.llm(string.rep('word ', 50))
    return {before, alc.budget_check(), alc.budget_remaining().tokens}
    """
    paused = await host.run(code, ctx={"budget": {"max_tokens": 20, "max_llm_calls": 10}})
    done = await answer(host, paused, "a long enough answer to use the rest of the tokens")
    assert done["result"] == [True, False, 0]
