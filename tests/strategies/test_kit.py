"""The helpers the bundled strategies share (``strategies/alc_kit``), driven through a real
session; and the kit stays a library: no package entry, no MCP prompt."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Host

pytestmark = pytest.mark.anyio


async def lua(host: Host, code: str, **arguments: Any) -> Any:
    reply = await host.run(code, **arguments)
    assert reply["status"] == "completed", reply
    return reply["result"]


async def test_settings_take_defaults_from_meta_and_overrides_from_ctx(host: Host) -> None:
    got = await lua(
        host,
        """
        local k = require('alc_kit.knobs')
        local meta = { inputs = {
          task = { type = 'string', required = true },
          n = { type = 'integer', default = 5 },
          style = { type = 'string', default = 'plain' },
        } }
        return k.settings(meta, ctx)
        """,
        ctx={"task": "t", "n": 9, "other": "ignored"},
    )
    assert got == {"n": 9, "style": "plain"}


async def test_knob_readers(host: Host) -> None:
    got = await lua(
        host,
        """
        local k = require('alc_kit.knobs')
        return {
          count = { k.count(nil, 4, 1, 32), k.count(alc.Null, 4, 1, 32), k.count('3', 4, 1, 32),
                    k.count(500, 4, 0), k.count(32, 4, 1, 32) },
          whole = { k.whole(nil, 80, 1), k.whole('7', 80, 1), k.whole(0, 2, 0) },
          number = { k.number(nil, 70, 0, 100), k.number('2.5', 1, 0) },
          flag = { k.flag(true, false), k.flag('no', true), k.flag('maybe', true), k.flag(1, false) },
          text = { k.text('  ', 'd'), k.text(' x ', 'd'), k.text(42, 'd'), k.text('', nil) == nil },
        }
        """,
    )
    assert got == {
        "count": [4, 4, 3, 500, 32],
        "whole": [80, 7, 0],
        "number": [70, 2.5],
        "flag": [True, False, True, False],
        "text": ["d", " x ", "d", True],
    }


async def test_numeric_knobs_refuse_unusable_values_naming_the_knob_and_its_range(host: Host) -> None:
    got = await lua(
        host,
        """
        local k = require('alc_kit.knobs')
        local function err(f, ...) local ok, e = pcall(f, ...) return ok and 'no error' or e end
        return {
          err(k.count, 0, 4, 1, 32, 'demo: n'), err(k.count, 'lots', 4, 1, 32, 'demo: n'),
          err(k.count, 2.5, 4, 1, 32, 'demo: n'), err(k.count, 100, 4, 1, 32, 'demo: n'),
          err(k.whole, -1, 2, 0, 'demo: size'), err(k.number, 101, 70, 0, 100, 'demo: threshold'),
          err(k.number, 'x', 1, 0, nil, 'demo: c'),
        }
        """,
    )
    assert got == [
        "demo: n must be a whole number from 1 to 32 (got 0)",
        'demo: n must be a whole number from 1 to 32 (got "lots")',
        "demo: n must be a whole number from 1 to 32 (got 2.5)",
        "demo: n must be a whole number from 1 to 32 (got 100)",
        "demo: size must be a whole number of at least 0 (got -1)",
        "demo: threshold must be a number from 0 to 100 (got 101)",
        'demo: c must be a number of at least 0 (got "x")',
    ]


async def test_task_is_required_with_the_strategy_s_own_message(host: Host) -> None:
    got = await lua(
        host,
        """
        local k = require('alc_kit.knobs')
        local ok, err = pcall(k.task, { task = '  ' }, 'demo: ctx.task is required')
        return { k.task({ task = 'Q?' }, 'x'), k.task({ task = 1729 }, 'x'), ok, err }
        """,
    )
    assert got == ["Q?", "1729", False, "demo: ctx.task is required"]


async def test_parse_readers(host: Host) -> None:
    got = await lua(
        host,
        r"""
        local p = require('alc_kit.parse')
        local rest, whole = p.unmark('  2) second ')
        local none, plain = p.unmark('1867: born in Warsaw')
        return {
          trim = p.trim('  a b \n'),
          lines = p.lines('one\r\ntwo\n'),
          array = alc.json_encode(p.array()),
          field = p.field({ Summary = ' s ', summary = '  ' }, { 'summary', 'Summary' }),
          json_plain = p.json_list('Here: ["a", " b ", "", 3]'),
          json_keyed = p.json_list('{"subtasks": [{"title": "x"}, {"task": " y "}, "z"]}',
                                   { 'steps', 'subtasks' }, { 'task', 'title' }),
          json_none = #p.json_list('no json here', { 'items' }),
          unmark = { rest, whole, none == nil, plain },
          list = p.list('Sure:\n1. **First**\n2) Second\nPoint 3: Third\n- Fourth\n' ..
                        '\226\128\162 Fifth\n## Step 6: Sixth\nprose line', 10),
          list_max = p.list('1. a\n2. b\n3. c', 2),
        }
        """,
    )
    assert got == {
        "trim": "a b",
        "lines": ["one", "two", ""],
        "array": "[]",
        "field": "s",
        "json_plain": ["a", "b"],
        "json_keyed": ["x", "y", "z"],
        "json_none": 0,
        "unmark": ["second", "2) second", True, "1867: born in Warsaw"],
        "list": ["First", "Second", "Third", "Fourth", "Fifth", "Sixth"],
        "list_max": ["a", "b"],
    }


async def test_the_kit_is_no_package_and_has_no_prompt(mcp_host: Host) -> None:
    host = mcp_host  # the prompt list is MCP's, so this one needs the real client
    listing = await host.ok("alc_pkg_list")
    names = {entry["name"] for entry in listing["packages"]}
    assert "cot" in names
    assert not any(name.startswith("alc_kit") for name in names)
    prompts = {p.name for p in (await host.client.list_prompts()).prompts}
    assert "cot" in prompts
    assert not any(name.startswith("alc_kit") for name in prompts)
