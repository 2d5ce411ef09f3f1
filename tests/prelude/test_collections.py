"""alc.map / reduce / filter / vote (spec §4.4, prelude_test.lua cases of §9.2)."""

from __future__ import annotations

import pytest

from tests.conftest import Host
from tests.prelude.support import answer, answer_all, completed

pytestmark = pytest.mark.anyio


# --- map -------------------------------------------------------------------------------


async def test_map_of_empty_input_is_empty(host: Host) -> None:
    code = "local r = alc.map({}, function(x) return x end) return {#r, next(r) == nil}"
    assert await completed(host, code) == [0, True]


async def test_map_passes_the_index_and_keeps_order(host: Host) -> None:
    code = "return alc.map({'a', 'b', 'c'}, function(item, i) return i .. '=' .. item end)"
    assert await completed(host, code) == ["1=a", "2=b", "3=c"]


async def test_map_stops_at_the_first_hole(host: Host) -> None:
    assert await completed(host, "return alc.map({1, 2, nil, 4}, function(x) return x * 10 end)") == [10, 20]


async def test_map_callback_may_ask_the_llm(host: Host) -> None:
    code = "return alc.map({'cat', 'dog'}, function(animal) return alc.llm('Sound of ' .. animal .. '?') end)"
    paused = await host.run(code)
    assert paused["prompt"] == "Sound of cat?"
    paused = await answer(host, paused, "meow")
    assert paused["prompt"] == "Sound of dog?"
    done = await answer(host, paused, "woof")
    assert done["result"] == ["meow", "woof"]


# --- reduce ----------------------------------------------------------------------------


async def test_reduce_with_init(host: Host) -> None:
    code = "return alc.reduce({1, 2, 3}, function(acc, x) return acc + x end, 10)"
    assert await completed(host, code) == 16


async def test_reduce_without_init_starts_from_the_first_item(host: Host) -> None:
    assert await completed(host, "return alc.reduce({4, 5, 6}, function(acc, x) return acc * x end)") == 120


async def test_reduce_indices_start_at_two_without_init_and_at_one_with_it(host: Host) -> None:
    code = """
    local without, with = {}, {}
    alc.reduce({'a', 'b', 'c'}, function(acc, x, i) without[#without + 1] = i return acc end)
    alc.reduce({'a', 'b', 'c'}, function(acc, x, i) with[#with + 1] = i return acc end, '')
    return {without, with}
    """
    assert await completed(host, code) == [[2, 3], [1, 2, 3]]


async def test_reduce_concatenates_strings(host: Host) -> None:
    code = "return alc.reduce({'x', 'y', 'z'}, function(acc, s) return acc .. '-' .. s end)"
    assert await completed(host, code) == "x-y-z"


async def test_reduce_of_empty_input(host: Host) -> None:
    code = "local f = function(a, x) return a + x end return {alc.reduce({}, f, 7), alc.reduce({}, f) == nil}"
    assert await completed(host, code) == [7, True]


# --- filter ----------------------------------------------------------------------------


async def test_filter_keeps_matching_items_in_order(host: Host) -> None:
    code = "return alc.filter({5, 1, 8, 3, 9}, function(x) return x > 4 end)"
    assert await completed(host, code) == [5, 8, 9]


async def test_filter_passes_the_index_and_accepts_any_truthy_value(host: Host) -> None:
    code = "return alc.filter({'a', 'b', 'c', 'd'}, function(x, i) if i % 2 == 0 then return 0 end end)"
    assert await completed(host, code) == ["b", "d"]


async def test_filter_of_nothing_matching_is_empty(host: Host) -> None:
    code = "local r = alc.filter({1, 2}, function() return false end) return #r"
    assert await completed(host, code) == 0


# --- vote ------------------------------------------------------------------------------


async def test_vote_majority(host: Host) -> None:
    code = "return alc.vote({'A', 'B', 'A', 'C', 'A'})"
    assert await completed(host, code) == {"winner": "A", "count": 3, "total": 5}


async def test_vote_tie_goes_to_the_first_seen(host: Host) -> None:
    assert await completed(host, "return alc.vote({'B', 'A', 'A', 'B'})") == {
        "winner": "B",
        "count": 2,
        "total": 4,
    }


async def test_vote_trims_whitespace_and_returns_the_trimmed_answer(host: Host) -> None:
    code = "return alc.vote({'  yes', 'no', 'yes\\n', '\\tyes \\r\\n'})"
    assert await completed(host, code) == {"winner": "yes", "count": 3, "total": 4}


async def test_vote_uses_tostring_for_numbers(host: Host) -> None:
    result = await completed(host, "return alc.vote({7, '7', 3, ' 7 '})")
    assert result == {"winner": "7", "count": 3, "total": 4}


async def test_vote_is_case_sensitive(host: Host) -> None:
    assert await completed(host, "return alc.vote({'Yes', 'yes', 'yes'})") == {
        "winner": "yes",
        "count": 2,
        "total": 3,
    }


async def test_vote_of_nothing(host: Host) -> None:
    assert await completed(host, "return alc.vote({})") == {"count": 0, "total": 0}


async def test_vote_over_llm_answers(host: Host) -> None:
    code = """
    local answers = alc.llm_batch({{prompt = 'q'}, {prompt = 'q'}, {prompt = 'q'}})
    return alc.vote(answers).winner
    """
    paused = await host.run(code)
    done = await answer_all(host, paused, ["42", " 41", "42 "])
    assert done["result"] == "42"
