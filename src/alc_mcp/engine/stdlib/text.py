"""``alc.chunk``, ``alc.match_enum`` and ``alc.match_bool`` (spec §4.3).

The pure functions (``chunk``, ``rust_lines``, ``match_enum``, ``match_bool``,
``jaro_winkler``) work on Python values so they can be tested on their own; the
callbacks at the bottom only convert arguments and results.

Strings stay bytes wherever that is possible, so nothing a script passes in is lost:
lines mode splits the raw bytes, and chars mode decodes with ``surrogateescape`` so an
invalid UTF-8 byte counts as one character and comes back unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from alc_mcp.engine.errors import BridgeError
from alc_mcp.engine.luaargs import Callback, as_text, is_table, lua_callback, lua_type_name
from alc_mcp.engine.port import BridgeContext

__all__ = [
    "AFFIRMATIVE",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_OVERLAP",
    "DEFAULT_THRESHOLD",
    "NEGATIVE",
    "chunk",
    "functions",
    "jaro",
    "jaro_winkler",
    "match_bool",
    "match_enum",
    "rust_lines",
]

DEFAULT_CHUNK_SIZE = 50
DEFAULT_OVERLAP = 0
DEFAULT_THRESHOLD = 0.7

AFFIRMATIVE = ("approved", "yes", "ok", "accept", "pass", "confirm", "agree", "true", "lgtm")
NEGATIVE = ("rejected", "no", "deny", "block", "fail", "refuse", "disagree", "false")

# Whole words: neither neighbour may be an ASCII letter or digit. No word of either list
# can start inside another whole-word match, so one alternation scanned left to right
# finds every match.
_BOOL_WORDS = re.compile(
    r"(?<![A-Za-z0-9])(" + "|".join(AFFIRMATIVE + NEGATIVE) + r")(?![A-Za-z0-9])",
)
_AFFIRMATIVE_SET = frozenset(AFFIRMATIVE)

# Rust's `char::is_whitespace` (the Unicode White_Space property). Python's `str.split()`
# also splits on U+001C..U+001F, which Rust does not.
_WHITESPACE = re.compile(
    "[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+",
)


# --------------------------------------------------------------------------- chunk


def rust_lines(text: bytes) -> list[bytes]:
    """Rust's ``str::lines()``: split after each ``\\n``, drop that ``\\n`` and then one
    ``\\r`` before it; a final piece with no ``\\n`` is kept as it is (a bare trailing
    ``\\r`` included), and a trailing ``\\n`` does not make an empty last line."""
    pieces = text.split(b"\n")
    last = pieces.pop()  # what follows the last \n: not newline-terminated
    lines = [piece[:-1] if piece.endswith(b"\r") else piece for piece in pieces]
    if last:
        lines.append(last)
    return lines


def _windows(count: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """``[i, i+size)`` windows with step ``size-overlap`` (1 if the overlap is not
    smaller than the size), stopping once a window reaches the end."""
    if size == 0 or count == 0:
        return []
    step = size - overlap if overlap < size else 1
    spans = []
    start = 0
    while start < count:
        end = min(start + size, count)
        spans.append((start, end))
        if end >= count:
            break
        start += step
    return spans


def chunk(
    text: bytes, *, mode: str = "lines", size: int = DEFAULT_CHUNK_SIZE, overlap: int = 0
) -> list[bytes]:
    """The chunks ``alc.chunk`` returns: windows of lines (re-joined with ``\\n``) or of
    Unicode scalar values (``mode == "chars"``)."""
    if mode == "chars":
        chars = text.decode("utf-8", "surrogateescape")
        return [chars[a:b].encode("utf-8", "surrogateescape") for a, b in _windows(len(chars), size, overlap)]
    lines = rust_lines(text)
    return [b"\n".join(lines[a:b]) for a, b in _windows(len(lines), size, overlap)]


# --------------------------------------------------------------------------- matching


def jaro(a: str, b: str) -> float:
    """Jaro similarity over code points, as the ``strsim`` crate computes it."""
    a_len, b_len = len(a), len(b)
    if a_len == 0 and b_len == 0:
        return 1.0
    if a_len == 0 or b_len == 0:
        return 0.0
    search_range = max(max(a_len, b_len) // 2 - 1, 0)
    a_flags = [False] * a_len
    b_flags = [False] * b_len
    matches = 0
    for i, a_char in enumerate(a):
        low = max(i - search_range, 0)
        high = min(i + search_range + 1, b_len)
        for j in range(low, high):
            if not b_flags[j] and b[j] == a_char:
                a_flags[i] = b_flags[j] = True
                matches += 1
                break
    if matches == 0:
        return 0.0
    b_matched = iter(ch for ch, flag in zip(b, b_flags, strict=True) if flag)
    half_transpositions = sum(
        1 for ch, flag in zip(a, a_flags, strict=True) if flag and ch != next(b_matched)
    )
    transpositions = half_transpositions // 2
    return (matches / a_len + matches / b_len + (matches - transpositions) / matches) / 3.0


def jaro_winkler(a: str, b: str) -> float:
    """``strsim::jaro_winkler``: Jaro, boosted by a common prefix of up to 4 code points
    with scale 0.1 when the Jaro similarity is above 0.7."""
    similarity = jaro(a, b)
    if similarity <= 0.7:
        return similarity
    prefix = 0
    for x, y in zip(a[:4], b, strict=False):
        if x != y:
            break
        prefix += 1
    return similarity + 0.1 * prefix * (1.0 - similarity)


def _trim_token(token: str) -> str:
    start, end = 0, len(token)
    while start < end and not token[start].isalnum():
        start += 1
    while end > start and not token[end - 1].isalnum():
        end -= 1
    return token[start:end]


def match_enum(text: str, candidates: list[str], threshold: float = DEFAULT_THRESHOLD) -> int | None:
    """Index of the candidate ``alc.match_enum`` picks, or None.

    Exact: the candidate whose last occurrence (case-insensitive) starts furthest right;
    ties go to the earlier candidate. Fallback: the best Jaro-Winkler score ≥ threshold
    between a whitespace-separated, punctuation-trimmed token and a candidate, scanning
    tokens in text order and candidates in list order, the first best one winning.
    Empty candidates are ignored (an empty string "occurs" at the very end of any text).
    """
    lowered = text.lower()
    options = [(index, candidate.lower()) for index, candidate in enumerate(candidates) if candidate]
    best: tuple[int, int] | None = None  # (position, index)
    for index, candidate in options:
        position = lowered.rfind(candidate)
        if position >= 0 and (best is None or position > best[0]):
            best = (position, index)
    if best is not None:
        return best[1]
    tokens = [_trim_token(token) for token in _WHITESPACE.split(lowered) if token]
    best_score = None
    chosen = None
    for token in tokens:
        for index, candidate in options:
            score = jaro_winkler(token, candidate)
            if score >= threshold and (best_score is None or score > best_score):
                best_score, chosen = score, index
    return chosen


def match_bool(text: str) -> bool | None:
    """The polarity of the right-most whole-word yes/no word, or None."""
    last = None
    for found in _BOOL_WORDS.finditer(text.lower()):
        last = found.group(1)
    if last is None:
        return None
    return last in _AFFIRMATIVE_SET


# --------------------------------------------------------------------------- bridge


def _raw_text(value: Any, what: str) -> bytes:
    """A string argument as its bytes; numbers are coerced the way Lua prints them."""
    if isinstance(value, bytes):
        return value
    return as_text(value, what).encode()


def _options(opts: Any) -> Any:
    if opts is None or is_table(opts):
        return opts
    raise BridgeError(f"opts must be a table, got {lua_type_name(opts)}")


def _count_option(opts: Any, key: bytes, default: int) -> int:
    """A non-negative integer option; anything else silently means the default (mlua)."""
    if opts is None:
        return default
    value = opts[key]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return default


def _number_option(opts: Any, key: bytes, default: float) -> float:
    if opts is None:
        return default
    value = opts[key]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return default


def _string_list(value: Any, what: str) -> list[bytes]:
    """An array of strings (numbers coerced), read raw: 1..#value."""
    if not is_table(value):
        raise BridgeError(f"{what} must be an array of strings, got {lua_type_name(value)}")
    items = dict(value.items())
    result = []
    for index in range(1, len(value) + 1):
        item = items.get(index)
        if isinstance(item, bool) or not isinstance(item, bytes | int | float):
            raise BridgeError(f"{what} must be an array of strings (item {index} is {lua_type_name(item)})")
        result.append(_raw_text(item, what))
    return result


