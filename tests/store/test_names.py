"""Session names: two harmless lower-case words from our own lists."""

from __future__ import annotations

import random
import re

from alc_mcp.store.names import ADJECTIVES, NOUNS, random_name


def test_word_lists_are_large_unique_lowercase_ascii() -> None:
    for words in (ADJECTIVES, NOUNS):
        assert len(words) >= 150
        assert len(set(words)) == len(words)
        assert all(re.fullmatch(r"[a-z]+", word) for word in words)
    assert not set(ADJECTIVES) & set(NOUNS)


def test_random_name_is_adjective_dash_noun() -> None:
    for _ in range(200):
        adjective, noun = random_name().split("-")
        assert adjective in ADJECTIVES
        assert noun in NOUNS


def test_seeded_rng_repeats_and_default_varies() -> None:
    assert [random_name(random.Random(7)) for _ in range(3)] == [random_name(random.Random(7))] * 3
    assert len({random_name() for _ in range(50)}) > 40
