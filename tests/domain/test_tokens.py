import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alc_mcp.domain.tokens import TokenCount, TokenSource, estimate_tokens, utf8_len


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("hello world", 3),  # 11 ascii → ceil(11/4)
        ("abcd", 1),
        ("abcde", 2),
        ("日", 1),  # ceil(2/3)
        ("日本", 2),  # ceil(4/3)
        ("日本語", 2),  # 6/3
        ("日本語テ", 3),  # ceil(8/3)
        ("hi日", 2),  # ceil(2/4) + ceil(2/3)
        ("😀", 1),  # one code point, four UTF-8 bytes
        ("é" * 3 + "a" * 5, 4),  # 2 + 2
    ],
)
def test_estimate_tokens(text: str, expected: int) -> None:
    assert estimate_tokens(text) == expected


def test_estimate_tolerates_lone_surrogate() -> None:
    assert estimate_tokens("a\udcff") == 2


@given(st.text())
def test_estimate_matches_definition(text: str) -> None:
    ascii_chars = sum(1 for c in text if ord(c) < 128)
    non_ascii = len(text) - ascii_chars
    assert estimate_tokens(text) == math.ceil(ascii_chars / 4) + math.ceil(non_ascii * 2 / 3)


def test_utf8_len_counts_bytes() -> None:
    assert utf8_len("") == 0
    assert utf8_len("p") == 1
    assert utf8_len("é") == 2
    assert utf8_len("日本") == 6
    assert utf8_len("😀") == 4


def test_source_values_and_strength_order() -> None:
    assert [s.value for s in TokenSource] == ["estimated", "provided", "definite"]
    assert TokenSource.ESTIMATED < TokenSource.PROVIDED < TokenSource.DEFINITE
    assert TokenSource.DEFINITE > TokenSource.ESTIMATED
    assert TokenSource.PROVIDED >= TokenSource.PROVIDED and TokenSource.PROVIDED <= TokenSource.PROVIDED
    # String order would say "definite" < "estimated"; strength order must win.
    assert min(TokenSource.DEFINITE, TokenSource.ESTIMATED) is TokenSource.ESTIMATED
    assert sorted([TokenSource.DEFINITE, TokenSource.ESTIMATED, TokenSource.PROVIDED]) == [
        TokenSource.ESTIMATED,
        TokenSource.PROVIDED,
        TokenSource.DEFINITE,
    ]


def test_token_count_default_is_definite_zero() -> None:
    assert TokenCount() == TokenCount(0, TokenSource.DEFINITE)
    assert TokenCount().to_json() == {"tokens": 0, "source": "definite"}


@pytest.mark.parametrize(
    ("a", "b", "weaker"),
    [
        (TokenSource.DEFINITE, TokenSource.PROVIDED, TokenSource.PROVIDED),
        (TokenSource.PROVIDED, TokenSource.ESTIMATED, TokenSource.ESTIMATED),
        (TokenSource.ESTIMATED, TokenSource.DEFINITE, TokenSource.ESTIMATED),
        (TokenSource.PROVIDED, TokenSource.PROVIDED, TokenSource.PROVIDED),
    ],
)
def test_add_sums_and_keeps_weaker_source(a: TokenSource, b: TokenSource, weaker: TokenSource) -> None:
    total = TokenCount(3, a) + TokenCount(4, b)
    assert total == TokenCount(7, weaker)
    assert (TokenCount(4, b) + TokenCount(3, a)).source is weaker


def test_to_json_shape() -> None:
    assert TokenCount(12, TokenSource.PROVIDED).to_json() == {"tokens": 12, "source": "provided"}
