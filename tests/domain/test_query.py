import dataclasses

import pytest

from alc_mcp.domain.query import (
    DEFAULT_MAX_TOKENS,
    SINGLE_ID,
    LlmQuery,
    TokenUsage,
    batch_id,
    fork_id,
)


def test_ids() -> None:
    assert SINGLE_ID == "q-0"
    assert batch_id(0) == SINGLE_ID
    assert batch_id(12) == "q-12"
    assert fork_id(3, 7) == "f-3-7"


def test_defaults() -> None:
    q = LlmQuery(id="q-0", prompt="hi")
    assert DEFAULT_MAX_TOKENS == 1024
    assert (q.system, q.max_tokens, q.grounded, q.underspecified) == (None, 1024, False, False)


def test_wire_omits_false_flags_and_keeps_null_system() -> None:
    assert LlmQuery(id="q-1", prompt="p").wire() == {
        "id": "q-1",
        "prompt": "p",
        "system": None,
        "max_tokens": 1024,
    }


def test_wire_with_flags_and_custom_id_key() -> None:
    q = LlmQuery(id="q-0", prompt="p", system="s", max_tokens=5, grounded=True, underspecified=True)
    assert q.wire("query_id") == {
        "query_id": "q-0",
        "prompt": "p",
        "system": "s",
        "max_tokens": 5,
        "grounded": True,
        "underspecified": True,
    }


def test_query_is_frozen() -> None:
    q = LlmQuery(id="q-0", prompt="p")
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.prompt = "other"  # type: ignore[misc]


def test_token_usage_defaults() -> None:
    assert TokenUsage() == TokenUsage(prompt_tokens=None, completion_tokens=None)
    assert TokenUsage(completion_tokens=4).completion_tokens == 4
