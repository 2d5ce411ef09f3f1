"""alc.parse_score / parse_number / json_extract / fingerprint (spec §4.4 and §9.2)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Host
from tests.prelude.support import answer, completed, djb2

pytestmark = pytest.mark.anyio


def lua_str(text: str) -> str:
    """A Lua string literal for text (JSON escapes are valid Lua escapes for these inputs)."""
    return json.dumps(text)


# --- parse_score -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("'8'", 8),
        ("'Score: 7/10'", 7),
        ("'7.5'", 7),
        ("'I rate it 15 out of 10'", 10),
        ("'0'", 1),
        ("'-3'", 3),
        ("9", 9),
        ("'no digits here'", 5),
        ("nil", 5),
        ("'99999999999999999999999'", 10),
    ],
)
async def test_parse_score(host: Host, expr: str, expected: int) -> None:
    assert await completed(host, f"return alc.parse_score({expr})") == expected


async def test_parse_score_default_is_used_only_without_digits(host: Host) -> None:
    assert await completed(host, "return {alc.parse_score('none', 3), alc.parse_score('6', 3)}") == [3, 6]


async def test_parse_score_of_an_llm_answer(host: Host) -> None:
    paused = await host.run("return alc.parse_score(alc.llm('Rate this 1-10'))")
    done = await answer(host, paused, "I'd give it an 8 — solid work.")
    assert done["result"] == 8


# --- parse_number ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("'42'", 42),
        ("'Score: 7.5/10'", 7.5),
        ("'-5'", -5),
        ("'total = -12.25 units'", -12.25),
        ("'answer: 3 then 4'", 3),
        ("'confidence=0.8, score=6', 'score=(%d+)'", 6),
        ("'x: 12', '%d+'", 12),
        ("42", None),
        ("nil", None),
        ("'no numbers'", None),
        ("'score: high', 'score: (%d+)'", None),
        ("'value: abc', 'value: (%a+)'", None),
    ],
)
async def test_parse_number(host: Host, args: str, expected: float | None) -> None:
    result = await completed(host, f"return alc.parse_number({args})")
    assert result == expected
    assert type(result) is type(expected)


async def test_parse_number_keeps_integers_and_floats_apart(host: Host) -> None:
    code = "return {math.type(alc.parse_number('7')), math.type(alc.parse_number('7.0'))}"
    assert await completed(host, code) == ["integer", "float"]


# --- json_extract ------------------------------------------------------------------------


@pytest.mark.parametrize("expr", ["42", "nil", "true", "{}"])
async def test_json_extract_of_a_non_string_is_nil(host: Host, expr: str) -> None:
    assert await completed(host, f"return alc.json_extract({expr}) == nil") is True


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"a": 1, "b": [1, 2]}', {"a": 1, "b": [1, 2]}),
        ('[1, "two", 3.5]', [1, "two", 3.5]),
        ('Here you go:\n```json\n{"ok": true}\n```\nDone.', {"ok": True}),
        ('```\n{"plain": "fence"}\n```', {"plain": "fence"}),
        ('The answer is {"x": {"y": 2}} as requested.', {"x": {"y": 2}}),
        ("Items: [3, 2, 1] sorted.", [3, 2, 1]),
        ('First {not json} then {"good": 1}', {"good": 1}),
        ('{"broken": } and later {"fine": 2}', {"fine": 2}),
        ("A [bad, list] then [1, 2]", [1, 2]),
        ('```json\n{"a": null}\n```', {"a": None}),
        ("```json\n[]\n```", []),
    ],
)
async def test_json_extract_finds_json(host: Host, raw: str, expected: object) -> None:
    assert await completed(host, f"return alc.json_extract({lua_str(raw)})") == expected


@pytest.mark.parametrize(
    "raw",
    ["", "no json here at all", "42", '"just a string"', "null", "true", "{unbalanced", "[not, json]"],
)
async def test_json_extract_returns_nil_without_a_table(host: Host, raw: str) -> None:
    assert await completed(host, f"return alc.json_extract({lua_str(raw)}) == nil") is True


async def test_json_extract_prefers_the_json_fence(host: Host) -> None:
    raw = 'Example: {"wrong": 1}\n```json\n{"right": 2}\n```'
    assert await completed(host, f"return alc.json_extract({lua_str(raw)})") == {"right": 2}


# --- fingerprint ---------------------------------------------------------------------------


async def test_fingerprint_is_eight_hex_chars_of_djb2(host: Host) -> None:
    result = await completed(host, "return alc.fingerprint('hello world')")
    assert result == djb2("hello world") == "3551c8c1"


async def test_fingerprint_normalises_case_whitespace_and_ends(host: Host) -> None:
    code = """
    return {
      alc.fingerprint('Hello World'),
      alc.fingerprint('  hello   world  '),
      alc.fingerprint('HELLO\\n\\tWORLD'),
      alc.fingerprint('hello world!'),
    }
    """
    a, b, c, d = await completed(host, code)
    assert a == b == c == djb2("hello world")
    assert d == djb2("hello world!") != a


async def test_fingerprint_of_empty_and_blank_strings(host: Host) -> None:
    assert await completed(host, "return {alc.fingerprint(''), alc.fingerprint(' \\n\\t ')}") == [
        "00001505",
        "00001505",
    ]


async def test_fingerprint_uses_tostring(host: Host) -> None:
    assert await completed(host, "return {alc.fingerprint(42), alc.fingerprint('42')}") == [djb2("42")] * 2


async def test_fingerprint_lowercases_ascii_only(host: Host) -> None:
    code = "return {alc.fingerprint('ÉCOLE'), alc.fingerprint('école'), alc.fingerprint('a\\u{a0}b')}"
    upper, lower, nbsp = await completed(host, code)
    assert upper == djb2("École".replace("É", "É"))  # only C, O, L, E are lowered
    assert upper == djb2("École")
    assert lower == djb2("école") != upper
    assert nbsp == djb2("a\u00a0b") != djb2("a b")  # a no-break space is not collapsed


async def test_fingerprint_of_a_long_text(host: Host) -> None:
    text = "".join(f"Line {i}: the quick brown fox jumps over the lazy dog. " for i in range(200))
    assert await completed(host, f"return alc.fingerprint({lua_str(text)})") == djb2(text.strip().lower())
