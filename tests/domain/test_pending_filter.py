from typing import Any

import pytest

from alc_mcp.domain.pending_filter import PendingFilter, PendingFilterError, parse_pending_filter, project
from alc_mcp.domain.query import LlmQuery

QUERY = LlmQuery(id="q-1", prompt="日本語のプロンプト and more", system=None, max_tokens=300, grounded=True)


def test_null_means_no_filter() -> None:
    assert parse_pending_filter(None) is None


def test_meta_preset() -> None:
    f = parse_pending_filter("meta")
    assert f is not None
    assert project(QUERY, f) == {"query_id": "q-1", "max_tokens": 300}


def test_preview_preset_cuts_by_characters() -> None:
    f = parse_pending_filter("preview", preview_chars=3)
    assert f == PendingFilter(query_id=True, max_tokens=True, prompt_mode="preview", prompt_chars=3)
    assert project(QUERY, f) == {"query_id": "q-1", "max_tokens": 300, "prompt_preview": "日本語"}


def test_preview_default_is_200_chars() -> None:
    long_query = LlmQuery(id="q-0", prompt="é" * 250)
    out = project(long_query, parse_pending_filter("preview"))  # type: ignore[arg-type]
    assert out["prompt_preview"] == "é" * 200


def test_preview_shorter_prompt_is_whole() -> None:
    out = project(LlmQuery(id="q-0", prompt="short"), parse_pending_filter("preview"))  # type: ignore[arg-type]
    assert out["prompt_preview"] == "short"


def test_full_preset_emits_real_booleans_and_null_system() -> None:
    f = parse_pending_filter("full")
    assert f is not None
    assert project(QUERY, f) == {
        "query_id": "q-1",
        "max_tokens": 300,
        "system": None,
        "grounded": True,
        "underspecified": False,
        "prompt": QUERY.prompt,
    }


def test_custom_object_emits_only_selected_fields() -> None:
    f = parse_pending_filter({"system": True, "underspecified": True, "query_id": False})
    assert f is not None
    assert project(LlmQuery(id="q-0", prompt="p", system="sys"), f) == {
        "system": "sys",
        "underspecified": False,
    }


def test_custom_flags_report_the_query_value() -> None:
    f = parse_pending_filter({"grounded": True, "underspecified": True})
    assert f is not None
    assert project(LlmQuery(id="q-0", prompt="p"), f) == {"grounded": False, "underspecified": False}
    flagged = LlmQuery(id="q-0", prompt="p", grounded=True, underspecified=True)
    assert project(flagged, f) == {"grounded": True, "underspecified": True}


def test_custom_empty_object_projects_nothing() -> None:
    f = parse_pending_filter({})
    assert f == PendingFilter()
    assert project(QUERY, f) == {}


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ({"mode": "off"}, {}),
        ({"mode": "full"}, {"prompt": "abcdefgh"}),
        ({"mode": "preview", "chars": 2}, {"prompt_preview": "ab"}),
        ({"mode": "preview", "chars": 0}, {"prompt_preview": ""}),
        ({"mode": "preview"}, {"prompt_preview": "abcde"}),  # falls back to preview_chars
    ],
)
def test_custom_prompt_modes(prompt: dict[str, Any], expected: dict[str, Any]) -> None:
    f = parse_pending_filter({"prompt": prompt}, preview_chars=5)
    assert f is not None
    assert project(LlmQuery(id="q-0", prompt="abcdefgh"), f) == expected


def test_unknown_preset() -> None:
    with pytest.raises(PendingFilterError) as info:
        parse_pending_filter("bogus")
    assert str(info.value) == 'unknown pending_filter preset \'bogus\' (valid: "meta" | "preview" | "full")'
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("value", "kind"),
    [(True, "bool"), (False, "bool"), (3, "number"), (1.5, "number"), ([], "array"), (["meta"], "array")],
)
def test_wrong_json_type(value: Any, kind: str) -> None:
    with pytest.raises(PendingFilterError) as info:
        parse_pending_filter(value)
    assert str(info.value) == f"pending_filter must be a preset name (string) or filter object, got {kind}"


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ({"bogus": True}, "unknown field `bogus`"),
        ({"system": "yes"}, "field `system` must be a boolean, got string"),
        ({"max_tokens": 1}, "field `max_tokens` must be a boolean, got number"),
        ({"grounded": None}, "field `grounded` must be a boolean, got null"),
        ({"prompt": "full"}, "field `prompt` must be an object"),
        ({"prompt": True}, "got bool"),
        ({"prompt": {}}, "missing field `mode` in `prompt`"),
        ({"prompt": {"mode": "everything"}}, "unknown `prompt.mode` 'everything'"),
        ({"prompt": {"mode": 1}}, "unknown `prompt.mode` number"),
        ({"prompt": {"mode": "preview", "chars": -1}}, "`prompt.chars` must be a non-negative integer"),
        ({"prompt": {"mode": "preview", "chars": 2.0}}, "got number"),
        ({"prompt": {"mode": "preview", "chars": True}}, "got bool"),
        ({"prompt": {"mode": "full", "extra": 1}}, "unknown field `extra` in `prompt`"),
    ],
)
def test_invalid_object(value: dict[str, Any], detail: str) -> None:
    with pytest.raises(PendingFilterError) as info:
        parse_pending_filter(value)
    message = str(info.value)
    assert message.startswith("invalid pending_filter object: ")
    assert detail in message


def test_unknown_field_lists_valid_ones() -> None:
    with pytest.raises(PendingFilterError, match="expected one of `query_id`, `max_tokens`"):
        parse_pending_filter({"promt": {"mode": "full"}})
