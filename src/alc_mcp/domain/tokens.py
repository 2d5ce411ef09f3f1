"""Token estimates and how sure we are of a token count (algocline ``tokens.rs``).

The server never sees a tokenizer: it estimates, unless the host reports real usage.
Each count therefore carries its source, and a sum is only as trustworthy as its
least trustworthy part.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

__all__ = ["TokenCount", "TokenSource", "estimate_tokens", "utf8_len"]

# Every byte of a multi-byte UTF-8 sequence is >= 0x80, so deleting these bytes from
# the encoded text leaves exactly the ASCII characters; this keeps the count in C.
_NON_ASCII_BYTES = bytes(range(0x80, 0x100))


def utf8_len(text: str) -> int:
    """Length in UTF-8 bytes; the ``*_chars`` counters are bytes, as in algocline.

    ``surrogatepass`` keeps a stray surrogate (possible in text decoded from Lua bytes)
    from turning a metrics update into an exception.
    """
    return len(text.encode("utf-8", "surrogatepass"))


def estimate_tokens(text: str) -> int:
    """ceil(ascii/4) + ceil(non_ascii*2/3), counting code points.

    The split reflects that English averages about four characters a token while CJK
    and other scripts run closer to one and a half tokens per character.
    """
    if not text:
        return 0
    if text.isascii():
        ascii_chars = len(text)
    else:
        ascii_chars = len(text.encode("utf-8", "surrogatepass").translate(None, _NON_ASCII_BYTES))
    non_ascii_chars = len(text) - ascii_chars
    return -(-ascii_chars // 4) + -(-non_ascii_chars * 2 // 3)


class TokenSource(enum.StrEnum):
    """How a count was obtained, ordered by strength: estimated < provided < definite.

    The comparison operators follow strength, not spelling, so ``min(a, b)`` is the
    weaker source (plain string order would put "definite" first).
    """

    ESTIMATED = "estimated"
    PROVIDED = "provided"
    DEFINITE = "definite"

    @property
    def strength(self) -> int:
        return _STRENGTH[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, TokenSource):
            return NotImplemented
        return self.strength < other.strength

    def __le__(self, other: object) -> bool:
        if not isinstance(other, TokenSource):
            return NotImplemented
        return self.strength <= other.strength

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, TokenSource):
            return NotImplemented
        return self.strength > other.strength

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, TokenSource):
            return NotImplemented
        return self.strength >= other.strength


_STRENGTH = {TokenSource.ESTIMATED: 0, TokenSource.PROVIDED: 1, TokenSource.DEFINITE: 2}


@dataclass(frozen=True, slots=True)
class TokenCount:
    """A token count and its source; the default is the identity for ``+`` (0, definite)."""

    tokens: int = 0
    source: TokenSource = TokenSource.DEFINITE

    def __add__(self, other: TokenCount) -> TokenCount:
        if not isinstance(other, TokenCount):
            return NotImplemented
        return TokenCount(self.tokens + other.tokens, min(self.source, other.source))

    def to_json(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "source": self.source.value}
