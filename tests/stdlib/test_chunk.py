"""alc.chunk (spec §4.3, trap 13): windows over Rust-style lines or code points."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alc_mcp.engine.stdlib.text import chunk, rust_lines
from tests.conftest import Host
from tests.stdlib.support import lua_error, result

pytestmark = pytest.mark.anyio


# --------------------------------------------------------------------------- through sessions


async def test_spec_examples(host: Host) -> None:
    assert await result(host, r'return alc.chunk("a\nb\nc\nd\ne", {size = 3, overlap = 1})') == [
        "a\nb\nc",
        "c\nd\ne",
    ]
    assert await result(host, r'return alc.chunk("a\nb\nc\nd", {size = 2, overlap = 1})') == [
        "a\nb",
        "b\nc",
        "c\nd",
    ]


async def test_default_size_is_50_lines_without_overlap(host: Host) -> None:
    code = r"""
    local lines = {}
    for i = 1, 120 do lines[i] = "line " .. i end
    local chunks = alc.chunk(table.concat(lines, "\n"))
    local sizes = {}
    for i, c in ipairs(chunks) do
        local n = 1
        for _ in c:gmatch("\n") do n = n + 1 end
        sizes[i] = n
    end
    return {sizes = sizes, first = chunks[1]:match("^[^\n]*"), third = chunks[3]:match("^[^\n]*")}
    """
    assert await result(host, code) == {"sizes": [50, 50, 20], "first": "line 1", "third": "line 101"}


async def test_empty_results_are_arrays(host: Host) -> None:
    code = r"""
    return {
        alc.json_encode(alc.chunk("")),
        alc.json_encode(alc.chunk("", {mode = "chars"})),
        alc.json_encode(alc.chunk("a\nb", {size = 0})),
        alc.json_encode(alc.chunk("abc", {mode = "chars", size = 0})),
        #alc.chunk(""),
    }
    """
    assert await result(host, code) == ["[]", "[]", "[]", "[]", 0]


async def test_window_stops_once_it_reaches_the_end(host: Host) -> None:
    code = r"""
    return {
        alc.chunk("a\nb\nc\nd\ne", {size = 2}),
        alc.chunk("a\nb\nc", {size = 2, overlap = 1}),
        alc.chunk("a\nb\nc", {size = 5}),
        alc.chunk("a\nb\nc", {size = 1}),
    }
    """
    assert await result(host, code) == [
        ["a\nb", "c\nd", "e"],
        ["a\nb", "b\nc"],
        ["a\nb\nc"],
        ["a", "b", "c"],
    ]


async def test_overlap_not_smaller_than_size_steps_by_one(host: Host) -> None:
    code = r"""
    return {
        alc.chunk("a\nb\nc", {size = 2, overlap = 2}),
        alc.chunk("a\nb\nc", {size = 2, overlap = 9}),
        alc.chunk("abcd", {mode = "chars", size = 3, overlap = 3}),
    }
    """
    assert await result(host, code) == [["a\nb", "b\nc"], ["a\nb", "b\nc"], ["abc", "bcd"]]


async def test_lines_follow_rust_str_lines_not_python_splitlines(host: Host) -> None:
    code = r"""
    local function one(text) return alc.chunk(text, {size = 1}) end
    return {
        one("a\nb\n"),            -- no final empty line after a trailing \n
        one("a\r\nb\r\n"),        -- \r\n endings: the \r goes
        one("a\rb"),              -- a bare \r does not split
        one("a\r\r\nb"),          -- only one \r is stripped
        one("\n"),                -- one empty line
        one("\n\nx"),
        one("a\r"),               -- a bare \r at the very end stays (no \n follows it)
        one("a\vb\fc\28d\29e\30f"),
        one("a\u{85}b\u{2028}c\u{2029}d"),
    }
    """
    assert await result(host, code) == [
        ["a", "b"],
        ["a", "b"],
        ["a\rb"],
        ["a\r", "b"],
        [""],
        ["", "", "x"],
        ["a\r"],
        ["a\x0bb\x0cc\x1cd\x1de\x1ef"],
        ["a\x85b\u2028c\u2029d"],
    ]


async def test_lines_are_rejoined_with_bare_newlines(host: Host) -> None:
    assert await result(host, r'return alc.chunk("a\r\nb\r\nc", {size = 2})') == ["a\nb", "c"]


async def test_chars_mode_counts_code_points(host: Host) -> None:
    code = r"""
    return {
        alc.chunk("héllo wörld", {mode = "chars", size = 4}),
        alc.chunk("日本語テキスト", {mode = "chars", size = 3, overlap = 1}),
        alc.chunk("a😀b😀c", {mode = "chars", size = 2}),
        alc.chunk("ab\ncd", {mode = "chars", size = 2}),
    }
    """
    assert await result(host, code) == [
        ["héll", "o wö", "rld"],
        ["日本語", "語テキ", "キスト"],
        ["a😀", "b😀", "c"],
        ["ab", "\nc", "d"],
    ]


async def test_bytes_that_are_not_utf8_survive(host: Host) -> None:
    code = r"""
    local chars = alc.chunk("\255\254a", {mode = "chars", size = 1})
    local lines = alc.chunk("\255\n\254", {size = 1})
    return {#chars, chars[1] == "\255", chars[2] == "\254", chars[3],
            #lines, lines[1] == "\255", lines[2] == "\254"}
    """
    assert await result(host, code) == [3, True, True, "a", 2, True, True]


async def test_unknown_mode_means_lines(host: Host) -> None:
    code = r"""
    return {
        alc.chunk("ab\ncd", {mode = "words", size = 1}),
        alc.chunk("ab\ncd", {mode = 7, size = 1}),
        alc.chunk("ab\ncd", {mode = "CHARS", size = 1}),
    }
    """
    assert await result(host, code) == [["ab", "cd"], ["ab", "cd"], ["ab", "cd"]]


async def test_options_of_the_wrong_type_fall_back_to_the_defaults(host: Host) -> None:
    code = r"""
    local text = "a\nb\nc"
    return {
        alc.chunk(text, {size = "x"}),
        alc.chunk(text, {size = 2.5}),
        alc.chunk(text, {size = -1}),
        alc.chunk(text, {size = 2.0}),
        alc.chunk(text, {size = 2, overlap = "1"}),
        alc.chunk(text, {size = 2, overlap = -1}),
        alc.chunk(text, {}),
    }
    """
    assert await result(host, code) == [
        ["a\nb\nc"],
        ["a\nb\nc"],
        ["a\nb\nc"],
        ["a\nb", "c"],
        ["a\nb", "c"],
        ["a\nb", "c"],
        ["a\nb\nc"],
    ]


async def test_a_number_is_chunked_as_its_text(host: Host) -> None:
    code = (
        r'return {alc.chunk(12345, {mode = "chars", size = 2}), alc.chunk(1.5, {mode = "chars", size = 2})}'
    )
    assert await result(host, code) == [["12", "34", "5"], ["1.", "5"]]


async def test_argument_errors(host: Host) -> None:
    assert "alc.chunk: text must be a string, got nil" in await lua_error(host, "return alc.chunk()")
    assert "alc.chunk: text must be a string, got table" in await lua_error(host, "return alc.chunk({})")
    assert "alc.chunk: opts must be a table, got number" in await lua_error(host, 'return alc.chunk("a", 3)')


async def test_sessions_agree_with_the_reference_on_random_inputs(host: Host) -> None:
    """Many random cases through one session, checked against the pure function."""
    rng = random.Random(1234)
    alphabet = ["a", "b", "é", "\n", "\r", "\r\n", " ", "😀", "\u2028", "\x0b"]
    cases = []
    for _ in range(150):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        cases.append(
            {
                "text": text,
                "mode": rng.choice(["lines", "chars"]),
                "size": rng.randrange(0, 6),
                "overlap": rng.randrange(0, 7),
            }
        )
    code = """
    local out = {}
    for i, c in ipairs(ctx.cases) do
        out[i] = alc.chunk(c.text, {mode = c.mode, size = c.size, overlap = c.overlap})
    end
    return out
    """
    got = await result(host, code, ctx={"cases": cases})
    expected = [
        [
            piece.decode()
            for piece in chunk(c["text"].encode(), mode=c["mode"], size=c["size"], overlap=c["overlap"])
        ]
        for c in cases
    ]
    # An empty Lua array comes back as [] only because it is tagged as an array.
    assert got == expected


# --------------------------------------------------------------------------- properties of the pure functions


def reference_lines(text: str) -> list[str]:
    """Rust's ``str::lines()`` written another way: scan, cut at each \\n."""
    lines, current = [], ""
    for ch in text:
        if ch == "\n":
            lines.append(current[:-1] if current.endswith("\r") else current)
            current = ""
        else:
            current += ch
    if current:
        lines.append(current)
    return lines


texts = st.text(alphabet=st.sampled_from(["a", "b", "\n", "\r", " ", "é", "\x0b", "\u2028"]), max_size=40)


@given(texts)
def test_rust_lines_matches_a_scanning_reference(text: str) -> None:
    assert [line.decode() for line in rust_lines(text.encode())] == reference_lines(text)


@given(texts, st.integers(1, 8), st.integers(0, 10))
def test_chunks_cover_every_line_in_order(text: str, size: int, overlap: int) -> None:
    lines = [line.decode() for line in rust_lines(text.encode())]
    chunks = [c.decode() for c in chunk(text.encode(), size=size, overlap=overlap)]
    if not lines:
        assert chunks == []
        return
    step = size - overlap if overlap < size else 1
    # Each chunk is the window of at most `size` lines starting at k*step.
    for k, piece in enumerate(chunks):
        assert piece == "\n".join(lines[k * step : k * step + size])
    # The last chunk reaches the end, and only the last one does.
    last_start = (len(chunks) - 1) * step
    assert last_start + size >= len(lines)
    assert all(k * step + size < len(lines) for k in range(len(chunks) - 1))
    # Every line appears, in order: the union of the windows is 0..n.
    covered = sorted(
        {i for k in range(len(chunks)) for i in range(k * step, min(k * step + size, len(lines)))}
    )
    assert covered == list(range(len(lines)))


@given(st.text(max_size=40), st.integers(1, 8), st.integers(0, 7))
def test_chars_chunks_without_overlap_rebuild_the_text(text: str, size: int, overlap: int) -> None:
    chunks = [c.decode() for c in chunk(text.encode(), mode="chars", size=size)]
    assert "".join(chunks) == text
    assert all(len(c) <= size for c in chunks)
    if overlap < size:
        pieces = [c.decode() for c in chunk(text.encode(), mode="chars", size=size, overlap=overlap)]
        rebuilt = pieces[0] if pieces else ""
        for piece in pieces[1:]:
            rebuilt += piece[overlap:]
        assert rebuilt == text
