"""alc.cache / cache_info / cache_clear: a per-session memoised alc.llm (spec §4.4)."""

from __future__ import annotations

import pytest

from tests.conftest import Host
from tests.prelude.support import END, answer, answer_all, djb2, logs_then_finish

pytestmark = pytest.mark.anyio


async def test_same_prompt_twice_pauses_once(host: Host) -> None:
    code = """
    local r1 = alc.cache('What is the capital of France?')
    local r2 = alc.cache('What is the capital of France?')
    return {r1 = r1, r2 = r2, info = alc.cache_info()}
    """
    paused = await host.run(code)
    assert paused["prompt"] == "What is the capital of France?"
    done = await answer(host, paused, "cached_value")
    assert done["status"] == "completed"
    result = done["result"]
    assert result["r1"] == result["r2"] == "cached_value"
    assert result["info"] == {"entries": 1, "hits": 1, "misses": 1, "max_entries": 256}
    assert done["stats"]["auto"]["llm_calls"] == 1


async def test_case_and_whitespace_differences_share_an_entry(host: Host) -> None:
    code = """
    local a = alc.cache('Summarise  THIS text')
    local b = alc.cache('  summarise this\\n\\ttext ')
    return {a, b, alc.cache_info().hits}
    """
    paused = await host.run(code)
    done = await answer(host, paused, "summary")
    assert done["result"] == ["summary", "summary", 1]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("{system = 'be brief'}", "{system = 'be verbose'}"),
        ("{max_tokens = 10}", "{max_tokens = 20}"),
        ("nil", "{system = 'x'}"),
    ],
)
async def test_system_and_max_tokens_are_part_of_the_key(host: Host, first: str, second: str) -> None:
    code = f"local p = 'prompt' return {{alc.cache(p, {first}), alc.cache(p, {second}), alc.cache_info()}}"
    paused = await host.run(code)
    paused = await answer(host, paused, "one")
    assert paused["status"] == "needs_response", "a different system/max_tokens must not hit"
    done = await answer(host, paused, "two")
    assert done["result"] == ["one", "two", {"entries": 2, "hits": 0, "misses": 2, "max_entries": 256}]


async def test_opts_reach_the_llm_and_cache_keys_are_ignored(host: Host) -> None:
    paused = await host.run(
        "return alc.cache('p', {system = 'sys', max_tokens = 77, cache_key = 'k', grounded = true})"
    )
    assert paused == {
        "status": "needs_response",
        "session_id": paused["session_id"],
        "query_id": "q-0",
        "prompt": "p",
        "system": "sys",
        "max_tokens": 77,
        "grounded": True,
    }


async def test_explicit_cache_key_shares_an_entry_across_prompts(host: Host) -> None:
    code = """
    local a = alc.cache('first wording', {cache_key = 'capital-fr'})
    local b = alc.cache('a completely different wording', {cache_key = 'capital-fr'})
    return {a, b}
    """
    done = await answer(host, await host.run(code), "Paris")
    assert done["result"] == ["Paris", "Paris"]


async def test_cache_skip_always_asks_and_is_not_counted(host: Host) -> None:
    code = """
    local a = alc.cache('p', {cache_skip = true})
    local b = alc.cache('p', {cache_skip = true})
    return {a, b, alc.cache_info()}
    """
    paused = await answer(host, await host.run(code), "one")
    assert paused["status"] == "needs_response"
    assert paused["prompt"] == "p"
    done = await answer(host, paused, "two")
    assert done["result"] == ["one", "two", {"entries": 0, "hits": 0, "misses": 0, "max_entries": 256}]


async def test_cache_clear_forgets_entries_and_counters(host: Host) -> None:
    code = """
    alc.cache('p')
    alc.cache('p')
    local before = alc.cache_info()
    alc.cache_clear()
    local after = alc.cache_info()
    local again = alc.cache('p')
    return {before = before, after = after, again = again, final = alc.cache_info()}
    """
    paused = await answer(host, await host.run(code), "old")
    assert paused["status"] == "needs_response", "after a clear the same prompt must be asked again"
    done = await answer(host, paused, "new")
    result = done["result"]
    assert result["before"] == {"entries": 1, "hits": 1, "misses": 1, "max_entries": 256}
    # Decision: entries is reset too (algocline leaves a stale count).
    assert result["after"] == {"entries": 0, "hits": 0, "misses": 0, "max_entries": 256}
    assert result["again"] == "new"
    assert result["final"] == {"entries": 1, "hits": 0, "misses": 1, "max_entries": 256}


async def test_oldest_entry_is_evicted_after_256(host: Host) -> None:
    # Answers come from a batch so the test needs few round trips: the cache is fed
    # through a wrapper of alc.llm that hands out pre-fetched answers.
    code = """
    local items = {}
    for i = 1, 257 do items[i] = {prompt = 'p' .. i} end
    local answers = alc.llm_batch(items)
    local real_llm, calls = alc.llm, 0
    alc.llm = function(prompt, opts)
      calls = calls + 1
      return answers[tonumber(prompt:sub(2))]
    end
    for i = 1, 257 do alc.cache('p' .. i) end
    local full = alc.cache_info()
    alc.cache('p257')            -- newest: still cached
    local calls_before = calls
    alc.cache('p2')              -- second oldest: still cached
    local hit_p2 = calls == calls_before
    alc.llm = real_llm
    local again = alc.cache('p1') -- oldest: evicted, asked again for real
    return {full = full, hit_p2 = hit_p2, again = again, info = alc.cache_info()}
    """
    paused = await host.run(code)
    paused = await answer_all(host, paused, [f"a{i}" for i in range(1, 258)])
    assert paused["status"] == "needs_response"
    assert paused["prompt"] == "p1", "the oldest entry must have been evicted"
    done = await answer(host, paused, "fresh")
    result = done["result"]
    assert result["full"] == {"entries": 256, "hits": 0, "misses": 257, "max_entries": 256}
    assert result["hit_p2"] is True
    assert result["again"] == "fresh"
    assert result["info"]["entries"] == 256


async def test_wrapped_llm_is_used(host: Host) -> None:
    code = """
    local seen = {}
    alc.llm = function(prompt) seen[#seen + 1] = prompt return 'mock:' .. prompt end
    return {alc.cache('x'), alc.cache('x'), seen}
    """
    reply = await host.run(code)
    assert reply["status"] == "completed"
    assert reply["result"] == ["mock:x", "mock:x", ["x"]]


async def test_failed_call_is_not_cached(host: Host) -> None:
    code = """
    local real = alc.llm
    alc.llm = function() error('provider down') end
    local ok = pcall(alc.cache, 'p')
    alc.llm = real
    local r = alc.cache('p')
    return {ok, r, alc.cache_info()}
    """
    paused = await host.run(code)
    assert paused["prompt"] == "p", "a failed call must not leave an entry behind"
    done = await answer(host, paused, "x")
    assert done["result"] == [False, "x", {"entries": 1, "hits": 0, "misses": 2, "max_entries": 256}]


async def test_hit_and_miss_are_logged_at_debug_with_the_key(host: Host) -> None:
    code = f"""
    alc.cache('Hello World')
    alc.cache('hello   world')
    alc.cache('q', {{cache_key = 'mine'}})
    alc.llm('{END}')
    """
    paused = await answer(host, await host.run(code), "a")
    paused = await answer(host, paused, "b")
    logs, _ = await logs_then_finish(host, paused)
    key = djb2("hello world")
    assert logs == [
        ("debug", f"alc.cache: miss {key}"),
        ("debug", f"alc.cache: hit {key}"),
        ("debug", "alc.cache: miss mine"),
    ]
