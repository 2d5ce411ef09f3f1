"""alc.match_enum and alc.match_bool (spec §4.3, trap 14)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alc_mcp.engine.stdlib.text import jaro, jaro_winkler, match_bool, match_enum
from tests.conftest import Host
from tests.stdlib.support import lua_error, result

pytestmark = pytest.mark.anyio

VERDICTS = '{"PASS", "BLOCKED", "NEEDS_WORK"}'


async def enum(host: Host, text: str, candidates: str = VERDICTS, opts: str = "nil") -> object:
    code = f"return {{alc.match_enum(ctx.text, {candidates}, {opts})}}"
    found = await result(host, code, ctx={"text": text})
    return found[0] if found else None


# --------------------------------------------------------------------------- match_enum


async def test_match_enum_spec_examples(host: Host) -> None:
    assert await enum(host, "Verdict: BLOCKED. Fix the issues.") == "BLOCKED"
    assert await enum(host, "Initially BLOCKED, but after review: PASS") == "PASS"
    assert await enum(host, "BLOKED") == "BLOCKED"
    assert await enum(host, "…the final verdict is BLCKED due to…") == "BLOCKED"
    assert await enum(host, "The weather is nice today") is None


async def test_match_enum_takes_the_rightmost_last_occurrence(host: Host) -> None:
    assert await enum(host, "pass, then blocked, then pass again") == "PASS"
    assert await enum(host, "PASS PASS PASS blocked") == "BLOCKED"
    # The candidate order does not matter when positions differ.
    assert await enum(host, "blocked ... pass", '{"BLOCKED", "PASS"}') == "PASS"


async def test_match_enum_tie_goes_to_the_earlier_candidate(host: Host) -> None:
    assert await enum(host, "it is blocked", '{"block", "blocked"}') == "block"
    assert await enum(host, "it is blocked", '{"blocked", "block"}') == "blocked"


async def test_match_enum_returns_the_original_candidate(host: Host) -> None:
    assert await enum(host, "verdict: pass", '{"Pass", "Fail"}') == "Pass"
    assert await enum(host, "VERDICT: FAIL", '{"pass", "fail"}') == "fail"
    assert await enum(host, "le résultat: ÉCHEC", '{"succès", "échec"}') == "échec"


async def test_match_enum_is_a_substring_match(host: Host) -> None:
    assert await enum(host, "bypassed", '{"pass", "fail"}') == "pass"


async def test_match_enum_fuzzy_fallback_trims_punctuation(host: Host) -> None:
    # Without trimming, "***blkd***" scores below 0.7 against "blocked"; trimmed, above.
    assert jaro_winkler("***blkd***", "blocked") < 0.7 <= jaro_winkler("blkd", "blocked")
    assert await enum(host, "verdict: ***BLKD***") == "BLOCKED"


async def test_match_enum_fuzzy_fallback_keeps_the_best_score(host: Host) -> None:
    # "pas" is close to PASS, "blockd" closer to BLOCKED.
    assert jaro_winkler("pas", "pass") < jaro_winkler("blockd", "blocked")
    assert await enum(host, "pas blockd") == "BLOCKED"
    assert await enum(host, "blockd pas") == "BLOCKED"


async def test_match_enum_threshold_option(host: Host) -> None:
    assert await enum(host, "BLOKED", opts="{threshold = 0.99}") is None
    assert await enum(host, "BLOKED", opts="{threshold = 0.95}") == "BLOCKED"
    # A wrong type means the default 0.7.
    assert await enum(host, "BLOKED", opts='{threshold = "high"}') == "BLOCKED"
    # With a threshold of 0 every text picks something.
    assert await enum(host, "The weather is nice today", opts="{threshold = 0}") is not None


async def test_match_enum_edge_cases(host: Host) -> None:
    assert await enum(host, "anything", "{}") is None
    assert await enum(host, "", VERDICTS) is None
    # Numbers are strings for Lua's coercion rules, in the text and in the candidates.
    assert await enum(host, "answer: 2", "{1, 2, 3}") == "2"
    assert await result(host, 'return alc.match_enum(42, {"4", "42"})') == "4"
    # An empty candidate would "occur" at the end of every text; it is ignored.
    assert await enum(host, "verdict: pass", '{"", "pass"}') == "pass"


async def test_match_enum_errors(host: Host) -> None:
    message = await lua_error(host, 'return alc.match_enum("x", "PASS")')
    assert "alc.match_enum: candidates must be an array of strings, got string" in message
    message = await lua_error(host, 'return alc.match_enum("x", {"a", {}})')
    assert "alc.match_enum: candidates must be an array of strings (item 2 is table)" in message
    message = await lua_error(host, 'return alc.match_enum(nil, {"a"})')
    assert "alc.match_enum: text must be a string, got nil" in message
    message = await lua_error(host, 'return alc.match_enum("x", {"a"}, 0.5)')
    assert "alc.match_enum: opts must be a table, got number" in message


# --------------------------------------------------------------------------- Jaro-Winkler (strsim semantics)


def test_jaro_winkler_reference_values() -> None:
    assert jaro_winkler("martha", "marhta") == pytest.approx(0.961111, abs=1e-6)
    assert jaro_winkler("dwayne", "duane") == pytest.approx(0.84, abs=1e-9)
    assert jaro_winkler("dixon", "dicksonx") == pytest.approx(0.813333, abs=1e-6)
    assert jaro_winkler("cheeseburger", "cheese fries") == pytest.approx(0.866667, abs=1e-6)
    assert jaro_winkler("testabctest", "testöঙ香test") == pytest.approx(0.890909, abs=1e-6)
    # The common prefix counts at most 4 characters.
    assert jaro_winkler("thequickbrownfoxjumpedoverx", "thequickbrownfoxjumpedovery") == pytest.approx(
        0.985185, abs=1e-6
    )
    assert jaro("martha", "marhta") == pytest.approx(0.944444, abs=1e-6)


def test_jaro_winkler_edge_cases() -> None:
    assert jaro_winkler("", "") == 1.0
    assert jaro_winkler("", "a") == 0.0
    assert jaro_winkler("a", "") == 0.0
    assert jaro_winkler("same", "same") == 1.0
    assert jaro_winkler("abc", "xyz") == 0.0
    # No prefix boost at or below a Jaro similarity of 0.7.
    assert jaro("is", "pass") <= 0.7
    assert jaro_winkler("is", "pass") == jaro("is", "pass")


def test_fuzzy_tokens_split_on_unicode_white_space_only() -> None:
    # U+001C splits for Python's str.split() but is not white space for Rust.
    text = "qqqqqqqqqqqqqqqq\x1cbloked"
    assert match_enum("bloked", ["BLOCKED"]) == 0
    assert match_enum(text, ["BLOCKED"]) is None
    assert match_enum("qqqqqqqqqqqqqqqq\u3000bloked", ["BLOCKED"]) == 0


@given(st.text(max_size=12), st.text(max_size=12))
def test_jaro_winkler_is_a_symmetric_similarity(a: str, b: str) -> None:
    score = jaro_winkler(a, b)
    assert 0.0 <= score <= 1.0 + 1e-12
    assert score == pytest.approx(jaro_winkler(b, a))
    assert jaro_winkler(a, a) == 1.0


@given(
    st.lists(st.text(alphabet="abcXYZ ", min_size=1, max_size=5), min_size=1, max_size=4),
    st.text(max_size=30),
)
def test_an_exact_occurrence_always_wins(candidates: list[str], text: str) -> None:
    chosen = match_enum(text, candidates)
    lowered = text.lower()
    present = [i for i, c in enumerate(candidates) if c and c.lower() in lowered]
    if present:
        assert chosen in present
        best = max(lowered.rfind(candidates[i].lower()) for i in present)
        assert lowered.rfind(candidates[chosen].lower()) == best
        assert chosen == min(i for i in present if lowered.rfind(candidates[i].lower()) == best)


# --------------------------------------------------------------------------- match_bool


async def bools(host: Host, *texts: str) -> list[object]:
    code = """
    local out = {}
    for i, t in ipairs(ctx.texts) do
        local v = alc.match_bool(t)
        if v == nil then out[i] = "nil" else out[i] = v end
    end
    return out
    """
    found = await result(host, code, ctx={"texts": list(texts)})
    return [None if v == "nil" else v for v in found]


async def test_match_bool_spec_examples(host: Host) -> None:
    assert await bools(
        host,
        "No issues found. Approved.",
        "broken token",
        "bypass",
        "innovation",
        "The process failed gracefully",
        "yes, that works",
    ) == [True, None, None, None, None, True]


async def test_match_bool_every_word(host: Host) -> None:
    yes = ["approved", "yes", "ok", "accept", "pass", "confirm", "agree", "true", "lgtm"]
    no = ["rejected", "no", "deny", "block", "fail", "refuse", "disagree", "false"]
    assert await bools(host, *yes) == [True] * len(yes)
    assert await bools(host, *no) == [False] * len(no)
    assert await bools(host, *[w.upper() for w in yes + no]) == [True] * len(yes) + [False] * len(no)


async def test_match_bool_rightmost_match_wins(host: Host) -> None:
    assert await bools(
        host,
        "Yes at first, but on reflection: no.",
        "No, wait... yes!",
        "I disagree",  # not the word "agree"
        "rejected? no, approved",
        "LGTM",
    ) == [False, True, False, True, True]


async def test_match_bool_word_boundaries_are_ascii_alphanumerics(host: Host) -> None:
    assert await bools(
        host,
        "ok_then",  # "_" is not alphanumeric
        "(yes)",
        "yes2",
        "2yes",
        "éyes",  # a non-ASCII letter is a boundary
        "nope",
        "notok",
        "passed",
        "accepted",
        "",
    ) == [True, True, None, None, True, None, None, None, None, None]


async def test_match_bool_coerces_numbers_and_rejects_other_types(host: Host) -> None:
    assert await result(host, "return alc.match_bool(1) == nil") is True
    message = await lua_error(host, "return alc.match_bool({})")
    assert "alc.match_bool: text must be a string, got table" in message
    message = await lua_error(host, "return alc.match_bool()")
    assert "alc.match_bool: text must be a string, got nil" in message


@given(st.text(alphabet="abnoyesfailpt ,.!_-", max_size=40))
def test_match_bool_agrees_with_a_word_scan(text: str) -> None:
    """Reference: scan every position for every word, checking both neighbours."""
    yes = ["approved", "yes", "ok", "accept", "pass", "confirm", "agree", "true", "lgtm"]
    no = ["rejected", "no", "deny", "block", "fail", "refuse", "disagree", "false"]
    lowered = text.lower()

    def boundary(i: int) -> bool:
        return i < 0 or i >= len(lowered) or not (lowered[i].isascii() and lowered[i].isalnum())

    last: tuple[int, bool] | None = None
    for words, polarity in ((yes, True), (no, False)):
        for word in words:
            start = lowered.find(word)
            while start >= 0:
                if boundary(start - 1) and boundary(start + len(word)) and (last is None or start > last[0]):
                    last = (start, polarity)
                start = lowered.find(word, start + 1)
    assert match_bool(text) == (None if last is None else last[1])
