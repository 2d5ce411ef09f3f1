"""The prelude keeps working when a script clobbers the globals it was built from."""

from __future__ import annotations

import pytest

from tests.conftest import Host
from tests.prelude.support import answer, completed, djb2

pytestmark = pytest.mark.anyio

CLOBBER = """
local A = alc
string, table, math, pairs, ipairs, next = nil, nil, nil, nil, nil, nil
tostring, tonumber, type, pcall, error = nil, nil, nil, nil, nil
select, rawget, require, _G.alc = nil, nil, nil, nil
"""


async def test_pure_functions_survive_clobbered_globals(host: Host) -> None:
    code = (
        CLOBBER
        + """
    return {
      map = A.map({1, 2}, function(x) return x + 1 end),
      reduce = A.reduce({1, 2, 3}, function(a, x) return a + x end),
      filter = A.filter({1, 2, 3}, function(x) return x ~= 2 end),
      vote = A.vote({' a', 'a ', 'b'}).winner,
      score = A.parse_score('Score: 12'),
      number = A.parse_number('x 2.5'),
      json = A.json_extract('see ```json\\n{"k": [1]}\\n```'),
      fp = A.fingerprint('  Hi  '),
      tuning = A.tuning({n = 1, s = {x = 1}}, {s = {x = 2}}),
      pipe = A.pipe({function(c) c.result = 'r' return c end, function(c) return c end}, {task = 't'}).task,
      budget = A.budget_check(),
    }
    """
    )
    result = await completed(host, code)
    assert result == {
        "map": [2, 3],
        "reduce": 6,
        "filter": [1, 3],
        "vote": "a",
        "score": 10,
        "number": 2.5,
        "json": {"k": [1]},
        "fp": djb2("hi"),
        "tuning": {"n": 1, "s": {"x": 2}},
        "pipe": "r",
        "budget": True,
    }


async def test_llm_helpers_survive_clobbered_globals(host: Host) -> None:
    code = (
        CLOBBER
        + """
    local cached = A.cache('q')
    local again = A.cache('q')
    local both = A.parallel({'x', 'y'}, function(s) return 'p ' .. s end)
    local t = A.llm_json('json?')
    return {cached, again, both, t, A.llm_safe({}, nil, 'safe')}
    """
    )
    paused = await host.run(code)
    paused = await answer(host, paused, "c")
    assert [q["prompt"] for q in paused["queries"]] == ["p x", "p y"]
    feed = [{"query_id": "q-0", "response": "X"}, {"query_id": "q-1", "response": "Y"}]
    paused = await host.ok("alc_continue", session_id=paused["session_id"], responses=feed)
    paused = await answer(host, paused, "not json")
    assert paused["system"] == "Output ONLY valid JSON. No markdown fences, no explanation."
    done = await answer(host, paused, '{"ok": 1}')
    assert done["result"] == ["c", "c", ["X", "Y"], {"ok": 1}, "safe"]
