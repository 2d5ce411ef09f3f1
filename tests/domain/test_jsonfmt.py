import math

import orjson
from hypothesis import given
from hypothesis import strategies as st

from alc_mcp.domain.jsonfmt import dumps_compact, dumps_pretty


def test_compact_sorts_keys_and_keeps_float_fraction() -> None:
    assert dumps_compact({"b": 1, "a": [1.0, 2]}) == '{"a":[1.0,2],"b":1}'


def test_compact_sorts_nested_keys() -> None:
    assert dumps_compact({"z": {"y": 1, "x": {"b": None, "a": True}}}) == (
        '{"z":{"x":{"a":true,"b":null},"y":1}}'
    )


def test_compact_keeps_non_ascii() -> None:
    assert dumps_compact({"k": "é日本😀"}) == '{"k":"é日本😀"}'


def test_empty_status_is_compact() -> None:
    assert dumps_compact({"sessions": [], "active_sessions": 0}) == '{"active_sessions":0,"sessions":[]}'


def test_exponents_follow_serde() -> None:
    # serde (ryu) writes 1e21 where Python and orjson write 1e+21.
    assert dumps_compact([1e21, 1.5e-7, 1e16, 1e15, -2.5e300]) == (
        "[1e21,1.5e-7,1e16,1000000000000000.0,-2.5e300]"
    )


def test_exponent_patch_leaves_strings_alone() -> None:
    value = {"n": 1e20, "s": 'x"e+ 1e+5', "t": "back\\e+"}
    text = dumps_compact(value)
    assert text == '{"n":1e20,"s":"x\\"e+ 1e+5","t":"back\\\\e+"}'
    assert orjson.loads(text) == value


def test_pretty_two_space_indent_sorted() -> None:
    assert (
        dumps_pretty({"b": {}, "a": [1], "c": "é"}) == '{\n  "a": [\n    1\n  ],\n  "b": {},\n  "c": "é"\n}'
    )


def test_pretty_uses_serde_exponents() -> None:
    assert dumps_pretty({"x": 1e22}) == '{\n  "x": 1e22\n}'


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_compact_round_trips(value: object) -> None:
    text = dumps_compact(value)
    assert orjson.loads(text) == value
    assert orjson.loads(dumps_pretty(value)) == value


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_never_use_plus_exponent(x: float) -> None:
    text = dumps_compact(x)
    assert "+" not in text
    parsed = orjson.loads(text)
    assert parsed == x and math.copysign(1.0, parsed) == math.copysign(1.0, x)