def functions(context: BridgeContext) -> dict[str, Callback]:
    json = context.json

    def byte_array(items: list[bytes]) -> Any:
        array = json.to_lua([])  # tagged as an array: an empty result encodes as []
        for index, item in enumerate(items, 1):
            array[index] = item
        return array

    @lua_callback("alc.chunk")
    def chunk_fn(text: Any = None, opts: Any = None) -> Any:
        data = _raw_text(text, "text")
        opts = _options(opts)
        mode = opts[b"mode"] if opts is not None else None
        return byte_array(
            chunk(
                data,
                mode="chars" if mode == b"chars" else "lines",
                size=_count_option(opts, b"size", DEFAULT_CHUNK_SIZE),
                overlap=_count_option(opts, b"overlap", DEFAULT_OVERLAP),
            )
        )

    @lua_callback("alc.match_enum")
    def match_enum_fn(text: Any = None, candidates: Any = None, opts: Any = None) -> Any:
        body = as_text(text, "text")
        names = _string_list(candidates, "candidates")
        threshold = _number_option(_options(opts), b"threshold", DEFAULT_THRESHOLD)
        index = match_enum(body, [name.decode("utf-8", "replace") for name in names], threshold)
        return None if index is None else names[index]

    @lua_callback("alc.match_bool")
    def match_bool_fn(text: Any = None) -> Any:
        return match_bool(as_text(text, "text"))

    return {"chunk": chunk_fn, "match_enum": match_enum_fn, "match_bool": match_bool_fn}
